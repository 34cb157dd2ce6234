"""A PENDING or QUARANTINED record dated before its series' catalog start (a date no message
may ask for: ``planning.unservable``, kept from a message an older release queued or a person
built) is counted in its own column but does not move where the expected dates start: it made
`fuelpipe status`, `status --json`, ``fp.status()`` and ``/api/health`` count every banking day
between it and the series' first stored value as expected and missing. The values are
synthetic (``usd_values``); the record before the start is the edge case."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.stages.conftest import NOW, START
from typer.testing import CliRunner

import fuelpipe
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.main import cli
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.health import series_health
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store
from fuelpipe.stages.status import key_status

USD = DEFAULT_CATALOG["CURRENCY#USD"]
BEFORE = USD.default_start - timedelta(days=4)
"""A weekday before USD's catalog start (2000-01-03): 1999-12-30."""
COUNTS = ("expected", "present", "missing", "pending", "quarantined", "absent")


def _fill(store: Store, days: list[date]) -> None:
    store.put_records([Record(USD.key, d, Decimal("5.1"), Status.OK) for d in days])


def _set_before_start(store: Store, status: Status) -> None:
    """The record before the start, PENDING as a failed request leaves it, or then
    quarantined as the scraper does a date no message may ask for."""
    assert store.put_pending(Record(USD.key, BEFORE, None, Status.PENDING, 0, NOW, "HTTP 503"))
    if status is Status.QUARANTINED:
        assert store.quarantine(USD.key, BEFORE, 0, "not fetched: before the series starts")


def _counts(row: object) -> dict[str, int]:
    return {c: getattr(row, c) for c in COUNTS}


@pytest.mark.parametrize("status", [Status.PENDING, Status.QUARANTINED])
def test_a_record_before_the_start_is_counted_but_does_not_start_the_count(
    make_app, table_source, usd: Series, status: Status
) -> None:
    assert usd == USD and usd.default_start > BEFORE
    app = make_app(table_source())
    days = [START + timedelta(days=i) for i in range(30)]
    _fill(app.store, [d for d in days if d.weekday() < 5])
    without = key_status(app, usd)
    assert without.expected < 100  # from the first stored value (Q1 2022), not from 2000

    _set_before_start(app.store, status)
    row = key_status(app, usd)
    health = series_health(usd, app.store.present(usd.key), app.clock.now())

    mine = "pending" if status is Status.PENDING else "quarantined"
    want = {**_counts(without), mine: 1}  # shown in its column, never lost
    assert _counts(row) == _counts(health) == want
    assert (row.first, row.last) == (without.first, without.last)


def test_only_a_record_before_the_start_counts_from_the_catalog_start(
    make_app, table_source, usd: Series
) -> None:
    """With no other record the count starts where a series with none starts: its catalog
    start, not the record's date four days earlier."""
    app = make_app(table_source())
    _set_before_start(app.store, Status.QUARANTINED)
    row = key_status(app, usd)
    empty = key_status(make_app(table_source(), db_name="empty.sqlite"), usd)
    assert empty.expected > 5000  # every banking day since 2000-01-03
    assert (row.expected, row.missing) == (empty.expected, empty.missing)
    assert (row.quarantined, row.present, row.first) == (1, 0, None)


def test_status_json_the_api_and_the_health_view_give_the_same_numbers(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    store = SqliteStore(db)
    days = [START + timedelta(days=i) for i in range(30)]
    _fill(store, [d for d in days if d.weekday() < 5])
    _set_before_start(store, Status.QUARANTINED)
    health = create_app(store, DEFAULT_CATALOG, clock=ManualClock(NOW), precompute=False)
    with TestClient(health, base_url="http://127.0.0.1") as client:
        served = client.get("/api/health")
    store.close()
    assert served.status_code == 200, served.text
    (panel,) = [s for s in served.json()["series"] if s["key"] == USD.key]

    env = {"FUELPIPE_DB": str(db), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    done = CliRunner().invoke(
        cli, ["--now", NOW.isoformat(), "status", "--json", "-s", USD.key], env=env
    )
    assert done.exit_code == 0, done.output
    (printed,) = json.loads(done.stdout)
    fp = fuelpipe.open(db=db, now=NOW)
    try:
        (framed,) = fp.status([USD.key]).to_dict("records")
    finally:
        fp.close()

    assert {c: printed[c] for c in COUNTS} == {c: framed[c] for c in COUNTS}
    assert {c: panel[c] for c in COUNTS} == {c: printed[c] for c in COUNTS}
    assert printed["quarantined"] == 1
    # from the first value (3 January 2022) to the clock (31 March), not from 1999
    assert printed["missing"] == printed["expected"] - printed["present"]
    assert printed["expected"] < 100
