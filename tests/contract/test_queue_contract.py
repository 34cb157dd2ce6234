"""The Queue port's contract: every backend must pass every test here."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from fuelpipe.ports.queue import DeadLettersRemain, Message, Queue, QueueDepth

if TYPE_CHECKING:
    from contract.conftest import QueueBackend


def drain(queue: Queue, limit: int = 100) -> list[Message]:
    """Receive until nothing is visible (a remote queue may return fewer than asked per call)."""
    got: list[Message] = []
    empty_in_a_row = 0
    while len(got) < limit and empty_in_a_row < 2:
        batch = queue.receive(10)
        empty_in_a_row = 0 if batch else empty_in_a_row + 1
        got.extend(batch)
    return got


def test_send_receive_delete(queue: Queue) -> None:
    bodies = ['{"n": 1}', '{"n": 2}', '{"área": "São Paulo"}']
    assert queue.send(bodies) == 3
    got = drain(queue)
    assert sorted(m.body for m in got) == sorted(bodies)
    assert all(m.receive_count == 1 for m in got)
    assert len({m.message_id for m in got}) == 3
    assert len({m.receipt for m in got}) == 3
    assert queue.depth() == QueueDepth(visible=0, in_flight=3, dead=0)
    queue.delete([m.receipt for m in got])
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)
    assert queue.receive() == []


def test_send_batches_many_bodies(queue: Queue) -> None:
    bodies = [f'{{"n": {i}}}' for i in range(27)]
    assert queue.send(bodies) == 27
    assert queue.send([]) == 0
    got = drain(queue)
    assert sorted(m.body for m in got) == sorted(bodies)


def test_receive_returns_at_most_max_messages(queue: Queue) -> None:
    queue.send([f"m{i}" for i in range(5)])
    first = queue.receive(2)
    assert 1 <= len(first) <= 2
    rest = drain(queue)
    assert sorted(m.body for m in first + rest) == [f"m{i}" for i in range(5)]


def test_a_receive_willing_to_wait_takes_what_waits(queue: Queue) -> None:
    """``wait_s``: how long the caller would wait when nothing comes at once (an SQS long
    poll); with messages waiting it returns them without waiting. A negative wait is refused."""
    queue.send([f"m{i}" for i in range(3)])
    first = queue.receive(10, wait_s=1)
    assert first
    rest = drain(queue)
    assert sorted(m.body for m in first + rest) == ["m0", "m1", "m2"]
    for wrong in (-1, float("nan")):
        with pytest.raises(ValueError, match="wait_s"):
            queue.receive(10, wait_s=wrong)


def test_an_undeleted_message_comes_back_after_the_visibility_timeout(
    queue_backend: QueueBackend,
) -> None:
    queue = queue_backend.open()  # the backend's short visibility: this test waits it out
    queue.send(["work"])
    (first,) = drain(queue)
    queue_backend.let_time_pass(timedelta(seconds=1))
    assert queue.receive() == []  # still invisible: nobody else gets it
    queue_backend.let_visibility_expire()
    (again,) = drain(queue)
    assert again.message_id == first.message_id
    assert again.body == "work"
    assert again.receive_count == 2
    assert again.receipt != first.receipt
    queue.delete([again.receipt])
    queue_backend.let_visibility_expire()
    assert queue.receive() == []


def test_released_messages_are_visible_again_at_once(queue: Queue) -> None:
    """An interrupted worker gives back what it holds: the next one need not wait out the
    visibility timeout (which is minutes: one message's slowest fetch)."""
    queue.send(["a", "b", "c"])
    got = drain(queue)
    assert queue.held().count == 3
    done = next(m for m in got if m.body == "a")
    queue.delete([done.receipt])
    queue.release([m.receipt for m in got if m is not done])
    queue.release([])
    assert queue.held().count == 0
    again = drain(queue)
    assert sorted(m.body for m in again) == ["b", "c"]
    assert all(m.receive_count == 2 for m in again)
    queue.delete([m.receipt for m in again])
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)


def test_a_deferred_message_comes_back_no_sooner_than_its_delay(
    queue_backend: QueueBackend,
) -> None:
    """A source resting after a Retry-After: its message is given back hidden until the rest
    ends (past the visibility timeout), the others as usual; it comes back then, its receive
    counted once more, and nothing is dead-lettered."""
    queue = queue_backend.open()  # the backend's short visibility: this test waits it out
    queue.send(["rested", "other"])
    got = drain(queue)
    rested = next(m for m in got if m.body == "rested")
    delay = queue_backend.visibility * 4
    queue.defer([rested.receipt], delay)
    queue.defer([], delay)
    held = queue.held()  # the rested one is held by no one: apart where the queue can tell
    assert (held.orphaned, held.orphaned_pids) == (0, ())
    if held.deferred_apart:  # the embedded queue
        assert (held.count, held.deferred) == (1, 1)
        if queue_backend.supports_manual_clock:
            assert held.deferred_until == queue_backend.clock.now() + delay
            assert held.back_by == queue_backend.clock.now() + queue_backend.visibility
    else:  # SQS: in flight, both
        assert (held.count, held.deferred, held.deferred_until) == (2, 0, None)
    queue_backend.let_visibility_expire()  # the other one is back; the rested one is not
    (other,) = drain(queue)
    assert other.body == "other"
    queue.delete([other.receipt])
    queue_backend.let_pass(delay - queue_backend.visibility)  # past the delay, with a margin
    (again,) = drain(queue)
    assert (again.message_id, again.body) == (rested.message_id, "rested")
    assert again.receive_count == 2
    queue.defer([rested.receipt], delay)  # a stale receipt: nothing to hide
    queue.delete([again.receipt])
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)


def test_a_stale_receipt_deletes_nothing(queue_backend: QueueBackend) -> None:
    queue = queue_backend.open()  # the backend's short visibility: this test waits it out
    if not queue_backend.stale_receipt_is_noop:
        pytest.skip("this backend documents a delete with a stale receipt as undefined")
    queue.send(["work"])
    (first,) = drain(queue)
    queue_backend.let_visibility_expire()
    (second,) = drain(queue)
    queue.delete([first.receipt])  # the first receiver finished late: its receipt is stale
    assert queue.depth().in_flight == 1
    queue.delete([second.receipt])
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)


def test_too_many_receives_move_a_message_to_the_dead_letters(queue_backend: QueueBackend) -> None:
    queue = queue_backend.open()  # the backend's short visibility: this test waits it out
    queue.send(["poison"])
    for attempt in range(1, queue.max_receives + 1):
        (message,) = drain(queue)
        assert message.receive_count == attempt
        queue_backend.let_visibility_expire()
    assert drain(queue) == []
    (dead,) = queue.dead_letters()
    assert dead.body == "poison"
    assert dead.receive_count >= queue.max_receives
    assert re.fullmatch(
        r"received \d+ times without being processed; no error was recorded "
        r"with it: .* under this message id",
        dead.reason,
    ), dead.reason
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=1)


def test_a_message_dead_lettered_twice_is_one_dead_letter_with_its_reason(queue: Queue) -> None:
    """At-least-once: two deliveries of one message (or a retry after a lost answer) can both
    dead-letter it. The dead-letter view shows it once, with its reason: an operator reads one
    message, not two (SQS may still count both copies in the DLQ)."""
    queue.send(["poison"])
    (message,) = drain(queue)
    reason = "received 5 times without being processed; the last time: ValueError: boom"
    queue.dead_letter(message, reason)
    queue.dead_letter(message, reason)
    (dead,) = queue.dead_letters()
    assert (dead.message_id, dead.body, dead.reason) == (message.message_id, "poison", reason)
    assert drain(queue) == []


def test_dead_letter_and_redrive(queue_backend: QueueBackend) -> None:
    queue = queue_backend.open()  # the backend's short visibility: this test waits it out
    queue.send(['{"bad": true}', '{"good": true}'])
    got = {m.body: m for m in drain(queue)}
    reason = "malformed message (schema v1): partition_key: Field required"
    queue.dead_letter(got['{"bad": true}'], reason)
    queue.delete([got['{"good": true}'].receipt])
    (dead,) = queue.dead_letters()
    assert (dead.body, dead.reason) == ('{"bad": true}', reason)
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=1)
    queue_backend.let_visibility_expire()
    assert queue.receive() == []  # dead-lettered messages are not redelivered

    assert queue.redrive() == 1
    assert queue.dead_letters() == []
    (back,) = drain(queue)
    assert back.body == '{"bad": true}'
    assert back.receive_count == 1
    assert queue.redrive() == 0


def test_redrive_and_purge_take_every_dead_letter_once_over_several_batches(
    queue: Queue,
) -> None:
    """More dead letters than one receive brings (SQS: 10): redrive sends each back exactly
    once and leaves none; purge then deletes every one."""
    bodies = [f'{{"n": {i}}}' for i in range(23)]
    queue.send(bodies)
    for message in drain(queue):
        queue.dead_letter(message, "malformed message")
    assert queue.depth().dead == 23

    assert queue.redrive() == 23
    assert queue.dead_letters() == []
    back = drain(queue)
    assert sorted(m.body for m in back) == sorted(bodies)
    for message in back:
        queue.dead_letter(message, "malformed message")

    assert queue.purge_dead_letters() == 23
    assert queue.dead_letters() == []
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)
    assert queue.redrive() == 0
    assert queue.purge_dead_letters() == 0


def dead_letter_all(queue: Queue, bodies: list[str]) -> None:
    queue.send(bodies)
    for message in drain(queue):
        queue.dead_letter(message, "malformed message")


def test_a_purge_of_named_dead_letters_deletes_those_and_keeps_every_other(
    queue: Queue,
) -> None:
    """`dlq purge` reads the dead letters, asks about those, then purges them by id: those
    dead-lettered after the read stay, on SQS too, which returns a standard queue's messages in
    no set order (purging "as many as were asked about" could take a late one, unseen). The
    others are visible again at once: the read right after sees them. Twelve cross one
    receive's ten on SQS."""
    counted = [f'{{"seen": {i}}}' for i in range(12)]
    dead_letter_all(queue, counted)
    asked = {d.message_id for d in queue.dead_letters()}
    late = ['{"late": 1}', '{"late": 2}', '{"late": 3}']
    dead_letter_all(queue, late)
    assert queue.depth().dead == 15

    assert queue.purge_dead_letters(ids=asked) == 12
    assert sorted(d.body for d in queue.dead_letters()) == late
    assert queue.depth().dead == 3
    assert queue.purge_dead_letters(ids=set()) == 0  # none named: none deleted, not every one
    assert queue.depth().dead == 3
    with pytest.raises(TypeError, match="not one string"):
        queue.purge_dead_letters(ids=next(iter(asked)))


def test_a_purge_naming_a_dead_letter_no_longer_there_says_so_where_it_cannot_vouch(
    queue: Queue, queue_backend: QueueBackend
) -> None:
    """A dead letter asked about can be gone by the time the purge runs (another person's purge
    or redrive): the embedded queue knows it is and deletes the rest; SQS cannot tell one gone
    from one another reader holds, so it deletes those it finds and raises DeadLettersRemain
    saying how many of those asked about it did not find."""
    dead_letter_all(queue, ["a", "b"])
    ids = {d.body: d.message_id for d in queue.dead_letters()}
    assert queue.purge_dead_letters(ids={ids["a"]}) == 1
    assert [d.body for d in queue.dead_letters()] == ["b"]

    if queue_backend.vouches_for_purged_dead_letters:
        assert queue.purge_dead_letters(ids=set(ids.values())) == 1
    else:
        with pytest.raises(DeadLettersRemain) as short:
            queue.purge_dead_letters(ids=set(ids.values()))
        assert (short.value.action, short.value.done, short.value.expected) == ("purged", 1, 2)
        assert "purged 1 of the 2 dead letter(s) asked about" in str(short.value)
    assert queue.dead_letters() == []
    assert queue.depth().dead == 0


def test_depth_counts_visible_in_flight_and_dead(queue: Queue) -> None:
    assert queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)
    queue.send(["a", "b", "c"])
    assert queue.depth() == QueueDepth(visible=3, in_flight=0, dead=0)
    (one,) = queue.receive(1)
    assert queue.depth() == QueueDepth(visible=2, in_flight=1, dead=0)
    queue.dead_letter(one, "unprocessable")
    assert queue.depth() == QueueDepth(visible=2, in_flight=0, dead=1)


def test_waiting_counts_visible_and_in_flight_not_the_dead_letters(queue: Queue) -> None:
    """What the AWS orchestrator reads to know whether a gap it sent may still wait
    (stages/orchestrate.py claim_gaps): SQS's count of the main queue alone, one call."""
    assert queue.waiting() == 0
    queue.send(["a", "b", "c"])
    (one,) = queue.receive(1)
    assert queue.waiting() == 3
    queue.dead_letter(one, "unprocessable")
    assert queue.waiting() == 2
    for message in queue.receive(10, wait_s=1):
        queue.delete([message.receipt])
    assert queue.waiting() == 0


def test_two_receivers_never_get_the_same_message(queue_backend: QueueBackend) -> None:
    sender = queue_backend.open()
    bodies = [f"job-{i}" for i in range(40)]
    sender.send(bodies)
    # each hides what it receives for a minute: on SQS's 1 s then a busy host's receivers saw
    # messages come back mid-test (107 receipts of 40 in one CI run), not what this checks
    assert queue_backend.open_holding is not None
    receivers = [queue_backend.open_holding(60) for _ in range(3)]
    barrier = threading.Barrier(len(receivers))
    received: list[Message] = []
    lock = threading.Lock()

    def work(client: Queue) -> None:
        barrier.wait()
        while batch := client.receive(3):
            with lock:
                received.extend(batch)

    threads = [threading.Thread(target=work, args=(r,)) for r in receivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    received.extend(drain(sender))  # a remote queue may have held a few back
    ids = [m.message_id for m in received]
    assert len(ids) == len(set(ids)) == len(bodies)
    assert sorted(m.body for m in received) == sorted(bodies)
