"""The store's data version: a token that changes whenever a run changed stored series.

Derived views (the dashboard's precomputed analysis) are stored under the version they were
computed from, and the API answers with it as the ETag. The token is a fresh hash written after
the run's records are stored, never a read-modify-write counter: two writers that race both
write a new token, so the last token written is always newer than every record stored before it
and no change can hide behind an increment that another writer already made. A token whose views
were computed before it is written is written only over the version those views followed
(:func:`mark_changed`), so it never lands after another writer's change that they missed.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.ports.store import RunLog, Store

if TYPE_CHECKING:  # annotations only: the recheck and orchestrator Lambdas do not load scrape
    from fuelpipe.stages.recheck import RecheckReport
    from fuelpipe.stages.scrape import ScrapeReport

logger = logging.getLogger(__name__)

DATA_VERSION = "data_version"
"""The meta entry holding the token."""
INITIAL = "0"
"""The version of a store that no run has changed yet."""
UNMARKED = "data_unmarked"
"""Meta: runs that stored changes and have not written their data version yet, one entry
each (a :class:`Debt`: set before the drain deletes a message that changed the store, and
cleared once a version written after it is in). A run killed in between (kill -9 after that
delete, in the recheck or the outlook refresh) leaves its entry, and the next cycle or drain
writes the version even if it stores nothing new: the changes were made, only their version
was lost. A run that fails with an error there writes it on its way out instead
(:func:`mark_after_error`). On AWS, a scraper batch holding a message on its last delivery
enters its entry before handling any message (no redelivery follows a failure there), and the
outlook function's next run pays what such a batch left (lambdas/scraper/handler.py's
``write_version``)."""


def unmarked(store: Store) -> bool:
    """Some run stored changes whose data version was never written (see UNMARKED)."""
    return bool(store.get_meta(UNMARKED))


class Debt:
    """This process's entry in a debt list (UNMARKED, ``outlook_unmarked``): ``owner@stamp``,
    the stamp a digest of the data version read when it was written. Calling it (where a kill
    would leave changes in no version: a drain's delete of a message it stored, a refresh's
    write) records the debt; each later call reads the data version again (one small read)
    and, only when it moved, writes the entry anew with the new stamp, conditionally, so
    concurrent writers lose nothing. :func:`settle` removes only entries still as they were
    read before a version was written: an entry stamped again since (its owner stored after
    that version began to show) stays for its owner, or for the next run should that owner
    be killed.
    ``set``: this process owes a version (``already``: it found one owed when it began)."""

    def __init__(self, store: Store, name: str, already: bool = False) -> None:
        self.store, self.name, self.set = store, name, already
        self.owner = secrets.token_hex(4)
        self._stamp: str | None = None

    def __call__(self) -> None:
        self.set = True
        stamp = hashlib.sha256(data_version(self.store).encode()).hexdigest()[:10]
        if stamp != self._stamp:
            mine = f"{self.owner}@"
            _rewrite(
                self.store,
                self.name,
                lambda debts: [d for d in debts if not d.startswith(mine)] + [mine + stamp],
                self.store.get_meta(self.name),
            )
            self._stamp = stamp


def settle(store: Store, name: str, seen: str | None) -> None:
    """A data version was written after the debt list ``name`` was read as ``seen``: the
    entries still as they were then are paid and removed (one conditional write, retried
    while others change the list); entries written since are kept."""
    paid = set((seen or "").split())
    if paid:
        _rewrite(store, name, lambda debts: [d for d in debts if d not in paid], seen)


def _rewrite(
    store: Store, name: str, change: Callable[[list[str]], list[str]], value: str | None
) -> None:
    """Apply ``change`` to the debt list ``name``, first over ``value`` (what it is believed
    to hold), then over each value a refused conditional write finds instead."""
    # A compare-and-set loop, not stamina: a refused write is redone at once over the value
    # read back, with nothing to wait out.
    while True:
        debts = (value or "").split()
        changed = change(debts)
        if changed == debts or store.replace_meta(name, value, " ".join(changed)):
            return
        value = store.get_meta(name)


RUN_VERSION_OWED = "version_owed"
"""The count a run log carries (1) when its run stored changes and their data version write
failed (the AWS scraper's ``VersionOwed``): the debt is then recorded outside the ``META``
partition, which may have refused its UNMARKED entry too (:func:`pay_runs_owed`)."""
RUNS_CHECKED = "runs_owed_checked"
"""Meta: when :func:`pay_runs_owed` last read the run logs through (an ISO instant), then
the starts (ISO instants, space-separated) of the owed runs it has paid that a next check
reads again (those that finished within LOG_LAG before it), so it pays none of them twice."""
LONGEST_RUN = timedelta(minutes=15)
"""No run lasts longer (a Lambda stops at 15 minutes): a run that finished after an instant
started at most this long before it."""
LOG_LAG = LONGEST_RUN
"""How long after a run's finish its log may still be missing from a Query:
:func:`pay_runs_owed` reads again the runs that finished this long before its last check.
The log is written after the finish is stamped, through botocore's retries (6 attempts of up
to 5 s connecting and 20 s reading, with backoff between them: about three minutes at
worst, ``homes/aws.py``'s ``CallBounds``), so no smaller bound of the client's holds for
sure; the run's Lambda stops at most LONGEST_RUN after the run started, and so after its
finish was stamped, and the log is written by then or never."""
FIRST_CHECK = timedelta(days=1)
"""What :func:`pay_runs_owed` reads when it never checked: the runs of the last day."""
RUNS_PAGE = 500
"""How many run logs (each a few hundred bytes) one Query of :func:`owed_runs` reads."""


def owed_runs(
    store: Store, stage: str, since: datetime, through: datetime, page: int = RUNS_PAGE
) -> list[RunLog]:
    """``stage``'s runs started through ``through`` and finished from ``since`` that carry
    RUN_VERSION_OWED: newest first, one Query of ``page`` run logs at a time, back to the
    runs started LONGEST_RUN before ``since``."""
    owed: list[RunLog] = []
    while True:
        runs = store.stage_runs(stage, through, page)
        for run in runs:
            if run.started_at < since - LONGEST_RUN:
                return owed
            if run.finished_at >= since and run.counts.get(RUN_VERSION_OWED, 0) > 0:
                owed.append(run)
        if len(runs) < page:
            return owed
        # A run's start is its log's key: no two logs of a stage share one.
        through = runs[-1].started_at - timedelta(microseconds=1)


def pay_runs_owed(store: Store, stage: str, now: datetime, why: str) -> int:
    """Write a data version when a run of ``stage`` that finished since the last check
    (RUNS_CHECKED, less LOG_LAG; the last FIRST_CHECK the first time) logged a version it
    owes (RUN_VERSION_OWED) and was not paid by an earlier check, and remember ``now`` as
    checked, with the paid runs the next check reads again; the number of runs paid now.

    The backstop for a debt the ``META`` partition refused along with its version: a run
    log is in the run's own partition. One GetItem and one PutItem of RUNS_CHECKED, a Query
    per RUNS_PAGE runs read (those since the last check), and the version write only when
    one is owed. A run whose debt UNMARKED held and the outlook paid is paid again: one
    version more, after a failure."""
    checked = (store.get_meta(RUNS_CHECKED) or "").split()
    since = parse_iso(checked[0]) - LOG_LAG if checked else now - FIRST_CHECK
    runs = owed_runs(store, stage, since, now)
    owed = [r for r in runs if iso_utc(r.started_at) not in checked[1:]]
    if owed:
        mark_changed(store, now, why)
    again = [iso_utc(r.started_at) for r in runs if r.finished_at >= now - LOG_LAG]
    store.put_meta(RUNS_CHECKED, " ".join([iso_utc(now), *again]))
    return len(owed)


def data_version(store: Store) -> str:
    """The current data version (one small read)."""
    return store.get_meta(DATA_VERSION) or INITIAL


VIEWS_VERSION = "views_version"
"""The meta entry holding the data version whose default dashboard views were all stored (the
AWS home's outlook function writes it when a refresh of them finished,
:func:`fuelpipe.dashboard.precomputed.refresh_views_when_changed`)."""


def views_behind(store: Store) -> str | None:
    """The current data version when its views are not all stored yet (VIEWS_VERSION is
    another), else None: two small reads, and no dashboard module imported to know."""
    version = data_version(store)
    return None if store.get_meta(VIEWS_VERSION) == version else version


def scrape_changed(report: ScrapeReport) -> bool:
    """True when a scrape wrote anything a view shows (values, statuses, revisions, a stock
    split's re-read newly owed or done: the health view lists the owed ones; a value set aside
    kept or cleared: it lists those too; a completion, or a date out of its ``lacking#`` note:
    the health view counts the given-up ones); an adjustment
    re-bases attributes no view shows (Yahoo's adj_close), so it is not counted, nor is a
    value set aside seen again (its ``last_seen`` moves: only the health view shows it, and
    it is computed again after every run whatever the data version).
    A redelivered message counts: its first delivery may have stored its records and been
    killed before the data version moved, so this one finds nothing new to write."""
    return (
        report.redelivered
        + report.records_written
        + report.pending_written
        + report.last_delivery_held
        + report.quarantined
        + report.absent_written
        + report.revised
        + report.completed
        + report.lacking_dropped
        + report.split_owed_written
        + report.set_aside_kept
        + report.set_aside_cleared
        > 0
    )


def recheck_changed(report: RecheckReport) -> bool:
    """True when a recheck quarantined a date (a status the health view counts), or gave up
    re-downloading a date lacking figures (the health view counts those too)."""
    return report.quarantined + report.lacking_given_up > 0


def mark_after_error(
    store: Store,
    now: datetime,
    why: str,
    report: RecheckReport,
    *,
    before: Callable[[str], None] | None = None,
) -> None:
    """A run that changed the store and then raised (the queue refusing a send, the store
    failing, the outlook refresh failing, any later step of the run): what it stored stays
    stored, so the data version moves now, or the stored views (their ETags too) keep showing
    the store as it was as if current until some other write. Its changes are the recheck's
    quarantines (``report``, the one the recheck filled: ``recheck(report=...)``) and what a
    drain stored whose version is still owed (UNMARKED: set before the drain deleted the first
    message that changed the store; the entries read before the version is written are
    cleared after it).

    ``before(version)`` is the run's precompute, as for :func:`mark_changed`: the views follow
    the new version even when the run failed, rather than being recomputed on the dashboard's
    first request for each. Never raises: the error on its way is what matters, and a store
    (or a precompute) failing here too is logged; the debts then stay for the next run."""
    try:
        owed = store.get_meta(UNMARKED)
        if not (owed or recheck_changed(report)):
            return
        mark_changed(store, now, why, before=before)
        settle(store, UNMARKED, owed)
    except Exception:
        logger.exception("could not move the data version after a failed run")


def mark_owed(
    store: Store, now: datetime, why: str, before: Callable[[str], None] | None = None
) -> str:
    """:func:`mark_changed`, and then the debts UNMARKED held before it are paid: its own
    run's, its helpers' (finished by then), a killed run's (see :func:`settle`)."""
    seen = store.get_meta(UNMARKED)
    version = mark_changed(store, now, why, before)
    settle(store, UNMARKED, seen)
    return version


def mark_changed(
    store: Store, now: datetime, why: str, before: Callable[[str], None] | None = None
) -> str:
    """Write and return a new data version, unique even for two writers that read the same
    previous version at the same clock (``--now``, a demo store's clock): a random nonce is
    hashed with ``why`` (a run or message id, for the logs) and the instant.

    ``before(version)`` runs first (the views are computed and stored under the new version
    while readers still see the old one), and the version is written even if it fails, so
    readers switch to complete views at once and a failed precompute only means a lazy one.
    That version is written only if the data version is still the one read before the views
    were computed: another writer (a ``revise``, a ``watch``, another run) that stored a change
    and wrote its own version meanwhile would otherwise be overtaken by views that never saw
    its change, served as current. Then a fresh version with no views is written instead
    (each view is computed on its first request), and returned.
    """
    current = store.get_meta(DATA_VERSION)
    token = _token(current or INITIAL, now, why)
    if before is None:
        store.put_meta(DATA_VERSION, token)
        return token
    try:
        before(token)
    finally:
        if not store.replace_meta(DATA_VERSION, current, token):
            logger.info("data version moved while the views were computed: they are dropped")
            token = _token(data_version(store), now, why)
            store.put_meta(DATA_VERSION, token)
    return token


def _token(previous: str, now: datetime, why: str) -> str:
    """A new data version following ``previous`` (a random nonce makes it unique)."""
    nonce = secrets.token_hex(8)
    text = f"{previous}|{now.isoformat()}|{why}|{nonce}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]
