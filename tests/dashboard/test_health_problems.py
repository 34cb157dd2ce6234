"""The health view tells what is late or failing now, since when, and the active alerts."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from devtools.dashboard.serving import serving
from tests.support.alert_sinks import RefusingWebhook, queue_alerts

from fuelpipe.adapters.alerts import SqliteAlertReader, SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.health import health_view
from fuelpipe.dashboard.precomputed import Context, Precomputer, health_inputs, precomputer
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.domain.alerts import ActiveAlert, Condition
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.models import Record, Status, no_value_seen
from fuelpipe.ports.store import RunLog
from fuelpipe.stages.alerting import LatestDue, latest_due
from fuelpipe.stages.revise import SELECTION, selection
from fuelpipe.stages.scrape import NO_VALUE

SP = ZoneInfo("America/Sao_Paulo")
USD = DEFAULT_CATALOG["CURRENCY#USD"]
PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
MONDAY, TUESDAY, WEDNESDAY = date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4)
HTML_ERROR = "SourceUnavailable: HTTP 503 from bcb: <html>" + "x" * 400 + "</html>\nmore"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[SqliteStore, ManualClock, Path]]:
    """USD stored OK up to Monday; PETR4 OK Monday, Tuesday PENDING (not out yet)."""
    path = tmp_path / "h.sqlite"
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = SqliteStore(path, clock=clock)
    store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
    store.put_records([Record(PETR4.key, MONDAY, Decimal("30"), Status.OK)])
    yield store, clock, path
    store.close()


def test_a_source_past_its_window_is_late_since_the_window_ended(home) -> None:
    store, clock, _ = home
    assert health_view(store, DEFAULT_CATALOG, None, clock).problems == []
    # Tuesday's PTAX is out at 13:10 and late after its window: BCB down all afternoon
    clock.set(USD.schedule.stale_at(WEDNESDAY) + timedelta(minutes=1))
    (late,) = [
        p for p in health_view(store, DEFAULT_CATALOG, None, clock).problems if p.source == "bcb"
    ]
    assert (late.state, late.keys, late.date) == ("late", [USD.key], WEDNESDAY)
    # since the first date after the last one stored went late (Tuesday's), in São Paulo time
    assert late.since == USD.schedule.stale_at(TUESDAY)
    assert late.since.utcoffset() == timedelta(hours=-3)
    assert late.due_at == USD.schedule.published_at(WEDNESDAY)
    assert late.latest_stored == MONDAY


def test_pending_with_a_failure_reason_is_failing_and_not_out_yet_is_not(home) -> None:
    store, clock, _ = home
    nxt = datetime(2022, 5, 3, 9, 30, tzinfo=SP)
    store.put_pending(
        Record(USD.key, TUESDAY, None, Status.PENDING, next_attempt_at=nxt, reason=HTML_ERROR)
    )
    store.put_pending(Record(PETR4.key, TUESDAY, None, Status.PENDING, reason=NO_VALUE))
    (failing,) = health_view(store, DEFAULT_CATALOG, None, clock).problems
    assert (failing.source, failing.state, failing.keys, failing.date) == (
        "bcb",
        "failing",
        [USD.key],
        TUESDAY,
    )
    assert failing.reason is not None and failing.reason.startswith("SourceUnavailable: HTTP 503")
    assert len(failing.reason) <= 160 and "more" not in failing.reason
    assert failing.next_attempt_at == nxt and failing.next_attempt_at.utcoffset() == timedelta(
        hours=-3
    )
    assert failing.last_attempt_at == clock.now()


def test_a_date_the_source_said_has_no_value_is_not_failing_whatever_its_reason(home) -> None:
    """FRED's empty cell inside its window: PENDING with FRED's own reason and the answered
    mark (``no_value_seen_at``). It waits for the window's end, it is not a failure; the same
    reason on a record without the mark (a later answer replaced it) is one."""
    store, clock, _ = home
    brent = DEFAULT_CATALOG["COMMODITY#BRENT"]
    said = "fred: no value published for 2022-05-02 ('.')"
    assert store.put_pending(
        Record(
            brent.key,
            MONDAY,
            None,
            Status.PENDING,
            next_attempt_at=brent.schedule.stale_at(MONDAY),
            reason=said,
            attrs=no_value_seen(clock.now()),
        )
    )
    view = health_view(store, DEFAULT_CATALOG, None, clock)
    assert view.problems == [] and view.pending == 1
    assert store.put_pending(Record(brent.key, TUESDAY, None, Status.PENDING, reason=said))
    (failing,) = health_view(store, DEFAULT_CATALOG, None, clock).problems
    assert (failing.source, failing.keys, failing.date) == ("fred", [brent.key], TUESDAY)


def _fire(path: Path, clock: ManualClock) -> datetime:
    state = SqliteAlertState(path, clock=clock)
    state.load()
    cond = Condition("stale_source", "bcb", "bcb is late: 1 series still lack 2022-05-03")
    since = clock.now()
    state.save({cond.id: ActiveAlert(cond, since)})
    return since


def test_the_active_alerts_are_read_from_the_alert_state_read_only(home) -> None:
    store, clock, path = home
    reader = SqliteAlertReader(path)
    assert health_view(store, DEFAULT_CATALOG, None, clock, alerts=reader).alerts == []
    assert health_view(store, DEFAULT_CATALOG, None, clock).alerts is None  # not readable
    since = _fire(path, clock)
    (alert,) = health_view(store, DEFAULT_CATALOG, None, clock, alerts=reader).alerts or []
    assert (alert.rule, alert.subject, alert.since) == ("stale_source", "bcb", since)
    assert SqliteAlertReader(path.with_name("none.sqlite")).load() == {}
    assert not path.with_name("none.sqlite").exists()


def test_an_active_alert_gives_its_summary_in_portuguese_too(home) -> None:
    """The alerts carry a Brazilian Portuguese summary, but /api/health served the English one
    only, so the Health page read it in pt-BR too. An alert whose rule wrote none (or stored
    before alerts had one) gives the English text in both."""
    store, clock, path = home
    state = SqliteAlertState(path, clock=clock)
    state.load()
    late = Condition(
        "stale_source",
        "bcb",
        "bcb is late: 1 series still lack 2022-05-03",
        summary_pt_br="bcb atrasada: falta 2022-05-03 em 1 série",
    )
    english_only = Condition("custom_rule", "x", "x is off")
    since = clock.now()
    state.save({c.id: ActiveAlert(c, since) for c in (late, english_only)})
    reader = SqliteAlertReader(path)
    alerts = health_view(store, DEFAULT_CATALOG, None, clock, alerts=reader).alerts or []
    assert sorted((a.subject, a.summary, a.summary_pt_br) for a in alerts) == [
        ("bcb", late.summary, "bcb atrasada: falta 2022-05-03 em 1 série"),
        ("x", "x is off", "x is off"),
    ]
    # the stored view moves on when only the Portuguese text changes (it shows it)
    views = _views(store, clock, path)
    before = views.version_of("/api/health", "v1")
    reworded = Condition(late.rule, late.subject, late.summary, summary_pt_br="bcb em atraso")
    state.load()
    state.save({c.id: ActiveAlert(c, since) for c in (reworded, english_only)})
    assert views.version_of("/api/health", "v1") != before


def _views(store: SqliteStore, clock: ManualClock, path: Path) -> Precomputer:
    """The precomputed views, with the alert state of ``path`` read only."""
    return precomputer(
        SeriesReader(store, DEFAULT_CATALOG),
        store,
        DEFAULT_CATALOG,
        None,
        clock,
        alerts=SqliteAlertReader(path),
    )


def test_the_stored_health_view_moves_on_when_a_source_turns_late_or_an_alert_fires(home) -> None:
    """No data version moves when time alone makes a source late, or an alert fires: the
    precomputed health view's ETag version must."""
    store, clock, path = home
    views = _views(store, clock, path)
    before = views.version_of("/api/health", "v1")
    clock.set(USD.schedule.stale_at(TUESDAY) - timedelta(minutes=1))
    assert views.version_of("/api/health", "v1") == before  # same day, nothing late yet
    clock.set(USD.schedule.stale_at(TUESDAY) + timedelta(minutes=1))
    late = views.version_of("/api/health", "v1")
    assert late != before
    _fire(path, clock)
    assert views.version_of("/api/health", "v1") != late


def test_the_stored_health_view_moves_on_when_an_active_alert_shows_new_evidence(home) -> None:
    """An alert still holding is saved with its current summary and the instant it fired
    (a quarantine alert's dates growing): the view shows the summary, so its ETag must move."""
    store, clock, path = home
    views = _views(store, clock, path)
    since = _fire(path, clock)
    before = views.version_of("/api/health", "v1")
    state = SqliteAlertState(path, clock=clock)
    (active,) = state.load().values()
    grown = Condition("stale_source", "bcb", "bcb is late: 9 series still lack 2022-05-03")
    state.save({active.condition.id: ActiveAlert(grown, since)})
    assert views.version_of("/api/health", "v1") != before
    reader = SqliteAlertReader(path)
    (alert,) = health_view(store, DEFAULT_CATALOG, None, clock, alerts=reader).alerts or []
    assert (alert.summary, alert.since) == (grown.summary, since)


def test_health_api_serves_problems_and_alerts(home) -> None:
    store, clock, path = home
    clock.set(USD.schedule.stale_at(TUESDAY) + timedelta(minutes=1))
    _fire(path, clock)
    app = create_app(store, DEFAULT_CATALOG, clock=clock, alerts=SqliteAlertReader(path))
    with serving(app) as url:
        body = httpx.get(url + "/api/health").json()
    assert [(p["source"], p["state"]) for p in body["problems"]] == [("bcb", "late")]
    assert body["problems"][0]["since"].endswith("-03:00")
    assert [a["subject"] for a in body["alerts"]] == ["bcb"]


CALLS: list[str] = []


@dataclass(frozen=True)
class _CountedSeries(Series):
    """A series that notes each time its schedule is walked (the calendar work)."""

    def published_through(self, now: datetime) -> date:
        CALLS.append(self.key)
        return super().published_through(now)


def test_the_health_etag_reuses_each_series_due_date_until_it_can_move(home) -> None:
    """The health ETag is computed on every request, a 304 too: the latest due date of every
    series of the catalog (~0.2 ms of calendar work each) is reused while it cannot change."""
    store, clock, path = home
    catalog = Catalog(
        _CountedSeries(**{f.name: getattr(s, f.name) for f in fields(s)}) for s in (USD, PETR4)
    )
    views = precomputer(SeriesReader(store, catalog), store, catalog, None, clock)
    first = views.version_of("/api/health", "v1")
    CALLS.clear()
    clock.advance(timedelta(minutes=5))
    assert views.version_of("/api/health", "v1") == first
    assert CALLS == []  # nothing could have moved: no calendar walked
    clock.set(USD.schedule.stale_at(TUESDAY) + timedelta(minutes=1))
    assert views.version_of("/api/health", "v1") != first  # USD turned late: it moves


def test_latest_due_reused_equals_latest_due_at_every_instant() -> None:
    due = LatestDue()
    start = datetime(2024, 12, 20, tzinfo=SP)
    instants = [start + timedelta(minutes=97 * i) for i in range(300)]
    one_each = {(s.publication, s.calendar, s.exchange_tz): s for s in DEFAULT_CATALOG}
    for now in [*instants, *reversed(instants)]:
        for series in one_each.values():
            assert due(series, now) == latest_due(series, now), (series.key, now)


class _QuarantinedUnread(SqliteStore):
    """A store whose quarantined records must not be read whole: only counted."""

    def quarantined(self) -> list[Record]:
        raise AssertionError("the health view read every quarantined record for a count")


def test_the_health_view_counts_quarantined_records_without_reading_them(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    store = _QuarantinedUnread(tmp_path / "q.sqlite", clock=clock)
    try:
        store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
        for day in (date(2022, 4, 25), date(2022, 4, 26), date(2022, 4, 27)):
            assert store.put_pending(Record(USD.key, day, None, Status.PENDING, 5, None, "x"))
            assert store.quarantine(USD.key, day, 5, "spent")
        assert store.put_pending(Record(USD.key, TUESDAY, None, Status.PENDING, 0, None, "y"))

        view = health_view(store, DEFAULT_CATALOG, None, clock)

        assert (view.quarantined, view.pending) == (3, 1)
    finally:
        store.close()


class _BacklogUnread(SqliteStore):
    """A store whose PENDING and QUARANTINED records must never be read all: a failed
    backfill leaves ~100,000 of them, more than the dashboard Lambda's 29 s can read."""

    def pending(self) -> list[Record]:
        raise AssertionError("every PENDING record read")

    def quarantined(self) -> list[Record]:
        raise AssertionError("every QUARANTINED record read")


APRIL = [date(2022, 4, d) for d in range(18, 25)]  # seven failing dates, before Monday
AT_NINE = datetime(2022, 5, 3, 9, 0, tzinfo=SP)


@pytest.fixture
def backlog(tmp_path: Path) -> Iterator[tuple[_BacklogUnread, ManualClock]]:
    """USD and PETR4 OK on Monday; USD's seven earlier dates PENDING after a failure, written a minute apart
    (9:00 to 9:06, the reasons HTTP 500 to 506); PETR4's Tuesday PENDING, not out yet."""
    clock = ManualClock(AT_NINE)
    store = _BacklogUnread(tmp_path / "b.sqlite", clock=clock)
    store.put_records([Record(USD.key, MONDAY, Decimal("5"), Status.OK)])
    store.put_records([Record(PETR4.key, MONDAY, Decimal("30"), Status.OK)])
    for i, day in enumerate(APRIL):
        nxt = AT_NINE + timedelta(hours=i + 1)
        failed = Record(USD.key, day, None, Status.PENDING, 1, nxt, f"HTTP 50{i}")
        assert store.put_pending(failed)
        clock.advance(timedelta(minutes=1))
    assert store.put_pending(Record(PETR4.key, TUESDAY, None, Status.PENDING, reason=NO_VALUE))
    yield store, clock
    store.close()


def test_the_health_view_counts_every_pending_record_but_reads_only_the_newest(backlog) -> None:
    """The failing row is built from the newest ``pending_read`` PENDING records (here 4:
    PETR4's not-out-yet one and USD's three latest failures), the count is exact."""
    store, clock = backlog

    view = health_view(store, DEFAULT_CATALOG, None, clock, pending_read=4)

    assert (view.pending, view.pending_read, view.quarantined) == (8, 4, 0)
    (failing,) = view.problems
    assert (failing.source, failing.state, failing.series, failing.keys) == (
        "bcb",
        "failing",
        1,
        [USD.key],
    )
    assert failing.date == APRIL[4]  # the oldest of the three newest failures
    assert failing.due_at == USD.schedule.published_at(APRIL[4])
    assert failing.since == AT_NINE + timedelta(minutes=4)  # when it first failed
    assert failing.last_attempt_at == AT_NINE + timedelta(minutes=6)
    assert failing.reason == "HTTP 506"
    assert failing.next_attempt_at == AT_NINE + timedelta(hours=5)
    whole = health_view(store, DEFAULT_CATALOG, None, clock)  # the cap (1,000) reads them all
    assert (whole.pending, whole.pending_read) == (8, 8)
    (failing,) = whole.problems
    assert (failing.date, failing.since) == (APRIL[0], AT_NINE)


def test_failing_since_is_when_failing_started_not_the_latest_retry_claim(backlog) -> None:
    """Each retry's claim rewrites its record's write time; "since" stays when the first
    failing date first failed (became PENDING), the claim is the last attempt."""
    store, clock = backlog
    first = health_view(store, DEFAULT_CATALOG, None, clock).problems[0]
    clock.advance(timedelta(hours=8))  # every USD date due: recheck claims them all
    for day in APRIL:
        nxt = clock.now() + timedelta(hours=2)
        assert store.claim_retry(USD.key, day, 1, 2, nxt)
        clock.advance(timedelta(minutes=1))
    problems = health_view(store, DEFAULT_CATALOG, None, clock).problems
    (failing,) = [p for p in problems if p.state == "failing"]  # USD is late by now too
    assert failing.since == first.since == AT_NINE
    assert failing.since.utcoffset() == timedelta(hours=-3)
    assert failing.last_attempt_at == clock.now() - timedelta(minutes=1)  # the last claim


def test_the_health_cache_key_moves_with_every_pending_write_without_reading_them(
    backlog,
) -> None:
    """``health_inputs`` holds the PENDING records' count and newest write, read without
    reading the records: a new failure, a retry's claim and its give-back, a quarantine, a
    value stored, a release each move it (the stored view would go stale otherwise)."""
    store, clock = backlog
    ctx = Context(SeriesReader(store, DEFAULT_CATALOG), store, DEFAULT_CATALOG, None, clock)

    def key_after(write: Callable[[], object]) -> list[object]:
        clock.advance(timedelta(minutes=1))
        assert write() in (True, 1)
        return health_inputs(ctx)[3]  # type: ignore[no-any-return]

    at = AT_NINE.astimezone(UTC)
    assert health_inputs(ctx)[3] == [8, (at + timedelta(minutes=7)).isoformat()]
    assert health_inputs(ctx)[3] == [8, (at + timedelta(minutes=7)).isoformat()]  # no write
    retried = AT_NINE + timedelta(days=1)
    keys = [
        key_after(lambda: store.put_pending(Record(USD.key, TUESDAY, None, Status.PENDING))),
        key_after(lambda: store.claim_retry(USD.key, APRIL[0], 1, 2, retried)),
        key_after(lambda: store.give_back_retry(USD.key, APRIL[0], 2, retried, 1, None)),
        key_after(lambda: store.quarantine(USD.key, APRIL[6], 1, "spent")),  # the newest but 2
        key_after(lambda: store.put_records([Record(USD.key, APRIL[1], Decimal("5"), Status.OK)])),
        key_after(lambda: store.release(USD.key, APRIL[6], clock.now())),
    ]
    assert keys == [
        [9, (at + timedelta(minutes=8)).isoformat()],
        [9, (at + timedelta(minutes=9)).isoformat()],
        [9, (at + timedelta(minutes=10)).isoformat()],
        [8, (at + timedelta(minutes=10)).isoformat()],
        [7, (at + timedelta(minutes=10)).isoformat()],
        [8, (at + timedelta(minutes=13)).isoformat()],
    ]


def test_a_restricted_revise_run_shows_its_counts_not_its_selection_number(home) -> None:
    store, clock, _ = home
    covered = selection([USD], None, DEFAULT_CATALOG)
    assert covered is not None
    now = clock.now()
    store.put_run(RunLog("revise", now, now, {"keys": 1, "dates": 3, SELECTION: covered}))
    (run,) = health_view(store, DEFAULT_CATALOG, None, clock).last_runs
    assert run.counts == {"keys": 1, "dates": 3}
    # the store keeps it: the daily revise still tells a restricted run from a full one
    assert store.last_runs()[0].counts[SELECTION] == covered


def test_the_health_cache_key_moves_with_every_run_it_shows(home) -> None:
    """The stored health view's key held each stage's newest finish only: a run logged again at
    the same instants (a demo store's fixed clock replaces it) with other counters kept the
    view showing the old ones; so did a stage's run finishing before another's newest."""
    store, clock, _ = home
    ctx = Context(SeriesReader(store, DEFAULT_CATALOG), store, DEFAULT_CATALOG, None, clock)
    now, early = clock.now(), clock.now() - timedelta(minutes=30)
    store.put_run(RunLog("scraper", early, now, {"records_written": 3}))
    first = health_inputs(ctx)[0]
    store.put_run(RunLog("scraper", early, now, {"records_written": 5}))
    second = health_inputs(ctx)[0]
    assert [r.counts for r in health_view(store, DEFAULT_CATALOG, None, clock).last_runs] == [
        {"records_written": 5}
    ]
    store.put_run(RunLog("retry_recheck", early, early))
    third = health_inputs(ctx)[0]
    assert first != second != third != first


def test_the_pending_and_quarantined_totals_say_they_count_keys_outside_the_catalog(
    home,
) -> None:
    """The totals count every PENDING and QUARANTINED record of the store (a key a release
    dropped too), the series rows and `fuelpipe status` the catalog's series only: found by
    damaging a demo store, the card said 9 pending over rows summing to 7, and neither /docs
    nor the field said why."""
    store, clock, _ = home
    gone = "FUEL#KEROSENE#BR"  # synthetic: a key no catalog has
    assert gone not in DEFAULT_CATALOG
    for key, day in ((gone, MONDAY), (gone, TUESDAY), (USD.key, TUESDAY)):
        store.put_pending(Record(key, day, None, Status.PENDING, 1, clock.now(), "HTTP 503"))
    assert store.quarantine(gone, TUESDAY, 1, "spent")
    view = health_view(store, DEFAULT_CATALOG, None, clock)
    assert (view.pending, sum(s.pending for s in view.series)) == (2, 1)
    assert (view.quarantined, sum(s.quarantined for s in view.series)) == (1, 0)
    schema = create_app(store, DEFAULT_CATALOG, clock=clock).openapi()["components"]["schemas"]
    for total in ("pending", "quarantined"):
        said = schema["HealthView"]["properties"][total]["description"]
        assert "outside the catalog" in said and "fuelpipe status" in said, said


def test_alerts_a_webhook_refused_or_has_not_taken_show_in_the_health_view(home) -> None:
    """A user depending on alerts saw a webhook's 400 (an alert set aside) or its outage only
    in `watch`'s output as it scrolled by: /api/health (JSON and its `alert_delivery` CSV) says
    how many wait for which sink, since when sending fails, and the latest drops' lines; the
    precomputed view's ETag moves with them."""
    store, clock, path = home
    views = _views(store, clock, path)
    state = SqliteAlertState(path, clock=clock)
    reader = SqliteAlertReader(path)
    assert health_view(store, DEFAULT_CATALOG, None, clock, alerts=reader).alert_delivery == []
    assert health_view(store, DEFAULT_CATALOG, None, clock).alert_delivery is None
    queue_alerts(state, clock, "FUEL#LPG#AC", "FUEL#LPG#AL")
    state.deliver([RefusingWebhook(refused="FUEL#LPG#AC")])
    dropped_at = clock.now()
    before = views.version_of("/api/health", "v1")
    clock.advance(timedelta(minutes=10))
    queued_at = clock.now()
    queue_alerts(state, clock, "FUEL#LPG#AM")
    clock.advance(timedelta(minutes=1))
    state.deliver([RefusingWebhook(down=True)])
    assert views.version_of("/api/health", "v1") != before
    app = create_app(store, DEFAULT_CATALOG, clock=clock, alerts=reader)
    with serving(app) as url:
        rows = httpx.get(url + "/api/health").json()["alert_delivery"]
        table = httpx.get(url + "/api/health?format=csv&table=alert_delivery").text
    waiting, dropped = rows
    assert (waiting["sink"], waiting["state"], waiting["count"]) == ("webhook", "waiting", 1)
    assert datetime.fromisoformat(waiting["at"]) == queued_at
    failing = datetime.fromisoformat(waiting["failing_since"])
    assert failing == queued_at + timedelta(minutes=1) and waiting["at"].endswith("-03:00")
    assert (dropped["state"], dropped["count"], dropped["failing_since"]) == ("dropped", 1, None)
    assert datetime.fromisoformat(dropped["at"]) == dropped_at
    assert "FUEL#LPG#AC" in dropped["line"] and "HTTP 400: 'bad'" in dropped["line"]
    csv_rows = list(csv.DictReader(io.StringIO(table)))
    assert [(r["sink"], r["state"], r["count"]) for r in csv_rows] == [
        ("webhook", "waiting", "1"),
        ("webhook", "dropped", "1"),
    ]
    state.close()
