"""`make demo-aws` leaves no server running, however it ends: Ctrl+C or SIGTERM at any moment."""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from devtools.aws.servers import ROOT, LocalServer, _start, start_dynalite
from scripts.demo_aws import main

HANG_GUARD_S = 60
"""How long a wait may take before the test fails: far past any step on a loaded host."""


def test_ctrl_c_while_a_server_starts_stops_that_server(tmp_path: Path) -> None:
    marker = f"never-listens-{uuid.uuid4().hex}"
    argv = [sys.executable, "-c", f"import time; time.sleep(60)  # {marker}"]
    done = threading.Event()
    # The port _start waits on is this socket's: its first connection is _start asking whether
    # the server is up, so _start holds the process by then. (A fixed delay after the process
    # appeared could land inside Popen on a loaded host, before _start held it: left running.)
    with socket.create_server(("127.0.0.1", 0)) as port:
        port.settimeout(HANG_GUARD_S)

        def ctrl_c() -> None:
            try:
                asked, _ = port.accept()
            except OSError:  # never asked: _start failed first, as pytest.raises reports
                return
            asked.close()
            if not done.is_set():
                _thread.interrupt_main()

        # SIGINT handled by Python (it is ignored in a background job, and interrupt_main needs it)
        before = signal.signal(signal.SIGINT, signal.default_int_handler)
        interrupter = threading.Thread(target=ctrl_c, daemon=True)
        interrupter.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                _start("silent", argv, port.getsockname()[1], tmp_path, timeout_s=HANG_GUARD_S)
        finally:
            done.set()
            with contextlib.suppress(OSError):  # wakes the accept() (close() does not)
                port.shutdown(socket.SHUT_RDWR)
            interrupter.join(timeout=HANG_GUARD_S)
            signal.signal(signal.SIGINT, before)
    assert _pgrep("-f", marker) == []


@pytest.mark.parametrize(
    ("moto_fails", "code"),
    [(KeyboardInterrupt(), 130), (RuntimeError("moto_server exited with 1"), None)],
    ids=["ctrl-c", "error"],
)
def test_moto_failing_to_start_stops_the_running_dynalite(
    moto_fails: BaseException, code: int | None
) -> None:
    started: list[LocalServer] = []

    def dynalite() -> LocalServer:
        started.append(start_dynalite())
        return started[-1]

    def moto() -> LocalServer:
        raise moto_fails

    if code is None:
        with pytest.raises(type(moto_fails)):
            main([], servers=(dynalite, moto))
    else:
        assert main([], servers=(dynalite, moto)) == code
    assert started[0].process.poll() is not None


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_once_the_servers_run_stops_them(signum: int, code: int) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    # Python starts with SIGINT ignored when its parent ignores it (a background job): undo that
    script = ROOT / "scripts" / "demo_aws.py"
    launcher = (
        "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    demo = subprocess.Popen(
        [sys.executable, "-c", launcher], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    assert demo.stdout is not None
    servers: list[int] = []
    try:
        first = demo.stdout.readline().decode()
        assert "fuelpipe demo-aws" in first, first
        servers = _pgrep("-P", str(demo.pid))
        assert len(servers) >= 2  # dynalite and moto_server
        demo.send_signal(signum)
        assert demo.wait(timeout=60) == code
    finally:
        if demo.poll() is None:
            demo.kill()
    deadline = time.monotonic() + HANG_GUARD_S
    while (alive := [pid for pid in servers if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive == []


def _pgrep(*args: str) -> list[int]:
    found = subprocess.run(["pgrep", *args], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
