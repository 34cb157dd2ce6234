"""`fuelpipe demo --live`: the last two weeks of the snapshot window replayed as if live.

The replay releases each value only at its real publication instant on a clock that runs
``speed`` times faster than real time while the loop waits, and stands still while it works;
`watch`'s loop polls what is due, runs its daily revise at FUELPIPE_REVISE_AT (23:00 São Paulo
time) of each replayed day, and the panel served beside it redraws as PTAX closes, market
closes and the ANP week arrive.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING

import uvicorn
from rich.console import Console

from fuelpipe.cli.demo import record_demo_clocks
from fuelpipe.cli.demo_parts import DemoPhase
from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.stages.context import StageContext

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fuelpipe.replay.live import SpeedClock

LIVE_SPAN = timedelta(days=14)


class _Over(Exception):
    """The replayed window is over."""


def live_window(coverage: dict[str, object]) -> tuple[datetime, datetime]:
    """The two weeks before the snapshot window's end: start and end instants (São Paulo)."""
    window = coverage["window"]
    assert isinstance(window, dict)
    end_day = date.fromisoformat(str(window["end"]))
    end = datetime.combine(end_day, dtime(23, 59), SAO_PAULO)
    start = datetime.combine(end_day - LIVE_SPAN, dtime(0, 0), SAO_PAULO)
    return start, end


def replay_live(
    context: StageContext,
    clock: Clock,
    end: datetime,
    *,
    sleep: Callable[[float], None],
    heartbeat: Callable[[str], None],
    since: date | None = None,
    intraday: IntradayStore | None = None,
    alerts: Callable[[StageContext], int] | None = None,
    revise_at: dtime | None = None,
    problem: Callable[[str], None] | None = None,
) -> int:
    """Run the watch loop until the clock passes ``end``; returns the ticks run. With
    ``intraday``, each tick also stores the day's bulletins and bars, and with ``alerts`` (the
    alert hook of `watch`, :func:`fuelpipe.cli.watch.alerter`) evaluates the alert rules after,
    as `watch` does: the heartbeat's "alerts N" is what that hook returned. ``revise_at`` (São
    Paulo time; None: none) is `watch`'s daily revise: a tick at or after it on each replayed
    day re-reads the recent windows (stages/daily_revise.py; the first tick runs one at once
    when the store has none since the last such time, as `watch` does), and its heartbeat says
    what it revised. The heartbeat names what the intraday refresh stored new; a series it could
    not refresh is a line of its own, to ``problem`` (None: to ``heartbeat``)."""
    from fuelpipe.stages.intraday import refresh_today
    from fuelpipe.stages.watch import Tick, watch

    ticks = 0
    notes: list[str] = []  # what the intraday refresh did, for this tick's heartbeat

    def beat(tick: Tick) -> None:
        nonlocal ticks
        ticks += 1
        heartbeat(tick.heartbeat(notes))
        notes.clear()  # a failed tick's heartbeat takes none: the next is a fresh refresh

    def sleep_until_over(seconds: float) -> None:
        if clock.now() >= end:
            raise _Over
        sleep(min(seconds, max(1.0, (end - clock.now()).total_seconds())))

    def collect(app: StageContext) -> int:
        if intraday is not None:  # a series on its own calendar's holiday is not asked
            _, report = refresh_today(
                app.sources, intraday, app.catalog, app.clock.now(), rests=app.rests
            )
            # as `watch` says them: a bar stored on a tick with nothing due is not "nothing"
            for error in report.errors:
                (problem or heartbeat)(f"intraday: {error}")
            notes[:] = [report.summary()] if report.series else []  # none asked: no words
        return alerts(app) if alerts is not None else 0

    with contextlib.suppress(_Over):  # the replayed window is over
        watch(
            context,
            sleep=sleep_until_over,
            heartbeat=beat,
            since=since,
            after_tick=collect if intraday is not None or alerts is not None else None,
            intraday=intraday is not None,
            revise_at=revise_at,
        )
    return ticks


def run_live_demo(
    console: Console,
    cfg: Settings,
    catalog: Catalog,
    *,
    speed: float,
    serve: bool,
    port: int,
    snapshot_coverage: dict[str, object],
    phases: Sequence[DemoPhase],
) -> None:
    """Backfill up to two weeks before the end, then replay them live (and serve the panel).

    Every series of ``phases`` (the demo's in-window phases) is asked from its own first date.
    One whose real file ends before the two weeks (PETR3's) is filled at its own clock, as
    `demo` does, and left out of the live loop: the replay has nothing of it to release there.
    At each tick, and when the replay stops (at its end, or at Ctrl+C), the store remembers the
    clock it reached and each series' own, so `status` and a `dashboard` started apart count
    completeness there (the dashboard following it as it moves), as after `demo`, not at this
    machine's date. Before the backfill it is stamped with the clock the
    backfill runs to, so a store stopped there is still the demo's (the next demo refills it).
    The loop runs `watch`'s daily revise at ``cfg.revise_at`` (FUELPIPE_REVISE_AT, 23:00 São
    Paulo time; off: none) of each replayed day, as `watch` does in real time.
    """
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.cli.watch import alerter, close_all
    from fuelpipe.homes import open_home, open_intraday
    from fuelpipe.replay.live import PublishedPlan, SpeedClock
    from fuelpipe.replay.server import ReplayServer
    from fuelpipe.stages.cycle import run_cycle

    start, end = live_window(snapshot_coverage)
    ended = [p for p in phases if p.now <= start]
    live = [p for p in phases if p.now > start]
    chosen = _from_first_dates(live)
    clock = SpeedClock(start, speed)
    with ReplayServer(faults=PublishedPlan(clock, catalog=chosen), quiet=True) as replay:
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        live_cfg = cfg.model_copy(update={**urls, "now": None, "yahoo_min_interval_s": 0.0})
        daily = "off" if cfg.revise_at is None else f"{cfg.revise_at:%H:%M} São Paulo time"
        waits = LIVE_SPAN.total_seconds() / speed / 60  # the clock stands still in a tick
        console.print(
            f"[bold]fuelpipe demo --live[/]: {len(chosen)} series live, {start:%Y-%m-%d} to "
            f"{end:%Y-%m-%d} at {speed:g}x ({waits:.1f} min of waits, plus the ticks' own "
            f"time; daily revise: {daily})"
        )
        # The store is the demo's from the start, as `demo` stamps it: one stopped in the
        # backfill (Ctrl+C, a crash) holds runs, and without the stamp the next demo would
        # take it for the operator's and refuse it. Each series at the clock its backfill
        # runs to; the replay's own stamp replaces it when it stops.
        with open_home(live_cfg, clock=FixedClock(start)) as first:
            backfilled = {s.key: min(p.now, start) for p in phases for s in p.series}
            record_demo_clocks(first.store, start, backfilled)
        # Each phase apart, at its own clock if its real file ends before the two weeks, as
        # `demo` runs them: one ANP workbook's request, shared by its keys, may not reach
        # before any of their first dates.
        for phase in phases:
            if phase.now <= start:
                console.print(
                    f"{', '.join(s.key for s in phase.series)}: real data ends before the two "
                    f"weeks, filled up to {phase.now:%Y-%m-%d %H:%M}"
                )
            with open_home(
                live_cfg,
                clock=FixedClock(min(phase.now, start)),
                catalog=_from_first_dates([phase]),
            ) as backfill:
                run_cycle(backfill)
        clock.restart()  # the backfill took real time: the live clock starts now
        clock.hold()  # and runs only while the loop waits (paced_sleep), not while it works
        own_clocks = {s.key: p.now for p in ended for s in p.series}
        with (
            open_home(live_cfg, clock=clock, catalog=chosen, keeps_rests=True) as context,
            open_intraday(live_cfg) as points,
        ):
            server = (
                _serve_in_background(context, catalog, port, points, own_clocks) if serve else None
            )
            # the alerts `watch` evaluates, on the console (no webhook in the demo)
            alert_hook, closers = alerter(live_cfg.db, None)
            printed = _Lines(console)
            interrupted = False
            try:
                replay_live(
                    context,
                    clock,
                    end,
                    sleep=paced_sleep(clock),
                    heartbeat=_stamping(context, end, live, own_clocks, printed.beat),
                    problem=printed.say,
                    intraday=points,
                    alerts=alert_hook,
                    revise_at=live_cfg.revise_at,  # as `watch`: FUELPIPE_REVISE_AT
                )
            except KeyboardInterrupt:
                interrupted = True
            finally:
                if server is not None:
                    server.should_exit = True
                close_all(closers)
            stopped = min(clock.now(), end)
            # Completeness counts to where the replay stopped, each series no later than its
            # own demo clock (as in `demo`), not to this machine's date.
            stopped_at = {s.key: min(p.now, stopped) for p in live for s in p.series}
            record_demo_clocks(context.store, stopped, stopped_at | own_clocks)
    if interrupted:  # the store keeps all it stored: `status` counts to where it stopped
        console.print(
            f"stopped: the live replay ended at {stopped:%Y-%m-%d %H:%M} São Paulo time of its "
            f"clock, after {printed.ticks} tick(s); what it stored is kept (`fuelpipe status` "
            "counts to that instant)",
            highlight=False,
            soft_wrap=True,
        )
        raise KeyboardInterrupt  # Ctrl+C exits 130, as for every command
    console.print(f"live replay over: {printed.ticks} tick(s), now {stopped:%Y-%m-%d %H:%M}")


def _stamping(
    context: StageContext,
    end: datetime,
    live: Sequence[DemoPhase],
    own_clocks: Mapping[str, datetime],
    beat: Callable[[str], None],
) -> Callable[[str], None]:
    """The live loop's heartbeat, which first stamps the clock the tick reached in the store
    (each live series no later than its own demo clock, ``own_clocks`` as they are): a
    `fuelpipe dashboard` started apart on the store follows the replay, as `status` does."""

    def stamp_and_beat(line: str) -> None:
        at = min(context.clock.now(), end)
        reached = {s.key: min(p.now, at) for p in live for s in p.series}
        record_demo_clocks(context.store, at, reached | dict(own_clocks))
        beat(line)

    return stamp_and_beat


def paced_sleep(
    clock: SpeedClock, sleep: Callable[[float], None] = time.sleep
) -> Callable[[float], None]:
    """`watch`'s sleep on the live clock (held still between sleeps): ``seconds`` of replayed
    time, waited for in real time ``clock.speed`` times shorter, the clock running only then.
    The replayed time then passes as the loop waits, not as the machine works: at 3600x, a
    tick that took two real seconds (a busy machine) was two replayed hours, past a Yahoo
    close's allowance before the loop looked for it, and the demo alerted its source late,
    which in real time it is not."""

    def wait(seconds: float) -> None:
        clock.resume()
        try:
            sleep(seconds / clock.speed)
        finally:  # Ctrl+C in the sleep too: the stop is stamped where the clock stood
            clock.hold()

    return wait


@dataclass
class _Lines:
    """The live loop's lines on the console, its heartbeats counted (the ticks run so far,
    when Ctrl+C ends the replay)."""

    console: Console
    ticks: int = 0

    def say(self, line: str) -> None:
        """One line, as `watch` prints it: a narrow terminal wraps it, not rich, and an
        error's "[...]" is text, not markup."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def beat(self, line: str) -> None:
        """A tick's heartbeat."""
        self.ticks += 1
        self.say(line)


def _from_first_dates(phases: Sequence[DemoPhase]) -> Catalog:
    """The phases' series, each starting at its phase's first date (its first real date, or
    the window's start): the pipeline asks nothing before what the replay has, where a ticker
    would leave PENDING dates no source ever had."""
    return Catalog(
        replace(s, default_start=max(s.default_start, p.since)) for p in phases for s in p.series
    )


LIVE_HOST = "127.0.0.1"
"""The live panel's address: this machine only."""


def live_app(
    context: StageContext,
    catalog: Catalog,
    intraday: IntradayStore,
    series_clocks: Mapping[str, datetime],
) -> FastAPI:
    """The live panel's app: on a loopback address it answers only the loopback Host names
    (DNS rebinding), as `fuelpipe dashboard` does."""
    from fuelpipe.dashboard.app import create_app
    from fuelpipe.dashboard.server import allowed_hosts

    return create_app(
        context.store,
        catalog,
        context.queue,
        context.clock,
        cache_ttl_s=5,
        intraday=intraday,
        series_clocks=series_clocks,
        allowed_hosts=allowed_hosts(LIVE_HOST),
    )


def _serve_in_background(
    context: StageContext,
    catalog: Catalog,
    port: int,
    intraday: IntradayStore,
    series_clocks: Mapping[str, datetime],
) -> uvicorn.Server:
    web = live_app(context, catalog, intraday, series_clocks)
    server = uvicorn.Server(
        uvicorn.Config(web, host=LIVE_HOST, port=port, log_level="warning", access_log=False)
    )
    threading.Thread(target=server.run, name="dashboard", daemon=True).start()
    print(f"dashboard: http://127.0.0.1:{port}/ (live)", flush=True)
    return server
