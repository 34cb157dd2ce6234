"""retry_recheck: re-enqueue due PENDING records with backoff; quarantine when retries are spent.
OK dates stored without some figures (``lacking#`` notes) are re-downloaded the same way, and
given up (listed for a person, the value staying OK) when theirs are spent."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.models import Record
from fuelpipe.domain.planning import plan_requests, unservable
from fuelpipe.domain.retry import Decision, gave_up_reason
from fuelpipe.ports.store import RunLog
from fuelpipe.stages._report import Counters
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.lacking import recheck_lacking

logger = logging.getLogger(__name__)

# Left for what follows the last claim: sending up to SEND_EVERY claims, the run log and the
# Lambda handler's own writes, well inside the function's 120 s timeout. (The handler keeps its
# alert evaluation's time apart: it passes remaining_s less its ALERT_RESERVE_S.)
TIME_MARGIN_S = 20.0
# Claims sent at once within a fetch unit: all a hard kill (not a timeout: see remaining_s)
# can cost. Each send is one more message, and for a whole-history unit (ANP's workbooks) one
# more download of the whole workbook: a failed backfill's ~136,000 weekly state dates go out
# in ~27 messages, not the ~270 of a batch of 500.
SEND_EVERY = 5_000
# Due records read from the store at once: the read itself is bounded, each page read only
# when the one before is worked through and time is left, so a failed backfill's ~136,000
# PENDING dates (~16 s of decoding in one read) are worked through a page at a time and
# across runs, not read whole every run, oldest next attempt first (a backlog retried does
# not starve the units after it). As large as a send: a page of one fetch unit still goes
# out in one message a stream.
READ_PAGE = 5_000


@dataclass
class RecheckReport(Counters):
    """What one recheck run did."""

    due: int = 0
    retried: int = 0
    quarantined: int = 0
    messages_sent: int = 0
    lost_race: int = 0
    deferred: int = 0  # due, read, but left untouched for the next run: the time budget ran out
    left_unread: int = 0
    """1 when the time budget ran out before the run read to the end of the due records:
    more may be due than ``due`` counts (they wait for the next run, untouched)."""
    given_back: int = 0
    """Claims whose message the queue refused, given back: due again with no re-download
    spent (not counted in ``retried``)."""
    not_given_back: int = 0
    """Claims whose message the queue refused that could not be given back (the store failed
    too, or the record changed meanwhile): each waits out its backoff, one re-download spent."""
    lacking_retried: int = 0
    """OK dates lacking figures (``lacking#`` notes) re-downloaded: their attempt counted in
    the note before the message was sent (:func:`~fuelpipe.stages.lacking.recheck_lacking`)."""
    lacking_given_up: int = 0
    """Such dates whose re-downloads are spent: given up, listed for a person (``fuelpipe
    quarantine list``), the record staying OK with its value."""
    lacking_lost_race: int = 0
    """Keys whose ``lacking#`` note another run kept changing: left to the next run."""


@dataclass(frozen=True, slots=True)
class _Claim:
    """One claimed re-download: the record as it was before, and what the claim wrote."""

    record: Record
    count: int
    next_at: datetime


def _askable(
    app: StageContext, keys: Collection[str] | None, now: datetime
) -> Collection[str] | None:
    """``keys`` (None: all) but the series of the sources resting at ``now`` (``app.rests``):
    a retry claimed for one would not be fetched before its rest ends."""
    resting = app.rests.resting(now) if app.rests is not None else {}
    if not resting:
        return keys
    return {
        s.key for s in app.catalog if s.source not in resting and (keys is None or s.key in keys)
    }


def recheck(
    app: StageContext,
    keys: Collection[str] | None = None,
    remaining_s: Callable[[], float] | None = None,
    send_every: int = SEND_EVERY,
    report: RecheckReport | None = None,
    page_size: int = READ_PAGE,
) -> RecheckReport:
    """Claim each due retry (conditionally, so none is counted twice), then enqueue them, one
    fetch unit at a time and at most ``send_every`` claims a send.

    A claim spends one of a record's five re-downloads, so claims are sent as soon as a batch
    of them is made, and the ones made before an exception (an error, Ctrl+C or a SIGTERM the
    CLI turns into one) are sent before it propagates. A Lambda timeout sends no signal: it
    stops the process. So the Lambda passes ``remaining_s`` (seconds before its timeout) and
    claiming stops ``TIME_MARGIN_S`` before it; the due records not reached are counted as
    ``deferred``, untouched, for the next run. A hard kill all the same costs at most one
    unsent batch (``send_every`` claims). Grouping by fetch unit keeps one message per stream
    (one workbook download for all its keys). ``keys`` limits the run to some series
    (``fuelpipe run --series``); None means all. A source resting after a Retry-After
    (``app.rests``: `watch`'s, or the one the AWS home's Lambdas share through the store)
    has none of its retries claimed: they stay due, and are claimed by a run after it ends.

    A send the queue refuses (down, throttled past its retries) gives its claims back
    (``given_back``): those records are due again, no re-download spent, so a queue outage
    never brings a record nearer to quarantine without a download. The queue's error still
    ends the run, after its run log is written with what it did.

    A due record dated where no message may ask for it (before its series starts, say: a
    catalog that started earlier left it) is quarantined at once with the reason, never sent:
    the scraper would not fetch it (it quarantines it too, with the message's other dates
    fetched), so sending it would only spend a claim.

    A next attempt later than the policy sets at ``now`` was set by a clock ahead of this
    one (a run with ``--now`` or ``--simulate-future``): the record is due now, not when real
    time catches up (``RetryPolicy.set_ahead``; a date ahead waits for its own window still).

    ``report``, when given, is the one filled as the run goes (and returned): a caller whose
    recheck raised reads there what it did before the error, its quarantines above all, which
    change what the health view shows (``data_version.mark_after_error``).

    The due records are read ``page_size`` at a time (``Store.due_pending_pages``), the next
    page only once the one before is worked through and the time budget allows: a backlog
    larger than a run's time is read no further than it is worked, and the next run reads on
    from what is still due (claimed records left the due range; quarantined ones the index).
    The pages come oldest next attempt first over all keys, so a backlog whose claims fall
    due again before the next run (a failed backfill, retried) goes behind every record due
    before it was claimed, and does not starve the units after it run after run: with a page
    worked a run, every due record is claimed within ceil(due / page_size) runs. No position
    is kept between runs (two runs at once still race only on the conditional claims). The
    fetch units go smallest first within each page.

    Then, with time left, the OK dates stored without some figures (``lacking#`` notes, one
    read a run): due ones re-downloaded the same way (the same policy and message path, each
    attempt counted conditionally before its message is sent), spent ones given up for a
    person, resting sources' left due (:func:`~fuelpipe.stages.lacking.recheck_lacking`).
    """
    now = app.clock.now()
    today = now.astimezone(SAO_PAULO).date()
    report = report if report is not None else RecheckReport()
    keys = _askable(app, keys, now)
    late = False  # under TIME_MARGIN_S left: claim nothing more
    decided = 0
    pages = app.store.due_pending_pages(
        now, set_after=now + app.policy.longest_delay, page_size=page_size
    )
    # Between pages the store holds nothing (no lock, no open read): a run that stops early
    # just asks for no more.
    for page in _while_time_left(pages, remaining_s, report):
        by_unit = _due_by_unit(app, page, now, keys, report)
        decided, late = _work_page(
            app, by_unit, (now, today), report, (remaining_s, send_every), decided
        )
        if late:
            report.left_unread = 1  # the pages after this one were not read
            break
    if not late:  # then the dates stored OK without some figures, within the same budget
        _recheck_lacking(app, keys, remaining_s, report)
    if not report.due:
        app.failpoints.hit("recheck.after_claim")  # nothing claimed, nothing sent: still a point
    report.deferred = report.due - decided
    if report.left_unread:
        logger.warning(
            "recheck: under %.0f s left; %d due records deferred to the next run, any more "
            "left unread",
            TIME_MARGIN_S,
            report.deferred,
        )
    app.failpoints.hit("recheck.after_send")
    app.store.put_run(RunLog("retry_recheck", now, app.clock.now(), report.as_dict()))
    return report


def _recheck_lacking(
    app: StageContext,
    keys: Collection[str] | None,
    remaining_s: Callable[[], float] | None,
    report: RecheckReport,
) -> None:
    """The ``lacking#`` notes' due dates re-downloaded and spent ones given up (one read of
    the notes a run), the run's time budget and resting sources (``keys``) respected."""
    done = recheck_lacking(app, keys, lambda: remaining_s is None or remaining_s() >= TIME_MARGIN_S)
    report.lacking_retried += done.retried
    report.lacking_given_up += done.given_up
    report.lacking_lost_race += done.lost_race
    report.messages_sent += done.messages


def _while_time_left(
    pages: Iterator[list[Record]],
    remaining_s: Callable[[], float] | None,
    report: RecheckReport,
) -> Iterator[list[Record]]:
    """The pages of due records, each after the first read only with time left for it."""
    for page in pages:
        yield page
        if remaining_s is not None and remaining_s() < TIME_MARGIN_S:
            report.left_unread = 1
            return


def _due_by_unit(
    app: StageContext,
    page: list[Record],
    now: datetime,
    keys: Collection[str] | None,
    report: RecheckReport,
) -> dict[str, list[Record]]:
    """One page's due records to retry, by fetch unit (counted in ``due``)."""
    by_unit: dict[str, list[Record]] = defaultdict(list)
    for rec in page:
        if rec.key not in app.catalog or (keys is not None and rec.key not in keys):
            continue  # a series dropped from the catalog is nobody's to retry
        if _decision(app, rec, now) is Decision.WAIT:
            continue  # a date ahead, waiting for its publication window: not set by a clock ahead
        report.due += 1
        by_unit[app.catalog[rec.key].fetch_unit].append(rec)
    return by_unit


def _work_page(
    app: StageContext,
    by_unit: dict[str, list[Record]],
    when: tuple[datetime, date],
    report: RecheckReport,
    limits: tuple[Callable[[], float] | None, int],
    decided: int,
) -> tuple[int, bool]:
    """Claim and send one page's due records, unit by unit, within ``limits`` (the time
    budget, claims a send); returns how many due records the run decided so far (``decided``
    before this page) and whether time ran out."""
    remaining_s, send_every = limits
    now = when[0]
    late = False
    # Smallest units first: a big backlog in one unit (a failed workbook backfill) may use up
    # the time budget, and then only its own dates wait for the next run, not every other unit.
    for records in sorted(by_unit.values(), key=len):
        start = 0
        while start < len(records) and not late:
            claimed: dict[str, list[_Claim]] = defaultdict(list)
            try:
                end, late = _claim_batch(
                    app, records, start, when, report, claimed, remaining_s, send_every
                )
                app.failpoints.hit("recheck.after_claim")
            except BaseException:
                # Send the claims made so far (a throttled store, Ctrl+C), or they would count
                # as tried without ever being fetched; the interruption itself still propagates.
                try:
                    report.messages_sent += _send(app, claimed, report)
                except Exception:  # the queue failing too: _send gave the claims back
                    logger.exception("recheck: could not send the claimed re-downloads")
                raise
            decided += end - start
            try:
                report.messages_sent += _send(app, claimed, report)
            except BaseException:
                # The queue's error ends the run; the run log says what was given back.
                report.deferred = report.due - decided
                _put_run(app, now, report)
                raise
            start = end
    return decided, late


def _put_run(app: StageContext, now: datetime, report: RecheckReport) -> None:
    """The run log of a run the queue stopped; a store failing too does not hide that error."""
    try:
        app.store.put_run(RunLog("retry_recheck", now, app.clock.now(), report.as_dict()))
    except Exception:
        logger.exception("recheck: could not write the run log of a run the queue stopped")


def _claim_batch(
    app: StageContext,
    records: list[Record],
    start: int,
    when: tuple[datetime, date],
    report: RecheckReport,
    claimed: dict[str, list[_Claim]],
    remaining_s: Callable[[], float] | None,
    send_every: int,
) -> tuple[int, bool]:
    """Decide records from ``start`` until ``send_every`` claims, the unit's end, or the time
    budget's margin; returns where it stopped and whether time ran out there."""
    end, retried_before = start, report.retried
    while end < len(records) and report.retried - retried_before < send_every:
        if remaining_s is not None and remaining_s() < TIME_MARGIN_S:
            return end, True
        _decide(app, records[end], when, report, claimed)
        end += 1
    return end, False


def _decide(
    app: StageContext,
    rec: Record,
    when: tuple[datetime, date],
    report: RecheckReport,
    claimed: dict[str, list[_Claim]],
) -> None:
    """Quarantine one due record or claim its next re-download (both conditionally)."""
    now, today = when
    decision = _decision(app, rec, now)
    why = unservable(app.catalog[rec.key], rec.date, today)
    if why is not None and decision is not Decision.WAIT:
        was = f" (was: {rec.reason})" if rec.reason else ""
        _quarantine(app, rec, f"not retried: no message may ask for it, {why}{was}", report)
    elif decision is Decision.QUARANTINE:
        _quarantine(app, rec, gave_up_reason(rec.reason, rec.retry_count), report)
    elif decision is Decision.RETRY:
        new_count, next_at = app.policy.after_retry(rec.retry_count, now)
        if app.store.claim_retry(rec.key, rec.date, rec.retry_count, new_count, next_at):
            claimed[rec.key].append(_Claim(rec, new_count, next_at))
            report.retried += 1
        else:
            report.lost_race += 1


def _decision(app: StageContext, rec: Record, now: datetime) -> Decision:
    """What the retry policy does with ``rec`` at ``now`` (its series in the catalog)."""
    stale_at = app.catalog[rec.key].schedule.stale_at(rec.date)
    return app.policy.decide(rec.retry_count, rec.next_attempt_at, now, stale_at)


def _quarantine(app: StageContext, rec: Record, reason: str, report: RecheckReport) -> None:
    """Quarantine ``rec`` unless it changed since it was read (a race lost)."""
    if app.store.quarantine(rec.key, rec.date, rec.retry_count, reason):
        report.quarantined += 1
    else:
        report.lost_race += 1


def _send(app: StageContext, claimed: dict[str, list[_Claim]], report: RecheckReport) -> int:
    """Enqueue one message per stream of claimed dates; returns how many were sent.

    When the send fails (the queue down or throttled past its retries, Ctrl+C), the claims
    are given back before its error propagates (:func:`_give_back`).
    """
    if not claimed:
        return 0
    try:
        requests = plan_requests(
            (
                (app.catalog[key], [c.record.date for c in claims])
                for key, claims in claimed.items()
            ),
            origin="retry",
        )
        return app.queue.send([r.to_body() for r in requests])
    except BaseException:
        _give_back(app, claimed, report)
        raise


def _give_back(app: StageContext, claimed: dict[str, list[_Claim]], report: RecheckReport) -> None:
    """Give back the claims of a failed send: each record's retry count and next attempt go
    back to what they were (due), so no re-download is spent on a message never sent.

    Each is conditional on what its claim wrote: a record changed since (stored by a message
    of a partly sent batch: SQS takes 10 a call) keeps its state. A message of such a batch
    that did go out is then a re-download not counted, and the date due again is asked for
    once more: a download too many, never one too few. A store failing too leaves the rest
    claimed (``not_given_back``): they wait out their backoff, as before a give-back existed.
    """
    claims = [c for batch in claimed.values() for c in batch]
    given = 0
    try:
        for c in claims:
            r = c.record
            given += app.store.give_back_retry(
                r.key, r.date, c.count, c.next_at, r.retry_count, r.next_attempt_at
            )
    except Exception:
        logger.exception("recheck: could not give back the claims of a failed send")
    report.given_back += given
    report.retried -= given
    report.not_given_back += len(claims) - given
    logger.warning(
        "recheck: sending %d claimed re-downloads failed; %d given back (due again, none "
        "spent), %d not",
        len(claims),
        given,
        len(claims) - given,
    )
