"""`fuelpipe watch`'s alerts when the webhook is down or the process dies: the loop goes on
collecting data, each alert reaches each sink once (the console is not repeated every tick while
the webhook is down), and what was not delivered is delivered later with the same key."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fuelpipe.adapters.alerts import DEFAULT_LEASE, SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.webhook import WebhookSink
from fuelpipe.cli.watch import alerter, close_all
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.alerting import DeadLettered, evaluate
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.watch import watch

SP = ZoneInfo("America/Sao_Paulo")
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
SECRET = "hooks/T01/B02/s3cr3t"


class Receiver:
    """A webhook that is down (503) until told otherwise; records every attempt."""

    def __init__(self) -> None:
        self.down = True
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return Response("down", status=503) if self.down else Response("ok")


@pytest.fixture
def replay():
    with ReplayServer(quiet=True) as server:
        yield server


def _dead_letter(app: StageContext) -> None:
    app.queue.send(['{"not": "a request"}'])
    app.queue.dead_letter(app.queue.receive(1)[0], "malformed message: missing partition_key")


def _close(closers: list[Any], app: Any) -> None:
    """Close what alerter opened (the alert state, the sinks that hold clients) and the app."""
    for closer in closers:
        close = getattr(closer, "close", None)
        if callable(close):
            close()
    app.close()


class Crash(BaseException):
    """The process dies (not an error the outbox may catch)."""


def _die_after_the_receiver_took_it(state: SqliteAlertState, url: str) -> None:
    """A delivery by a process that dies once the receiver has answered, before it notes the
    alert as sent: its claim on the alert holds until the lease runs out."""

    def crash_after_answer(response: httpx.Response) -> None:
        raise Crash

    dying = WebhookSink(
        url, client=httpx.Client(timeout=5.0, event_hooks={"response": [crash_after_answer]})
    )
    with pytest.raises(Crash):
        state.deliver([dying])
    dying.close()
    state.close()


def test_a_webhook_outage_neither_stops_watch_nor_repeats_alerts(
    tmp_path, replay, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))
    db = tmp_path / "w.sqlite"
    settings = Settings(db=db, source_bcb_url=replay.source_urls()["bcb"])
    app = build_context(settings, clock=clock, catalog=Catalog([USD]))
    calls: list[tuple[bool, str | None]] = []

    def hook_receiver(request: Request) -> Response:
        calls.append((not receiver.down, request.headers.get("Idempotency-Key")))
        return receiver(request)

    receiver = Receiver()
    httpserver.expect_request(f"/{SECRET}", method="POST").respond_with_handler(hook_receiver)
    hook, closers = alerter(db, httpserver.url_for(f"/{SECRET}"), clock=clock, backoff_s=0.0)

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    try:
        _dead_letter(app)
        assert watch(app, sleep=sleep, after_tick=hook, max_ticks=2) == 2  # still running
        receiver.down = False
        watch(app, sleep=sleep, after_tick=hook, max_ticks=2)
        stored = [r.date for r in app.store.query(USD.key)]
    finally:
        _close(closers, app)
    out = capsys.readouterr().out.replace("\n", "")  # rich wraps long lines
    assert stored[-1] == date(2022, 5, 4)  # the data kept coming in during the outage
    # the console told once, FIRING shown (not eaten as rich markup)
    assert out.count("[fuelpipe FIRING] dead_lettered") == 1
    assert "503" in out and "s3cr3t" not in out
    delivered = [key for ok, key in calls if ok]
    assert len(delivered) == 1  # the webhook told once, after it came back
    assert {key for _, key in calls} == {delivered[0]}  # every attempt: the same key


def test_alerts_a_webhook_left_queued_are_tried_again_within_the_delivery_backoff(
    tmp_path, replay, httpserver: HTTPServer
) -> None:
    """A webhook down for one send's retries when a CRITICAL alert fires: the next tick comes
    within 30 s to deliver it (it came at the next publication, hours later), the wait
    doubling up to 5 minutes while deliveries keep failing, and forgotten once one succeeds."""
    clock = ManualClock(datetime(2022, 5, 6, 14, 0, tzinfo=SP))  # Friday, after PTAX's 13:10
    db = tmp_path / "b.sqlite"
    app = build_context(
        Settings(db=db, source_bcb_url=replay.source_urls()["bcb"]),
        clock=clock,
        catalog=Catalog([USD]),
    )
    attempts: list[tuple[datetime, int]] = []

    def flaky(request: Request) -> Response:
        status = 503 if len(attempts) < 3 else 200  # down for one send's three attempts
        attempts.append((clock.now(), status))
        return Response("", status=status)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(flaky)
    hook, closers = alerter(db, httpserver.url_for("/hook"), clock=clock, backoff_s=0.0)
    ticks: list[datetime] = []

    def counted(app_: StageContext) -> int:
        ticks.append(clock.now())
        return hook(app_)

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    try:
        _dead_letter(app)
        watch(app, sleep=sleep, after_tick=counted, wake_by=hook.wake_by, max_ticks=2)
    finally:
        _close(closers, app)
    assert [status for _, status in attempts] == [503, 503, 503, 200]
    assert ticks[1] - ticks[0] <= timedelta(seconds=30)  # not at the next publication
    assert attempts[-1][0] == ticks[1]
    assert hook.wake_by() is None  # delivered: no backoff left


def test_the_delivery_backoff_doubles_to_five_minutes_and_resets_after_a_delivery(
    tmp_path,
) -> None:
    at = datetime(2022, 5, 6, 14, 0, tzinfo=SP)
    hook, closers = alerter(tmp_path / "k.sqlite", None, clock=ManualClock(at))
    try:
        waits = []
        for _ in range(6):
            hook.delivered(at, left_queued=True)
            wake = hook.wake_by()
            assert wake is not None
            waits.append((wake - at).total_seconds())
        assert waits == [30, 60, 120, 240, 300, 300]
        hook.delivered(at, left_queued=False)
        assert hook.wake_by() is None
        hook.delivered(at, left_queued=True)
        assert hook.wake_by() == at + timedelta(seconds=30)
    finally:
        close_all(closers)


def test_alerts_saved_but_not_sent_before_a_crash_are_sent_after_it(
    tmp_path, httpserver: HTTPServer
) -> None:
    """The alert state and the alerts still to send are saved together: a crash after saving
    loses nothing, and a crash after the receiver took an alert resends it with its key."""
    db = tmp_path / "a.sqlite"
    clock = ManualClock(datetime(2022, 5, 4, 13, 30, tzinfo=SP))
    app = build_context(Settings(db=db), clock=clock, catalog=Catalog([USD]), sources={})
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    try:
        _dead_letter(app)
        ctx = AlertContext(clock.now(), app.store, app.queue, app.catalog)
        state = SqliteAlertState(db, clock=clock)
        assert evaluate(ctx, [DeadLettered()], state, [state.outbox(["webhook"])]).firing == 1
        state.close()  # crash: saved, nothing sent

        state = SqliteAlertState(db, clock=clock)
        assert evaluate(ctx, [DeadLettered()], state, [state.outbox(["webhook"])]).firing == 0
        _die_after_the_receiver_took_it(state, httpserver.url_for("/hook"))

        state = SqliteAlertState(db, clock=clock)
        sink = WebhookSink(httpserver.url_for("/hook"))
        assert state.deliver([sink]).sent == 0  # the dead process's claim still holds
        clock.advance(DEFAULT_LEASE)  # until its lease runs out
        assert state.deliver([sink]).sent == 1
        assert state.deliver([sink]).sent == 0  # nothing left
        sink.close()
        state.close()
    finally:
        app.close()
    keys = [req.headers["Idempotency-Key"] for req, _ in httpserver.log]
    assert len(keys) == 2 and keys[0] == keys[1]
    bodies = [req.get_json() for req, _ in httpserver.log]
    assert bodies[0] == bodies[1] and bodies[0]["kind"] == "FIRING"


def test_a_watch_restarted_after_a_kill_mid_send_looks_again_when_the_claim_runs_out(
    tmp_path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A watch killed (kill -9) while the webhook had an alert leaves its claim on it for the
    lease; the watch restarted meanwhile skips it. With nothing due for hours (a Saturday
    morning, PTAX next out on Monday), its next tick came at the 6-hour cap: the alert went out
    hours late. It comes when the claim runs out, and resends the alert with its key."""
    db = tmp_path / "k.sqlite"
    clock = ManualClock(datetime(2022, 5, 7, 10, 0, tzinfo=SP))  # Saturday
    app = build_context(Settings(db=db), clock=clock, catalog=Catalog([USD]), sources={})
    app.store.put_records(
        [Record(USD.key, date(2022, 5, d), Decimal("4.9"), Status.OK) for d in range(2, 7)]
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    ticks: list[datetime] = []

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    try:
        _dead_letter(app)
        state = SqliteAlertState(db, clock=clock)
        ctx = AlertContext(clock.now(), app.store, app.queue, app.catalog)
        assert evaluate(ctx, [DeadLettered()], state, [state.outbox(["webhook"])]).firing == 1
        _die_after_the_receiver_took_it(state, httpserver.url_for("/hook"))  # kill -9

        hook, closers = alerter(db, httpserver.url_for("/hook"), clock=clock, backoff_s=0.0)

        def counted(app_: StageContext) -> int:
            ticks.append(clock.now())
            return hook(app_)

        try:
            watch(app, sleep=sleep, after_tick=counted, wake_by=hook.wake_by, max_ticks=2)
        finally:
            close_all(closers)
    finally:
        app.close()
    assert ticks[1] - ticks[0] <= DEFAULT_LEASE  # not 6 hours on
    keys = [req.headers["Idempotency-Key"] for req, _ in httpserver.log]
    assert len(keys) == 2 and keys[0] == keys[1]  # sent again once, with its key
    out = capsys.readouterr().out.replace("\n", "")
    assert "1 alert(s) wait for a claim another deliverer holds" in out


def test_watch_alerts_on_the_outlook_rules_too(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/OUTLOOK.md: outlook_move fires when the latest outlook expects a move of ±3% within two
    weeks, and watch refreshes the outlook before the alerts so they see it: the watch's
    alert hook must evaluate the outlook's rules beside the pipeline's."""
    from tests.support.outlook import rising_forecast

    from fuelpipe.outlook.forecast import Forecast
    from fuelpipe.outlook.records import from_record, to_record
    from fuelpipe.stages.outlook import outlook_key_for

    gas = DEFAULT_CATALOG["FUEL#GASOLINE#BR"]
    as_of = datetime(2022, 5, 4, 15, 0, tzinfo=SP)
    first = rising_forecast(as_of)
    steps = from_record(first).forecast.steps
    db = tmp_path / "o.sqlite"
    clock = ManualClock(as_of)
    app = build_context(Settings(db=db), clock=clock, catalog=Catalog([gas]), sources={})
    app.store.put_records([first])
    hook, closers = alerter(db, None, clock=app.clock)
    try:
        assert hook(app) == 1
        # ANP publishes the next week and the refreshed outlook still expects the rise: the
        # same condition, neither cleared nor fired again
        clock.advance(timedelta(weeks=1))
        later = tuple(replace(s, week=s.week + timedelta(weeks=1)) for s in steps)
        moved = Forecast(clock.now(), date(2022, 5, 8), 7.20, 0.0, date(2022, 5, 10), later)
        app.store.put_records([to_record(outlook_key_for(gas), moved)])
        assert hook(app) == 0
    finally:
        _close(closers, app)
    out = capsys.readouterr().out.replace("\n", "")
    assert out.count("[fuelpipe FIRING] outlook_move:") == 1 and "CLEARED" not in out
    assert (
        "[fuelpipe FIRING] outlook_move: FUEL#GASOLINE#BR expected to rise 5.6% within 2 weeks, "
        "by the week of 2022-05-15 (7.200 → 7.600 BRL/l; alert at ±3.0%)"
    ) in out


def test_a_watch_restarted_on_fewer_series_clears_only_what_stopped_holding(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`watch` alerted about USD and PRIO3; restarted as `watch -s CURRENCY#USD` it no longer
    looks at PRIO3, whose quarantined day and late source still hold: neither is announced as
    cleared (it was, once a tick, on the restart). Released, the quarantine clears for real."""
    clock = ManualClock(datetime(2022, 5, 4, 13, 30, tzinfo=SP))
    db = tmp_path / "n.sqlite"
    prio = replace(DEFAULT_CATALOG["STOCK#PRIO3"], default_start=date(2022, 5, 2))
    app = build_context(Settings(db=db), clock=clock, catalog=Catalog([USD, prio]), sources={})
    app.store.put_pendings(
        [
            Record(USD.key, date(2022, 5, 2), None, Status.QUARANTINED, 5, reason="x"),
            Record(prio.key, date(2022, 5, 2), None, Status.QUARANTINED, 5, reason="y"),
        ]
    )
    everything, closers = alerter(db, None, clock=clock)
    narrowed, more = alerter(db, None, clock=clock, series=[USD])  # watch -s CURRENCY#USD
    try:
        # USD and PRIO3: each quarantined day, and each source late for 2022-05-03
        assert everything(app) == 4
        assert narrowed(app) == 0
        assert narrowed(app) == 0
        assert app.store.release(prio.key, date(2022, 5, 2), clock.now())
        assert narrowed(app) == 1
        assert narrowed(app) == 0
    finally:
        _close(closers + more, app)
    out = capsys.readouterr().out.replace("\n", "")
    assert out.count("[fuelpipe CLEARED]") == 1, out
    assert "[fuelpipe CLEARED] quarantined: STOCK#PRIO3 cleared" in out


def test_alerts_for_a_webhook_no_longer_given_are_reported_then_dropped(
    tmp_path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ManualClock(datetime(2022, 5, 4, 13, 30, tzinfo=SP))
    db = tmp_path / "r.sqlite"
    app = build_context(Settings(db=db), clock=clock, catalog=Catalog([USD]), sources={})
    httpserver.expect_request("/hook", method="POST").respond_with_handler(Receiver())
    _dead_letter(app)
    with_webhook, closers = alerter(db, httpserver.url_for("/hook"), clock=clock, backoff_s=0.0)
    without, more = alerter(db, None, clock=clock)  # watch restarted without --webhook
    try:
        assert with_webhook(app) == 1  # the webhook is down: its alert stays queued
        assert without(app) == 0
        assert without(app) == 0  # the next tick does not print the same notice again
        clock.advance(timedelta(days=7))
        assert without(app) == 0
        assert without(app) == 0
    finally:
        _close(closers + more, app)
    out = capsys.readouterr().out.replace("\n", " ")
    assert out.count("webhook: 1 alert(s) wait for a sink no longer configured") == 1
    assert out.count("webhook: dropped 1 alert(s) queued more than 7 days ago") == 1


def test_alerts_a_webhook_down_for_a_week_are_dropped_with_one_line(
    tmp_path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The outbox of a webhook that stays down does not grow for ever: after the retention its
    alerts are dropped, and watch says so once (sink, count, when they were queued)."""
    clock = ManualClock(datetime(2022, 5, 4, 13, 30, tzinfo=SP))
    db = tmp_path / "d.sqlite"
    app = build_context(Settings(db=db), clock=clock, catalog=Catalog([USD]), sources={})
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    _dead_letter(app)
    hook, closers = alerter(db, httpserver.url_for("/hook"), clock=clock, backoff_s=0.0)
    try:
        assert hook(app) == 1  # the console shows it; the webhook is down: kept
        clock.advance(timedelta(days=7) - timedelta(seconds=1))
        assert hook(app) == 0
        clock.advance(timedelta(seconds=1))
        assert hook(app) == 0
        assert hook(app) == 0
        receiver.down = False
        attempts = len(receiver.requests)
        assert hook(app) == 0
    finally:
        _close(closers, app)
    assert len(receiver.requests) == attempts  # back up: nothing left to send
    out = capsys.readouterr().out.replace("\n", " ")
    line = (
        "webhook: dropped 1 alert(s) queued more than 7 days ago, the sink failing since "
        "2022-05-04T13:30:00-03:00 (last: "
    )
    assert out.count(line) == 1
