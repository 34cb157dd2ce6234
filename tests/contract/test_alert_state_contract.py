"""Every AlertState adapter's outbox under several deliverers: each alert reaches each sink once
(a claim with a lease before each send), a deliverer that dies holding a claim delays its alert
until the lease runs out but never loses it, an alert sent but not taken off (a write that
failed) is never sent again, and alerts a sink does not take (no longer configured, or failing
for longer than the retention) are reported, then dropped with a line."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import pytest
from tests.contract.conftest import START, AlertStateOpener
from tests.support.jam import Jam

from fuelpipe.adapters.alerts import DEFAULT_LEASE, DEFAULT_RETENTION
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.alerts import (
    OVERFLOW_SUBJECT,
    ActiveAlert,
    Alert,
    AlertKind,
    Condition,
    Severity,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import (
    DROPS_KEPT,
    AlertContext,
    AlertDelivery,
    AlertRejected,
    AlertRule,
    AlertSink,
    AlertState,
    DeliveryReport,
    SinkBacklog,
)
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store
from fuelpipe.stages.alerting import MAX_CONDITIONS_PER_RULE, AlertReport, Quarantined, evaluate


class Counting(AlertSink):
    """Counts deliveries per alert subject; sinks of one name share one counter."""

    def __init__(self, name: str, counts: Counter[str], lock: threading.Lock) -> None:
        self.name = name
        self.counts = counts
        self._lock = lock

    def send(self, alert: Alert) -> None:
        with self._lock:
            self.counts[alert.condition.subject] += 1


class Crash(BaseException):
    """The process dies mid-delivery (not an error the outbox may catch)."""


class Dies(AlertSink):
    """A sink whose process dies before sending."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, alert: Alert) -> None:
        raise Crash


class Down(AlertSink):
    """A sink that is down."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, alert: Alert) -> None:
        raise ConnectionError(f"{self.name} unreachable (synthetic)")


def _subject(i: int) -> str:
    return f"FUEL#DIESEL_S10#SP@2025-03-{1 + i % 28:02d}#{i}"


def _queue(
    state: AlertState, clock: ManualClock, n: int, sinks: list[str], first: int = 0
) -> list[str]:
    """What evaluate does: load, queue a FIRING alert per new condition, save; the subjects."""
    active = state.load()
    outbox = state.outbox(sinks)
    subjects = []
    for i in range(first, first + n):
        c = Condition("quarantined", _subject(i), f"quarantined ({i})", {"i": i}, Severity.WARNING)
        outbox.send(Alert(AlertKind.FIRING, c, clock.now(), clock.now()))
        active[c.id] = ActiveAlert(c, clock.now())
        subjects.append(c.subject)
    state.save(active)
    return subjects


def test_deliverers_racing_send_each_alert_once(alert_states: AlertStateOpener) -> None:
    clock = ManualClock(START)
    subjects = _queue(alert_states(clock), clock, 30, ["webhook"])
    states = [alert_states(clock) for _ in range(3)]  # three processes, one client each
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(states))
    problems: list[str] = []

    def run(state: AlertState) -> None:
        start.wait()
        problems.extend(state.deliver([Counting("webhook", counts, lock)]).failed)

    threads = [threading.Thread(target=run, args=(s,)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    assert counts == Counter(subjects)  # every alert, each exactly once
    assert states[0].deliver([Counting("webhook", counts, lock)]).sent == 0  # none left


def test_a_deliverer_skips_the_alert_another_is_sending(alert_states: AlertStateOpener) -> None:
    clock = ManualClock(START)
    subjects = _queue(alert_states(clock), clock, 4, ["webhook"])
    first, second = alert_states(clock), alert_states(clock)
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    meanwhile: list[int] = []

    class SendsWhileAnotherDelivers(Counting):
        def send(self, alert: Alert) -> None:
            if not meanwhile:  # while the first holds its first alert, the second delivers all
                meanwhile.append(second.deliver([Counting("webhook", counts, lock)]).sent)
            super().send(alert)

    report = first.deliver([SendsWhileAnotherDelivers("webhook", counts, lock)])
    assert meanwhile == [3]  # the second left the claimed one alone
    assert report.sent == 1 and report.failed == []  # the first skipped what the second sent
    assert counts == Counter(subjects)


def test_a_deliverer_working_from_an_old_read_never_resends_what_another_sent(
    alert_states: AlertStateOpener,
) -> None:
    clock = ManualClock(START)
    subjects = _queue(alert_states(clock), clock, 4, ["webhook"])
    first, second = alert_states(clock), alert_states(clock)
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    meanwhile: list[int] = []

    class SlowFirstSend(Counting):
        def send(self, alert: Alert) -> None:
            if not meanwhile:  # the second sends the rest, then every lease of theirs runs out
                meanwhile.append(second.deliver([Counting("webhook", counts, lock)]).sent)
                clock.advance(DEFAULT_LEASE * 3)
            super().send(alert)

    # the first read the outbox (four alerts) before the second took three off it
    assert first.deliver([SlowFirstSend("webhook", counts, lock)]).sent == 1
    assert meanwhile == [3]
    assert counts == Counter(subjects)


def test_a_claim_left_by_a_crash_is_sent_by_another_once_its_lease_runs_out(
    alert_states: AlertStateOpener,
) -> None:
    clock = ManualClock(START)
    lease = timedelta(minutes=2)
    (subject,) = _queue(alert_states(clock), clock, 1, ["webhook"])
    with pytest.raises(Crash):
        alert_states(clock, lease=lease).deliver([Dies("webhook")])  # claimed, never sent
    other = alert_states(clock, lease=lease)
    counts: Counter[str] = Counter()
    sink = Counting("webhook", counts, threading.Lock())
    assert other.deliver([sink]).sent == 0  # the dead one's lease still holds
    clock.advance(lease - timedelta(seconds=1))
    assert other.deliver([sink]).sent == 0
    clock.advance(timedelta(seconds=1))
    assert other.deliver([sink]).sent == 1  # never lost
    assert other.deliver([sink]).sent == 0
    assert counts == Counter([subject])


class Recording(AlertSink):
    """Records what it takes, in order: (kind, subject)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.taken: list[tuple[str, str]] = []

    def send(self, alert: Alert) -> None:
        self.taken.append((alert.kind.value, alert.condition.subject))


def test_an_alert_behind_a_claim_left_by_a_crash_waits_for_it(
    alert_states: AlertStateOpener,
) -> None:
    """A deliverer died holding the claim on X's FIRING; X cleared meanwhile. Its CLEARED went
    out at once, ahead of the FIRING the lease still held: a receiver saw X cleared, then firing
    (for good). Alerts about another condition go on; X's wait for the claim, in order, and the
    report says until when."""
    clock = ManualClock(START)
    (x,) = _queue(alert_states(clock), clock, 1, ["webhook"])
    with pytest.raises(Crash):
        alert_states(clock).deliver([Dies("webhook")])  # X's FIRING claimed, never sent
    state = alert_states(clock)
    active = state.load()
    fired = active.pop(f"quarantined:{x}")
    outbox = state.outbox(["webhook"])
    outbox.send(Alert(AlertKind.CLEARED, fired.condition, clock.now(), fired.since))
    state.save(active)
    (y,) = _queue(state, clock, 1, ["webhook"], first=1)
    sink = Recording("webhook")
    report = state.deliver([sink])
    assert sink.taken == [("FIRING", y)]
    assert report.held == 2 and report.held_until == clock.now() + DEFAULT_LEASE
    clock.advance(DEFAULT_LEASE)
    assert state.deliver([sink]).held == 0
    assert sink.taken == [("FIRING", y), ("FIRING", x), ("CLEARED", x)]


def test_a_failed_send_gives_its_claim_back_at_once(alert_states: AlertStateOpener) -> None:
    clock = ManualClock(START)
    subjects = _queue(alert_states(clock), clock, 2, ["webhook"])
    report = alert_states(clock).deliver([Down("webhook")])
    assert report.sent == 0
    assert report.failed == ["webhook: webhook unreachable (synthetic)"]
    counts: Counter[str] = Counter()
    # the next tick (same instant) need not wait for a lease
    assert alert_states(clock).deliver([Counting("webhook", counts, threading.Lock())]).sent == 2
    assert counts == Counter(subjects)


def test_alerts_for_a_removed_sink_are_reported_then_dropped_after_the_retention(
    alert_states: AlertStateOpener,
) -> None:
    clock = ManualClock(START)
    state = alert_states(clock)
    subjects = _queue(state, clock, 3, ["console", "webhook"])
    counts: Counter[str] = Counter()
    console = Counting("console", counts, threading.Lock())

    report = state.deliver([console])  # the webhook URL was removed from the configuration
    assert counts == Counter(subjects)
    assert (report.orphaned, report.dropped) == ({"webhook": 3}, {})
    assert report.notices == [
        "webhook: 3 alert(s) wait for a sink no longer configured (dropped 7 days after they "
        "were queued)"
    ]
    clock.advance(DEFAULT_RETENTION - timedelta(minutes=1))
    assert state.deliver([console]).orphaned == {"webhook": 3}  # kept until the retention

    clock.advance(timedelta(minutes=1))
    report = state.deliver([console])
    assert (report.orphaned, report.dropped) == ({}, {"webhook": 3})
    assert report.notices == [
        "webhook: dropped 3 alert(s) queued more than 7 days ago for a sink no longer configured "
        "(queued 2025-03-10T09:00:00-03:00)"
    ]
    webhook = Counting("webhook", Counter(), threading.Lock())
    report = state.deliver([console, webhook])  # configured again: nothing left for it
    assert (report.sent, report.orphaned, report.dropped) == (0, {}, {})
    assert counts == Counter(subjects)


def test_an_orphan_another_deliverer_is_sending_is_not_dropped_nor_one_dropped_sent(
    alert_states: AlertStateOpener,
) -> None:
    """Two deliverers, one given the webhook (A), one not (B): past the retention, B drops the
    orphans A read, while A sends the first. B left the one A holds a claim on (it dropped it
    on SQLite: sent and reported dropped), and A did not send the one B dropped (it did on
    DynamoDB, whose claim succeeded on an entry no longer in the outbox). Same on every
    backend."""
    clock = ManualClock(START)
    first, second = _queue(alert_states(clock), clock, 2, ["webhook"])
    clock.advance(DEFAULT_RETENTION + timedelta(days=1))
    a, b = alert_states(clock), alert_states(clock)
    counts: Counter[str] = Counter()
    meanwhile: list[DeliveryReport] = []

    class DropsMeanwhile(Counting):
        def send(self, alert: Alert) -> None:
            if not meanwhile:  # while A holds its first alert, B finds both orphaned
                meanwhile.append(b.deliver([]))
            super().send(alert)

    report = a.deliver([DropsMeanwhile("webhook", counts, threading.Lock())])
    (dropped,) = meanwhile
    # B dropped one; the one A holds is still queued as far as B knows
    assert dropped.dropped == {"webhook": 1} and dropped.orphaned == {"webhook": 1}
    assert counts == Counter([first])  # the one B dropped was not sent
    assert (report.sent, report.dropped, report.failed) == (1, {}, [])
    assert a.deliver([Counting("webhook", counts, threading.Lock())]).sent == 0  # none left
    assert second not in counts


def test_the_retention_is_a_parameter(alert_states: AlertStateOpener) -> None:
    clock = ManualClock(START)
    state = alert_states(clock, retention=timedelta(hours=36))
    _queue(state, clock, 1, ["webhook"])
    assert state.deliver([]).orphaned == {"webhook": 1}
    clock.advance(timedelta(hours=36))
    report = state.deliver([])
    assert report.dropped == {"webhook": 1}
    assert report.notices == [
        "webhook: dropped 1 alert(s) queued more than 36 hours ago for a sink no longer "
        "configured (queued 2025-03-10T09:00:00-03:00)"
    ]


def test_a_sent_alert_that_could_not_be_taken_off_is_never_sent_again(
    alert_states: AlertStateOpener,
) -> None:
    """The write that takes a sent alert off fails (SQLite: the file locked past the busy
    timeout): once the sender's lease runs out, another deliverer only takes it off."""
    clock = ManualClock(START)
    subjects = _queue(alert_states(clock), clock, 3, ["webhook"])
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    report = alert_states(clock, jam=Jam(remove=True)).deliver([Counting("webhook", counts, lock)])
    assert report.sent == 3 and report.failed
    assert all("sent, but not taken off the outbox" in line for line in report.failed)

    clock.advance(DEFAULT_LEASE * 2)  # every claim of the first deliverer has run out
    other = alert_states(clock)
    report = other.deliver([Counting("webhook", counts, lock)])
    assert (report.sent, report.failed) == (0, [])
    assert counts == Counter(subjects)  # each once
    assert other.deliver([]).orphaned == {}  # taken off: nothing waits for the webhook


def test_a_deliverer_that_could_not_note_a_send_never_sends_it_again(
    alert_states: AlertStateOpener,
) -> None:
    """Neither the "sent" mark nor the taking off could be written: the deliverer remembers
    what it sent, so its next calls (leases run out, storage still refusing, then back) only
    take it off."""
    clock = ManualClock(START)
    subjects = _queue(alert_states(clock), clock, 2, ["webhook"])
    counts: Counter[str] = Counter()
    sink = Counting("webhook", counts, threading.Lock())
    jam = Jam(remove=True, mark=True)
    deliverer = alert_states(clock, jam=jam)
    report = deliverer.deliver([sink])
    assert report.sent == 2
    assert sum("sent, but not noted as sent" in line for line in report.failed) == 2

    clock.advance(DEFAULT_LEASE * 2)
    assert deliverer.deliver([sink]).sent == 0  # still refused: kept, not resent
    jam.remove = jam.mark = False
    report = deliverer.deliver([sink])
    assert (report.sent, report.failed) == (0, [])
    assert counts == Counter(subjects)
    assert alert_states(clock).deliver([]).orphaned == {}


def test_alerts_a_configured_sink_keeps_failing_are_dropped_after_the_retention_with_a_line(
    alert_states: AlertStateOpener,
) -> None:
    """A webhook down for weeks does not make the outbox grow without end: once it has failed
    the oldest alert for the retention, the alerts queued longer ago than that are dropped,
    with a line naming the sink, count, the first failure, the last error and instants."""
    clock = ManualClock(START)
    state = alert_states(clock)
    _queue(state, clock, 2, ["webhook"])
    down = Down("webhook")
    assert state.deliver([down]).dropped == {}  # the first failure: the retention starts
    clock.advance(timedelta(days=3))
    later = _queue(state, clock, 1, ["webhook"], first=2)
    clock.advance(DEFAULT_RETENTION - timedelta(days=3, minutes=1))
    report = state.deliver([down])
    assert (report.dropped, report.notices) == ({}, [])  # a minute short of the retention

    clock.advance(timedelta(minutes=1))
    report = state.deliver([down])
    assert report.failed == ["webhook: webhook unreachable (synthetic)"]
    assert report.dropped == {"webhook": 2}
    assert report.notices == [
        "webhook: dropped 2 alert(s) queued more than 7 days ago, the sink failing since "
        "2025-03-10T09:00:00-03:00 (last: webhook unreachable (synthetic)) "
        "(queued 2025-03-10T09:00:00-03:00)"
    ]
    counts: Counter[str] = Counter()
    report = state.deliver([Counting("webhook", counts, threading.Lock())])  # back up
    assert (report.sent, report.dropped, report.notices) == (1, {}, [])
    assert counts == Counter(later)


def test_an_outage_that_goes_on_drops_each_alert_a_retention_after_it_was_queued(
    alert_states: AlertStateOpener,
) -> None:
    """The sink stays down: the alert queued an hour after the first is dropped an hour after
    it, its line naming the outage's first failure; it did not start the retention afresh
    when it came first in line (kept up to twice the retention, 'failing since' a week late)."""
    clock = ManualClock(START)
    state = alert_states(clock)
    _queue(state, clock, 1, ["webhook"])
    down = Down("webhook")
    assert state.deliver([down]).dropped == {}  # the outage's first failure
    clock.advance(timedelta(hours=1))
    _queue(state, clock, 1, ["webhook"], first=1)
    clock.advance(DEFAULT_RETENTION - timedelta(hours=1))
    assert state.deliver([down]).dropped == {"webhook": 1}  # the first, a retention on
    clock.advance(timedelta(hours=1))
    report = state.deliver([down])
    assert report.dropped == {"webhook": 1}
    assert report.notices == [
        "webhook: dropped 1 alert(s) queued more than 7 days ago, the sink failing since "
        "2025-03-10T09:00:00-03:00 (last: webhook unreachable (synthetic)) "
        "(queued 2025-03-10T10:00:00-03:00)"
    ]


def test_alerts_that_waited_with_nobody_sending_them_are_not_dropped_at_the_first_failure(
    alert_states: AlertStateOpener,
) -> None:
    """``watch`` stopped for longer than the retention with the webhook down: the first send
    after the restart fails once, and nothing is dropped; the retention counts from that
    failure (noted with the entry, so another process counts from it too)."""
    clock = ManualClock(START)
    subjects = _queue(alert_states(clock), clock, 2, ["webhook"])
    clock.advance(DEFAULT_RETENTION * 2)  # nothing tried to send them meanwhile
    down = Down("webhook")
    report = alert_states(clock).deliver([down])
    assert report.failed == ["webhook: webhook unreachable (synthetic)"]
    assert (report.dropped, report.notices) == ({}, [])
    clock.advance(DEFAULT_RETENTION - timedelta(minutes=1))
    assert alert_states(clock).deliver([down]).dropped == {}
    counts: Counter[str] = Counter()
    report = alert_states(clock).deliver([Counting("webhook", counts, threading.Lock())])
    assert (report.sent, report.dropped) == (2, {})  # back up in time: both delivered
    assert counts == Counter(subjects)

    _queue(alert_states(clock), clock, 1, ["webhook"], first=2)
    assert alert_states(clock).deliver([down]).dropped == {}
    clock.advance(DEFAULT_RETENTION)
    report = alert_states(clock).deliver([down])
    assert report.dropped == {"webhook": 1}
    assert report.notices == [
        "webhook: dropped 1 alert(s) queued more than 7 days ago, the sink failing since "
        "2025-03-31T08:59:00-03:00 (last: webhook unreachable (synthetic)) "
        "(queued 2025-03-31T08:59:00-03:00)"
    ]


def test_a_lease_must_be_positive(alert_states: AlertStateOpener) -> None:
    with pytest.raises(ValueError, match="lease must be positive"):
        alert_states(ManualClock(START), lease=timedelta(0))


class _DeadLetter:
    """A rule that always finds one message dead-lettered."""

    name = "dead_lettered"

    def evaluate(self, context: AlertContext) -> list[Condition]:
        return [Condition(self.name, "msg-1", "message msg-1 dead-lettered", {}, Severity.CRITICAL)]


class _EvaluatesFirst(AlertSink):
    """An outbox sink whose first alert lets another evaluation run and save, start to end,
    between this one's load and its save (two watch processes, two Lambda runs at once)."""

    def __init__(self, outbox: AlertSink, other: Callable[[], object]) -> None:
        self.name = outbox.name
        self._outbox = outbox
        self._other: Callable[[], object] | None = other

    def send(self, alert: Alert) -> None:
        if self._other is not None:
            other, self._other = self._other, None
            other()
        self._outbox.send(alert)


def test_two_evaluations_at_once_queue_a_starting_condition_once(
    alert_states: AlertStateOpener,
) -> None:
    """Both evaluations see the dead letter start; the one that saves second finds the set
    saved since its load, evaluates again against it, and queues nothing more."""
    clock = ManualClock(START)
    first, second = alert_states(clock), alert_states(clock)
    ctx = AlertContext(START, cast(Store, None), cast(Queue, None), Catalog([]))
    rules = [_DeadLetter()]

    def second_runs() -> object:
        return evaluate(ctx, rules, second, [second.outbox(["webhook"])])

    report = evaluate(ctx, rules, first, [_EvaluatesFirst(first.outbox(["webhook"]), second_runs)])
    assert report.firing == 0 and report.active == 1  # redone: the other had fired it
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    assert first.deliver([Counting("webhook", counts, lock)]).sent == 1
    assert second.deliver([Counting("webhook", counts, lock)]).sent == 0
    assert counts == Counter({"msg-1": 1})


class _Flood:
    """A rule that finds one condition per record, as the quarantine rule did per date."""

    name = "flood"

    def __init__(self, n: int) -> None:
        self.n = n

    def evaluate(self, context: AlertContext) -> list[Condition]:
        return [
            Condition(
                self.name,
                f"FUEL#DIESEL_S10#SP@{i}",
                f"FUEL#DIESEL_S10#SP date {i} quarantined: anp: HTTP 503 from the survey",
                {"series": "FUEL#DIESEL_S10#SP", "retry_count": 5, "reason": f"HTTP 503 ({i})"},
                Severity.WARNING,
            )
            for i in range(self.n)
        ]


def test_a_rule_finding_20000_conditions_is_capped_and_a_critical_beside_it_goes_out(
    alert_states: AlertStateOpener,
) -> None:
    """20,000 conditions of one rule stored one by one outgrew DynamoDB's 400 KB item (the
    save failed every run, and before that the outbox had no room left for a dead letter firing
    beside them). Capped, the rule stores MAX_CONDITIONS_PER_RULE of them (one standing for
    the rest), on every backend alike, and the CRITICAL alert of the same run is delivered."""
    clock = ManualClock(START)
    state = alert_states(clock)
    ctx = AlertContext(START, cast(Store, None), cast(Queue, None), Catalog([]))
    rules = [_Flood(20_000), _DeadLetter()]
    report = evaluate(ctx, rules, state, [state.outbox(["webhook"])])
    assert report.active == report.firing == MAX_CONDITIONS_PER_RULE + 1
    active = state.load()
    more = active[f"flood:{OVERFLOW_SUBJECT}"].condition
    assert more.evidence["more"] == 20_000 - (MAX_CONDITIONS_PER_RULE - 1)
    counts: Counter[str] = Counter()
    delivery = state.deliver([Counting("webhook", counts, threading.Lock())])
    assert (delivery.failed, delivery.dropped) == ([], {})
    assert counts["msg-1"] == 1 and sum(counts.values()) == MAX_CONDITIONS_PER_RULE + 1
    again = evaluate(ctx, rules, state, [state.outbox(["webhook"])])
    assert (again.firing, again.cleared, again.active) == (0, 0, MAX_CONDITIONS_PER_RULE + 1)


def test_per_date_quarantine_alerts_stored_before_fold_into_one_per_series(
    alert_states: AlertStateOpener, tmp_path: Path
) -> None:
    """An active set saved when quarantines alerted per date (10,000 of them) converts in one
    evaluation: the per-date alerts leave it without a CLEARED alert each (10,000 messages to
    say nothing changed), and one alert per series fires in their place."""
    clock = ManualClock(START)
    state = alert_states(clock)
    key = "FUEL#DIESEL_S10#SP"
    old = {}
    for i in range(10_000):
        day = (date(1990, 1, 7) + timedelta(weeks=i)).isoformat()
        c = Condition(
            "quarantined",
            f"{key}@{day}",
            f"{key} {day} quarantined: anp: HTTP 503",
            {"series": key, "date": day, "retry_count": 5, "reason": "anp: HTTP 503"},
        )
        old[c.id] = ActiveAlert(c, START - timedelta(days=1))
    state.load()
    state.save(old)
    store = SqliteStore(tmp_path / "store.sqlite")
    try:
        store.put_pendings(
            [
                Record(key, date(2025, 3, d), None, Status.QUARANTINED, 5, reason="anp: HTTP 503")
                for d in (2, 9)
            ]
        )
        catalog = Catalog([DEFAULT_CATALOG[key]])
        ctx = AlertContext(START, store, cast(Queue, None), catalog)
        report = evaluate(ctx, [Quarantined()], state, [state.outbox(["webhook"])])
    finally:
        store.close()
    assert (report.folded, report.firing, report.cleared, report.active) == (10_000, 1, 0, 1)
    assert list(state.load()) == [f"quarantined:{key}"]
    counts: Counter[str] = Counter()
    assert state.deliver([Counting("webhook", counts, threading.Lock())]).sent == 1
    assert counts == Counter({key: 1})


def test_an_alert_still_holding_is_stored_with_its_current_evidence_not_announced_again(
    alert_states: AlertStateOpener, tmp_path: Path
) -> None:
    """A per-series quarantine alert fired for 3 dates kept saying 3 (in the active set the
    health view shows) after the series had 412. Now each evaluation stores the condition as
    found, keeping the instant it fired, and queues nothing more: one alert sent in all."""
    clock = ManualClock(START)
    state = alert_states(clock)
    key = "FUEL#DIESEL_S10#SP"
    store = SqliteStore(tmp_path / "store.sqlite")
    first_day = date(2015, 1, 4)

    def quarantine(weeks: range) -> None:
        store.put_pendings(
            [
                Record(
                    key,
                    first_day + timedelta(weeks=w),
                    None,
                    Status.QUARANTINED,
                    5,
                    reason="anp: HTTP 503",
                )
                for w in weeks
            ]
        )

    def run() -> tuple[int, int]:
        ctx = AlertContext(clock.now(), store, cast(Queue, None), Catalog([DEFAULT_CATALOG[key]]))
        report = evaluate(ctx, [Quarantined()], state, [state.outbox(["webhook"])])
        return report.firing, report.cleared

    try:
        quarantine(range(3))
        assert run() == (1, 0)
        clock.advance(timedelta(days=3))
        quarantine(range(3, 412))
        assert run() == (0, 0)
    finally:
        store.close()
    stored = alert_states(clock).load()[f"quarantined:{key}"]  # another process's view
    assert stored.since == START
    assert stored.condition.evidence["dates"] == 412
    assert stored.condition.summary.startswith(f"{key}: 412 dates quarantined")
    counts: Counter[str] = Counter()
    assert state.deliver([Counting("webhook", counts, threading.Lock())]).sent == 1
    assert counts == Counter({key: 1})


class _Graded:
    """A rule finding one condition at the severity it is given."""

    name = "graded"

    def __init__(self, severity: Severity) -> None:
        self.severity = severity

    def evaluate(self, context: AlertContext) -> list[Condition]:
        return [Condition(self.name, "bcb", f"bcb is {self.severity.value}", {}, self.severity)]


def test_a_severity_rise_is_queued_once_and_a_fall_keeps_what_was_announced(
    alert_states: AlertStateOpener,
) -> None:
    """The ESCALATED alert goes through the outbox with its previous severity; after a fall
    the stored alert keeps the severity announced (another process reads it), so a rise back
    to it queues nothing."""
    clock = ManualClock(START)
    state = alert_states(clock)
    rule = _Graded(Severity.WARNING)
    sent: list[Alert] = []

    class Keep(AlertSink):
        name = "webhook"

        def send(self, alert: Alert) -> None:
            sent.append(alert)

    def run(severity: Severity) -> tuple[int, int]:
        rule.severity = severity
        clock.advance(timedelta(hours=1))
        ctx = AlertContext(clock.now(), cast(Store, None), cast(Queue, None), Catalog([]))
        report = evaluate(ctx, [rule], state, [state.outbox(["webhook"])])
        return report.escalated, state.deliver([Keep()]).sent

    fired = START + timedelta(hours=1)
    assert run(Severity.WARNING) == (0, 1)
    assert run(Severity.CRITICAL) == (1, 1)
    assert run(Severity.CRITICAL) == (0, 0)
    assert run(Severity.WARNING) == (0, 0)
    stored = alert_states(clock).load()["graded:bcb"]
    assert (stored.condition.severity, stored.announced_severity, stored.since) == (
        Severity.WARNING,
        Severity.CRITICAL,
        fired,
    )
    assert run(Severity.CRITICAL) == (0, 0)
    assert [(a.kind, a.previous, a.condition.severity, a.since) for a in sent] == [
        (AlertKind.FIRING, None, Severity.WARNING, fired),
        (AlertKind.ESCALATED, Severity.WARNING, Severity.CRITICAL, fired),
    ]


class _Named:
    """A rule of any name finding one condition about ``bcb`` (a rule a release renames)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def evaluate(self, context: AlertContext) -> list[Condition]:
        return [Condition(self.name, "bcb", "bcb is late", {"source": "bcb"})]


class _Keep(AlertSink):
    name = "webhook"

    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


def _release(
    state: AlertState, clock: ManualClock, rules: list[AlertRule], **retired: str | None
) -> tuple[AlertReport, list[Alert]]:
    """One evaluation and delivery an hour later by a release with ``rules`` (and those it
    lists as retired): its report and what reached the webhook."""
    clock.advance(timedelta(hours=1))
    ctx = AlertContext(clock.now(), cast(Store, None), cast(Queue, None), Catalog([]))
    report = evaluate(ctx, rules, state, [state.outbox(["webhook"])], retired=retired)
    sink = _Keep()
    state.deliver([sink])
    return report, sink.sent


def test_a_rule_removed_by_a_release_clears_its_alerts_once_saying_why(
    alert_states: AlertStateOpener,
) -> None:
    """An alert of a rule no release evaluates any more was kept active for ever (only its rule
    could clear it): in the health view, never CLEARED at the receiver. Listed as removed, its
    alerts clear once, the evidence saying the rule was removed; not listed, they stay, and the
    report names the rule (`watch` prints it, the Lambdas log it)."""
    clock = ManualClock(START)
    state = alert_states(clock)
    fired = START + timedelta(hours=1)
    assert _release(state, clock, [_Named("old_rule"), _DeadLetter()])[0].firing == 2
    kept, none = _release(state, clock, [_DeadLetter()])
    assert (kept.cleared, kept.unknown_rules, none) == (0, {"old_rule": 1}, [])
    assert set(alert_states(clock).load()) == {"old_rule:bcb", "dead_lettered:msg-1"}
    report, sent = _release(state, clock, [_DeadLetter()], old_rule=None)
    assert (report.cleared, report.firing, report.unknown_rules) == (1, 0, {})
    (cleared,) = sent
    assert (cleared.kind, cleared.condition.id, cleared.since) == (
        AlertKind.CLEARED,
        "old_rule:bcb",
        fired,
    )
    assert cleared.as_dict()["evidence"] == {
        "cleared_at": sao_paulo_iso(cleared.at),
        "retired_rule": "rule old_rule was removed: no longer evaluated",
    }
    assert cleared.as_dict()["was_evidence"] == {"source": "bcb"}  # as it fired
    assert set(alert_states(clock).load()) == {"dead_lettered:msg-1"}
    assert _release(state, clock, [_DeadLetter()], old_rule=None)[1] == []  # once


def test_a_rule_renamed_by_a_release_carries_its_alerts_on_quietly(
    alert_states: AlertStateOpener,
) -> None:
    """Renamed, a rule's alerts move to its new name with the instant they fired: no CLEARED
    for the old name, no FIRING for the new; they clear under the new name when the condition
    stops holding."""
    clock = ManualClock(START)
    state = alert_states(clock)
    fired = START + timedelta(hours=1)
    assert _release(state, clock, [_Named("stale")])[0].firing == 1
    report, sent = _release(state, clock, [_Named("stale_source")], stale="stale_source")
    assert (report.firing, report.cleared, sent) == (0, 0, [])
    (moved,) = alert_states(clock).load().values()
    assert (moved.condition.id, moved.since) == ("stale_source:bcb", fired)
    _, sent = _release(state, clock, [_DeadLetter(), _Named("other")], stale="other")
    assert sorted((a.kind, a.condition.id) for a in sent) == [
        (AlertKind.FIRING, "dead_lettered:msg-1"),
        (AlertKind.FIRING, "other:bcb"),
    ]  # the first rename's target, gone in turn without being listed, stays active apart


def test_a_retired_rule_name_still_evaluated_is_refused_before_any_rule_runs(
    alert_states: AlertStateOpener,
) -> None:
    state = alert_states(ManualClock(START))
    ctx = AlertContext(START, cast(Store, None), cast(Queue, None), Catalog([]))
    for retired in ({"dead_lettered": None}, {"old": "missing"}):
        with pytest.raises(ValueError, match="retired alert rules"):
            evaluate(ctx, [_DeadLetter()], state, [state.outbox(["webhook"])], retired=retired)


class _RejectsOne(AlertSink):
    """A webhook that refuses one alert's body for good (its 400) and takes the others."""

    name = "webhook"

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.taken: list[str] = []

    def send(self, alert: Alert) -> None:
        if alert.condition.subject == self.refused:
            raise AlertRejected(
                "webhook https://hooks.example/… answered HTTP 400: 'bad' (synthetic)"
            )
        self.taken.append(alert.condition.subject)


def test_the_backlog_of_a_sink_that_is_down_is_readable_by_another_process(
    alert_states: AlertStateOpener,
) -> None:
    """A webhook down for hours was visible only in `watch`'s output (or the Lambda's log) at
    each delivery: the health view reads, from the state, how many wait for which sink, since
    when, and since when sending them fails."""
    clock = ManualClock(START)
    state = alert_states(clock)
    assert state.delivery() == AlertDelivery()
    _queue(state, clock, 2, ["webhook", "console"])
    clock.advance(timedelta(hours=1))
    state.deliver([Counting("console", Counter(), threading.Lock()), Down("webhook")])
    clock.advance(timedelta(hours=2))
    _queue(state, clock, 1, ["webhook"], first=2)
    state.deliver([Down("webhook")])
    (backlog,) = alert_states(clock).delivery().backlog  # the console took its share
    assert backlog == SinkBacklog("webhook", 3, START, START + timedelta(hours=1))
    state.deliver([Counting("webhook", Counter(), threading.Lock())])  # back up
    assert alert_states(clock).delivery() == AlertDelivery()


def test_an_alert_rejected_for_good_leaves_its_line_in_the_state(
    alert_states: AlertStateOpener,
) -> None:
    """An alert the webhook refuses for good (400 for its body) is set aside so the others go
    out: not lost without trace, its line (which alert, the receiver's answer) is kept in the
    state, the newest first, the latest DROPS_KEPT of them, for the health view."""
    clock = ManualClock(START)
    state = alert_states(clock)
    bad, *good = _queue(state, clock, 3, ["webhook"])
    sink = _RejectsOne(bad)
    clock.advance(timedelta(minutes=5))
    report = state.deliver([sink])
    assert (sink.taken, report.dropped) == (good, {"webhook": 1})
    (drop,) = alert_states(clock).delivery().dropped
    assert (drop.at, drop.sink, drop.count, drop.line) == (
        START + timedelta(minutes=5),
        "webhook",
        1,
        report.notices[0],
    )
    assert "quarantined (0)" in drop.line and "HTTP 400: 'bad'" in drop.line
    for i in range(DROPS_KEPT):
        clock.advance(timedelta(minutes=1))
        bad, ok = _queue(state, clock, 2, ["webhook"], first=10 + 2 * i)
        state.deliver([_RejectsOne(bad)])
    drops = alert_states(clock).delivery().dropped
    assert len(drops) == DROPS_KEPT and drops[0].at == clock.now()
    assert [d.at for d in drops] == sorted((d.at for d in drops), reverse=True)
    assert drop not in drops  # the oldest went


def test_a_crash_between_the_send_and_its_note_resends_it_once_with_the_same_key(
    alert_states: AlertStateOpener,
) -> None:
    """At least once: the receiver took the alert, then the deliverer died before noting it
    sent. After the lease another deliverer sends it again, once, with the key it was queued
    with (the webhook's ``Idempotency-Key`` and ``delivery_id``), so the receiver can drop the
    copy; a third delivery sends nothing."""
    clock = ManualClock(START)
    lease = timedelta(minutes=2)
    _queue(alert_states(clock), clock, 1, ["webhook"])
    keys: list[str | None] = []

    class TakenThenDies(AlertSink):
        name = "webhook"

        def send(self, alert: Alert) -> None:
            keys.append(alert.key)
            raise Crash  # after the receiver took it, before the outbox hears back

    class Takes(AlertSink):
        name = "webhook"

        def send(self, alert: Alert) -> None:
            keys.append(alert.key)

    with pytest.raises(Crash):
        alert_states(clock, lease=lease).deliver([TakenThenDies()])
    other = alert_states(clock, lease=lease)
    assert other.deliver([Takes()]).sent == 0  # the dead one's claim holds
    clock.advance(lease)
    assert other.deliver([Takes()]).sent == 1
    assert alert_states(clock, lease=lease).deliver([Takes()]).sent == 0
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]
