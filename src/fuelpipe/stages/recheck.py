"""retry_recheck: re-enqueue due PENDING records with backoff; quarantine when retries are spent."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime

from fuelpipe.domain.models import Record
from fuelpipe.domain.planning import plan_requests
from fuelpipe.domain.retry import Decision
from fuelpipe.ports.store import RunLog
from fuelpipe.stages._report import Counters
from fuelpipe.stages.context import StageContext

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


@dataclass
class RecheckReport(Counters):
    """What one recheck run did."""

    due: int = 0
    retried: int = 0
    quarantined: int = 0
    messages_sent: int = 0
    lost_race: int = 0
    deferred: int = 0  # due, but left untouched for the next run: the time budget ran out


def recheck(
    app: StageContext,
    keys: Collection[str] | None = None,
    remaining_s: Callable[[], float] | None = None,
    send_every: int = SEND_EVERY,
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
    (``fuelpipe run --series``); None means all.
    """
    now = app.clock.now()
    report = RecheckReport()
    by_unit: dict[str, list[Record]] = defaultdict(list)
    for rec in app.store.due_pending(now):
        if rec.key not in app.catalog or (keys is not None and rec.key not in keys):
            continue  # a series dropped from the catalog is nobody's to retry
        report.due += 1
        by_unit[app.catalog[rec.key].fetch_unit].append(rec)
    if not by_unit:
        app.failpoints.hit("recheck.after_claim")  # nothing claimed, nothing sent: still a point
    late = False  # under TIME_MARGIN_S left: claim nothing more
    decided = 0
    # Smallest units first: a big backlog in one unit (a failed workbook backfill) may use up
    # the time budget, and then only its own dates wait for the next run, not every other unit.
    for records in sorted(by_unit.values(), key=len):
        start = 0
        while start < len(records) and not late:
            claimed: dict[str, list[date]] = defaultdict(list)
            try:
                end, late = _claim_batch(
                    app, records, start, now, report, claimed, remaining_s, send_every
                )
                app.failpoints.hit("recheck.after_claim")
            except BaseException:
                # Send the claims made so far (a throttled store, Ctrl+C), or they would count
                # as tried without ever being fetched; the interruption itself still propagates.
                try:
                    _send(app, claimed)
                except Exception:  # the queue failing too: the claims wait for their next turn
                    logger.exception(
                        "recheck: could not send %d claimed re-downloads", len(claimed)
                    )
                raise
            report.messages_sent += _send(app, claimed)
            decided += end - start
            start = end
    report.deferred = report.due - decided
    if late:
        logger.warning(
            "recheck: under %.0f s left; %d due records deferred to the next run",
            TIME_MARGIN_S,
            report.deferred,
        )
    app.failpoints.hit("recheck.after_send")
    app.store.put_run(RunLog("retry_recheck", now, app.clock.now(), report.as_dict()))
    return report


def _claim_batch(
    app: StageContext,
    records: list[Record],
    start: int,
    now: datetime,
    report: RecheckReport,
    claimed: dict[str, list[date]],
    remaining_s: Callable[[], float] | None,
    send_every: int,
) -> tuple[int, bool]:
    """Decide records from ``start`` until ``send_every`` claims, the unit's end, or the time
    budget's margin; returns where it stopped and whether time ran out there."""
    end, retried_before = start, report.retried
    while end < len(records) and report.retried - retried_before < send_every:
        if remaining_s is not None and remaining_s() < TIME_MARGIN_S:
            return end, True
        _decide(app, records[end], now, report, claimed)
        end += 1
    return end, False


def _decide(
    app: StageContext,
    rec: Record,
    now: datetime,
    report: RecheckReport,
    claimed: dict[str, list[date]],
) -> None:
    """Quarantine one due record or claim its next re-download (both conditionally)."""
    decision = app.policy.decide(rec.retry_count, rec.next_attempt_at, now)
    if decision is Decision.QUARANTINE:
        reason = f"{rec.reason or 'no value'} (gave up after {rec.retry_count} re-downloads)"
        if app.store.quarantine(rec.key, rec.date, rec.retry_count, reason):
            report.quarantined += 1
        else:
            report.lost_race += 1
    elif decision is Decision.RETRY:
        new_count, next_at = app.policy.after_retry(rec.retry_count, now)
        if app.store.claim_retry(rec.key, rec.date, rec.retry_count, new_count, next_at):
            claimed[rec.key].append(rec.date)
            report.retried += 1
        else:
            report.lost_race += 1


def _send(app: StageContext, claimed: dict[str, list[date]]) -> int:
    """Enqueue one message per stream of claimed dates; returns how many were sent."""
    if not claimed:
        return 0
    requests = plan_requests(
        ((app.catalog[key], dates) for key, dates in claimed.items()), origin="retry"
    )
    return app.queue.send([r.to_body() for r in requests])
