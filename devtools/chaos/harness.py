"""Run the pipeline to a quiet state against the replay (with or without faults) and compare.

Shared by the reliability tests and ``scripts/chaos.py`` (which writes docs/RELIABILITY.md from
the same measurements), so the report and the tests measure the same way.

A run is a loop of full cycles (orchestrate, drain, recheck, drain) on an injected clock that
moves, between cycles, by the longest wait the retry policy can ask for: every PENDING record is
due again at the next cycle, so a run is quiet after at most ``max_retries + 2`` cycles unless a
retry loop runs without end.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import AttrValue, Record, Status
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import DeadLetter, HeldMessages, Message, Queue, QueueDepth
from fuelpipe.ports.source import FetchRequest, FetchResult, Source
from fuelpipe.replay import FaultPlan, ReplayServer, load_coverage
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import CycleReport, drain, run_cycle
from fuelpipe.stages.recheck import recheck

SP = ZoneInfo("America/Sao_Paulo")
# A business "now" inside the last day of the snapshot: every clock step of a run stays on
# 2022-05-07, so the set of published dates (and so the gaps) never changes between cycles.
START = datetime(2022, 5, 7, 0, 30, tzinfo=SP)
SINCE = date(2021, 5, 19)
RETRY_BASE_S = 60.0
"""A one-minute base delay: five re-downloads fit in a few hours of injected time."""

FAST_SERIES = ("CURRENCY#USD", "STOCK#PETR4", "COMMODITY#BRENT", "FUEL#GASOLINE#BR")
# Dates the replay never serves: a Tuesday (every daily source publishes on it), a Sunday (an
# ANP survey week) and the first of a month (the monthly ANP survey; also a weekday).
ABSENT_DAYS = (date(2021, 8, 10), date(2021, 10, 3), date(2021, 9, 1))
ABSENT_SPEC = "*:absent=" + "|".join(d.isoformat() for d in ABSENT_DAYS)
# Small timeouts keep `slow` faults cheap; Retry-After 0 keeps 429s from sleeping.
HTTP_TIMEOUT_S = 1.0
CLEAN_HTTP_TIMEOUT_S = 30.0
"""A fault-free run injects no `slow` fault: the short timeout would only turn a busy host's
slow answer into an adapter retry, and "one request per message" into a flaky count."""
SLOW_S = 1.6
TRANSIENT_OPTIONS = f"slow_s={SLOW_S},retry_after=0"

OUTAGES = {
    "every source 5xx, two cycles": ("all:5xx=1", "all:5xx=1"),
    "every source an HTML page, two cycles": ("all:html=1", "all:html=1"),
    "FRED 429 with a one-hour Retry-After, one cycle": ("fred:429=1,retry_after=3600",),
    "Yahoo wrong-shaped bodies, then dropped connections": ("yahoo:shape=1", "yahoo:drop=1"),
    "every source 429 without Retry-After, three cycles": ("all:429bare=1",) * 3,
}
"""Outages for :func:`run_to_quiet`'s ``outage``: a fault spec for each cycle it lasts."""

Row = tuple[Decimal | None, Status, dict[str, AttrValue]]
"""What an export holds per (key, date): value, status, attrs."""
Slot = tuple[str, date]
HomeFactory = Callable[[Settings, Clock], StageContext]
Driver = Callable[[StageContext, Sequence[Series], date], CycleReport]
"""One cycle of the pipeline on an app (``run_cycle`` by default, or a Lambda-shaped one)."""


def snapshot_series() -> list[str]:
    """Every catalog key with real values in the snapshot between ``SINCE`` and ``START``.

    (The state-level weekly ANP file of the snapshot covers 2025-26, outside that window.)
    """
    coverage = load_coverage()
    return [
        key
        for key, span in coverage.series.items()
        if key in DEFAULT_CATALOG and span.first <= START.date() and span.last >= SINCE
    ]


def fault_spec(rates: str, *, absent: bool = True) -> str:
    """A replay fault spec: ``rates`` (e.g. ``all:0.3``) plus small timeouts and absent dates."""
    clauses = [f"{rates},{TRANSIENT_OPTIONS}" if rates else f"all:0,{TRANSIENT_OPTIONS}"]
    if absent:
        clauses.append(ABSENT_SPEC)
    return ";".join(clauses)


def pipeline_settings(replay: ReplayServer, db: Path, **overrides: Any) -> Settings:
    """Settings pointing at the replay, with short timeouts and no sleeping between retries."""
    values: dict[str, Any] = {
        "db": db,
        "visibility_timeout_s": 30,
        "http_timeout_s": HTTP_TIMEOUT_S,
        "http_backoff_s": 0,
        "yahoo_min_interval_s": 0,
        "retry_base_delay_s": RETRY_BASE_S,
        **{f"source_{name}_url": url for name, url in replay.source_urls().items()},
    }
    values.update(overrides)
    return Settings(**values)


def embedded_home() -> HomeFactory:
    """The embedded home (SQLite store and queue next to ``settings.db``)."""
    from fuelpipe.homes.embedded import build_context

    def make(settings: Settings, clock: Clock) -> StageContext:
        return build_context(settings, clock=clock)

    return make


def aws_home(dynamodb: Any, sqs: Any, *, pending_shards: int = 4) -> HomeFactory:
    """The AWS home on injected clients: a fresh table and queue pair for every app built."""
    from fuelpipe.homes.aws import build_context, create_resources

    def make(settings: Settings, clock: Clock) -> StageContext:
        name = f"rel-{uuid.uuid4().hex[:12]}"
        cfg = Settings(
            **{
                **settings.model_dump(),
                "backend": "aws",
                "table_name": name,
                "queue_name": name,
                "dlq_name": name + "-dlq",
                "pending_shards": pending_shards,
            }
        )
        create_resources(cfg, dynamodb_client=dynamodb, sqs_client=sqs, poll_s=0.05)
        return build_context(cfg, clock=clock, dynamodb_client=dynamodb, sqs_client=sqs)

    return make


class RecordingQueue(Queue):
    """A queue decorator that keeps every body sent, to count downloads per date."""

    def __init__(self, inner: Queue) -> None:
        self.inner = inner
        self.max_receives = inner.max_receives
        self.retention = inner.retention
        self.sent: list[str] = []

    def send(self, bodies: Sequence[str]) -> int:
        """Send the bodies, then remember them (a send that failed downloads nothing)."""
        sent = self.inner.send(bodies)
        self.sent.extend(bodies)
        return sent

    def receive(self, max_messages: int = 10, *, wait_s: float = 0) -> list[Message]:
        """Delegate."""
        return self.inner.receive(max_messages, wait_s=wait_s)

    def delete(self, receipts: Sequence[str]) -> None:
        """Delegate."""
        self.inner.delete(receipts)

    def release(self, receipts: Sequence[str]) -> None:
        """Delegate."""
        self.inner.release(receipts)

    def defer(self, receipts: Sequence[str], delay: timedelta) -> None:
        """Delegate."""
        self.inner.defer(receipts, delay)

    def dead_letter(self, message: Message, reason: str) -> None:
        """Delegate."""
        self.inner.dead_letter(message, reason)

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Delegate."""
        return self.inner.dead_letters(limit)

    def dead_letter_count(self) -> int:
        """Delegate."""
        return self.inner.dead_letter_count()

    def redrive(self) -> int:
        """Delegate."""
        return self.inner.redrive()

    def depth(self) -> QueueDepth:
        """Delegate."""
        return self.inner.depth()

    def held(self) -> HeldMessages:
        """Delegate."""
        return self.inner.held()

    def purge_dead_letters(self, *, ids: Collection[str] | None = None) -> int:
        """Delegate."""
        return self.inner.purge_dead_letters(ids=ids)

    def close(self) -> None:
        """Close the wrapped queue."""
        closer = getattr(self.inner, "close", None)
        if callable(closer):
            closer()

    def count(self, origin: str) -> int:
        """Messages sent with this origin (gap or retry)."""
        return sum(DownloadRequest.from_body(b).origin == origin for b in self.sent)

    def downloads(self, key: str, day: date) -> dict[str, int]:
        """How many messages asked for one (key, date), by origin (gap or retry)."""
        out = {"gap": 0, "retry": 0}
        for body in self.sent:
            request = DownloadRequest.from_body(body)
            if key in request.keys and day in request.dates_to_download:
                out[request.origin] += 1
        return out


class DuplicatingQueue(RecordingQueue):
    """At-least-once delivery on any queue: seeded duplicate sends and duplicate deliveries.

    ``resend``: the chance a sent batch is sent a second time (new message ids, as a sender
    that died after its send and sent again does). ``redeliver``: the chance a received batch
    carries one of its messages twice, the copy under a receipt of its own that deletes
    nothing (as a message received again after its visibility timeout while its first holder
    still works on it: that holder's receipt is stale). Put it under the run's
    :class:`RecordingQueue` (``run.queue.inner``) so the counts of messages the pipeline
    sent stay its own; ``counts`` says what was injected.
    """

    def __init__(
        self, inner: Queue, seed: int, *, resend: float = 1.0, redeliver: float = 0.5
    ) -> None:
        super().__init__(inner)
        self.rng = random.Random(seed)
        self.resend = resend
        self.redeliver = redeliver
        self.counts: Counter[str] = Counter()

    def send(self, bodies: Sequence[str]) -> int:
        """Send the bodies, then (sometimes) all of them again."""
        sent = self.inner.send(bodies)
        if bodies and self.rng.random() < self.resend:
            self.inner.send(bodies)
            self.counts["sent_twice"] += len(bodies)
        return sent

    def receive(self, max_messages: int = 10, *, wait_s: float = 0) -> list[Message]:
        """A batch, sometimes with one of its messages delivered twice."""
        got = self.inner.receive(max_messages, wait_s=wait_s)
        if got and self.rng.random() < self.redeliver:
            first = self.rng.choice(got)
            copy = Message(
                first.message_id, first.receipt + "-again", first.body, first.receive_count + 1
            )
            got = [*got, copy]
            self.counts["delivered_twice"] += 1
        return got


def duplicating(seed: int, **rates: float) -> Callable[[StageContext], None]:
    """A ``prepare`` for :func:`run_to_quiet`: puts a :class:`DuplicatingQueue` under the run's
    recording queue (read its counts as ``run.queue.inner.counts``)."""

    def prepare(app: StageContext) -> None:
        recording = app.queue
        assert isinstance(recording, RecordingQueue)
        recording.inner = DuplicatingQueue(recording.inner, seed, **rates)

    return prepare


class CountingSource(Source):
    """A source decorator that counts fetches (one per processed message)."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.name = inner.name
        self.fetches = 0

    def fetch(self, request: FetchRequest) -> FetchResult:
        """Count, then delegate."""
        self.fetches += 1
        return self.inner.fetch(request)

    def close(self) -> None:
        """Close the wrapped source."""
        self.inner.close()


def fetches(app: StageContext) -> int:
    """Fetches the app's counting sources made so far."""
    return sum(s.fetches for s in app.sources.values() if isinstance(s, CountingSource))


def default_cycle(app: StageContext, series: Sequence[Series], since: date) -> CycleReport:
    """One ``run_cycle`` (orchestrate, drain, recheck, drain) in this process."""
    return run_cycle(app, series=series, since=since)


def recheck_cycle(app: StageContext, series: Sequence[Series], since: date) -> CycleReport:
    """The recheck and the drain of what it sent, in this process: no gap scan."""
    report = CycleReport()
    report.recheck = recheck(app, {s.key for s in series})
    if report.recheck.messages_sent:
        report.scrape = drain(app)
    return report


@dataclass
class RequestBound:
    """The source requests the retry policy allows a run, and what the run spent.

    ``requests <= attempts * symbols * fetches``: a fetch sends at most ``attempts`` HTTP
    requests (the adapter's bounded retries) per symbol it may try (Yahoo falls back to former
    symbols). Each message sent (counted on the queue, whichever stage sent it) is fetched
    once, plus once per redelivery (a worker that died, a failed Lambda item, a duplicate SQS
    delivery). A retry message carries at least one claimed re-download and a (key, date) is
    re-downloaded at most ``max_retries`` times, so ``retry_messages <= max_retries *
    ever_pending``. Without redeliveries the policy alone bounds a run by ``attempts * symbols *
    (gap_messages + max_retries * ever_pending)``. ``claims`` counts the claims of the recheck
    runs that finished (a run that failed mid-way sends what it claimed but reports nothing).
    """

    attempts: int
    symbols: int
    max_retries: int
    gap_messages: int
    retry_messages: int
    claims: int
    ever_pending: int
    fetches: int
    requests: int

    @property
    def redelivered(self) -> int:
        """Fetches beyond one per message sent."""
        return self.fetches - self.gap_messages - self.retry_messages

    @property
    def limit(self) -> int:
        """The bound on HTTP requests for the fetches this run made."""
        return self.attempts * self.symbols * self.fetches

    @property
    def policy_limit(self) -> int:
        """The bound the policy alone implies (without redeliveries), whatever the faults did."""
        return (
            self.attempts
            * self.symbols
            * (self.gap_messages + self.max_retries * self.ever_pending)
        )

    def violations(self) -> list[str]:
        """Every inequality of the bound that does not hold (empty when all do)."""
        most_claims = self.max_retries * self.ever_pending
        checks = [
            (self.redelivered >= 0, "every message fetched"),
            (self.requests <= self.limit, f"requests {self.requests} <= {self.limit}"),
            (self.retry_messages <= most_claims, "retry messages <= R * pending"),
            (self.claims <= most_claims, "claims <= R * pending"),
            (
                self.redelivered > 0 or self.requests <= self.policy_limit,
                f"requests {self.requests} <= policy bound {self.policy_limit}",
            ),
        ]
        return [text for ok, text in checks if not ok]

    def describe(self) -> str:
        """``requests ≤ A·S·fetches ≤ policy bound``, for the report."""
        text = f"{self.requests} ≤ {self.limit}"
        if self.redelivered:
            text += f" (+{self.redelivered} redelivered fetches)"
        else:
            text += f" ≤ {self.policy_limit}"
        return text + (" **violated**" if self.violations() else "")


@dataclass
class Run:
    """What one run left in the store and what it spent."""

    series: list[str]
    export: dict[Slot, Row]
    records: dict[Slot, Record]
    reports: list[CycleReport]
    cycles_to_quiet: int | None
    requests: dict[str, int]
    faults: dict[str, int]
    queue: RecordingQueue
    ever_pending: set[Slot] = field(default_factory=set)
    duplicate_rows: int = 0
    bound: RequestBound | None = None

    @property
    def total_requests(self) -> int:
        """HTTP requests the replay received."""
        return sum(self.requests.values())


def export_rows(app: StageContext, keys: Iterable[str]) -> tuple[dict[Slot, Record], int]:
    """Every record of the keys, and how many (key, date) rows came back more than once."""
    out: dict[Slot, Record] = {}
    repeated = 0
    for key in keys:
        for record in app.store.query(key):
            slot = (key, record.date)
            repeated += slot in out
            out[slot] = record
    return out, repeated


MAX_WAITS = 10
"""Quiet cycles that jump the clock to the next PENDING date's retry (see run_to_quiet)."""


def run_to_quiet(
    home: HomeFactory,
    tmp: Path,
    series: Sequence[str],
    spec: str = "",
    seed: int = 0,
    *,
    max_cycles: int | None = None,
    settings: dict[str, Any] | None = None,
    since: date = SINCE,
    prepare: Callable[[StageContext], None] | None = None,
    finish: Callable[[StageContext], None] | None = None,
    drive: Driver = default_cycle,
    outage: Sequence[str] = (),
) -> Run:
    """Cycles with an advancing clock until one finds nothing to do and nothing is waiting for
    a later retry; returns the store's export. ``cycles_to_quiet``: the longest run of working
    cycles (a wait for a publication window to pass starts a new run: each is bounded by the
    retry policy on its own).

    ``prepare`` runs on the app before the first cycle, ``finish`` after the last one (before
    the export is read); ``drive`` runs one cycle. ``outage``: a fault spec for each of the
    first cycles in turn (e.g. ``("fred:5xx=1", "fred:5xx=1")``: FRED down for two cycles;
    its own ``retry_after=`` wins over the harness's 0), served instead of ``spec``'s faults,
    which the replay serves from the cycle after them: a source down, throttling or answering
    garbage for a while, then back.
    """
    plan = FaultPlan.parse(spec, seed) if spec else None
    with ReplayServer(faults=plan, quiet=True) as replay:
        clean = {"http_timeout_s": CLEAN_HTTP_TIMEOUT_S} if plan is None and not outage else {}
        outage_faults: Counter[str] = Counter()
        cfg = pipeline_settings(
            replay, tmp / f"run-{uuid.uuid4().hex[:8]}.sqlite", **{**clean, **(settings or {})}
        )
        clock = ManualClock(START)
        app = home(cfg, clock)
        queue = RecordingQueue(app.queue)
        app.queue = queue
        app.sources = {name: CountingSource(src) for name, src in app.sources.items()}
        if prepare is not None:
            prepare(app)
        chosen = DEFAULT_CATALOG.select(list(series))
        step = app.policy.delay(app.policy.max_retries)
        limit = max_cycles or app.policy.max_retries + 4
        reports: list[CycleReport] = []
        ever_pending: set[Slot] = set()
        quiet_at: int | None = None
        working = longest = waits = 0  # working: cycles that did work since the last wait
        waited = False  # after a wait only the recheck runs (see below)
        try:
            while working < limit and waits <= MAX_WAITS:
                cycle = len(reports)
                if outage and cycle <= len(outage):
                    if cycle:  # the faults the last cycle's outage injected
                        outage_faults.update(replay.fault_counts)
                    replay.faults = (  # the outage goes on, or is over
                        FaultPlan.parse(f"all:0,{TRANSIENT_OPTIONS};{outage[cycle]}", seed)
                        if cycle < len(outage)
                        else plan or FaultPlan.none()
                    )
                report = (recheck_cycle if waited else drive)(app, chosen, since)
                reports.append(report)
                ever_pending |= {(r.key, r.date) for r in app.store.pending()}
                if report.scrape.source_requests == 0 and report.orchestrate.messages_sent == 0:
                    # Nothing to do now. A date a failure left PENDING inside its publication
                    # window waits for the window to pass (scrape._mark_missing), days for
                    # FRED's weekly batches: go there, as the hourly recheck would. Such a
                    # wait is not a working cycle.
                    waiting = [
                        r.next_attempt_at
                        for r in app.store.pending()
                        if r.next_attempt_at is not None and r.next_attempt_at > clock.now()
                    ]
                    longest = max(longest, working)
                    if not waiting:
                        quiet_at = longest
                        break
                    # Only the recheck (and the drain of what it sends) runs from here, as the
                    # hourly recheck does: a scan at the later clock would find new dates the
                    # snapshot window never held, and the run is about the ones it did.
                    clock.set(min(waiting))
                    waits, working, waited = waits + 1, 0, True
                    continue
                working += 1
                clock.advance(step)
            if finish is not None:
                finish(app)
            records, repeated = export_rows(app, (s.key for s in chosen))
            fetched = fetches(app)
        finally:
            app.close()
        requests = replay.request_counts
        faults = dict(outage_faults + Counter(replay.fault_counts))
    run = Run(
        series=[s.key for s in chosen],
        export={slot: (r.value, r.status, r.attrs) for slot, r in records.items()},
        records=records,
        reports=reports,
        cycles_to_quiet=quiet_at,
        requests=requests,
        faults=faults,
        queue=queue,
        ever_pending=ever_pending,
        duplicate_rows=repeated,
    )
    run.bound = RequestBound(
        attempts=cfg.http_attempts,
        symbols=1 + max(len(s.former_symbols) for s in chosen),
        max_retries=app.policy.max_retries,
        gap_messages=queue.count("gap"),
        retry_messages=queue.count("retry"),
        claims=sum(r.recheck.retried for r in reports),
        ever_pending=len(ever_pending),
        fetches=fetched,
        requests=run.total_requests,
    )
    return run


@dataclass
class Comparison:
    """A faulty run against the fault-free one, record for record."""

    lost: list[Slot]
    """OK in the clean run, missing or not OK after the faults (absent dates excepted)."""
    extra: list[Slot]
    """In the faulty run's store but not in the clean one's."""
    changed: list[Slot]
    """In both with a different value, status or attrs."""
    absent: list[Slot]
    """OK in the clean run, served never: these must be QUARANTINED after max_retries."""
    duplicated: int
    """(key, date) rows the store returned twice."""
    quarantined: int
    """QUARANTINED records in the faulty run."""

    @property
    def identical_outside_absent(self) -> bool:
        """Nothing lost, added, changed or duplicated."""
        return not (self.lost or self.extra or self.changed or self.duplicated)


def compare(clean: Run, faulty: Run, absent_days: Iterable[date] = ABSENT_DAYS) -> Comparison:
    """Compare two runs' exports on the faulty run's keys; absent dates are set apart.

    A withheld date is set apart whenever the source said something of it in the clean run:
    a value (OK) or that it has none (ABSENT, e.g. a "-" cell of an ANP workbook). Withheld,
    the source says nothing, so the date is retried and quarantined either way.
    """
    withheld = set(absent_days)
    said = (Status.OK, Status.ABSENT)
    absent = sorted(
        slot
        for slot, (_, status, _) in clean.export.items()
        if slot[1] in withheld and status in said and slot[0] in faulty.series
    )
    skip = set(absent)
    keys = set(faulty.series)
    lost, changed = [], []
    for slot, row in clean.export.items():
        if slot in skip or slot[0] not in keys:
            continue
        got = faulty.export.get(slot)
        if got is None or (row[1] is Status.OK and got[1] is not Status.OK):
            lost.append(slot)
        elif got != row:
            changed.append(slot)
    extra = sorted(set(faulty.export) - set(clean.export))
    quarantined = sum(1 for _, status, _ in faulty.export.values() if status is Status.QUARANTINED)
    return Comparison(
        lost=sorted(lost),
        extra=extra,
        changed=sorted(changed),
        absent=absent,
        duplicated=faulty.duplicate_rows,
        quarantined=quarantined,
    )


def absent_problems(faulty: Run, absent: Iterable[Slot], max_retries: int) -> list[str]:
    """Absent dates not QUARANTINED after exactly ``max_retries`` re-downloads with a reason."""
    problems = []
    for key, day in absent:
        record = faulty.records.get((key, day))
        asked = faulty.queue.downloads(key, day)
        if record is None or record.status is not Status.QUARANTINED:
            problems.append(f"{key} {day}: {record.status if record else 'missing'}")
        elif record.retry_count != max_retries or asked["retry"] != max_retries:
            problems.append(
                f"{key} {day}: retry_count {record.retry_count}, "
                f"{asked['retry']} re-download messages (want {max_retries})"
            )
        elif not record.reason:
            problems.append(f"{key} {day}: quarantined without a reason")
    return problems
