"""An AWS home per test: a fresh table on dynalite and a fresh queue pair on moto_server."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from devtools.aws.lambda_events import load_handler
from devtools.aws.servers import LocalServer
from tests.support.aws_backends import unique_name

from fuelpipe.homes.aws import build_context, create_resources
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.source import Source
from fuelpipe.stages.context import StageContext


@dataclass
class AwsHome:
    """Settings and the injected clients of one test's AWS resources."""

    settings: Settings
    dynamodb: Any
    sqs: Any

    def app(self, clock: Clock, sources: Mapping[str, Source] | None = None) -> StageContext:
        """The AWS composition root on these clients."""
        return build_context(
            self.settings,
            clock=clock,
            sources=sources if sources is not None else {},
            dynamodb_client=self.dynamodb,
            sqs_client=self.sqs,
        )


@pytest.fixture(params=["dynalite_server", "moto_server"])
def client(request: pytest.FixtureRequest) -> Any:
    """A DynamoDB client on each of the two local servers in turn."""
    server: LocalServer = request.getfixturevalue(request.param)
    return server.client("dynamodb")


@pytest.fixture
def table(client: Any) -> str:
    """A fresh single table (with its pending index) on ``client``'s server."""
    from fuelpipe.adapters.dynamodb_store import create_table

    name = unique_name("table")
    create_table(client, name, delay_s=0.05)
    return name


@pytest.fixture
def aws_home(dynalite_server: LocalServer, moto_server: LocalServer) -> AwsHome:
    """A fresh table (dynalite) and queue + DLQ (moto_server), created like the template."""
    name = unique_name("fuelpipe")
    settings = Settings(
        backend="aws",
        table_name=name,
        queue_name=name,
        dlq_name=name + "-dlq",
        visibility_timeout_s=30,
        pending_shards=4,
    )
    home = AwsHome(settings, dynalite_server.client("dynamodb"), moto_server.client("sqs"))
    create_resources(settings, dynamodb_client=home.dynamodb, sqs_client=home.sqs, poll_s=0.05)
    return home


MakeApp = Callable[..., StageContext]
LambdaLogs = Callable[[str], io.StringIO]


@pytest.fixture
def lambda_logs() -> Iterator[LambdaLogs]:
    """``lambda_logs(name)``: what the Powertools Logger of ``lambdas/<name>/handler.py`` writes
    from then on in this test, in its JSON format, read by a handler attached for this test only.

    capsys does not see those lines: the Logger's own handler keeps the ``sys.stdout`` of the
    moment the module was first imported, another test's capture when that test imported it.
    """
    attached: list[tuple[logging.Logger, logging.Handler]] = []

    def attach(name: str) -> io.StringIO:
        powertools = load_handler(name).logger
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(powertools.registered_formatter)  # its keys: correlation_id, ...
        logger = logging.getLogger(powertools.name)
        logger.addHandler(handler)
        attached.append((logger, handler))
        return out

    yield attach
    for logger, handler in attached:
        logger.removeHandler(handler)
