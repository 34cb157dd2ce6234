"""`fuelpipe watch`: run the cycle continuously, asking sources only when a publication is due.

Each tick: find the series whose latest publication is out and not stored (a cheap step before
the gap scan), fetch only those (a due date still PENDING inside its window, or in the grace
after it, is polled again; conditional requests make an unchanged answer a 304), drain the
queue, recheck, refresh the outlook if the data version moved, run the ``after_tick`` hook
(alerts, which then see the fresh outlook), then sleep until the next poll, retry or
publication. Given a ``revise_at`` (`watch` gives ``FUELPIPE_REVISE_AT``, 23:00), the daily
revise is one of the things it wakes for: a tick at or after it enqueues the same re-reads as
AWS's daily schedule, drained with the tick's own (stages/daily_revise.py says when it is due);
a source none of whose re-reads was answered stays owed, its series re-read on a later tick. A
source that answered with a Retry-After is not asked again before it ends (an hour at most:
stages/source_rest.py): its due series, retries and the daily revise wait, and the watch wakes
when it ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from fuelpipe.domain.catalog import Series
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import Kind
from fuelpipe.domain.text import clip
from fuelpipe.ports.source import SourceStats
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import CycleReport, drain
from fuelpipe.stages.daily_revise import (
    OwnRequests,
    next_revise,
    requests_since,
    revise_due,
    settle,
    settle_retry,
    source_stats,
    todays_revise,
    unreached,
)
from fuelpipe.stages.data_version import mark_after_error, mark_changed, recheck_changed
from fuelpipe.stages.due import due_status, next_retry, next_wake, poll_pending
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.outlook import OutlookReport, refresh_when_changed
from fuelpipe.stages.recheck import RecheckReport, recheck
from fuelpipe.stages.revise import ReviseReport, revise_run, selection
from fuelpipe.stages.scrape import ScrapeReport
from fuelpipe.stages.source_rest import Rests

MIN_SLEEP_S = 1.0
ERROR_CHARS = 60
"""A failed request's last error is cut to this many characters on the heartbeat."""
MAX_SLEEP = timedelta(hours=6)
"""Never sleep longer than this, so a changed catalog or a released record is noticed."""
SLEEP_SLICE_S = 60.0
"""The longest single ``sleep``: the clock is read again after each slice. ``time.sleep``
runs on a monotonic clock that stops while the machine is suspended (a laptop's lid, a paused
VM), so one long sleep would wake hours after the wall-clock ``wake_at``; in slices the watch
wakes at most a slice late."""
ERROR_BACKOFF_S = 30.0
"""The wait after a tick that failed unexpectedly, doubled for each failure in a row..."""
MAX_ERROR_BACKOFF_S = 300.0
"""... up to this: a store locked for an hour is tried every 5 minutes, not every tick."""
FAILED_TICK_CHARS = 160
"""A failed tick's error is cut to this many characters on the heartbeat."""

logger = logging.getLogger(__name__)


def error_backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` (≥ 1) ticks in a row failed: 30, 60, 120, 240, 300…"""
    # Not stamina: the wait is the next tick's ``wake_at``, slept in slices on the watch's
    # clock (sleep_until) after a heartbeat, not a retry of one call.
    return min(MAX_ERROR_BACKOFF_S, ERROR_BACKOFF_S * (1 << min(failures - 1, 16)))


@dataclass
class Tick:
    """What one watch tick did: the heartbeat line is made from it."""

    at: datetime
    due: list[str] = field(default_factory=list)
    polled: int = 0
    """Poll messages sent for due dates still PENDING inside their window or its grace."""
    not_out: list[str] = field(default_factory=list)
    """The due series asked for the first time this tick (no poll: a gap scan's request)
    whose date the answer still lacked: still due (in its grace, asked again ``grace_every``
    on), not out yet at the source."""
    left_out: dict[str, str] = field(default_factory=dict)
    """The due series asked again for a row left out of a workbook whose period is out
    (:attr:`~fuelpipe.stages.due.Due.left_out`), each with that period's name ("week",
    "month")."""
    report: CycleReport | None = None
    wake_at: datetime | None = None
    alerts: int = 0
    outlook: OutlookReport | None = None
    """The outlook refresh this tick made (None: the data version had not moved)."""
    requests: dict[str, SourceStats] = field(default_factory=dict)
    """Each source's requests this tick (only sources that were asked, or whose breaker
    refused a request unsent), with the last error and the breaker's words."""
    error: str | None = None
    """Why the tick failed (an unexpected error, ``Type: message``); None when it did not."""
    failures: int = 0
    """Ticks failed in a row, this one included (0 when it did not fail)."""
    revise: ReviseReport | None = None
    """The daily revise this tick ran (None: it was not due, or is off): the whole, or the
    re-read of the sources an earlier one did not reach."""
    revise_of: int = 0
    """How many series the tick's revise looked at (the watched ones, or a retry's owed
    sources' series): those of ``revise.keys`` had a date to re-read."""
    unreached: list[str] = field(default_factory=list)
    """The sources this tick's revise did not reach (every request failed, or was refused
    unsent by the source's breaker): still owed."""
    revise_retry_at: datetime | None = None
    """When the revise of ``unreached`` is tried again (None: nothing is owed)."""
    resting: dict[str, datetime] = field(default_factory=dict)
    """Sources not asked until the instant given (their Retry-After), as the tick ended."""
    look_at: datetime | None = None
    """When the watch looks next, if before ``wake_at``: it sleeps :data:`MAX_SLEEP` at
    most (None: at ``wake_at``)."""

    def heartbeat(self, notes: Sequence[str] = ()) -> str:
        """One line for the console, every instant in São Paulo time; ``notes`` (what the
        ``after_tick`` hook did besides alerting) go before the next look."""
        when = _instant(self.at)
        wake = _instant(self.wake_at) if self.wake_at else "-"
        if self.look_at is not None and self.wake_at is not None and self.look_at < self.wake_at:
            # the line said the planned wake while the watch looked again 6 hours on
            wake = f"{_instant(self.look_at)} (nothing planned before {wake})"
        if self.error is not None:  # the notes are an earlier tick's: not repeated here
            error = _shorten(self.error, FAILED_TICK_CHARS)
            return f"{when} tick failed ({self.failures:,} in a row): {error}; next look at {wake}"
        failed = self.failed_requests() + self._resting()
        noted = "".join(f"; {note}" for note in notes)
        written = self.report.scrape.records_written if self.report else 0
        revised = self._revised()
        if not self.due:
            # retries that came due are fetched all the same, and alerts may start or clear:
            # "nothing due" alone would hide a value stored or an alert sent on this tick
            recheck = self.report.recheck if self.report else None
            by = " and ".join(
                what
                for what, did in (
                    ("retries", recheck is not None and recheck.messages_sent),
                    ("the revise", self.revise is not None),
                )
                if did
            )
            # a revise that stored nothing has said so ("0 value(s) revised"); retries that
            # stored nothing have not: they were asked and nothing came
            retried = (
                f"; {by} stored {written:,} value(s)"
                if by and (written or by != "the revise")
                else ""
            )
            if recheck and recheck.quarantined:
                retried += f"; quarantined {recheck.quarantined:,} date(s)"
            alerts = f"; alerts {self.alerts:,}" if self.alerts else ""
            return (
                f"{when} nothing due{revised}{retried}{failed}{alerts}{noted}; next look at {wake}"
            )
        # a date polled again inside its window that the answer still lacks is not a failure:
        # "stored 0 value(s)" alone read as one
        # the first ask of a date not out yet (a PTAX close at 13:10, ANP's week at 18:00 on a
        # Friday it comes later) read the same way
        asked = self.polled or self.not_out
        waiting = self._waiting() if asked and not written and not failed else ""
        return (
            f"{when} due: {len(self.due):,} series ({', '.join(self.due[:4])}"
            f"{'…' if len(self.due) > 4 else ''}); stored {written:,} value(s){waiting}{revised}"
            f"{failed}; "
            f"alerts {self.alerts:,}{noted}; next look at {wake}"
        )

    def _waiting(self) -> str:
        """`` (asked again: not out yet)``, or, for the due series whose period the source
        has published without their row (:attr:`left_out`), that the period is out and the
        row is not."""
        left = [key for key in self.due if key in self.left_out]
        if not left:
            return f" ({'asked again' if self.polled else 'asked'}: not out yet)"
        periods = sorted({self.left_out[key] for key in left})
        period = periods[0] if len(periods) == 1 else "period"
        rows = "this row is" if len(left) == 1 else "these rows are"
        if len(left) == len(self.due):
            return f" (asked again: the {period} is out, {rows} not)"
        shown = ", ".join(left[:4]) + ("…" if len(left) > 4 else "")
        return f" (asked again: not out yet; the {period} is out, not the rows of {shown})"

    def _revised(self) -> str:
        """``; daily revise: 3 series re-read in 2 request(s), 1 value(s) revised``, or why
        there was nothing to re-read, or nothing."""
        if self.revise is None:
            return ""
        if not self.revise.keys:
            # "0 series re-read in 0 request(s)" read like a revise that failed
            return (
                f"; daily revise: nothing to re-read, none of the {self.revise_of:,} series has "
                "a date answered (a stored value, ABSENT or QUARANTINED) in its revise window"
            )
        revised = self.report.scrape.revised if self.report else 0
        owed = ""
        if self.unreached:
            retry = self.revise_retry_at
            again = f" (tried again at {_instant(retry)})" if retry is not None else ""
            owed = f"; not reached: {', '.join(self.unreached)}{again}"
        return (
            f"; daily revise: {self.revise.keys:,} series re-read in "
            f"{self.revise.messages_sent:,} request(s), {revised:,} value(s) revised{owed}"
        )

    def _resting(self) -> str:
        """``; not asked (Retry-After): bcb until 2022-05-04T14:40:00-03:00`` or nothing."""
        if not self.resting:
            return ""
        until = ", ".join(
            f"{name} until {_instant(at)}" for name, at in sorted(self.resting.items())
        )
        return f"; not asked (Retry-After): {until}"

    def failed_requests(self) -> str:
        """``; failed requests: bcb 3 of 3 (connection refused), …`` and ``; not sent (breaker
        open): bcb 2 (the last 3 requests could not connect (…); trying again after 20 s)``,
        or nothing: a tick whose requests were all refused unsent asked nothing, and says so."""
        ordered = sorted(self.requests.items())
        parts = [
            f"{name} {st.failures:,} of {st.requests:,}"
            + (f" ({_shorten(st.last_error)})" if st.last_error else "")
            for name, st in ordered
            if st.failures
        ]
        refused = [
            f"{name} {st.not_sent:,}"
            + (f" ({_shorten(st.refusal, FAILED_TICK_CHARS)})" if st.refusal else "")
            for name, st in ordered
            if st.not_sent
        ]
        return (f"; failed requests: {', '.join(parts)}" if parts else "") + (
            f"; not sent (breaker open): {', '.join(refused)}" if refused else ""
        )


def _period(series: Series) -> str:
    """What one date of ``series`` stands for: a month (ANP's monthly survey), else a week."""
    return "month" if series.kind is Kind.FUEL_MONTHLY else "week"


def _instant(at: datetime) -> str:
    return at.astimezone(SAO_PAULO).isoformat(timespec="seconds")


def _shorten(error: str, chars: int = ERROR_CHARS) -> str:
    return clip(" ".join(error.split()), chars)


def _next_look(
    app: StageContext,
    targets: Sequence[Series],
    rests: Rests | None,
    intraday: bool,
    revising: tuple[time | None, int | None],
) -> tuple[dict[str, datetime], datetime]:
    """The sources of ``targets`` resting now, and when to look next: the next publication,
    poll or retry of a series whose source is not resting, the end of a rest, the daily
    revise (``revising``: its time and selection; while a source of ``targets`` rests, not
    before the last rest ends: it re-reads them all)."""
    after = app.clock.now()
    resting = {
        name: until
        for name, until in _resting(rests, after).items()
        if any(s.source == name for s in targets)
    }
    # a resting source's due series and retries wake nothing before its rest ends
    askable = [s for s in targets if s.source not in resting]
    planned = next_wake(
        due_status(app.store, askable, after), after, intraday=intraday, catalog=app.catalog
    )
    planned = min([planned, *resting.values()])
    keys = {s.key for s in askable}
    retry_at = next_retry(app.store, keys, after, min(planned, after + MAX_SLEEP))
    wake_at = planned if retry_at is None else min(planned, retry_at)
    revise_at, covered = revising
    if revise_at is not None:
        revise = next_revise(app.store, after, revise_at, covered, {s.source for s in targets})
        wake_at = min(wake_at, max([revise, *resting.values()]))
    return resting, wake_at


def _resting(rests: Rests | None, now: datetime) -> dict[str, datetime]:
    """The sources resting at ``now``, with when each rest ends (none without ``rests``)."""
    return rests.resting(now) if rests is not None else {}


def _revise(
    app: StageContext,
    series: Sequence[Series] | None,
    since: date | None,
    revising: tuple[time, int | None],
    out: Tick,
) -> ScrapeReport:
    """The daily revise of ``series`` (None: all), or the retry of those of the sources an
    earlier one left unreached (of those the watch reads series of), drained with whatever
    else is queued; its own messages' requests tell which sources answered, and its entry is
    settled with those that did not (a retry's as the day's revise continued:
    stages/daily_revise.py). A source whose adapter keeps no request counts (``Source.stats``
    None) counts as reached."""
    at, covered = revising
    watched = list(series) if series is not None else list(app.catalog)
    day = todays_revise(app.store, app.clock.now(), at, covered)
    retried = unreached(day) & {s.source for s in watched} if day is not None else set()
    chosen = [s for s in watched if s.source in retried] if retried else series
    out.revise, run, bodies = revise_run(app, series=chosen, since=since)
    out.revise_of = len(watched if chosen is None else chosen)
    own = OwnRequests(bodies)
    scraped = drain(app, handle=own.handle)
    missed = own.unreached()
    if day is not None and retried:
        settle_retry(app.store, run, day, retried, missed)
    else:
        settle(app.store, run, covered, missed)
    out.unreached = missed
    sources = {s.source for s in watched}
    out.revise_retry_at = (
        next_revise(app.store, app.clock.now(), at, covered, sources) if missed else None
    )
    return scraped


def tick(
    app: StageContext,
    series: Sequence[Series] | None = None,
    *,
    since: date | None = None,
    after_tick: Callable[[StageContext], int] | None = None,
    intraday: bool = False,
    wake_by: Callable[[], datetime | None] | None = None,
    revise_at: time | None = None,
) -> Tick:
    """One pass: ask only for what is due (the daily revise too), store it, recheck, alert.

    ``wake_by`` (asked after ``after_tick``): an instant the next tick must not come later
    than, or None; `watch` passes its alert delivery's backoff, so alerts a webhook left
    queued are tried again within minutes, not at the next publication hours away.
    ``revise_at`` (São Paulo time; None: never): when the daily revise of the watched series
    is due (stages/daily_revise.py), this tick enqueues its re-reads (``revise``, as AWS's
    daily schedule) and drains them with its own; the next tick comes by the next one.

    ``app.rests`` (the home's: ``build_home(keeps_rests=True)``; None: none kept): a source
    still inside its Retry-After is not asked on this tick (its due series are not fetched
    nor polled, its retries not claimed, the daily revise waits when it covers one of its
    series), and the next tick comes by the end of the wait."""
    now = app.clock.now()
    rests = app.rests
    counted = source_stats(app)
    targets = list(series) if series is not None else list(app.catalog)
    # Recheck every watched series on every tick: one series due for days (ANP's monthly
    # window) must not hold back the others' retries, and `--series` bounds the quiet ticks.
    watched = None if series is None else {s.key for s in targets}
    statuses = due_status(app.store, targets, now)
    resting = _resting(rests, now)
    due = [d for d in statuses if d.is_due and d.series.source not in resting]
    out = Tick(
        at=now,
        due=[d.series.key for d in due],
        left_out={d.series.key: _period(d.series) for d in due if d.left_out},
    )
    rechecked = RecheckReport()  # filled as it goes: read when the recheck or a drain raises
    covered = selection(series, since, app.catalog)  # the revise this watch counts as its own
    revising = (
        revise_at is not None
        and not any(s.source in resting for s in targets)  # it re-reads them all: later
        and revise_due(app.store, now, revise_at, covered, {s.source for s in targets})
    )
    try:
        if due or revising:
            out.report = CycleReport(recheck=rechecked)
            if revising:  # recorded in the run log: a restarted watch does not repeat it
                assert revise_at is not None
                out.report.scrape.add(_revise(app, series, since, (revise_at, covered), out))
            if due:
                out.report.orchestrate = orchestrate(
                    app, series=[d.series for d in due], since=since
                )
                out.polled = poll_pending(app, due)
            out.report.scrape.add(drain(app))
            if due and not out.polled and not out.report.scrape.records_written:
                # asked for the first time and nothing came: still due is not out yet
                after = due_status(app.store, [d.series for d in due], app.clock.now())
                # (in its grace a PENDING date is asked again grace_every from this answer:
                # not due at once, and not out yet all the same)
                out.not_out = [
                    d.series.key for d in after if (d.is_due or d.in_grace) and not d.left_out
                ]
            recheck(app, watched, report=rechecked)  # a resting source's retries wait
            if rechecked.messages_sent:
                out.report.scrape.add(drain(app))
        else:
            # Retries that come due are still re-enqueued while nothing is published.
            recheck(app, watched, report=rechecked)
            if rechecked.messages_sent or recheck_changed(rechecked):
                out.report = CycleReport(recheck=rechecked)
                if rechecked.messages_sent:
                    out.report.scrape.add(drain(app))
    except BaseException:
        # what a drain stored or the recheck quarantined before an error (or Ctrl+C) is shown
        mark_after_error(app.store, app.clock.now(), "tick failed", rechecked)
        raise
    if out.report is not None and recheck_changed(out.report.recheck):
        # a quarantine changes the health view: its stored views follow (as `run` does)
        mark_changed(app.store, app.clock.now(), "recheck")
    out.outlook = refresh_when_changed(app.store, app.catalog, app.clock.now())
    if after_tick is not None:
        out.alerts = after_tick(app)
    out.requests = requests_since(counted, source_stats(app))
    out.resting, out.wake_at = _next_look(app, targets, rests, intraday, (revise_at, covered))
    if wake_by is not None and (hint := wake_by()) is not None:
        out.wake_at = min(out.wake_at, hint)
    return out


def watch(
    app: StageContext,
    *,
    sleep: Callable[[float], None],
    series: Sequence[Series] | None = None,
    heartbeat: Callable[[Tick], None] | None = None,
    after_tick: Callable[[StageContext], int] | None = None,
    max_ticks: int | None = None,
    since: date | None = None,
    intraday: bool = False,
    wake_by: Callable[[], datetime | None] | None = None,
    revise_at: time | None = None,
) -> int:
    """Tick, sleep until the next due publication (or daily revise), repeat; returns the ticks
    run.

    ``sleep`` is injected (tests advance a manual clock in it); ``wake_by`` brings a tick
    forward (see :func:`tick`: alerts left queued by a failed delivery); ``revise_at`` is the
    São Paulo time of the daily revise (None: none; see :func:`tick`). Ctrl+C stops the
    loop between or inside ticks, and the queue's at-least-once delivery makes an interrupted
    tick harmless. A source's Retry-After (a 429's or 503's the adapter did not wait out) is
    kept from tick to tick in ``app.rests``, which the home supplies
    (``build_home(keeps_rests=True)``; None: none is kept): no request goes to that source
    before it ends, an hour at most (see :func:`tick`).

    A tick that fails with an unexpected error (the store locked past its busy timeout by
    another command, the queue refusing a send, an alert state that kept changing) does not
    end the loop: the error is logged with its traceback, the heartbeat gets a ``tick failed``
    line, and the next tick comes after :func:`error_backoff` (30 s, doubling up to 5 minutes,
    from the first again after a tick that did not fail). Nothing a failed tick did is lost:
    stored values stay stored, unsent claims are given back or their lease runs out, and
    unconfirmed messages return to the queue.
    """
    ticks = 0
    failures = 0
    while max_ticks is None or ticks < max_ticks:
        started = app.clock.now()
        try:
            result = tick(
                app,
                series,
                since=since,
                after_tick=after_tick,
                intraday=intraday,
                wake_by=wake_by,
                revise_at=revise_at,
            )
        except Exception as exc:  # KeyboardInterrupt and SystemExit still stop the loop
            failures += 1
            backoff = error_backoff(failures)
            logger.exception(
                "watch: tick failed (%d in a row), next in %g s: %s: %s",
                failures, backoff, type(exc).__name__, exc,
            )  # fmt: skip
            result = Tick(
                at=started,
                wake_at=app.clock.now() + timedelta(seconds=backoff),
                error=f"{type(exc).__name__}: {exc}",
                failures=failures,
            )
        else:
            failures = 0
        assert result.wake_at is not None
        result.look_at = min(result.wake_at, app.clock.now() + MAX_SLEEP)
        ticks += 1
        if heartbeat is not None:
            heartbeat(result)
        if max_ticks is not None and ticks >= max_ticks:
            break
        sleep_until(app.clock.now, result.look_at, sleep)
    return ticks


def sleep_until(
    now: Callable[[], datetime],
    wake_at: datetime,
    sleep: Callable[[float], None],
    *,
    slice_s: float = SLEEP_SLICE_S,
) -> None:
    """Sleep until ``now()`` reaches ``wake_at``, in slices of at most ``slice_s`` seconds
    (each at least :data:`MIN_SLEEP_S`, and at least one), reading ``now()`` after each: a
    clock that jumps past ``wake_at`` while asleep (a suspend, which ``time.sleep``'s monotonic
    clock does not count) ends the wait at the end of the slice. A clock stepped back while
    asleep (NTP correcting it, a wrong RTC set right) does not stretch the wait: it also ends
    once the seconds it was planned for at the start have been slept. Ctrl+C (and SIGTERM,
    which the CLI turns into KeyboardInterrupt) raised inside ``sleep`` stops it as before."""
    planned = (wake_at - now()).total_seconds()
    slept = 0.0
    while True:
        left = min((wake_at - now()).total_seconds(), planned - slept)
        seconds = max(MIN_SLEEP_S, min(slice_s, left))
        sleep(seconds)
        slept += seconds
        if now() >= wake_at or slept >= planned:
            return
