"""Session-wide fixtures: local DynamoDB- and SQS-compatible servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from devtools.aws.servers import LocalServer, start_dynalite, start_moto


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
