"""`fuelpipe demo` serving its dashboard on a port another process took while the demo ran
(a second demo at once): the CLI's usual one line, exit 2, and no URL printed. Before, the
demo printed the URL (the other process's dashboard answered there) and uvicorn then failed to
bind with its own log line (exit 3)."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
import typer
from rich.console import Console

from fuelpipe.cli.demo import serve_panel
from fuelpipe.homes.settings import Settings


def test_a_port_taken_while_the_demo_ran_is_one_error_line_and_no_url(demo_store, capfd):
    env, _, _ = demo_store
    out = io.StringIO()
    cfg = Settings(db=Path(env["FUELPIPE_DB"]), lake=Path(env["FUELPIPE_LAKE"]))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(typer.Exit) as stopped:
            serve_panel(Console(file=out), cfg, port=port, stations=None)
    assert stopped.value.exit_code == 2
    assert "dashboard:" not in out.getvalue()
    assert f"error: cannot listen on 127.0.0.1:{port}" in capfd.readouterr().err
