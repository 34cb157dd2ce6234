"""The Store port's revision contract: every backend keeps a revised value's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from tests.contract.conftest import StoreOpener

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.domain.models import HistoryKind, Record, Revision, Status
from fuelpipe.ports.store import AnsweredBefore, Store

KEY = "COMMODITY#BRENT"
DAY = date(2022, 3, 8)
SEEN = datetime(2022, 5, 7, 12, 0, tzinfo=UTC)


def _revision(
    previous: str, new: str, seen: datetime = SEEN, request: str = "revise r1"
) -> Revision:
    return Revision(Decimal(previous), Decimal(new), seen, request)


def _one(store: Store, day: date = DAY) -> Record:
    found = store.query(KEY, day, day)
    assert len(found) == 1, found
    return found[0]


def test_a_revision_replaces_the_value_and_keeps_its_history(store: Store) -> None:
    store.put_records([Record(KEY, DAY, Decimal("127.98"), Status.OK, attrs={"note": "a"})])
    assert store.revise(KEY, DAY, _revision("127.98", "128.10"), {"note": "b"})
    later = SEEN + timedelta(days=1)
    assert store.revise(KEY, DAY, _revision("128.10", "128.2", later, "revise r2"), {})
    rec = _one(store)
    assert rec.status is Status.OK
    assert rec.value == Decimal("128.2")
    assert rec.attrs == {}
    assert rec.revisions == (
        _revision("127.98", "128.10"),
        _revision("128.10", "128.2", later, "revise r2"),
    )
    assert [r.date for r in store.revised(KEY)] == [DAY]
    assert store.revised(KEY)[0].revisions == rec.revisions
    assert [(p.date, p.revised) for p in store.present(KEY)] == [(DAY, True)]


def test_a_revision_of_a_value_that_changed_meanwhile_is_refused(store: Store) -> None:
    store.put_records([Record(KEY, DAY, Decimal("127.98"), Status.OK)])
    assert not store.revise(KEY, DAY, _revision("100", "101"), {})
    rec = _one(store)
    assert rec.value == Decimal("127.98")
    assert rec.revisions == ()
    assert store.revised(KEY) == []


def test_only_ok_records_are_revised(store: Store) -> None:
    pending = Record(KEY, DAY, None, Status.PENDING, next_attempt_at=SEEN, reason="no value yet")
    assert store.put_pending(pending)
    assert not store.revise(KEY, DAY, _revision("1", "2"), {})
    assert not store.revise(KEY, DAY + timedelta(days=1), _revision("1", "2"), {})
    assert _one(store).status is Status.PENDING
    assert store.query(KEY, DAY + timedelta(days=1), DAY + timedelta(days=1)) == []


def test_numbers_compare_by_value_not_by_text(store: Store) -> None:
    store.put_records([Record(KEY, DAY, Decimal("78.25"), Status.OK)])
    assert store.revise(KEY, DAY, _revision("78.250", "78.3"), {})
    assert _one(store).value == Decimal("78.3")


def test_revised_lists_only_revised_records_of_the_key(store: Store) -> None:
    days = [DAY + timedelta(days=i) for i in range(3)]
    store.put_records([Record(KEY, d, Decimal("10"), Status.OK) for d in days])
    store.put_records([Record("STOCK#PETR4", DAY, Decimal("10"), Status.OK)])
    assert store.revise(KEY, days[2], _revision("10", "11"), {})
    assert store.revise("STOCK#PETR4", DAY, _revision("10", "12"), {})
    assert [r.date for r in store.revised(KEY)] == [days[2]]
    assert [r.value for r in store.revised("STOCK#PETR4")] == [Decimal("12")]
    unrevised = store.query(KEY, days[0], days[0])[0]
    assert unrevised.revisions == ()
    assert [p.revised for p in store.present(KEY)] == [False, False, True]


STOCK = "STOCK#PETR4"
BAR = {"close": Decimal("34.1"), "adj_close": Decimal("30.2"), "volume": 1000}
REBASED = {**BAR, "adj_close": Decimal("29.9")}


def _adjustment(seen: datetime = SEEN) -> Revision:
    return Revision(
        Decimal("34.1"),
        Decimal("34.1"),
        seen,
        "revise yahoo:PETR4.SA",
        previous_attrs=dict(BAR),
        kind=HistoryKind.ADJUSTMENT,
    )


def test_an_adjustment_is_kept_in_the_history_but_is_no_revision(store: Store) -> None:
    days = [DAY, DAY + timedelta(days=1)]
    store.put_records([Record(STOCK, d, Decimal("34.1"), Status.OK, attrs=BAR) for d in days])
    assert store.revise(STOCK, DAY, _adjustment(), REBASED, history=0)
    rec = store.query(STOCK, DAY, DAY)[0]
    assert (rec.value, rec.attrs) == (Decimal("34.1"), REBASED)
    assert rec.revisions == (_adjustment(),)
    assert rec.revisions[0].kind is HistoryKind.ADJUSTMENT
    assert store.revised(STOCK) == []
    assert [p.revised for p in store.present(STOCK)] == [False, False]
    assert [p.revised for p in store.present_after(STOCK, DAY - timedelta(days=1))] == [
        False,
        False,
    ]
    # A correction of the value after it: the history holds both, and now it is revised.
    later = SEEN + timedelta(days=1)
    correction = Revision(Decimal("34.1"), Decimal("34.3"), later, "revise r2")
    assert store.revise(STOCK, DAY, correction, REBASED, history=1)
    [revised] = store.revised(STOCK)
    assert revised.revisions == (_adjustment(), correction)
    assert [k.kind for k in revised.revisions] == [HistoryKind.ADJUSTMENT, HistoryKind.REVISION]
    assert [p.revised for p in store.present(STOCK)] == [True, False]
    assert [p.revised for p in store.present_after(STOCK, DAY - timedelta(days=1))] == [
        True,
        False,
    ]


def test_two_writers_adjusting_the_same_date_leave_one_history_entry(
    store_opener: StoreOpener,
) -> None:
    """At-least-once delivery: two scrapers of the same message both read the history empty;
    the second adjustment is refused (the caller reads again and finds it equal)."""
    first, second = store_opener(), store_opener()
    first.put_records([Record(STOCK, DAY, Decimal("34.1"), Status.OK, attrs=BAR)])
    assert first.revise(STOCK, DAY, _adjustment(), REBASED, history=0)
    assert not second.revise(STOCK, DAY, _adjustment(), REBASED, history=0)
    assert second.query(STOCK, DAY, DAY)[0].revisions == (_adjustment(),)


def test_put_records_writes_a_record_whole_and_keeps_no_history(store: Store) -> None:
    """put_records writes each record whole, as DynamoDB's Put does (the outlook's upsert):
    a history stored before is not kept over it, alike on every backend; a record carrying
    ``revisions`` is refused (only revise adds to a history) and nothing of its call is
    written."""
    store.put_records([Record(KEY, DAY, Decimal("127.98"), Status.OK)])
    assert store.revise(KEY, DAY, _revision("127.98", "128.1"), {})
    store.put_records([Record(KEY, DAY, Decimal("129.5"), Status.OK, attrs={"note": "again"})])
    rec = _one(store)
    assert (rec.value, rec.attrs, rec.revisions) == (Decimal("129.5"), {"note": "again"}, ())
    assert store.revised(KEY) == []
    assert not store.present(KEY)[0].revised
    other = DAY + timedelta(days=1)
    plain = Record(KEY, other, Decimal("3"), Status.OK)
    carried = Record(KEY, other, Decimal("2"), Status.OK, revisions=(_revision("1", "2"),))
    with pytest.raises(ValueError, match="carries 1 revision"):
        store.put_records([plain, carried])
    assert store.query(KEY, other, other) == []


def test_export_json_lists_a_records_attributes_in_one_order_on_every_backend(
    store: Store,
) -> None:
    """`fuelpipe export --format json` (and `quarantine list --json`) gives a record's fields,
    then its attributes sorted by name, whatever order the home hands them back in: a JSON map
    in SQLite keeps the order written, a DynamoDB map does not."""
    from fuelpipe.cli.main import record_json

    written = {"volume": 48_123_456, "open": Decimal("37.25"), "currency": "BRL", "adj": "x"}
    store.put_records([Record(KEY, DAY, Decimal("34.0"), Status.OK, attrs=dict(written))])
    revision = Revision(Decimal("34.0"), Decimal("34.1"), SEEN, "r1", previous_attrs=written)
    replaced = {"zeta": 1, "close": Decimal("34.1"), "open": Decimal("37.5")}
    assert store.revise(KEY, DAY, revision, replaced)
    row = record_json(_one(store))
    assert list(row) == ["date", "value", "status", "retry_count", *sorted(replaced), "revisions"]
    assert list(row["revisions"][0]["previous_attrs"]) == sorted(written)


def test_an_answer_requested_before_the_stored_write_revises_nothing(
    store_opener: StoreOpener,
) -> None:
    """Two readers of one source: A sends its request, B fetches the source's correction and
    stores it, then A's answer (the value from before the correction) arrives. Revising with
    ``answered_at`` (when A sent its request, on the store's wall clock) raises
    AnsweredBefore, however A read the record: the stored value was written after it and may
    be the later answer. An answer requested after that write, or at its very instant,
    revises as before. The business clock is fixed (a ``--now`` run: every ``updated_at``
    equal), and the writes are ordered all the same: on the wall clock, apart from it."""
    business, wall = FixedClock(SEEN), ManualClock(SEEN)
    first, second = store_opener(business, wall), store_opener(business, wall)

    def seen(previous: str, new: str) -> Revision:
        return _revision(previous, new, business.now())

    assert first.add_records([Record(KEY, DAY, Decimal("104.5"), Status.OK)]) == []
    wall.advance(timedelta(minutes=1))
    a_sent = first.wall_now()
    wall.advance(timedelta(seconds=5))
    b_sent = second.wall_now()
    wall.advance(timedelta(seconds=5))  # B's answer: the correction, stored now
    assert second.revise(KEY, DAY, seen("104.5", "199.5"), {}, history=0, answered_at=b_sent)
    b_stored = wall.now()
    wall.advance(timedelta(seconds=30))  # A's answer: the value from before it

    with pytest.raises(AnsweredBefore):
        first.revise(KEY, DAY, seen("199.5", "104.5"), {}, history=1, answered_at=a_sent)

    rec = _one(first)
    assert (rec.value, len(rec.revisions), rec.updated_at) == (Decimal("199.5"), 1, SEEN)
    # A request sent at the instant of the write, or after it, may revise it.
    assert first.revise(KEY, DAY, seen("199.5", "200"), {}, history=1, answered_at=b_stored)
    wall.advance(timedelta(seconds=1))
    assert first.revise(KEY, DAY, seen("200", "201"), {}, history=2, answered_at=wall.now())
    assert _one(first).value == Decimal("201")


def test_an_answer_older_than_a_value_added_meanwhile_revises_nothing(
    store_opener: StoreOpener,
) -> None:
    """A value another reader added (add_records: the date was PENDING) after A sent its
    request is as new as a revised one: A's older answer may not revise it either."""
    wall = ManualClock(SEEN)
    store = store_opener(FixedClock(SEEN), wall)
    a_sent = store.wall_now()
    wall.advance(timedelta(seconds=5))
    assert store.add_records([Record(KEY, DAY, Decimal("199.5"), Status.OK)]) == []
    wall.advance(timedelta(seconds=5))

    with pytest.raises(AnsweredBefore):
        store.revise(KEY, DAY, _revision("199.5", "104.5"), {}, history=0, answered_at=a_sent)
    assert _one(store).value == Decimal("199.5")


def test_a_write_stamped_by_a_wall_clock_ahead_refuses_no_answer(
    store_opener: StoreOpener,
) -> None:
    """A record a wall clock ahead of the reader's stamped (another machine's) holds a stamp
    later than the reader's store's now: it orders nothing, so an answer requested before it
    still revises (refusing it would keep the source's value out until the clocks met)."""
    ahead, here = ManualClock(SEEN + timedelta(days=3)), ManualClock(SEEN)
    store_opener(wall=ahead).add_records([Record(KEY, DAY, Decimal("104.5"), Status.OK)])
    reader = store_opener(wall=here)
    sent = reader.wall_now()
    here.advance(timedelta(seconds=10))
    revision = _revision("104.5", "199.5")

    assert reader.revise(KEY, DAY, revision, {}, history=0, answered_at=sent)
    assert _one(reader).value == Decimal("199.5")


def test_put_records_stamps_the_wall_clock_as_add_records_does(
    store_opener: StoreOpener,
) -> None:
    """A record put after an answer's request was sent is as new as one added: the answer
    may not revise it; one sent after the put may."""
    wall = ManualClock(SEEN)
    store = store_opener(wall=wall)
    sent = store.wall_now()
    wall.advance(timedelta(seconds=1))
    store.put_records([Record(KEY, DAY, Decimal("104.5"), Status.OK)])
    wall.advance(timedelta(seconds=1))
    with pytest.raises(AnsweredBefore):
        store.revise(KEY, DAY, _revision("104.5", "199.5"), {}, history=0, answered_at=sent)
    sent = store.wall_now()
    assert store.revise(KEY, DAY, _revision("104.5", "199.5"), {}, history=0, answered_at=sent)
