"""The Store port's bounded reads of PENDING and QUARANTINED records (``status_stamp``,
``latest_status``, ``status_summaries``): every backend must pass every test here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.dashboard.health import health_view
from fuelpipe.dashboard.schemas import SeriesHealth
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import StatusStamp, StatusSummary, Store
from fuelpipe.stages.scrape import freshness_attrs

KEY = "CURRENCY#USD"
OTHER = "STOCK#PETR4"
D0 = date(2025, 1, 2)
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


def pending(day: date, key: str = KEY, reason: str | None = "HTTP 503") -> Record:
    return Record(key, day, None, Status.PENDING, next_attempt_at=NOW, reason=reason)


def clocked(store: Store) -> ManualClock:
    """The store's business clock (the public attribute a home sets) as a manual one."""
    clock = ManualClock(NOW)
    store.clock = clock  # type: ignore[attr-defined]  # both adapters stamp with it
    return clock


def test_status_stamp_is_the_count_and_the_newest_write(store: Store) -> None:
    clock = clocked(store)
    assert store.status_stamp(Status.PENDING) == StatusStamp(0, None)
    for i in range(5):
        assert store.put_pending(pending(D0 + timedelta(days=i)))
        clock.advance(SECOND)
    assert store.put_pending(pending(D0, key=OTHER))
    store.put_records([Record(KEY, D0 - timedelta(days=1), Decimal("5.1"), Status.OK)])

    assert store.status_stamp(Status.PENDING) == StatusStamp(6, NOW + 5 * SECOND)
    assert store.status_stamp(Status.QUARANTINED) == StatusStamp(0, None)
    clock.advance(SECOND)
    assert store.quarantine(KEY, D0, 0, "spent")
    assert store.status_stamp(Status.QUARANTINED) == StatusStamp(1, NOW + 6 * SECOND)
    with pytest.raises(ValueError, match="OK"):
        store.status_stamp(Status.OK)


def test_status_stamp_changes_with_every_write_to_or_from_pending(store: Store) -> None:
    """What the health view's cache key is built on: a new failure, a refresh, a retry's
    claim and its give-back, a release, a record leaving PENDING (stored OK, quarantined,
    deleted) each change it."""
    clock = clocked(store)
    for i in range(3):
        assert store.put_pending(pending(D0 + timedelta(days=i)))
    seen = [store.status_stamp(Status.PENDING)]

    def changed() -> StatusStamp:
        clock.advance(SECOND)
        return seen[-1]

    steps = [
        lambda: store.put_pending(pending(D0 + timedelta(days=9))),  # a new failure
        lambda: store.put_pending(pending(D0, reason="HTTP 500")),  # a refresh
        lambda: store.claim_retry(KEY, D0, 0, 1, NOW + timedelta(hours=1)),
        lambda: store.give_back_retry(KEY, D0, 1, NOW + timedelta(hours=1), 0, NOW),
        lambda: store.quarantine(KEY, D0 + timedelta(days=1), 0, "spent"),
        lambda: store.release(KEY, D0 + timedelta(days=1), clock.now()),
        lambda: store.delete_not_ok(KEY, D0 + timedelta(days=2)),
        lambda: store.put_records([Record(KEY, D0 + timedelta(days=9), Decimal("5.2"), Status.OK)]),
    ]
    for step in steps:
        changed()
        assert step() in (True, None, 1)
        seen.append(store.status_stamp(Status.PENDING))
    assert [s.count for s in seen] == [3, 4, 4, 4, 4, 3, 4, 3, 2]
    assert len(set(seen)) == len(seen)  # every step changed it


def test_latest_status_is_the_newest_records_only(store: Store) -> None:
    clock = clocked(store)
    for i in range(12):
        key = KEY if i % 2 else OTHER
        assert store.put_pending(pending(D0 + timedelta(days=i), key=key, reason=f"r{i}"))
        clock.advance(SECOND)
    assert store.quarantine(OTHER, D0 + timedelta(days=10), 0, "spent")
    clock.advance(SECOND)
    assert store.claim_retry(OTHER, D0, 0, 1, NOW + timedelta(hours=2))  # now the newest

    newest = store.latest_status(Status.PENDING, 4)

    assert [(r.key, r.date.day) for r in newest] == [(OTHER, 2), (KEY, 13), (KEY, 11), (OTHER, 10)]
    first = newest[0]
    assert (first.status, first.retry_count, first.reason) == (Status.PENDING, 1, "r0")
    assert first.next_attempt_at == NOW + timedelta(hours=2)
    assert first.updated_at == NOW + 13 * SECOND
    assert first.value is None and first.attrs == {}
    assert [r.updated_at for r in newest[1:]] == [NOW + n * SECOND for n in (11, 9, 8)]
    assert len(store.latest_status(Status.PENDING, 100)) == 11
    (spent,) = store.latest_status(Status.QUARANTINED, 5)
    assert (spent.key, spent.date.day, spent.reason) == (OTHER, 12, "spent")
    with pytest.raises(ValueError, match="limit"):
        store.latest_status(Status.PENDING, 0)
    with pytest.raises(ValueError, match="OK"):
        store.latest_status(Status.OK, 1)


def test_status_summaries_are_exact_per_key(store: Store) -> None:
    clock = clocked(store)
    reasons = ["HTTP 503", "HTTP 404", "HTTP 404", None, "HTTP 503", "HTTP 404"]
    for i, reason in enumerate(reasons):
        assert store.put_pending(pending(D0 + timedelta(days=i), reason=reason))
        clock.advance(SECOND)
    assert store.put_pending(pending(D0 + timedelta(days=3), key=OTHER, reason="gone"))
    assert store.claim_retry(KEY, D0 + timedelta(days=2), 0, 3, NOW)
    for i in range(6):
        clock.advance(SECOND)
        count = 3 if i == 2 else 0
        assert store.quarantine(KEY, D0 + timedelta(days=i), count, f"spent: {reasons[i]}")
    store.put_pending(pending(D0 + timedelta(days=20)))  # PENDING: not quarantined
    store.put_records([Record(KEY, D0 + timedelta(days=5), Decimal("5.3"), Status.OK)])

    assert store.status_summaries(Status.QUARANTINED) == [
        StatusSummary(
            key=KEY,
            count=5,
            first=D0,
            last=D0 + timedelta(days=4),
            latest=NOW + 11 * SECOND,
            earliest=NOW + 7 * SECOND,  # when its first still quarantined was quarantined
            max_retry_count=3,
            reasons={"spent: HTTP 503": 2, "spent: HTTP 404": 2, "spent: None": 1},
        )
    ]
    pending_now = store.status_summaries(Status.PENDING)
    assert [(s.key, s.count, s.first, s.last, s.reasons) for s in pending_now] == [
        (KEY, 1, D0 + timedelta(days=20), D0 + timedelta(days=20), {"HTTP 503": 1}),
        (OTHER, 1, D0 + timedelta(days=3), D0 + timedelta(days=3), {"gone": 1}),
    ]
    with pytest.raises(ValueError, match="OK"):
        store.status_summaries(Status.OK)


def test_the_quarantine_summary_says_when_its_first_still_quarantined_was_quarantined(
    store: Store,
) -> None:
    """The quarantine alert's ``since`` (``earliest``): the oldest stamp of the key's
    QUARANTINED records, each stamped once, when quarantined. A later PENDING refresh of the
    slot leaves it as it is; releasing that record moves it on to the next one's."""
    clock = clocked(store)
    for i in range(3):
        assert store.put_pending(pending(D0 + timedelta(days=i)))
    for i in range(3):
        clock.advance(HOUR)
        assert store.quarantine(KEY, D0 + timedelta(days=i), 0, "spent")
    clock.advance(6 * HOUR)
    assert not store.put_pending(pending(D0))  # a quarantined record is not rewritten
    (summary,) = store.status_summaries(Status.QUARANTINED)
    assert (summary.earliest, summary.latest) == (NOW + HOUR, NOW + 3 * HOUR)
    assert store.release(KEY, D0, clock.now())
    (summary,) = store.status_summaries(Status.QUARANTINED)
    assert (summary.earliest, summary.latest) == (NOW + 2 * HOUR, NOW + 3 * HOUR)


def test_a_reason_never_given_is_none_in_the_summary(store: Store) -> None:
    clocked(store)
    assert store.put_pending(pending(D0, reason=None))
    (summary,) = store.status_summaries(Status.PENDING)
    assert summary.reasons == {None: 1}
    assert summary.max_retry_count == 0
    assert summary.latest == NOW


def _usd_weekdays(store: Store) -> tuple[ManualClock, Catalog, SeriesHealth]:
    """USD's weekdays of 2 to 21 January 2025 stored OK: the clock, a catalog of USD alone and
    its health row."""
    clock = clocked(store)
    days = [D0 + timedelta(days=i) for i in range(20)]
    store.put_records([Record(KEY, d, Decimal("5.1"), Status.OK) for d in days if d.weekday() < 5])
    catalog = Catalog([DEFAULT_CATALOG[KEY]])
    (was,) = health_view(store, catalog, None, clock).series
    return clock, catalog, was


def test_health_counts_records_before_a_series_start_without_moving_it(store: Store) -> None:
    """A PENDING and a QUARANTINED record dated before USD's catalog start (2000-01-03) are
    counted, in the series' row and in the totals the status index gives, and leave its
    expected and missing dates as they were (every banking day since 1999 was added)."""
    clock, catalog, was = _usd_weekdays(store)
    usd = DEFAULT_CATALOG[KEY]
    before = [usd.default_start - timedelta(days=n) for n in (4, 5)]  # 1999-12-30 and 29
    for day in before:
        assert store.put_pending(pending(day))
    assert store.quarantine(KEY, before[1], 0, "not fetched: before the series starts")

    view = health_view(store, catalog, None, clock)
    (row,) = view.series
    assert (row.expected, row.present, row.missing) == (was.expected, was.present, was.missing)
    assert (row.pending, row.quarantined, view.pending, view.quarantined) == (1, 1, 1, 1)
    assert row.expected < 60  # from 2 January 2025 to the clock, 10 March


def test_a_value_before_a_series_start_does_not_move_where_completeness_counts_from(
    store: Store,
) -> None:
    """An OK value dated before USD's catalog start (2000-01-03; a close a person stored, or
    an older release) started the expected dates there: every banking day from 1999 to the
    first value of 2025 was expected and missing (~6,300 of them; completeness 0.6%), where
    freshness already starts at the first record from the series' start. Completeness starts
    there too; the value is still stored and counted: the series' first value, not expected."""
    clock, catalog, was = _usd_weekdays(store)
    usd = DEFAULT_CATALOG[KEY]
    early = usd.default_start - timedelta(days=4)  # 1999-12-30, a Thursday
    store.put_records([Record(KEY, early, Decimal("1.8"), Status.OK)])

    (row,) = health_view(store, catalog, None, clock).series
    assert (row.expected, row.present, row.missing) == (was.expected, was.present, was.missing)
    assert row.expected < 60  # from 2 January 2025 to the clock, 10 March
    assert row.completeness == was.completeness
    assert (row.first, row.last, row.unexpected) == (early, was.last, 0)


@pytest.mark.parametrize("start", [None, date(2025, 2, 3)], ids=["catalog", "in-window"])
def test_freshness_starts_at_the_first_record_on_or_after_the_series_start(
    store: Store, start: date | None
) -> None:
    """A PENDING record dated before USD's start, written weeks before the pipeline kept USD,
    dated when it "started keeping it": the history backfilled later was counted as freshness
    (21 samples, p50 ~12 days), whether the record is long before the start (the catalog's,
    2000-01-03) or within the five weeks measured (a series starting 3 February 2025,
    synthetic). Freshness starts at the first record from the series' start on: only the
    close stored 5 minutes after its publication counts."""
    clock = clocked(store)
    usd = (
        DEFAULT_CATALOG[KEY]
        if start is None
        else replace(DEFAULT_CATALOG[KEY], default_start=start)
    )
    clock.set(datetime(2025, 1, 2, 12, 0, tzinfo=UTC))
    assert store.put_pending(pending(usd.default_start - timedelta(days=4)))
    history = [
        d for d in (date(2025, 2, 3) + timedelta(days=i) for i in range(26)) if d.weekday() < 5
    ]
    clock.set(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))  # the first run backfills February
    store.put_records(
        [Record(KEY, d, Decimal("5.1"), Status.OK, attrs=freshness_attrs(usd, d)) for d in history]
    )
    monday = date(2025, 3, 3)
    clock.set(usd.schedule.published_at(monday) + timedelta(minutes=5))
    store.put_records(
        [Record(KEY, monday, Decimal("5.2"), Status.OK, attrs=freshness_attrs(usd, monday))]
    )

    (bcb,) = health_view(store, Catalog([usd]), None, clock).freshness
    assert (bcb.samples, bcb.p50_s, bcb.p95_s) == (1, 300.0, 300.0)
