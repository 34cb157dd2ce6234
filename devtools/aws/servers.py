"""Local DynamoDB- and SQS-compatible servers on 127.0.0.1: dynalite and moto_server.

Used by the test session (tests/conftest.py), `make demo-aws` and the AWS benchmark. Clients get
dummy credentials and a region through their own kwargs; nothing here touches os.environ.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class LocalServer:
    """One running server process and its endpoint."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path | None = None
    log: Path | None = None
    _log_handle: Any = field(default=None, repr=False)

    _session: Any = field(default=None, repr=False)

    def client(self, service: str, **config: Any) -> Any:
        """A new boto3 low-level client for this server, with dummy credentials and a region."""
        if self._session is None:
            self._session = new_session()  # one session: its service models load only once
        return make_client(service, self.url, session=self._session, **config)

    def stop(self) -> None:
        """Terminate the process (then kill it if it lingers) and remove its files."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._log_handle is not None:
            self._log_handle.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def new_session() -> Any:
    """A boto3 session with dummy credentials and a region, independent of the environment."""
    import boto3

    return boto3.session.Session(region_name=REGION, **DUMMY_CREDENTIALS)


def make_client(service: str, endpoint_url: str, *, session: Any = None, **config: Any) -> Any:
    """A boto3 client for a local endpoint; ``config`` goes to botocore's Config."""
    from botocore.config import Config

    from fuelpipe.adapters.dynamodb_store import ADD_THREADS

    session = session or new_session()
    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 3},
        "connect_timeout": 5,
        "read_timeout": 30,
        "max_pool_connections": ADD_THREADS,  # the store's PutItem calls in flight
    }
    settings.update(config)
    return session.client(service, endpoint_url=endpoint_url, config=Config(**settings))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(server: LocalServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = server.log.read_text() if server.log and server.log.exists() else ""
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}: {log}")
        try:
            with urllib.request.urlopen(server.url + "/", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is listening
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not answer on {server.url} within {timeout_s} s")


def _start(name: str, argv: list[str], port: int, workdir: Path, timeout_s: float) -> LocalServer:
    log = workdir / f"{name}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        argv, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    server = LocalServer(name, f"http://127.0.0.1:{port}", process, workdir, log, handle)
    try:
        _wait_until_up(server, timeout_s)
    except BaseException:  # a timeout, an early exit or Ctrl+C while waiting: leave no process
        server.stop()
        raise
    return server


def start_dynalite(data_dir: Path | None = None, timeout_s: float = 60) -> LocalServer:
    """dynalite (LevelDB) on a free port; its data lives in ``data_dir`` or a temp dir.

    ``timeout_s`` as moto_server's: a node start on a 2-core host at load 12 is seconds, and
    the deadline only ends a wait that would otherwise fail the whole session."""
    cli = ROOT / "node_modules" / "dynalite" / "cli.js"
    if not cli.exists():
        raise RuntimeError(f"{cli} is missing: run `make setup` (npm ci)")
    workdir = Path(tempfile.mkdtemp(prefix="fuelpipe-dynalite-"))
    path = data_dir or workdir / "data"
    port = free_port()
    argv = [
        "node", str(cli), "--host", "127.0.0.1", "--port", str(port), "--path", str(path),
        "--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50",
    ]  # fmt: skip
    return _start("dynalite", argv, port, workdir, timeout_s)


def start_moto(timeout_s: float = 60, *, serialize: bool = True) -> LocalServer:
    """moto_server (DynamoDB, SQS and the rest, in memory) on a free port.

    ``serialize`` runs moto's app one request at a time (devtools/aws/moto_serial.py), because
    moto's conditional writes are not atomic under concurrent requests; False runs the plain
    ``moto_server`` command.
    """
    python = ROOT / ".venv" / "bin" / "python"
    exe = ROOT / ".venv" / "bin" / "moto_server"
    if not exe.exists():
        raise RuntimeError(f"{exe} is missing: run `make setup`")
    workdir = Path(tempfile.mkdtemp(prefix="fuelpipe-moto-"))
    port = free_port()
    command = [str(python), "-m", "devtools.aws.moto_serial"] if serialize else [str(exe)]
    return _start("moto_server", [*command, "-H", "127.0.0.1", "-p", str(port)], port, workdir,
                  timeout_s)  # fmt: skip
