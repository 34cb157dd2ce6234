"""`fuelpipe watch` asks a source only when a publication is due (injected clock and sleep),
and an unchanged answer to a repeated poll is a 304."""

from __future__ import annotations

import re
import socket
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.source import FetchRequest, SourceStats
from fuelpipe.replay.live import PublishedPlan
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.cycle import CycleReport
from fuelpipe.stages.recheck import RecheckReport
from fuelpipe.stages.revise import ReviseReport
from fuelpipe.stages.watch import Tick, watch

SP = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def replay():
    with ReplayServer(quiet=True) as server:
        yield server


def test_watch_polls_only_when_a_publication_is_due(tmp_path, replay) -> None:
    usd = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))  # before Wednesday's 13:10 close
    settings = Settings(db=tmp_path / "w.sqlite", source_bcb_url=replay.source_urls()["bcb"])
    app = build_context(settings, clock=clock, catalog=Catalog([usd]))
    seen: list[tuple[Tick, int]] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    def heartbeat(t: Tick) -> None:
        seen.append((t, replay.request_counts["bcb"]))
        assert t.heartbeat().startswith(t.at.isoformat(timespec="seconds"))

    try:
        watch(app, sleep=sleep, heartbeat=heartbeat, max_ticks=16)
        stored = [r.date for r in app.store.query(usd.key)]
    finally:
        app.close()

    requests = [n - prev for (_, n), prev in zip(seen, [0] + [n for _, n in seen], strict=False)]
    due_ticks = [
        (t.at.astimezone(SP), r) for (t, _), r in zip(seen, requests, strict=True) if t.due
    ]
    idle = [(t, r) for (t, _), r in zip(seen, requests, strict=True) if not t.due]
    # 12:00: Monday and Tuesday are out and not stored; then each PTAX close at 13:10, exactly
    assert due_ticks == [
        (datetime(2022, 5, 4, 12, 0, tzinfo=SP), 1),
        (datetime(2022, 5, 4, 13, 10, tzinfo=SP), 1),
        (datetime(2022, 5, 5, 13, 10, tzinfo=SP), 1),
        (datetime(2022, 5, 6, 13, 10, tzinfo=SP), 1),
    ]
    # between closes and over the weekend it wakes (sleep is capped) but asks nothing
    assert len(idle) >= 8 and all(r == 0 for _, r in idle)
    assert all("nothing due" in t.heartbeat() for t, _ in idle)
    assert stored == [date(2022, 5, d) for d in (2, 3, 4, 5, 6)]
    assert min(slept) >= 1.0


def test_an_unchanged_poll_is_answered_304_and_gives_the_same_values(replay) -> None:
    source = BcbPtaxSource(replay.source_urls()["bcb"])
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    request = FetchRequest(usd.fetch_unit, (usd,), date(2022, 5, 2), date(2022, 5, 6))
    try:
        first = source.fetch(request)
        second = source.fetch(request)
    finally:
        source.close()
    assert replay.not_modified == 1 and source.not_modified == 1
    assert [(o.date, o.value) for o in second.observations] == [
        (o.date, o.value) for o in first.observations
    ]
    assert len(first.observations) == 5


def test_with_intraday_it_also_wakes_for_each_ptax_bulletin() -> None:
    from fuelpipe.stages.due import Due, next_wake

    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    now = datetime(2022, 5, 6, 10, 30, tzinfo=SP)
    stored = Due(usd, date(2022, 5, 5), date(2022, 5, 5), False)
    assert next_wake([stored], now) == datetime(2022, 5, 6, 13, 10, tzinfo=SP)
    assert next_wake([stored], now, intraday=True) == datetime(2022, 5, 6, 11, 10, tzinfo=SP)


def _up_to_date(keys: list[str], now: datetime):
    """Each series' latest published date, stored."""
    from fuelpipe.stages.due import Due, latest_expected

    out = []
    for key in keys:
        series = DEFAULT_CATALOG[key]
        latest = latest_expected(series, now)
        out.append(Due(series, latest, latest, False))
    return out


BARS = ["STOCK#PETR4", "STOCK#PRIO3", "STOCK#XOM", "COMMODITY#BRENT_FUTURES"]


@pytest.mark.parametrize(
    ("now", "keys", "wake"),
    [
        # a Friday after the last PTAX bulletin: the bars are collected every quarter-hour,
        # not from the NYSE close at 17:30 on
        (datetime(2022, 5, 6, 13, 20), ["CURRENCY#USD", *BARS], datetime(2022, 5, 6, 13, 30)),
        (datetime(2022, 5, 6, 13, 30), BARS, datetime(2022, 5, 6, 13, 45)),
        # before the window (PTAX's first bulletin at 10:10): its first quarter-hour
        (datetime(2022, 5, 6, 7, 0), ["STOCK#PETR4"], datetime(2022, 5, 6, 10, 15)),
        # Tiradentes: B3 is closed, NYSE trades
        (datetime(2022, 4, 21, 13, 20), ["STOCK#PETR4", "STOCK#XOM"], datetime(2022, 4, 21, 13, 30)),
        # ... and watching B3 shares only, nothing trades: the next close is Friday's
        (datetime(2022, 4, 21, 13, 20), ["STOCK#PETR4"], datetime(2022, 4, 22, 18, 30)),
        # Saturday: no session anywhere; BZ=F reopens on Sunday at 18:00 New York, its first
        # bar closed at 19:15 here
        (datetime(2022, 5, 7, 13, 20), BARS, datetime(2022, 5, 8, 19, 15)),
        (datetime(2022, 5, 7, 13, 20), BARS[:-1], datetime(2022, 5, 9, 17, 30)),
        # after the window (BZ=F's close, 18:30 here in New York's summer)
        (datetime(2022, 5, 6, 18, 40), BARS, datetime(2022, 5, 9, 17, 30)),
    ],
)  # fmt: skip
def test_with_intraday_it_wakes_every_quarter_hour_while_bars_trade(
    now: datetime, keys: list[str], wake: datetime
) -> None:
    """`watch --intraday` refreshes the day's 15-minute bars after each tick: with only the
    PTAX bulletins and the daily closes as wakes it collected none from 13:10 to 17:30."""
    from fuelpipe.stages.due import next_wake

    at = now.replace(tzinfo=SP)
    statuses = _up_to_date(keys, at)
    assert next_wake(statuses, at, intraday=True, catalog=DEFAULT_CATALOG) == wake.replace(
        tzinfo=SP
    )
    if wake.date() == now.date():  # without intraday: only the next publication
        assert next_wake(statuses, at) > wake.replace(tzinfo=SP)


def _one_usd_tick(tmp_path, bcb_url: str) -> Tick:
    """One watch tick over PTAX (USD) on 2022-05-04 12:00 with BCB at ``bcb_url``."""
    usd = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))
    settings = Settings(db=tmp_path / "w.sqlite", source_bcb_url=bcb_url)
    app = build_context(settings, clock=clock, catalog=Catalog([usd]))
    try:
        beats: list[Tick] = []
        watch(app, sleep=lambda _s: None, heartbeat=beats.append, max_ticks=1)
    finally:
        app.close()
    (beat,) = beats
    return beat


def test_the_heartbeat_names_failed_requests_per_source(tmp_path) -> None:
    # nothing listens on port 1: connection refused
    beat = _one_usd_tick(tmp_path, "http://127.0.0.1:1/x")
    line = beat.heartbeat()
    failed = beat.requests["bcb"]
    assert failed.requests >= 1 and failed.failures == failed.requests
    assert f"; failed requests: bcb {failed.failures} of {failed.requests} (" in line
    assert "stored 0 value(s); failed requests:" in line
    error = line.split("failed requests: ")[1].split("; alerts")[0]
    assert len(error) < 90  # the last error is shortened


def test_a_tick_whose_requests_the_breaker_refused_names_the_source(tmp_path) -> None:
    """BCB refuses connections (a bound port nobody listens on). After 3 requests in a row
    that could not connect, BCB's breaker refuses the next tick's request unsent (its
    monotonic clock stands still: inside the cool-off). Before, no counter moved on that
    tick and the heartbeat did not name BCB, though its dates stayed PENDING; now it says
    the request was not sent, in the breaker's words."""
    usd = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))
    beats: list[Tick] = []
    with socket.socket() as bound:  # bound, never listening: a connection is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        app = build_context(
            Settings(db=tmp_path / "w.sqlite", source_bcb_url=url),
            clock=clock,
            catalog=Catalog([usd]),
        )
        try:
            app.sources["bcb"].close()
            app.sources["bcb"] = BcbPtaxSource(
                url, client=make_client(timeout_s=2), attempts=1, backoff_s=0, monotonic=lambda: 0
            )
            watch(
                app,
                sleep=lambda s: clock.advance(timedelta(seconds=s)),
                heartbeat=beats.append,
                max_ticks=5,
            )
            pending = {r.status for r in app.store.query(usd.key)}
        finally:
            app.close()
    sent = [b.requests["bcb"].requests for b in beats if "bcb" in b.requests]
    assert sent[:3] == [1, 1, 1]
    refused = beats[3]
    assert refused.requests["bcb"] == SourceStats(
        0,
        0,
        not_sent=1,
        refusal=(
            "the last 3 requests could not connect (connection refused); trying again after 30 s"
        ),
    )
    assert refused.requests["bcb"].unreachable
    assert (
        "; not sent (breaker open): bcb 1 (the last 3 requests could not connect "
        "(connection refused); trying again after 30 s)"
    ) in refused.heartbeat()
    assert "failed requests" not in refused.heartbeat()
    assert pending == {Status.PENDING}


def test_the_heartbeat_counts_an_unusable_intraday_answer_as_a_failed_request(tmp_path) -> None:
    """BCB serves an outage page with 200 for everything, the PTAX bulletins `watch
    --intraday` asks for too: before, the bulletins' request was counted but not its failure
    ("bcb 3 of 4"), though the daily requests' pages were."""
    from pytest_httpserver import HTTPServer

    from fuelpipe.adapters.intraday_store import SqliteIntradayStore
    from fuelpipe.stages.intraday import refresh_today

    page = b"<!DOCTYPE html><html><head><title>Fora do ar</title></head></html>"
    usd = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(".*")).respond_with_data(page, content_type="text/html")
    server.start()
    settings = Settings(db=tmp_path / "w.sqlite", source_bcb_url=server.url_for("/"))
    app = build_context(settings, clock=clock, catalog=Catalog([usd]))
    points = SqliteIntradayStore(tmp_path / "w.sqlite")
    beats: list[Tick] = []
    try:

        def with_intraday(app_) -> int:
            _, report = refresh_today(app_.sources, points, app_.catalog, app_.clock.now())
            assert report.failed == report.series == 1
            return 0

        watch(app, sleep=lambda _s: None, heartbeat=beats.append, max_ticks=1,
              after_tick=with_intraday, intraday=True)  # fmt: skip
    finally:
        points.close()
        app.close()
        server.stop()
    asked = [request.path for request, _ in server.log]
    assert any(path.startswith("/CotacaoMoedaDia") for path in asked), asked
    (beat,) = beats
    failed = beat.requests["bcb"]
    assert failed.failures == failed.requests == len(asked)
    assert (
        f"failed requests: bcb {len(asked)} of {len(asked)} (expected JSON, got HTML: Fora do ar)"
        in beat.heartbeat()
    )


def test_an_idle_tick_still_tells_the_values_its_retries_stored_and_its_alerts(
    tmp_path, replay
) -> None:
    """BCB is down at Wednesday's close (the stale alert fires); once its window and the grace
    after it (polled every 15 minutes until 18:00) are over the dates are no longer due but
    recheck's retries, which store them when BCB is back, and the alert clears: the heartbeat
    says so, not a bare "nothing due"."""
    from fuelpipe.cli.watch import alerter

    usd = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
    clock = ManualClock(datetime(2022, 5, 4, 13, 30, tzinfo=SP))
    db = tmp_path / "w.sqlite"
    hook, closers = alerter(db, None, clock=clock)

    def beat_at(at: datetime, bcb_url: str) -> str:
        clock.set(at)
        app = build_context(
            Settings(db=db, source_bcb_url=bcb_url), clock=clock, catalog=Catalog([usd])
        )
        try:
            beats: list[Tick] = []
            watch(app, sleep=lambda _s: None, heartbeat=beats.append, after_tick=hook, max_ticks=1)
        finally:
            app.close()
        return beats[0].heartbeat()

    down, up = "http://127.0.0.1:1/x", replay.source_urls()["bcb"]
    try:
        first = beat_at(datetime(2022, 5, 4, 13, 30, tzinfo=SP), down)
        back = beat_at(datetime(2022, 5, 4, 18, 30, tzinfo=SP), up)  # retries came due
    finally:
        for closer in closers:
            getattr(closer, "close", lambda: None)()
    assert "due: 1 series" in first and "; alerts 1;" in first
    assert back == (
        "2022-05-04T18:30:00-03:00 nothing due; retries stored 3 value(s); alerts 1; "
        "next look at 2022-05-05T00:30:00-03:00 (nothing planned before 2022-05-05T13:10:00-03:00)"
    )  # the stale alert cleared; the watch looks again 6 hours on


def test_a_healthy_tick_names_no_failed_requests(tmp_path, replay) -> None:
    beat = _one_usd_tick(tmp_path, replay.source_urls()["bcb"])
    assert beat.requests["bcb"].failures == 0
    assert "failed" not in beat.heartbeat()


def test_every_instant_of_the_heartbeat_is_in_sao_paulo_time() -> None:
    utc = ZoneInfo("UTC")
    new_york = ZoneInfo("America/New_York")
    due = Tick(
        at=datetime(2022, 5, 6, 18, 0, tzinfo=utc),
        due=["CURRENCY#USD"],
        wake_at=datetime(2022, 5, 6, 15, 30, tzinfo=new_york),
    )
    assert due.heartbeat().startswith("2022-05-06T15:00:00-03:00 due: 1 series")
    assert due.heartbeat().endswith("next look at 2022-05-06T16:30:00-03:00")
    idle = Tick(at=datetime(2022, 5, 6, 18, 0, tzinfo=utc), wake_at=due.wake_at)
    assert idle.heartbeat() == (
        "2022-05-06T15:00:00-03:00 nothing due; next look at 2022-05-06T16:30:00-03:00"
    )


def test_the_hook_notes_go_on_the_heartbeat_before_the_next_look() -> None:
    at = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    beat = Tick(at=at, due=["CURRENCY#USD"], wake_at=at + timedelta(hours=1))
    assert beat.heartbeat(["intraday: 1 new or changed point(s) for 1 series"]).endswith(
        "alerts 0; intraday: 1 new or changed point(s) for 1 series; next look at 2022-05-06T16:00:00-03:00"
    )
    idle = Tick(at=at, wake_at=at + timedelta(hours=1))
    assert idle.heartbeat(["x"]) == (
        "2022-05-06T15:00:00-03:00 nothing due; x; next look at 2022-05-06T16:00:00-03:00"
    )


def test_a_quarantine_by_watchs_recheck_moves_the_data_version(tmp_path) -> None:
    """A tick with nothing due whose recheck quarantines a spent date: the health view changed
    (one more quarantined), so the data version moves, as after `fuelpipe run`; it stayed put
    and the dashboard's stored views with it until some later tick stored a value."""
    from decimal import Decimal

    from fuelpipe.domain.models import Record, Status
    from fuelpipe.stages.data_version import INITIAL, data_version
    from fuelpipe.stages.watch import tick

    usd = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
    clock = ManualClock(datetime(2022, 5, 7, 12, 0, tzinfo=SP))  # Saturday: nothing due
    settings = Settings(db=tmp_path / "q.sqlite", source_bcb_url="http://127.0.0.1:9")
    app = build_context(settings, clock=clock, catalog=Catalog([usd]))
    try:
        for day in (2, 3, 4, 5):
            app.store.put_records([Record(usd.key, date(2022, 5, day), Decimal("5.0"), Status.OK)])
        spent = Record(
            usd.key, date(2022, 5, 6), None, Status.PENDING, 5, clock.now() - timedelta(hours=1),
            "HTTP 503",
        )  # fmt: skip
        assert app.store.put_pending(spent)
        done = tick(app, [usd])
        version = data_version(app.store)
        quarantined = [r.date for r in app.store.quarantined()]
    finally:
        app.close()
    assert done.due == [] and quarantined == [date(2022, 5, 6)]
    assert "quarantined 1 date(s)" in done.heartbeat()
    assert version != INITIAL


def test_watch_with_series_wakes_for_its_bars_in_the_whole_catalogs_window(tmp_path) -> None:
    """`watch --series STOCK#PETR4`: the window opens with PTAX's bulletins, which are not
    watched; the tick takes it from the catalog, so PETR4's bars still wake it at 13:30."""
    from decimal import Decimal

    from fuelpipe.adapters.sqlite_queue import SqliteQueue
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Record, Status
    from fuelpipe.domain.retry import RetryPolicy
    from fuelpipe.stages.context import StageContext
    from fuelpipe.stages.watch import tick

    petr4 = DEFAULT_CATALOG["STOCK#PETR4"]
    clock = ManualClock(datetime(2022, 5, 6, 13, 20, tzinfo=SP))
    app = StageContext(
        catalog=DEFAULT_CATALOG,
        store=SqliteStore(tmp_path / "w.sqlite", clock),
        queue=SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=300)),
        sources={},
        clock=clock,
        policy=RetryPolicy(),
    )
    try:
        app.store.put_records([Record(petr4.key, date(2022, 5, 5), Decimal("30.1"), Status.OK)])
        assert tick(app, [petr4], intraday=True).wake_at == datetime(2022, 5, 6, 13, 30, tzinfo=SP)
        assert tick(app, [petr4]).wake_at == datetime(2022, 5, 6, 18, 30, tzinfo=SP)
    finally:
        app.close()


def test_a_daily_revise_that_stored_nothing_is_said_once() -> None:
    """ "daily revise: 232 series re-read in 13 request(s), 0 value(s) revised; the revise stored
    0 value(s)": the second clause said the first's nothing again on every quiet day. Retries
    that stored nothing still say so (they were asked and nothing came)."""
    at = datetime(2022, 5, 5, 23, 0, tzinfo=SP)
    revise = ReviseReport(keys=232, messages_sent=13)
    quiet = Tick(at=at, revise=revise, report=CycleReport(), wake_at=at + timedelta(hours=6))
    assert quiet.heartbeat() == (
        "2022-05-05T23:00:00-03:00 nothing due; daily revise: 232 series re-read in 13 "
        "request(s), 0 value(s) revised; next look at 2022-05-06T05:00:00-03:00"
    )
    retried = CycleReport(recheck=RecheckReport(messages_sent=2))
    both = Tick(at=at, revise=revise, report=retried, wake_at=at + timedelta(hours=6))
    assert "; retries and the revise stored 0 value(s);" in both.heartbeat()


def test_a_due_date_polled_again_and_still_not_out_says_so() -> None:
    """A date polled again inside its window read "due: 1 series (STOCK#PETR4); stored 0
    value(s)", as a failure would. It says the date was asked again and is not out yet; a
    failed request still says it failed instead."""
    at = datetime(2022, 4, 29, 18, 10, tzinfo=SP)
    key = "STOCK#PETR4"
    waiting = Tick(at=at, due=[key], polled=1, report=CycleReport(), wake_at=at)
    assert waiting.heartbeat() == (
        f"2022-04-29T18:10:00-03:00 due: 1 series ({key}); stored 0 value(s) (asked again: "
        "not out yet); alerts 0; next look at 2022-04-29T18:10:00-03:00"
    )
    failing = replace(waiting, requests={"anp": SourceStats(requests=1, failures=1)})
    assert "not out yet" not in failing.heartbeat()
    assert "failed requests: anp 1 of 1" in failing.heartbeat()


def test_a_row_left_out_of_a_published_week_is_not_called_not_out_yet() -> None:
    """ANP's workbook out with the week but without FUEL#CNG#REGION_N's row: the line said
    "(asked again: not out yet)", though the week is out and only the row is not. It says
    so; beside a series whose date is not out yet, it names the rows left out."""
    at = datetime(2022, 4, 29, 18, 10, tzinfo=SP)
    key = "FUEL#CNG#REGION_N"
    left = Tick(
        at=at, due=[key], polled=1, left_out={key: "week"}, report=CycleReport(), wake_at=at
    )
    assert left.heartbeat() == (
        f"2022-04-29T18:10:00-03:00 due: 1 series ({key}); stored 0 value(s) (asked again: "
        "the week is out, this row is not); alerts 0; next look at 2022-04-29T18:10:00-03:00"
    )
    monthly = "FUEL_MONTHLY#CNG#AC"
    both = replace(left, due=[key, monthly], left_out={key: "week", monthly: "month"})
    assert "(asked again: the period is out, these rows are not)" in both.heartbeat()
    mixed = replace(left, due=["STOCK#PETR4", key])
    assert (
        "(asked again: not out yet; the week is out, not the rows of FUEL#CNG#REGION_N)"
        in mixed.heartbeat()
    )


def test_the_heartbeats_counts_have_thousands_separators() -> None:
    """Synthetic counts past a thousand, an edge case for their form alone: the heartbeat
    writes them as `revise`, `quarantine list` and `status` do ("1,234"), not "1234"."""
    from fuelpipe.stages.intraday import IntradayReport
    from fuelpipe.stages.scrape import ScrapeReport

    at = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
    due = [f"FUEL#GASOLINE#S{i}" for i in range(1200)]
    report = CycleReport(
        scrape=ScrapeReport(records_written=1234, revised=1085),
        recheck=RecheckReport(quarantined=2048),
    )
    beat = Tick(
        at=at,
        due=due,
        report=report,
        wake_at=at + timedelta(hours=1),
        alerts=1001,
        revise=ReviseReport(keys=1500, messages_sent=3000),
        requests={"anp": SourceStats(requests=4096, failures=1024, not_sent=1100)},
    )
    intraday = IntradayReport(series=2, points_changed=1440, failed=0)
    line = beat.heartbeat([intraday.summary()])
    assert " due: 1,200 series (" in line, line
    assert "stored 1,234 value(s)" in line, line
    assert "daily revise: 1,500 series re-read in 3,000 request(s), 1,085 value(s) revised" in line
    assert "failed requests: anp 1,024 of 4,096" in line, line
    assert "not sent (breaker open): anp 1,100" in line, line
    assert "alerts 1,001; intraday: 1,440 new or changed point(s) for 2 series;" in line, line
    idle = replace(beat, due=[], revise=None, requests={}, report=CycleReport(
        scrape=ScrapeReport(records_written=1234), recheck=RecheckReport(
            messages_sent=1, quarantined=2048)))  # fmt: skip
    assert (
        "nothing due; retries stored 1,234 value(s); quarantined 2,048 date(s); alerts 1,001"
        in (idle.heartbeat())
    )
    failed = replace(beat, error="OSError: disk full", failures=1500)
    assert " tick failed (1,500 in a row): " in failed.heartbeat()
    empty = replace(beat, due=[], report=None, requests={}, revise=ReviseReport(), revise_of=1300)
    assert "none of the 1,300 series has" in empty.heartbeat()


def test_a_due_date_asked_first_and_not_out_yet_says_so(tmp_path) -> None:
    """The first ask of a due date the source has not published yet read "due: 1 series
    (CURRENCY#USD); stored 0 value(s)", as a failure would, until the polls after it said
    "asked again: not out yet". The replay releases Thursday's PTAX close 20 minutes late
    (13:30): the 13:10 ask says the date is not out yet, the 13:15 poll that it was asked
    again, and the 13:30 one stores it."""
    usd = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
    clock = ManualClock(datetime(2022, 5, 5, 12, 0, tzinfo=SP))
    late = PublishedPlan(clock, jitter={"bcb": (timedelta(minutes=20), timedelta(minutes=20))})
    lines: list[str] = []
    with ReplayServer(faults=late, quiet=True) as server:
        settings = Settings(db=tmp_path / "w.sqlite", source_bcb_url=server.source_urls()["bcb"])
        app = build_context(settings, clock=clock, catalog=Catalog([usd]))
        try:
            watch(app, sleep=lambda s: clock.advance(timedelta(seconds=s)),
                  heartbeat=lambda t: lines.append(t.heartbeat()), max_ticks=6)  # fmt: skip
            stored = [r.date for r in app.store.query(usd.key) if r.status is Status.OK]
        finally:
            app.close()
    by_time = {line[11:16]: line for line in lines}
    assert "stored 0 value(s) (asked: not out yet); alerts 0" in by_time["13:10"]
    assert "stored 0 value(s) (asked again: not out yet)" in by_time["13:15"]
    assert "stored 1 value(s); alerts 0" in by_time["13:30"]
    assert "not out yet" not in by_time["13:30"]
    assert stored[-1] == date(2022, 5, 5)


def test_a_first_ask_that_stored_nothing_and_is_still_due_says_not_out_yet() -> None:
    at = datetime(2022, 5, 5, 13, 10, tzinfo=SP)
    key = "CURRENCY#USD"
    first = Tick(at=at, due=[key], not_out=[key], report=CycleReport(), wake_at=at)
    assert first.heartbeat() == (
        f"2022-05-05T13:10:00-03:00 due: 1 series ({key}); stored 0 value(s) (asked: not out "
        "yet); alerts 0; next look at 2022-05-05T13:10:00-03:00"
    )
    failing = replace(first, requests={"bcb": SourceStats(requests=1, failures=1)})
    assert "not out yet" not in failing.heartbeat()
