"""A dead letter whose every date was stored since is removed by the dead-letter rule, on both
homes (SQLite store and queue; DynamoDB on dynalite and SQS on moto_server), and its alert
clears saying so; one with a date still missing stays.

Before, a stream message dead-lettered while its source was down stayed in the DLQ (its alert
firing, the health view's count and `dlq list` showing it) after a later poll, the recheck or
a release had stored every date it asked for, until a person checked each date and purged it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.contract.test_dead_letter_rule_contract import CountingReads
from tests.contract.test_queue_contract import drain
from tests.support.aws_backends import unique_name
from tests.support.fakes import Collect

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.dynamodb_store import DynamoDbStore, create_table
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.adapters.sqs_queue import SqsQueue, create_queues
from fuelpipe.dashboard.health import STORED_SINCE, health_view
from fuelpipe.domain.alerts import AlertKind
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.ports.queue import DeadLetter, Queue
from fuelpipe.ports.store import Store
from fuelpipe.stages.alerting import DeadLettered, evaluate
from fuelpipe.stages.dead_letter_settled import SettleCheck, Settled, Waiting

NOW = datetime(2022, 5, 4, 16, 30, tzinfo=UTC)
USD = DEFAULT_CATALOG["CURRENCY#USD"]
EUR = DEFAULT_CATALOG["CURRENCY#EUR"]
D1, D2, D3 = date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4)
REASON = "received 5 times without being processed; the last time: SourceError: HTTP 503"


@dataclass
class Home:
    store: Store
    queue: Queue
    state: SqliteAlertState
    clock: ManualClock
    reads: list[int]
    copies_held: int
    """How many copies the DLQ keeps of a message dead-lettered twice (SQS: 2; SQLite: 1)."""
    vouches: bool
    """A purge by id knows an id it did not find is gone (SQLite); SQS raises."""


@pytest.fixture(params=["embedded", pytest.param("aws", marks=pytest.mark.aws)])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Home]:
    clock = ManualClock(NOW)
    state = SqliteAlertState(tmp_path / "alerts.sqlite", clock=clock)
    store: Store
    queue: Queue
    if request.param == "embedded":
        store = SqliteStore(tmp_path / "store.sqlite", clock)
        queue = SqliteQueue(tmp_path / "queue.sqlite", clock, timedelta(seconds=30))
        copies = 1
    else:
        dynalite, moto = (
            request.getfixturevalue("dynalite_server"),
            request.getfixturevalue("moto_server"),
        )
        table, name = unique_name("settled"), unique_name("settled")
        create_table(dynalite.client("dynamodb"), table, delay_s=0.05)
        store = DynamoDbStore(dynalite.client("dynamodb"), table, clock=clock)
        url, dlq = create_queues(moto.client("sqs"), name, name + "-dlq", 30)
        queue = SqsQueue(moto.client("sqs"), url, dlq, 30, clock=clock)
        copies = 2
    counting = CountingReads(queue)
    yield Home(store, counting, state, clock, counting.reads, copies, copies == 1)  # type: ignore[arg-type]
    state.close()
    for client in (store, queue):
        close = getattr(client, "close", None)
        if callable(close):
            close()


def _dead_letter(queue: Queue, body: str, twice: bool = False) -> str:
    """Send ``body``, receive it and dead-letter it (twice: as two deliveries would, SQS then
    holding it twice); its message id."""
    queue.send([body])
    (message,) = drain(queue, limit=1)
    queue.dead_letter(message, REASON)
    if twice:
        queue.dead_letter(message, REASON)
    return message.message_id


def _gap(key: str, *days: date, origin: str = "gap") -> str:
    series = DEFAULT_CATALOG[key]
    return DownloadRequest(
        partition_key=key, dates_to_download=list(days), fetch_unit=series.fetch_unit,
        origin=origin,  # type: ignore[arg-type]
    ).to_body()  # fmt: skip


def _ok(key: str, day: date) -> Record:
    return Record(key, day, Decimal("5.1"), Status.OK, updated_at=NOW)


def _absent(key: str, day: date) -> Record:
    return Record(key, day, None, Status.ABSENT, reason="no value", updated_at=NOW)


def _pending(key: str, day: date) -> Record:
    return Record(key, day, None, Status.PENDING, 1, NOW, "HTTP 503")


def _run(
    home: Home,
    sinks: list[Collect],
    rule: DeadLettered,
    catalog: Catalog = DEFAULT_CATALOG,
    whole: Catalog | None = None,
) -> tuple[int, int, int]:
    ctx = AlertContext(home.clock.now(), home.store, home.queue, catalog, whole=whole)
    report = evaluate(ctx, [rule], home.state, sinks)
    assert report.failed_rules == ()
    return report.firing, report.cleared, report.active


def test_a_dead_letter_whose_dates_were_stored_since_is_removed_and_its_alert_clears(
    home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    body = _gap(USD.key, D1, D2)
    gone = _dead_letter(home.queue, body)
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    (fired,) = sink.alerts
    assert fired.condition.evidence["waits_on"] == f"{USD.key} {D1.isoformat()}"
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule) == (0, 0, 1)  # nothing stored yet: it stays
    home.store.put_records([_ok(USD.key, D1)])
    assert home.store.put_pending(_absent(USD.key, D2))
    home.clock.advance(timedelta(hours=1))
    with caplog.at_level(logging.WARNING, logger="fuelpipe.stages.dead_letter_settled"):
        assert _run(home, [sink], rule) == (0, 1, 0)
    assert home.reads == [1, 1]  # read at its first sight and once its dates were settled
    assert home.queue.dead_letters() == []
    assert home.queue.dead_letter_count() == 0
    cleared = sink.alerts[-1]
    assert cleared.kind is AlertKind.CLEARED and cleared.condition.subject == gone
    assert cleared.evidence() == {
        "cleared_at": "2022-05-04T15:30:00-03:00",
        "dlq_count": 0,
        "settled": "every date it asked for is settled in the store (1 OK, 1 ABSENT): "
        "removed from the dead letters, its body logged",
        "settled_dates": 2,
    }
    (logged,) = [r.getMessage() for r in caplog.records if gone in r.getMessage()]
    assert body in logged and REASON in logged and "(1 OK, 1 ABSENT)" in logged


def test_one_with_a_date_still_missing_stays_and_the_dlq_is_not_read_while_it_waits(
    home: Home,
) -> None:
    """Two dead letters: one whose dates were all stored since, one with a date still PENDING
    on another key it names. The first is removed and clears; the second fires on, waiting on
    that date, and while it is not settled no evaluation reads the DLQ (one point read)."""
    settled = _dead_letter(home.queue, _gap(USD.key, D1))
    waiting = _dead_letter(home.queue, _gap(EUR.key, D1, D2, D3))
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (2, 0, 2)
    home.store.put_records([_ok(USD.key, D1), _ok(EUR.key, D1), _ok(EUR.key, D3)])
    assert home.store.put_pending(_pending(EUR.key, D2))
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule) == (0, 1, 1)
    assert sink.alerts[-1].condition.subject == settled
    (left,) = home.queue.dead_letters()
    assert left.message_id == waiting
    (active,) = home.state.load().values()
    assert active.condition.evidence["waits_on"] == f"{EUR.key} {D2.isoformat()}"
    assert active.condition.evidence["dlq_count"] == 1
    reads = len(home.reads)
    for _ in range(3):
        home.clock.advance(timedelta(hours=1))
        assert _run(home, [sink], rule) == (0, 0, 1)
    assert len(home.reads) == reads  # the count stands and its date is still PENDING


def test_a_settled_dead_letter_the_dlq_holds_twice_is_removed_whole(home: Home) -> None:
    """SQS holds one message twice when two deliveries dead-letter it: both copies go, and
    the count left is 0, not 1 (which would fire "1 more dead letter(s) not read")."""
    _dead_letter(home.queue, _gap(USD.key, D1, D2), twice=True)
    assert home.queue.dead_letter_count() == home.copies_held
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    home.store.put_records([_ok(USD.key, D1), _ok(USD.key, D2)])
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule) == (0, 1, 0)
    assert home.queue.dead_letter_count() == 0
    assert home.queue.dead_letters() == []
    assert sink.alerts[-1].evidence()["dlq_count"] == 0
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule) == (0, 0, 0)


def test_a_revise_and_a_malformed_dead_letter_are_never_settled_by_the_store(
    home: Home,
) -> None:
    """A revise asks only for dates answered already: that they are settled says nothing of
    the re-read it failed to make. A malformed message names no dates. Both stay."""
    home.store.put_records([_ok(USD.key, D1), _ok(USD.key, D2)])
    _dead_letter(home.queue, _gap(USD.key, D1, D2, origin="revise"))
    _dead_letter(home.queue, '{"not": "a request"}')
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (2, 0, 2)
    assert len(home.queue.dead_letters()) == 2
    assert all(a.condition.evidence.get("waits_on") is None for a in sink.alerts)


def test_a_dead_letter_settled_before_its_first_read_is_removed_without_alerting(
    home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    """Its dates were stored before the rule first read it: nothing fires, it is removed
    and logged."""
    home.store.put_records([_ok(USD.key, D1)])
    gone = _dead_letter(home.queue, _gap(USD.key, D1))
    sink = Collect()
    with caplog.at_level(logging.WARNING, logger="fuelpipe.stages.dead_letter_settled"):
        assert _run(home, [sink], DeadLettered()) == (0, 0, 0)
    assert sink.alerts == [] and home.queue.dead_letters() == []
    assert any(gone in r.getMessage() for r in caplog.records)


GASOLINE, PREMIUM = DEFAULT_CATALOG["FUEL#GASOLINE#BR"], DEFAULT_CATALOG["FUEL#GASOLINE_PREMIUM#BR"]


def _without(*keys: str) -> Catalog:
    """The default catalog as a release that dropped ``keys`` has it."""
    return Catalog(s for s in DEFAULT_CATALOG if s.key not in keys)


def test_a_dead_letter_naming_only_a_key_the_catalog_dropped_is_removed_saying_why(
    home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    """A release dropped EUR while a message about it was dead-lettered: no record of it will
    ever be stored, and a redrive would be dead-lettered again (the scraper skips a key the
    catalog lacks). Before, it stayed in the DLQ for good, the rule waiting on its first date;
    now it is removed, logged whole with the key and why."""
    body = _gap(EUR.key, D1, D2)
    gone = _dead_letter(home.queue, body)
    with caplog.at_level(logging.WARNING, logger="fuelpipe.stages.dead_letter_settled"):
        assert _run(home, [Collect()], DeadLettered(), _without(EUR.key)) == (0, 0, 0)
    assert home.queue.dead_letters() == []
    assert home.queue.dead_letter_count() == 0
    (logged,) = [r.getMessage() for r in caplog.records if gone in r.getMessage()]
    assert body in logged and REASON in logged
    assert f"(1 key no longer in the catalog (or fetched by another unit): {EUR.key})" in logged


def test_a_dead_letter_with_one_dropped_key_clears_once_its_other_keys_are_stored(
    home: Home,
) -> None:
    """An ANP workbook's message names several keys; the release dropped one. Once the keys
    the catalog still has are stored, it is settled: before, it waited on the dropped key's
    first date for good, its alert firing on."""
    body = DownloadRequest(
        partition_key=GASOLINE.key, also_keys=[PREMIUM.key], dates_to_download=[D1],
        fetch_unit=GASOLINE.fetch_unit, origin="gap",
    ).to_body()  # fmt: skip
    _dead_letter(home.queue, body)
    catalog, sink, rule = _without(PREMIUM.key), Collect(), DeadLettered()
    assert _run(home, [sink], rule, catalog) == (1, 0, 1)
    assert sink.alerts[0].condition.evidence["waits_on"] == f"{GASOLINE.key} {D1.isoformat()}"
    home.store.put_records([_ok(GASOLINE.key, D1)])
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule, catalog) == (0, 1, 0)
    assert home.queue.dead_letters() == []
    assert sink.alerts[-1].evidence()["settled"] == (
        "every date it asked for is settled in the store (1 OK, 1 key no longer in the catalog "
        f"(or fetched by another unit): {PREMIUM.key}): removed from the dead letters, its body "
        "logged"
    )


def test_a_date_before_its_series_starts_now_is_settled_unread_saying_so(home: Home) -> None:
    """A release moved EUR's start past a date a dead letter asks for: the scraper never
    fetches a date before its series starts (``planning.unservable``), so no record of it
    will ever be stored. Before, the dead letter waited on that date for good, its alert
    firing on; now it is settled once the series' other dates are, saying why."""
    body = _gap(EUR.key, D1, D2)
    _dead_letter(home.queue, body)
    moved = dataclasses.replace(EUR, default_start=D2)
    catalog = Catalog(moved if s.key == EUR.key else s for s in DEFAULT_CATALOG)
    home.store.put_records([_ok(EUR.key, D2)])
    sink = Collect()
    assert _run(home, [sink], DeadLettered(), catalog) == (0, 0, 0)
    assert home.queue.dead_letters() == []
    assert home.queue.dead_letter_count() == 0


def test_a_dead_letter_of_dates_all_before_the_start_reads_nothing(home: Home) -> None:
    """Every date before the start: settled with no store read, worded with the count."""
    letter = DeadLetter("m1", _gap(EUR.key, D1, D2), "too many receives", 5, None)
    moved = dataclasses.replace(EUR, default_start=D3)
    catalog = Catalog(moved if s.key == EUR.key else s for s in DEFAULT_CATALOG)
    check = SettleCheck(home.store, catalog, budget=0, now=NOW)  # no read left: none needed
    told = check.check(letter)
    assert isinstance(told, Settled)
    assert told.before_start == 2 and told.words() == "2 dates before their series starts"


def test_a_date_more_than_a_year_ahead_is_settled_unread_saying_so(home: Home) -> None:
    """A message asking for a date more than a year after today (queued by an older release,
    built by hand) was dead-lettered: the scraper never fetches such a date
    (``planning.unservable``: reported; only a PENDING record of it is quarantined, and this
    one has none), so no record of it is stored while it stays that far ahead. Before, the
    dead letter waited on that date, its alert firing on and the DLQ's count holding it, for
    over a year; now it waits on the dates the scraper does fetch and is settled with them,
    saying why."""
    far = NOW.date() + timedelta(days=400)
    body = _gap(USD.key, D1, far)
    gone = _dead_letter(home.queue, body)
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    assert sink.alerts[0].condition.evidence["waits_on"] == f"{USD.key} {D1.isoformat()}"
    home.store.put_records([_ok(USD.key, D1)])
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule) == (0, 1, 0)
    assert home.queue.dead_letters() == []
    assert home.queue.dead_letter_count() == 0
    cleared = sink.alerts[-1]
    assert cleared.condition.subject == gone
    assert cleared.evidence()["settled"] == (
        "every date it asked for is settled in the store (1 OK, 1 date more than a year "
        "ahead): removed from the dead letters, its body logged"
    )


def test_the_year_ahead_is_counted_from_the_sao_paulo_day_as_the_scraper_counts_it(
    home: Home,
) -> None:
    """The horizon is the scraper's (``refused_dates``: a year and a day after São Paulo's
    day): its last date waits, read; the next one is settled unread, and so is a dead letter
    of such dates only, with no read at all."""
    late = datetime(2022, 5, 5, 1, 30, tzinfo=UTC)  # still 4 May in São Paulo
    last = date(2022, 5, 4) + timedelta(days=366)
    check = SettleCheck(home.store, DEFAULT_CATALOG, now=late)
    letter = DeadLetter("m1", _gap(USD.key, last), "too many receives", 5, None)
    assert check.check(letter) == Waiting(USD.key, last)
    beyond = DeadLetter("m2", _gap(USD.key, last + timedelta(days=1)), "x", 5, None)
    told = SettleCheck(home.store, DEFAULT_CATALOG, budget=0, now=late).check(beyond)
    assert isinstance(told, Settled)
    assert told.ahead == 1 and told.words() == "1 date more than a year ahead"


def test_an_alert_waiting_on_a_date_a_release_made_unservable_reads_the_dlq_again(
    home: Home,
) -> None:
    """A dead letter's alert waits on EUR's first date; a release then moves EUR's start past
    it (the scraper never fetches it now, and no record of it will come). Before, while the
    DLQ's count stood, each evaluation point-read that date, found it missing and kept the
    alert, the DLQ not read again for up to a day (``DEAD_LETTERS_REREAD``); now the date
    needs no read: the DLQ is read again and the dead letter, its other date stored, removed."""
    _dead_letter(home.queue, _gap(EUR.key, D1, D2))
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    assert sink.alerts[0].condition.evidence["waits_on"] == f"{EUR.key} {D1.isoformat()}"
    home.store.put_records([_ok(EUR.key, D2)])
    moved = dataclasses.replace(EUR, default_start=D2)
    catalog = Catalog(moved if s.key == EUR.key else s for s in DEFAULT_CATALOG)
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule, catalog) == (0, 1, 0)
    assert home.reads == [1, 1]
    assert home.queue.dead_letters() == []
    assert sink.alerts[-1].evidence()["settled"] == (
        "every date it asked for is settled in the store (1 OK, 1 date before its series "
        "starts): removed from the dead letters, its body logged"
    )


def test_an_alert_waiting_on_a_key_a_release_dropped_reads_the_dlq_again(home: Home) -> None:
    """The same for a key the release dropped: its date needs no read, the DLQ is read again
    at once and the dead letter removed, naming the key."""
    _dead_letter(home.queue, _gap(PREMIUM.key, D1))
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    home.clock.advance(timedelta(hours=1))
    assert _run(home, [sink], rule, _without(PREMIUM.key)) == (0, 1, 0)
    assert home.queue.dead_letters() == []
    assert PREMIUM.key in str(sink.alerts[-1].evidence()["settled"])


def test_a_watch_of_some_series_never_takes_another_series_for_a_dropped_one(
    home: Home,
) -> None:
    """`watch --series CURRENCY#USD` alerts about USD only, but EUR is still in the catalog:
    its dead letter, a date still missing, is not settled by being outside the selection."""
    _dead_letter(home.queue, _gap(EUR.key, D1))
    watched = Catalog([USD])
    assert _run(home, [Collect()], DeadLettered(), watched, DEFAULT_CATALOG) == (0, 0, 0)
    (left,) = home.queue.dead_letters()
    assert left.body == _gap(EUR.key, D1)


def test_the_health_view_says_when_the_date_a_dead_letter_waits_on_is_stored_since(
    home: Home,
) -> None:
    """The rule runs hourly (AWS) or at `watch`'s next tick: until then, a dead letter whose
    date was stored since is still an active alert. Before, the health view showed it as it
    fired, a date still missing to the reader's eyes; now its summary says the date is stored
    and that the rule removes it at its next run if every date is settled (one point read; the
    DLQ is not read)."""
    _dead_letter(home.queue, _gap(USD.key, D1))
    assert _run(home, [Collect()], DeadLettered()) == (1, 0, 1)
    one = Catalog([USD])

    def shown() -> tuple[str, str]:
        view = health_view(home.store, one, home.queue, home.clock, alerts=home.state)
        (alert,) = view.alerts or []
        return alert.summary, alert.summary_pt_br

    assert "stored since" not in shown()[0]
    home.store.put_records([_ok(USD.key, D1)])
    summary, summary_pt_br = shown()
    assert summary.startswith("message ") and REASON in summary
    assert summary.endswith(STORED_SINCE.format(waits=f"{USD.key} {D1.isoformat()}"))
    assert f"; {USD.key} {D1.isoformat()} foi armazenada depois: " in summary_pt_br
    assert home.reads == [1]  # the rule's first read alone: the view reads no dead letter


class RedriveFirst(CountingReads):
    """The queue under test with a `dlq redrive` run between the rule's read and its purge."""

    def purge_dead_letters(self, *, ids: Any = None) -> int:
        self.inner.redrive()
        return int(self.inner.purge_dead_letters(ids=ids))


def test_a_removal_that_a_redrive_raced_loses_nothing_and_clears_once_it_is_known(
    home: Home,
) -> None:
    """A redrive takes the settled dead letter back to the queue between the rule's read and
    its removal: the message is in the queue (nothing lost), and the alert clears: at once on
    the embedded queue (its purge knows the id is gone, the clear says it may have been
    redriven), on SQS at the next evaluation (its purge cannot tell a message gone from one
    another reader holds: that run clears nothing, the rule reported incomplete)."""
    body = _gap(USD.key, D1)
    _dead_letter(home.queue, body)
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    home.store.put_records([_ok(USD.key, D1)])
    home.clock.advance(timedelta(hours=1))
    racing = RedriveFirst(home.queue.inner)  # type: ignore[attr-defined]
    ctx = AlertContext(home.clock.now(), home.store, racing, DEFAULT_CATALOG)  # type: ignore[arg-type]
    report = evaluate(ctx, [rule], home.state, [sink])
    if not home.vouches:
        assert (report.cleared, report.active) == (0, 1)
        (failed,) = report.failed_rules
        assert failed.startswith("dead_lettered: incomplete: settled dead letters not all removed")
        home.clock.advance(timedelta(hours=1))
        assert _run(home, [sink], rule) == (0, 1, 0)
    else:
        assert (report.cleared, report.active, report.failed_rules) == (1, 0, ())
        assert "removed or gone already (redriven or purged)" in str(
            sink.alerts[-1].evidence()["settled"]
        )
    assert sink.alerts[-1].evidence()["dlq_count"] == 0
    assert [m.body for m in drain(home.queue)] == [body]


class SavedFirstOnce:
    """The alert state under test, another evaluation saving first at this one's first save
    (the retry_recheck and outlook functions evaluating at once)."""

    def __init__(self, inner: SqliteAlertState, other: SqliteAlertState) -> None:
        self.inner, self.other, self.raced = inner, other, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def save(self, active: Any) -> None:
        if not self.raced:
            self.raced = True
            self.other.save(self.other.load())
        self.inner.save(active)


def test_a_settled_clear_redone_after_another_evaluation_saved_first_still_says_so(
    home: Home, tmp_path: Path
) -> None:
    """An evaluation whose save another one beats is redone: the CLEARED alert it then sends
    still tells that the dead letter was settled (its first attempt's told it too)."""
    _dead_letter(home.queue, _gap(USD.key, D1))
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    home.store.put_records([_ok(USD.key, D1)])
    home.clock.advance(timedelta(hours=1))
    other = SqliteAlertState(tmp_path / "alerts.sqlite", clock=home.clock)
    try:
        raced = SavedFirstOnce(home.state, other)
        ctx = AlertContext(home.clock.now(), home.store, home.queue, DEFAULT_CATALOG)
        report = evaluate(ctx, [rule], raced, [sink])  # type: ignore[arg-type]
    finally:
        other.close()
    assert raced.raced and (report.cleared, report.active) == (1, 0)
    cleared = [a for a in sink.alerts if a.kind is AlertKind.CLEARED]
    assert len(cleared) == 2  # the beaten attempt's and the one saved
    assert all(str(a.evidence().get("settled", "")).startswith("every date") for a in cleared)


class StaleCount(CountingReads):
    """The queue under test with the DLQ's count of an instant before (SQS's is approximate)."""

    def __init__(self, inner: Queue, count: int) -> None:
        super().__init__(inner)
        self.count = count

    def dead_letter_count(self) -> int:
        return self.count


def test_a_dead_letter_the_count_lagged_behind_still_fires_when_a_settled_one_is_removed(
    home: Home,
) -> None:
    """The DLQ counts 1 (its count lagging a new arrival) while the read finds the settled
    one and a new one: removing the settled one leaves the count at 0, and the new one fires
    all the same (the count no longer stands for the letters read)."""
    _dead_letter(home.queue, _gap(USD.key, D1))
    sink, rule = Collect(), DeadLettered()
    assert _run(home, [sink], rule) == (1, 0, 1)
    home.store.put_records([_ok(USD.key, D1)])
    new = _dead_letter(home.queue, _gap(EUR.key, D2))
    home.clock.advance(timedelta(hours=1))
    lagging = StaleCount(home.queue.inner, 1)  # type: ignore[attr-defined]
    ctx = AlertContext(home.clock.now(), home.store, lagging, DEFAULT_CATALOG)  # type: ignore[arg-type]
    report = evaluate(ctx, [rule], home.state, [sink])
    assert (report.firing, report.cleared, report.active, report.failed_rules) == (1, 1, 1, ())
    fired = [a.condition.subject for a in sink.alerts if a.kind is AlertKind.FIRING]
    assert fired[-1] == new
    assert [d.message_id for d in home.queue.dead_letters()] == [new]
