"""One full cycle on one machine: orchestrate, drain the queue, recheck, drain again."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from fuelpipe.domain.catalog import Series
from fuelpipe.ports.queue import Message
from fuelpipe.ports.store import RunLog, new_run_id
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import (
    UNMARKED,
    Debt,
    mark_after_error,
    mark_owed,
    recheck_changed,
    scrape_changed,
    unmarked,
)
from fuelpipe.stages.last_delivery import (
    asked_for,
    dead_letter_last_delivery,
    failure_words,
    is_last_delivery,
)
from fuelpipe.stages.orchestrate import OrchestrateReport, orchestrate
from fuelpipe.stages.outlook import OutlookReport, after_cycle, version_written
from fuelpipe.stages.recheck import RecheckReport, recheck
from fuelpipe.stages.scrape import ScrapeReport, handle_message

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): total is 0 when unknown."""
Handler = Callable[[StageContext, Message], ScrapeReport]
"""How one message is handled: :func:`~fuelpipe.stages.scrape.handle_message`, or a caller's
wrapper of it that notes what the message's requests came to (stages/daily_revise.py)."""


class Helpers(Protocol):
    """More scrapers working the same queue beside this one while it drains (the embedded
    home's worker processes; in the AWS home Lambda runs scrapers side by side instead)."""

    def start(self) -> None:
        """Start them; each takes messages until none is left to take."""

    def finish(self) -> ScrapeReport:
        """Wait for them and return what they did together (raises if one failed)."""

    def stop(self) -> None:
        """Ctrl+C or SIGTERM reached this process: stop them now, each giving the messages it
        holds back to the queue, and wait until they have."""


@dataclass
class CycleReport:
    """The three stages' reports of one cycle."""

    orchestrate: OrchestrateReport = field(default_factory=OrchestrateReport)
    scrape: ScrapeReport = field(default_factory=ScrapeReport)
    recheck: RecheckReport = field(default_factory=RecheckReport)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Nested counters, for `--json` output and the run log."""
        return {
            "orchestrate": self.orchestrate.as_dict(),
            "scrape": self.scrape.as_dict(),
            "recheck": self.recheck.as_dict(),
        }


def drain(
    app: StageContext,
    *,
    progress: Progress | None = None,
    batch_size: int = 10,
    wait_in_flight: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    max_idle_polls: int = 10_000,
    mark: bool = True,
    helpers: Helpers | None = None,
    handle: Handler = handle_message,
    log: bool = True,
    report: ScrapeReport | None = None,
) -> ScrapeReport:
    """Work the queue until it is empty; messages a crashed run left in flight are waited for.

    Each message is deleted only after its records are stored, so a crash at any point means
    redelivery, and idempotent writes make redelivery harmless (at-least-once). ``helpers``
    drain beside this process; it takes one message at a time then (so one of them does not
    hold ten while the others wait) and waits for theirs in flight too: a helper that dies
    leaves its message to come back after the visibility timeout, and this loop takes it.
    Interrupted (Ctrl+C, SIGTERM), it stops the helpers too, each giving back what it holds.
    The run log holds everyone's counts (``log=False``: the caller logs them, as
    :func:`run_cycle` logs its drains in one entry), a drain an error or an interruption ends
    too: what it did before. ``report``, when given, is the one filled as the drain goes (and
    returned): a caller whose drain raised reads there what it did. ``handle`` handles each
    message this process takes (the helpers' own use
    :func:`~fuelpipe.stages.scrape.handle_message`).
    """
    started = app.clock.now()
    report = report if report is not None else ScrapeReport()
    owe = Owe(app, unmarked(app.store))  # set: a run killed after deleting a message it stored
    if helpers is not None and app.queue.depth().visible < 2:
        helpers = None  # one message or none: not worth starting anyone
    if helpers is not None:
        batch_size = 1
        progress = _overall(app, progress) if progress else None
    try:
        if helpers is not None:  # inside: a signal while they start stops those started
            helpers.start()
        work_queue(
            app,
            progress=progress,
            batch_size=batch_size,
            wait_in_flight=wait_in_flight,
            sleep=sleep,
            max_idle_polls=max_idle_polls,
            owe=owe,
            handle=handle,
            report=report,
        )
    except KeyboardInterrupt:
        if helpers is not None:  # they stop too, rather than drain the queue first
            helpers.stop()  # waits: what they stored is in before the version below
        if mark:
            _mark_interrupted(app)
        _log_anyway(app, RunLog("scraper", started, app.clock.now(), report.as_dict()), log)
        raise
    except BaseException:
        if helpers is not None:
            report.add(helpers.finish())
        _log_anyway(app, RunLog("scraper", started, app.clock.now(), report.as_dict()), log)
        raise
    if helpers is not None:
        report.add(helpers.finish())
        if progress:  # the count once theirs are done too (the last one counted ours alone)
            progress("scrape", 0, 0)
    if log:
        app.store.put_run(RunLog("scraper", started, app.clock.now(), report.as_dict()))
    if mark and (scrape_changed(report) or owe.set):  # `watch` drains on its own
        # stored views go stale otherwise; the helpers' debts are paid too (they finished)
        mark_owed(app.store, app.clock.now(), "drain")
    return report


class Owe(Debt):
    """This run's entry in UNMARKED, called before each message that changed the store is
    deleted: killed after that delete (kill -9), the run leaves nothing to redeliver, and the
    next run writes the data version it owes from the entry. An entry of its own, not a flag
    shared with other runs: one that wrote its version and cleared a shared flag while this
    one went on storing would leave this one's later changes owed by no one. A ``--workers``
    helper process keeps its own too."""

    def __init__(self, app: StageContext, already: bool) -> None:
        super().__init__(app.store, UNMARKED, already)


def _overall(app: StageContext, progress: Progress) -> Progress:
    """Progress of everyone working the queue: messages gone from it since the start."""
    depth = app.queue.depth()
    total = depth.visible + depth.in_flight

    def report(phase: str, _done: int, _total: int) -> None:
        now = app.queue.depth()
        progress(phase, max(total - now.visible - now.in_flight, 0), total)

    return report


RECHECK_WAIT_S = 1
"""How long :func:`work_queue` waits for a message after an empty receive while the queue
still reports visible ones: its receives answer at once, and an SQS one that does (a short
poll) asks only some of its servers, so with few messages queued it often returns nothing;
a receive that waits (a long poll) asks every server and returns as soon as one has any, so
when it too comes back empty the count was stale. The embedded queue never waits."""


def work_queue(
    app: StageContext,
    *,
    progress: Progress | None = None,
    batch_size: int = 10,
    wait_in_flight: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    max_idle_polls: int = 10_000,
    owe: Callable[[], None] | None = None,
    handle: Handler = handle_message,
    report: ScrapeReport | None = None,
) -> ScrapeReport:
    """Take, handle (``handle``) and delete messages until the queue is empty (and, with
    ``wait_in_flight``, until no message is in flight either); what they did. ``owe`` is
    called before a message that changed the store is deleted (see :class:`Owe`). A batch is
    up to ``batch_size`` messages received one at a time, each once the one before it is done
    (a message received and never started would count a delivery: one that kills the process
    every time, a poison message, would take the others to the dead letters with it). A
    message whose handling raises an error is given back alone once the rest of its batch is
    worked, and the error raised then (on its last delivery it is dead-lettered with the
    error instead: :func:`_fail_one`); an interruption gives back the message it stopped at
    and those that failed at once.

    An empty receive is not an empty queue while the queue reports visible messages: the
    next receive waits up to :data:`RECHECK_WAIT_S` for one (an SQS long poll), and only when
    that one is empty too is the queue taken as empty. No receive waits otherwise, so an
    empty queue ends the run at once."""
    report = report if report is not None else ScrapeReport()  # filled as it goes
    done = 0
    idle = 0
    wait_s = 0.0  # RECHECK_WAIT_S after an empty receive while messages were reported visible
    while True:
        messages = app.queue.receive(1, wait_s=wait_s)  # a batch's first (see _work_batch)
        if not messages:
            depth = app.queue.depth()
            if depth.visible > 0 and not wait_s:
                wait_s = RECHECK_WAIT_S
                continue
            wait_s = 0.0
            if not wait_in_flight or depth.in_flight == 0 or idle >= max_idle_polls:
                break
            idle += 1
            sleep(0.2)
            continue
        idle, wait_s = 0, 0.0
        done = _work_batch(app, messages, batch_size, (handle, owe, progress), report, done)
    return report


def _work_batch(
    app: StageContext,
    messages: list[Message],
    batch_size: int,
    how: tuple[Handler, Callable[[], None] | None, Progress | None],
    report: ScrapeReport,
    done: int,
) -> int:
    """One batch of :func:`work_queue` from its first message (``messages``): each handled,
    then the next received, up to ``batch_size``; the messages done so far in the drain
    (``done``: the progress counts them). One at a time: a message received counts a
    delivery toward the queue's max_receives, so one taken with a message that then kills
    the process every time (a poison message) would go to the dead letters with it, never
    handled. Those that failed are given back once it is worked
    and the first error raised; an interruption gives them back at once, with the message it
    stopped at."""
    handle, owe, progress = how
    finished = 0  # of this batch: the rest go back to the queue on an interruption
    failed: Exception | None = None  # the batch's first error, raised once it is worked
    failures: list[Message] = []  # those that failed: given back once the batch is worked
    try:
        while finished < len(messages):
            message = messages[finished]
            try:
                done_here = handle(app, message)
            except Exception as exc:  # this message only: the rest of the batch goes on
                if _fail_one(app, message, exc, report, owe):
                    failed = failed or exc
                    if not is_last_delivery(app.queue, message):
                        failures.append(message)
                finished += 1
            else:
                done_here.redelivered = int(message.receive_count > 1)
                report.add(done_here)
                if owe is not None and scrape_changed(done_here):
                    owe()
                app.failpoints.hit("drain.before_delete")
                app.queue.delete([message.receipt])
                finished += 1
                app.failpoints.hit("drain.after_delete")
                done += 1
                if progress:
                    depth = app.queue.depth()
                    progress("scrape", done, done + depth.visible + depth.in_flight)
            if finished == len(messages) < batch_size:
                messages += app.queue.receive(1)  # the batch's next; none: it ends here
    except BaseException:
        _give_back(app, [*failures, *messages[finished:]])
        raise
    if failures:
        _give_back(app, failures)  # visible now: delivered again at once
    if failed is not None:
        raise failed
    return done


def _fail_one(
    app: StageContext,
    message: Message,
    exc: Exception,
    report: ScrapeReport,
    owe: Callable[[], None] | None,
) -> bool:
    """An error in one message of a batch (a parser bug, a store locked past its timeout): that
    message alone is given back (by the caller, once the rest of its batch is worked: given
    back now, the batch would take it again), so it is delivered again and counts its
    receives, as the scraper Lambda's partial batch response does; True, and the caller
    raises the error once the batch is worked. On its last delivery
    (``max_receives``) it goes to the dead letters now instead, with the error as its reason
    (:func:`~fuelpipe.stages.last_delivery.dead_letter_last_delivery`, as the scraper Lambda
    does): the next receive would move it there naming none; counted in ``dead_lettered``
    and logged, not raised (False), as a malformed message is. What it stored before the
    error stays stored (writes are idempotent), so the data version is owed. Should the queue
    refuse either, the message comes back after its visibility timeout."""
    error = failure_words(exc)
    last = is_last_delivery(app.queue, message)
    logger.warning(
        "message %s (%s) failed on delivery %d of %d, %s: %s",
        message.message_id,
        asked_for(message),
        message.receive_count,
        app.queue.max_receives,
        "dead-lettered" if last else "given back; the rest of its batch goes on",
        error,
    )
    if owe is not None:
        with contextlib.suppress(Exception):  # the message's own error is what matters
            owe()
    if dead_letter_last_delivery(app.queue, message, exc):
        report.dead_lettered += 1
        return False
    return True


def _give_back(app: StageContext, messages: Sequence[Message]) -> None:
    """A run stopped mid-batch, by Ctrl+C (or SIGTERM, which the CLI turns into the same) or by
    an error outside a message's own handling (the queue refusing a delete): the messages this
    worker took and did not finish go back to the queue now, so the next run takes them at
    once instead of waiting out their visibility timeout (an error handling one message gives
    back that one alone, once the rest of its batch is worked: :func:`_fail_one`). What was
    stored of the interrupted one is kept (writes are idempotent); one that fails every time
    still counts its receives and goes to the dead letters after the queue's maximum. Should
    this fail too, they come back after the timeout."""
    with contextlib.suppress(Exception):  # the error being raised is what matters
        app.queue.release([m.receipt for m in messages])


def _log_anyway(app: StageContext, run: RunLog, log: bool = True) -> None:
    """The run log of a drain an error or an interruption ends (``log``: it is this one's to
    write): what it did before; a store failing too does not hide that error."""
    if not log:
        return
    try:
        app.store.put_run(run)
    except Exception:
        logger.exception("could not write the run log of a drain that stopped on an error")


def _mark_interrupted(app: StageContext) -> None:
    """Ctrl+C or SIGTERM mid-run: what was stored before it (the interrupted message's records
    too, counted in no report) is in the store, and the rerun finds it there and writes
    nothing, so the data version is moved now or the dashboard's stored views (and their
    ETags) keep the store as it was. A needless move only makes a view recompute once."""
    with contextlib.suppress(Exception):  # the interrupt being raised is what matters
        mark_owed(app.store, app.clock.now(), "interrupted")


def _left_queued(app: StageContext) -> bool:
    """Messages wait in the queue, or are held, before this cycle sends any: an earlier run
    stopped (Ctrl+C, SIGTERM: given back) or killed (held until its visibility timeout) before
    it drained them, or another process working the queue."""
    depth = app.queue.depth()
    return depth.visible + depth.in_flight > 0


def _relabelled(progress: Progress | None, phase: str) -> Progress | None:
    """``progress`` with every phase reported as ``phase``."""
    if progress is None:
        return None
    return lambda _phase, done, total: progress(phase, done, total)


def run_cycle(
    app: StageContext,
    *,
    series: Sequence[Series] | None = None,
    since: date | None = None,
    progress: Progress | None = None,
    on_change: Callable[[str], None] | None = None,
    outlook: bool = True,
    helpers: Helpers | None = None,
) -> CycleReport:
    """orchestrate → scrape until drained → recheck → scrape until drained → the outlook.

    Messages already in the queue (left by a run stopped or killed before it drained them)
    are worked first, those held waited for as a drain does (progress phase ``resume``), so
    the gap scan finds their dates stored and sends only what is still missing: it would
    otherwise send the same streams again, and each source would be asked twice for them.
    The outlook is refreshed once, after the queue is drained (never per message or stream),
    so a 20-year backfill trains each fuel's model once; ``outlook=False`` leaves it to the
    caller (bench/bench_load.py times it apart from the backfill); ``helpers`` scrape beside
    this process (the embedded home's ``--workers``). A cycle that changed stored
    series calls ``on_change(version)`` (the CLI passes the dashboard's precompute) and then
    writes that new data version; an unchanged one neither; an interrupted one (Ctrl+C,
    SIGTERM) writes one before the interruption goes on (no precompute: it is stopping), and
    one that failed after it changed the store (stored values, then the recheck's send refused
    or the outlook refresh raising; quarantines, then an error) calls ``on_change`` and writes
    one before the error goes on, so the stored views never show the store as it was.
    """
    report = CycleReport()
    targets = list(series) if series is not None else list(app.catalog)
    scanned = 0

    def on_key(_key: str) -> None:
        nonlocal scanned
        scanned += 1
        if progress:
            progress("orchestrate", scanned, len(targets))

    owed = unmarked(app.store)  # a cycle killed after storing, before its version
    forecasts: OutlookReport | None = None  # what the outlook refresh changed
    scraping: datetime | None = None  # when the cycle's first drain started
    entry = new_run_id()  # the cycle's one scraper entry, rewritten after each drain

    def drained(shown: Progress | None = progress) -> None:
        nonlocal owed, scraping
        started = scraping = scraping or app.clock.now()

        def scraped() -> RunLog:
            return RunLog("scraper", started, app.clock.now(), report.scrape.as_dict(), entry)

        part = ScrapeReport()  # filled as the drain goes: read when it raises too
        # One run log entry for the cycle's drains (its id ``entry``), written again with the
        # counts so far after each.
        try:
            drain(app, progress=shown, mark=False, helpers=helpers, log=False, report=part)
        except BaseException:
            report.scrape.add(part)
            _log_anyway(app, scraped())
            raise
        report.scrape.add(part)
        app.store.put_run(scraped())
        # its entries in UNMARKED (and its helpers', an interrupted one's uncounted changes
        # too) stay until the version below is written
        owed = owed or scrape_changed(report.scrape) or unmarked(app.store)

    try:
        if _left_queued(app):  # by a run interrupted or killed before it drained them
            drained(_relabelled(progress, "resume"))
        report.orchestrate = orchestrate(app, series=targets, since=since, on_key=on_key)
        drained()
        # filled as it goes: read below when the recheck (or what follows it) raises
        recheck(app, None if series is None else {s.key for s in targets}, report=report.recheck)
        if report.recheck.messages_sent:
            drained()
        if outlook:  # the outlook follows values
            forecasts = after_cycle(app.store, app.catalog, app.clock.now())
    except KeyboardInterrupt:
        _mark_interrupted(app)
        raise
    except BaseException:
        # what the drain stored and the recheck quarantined before the error stays stored:
        # its version is written, with the views computed for it as after a cycle that ended
        mark_after_error(
            app.store, app.clock.now(), "cycle failed", report.recheck, before=on_change
        )
        raise
    if owed or recheck_changed(report.recheck) or (forecasts is not None and forecasts.changed):
        mark_owed(app.store, app.clock.now(), "cycle", before=on_change)
    if forecasts is not None:
        version_written(app.store, forecasts)
    return report
