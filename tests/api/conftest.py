"""The Python API on both homes, filled with the same real data (datasets/) plus one retry.

``embedded``: a SQLite file opened with ``fuelpipe.open(db=...)``, as a notebook would.
``aws``: a fresh table on dynalite and queues on moto_server, through the AWS composition root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from devtools.aws.servers import LocalServer
from devtools.dashboard.realdata import fill_store
from tests.support.aws_backends import aws_cli_env, unique_name

import fuelpipe
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import build_context, create_resources
from fuelpipe.homes.settings import SAO_PAULO, Settings
from fuelpipe.ports.store import Store

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=SAO_PAULO)
RETRY_KEY, RETRY_DAY = "CURRENCY#USD", date(2022, 5, 9)
"""One PENDING record (a date past the real data), so status and attributes are exercised."""


def fill(store: Store) -> None:
    """The real records, then one pending retry with its reason and next attempt."""
    fill_store(store)
    store.put_pending(
        Record(
            key=RETRY_KEY,
            date=RETRY_DAY,
            value=None,
            status=Status.PENDING,
            retry_count=2,
            next_attempt_at=NOW + timedelta(hours=4),
            reason="source returned no value for this date",
        )
    )


@dataclass
class Home:
    """One filled home: the opened API, and the environment the CLI needs to read the same."""

    name: str
    fp: fuelpipe.Fuelpipe
    env: dict[str, str]


@pytest.fixture(scope="session")
def embedded_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """A SQLite file filled once, opened through the settings like the CLI does."""
    path: Path = tmp_path_factory.mktemp("api") / "fuelpipe.sqlite"
    store = SqliteStore(path, clock=FixedClock(NOW))
    fill(store)
    store.close()
    fp = fuelpipe.open(db=path, now=NOW)
    yield Home("embedded", fp, {"FUELPIPE_DB": str(path), "FUELPIPE_BACKEND": "embedded"})
    fp.close()


@pytest.fixture(scope="session")
def aws_home(dynalite_server: LocalServer, moto_server: LocalServer) -> Iterator[Home]:
    """A fresh table on dynalite and queues on moto_server, filled once, read through the API."""
    name = unique_name("fuelpipe-api")
    settings = Settings(
        backend="aws", table_name=name, queue_name=name, dlq_name=name + "-dlq", now=NOW
    )
    dynamodb, sqs = dynalite_server.client("dynamodb"), moto_server.client("sqs")
    create_resources(settings, dynamodb_client=dynamodb, sqs_client=sqs, poll_s=0.05)
    app = build_context(
        settings, clock=FixedClock(NOW), sources={}, dynamodb_client=dynamodb, sqs_client=sqs
    )
    fill(app.store)
    fp = fuelpipe.Fuelpipe(app)
    yield Home("aws", fp, aws_cli_env(name, dynalite_server, moto_server))
    fp.close()


@pytest.fixture(params=["embedded", pytest.param("aws", marks=pytest.mark.aws)])
def home(request: pytest.FixtureRequest) -> Home:
    """The API on each home in turn."""
    return request.getfixturevalue(f"{request.param}_home")


def rows(frame: Any) -> list[dict[str, Any]]:
    """A pandas frame's rows as plain dicts (NaN as None), for comparisons."""
    import pandas as pd

    return [
        {
            k: (None if (v is None or (isinstance(v, float) and pd.isna(v))) else v)
            for k, v in r.items()
        }
        for r in frame.to_dict("records")
    ]
