"""The Store port's marks of a PENDING record (``pending_marks``: its first-failure instant,
the source's "no value" answer) and its
keys-only read of which series hold records at all (``stored_keys``): every backend must
pass every test here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.models import Record, Status, no_value_seen
from fuelpipe.ports.store import PendingMarks, Store

KEY = "CURRENCY#USD"
OTHER = "STOCK#PETR4"
D0, D1, D2 = date(2006, 1, 2), date(2006, 1, 3), date(2006, 1, 4)
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def pending(day: date, key: str = KEY, reason: str = "HTTP 503") -> Record:
    return Record(key, day, None, Status.PENDING, next_attempt_at=NOW + HOUR, reason=reason)


def pending_since(store: Store, slots: list[tuple[str, date]]) -> dict[tuple[str, date], datetime]:
    """The first-failure instants ``pending_marks`` reads, of the records that carry one."""
    return {s: m.since for s, m in store.pending_marks(slots).items() if m.since is not None}


def clocked(store: Store) -> ManualClock:
    """The store's business clock (the public attribute a home sets) as a manual one."""
    clock = ManualClock(NOW)
    store.clock = clock  # type: ignore[attr-defined]  # both adapters stamp with it
    return clock


def test_a_pending_record_keeps_when_it_first_became_pending_across_retries(store: Store) -> None:
    """Created at NOW; refreshed by later failures, claimed, given back, claimed again: the
    instant stays NOW (its write time moves with each of those)."""
    clock = clocked(store)
    assert store.put_pending(pending(D0))
    clock.advance(HOUR)
    assert store.put_pending(pending(D0, reason="HTTP 500"))  # the next failure, a refresh
    assert store.put_pendings([pending(D0, reason="HTTP 502"), pending(D1)]) == [True, True]
    clock.advance(HOUR)
    assert store.claim_retry(KEY, D0, 0, 1, NOW + 5 * HOUR)
    assert store.give_back_retry(KEY, D0, 1, NOW + 5 * HOUR, 0, NOW + HOUR)
    assert store.claim_retry(KEY, D0, 0, 1, NOW + 6 * HOUR)

    assert pending_since(store, [(KEY, D0), (KEY, D1)]) == {(KEY, D0): NOW, (KEY, D1): NOW + HOUR}
    (record,) = store.query(KEY, D0, D0)
    assert record.updated_at == NOW + 2 * HOUR  # the write time is the last retry's claim


def test_leaving_pending_clears_it_and_a_release_starts_it_again(store: Store) -> None:
    clock = clocked(store)
    for day in (D0, D1, D2):
        assert store.put_pending(pending(day))
    clock.advance(HOUR)
    assert store.quarantine(KEY, D0, 0, "spent")  # QUARANTINED
    assert store.put_pending(Record(KEY, D1, None, Status.QUARANTINED, reason="refused"))
    assert store.put_records([Record(KEY, D2, Decimal("5.1"), Status.OK)])  # stored OK
    assert pending_since(store, [(KEY, D0), (KEY, D1), (KEY, D2)]) == {}

    released = NOW + 3 * HOUR
    clock.set(released)
    assert store.release(KEY, D0, released)
    assert store.release(KEY, D1, released)
    # PENDING again from the release, not from the first failure before the quarantine
    assert pending_since(store, [(KEY, D0), (KEY, D1)]) == {
        (KEY, D0): released,
        (KEY, D1): released,
    }


def test_an_absent_date_and_a_slot_with_no_record_have_none(store: Store) -> None:
    clocked(store)
    assert store.put_pending(pending(D0))
    assert store.put_pending(Record(KEY, D0, None, Status.ABSENT, reason="no value"))
    assert store.put_pending(pending(D1, key=OTHER))
    assert pending_since(store, [(KEY, D0), (KEY, D1), (OTHER, D1), ("NO#SUCH", D1)]) == {
        (OTHER, D1): NOW
    }
    assert pending_since(store, []) == {}


def test_pending_marks_reads_many_slots_at_once(store: Store) -> None:
    """More slots than the reads in flight at once, each answered once."""
    clock = clocked(store)
    days = [D0 + timedelta(days=i) for i in range(130)]
    for i, day in enumerate(days):
        clock.set(NOW + i * timedelta(seconds=1))
        assert store.put_pending(pending(day))
    slots = [(KEY, day) for day in days]
    found = pending_since(store, [*slots, *slots[:5]])  # asked twice: answered once
    assert found == {slot: NOW + i * timedelta(seconds=1) for i, slot in enumerate(slots)}


def test_pending_marks_say_which_dates_the_source_answered_with_no_value(store: Store) -> None:
    """The mark the scraper leaves on a PENDING record (``no_value_seen_at``, in its
    attributes) is read with its first-failure instant; a record without it, or made PENDING
    before that instant was kept, carries None; other attributes are not read."""
    clock = clocked(store)
    seen = NOW - HOUR
    said = replace(pending(D0, reason="fred: no value published"), attrs=no_value_seen(seen))
    assert store.put_pending(said)
    assert store.put_pending(replace(pending(D1), attrs={"other": "x"}))
    clock.advance(HOUR)
    assert store.put_pending(replace(pending(D2, key=OTHER), attrs=no_value_seen(NOW)))
    assert store.pending_marks([(KEY, D0), (KEY, D1), (OTHER, D2), (OTHER, D0)]) == {
        (KEY, D0): PendingMarks(NOW, seen),
        (KEY, D1): PendingMarks(NOW, None),
        (OTHER, D2): PendingMarks(NOW + HOUR, NOW),
    }
    # ABSENT at the window's end: no mark to read any more
    assert store.put_pending(Record(KEY, D0, None, Status.ABSENT, reason="fred: no value"))
    assert store.pending_marks([(KEY, D0)]) == {}


def test_stored_keys_are_the_keys_present_reads_anything_of(store: Store) -> None:
    """The per-series answer (a key whose ``present`` is not empty), for every status."""
    keys = [f"K#{i}" for i in range(6)]
    store.put_records([Record(keys[0], D0, Decimal("1"), Status.OK)])
    assert store.put_pending(pending(D0, key=keys[1]))
    assert store.put_pending(pending(D0, key=keys[2]))
    assert store.quarantine(keys[2], D0, 0, "spent")
    assert store.put_pending(Record(keys[3], D0, None, Status.ABSENT, reason="-"))
    store.put_meta(keys[4], "a setting, not a record")
    assert store.set_watermark(keys[5], None, 0, None)  # a watermark, not a record
    asked = [*keys, keys[0], "CURRENCY#USD"]
    per_series = {k for k in asked if store.present(k)}
    assert per_series == set(keys[:4])
    assert store.stored_keys(asked) == per_series
    assert store.stored_keys([]) == set()
    # one deleted record was a key's only one: the key holds nothing any more
    assert store.delete_not_ok(keys[1], D0)
    assert (
        store.stored_keys(asked)
        == {k for k in asked if store.present(k)}
        == {
            keys[0],
            keys[2],
            keys[3],
        }
    )
