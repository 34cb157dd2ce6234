"""The CLI without the dashboard extra: light imports, one hint line, exit 2, never a traceback.

Each check runs in a fresh interpreter. A missing extra is simulated there the way Python itself
marks an absent module (``sys.modules[name] = None``: ``find_spec`` answers None and ``import``
raises ModuleNotFoundError); `make wheel-check` checks the same with a real bare install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from fuelpipe.cli.extras import DASHBOARD_MODULES
from fuelpipe.install_hint import install_hint

DASHBOARD_INSTALL = install_hint("dashboard")  # this checkout's own, as the CLI says it

HEAVY = ("fastapi", "starlette", "uvicorn", "numpy", "plotly", "pandas", "polars", "pyarrow")


def _python(code: str, *argv: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _cli_without_dashboard(*args: str, env: dict[str, str] | None = None):
    blocked = json.dumps(list(DASHBOARD_MODULES))
    code = (
        "import json, sys\n"
        f"for name in json.loads({blocked!r}): sys.modules[name] = None\n"
        "from fuelpipe.cli.main import cli\n"
        "cli(sys.argv[1:], prog_name='fuelpipe')\n"
    )
    return _python(code, *args, env=env)


def test_importing_the_cli_loads_no_dashboard_or_frame_library() -> None:
    code = (
        "import sys, json\n"
        "import fuelpipe, fuelpipe.cli.main, fuelpipe.cli.demo\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_help_works_without_the_dashboard_extra() -> None:
    done = _cli_without_dashboard("--help")
    assert done.returncode == 0, done.stderr
    assert "dashboard" in done.stdout
    assert "demo" in done.stdout


def test_dashboard_without_the_extra_prints_one_line_and_exits_2(tmp_path) -> None:
    done = _cli_without_dashboard("dashboard", env={"FUELPIPE_DB": str(tmp_path / "s.sqlite")})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert DASHBOARD_INSTALL in lines[0]
    assert "fastapi" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s.sqlite").exists()  # refused before opening anything


def test_a_port_held_only_by_closing_connections_is_free_to_serve_on() -> None:
    """After a server stops, its port lingers in TIME_WAIT for a minute; uvicorn binds it with
    SO_REUSEADDR, so the CLI's check must not refuse it (a restart on the same port)."""
    import socket
    import time

    from fuelpipe.cli.main import _check_port

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's listener
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end of the port goes to TIME_WAIT
    client.close()
    server.close()
    time.sleep(0.05)  # the FIN exchange, on loopback
    _check_port("127.0.0.1", port)  # no error


def test_the_demo_without_the_lake_extra_names_the_extra_to_install() -> None:
    # rich reads "[lake]" as a style tag and drops it unless escaped: the hint said
    # "pip install 'fuelpipe'", which installs nothing the station views need
    code = (
        "import sys\n"
        "sys.modules['duckdb'] = None\n"
        "from fuelpipe.cli.stations import demo_stations\n"
        "assert demo_stations(None) is None\n"
    )
    done = _python(code, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert install_hint("lake") in done.stdout


def test_the_demo_without_the_dashboard_extra_says_its_store_has_no_outlook(tmp_path) -> None:
    """The outlook's model needs NumPy (the dashboard extra), so on a bare install the demo's
    store has no forecast. The demo said only that the panel needs the extra and that `fuelpipe
    dashboard` then serves the store: there the Outlook view was empty, and `fuelpipe outlook
    show` blamed too few published weeks. It now says the outlook was skipped, and that the
    demo run again once the extra is installed makes it (and serves the panel)."""
    env = {
        "FUELPIPE_DB": str(tmp_path / "demo.sqlite"),
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "COLUMNS": "400",  # each line whole
    }
    done = _cli_without_dashboard("demo", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    [skipped] = [line for line in lines if line.startswith("outlook: skipped")]
    assert "NumPy is not installed" in skipped and DASHBOARD_INSTALL in skipped
    assert "no forecast" in skipped
    # the last line: the panel's extra, then the demo again, not the dashboard on this store
    assert DASHBOARD_INSTALL in lines[-1]
    assert "then `fuelpipe demo` again" in lines[-1]
    assert "fuelpipe dashboard" not in lines[-1]
