"""An AWS home per test: a fresh table on dynalite and a fresh queue pair on moto_server."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
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
