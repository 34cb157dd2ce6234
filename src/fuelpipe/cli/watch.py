"""`fuelpipe watch`: keep the embedded home fresh, asking sources only when something is due."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fuelpipe.cli.helpstyle import PlainHelpCommand, series_help, split_series
from fuelpipe.cli.main import (
    EXIT_ALREADY_WATCHING,
    _check_store_path,
    _select,
    cli,
    console,
    fail,
    settings,
    take_lock,
    wired,
)
from fuelpipe.domain.alerts import AlertLanguage
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.stages.context import StageContext


class AlertHook:
    """`watch`'s ``after_tick`` hook (see :func:`alerter`): evaluates, queues and delivers the
    alerts, returning how many fired, escalated or cleared; :meth:`wake_by` is the delivery
    backoff while alerts are left queued."""

    def __init__(self, evaluate_tick: Callable[[StageContext], int]) -> None:
        self._evaluate_tick = evaluate_tick
        self.failed_deliveries = 0
        """Deliveries in a row that left alerts queued (0 after one that did not)."""
        self._retry_at: datetime | None = None
        self._held_until: datetime | None = None

    def __call__(self, app_: StageContext) -> int:
        return self._evaluate_tick(app_)

    def delivered(
        self, now: datetime, left_queued: bool, held_until: datetime | None = None
    ) -> None:
        """Note a delivery at ``now``: one that left alerts queued is tried again after a
        backoff (30 s, doubling up to 5 minutes while deliveries keep failing); alerts it
        skipped under another deliverer's claim (a watch killed mid-send) once that claim has
        run out, ``held_until``."""
        from fuelpipe.stages.watch import error_backoff

        self._held_until = held_until
        if not left_queued:
            self.failed_deliveries, self._retry_at = 0, None
            return
        self.failed_deliveries += 1
        self._retry_at = now + timedelta(seconds=error_backoff(self.failed_deliveries))

    def wake_by(self) -> datetime | None:
        """When the next tick should come at the latest to deliver what is left queued (None:
        nothing is)."""
        return min(filter(None, (self._retry_at, self._held_until)), default=None)


def alerter(
    db: Path,
    webhook: str | None,
    *,
    clock: Clock | None = None,
    backoff_s: float = 0.5,
    series: Sequence[Series] | None = None,
    language: AlertLanguage = "en",
) -> tuple[AlertHook, list[Any]]:
    """The alert evaluation hook of the embedded home: console, plus a webhook when given.

    ``series`` (`watch --series`): the alerts are about these only, not the whole catalog.
    ``language``: the console line's (``FUELPIPE_ALERT_LANGUAGE``); the webhook's body
    carries both languages whatever it is.

    The alerts are saved with the alert state (an outbox in the same file) and then delivered
    to each sink: a webhook that is down is reported and tried again without stopping the
    watch and without repeating what the console already showed, at the next tick, which
    comes within the delivery backoff (:meth:`AlertHook.wake_by`: 30 s, doubling up to 5
    minutes while it stays down). A watch started after one was killed mid-delivery never
    sends the same alert (claims with a lease on ``clock``, the wall clock unless given; it
    looks again when a dead one's claim runs out, :meth:`AlertHook.wake_by`;
    `watch` itself refuses to run beside another on the same store); alerts for a webhook no
    longer given, or down for longer than the retention (7 days), are dropped with a line.
    """
    from fuelpipe.adapters.alerts import ConsoleSink, SqliteAlertState
    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.adapters.webhook import WebhookSink
    from fuelpipe.domain.instants import sao_paulo_iso
    from fuelpipe.ports.alerts import AlertContext, AlertRule, AlertSink
    from fuelpipe.stages.alert_rules import RETIRED_RULES, alert_rules
    from fuelpipe.stages.alerting import evaluate
    from fuelpipe.stages.watch import error_backoff

    leases = clock or SystemClock()  # the claims' clock: the wall's, not a --now one
    state = SqliteAlertState(db, clock=leases)
    sinks: list[AlertSink] = [
        ConsoleSink(
            # markup off: "[fuelpipe FIRING]" and evidence in brackets are text, not styles
            lambda line: console.print(line, markup=False, highlight=False),
            language,
        )
    ]
    if webhook:
        sinks.append(WebhookSink(webhook, backoff_s=backoff_s))
    outbox = state.outbox(s.name for s in sinks)
    # the outlook's rules beside the pipeline's, as in AWS: watch refreshes the outlook first
    rules: list[AlertRule] = alert_rules()

    shown: list[str] = []  # the outbox notices last printed: each tick repeats them
    unknown: dict[str, int] = {}  # the unknown rules' alerts last printed, likewise

    watched = None if series is None else Catalog(series)

    def hook(app_: StageContext) -> int:
        about, whole = (app_.catalog, None) if watched is None else (watched, app_.catalog)
        ctx = AlertContext(app_.clock.now(), app_.store, app_.queue, about, whole=whole)
        # an alert about a series no longer watched clears only when it stops holding
        report = evaluate(ctx, rules, state, [outbox], whole=whole, retired=RETIRED_RULES)
        for problem in report.failed_rules:
            console.print(f"[yellow]alert rule failed:[/] {escape(problem)}", highlight=False)
        if report.unknown_rules != unknown:  # printed when it changes, not every tick
            for rule, count in report.unknown_rules.items():
                console.print(
                    f"[yellow]alert state:[/] {count:,} active alert(s) of rule "
                    f"{escape(rule)}, which this release does not evaluate, kept as they are",
                    highlight=False,
                )
            unknown.clear()
            unknown.update(report.unknown_rules)
        delivery = state.deliver(sinks)
        now = app_.clock.now()
        held = None  # when the claims run out, on the watch's clock (a --now one too)
        if delivery.held_until is not None:
            held = now + max(delivery.held_until - leases.now(), timedelta(0))
            console.print(
                f"[yellow]alert delivery:[/] {delivery.held:,} alert(s) wait for a claim another "
                "deliverer holds (a watch stopped while sending); sent once it runs out, by "
                f"{sao_paulo_iso(held, 'seconds')}",
                highlight=False,
            )
        alert_hook.delivered(now, bool(delivery.failed), held)
        for problem in delivery.failed:
            console.print(
                "[yellow]alert delivery failed (kept, tried again in "
                f"{error_backoff(alert_hook.failed_deliveries):g} s):[/] " + escape(problem),
                highlight=False,
            )
        if delivery.notices != shown:  # printed when they change, not every tick
            for notice in delivery.notices:
                console.print(f"[yellow]alert outbox:[/] {escape(notice)}", highlight=False)
            shown[:] = delivery.notices
        return report.firing + report.escalated + report.cleared

    alert_hook = AlertHook(hook)
    return alert_hook, [state, *sinks]


# Its own class, not left to main's use_plain_help: a process that imports this module first
# (before fuelpipe.cli.main) has main run that call before this command is registered.
@cli.command(cls=PlainHelpCommand)
def watch(
    ctx: typer.Context,
    series: Annotated[
        list[str] | None,
        typer.Option(
            "--series", "-s", help=series_help("Series to keep fresh:"), callback=split_series
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(help="POST alerts as JSON to this URL.", envvar="FUELPIPE_ALERT_WEBHOOK_URL"),
    ] = None,
    ticks: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Stop after this many ticks (default: until Ctrl+C). A tick is one look: "
            "fetch what is due, drain the queue, recheck, alert; it takes seconds to minutes. "
            "Between ticks the watch sleeps until the next publication, retry, poll or the "
            "daily revise is due (up to 6 hours), so --ticks 2 may run for hours; --ticks 1 "
            "looks once and exits.",
        ),
    ] = None,
    intraday: Annotated[
        bool,
        typer.Option(
            "--intraday/--no-intraday",
            help="Also store the day's PTAX bulletins and 15-minute bars (kept 35 days).",
        ),
    ] = True,
    revise_at: Annotated[
        str | None,
        typer.Option(
            metavar="HH:MM|off",
            help="São Paulo time of the daily revise, as the AWS home's daily schedule "
            "(default FUELPIPE_REVISE_AT or 23:00; off: none): each fetch unit's recent "
            "window is re-read, so revised values, and values a source adds later to a date "
            "already published, are stored. A watch that finds no revise of its series since the "
            "last such time (started after it, or stopped for days) runs one at once; one "
            "restarted after the day's does not repeat it.",
        ),
    ] = None,
) -> None:
    """Run the cycle continuously: sleep until a publication is due, fetch it, alert, repeat.

    One watch per store: a second one on the same file exits 4, naming the running one (its
    pid and since when). Other commands (run, status, dashboard, ...) are not held back."""
    cfg = settings(ctx)
    if cfg.backend != "embedded":
        raise fail("watch runs the embedded home; in AWS, EventBridge schedules data_clustering")
    daily = cfg.revise_at
    if webhook is not None and not webhook.strip():  # `--webhook "$URL"` with URL unset
        source = ctx.get_parameter_source("webhook")  # (typer's own click: its enum, by name)
        given = (
            "--webhook"
            if getattr(source, "name", "") == "COMMANDLINE"
            else ("FUELPIPE_ALERT_WEBHOOK_URL")
        )
        raise fail(
            f"{given} is blank ({webhook!r}): give the URL to POST alerts to, or leave "
            f"{given} out for alerts on the console alone"
        )
    # The option reads FUELPIPE_ALERT_WEBHOOK_URL as written; Settings in any case, as every
    # FUELPIPE_* name.
    webhook = webhook or cfg.alert_webhook_url
    if revise_at is not None:
        from fuelpipe.homes.settings import parse_revise_at

        try:
            daily = parse_revise_at(revise_at)  # refused before the store is touched
        except ValueError as exc:
            raise fail(f"--revise-at: {exc}") from None
    if webhook:
        from fuelpipe.adapters.webhook import WebhookSink

        try:
            WebhookSink(webhook).close()  # refused before the store is touched
        except ValueError as exc:
            raise fail(f"--webhook/FUELPIPE_ALERT_WEBHOOK_URL: {exc}") from None
    chosen = _select(series)  # refused before the lock, the store or its queue is created
    _check_store_path(cfg.db, writes=True, creates=True)
    with (
        only_watch(cfg),
        wired(ctx, writes=True, creates=True, uses_queue=True, keeps_rests=True) as context,
    ):
        _watch(
            context,
            cfg.db,
            chosen,
            webhook,
            ticks,
            intraday=intraday,
            revise_at=daily,
            language=cfg.alert_language,
        )


@contextmanager
def only_watch(cfg: Settings, command: str = "fuelpipe watch") -> Iterator[None]:
    """Hold the store's watch lock while inside (``command``: what is watching, named to a
    process refused); a watch already running there is one clear line and exit 4, before the
    store is opened."""
    from fuelpipe.adapters.process_lock import LockHeld
    from fuelpipe.homes.embedded import watch_lock

    lock = watch_lock(cfg, command=command)

    def refusal(held: LockHeld) -> str:
        h = held.holder
        who = "pid unknown" if h.pid is None else f"pid {h.pid}"
        since = "" if h.since is None else f", running since {h.since}"
        return (
            f"another `{h.command or 'fuelpipe watch'}` ({who}{since}) is watching the store "
            f"{cfg.db}: one watch per store (stop that one first; the lock is {lock.path})"
        )

    take_lock(lock.acquire, lock.path, LockHeld, refusal, EXIT_ALREADY_WATCHING)
    try:
        yield
    finally:
        lock.release()


def _watch(
    a: StageContext,
    db: Path,
    chosen: list[Series] | None,
    webhook: str | None,
    ticks: int | None,
    *,
    intraday: bool,
    revise_at: day_time | None = None,
    language: AlertLanguage = "en",
) -> None:
    from fuelpipe.stages.watch import watch as run_watch

    chosen_keys = {s.key for s in chosen or []}
    alert_hook, closers = alerter(db, webhook, series=chosen, language=language)
    hook: Callable[[StageContext], int] = alert_hook
    notes: list[str] = []  # what the hook did besides alerting, for this tick's heartbeat
    if intraday:
        from fuelpipe.adapters.intraday_store import SqliteIntradayStore
        from fuelpipe.domain.intraday import INTRADAY_SERIES
        from fuelpipe.stages.intraday import refresh_today

        points = SqliteIntradayStore(db)
        closers.append(points)

        def with_intraday(app_: StageContext) -> int:
            _, report = refresh_today(  # a series on its own calendar's holiday is not asked
                app_.sources, points, app_.catalog, app_.clock.now(),
                keys=[k for k in INTRADAY_SERIES if chosen is None or k in chosen_keys],
                rests=app_.rests,  # a source's Retry-After holds its bulletins and bars too
            )  # fmt: skip
            for problem in report.errors:
                console.print(f"[yellow]intraday:[/] {escape(problem)}", highlight=False)
            notes[:] = [report.summary()] if report.series else []  # none asked: no words
            return alert_hook(app_)

        hook = with_intraday

    daily = "off" if revise_at is None else f"{revise_at:%H:%M} São Paulo time"
    console.print(f"watching (Ctrl+C to stop; daily revise: {daily})")
    try:
        run_watch(
            a,
            sleep=time.sleep,
            series=chosen,
            heartbeat=lambda t: console.print(  # one line: a narrow terminal wraps it, not rich
                t.heartbeat(notes), markup=False, highlight=False, soft_wrap=True
            ),
            after_tick=hook,
            wake_by=alert_hook.wake_by,
            max_ticks=ticks,
            intraday=intraday,
            revise_at=revise_at,
        )
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        close_all(closers)


def close_all(closers: Iterable[object]) -> None:
    """Close what :func:`alerter` (and the caller) opened: each closer with a ``close``."""
    for closer in closers:
        close = getattr(closer, "close", None)
        if callable(close):
            close()
