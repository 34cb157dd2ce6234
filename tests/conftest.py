"""Session-wide fixtures: local DynamoDB- and SQS-compatible servers on 127.0.0.1."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from devtools.aws.servers import LocalServer, start_dynalite, start_moto

# A job started in the background (`make test &`, a CI runner's shell) starts with SIGINT
# ignored, and every process the tests start inherits that: the tests of Ctrl+C (a `run`
# interrupted by its failpoint, the demo's servers stopped) would see nothing happen. Python's
# own handler here is reset to the default in each process started, as an interactive shell
# starts it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


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
