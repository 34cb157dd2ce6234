"""Ctrl+C stops `fuelpipe dashboard` with exit 130, as docs/CLI.md says for every command but
`watch` (uvicorn swallowed the interrupt, so the server exited 0). The dashboard only reads:
the store is left as it was, with no queue file or intraday table added."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.extras import dashboard_hint
from fuelpipe.domain.models import Record, Status


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int, proc: subprocess.Popen[str], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


@pytest.mark.skipif(dashboard_hint("x") is not None, reason="needs the dashboard extra")
def test_ctrl_c_stops_the_dashboard_with_exit_130(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    content = db.read_bytes()
    port = _free_port()
    args = ["dashboard", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        env={**os.environ, "FUELPIPE_DB": str(db), "FUELPIPE_LAKE": str(tmp_path / "lake")},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _listening(port, proc, 60), proc.communicate(timeout=10)
        url = f"http://127.0.0.1:{port}/api/intraday?series=CURRENCY%23USD"
        with urllib.request.urlopen(url, timeout=60) as answer:  # read before any watch ran
            assert answer.status == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuelpipe.sqlite"]
    assert db.read_bytes() == content
