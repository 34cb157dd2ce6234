"""The queue port: at-least-once delivery with visibility timeouts and a dead-letter store."""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Message:
    """A received message: delete it with its receipt once processed."""

    message_id: str
    receipt: str
    body: str
    receive_count: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message moved aside for a person, with the reason."""

    message_id: str
    body: str
    reason: str
    receive_count: int
    dead_at: datetime | None
    """When it was dead-lettered, as far as the queue tells (the dead-letter alert's
    ``since``): the embedded queue's move; on SQS the SentTimestamp of the DLQ's message, which
    for one sent there with its reason (:meth:`Queue.dead_letter`) is the move, and for one
    SQS moved itself after ``maxReceiveCount`` receives is when it was first sent (SQS keeps a
    message's enqueue time in its DLQ). None: not told."""
    copies: int = 1
    """How many of the dead-letter store's messages this one stands for: SQS can hold one
    message twice (dead-lettered with its reason by a delivery whose delete then failed, and
    moved again by the RedrivePolicy; or dead-lettered by two deliveries at once), shown once
    with its reason; counts (``dead_letter_count``) count each copy."""


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """How many messages wait, are in flight, and are dead-lettered."""

    visible: int
    in_flight: int
    dead: int


@dataclass(frozen=True, slots=True)
class HeldMessages:
    """Messages received and not deleted, hidden: held by a consumer (another process, or an
    interrupted run's) until their timeout ends, or deferred until a source's rest ends."""

    count: int
    """Those held by a consumer alive, or not known to be gone (on SQS, every in-flight
    message: it cannot tell a held one from a deferred one, see ``deferred_apart``)."""
    back_by: datetime | None
    """When the last of them is visible again, at the latest (None when there are none)."""
    deferred: int = 0
    """Those deferred on purpose (:meth:`Queue.defer`: their source rests after a
    Retry-After), held by no one; 0 where the queue cannot tell them apart (SQS)."""
    deferred_until: datetime | None = None
    """When the last deferred one is visible again (None when there are none)."""
    orphaned: int = 0
    """Those whose holder process is gone (killed): visible already, the next receive takes
    them back. Only a queue that knows its holders' processes (the embedded one) counts
    them; SQS: 0 (they are in ``count`` until their timeout ends)."""
    orphaned_pids: tuple[int, ...] = ()
    """The process ids those gone holders had, as far as known."""
    deferred_apart: bool = True
    """Whether ``deferred`` is told apart from ``count`` (False on SQS)."""


class DeadLettersIncomplete(RuntimeError):
    """The dead letters could not all be read this time (SQS: fewer came back than the queue's
    own count of them). ``found`` holds those read. A caller that takes a missing dead letter
    as gone (the alert rule that clears) must not take this shortfall so."""

    def __init__(self, found: Sequence[DeadLetter], expected: int) -> None:
        super().__init__(
            f"read {len(found)} of the {expected} dead letter(s) the queue counts; "
            "the rest were not returned this time"
        )
        self.found = list(found)
        self.expected = expected


class DeadLettersRemain(RuntimeError):
    """A redrive or purge handled fewer dead letters than the queue counted, or a purge by id
    found fewer of those it was asked about (``asked``) than it was given (SQS: the rest were
    not returned this time, or a send or delete failed part-way: ``error``, chained as the
    cause). Those it handled are done (moved back or deleted); ``remaining`` are still
    dead-lettered (asked about: or gone already, SQS cannot tell), and running it again
    handles them."""

    def __init__(
        self,
        action: str,
        done: int,
        expected: int,
        error: str | None = None,
        *,
        asked: bool = False,
    ) -> None:
        self.action = action
        """What was done to each one handled: ``moved`` back to the queue, or ``purged``."""
        self.done = done
        self.expected = expected
        self.remaining = max(expected - done, 0)
        self.error = error
        """The error that stopped it part-way (a send or delete the queue refused; the
        exception is chained as the cause); None when the rest were not returned."""
        self.asked = asked
        """``expected`` is how many a purge by id was asked about, not the queue's count."""
        if error is not None:
            rest = f"are still dead-lettered: it stopped on an error: {error}"
        elif asked:
            rest = "were not returned this time (still dead-lettered, or gone already)"
        else:
            rest = "were not returned this time and are still dead-lettered"
        of = "asked about" if asked else "the queue counts"
        super().__init__(
            f"{action} {done} of the {expected} dead letter(s) {of}; {self.remaining} {rest}"
        )


NO_ERROR_RECORDED = (
    "no error was recorded with it: its handler stopped before it could say why (a timeout, "
    "out of memory, a killed process) or could not dead-letter it; the log has each failure "
    "under this message id"
)
"""What a dead letter the queue moved on its own says in place of an error: the handler of
its last delivery did not dead-letter it with one (``stages/last_delivery.py``)."""


def too_many_receives(count: int, last_error: str | None = None) -> str:
    """The dead-letter reason of a message received ``count`` times and never processed, with
    the error it last failed with when the one who dead-letters it knows it, else where to
    look for it (:data:`NO_ERROR_RECORDED`)."""
    reason = f"received {count} times without being processed"
    return f"{reason}; " + (
        NO_ERROR_RECORDED if last_error is None else f"the last time: {last_error}"
    )


def purge_ids(ids: Collection[str] | None) -> frozenset[str] | None:
    """The message ids a purge is limited to (None: every dead letter), refusing one string:
    it is a collection of its characters, and would name none of the dead letters."""
    if isinstance(ids, str):
        raise TypeError("purge_dead_letters takes a collection of message ids, not one string")
    return None if ids is None else frozenset(ids)


class Queue(abc.ABC):
    """A work queue (SQLite or SQS) with a dead-letter side."""

    max_receives: int = 5
    retention: timedelta | None = None
    """How long the queue keeps a message that is not deleted before dropping it (SQS: the
    queue's MessageRetentionPeriod); None: until it is handled or dead-lettered (the embedded
    queue)."""

    @abc.abstractmethod
    def send(self, bodies: Sequence[str]) -> int:
        """Send message bodies, batching as the backend allows; returns how many were sent."""

    @abc.abstractmethod
    def receive(self, max_messages: int = 10, *, wait_s: float = 0) -> list[Message]:
        """Receive up to ``max_messages``; they stay invisible for the visibility timeout.

        ``wait_s``: how long the caller is willing to wait for a message when none comes at
        once. 0 answers at once, and on SQS may answer empty while messages wait (a short poll
        asks only some of its servers); more asks every server and returns as soon as one has
        a message (an SQS long poll, in whole seconds, 20 at most). The embedded queue sees
        every message at once, so it never waits."""

    @abc.abstractmethod
    def delete(self, receipts: Sequence[str]) -> None:
        """Acknowledge processed messages."""

    @abc.abstractmethod
    def release(self, receipts: Sequence[str]) -> None:
        """Make received messages visible again now, unprocessed (an interrupted worker gives
        back what it holds instead of leaving it to its visibility timeout). Their receive
        counts stay as they are; stale receipts do nothing."""

    @abc.abstractmethod
    def defer(self, receipts: Sequence[str], delay: timedelta) -> None:
        """Keep received messages hidden, unprocessed, for ``delay`` from now (SQS:
        ChangeMessageVisibility), so none is delivered again sooner: a source resting after a
        Retry-After. Their receive counts stay as they are (the next delivery counts one);
        stale receipts do nothing. SQS holds a message at most 12 hours from its receive."""

    @abc.abstractmethod
    def dead_letter(self, message: Message, reason: str) -> None:
        """Move a message to the dead-letter store with its reason."""

    @abc.abstractmethod
    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Every dead-lettered message, or at most ``limit`` of them (which ones a backend
        picks is its own: the oldest, or the first to come back). Raises DeadLettersIncomplete
        when the backend cannot vouch that it read every one (or ``limit``, when there are
        more): what it did read is on the error."""

    def waiting(self) -> int:
        """How many messages the queue holds, visible or in flight, not counting the dead
        letters (approximate on SQS); :meth:`depth`'s unless a backend counts them alone more
        cheaply."""
        depth = self.depth()
        return depth.visible + depth.in_flight

    def dead_letter_count(self) -> int:
        """How many messages are dead-lettered, counted without reading them (approximate on
        SQS); :meth:`depth`'s ``dead`` unless a backend counts them alone more cheaply."""
        return self.depth().dead

    @abc.abstractmethod
    def redrive(self) -> int:
        """Move every dead letter back to the main queue; returns how many. Each one is sent
        before it leaves the dead letters (at-least-once: never lost, perhaps sent twice).
        Raises DeadLettersRemain when the backend cannot vouch that it moved every one (those
        it moved stay moved; the error says how many remain)."""

    @abc.abstractmethod
    def depth(self) -> QueueDepth:
        """Approximate counts of visible, in-flight and dead messages."""

    @abc.abstractmethod
    def held(self) -> HeldMessages:
        """In-flight messages and when they come back at the latest."""

    @abc.abstractmethod
    def purge_dead_letters(self, *, ids: Collection[str] | None = None) -> int:
        """Delete dead letters for good: every one, or only those whose ``message_id`` (as
        :meth:`dead_letters` gives it) is in ``ids``: the ones a person was shown and asked
        about (`dlq purge`). Every other one stays, whenever it was dead-lettered and in
        whatever order the backend returns them; an empty ``ids`` deletes none. Returns how
        many it deleted (by id: how many of ``ids``, each once, however many copies SQS held).
        Raises DeadLettersRemain when the backend cannot vouch that it deleted every one (as
        redrive), or, by id, that one of ``ids`` it did not find is gone (SQS: another reader
        may hold it); the embedded queue can, and counts such an id as not deleted."""
