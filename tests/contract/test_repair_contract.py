"""Port methods behind `fuelpipe repair`, `dlq purge`, a demo store's remembered clock and the
rerun notice after a crash: every backend must pass every test here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store

if TYPE_CHECKING:
    from contract.conftest import QueueBackend

KEY = "CURRENCY#USD"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def _pending(day: date) -> Record:
    return Record(
        KEY, day, None, Status.PENDING, next_attempt_at=NOW, reason="no data yet", updated_at=NOW
    )


def test_delete_not_ok_removes_pending_and_quarantined_but_never_ok(store: Store) -> None:
    ok_day, pending_day, quarantined_day = date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)
    store.put_records([Record(KEY, ok_day, Decimal("5.1"), Status.OK)])
    store.put_pending(_pending(pending_day))
    store.put_pending(_pending(quarantined_day))
    assert store.quarantine(KEY, quarantined_day, 0, "spent")

    assert not store.delete_not_ok(KEY, ok_day)
    assert store.delete_not_ok(KEY, pending_day)
    assert store.delete_not_ok(KEY, quarantined_day)
    assert not store.delete_not_ok(KEY, pending_day)  # already gone
    assert not store.delete_not_ok(KEY, date(2030, 1, 1))  # never there

    assert [(p.date, p.status) for p in store.present(KEY)] == [(ok_day, Status.OK)]
    assert store.pending() == []
    assert store.quarantined() == []


def test_meta_is_remembered_and_replaced(store_opener) -> None:
    first = store_opener()
    assert first.get_meta("clock") is None
    first.put_meta("clock", "2022-05-07T23:59:00-03:00")
    assert store_opener().get_meta("clock") == "2022-05-07T23:59:00-03:00"  # another client
    first.put_meta("clock", "2022-05-08T00:00:00-03:00")
    assert first.get_meta("clock") == "2022-05-08T00:00:00-03:00"
    assert first.get_meta("other") is None
    assert first.present("clock") == []  # not a series record


def test_held_counts_in_flight_messages_until_they_come_back(queue_backend: QueueBackend) -> None:
    queue = queue_backend.open()  # the backend's short visibility: this test waits it out
    assert queue.held().count == 0
    assert queue.held().back_by is None
    queue.send(['{"n": 1}', '{"n": 2}'])
    got: list[object] = []
    for _ in range(5):
        got.extend(queue.receive(10))
        if len(got) == 2:
            break
    assert len(got) == 2
    held = queue.held()
    assert held.count == 2
    # Received at the clock's "now" (it has not moved since): back one visibility timeout on.
    assert held.back_by == queue_backend.clock.now() + queue_backend.visibility
    queue_backend.let_visibility_expire()
    assert queue.held().count == 0


def test_purge_dead_letters_deletes_them_for_good(queue: Queue) -> None:
    queue.send(['{"bad": 1}', '{"bad": 2}', '{"good": 3}'])
    received: list = []
    for _ in range(5):
        received.extend(queue.receive(10))
        if len(received) == 3:
            break
    for m in received:
        if "bad" in m.body:
            queue.dead_letter(m, "malformed")
        else:
            queue.delete([m.receipt])
    assert len(queue.dead_letters()) == 2
    assert queue.purge_dead_letters() == 2
    assert queue.dead_letters() == []
    assert queue.purge_dead_letters() == 0
    assert queue.depth().dead == 0
