"""The Store port's revision contract: every backend keeps a revised value's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fuelpipe.domain.models import Record, Revision, Status
from fuelpipe.ports.store import Store

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
