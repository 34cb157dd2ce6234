"""retry_recheck: re-enqueue due PENDING records with backoff; quarantine when retries are spent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from fuelpipe.domain.models import Record
from fuelpipe.domain.planning import plan_requests
from fuelpipe.domain.retry import Decision
from fuelpipe.ports.store import RunLog
from fuelpipe.stages._report import Counters
from fuelpipe.stages.context import StageContext


@dataclass
class RecheckReport(Counters):
    """What one recheck run did."""

    due: int = 0
    retried: int = 0
    quarantined: int = 0
    messages_sent: int = 0
    lost_race: int = 0


def recheck(app: StageContext, keys: Collection[str] | None = None) -> RecheckReport:
    """Claim each due retry (conditionally, so none is counted twice), then enqueue them.

    ``keys`` limits the run to some series (``fuelpipe run --series``); None means all.
    """
    now = app.clock.now()
    report = RecheckReport()
    claimed: dict[str, list[date]] = defaultdict(list)
    try:
        for rec in app.store.due_pending(now):
            if rec.key not in app.catalog or (keys is not None and rec.key not in keys):
                continue  # a series dropped from the catalog is nobody's to retry
            report.due += 1
            _decide(app, rec, now, report, claimed)
    except Exception:
        # A claim spends a re-download: send the ones made before the failure (a throttled
        # store, say), or they would count as tried without ever being fetched.
        _send(app, claimed)
        raise
    app.failpoints.hit("recheck.after_claim")
    report.messages_sent = _send(app, claimed)
    app.failpoints.hit("recheck.after_send")
    app.store.put_run(RunLog("retry_recheck", now, app.clock.now(), report.as_dict()))
    return report


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
    requests = plan_requests(
        ((app.catalog[key], dates) for key, dates in claimed.items()), origin="retry"
    )
    return app.queue.send([r.to_body() for r in requests])
