"""Session-wide fixtures: local DynamoDB- and SQS-compatible servers on 127.0.0.1; and a check
that the tests leave the checkout as they found it."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from devtools.aws.servers import LocalServer, start_dynalite, start_moto

# A job started in the background (`make test &`, a CI runner's shell) starts with SIGINT
# ignored, and every process the tests start inherits that: the tests of Ctrl+C (a `run`
# interrupted by its failpoint, the demo's servers stopped) would see nothing happen. Python's
# own handler here is reset to the default in each process started, as an interactive shell
# starts it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


ROOT = Path(__file__).resolve().parents[1]
_BEFORE = pytest.StashKey[frozenset[str] | None]()


def _untracked() -> frozenset[str] | None:
    """The files of the checkout git neither tracks nor ignores (caches and ``data/`` are
    ignored); None outside a git checkout. (Untracked only: a file edited by hand while the
    tests run is no test's doing.)"""
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all", "-z"],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    entries = listed.decode(errors="replace").split("\0")
    return frozenset(entry[3:] for entry in entries if entry.startswith("?? "))


def _controller(config: pytest.Config) -> bool:
    """This process runs the session, not as one of pytest-xdist's workers."""
    return not hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if _controller(session.config):
        session.config.stash[_BEFORE] = _untracked()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A test that wrote a new file into the checkout (a CLI run in the repository's folder
    with a path of its own: a stray file once landed in a commit this way) fails the session,
    naming it."""
    before = session.config.stash.get(_BEFORE, None) if _controller(session.config) else None
    after = _untracked() if before is not None else None
    if before is None or after is None or not (new := sorted(after - before)):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("!", "the tests wrote into the checkout", red=True)
        reporter.write_line(
            "write into a tmp_path, not the repository's folder: "
            + ", ".join(repr(entry) for entry in new),
            red=True,
        )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def dynalite_server() -> Iterator[LocalServer]:
    """dynalite on a free loopback port, for the whole session."""
    server = start_dynalite()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalServer]:
    """moto_server (DynamoDB and SQS) on a free loopback port, for the whole session."""
    server = start_moto()
    yield server
    server.stop()
