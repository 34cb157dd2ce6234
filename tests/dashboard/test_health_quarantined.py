"""The health view lists the newest quarantined records for a person to act on: key, series
name, date, when quarantined, retries and reason, read from the status index only.

Before, `/api/health` gave their count alone and the page pointed to the CLI; and its stored
view's ETag did not follow the quarantined records, only the PENDING ones' count and newest
write."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from devtools.dashboard.serving import serving
from tests.contract.conftest import STORE_FACTORIES

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.health import (
    QUARANTINED_SHOWN,
    REASON_CHARS,
    health_view,
    quarantined_series,
)
from fuelpipe.dashboard.precomputed import precomputer
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import StatusStamp, StatusSummary, Store

SP = ZoneInfo("America/Sao_Paulo")
USD = DEFAULT_CATALOG["CURRENCY#USD"]
GONE = "FUEL#KEROSENE#BR"  # synthetic: a key no catalog has
AT = datetime(2022, 5, 3, 9, 0, tzinfo=SP)
REASON = "SourceUnavailable: HTTP 503 from bcb: <b>down</b> " + "x" * 300 + "\nsecond line"


class _IndexOnly:
    """A store whose whole-record reads of QUARANTINED records fail the test: the view must
    read the newest from the status index, never every one whole (a failed backfill's
    ~100,000); it counts them by series from the index's slim entries (status_summaries)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name == "quarantined":
            raise AssertionError(f"the health view read every QUARANTINED record ({name})")
        return getattr(self._store, name)


@pytest.fixture(params=["sqlite", "dynamodb-dynalite"])
def held(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, ManualClock]]:
    """More QUARANTINED records than the view lists, each a minute after the one before: USD's
    weekdays from 2022-01-03, then one of a key outside the catalog, the newest."""
    clock = ManualClock(AT)
    store = STORE_FACTORIES[request.param](request, tmp_path)(clock)
    days = [d for d in (date(2022, 1, 3) + timedelta(days=i) for i in range(90)) if d.weekday() < 5]
    for day in days[: QUARANTINED_SHOWN + 2]:
        clock.advance(timedelta(minutes=1))
        store.put_pending(Record(USD.key, day, None, Status.QUARANTINED, 5, None, REASON))
    clock.advance(timedelta(minutes=1))
    store.put_pending(Record(GONE, date(2022, 1, 3), None, Status.QUARANTINED, 2, None, "gone"))
    yield store, clock
    closer = getattr(store, "close", None)
    if callable(closer):
        closer()


def test_the_health_view_lists_the_newest_quarantined_records_reading_only_those(held) -> None:
    store, clock = held
    view = health_view(_IndexOnly(store), DEFAULT_CATALOG, None, clock)  # type: ignore[arg-type]

    assert view.quarantined == QUARANTINED_SHOWN + 3  # every one counted
    shown = view.quarantined_records
    assert len(shown) == QUARANTINED_SHOWN
    newest, *rest = shown
    assert (newest.key, newest.label, newest.date, newest.retries, newest.reason) == (
        GONE,
        None,  # no series of the catalog
        date(2022, 1, 3),
        2,
        "gone",
    )
    assert newest.quarantined_at == clock.now()
    assert newest.quarantined_at is not None and newest.quarantined_at.utcoffset() == timedelta(
        hours=-3
    )
    # newest first: USD's latest dates, the two oldest left out
    stamps = [r.quarantined_at for r in shown]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]
    assert {r.key for r in rest} == {USD.key}
    assert [r.date for r in rest] == sorted((r.date for r in rest), reverse=True)
    assert date(2022, 1, 3) not in [r.date for r in rest]
    first = rest[0]
    assert (first.label, first.retries) == (USD.label, 5)
    assert first.reason == REASON.splitlines()[0][: REASON_CHARS - 1] + "…"


def _served_health(store: Store, clock: ManualClock, table: str) -> tuple[Any, str]:
    """`/api/health`'s JSON and its CSV ``table``, served over HTTP."""
    # The health view reads every catalog series' keys: on a DynamoDB server shared by a busy
    # test session it can take longer than httpx's 5 s default (no timing is asserted here).
    with (
        serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url,
        httpx.Client(timeout=120) as client,
    ):
        body = client.get(url + "/api/health").json()
        return body, client.get(url + f"/api/health?format=csv&table={table}").text


def test_the_health_api_and_its_csv_carry_the_quarantined_records(held) -> None:
    store, clock = held
    body, text = _served_health(store, clock, "quarantined_records")
    assert body["quarantined"] == QUARANTINED_SHOWN + 3
    listed = body["quarantined_records"]
    assert len(listed) == QUARANTINED_SHOWN
    assert listed[0] == {
        "key": GONE,
        "label": None,
        "date": "2022-01-03",
        "quarantined_at": clock.now().isoformat(),
        "retries": 2,
        "reason": "gone",
    }
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["key"], r["date"]) for r in rows] == [(r["key"], r["date"]) for r in listed]
    assert rows[1]["label"] == USD.label
    assert {r["quarantined"] for r in rows} == {str(QUARANTINED_SHOWN + 3)}


def test_the_stored_health_views_key_moves_when_the_quarantined_records_change(
    tmp_path: Path,
) -> None:
    """On a fixed clock (a demo store's `--now`) a record quarantined while another date turns
    PENDING left the PENDING records' count and newest write as they were: the stored view
    kept listing the old quarantined records. One created quarantined moved nothing at all."""
    clock = ManualClock(AT)
    store = SqliteStore(tmp_path / "h.sqlite", clock=clock)
    views = precomputer(SeriesReader(store, DEFAULT_CATALOG), store, DEFAULT_CATALOG, None, clock)
    monday, tuesday, wednesday = date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4)
    store.put_pending(Record(USD.key, monday, None, Status.PENDING, 5, AT, "HTTP 503"))
    before = views.version_of("/api/health", "v1")

    assert store.quarantine(USD.key, monday, 5, "HTTP 503 (gave up after 5 re-downloads)")
    store.put_pending(Record(USD.key, tuesday, None, Status.PENDING, 1, AT, "HTTP 503"))
    assert store.status_stamp(Status.PENDING) == StatusStamp(1, AT)  # as before: no move there
    swapped = views.version_of("/api/health", "v1")
    assert swapped != before

    store.put_pending(Record(USD.key, wednesday, None, Status.QUARANTINED, 5, None, "spent"))
    created = views.version_of("/api/health", "v1")
    assert created != swapped
    assert views.version_of("/api/health", "v1") == created  # nothing changed: it stays
    listed = health_view(store, DEFAULT_CATALOG, None, clock).quarantined_records
    assert [r.date for r in listed] == [monday, wednesday]  # quarantined at one instant: by date
    store.close()


def test_the_health_api_counts_every_quarantined_record_by_series_not_only_those_listed(
    held,
) -> None:
    """The panel's by-series line summed the 50 records listed: with 3,000 quarantined over 12
    series it showed the newest 50's counts. `quarantined_series` counts every one by series
    (the store's per-series summaries), the key quarantined last first; the total is their sum.
    Before: no `quarantined_series` at all (the page grouped the 50 listed: USD 49, not 52)."""
    store, clock = held
    body, text = _served_health(store, clock, "quarantined_series")
    assert len(body["quarantined_records"]) == QUARANTINED_SHOWN  # still the newest 50 only
    assert [r["key"] for r in body["quarantined_records"]].count(USD.key) == QUARANTINED_SHOWN - 1
    usd_last = clock.now() - timedelta(minutes=1)  # quarantined just before GONE's
    assert body["quarantined_series"] == [
        {
            "key": GONE,
            "label": None,
            "count": 1,
            "first": "2022-01-03",
            "last": "2022-01-03",
            "latest": clock.now().isoformat(),
        },
        {
            "key": USD.key,
            "label": USD.label,
            "count": QUARANTINED_SHOWN + 2,  # every one, the two not listed too
            "first": "2022-01-03",
            "last": "2022-03-15",
            "latest": usd_last.isoformat(),
        },
    ]
    assert body["quarantined"] == sum(s["count"] for s in body["quarantined_series"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["key"], r["count"], r["first"], r["last"]) for r in rows] == [
        (GONE, "1", "2022-01-03", "2022-01-03"),
        (USD.key, str(QUARANTINED_SHOWN + 2), "2022-01-03", "2022-03-15"),
    ]


def test_quarantined_series_ties_by_key_and_keys_without_a_stamp_last() -> None:
    """Keys quarantined at one instant (a fixed clock's) by key; a key whose entries carry no
    stamp after every stamped one."""
    at = datetime(2022, 5, 3, 12, 0, tzinfo=UTC)
    day = date(2022, 5, 2)

    def summary(key: str, latest: datetime | None) -> StatusSummary:
        return StatusSummary(key, 1, day, day, latest, latest, 5, {"x": 1})

    shown = quarantined_series(
        DEFAULT_CATALOG,
        [
            summary("Z#OLD", None),
            summary("B#TIE", at),
            summary(USD.key, at),
            summary("A#NEW", at + timedelta(seconds=1)),
        ],
    )
    assert [s.key for s in shown] == ["A#NEW", "B#TIE", USD.key, "Z#OLD"]
    assert shown[1].latest == at.astimezone(SP) and shown[3].latest is None
    assert (shown[2].label, shown[0].label) == (USD.label, None)
