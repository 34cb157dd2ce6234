"""The Store port's ABSENT contract: a date the source says has no value is kept, not retried."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fuelpipe.domain.models import PresentDate, Record, Status
from fuelpipe.ports.store import Store

KEY = "FUEL#ETHANOL#AP"
DAY = date(2025, 10, 26)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _absent(day: date = DAY) -> Record:
    return Record(KEY, day, None, Status.ABSENT, reason="anp: no row for this key")


def _pending(day: date = DAY) -> Record:
    return Record(KEY, day, None, Status.PENDING, next_attempt_at=NOW, reason="not yet")


def test_an_absent_record_is_present_but_never_due_pending_or_quarantined(store: Store) -> None:
    assert store.put_pending(_absent())
    assert store.present(KEY) == [PresentDate(DAY, Status.ABSENT)]
    (rec,) = store.query(KEY)
    assert rec.status is Status.ABSENT and rec.value is None
    assert rec.reason == "anp: no row for this key"
    assert rec.next_attempt_at is None
    far = NOW + timedelta(days=3650)
    assert store.due_pending(far) == []
    assert store.pending() == [] and store.quarantined() == []


def test_a_pending_record_becomes_absent_and_leaves_the_retry_index(store: Store) -> None:
    assert store.put_pending(_pending())
    assert [r.date for r in store.due_pending(NOW)] == [DAY]
    assert store.put_pending(_absent())
    assert store.due_pending(NOW + timedelta(days=1)) == []
    assert store.pending() == []
    (rec,) = store.query(KEY)
    assert rec.status is Status.ABSENT and rec.next_attempt_at is None


def test_absent_never_replaces_ok_or_quarantined_and_a_value_replaces_absent(store: Store) -> None:
    store.put_records([Record(KEY, DAY, Decimal("5.1"), Status.OK)])
    assert not store.put_pending(_absent())
    assert store.query(KEY)[0].status is Status.OK
    other = DAY + timedelta(days=7)
    assert store.put_pending(_pending(other))
    assert store.quarantine(KEY, other, 0, "spent")
    assert not store.put_pending(_absent(other))
    assert store.query(KEY, other, other)[0].status is Status.QUARANTINED
    third = DAY + timedelta(days=14)
    assert store.put_pending(_absent(third))
    store.put_records([Record(KEY, third, Decimal("5.3"), Status.OK)])
    (rec,) = store.query(KEY, third, third)
    assert rec.status is Status.OK and rec.value == Decimal("5.3")


def test_an_absent_record_is_left_alone_by_another_no_value_or_a_failure(store: Store) -> None:
    """`revise` asks for ABSENT dates again: the same "no value" again writes nothing (so it
    moves no data version), and neither a PENDING mark (a failed re-read) nor a batch of
    them turns the source's "no value" into retries."""
    assert store.put_pending(_absent())
    later = _absent().with_(reason="the source says: still no value")
    assert not store.put_pending(later)
    assert not store.put_pending(_pending())
    assert store.put_pendings([later, _pending()]) == [False, False]
    (rec,) = store.query(KEY)
    assert (rec.status, rec.reason) == (Status.ABSENT, "anp: no row for this key")
    assert store.pending() == [] and store.due_pending(NOW + timedelta(days=1)) == []


def test_a_pending_record_keeps_the_no_value_answer_until_another_answer_replaces_it(
    store: Store,
) -> None:
    """The scraper marks a date the source answered with "no value" inside its window
    (`no_value_seen`); watch and the window polls read that mark to leave the date alone.
    A later refresh without it (a failed request) clears it, and so does the value."""
    from fuelpipe.domain.models import no_value_seen, no_value_seen_at

    assert store.put_pending(_pending().with_(attrs=no_value_seen(NOW)))
    (rec,) = store.query(KEY, DAY, DAY, fields=("attrs",))
    assert no_value_seen_at(rec.attrs) == NOW
    assert [no_value_seen_at(r.attrs) for r in store.pending()] == [NOW]
    assert store.put_pending(_pending().with_(reason="HTTP 503"))
    (rec,) = store.query(KEY, DAY, DAY)
    assert no_value_seen_at(rec.attrs) is None
    assert store.put_pending(_pending().with_(attrs=no_value_seen(NOW)))
    store.put_records([Record(KEY, DAY, Decimal("5.2"), Status.OK)])
    (rec,) = store.query(KEY, DAY, DAY)
    assert rec.status is Status.OK and rec.attrs == {}


def test_a_pending_record_keeps_whether_the_no_value_answer_had_a_row(store: Store) -> None:
    """ANP's week without the key's row is marked so (`no_value_seen(..., no_row=True)`);
    its '-' row is not: watch asks again only for the first (stages/due.py, row_left_out)."""
    from fuelpipe.domain.models import no_value_seen, no_value_seen_at, no_value_without_row

    assert store.put_pending(_pending().with_(attrs=no_value_seen(NOW, no_row=True)))
    (rec,) = store.query(KEY, DAY, DAY, fields=("attrs",))
    assert no_value_seen_at(rec.attrs) == NOW and no_value_without_row(rec.attrs)
    assert store.put_pending(_pending().with_(attrs=no_value_seen(NOW)))
    (rec,) = store.query(KEY, DAY, DAY, fields=("attrs",))
    assert no_value_seen_at(rec.attrs) == NOW and not no_value_without_row(rec.attrs)
