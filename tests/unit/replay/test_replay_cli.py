"""``run_replay`` in a real child process: prints the env lines, serves, stops on Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from tests.unit.replay.replay_helpers import child, interrupt, run_cli

CHILD = (
    "import sys\n"
    "from fuelpipe.replay import run_replay\n"
    "sys.exit(run_replay('127.0.0.1', 0, None, 'fred:html=1', 5, quiet=True))\n"
)


def test_run_replay_prints_exports_serves_and_stops_on_sigint() -> None:
    with child([sys.executable, "-c", CHILD]) as proc:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("# fuelpipe replay on http://127.0.0.1:")
        exports = dict(
            proc.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(4)
        )
        assert set(exports) == {f"FUELPIPE_SOURCE_{s}_URL" for s in ("BCB", "YAHOO", "FRED", "ANP")}
        with httpx.Client(timeout=10) as client:
            fred = client.get(exports["FUELPIPE_SOURCE_FRED_URL"] + "/graph/fredgraph.csv")
            assert fred.status_code == 200
            assert fred.headers["content-type"].startswith("text/html")  # the html fault
            moedas = client.get(exports["FUELPIPE_SOURCE_BCB_URL"] + "/Moedas")
            assert len(moedas.json()["value"]) == 10
        assert interrupt(proc) == 0


def test_fuelpipe_replay_uses_the_plan_files_seed_when_none_is_given(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text("seed = 9\n[targets.fred]\nhtml = 0.5\n")
    args = ["replay", "--port", "0", "--faults", str(plan)]
    with child([sys.executable, "-m", "fuelpipe.cli", *args]) as proc:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "(seed=9 " in banner
        url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        assert httpx.get(f"{url}/_replay/stats", timeout=10).json()["seed"] == 9
        assert interrupt(proc) == 0


def test_fuelpipe_replay_refuses_a_malformed_plan_file_in_one_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text("[1, 2]")
    done = run_cli("replay", "--port", "0", "--faults", str(plan))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: --faults: fault plan file {plan}: the top level must be a table of names, got list"
    ]
