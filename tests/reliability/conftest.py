"""Fault-free reference runs (computed once) and the two homes the reliability suite runs on."""

from __future__ import annotations

from pathlib import Path

import pytest
from devtools.aws.servers import LocalServer
from devtools.chaos.harness import (
    FAST_SERIES,
    HomeFactory,
    Run,
    aws_home,
    embedded_home,
    run_to_quiet,
    snapshot_series,
)


@pytest.fixture(scope="session")
def clean_fast(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The fault-free run of the fast series on the embedded home."""
    return run_to_quiet(embedded_home(), tmp_path_factory.mktemp("clean"), FAST_SERIES)


@pytest.fixture(scope="session")
def clean_full(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The fault-free run of every snapshot series on the embedded home."""
    return run_to_quiet(embedded_home(), tmp_path_factory.mktemp("clean"), snapshot_series())


@pytest.fixture
def aws_factory(dynalite_server: LocalServer, moto_server: LocalServer) -> HomeFactory:
    """The AWS home: a fresh table on dynalite and queue pair on moto_server per app."""
    return aws_home(dynalite_server.client("dynamodb"), moto_server.client("sqs"))


@pytest.fixture
def home(request: pytest.FixtureRequest) -> HomeFactory:
    """The home named by the test's ``home`` parameter."""
    if request.param == "aws":
        factory: HomeFactory = request.getfixturevalue("aws_factory")
        return factory
    return embedded_home()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """Where a test's SQLite files go."""
    return tmp_path
