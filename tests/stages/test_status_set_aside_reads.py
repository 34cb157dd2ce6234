"""`fuelpipe status` counts the values set aside with one read of the store, on each home.

It counted their total (one COUNT), then each listed key's (one COUNT a key: 440 Queries on
DynamoDB for a whole-catalog status), and the CLI counted the total once more."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from devtools.aws.servers import LocalServer
from tests.stages.conftest import NOW, POLICY
from tests.support.aws_backends import unique_name
from tests.support.read_counting import MetaReadCounting

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.dynamodb_store import DynamoDbStore, create_table
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.set_aside import SetAside, set_aside_counts, set_aside_name
from fuelpipe.stages.status import status

KEYS = ("CURRENCY#USD", "CURRENCY#EUR", "CURRENCY#GBP")
SET_ASIDE = {  # how many values set aside for each key (GBP: none)
    "CURRENCY#USD": [date(2022, 1, 4), date(2022, 1, 5)],
    "CURRENCY#EUR": [date(2022, 1, 4)],
    "COMMODITY#BRENT": [date(2022, 1, 6)],  # not listed: in the total only
}


class CountingSqlite(MetaReadCounting, SqliteStore):
    pass


class CountingDynamo(MetaReadCounting, DynamoDbStore):
    pass


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return CountingSqlite(tmp_path / "store.sqlite")


def _dynamo(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    server: LocalServer = request.getfixturevalue("dynalite_server")
    table = unique_name("status")
    create_table(server.client("dynamodb"), table, delay_s=0.05)
    return CountingDynamo(server.client("dynamodb"), table, clock=ManualClock(NOW))


@pytest.fixture(params=[_sqlite, _dynamo], ids=["sqlite", "dynamodb"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = request.param(request, tmp_path)
    for key in KEYS:
        store.put_records([Record(key, date(2022, 1, 3), Decimal("5.0"), Status.OK)])
    for key, days in SET_ASIDE.items():
        for day in days:
            entry = SetAside(key, day, "50.0", "implausible", "gap", NOW, NOW)
            assert store.replace_meta(set_aside_name(key, day), None, entry.text(), ranked=NOW)
    queue = SqliteQueue(tmp_path / "q.sqlite", ManualClock(NOW), timedelta(seconds=30))
    yield StageContext(
        catalog=DEFAULT_CATALOG,
        store=store,
        queue=queue,
        sources={},
        clock=ManualClock(NOW),
        policy=POLICY,
    )
    queue.close()


def test_status_counts_every_key_s_values_set_aside_with_one_read(app: StageContext) -> None:
    store = app.store
    assert isinstance(store, MetaReadCounting)
    store.meta_reads.clear()

    rows = status(app, [DEFAULT_CATALOG[k] for k in KEYS], stored_only=True)

    assert {r.key: r.set_aside for r in rows} == {
        "CURRENCY#USD": 2,
        "CURRENCY#EUR": 1,
        "CURRENCY#GBP": 0,
    }
    assert store.meta_reads == [("meta_names", "set_aside#")]


def test_the_counts_read_once_serve_the_rows_and_the_total(app: StageContext) -> None:
    """What the CLI does: one read gives each row its count and the total below the table."""
    store = app.store
    assert isinstance(store, MetaReadCounting)
    store.meta_reads.clear()

    counts = set_aside_counts(store)
    rows = status(app, [DEFAULT_CATALOG[k] for k in KEYS], stored_only=True, set_aside=counts)

    assert sum(counts.values()) == 4
    assert [r.set_aside for r in rows] == [2, 1, 0]
    assert store.meta_reads == [("meta_names", "set_aside#")]
