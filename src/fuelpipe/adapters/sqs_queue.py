"""The AWS queue: an SQS standard queue with a dead-letter queue; the client is injected.

SQS itself moves a message to the DLQ once it has been received ``maxReceiveCount`` times (the
queue's RedrivePolicy), with no reason. ``dead_letter`` moves one there at once, with the reason
as a message attribute (its characters outside SQS's set escaped), for messages that can never
succeed (malformed bodies) and for one failing on its last delivery (the scraper, with its
error: stages/last_delivery.py). It sends before it deletes, so a delete that fails (or two
deliveries of one message dead-lettering it both) leaves the DLQ holding the message twice:
``dead_letters()`` shows it once, by message id (the RedrivePolicy keeps it), with its reason,
its ``copies`` saying how many the DLQ holds.

Caveat of ``dead_letters()``: SQS has no way to read a queue without receiving from it. It
counts the DLQ's visible messages (GetQueueAttributes), receives until it holds that many, then
makes each visible again at once (visibility 0). A concurrent reader may miss messages during
that moment, and the DLQ's ApproximateReceiveCount goes up by one per peek: it is for a person
looking at a handful of dead letters, not for processing them. Its receives long-poll (a short
poll asks only some of SQS's servers, so with a few dead letters it often comes back empty),
and when two receives in a row bring nothing new before the count is reached (or ``limit``,
when the DLQ counts more), it raises DeadLettersIncomplete with what it read: the alert rule
then fires for those it read, says how many it did not read, and clears none of the dead
letters it did not see. A message dead-lettered after the count is read by the next peek. The
alert rule peeks only when the DLQ's count (``dead_letter_count``: one GetQueueAttributes)
changed since its last peek, or a day after it, and at most 300 dead letters a time.
``redrive()`` and ``purge_dead_letters()`` take the DLQ's messages the same way
(count, long polls, two empty receives) and raise DeadLettersRemain, saying how many they
handled and how many remain, when they come back short or a call fails part-way (chained to
its error: those handled before it are handled). ``purge_dead_letters(ids=...)`` (`dlq
purge`, the ids of the dead letters it read and asked about) deletes only the DLQ messages
standing for those ids: it walks the DLQ the same way, holds every other message hidden while
it walks (so the receives move past it) and makes each visible again at once when it is done;
a dead letter that arrived after the ids were read stays, whichever order SQS returns them in.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fuelpipe.adapters._batch_retry import batch_attempts
from fuelpipe.adapters.clock import SystemClock
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import (
    DeadLetter,
    DeadLettersIncomplete,
    DeadLettersRemain,
    HeldMessages,
    Message,
    Queue,
    QueueDepth,
    purge_ids,
    too_many_receives,
)

SEND_BATCH = 10
"""SendMessageBatch, DeleteMessageBatch and ReceiveMessage take at most 10 entries."""
MAX_BATCH_BYTES = 256 * 1024
"""SendMessageBatch rejects a batch whose bodies add up to more than this."""
PEEK_VISIBILITY_S = 30
"""How long peeked DLQ messages would stay hidden if resetting their visibility failed."""
PEEK_WAIT_S = 1
"""The DLQ peek's long poll: it asks every SQS server, and returns as soon as one has any."""
MAX_WAIT_S = 20
"""ReceiveMessage's longest WaitTimeSeconds."""
PEEK_EMPTY_RECEIVES = 2
"""Receives in a row that bring nothing new after which a peek short of the count gives up."""
REASON = "reason"
MAX_VISIBILITY_S = 12 * 3600
RETENTION_S = 345_600
"""The download queue's MessageRetentionPeriod (4 days, SQS's default; the template's and
:func:`create_queues`'): the longest a message can wait in it, so the longest a gap the
orchestrator sent is held from being sent again (``domain/planning.py`` ``sent_held``)."""
"""The longest visibility timeout SQS takes (12 hours)."""
_GONE_RECEIPT = frozenset(["ReceiptHandleIsInvalid", "MessageNotInflight"])
"""ChangeMessageVisibility's codes for a receipt that no longer holds its message."""


class QueueSendError(RuntimeError):
    """SQS kept refusing some messages after every bounded retry."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        """A server-side failure worth re-sending (a sender fault never is)."""


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters SQS refuses in a message body and in a message attribute's text (XML's set)."""


def _attribute_text(text: str) -> str:
    """``text`` as SQS takes it in a message attribute: each character outside its set
    written as its escape (``\\x01``). A malformed body's reason quotes the body (an unknown
    field by its name, a JSON ``\\u0001`` decoded), and SQS refusing the dead letter for it
    left the message failing until its RedrivePolicy moved it, without its reason."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


def _worth_retrying(exc: Exception) -> bool:
    return isinstance(exc, QueueSendError) and exc.retryable


def _chunks(bodies: Sequence[str]) -> Iterator[list[str]]:
    """Groups of at most 10 bodies and 256 KiB, SendMessageBatch's limits."""
    # Not itertools.batched (Python 3.12; fuelpipe supports 3.11): it counts items, not bytes.
    chunk: list[str] = []
    size = 0
    for body in bodies:
        n = len(body.encode())
        if chunk and (len(chunk) == SEND_BATCH or size + n > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(body)
        size += n
    if chunk:
        yield chunk


def _message(raw: dict[str, Any]) -> Message:
    return Message(
        message_id=raw["MessageId"],
        receipt=raw["ReceiptHandle"],
        body=raw["Body"],
        receive_count=int(raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
    )


def _original_id(m: dict[str, Any]) -> str:
    """The id of the message a DLQ message stands for: the one the main queue gave it, kept in
    an attribute by :meth:`SqsQueue.dead_letter` (SQS's own move keeps the id), as
    ``dead_letters()`` shows it and a purge by id matches it."""
    kept: str = m.get("MessageAttributes", {}).get("original_id", {}).get("StringValue", "")
    return kept or m["MessageId"]


def _one_per_message(letters: list[tuple[DeadLetter, bool]]) -> list[DeadLetter]:
    """One dead letter per message, as the embedded queue keeps them: a message dead-lettered
    with its reason whose delete from the main queue then failed is moved there again by the
    RedrivePolicy (the same message id, no reason), and a message delivered twice at once can
    be dead-lettered by both deliveries. The copy kept is the first one that was given its
    reason (``True``) when any was, else the first; its ``copies`` says how many there were."""
    kept: dict[str, tuple[DeadLetter, bool]] = {}
    copies: Counter[str] = Counter()
    for letter, reasoned in letters:
        copies[letter.message_id] += 1
        seen = kept.get(letter.message_id)
        if seen is None or (reasoned and not seen[1]):
            kept[letter.message_id] = (letter, reasoned)
    return [replace(letter, copies=copies[key]) for key, (letter, _) in kept.items()]


class SqsQueue(Queue):
    """The Queue port on SQS: batches of 10, bounded retries of failed entries."""

    def __init__(
        self,
        client: Any,
        queue_url: str,
        dlq_url: str,
        visibility_timeout_s: float,
        max_receives: int = 5,
        *,
        max_send_attempts: int = 5,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 2.0,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self._clock: Clock = clock or SystemClock()
        self.queue_url = queue_url
        self.dlq_url = dlq_url
        self.visibility_timeout_s = max(0, math.ceil(visibility_timeout_s))
        self.max_receives = max_receives
        self.retention = timedelta(seconds=RETENTION_S)
        self._attempts = max_send_attempts
        self._base = backoff_base_s
        self._cap = backoff_cap_s

    # --- sending -------------------------------------------------------------------------

    def _send_batch(self, url: str, entries: list[dict[str, Any]]) -> None:
        """SendMessageBatch, re-sending failed entries with jittered backoff (stamina); raises
        when they persist or SQS says the sender is at fault."""
        for attempt in batch_attempts(_worth_retrying, self._attempts, self._base, self._cap):
            with attempt:
                response = self.client.send_message_batch(QueueUrl=url, Entries=entries)
                failed = response.get("Failed", [])
                if not failed:
                    return
                retry_ids = {f["Id"] for f in failed}
                entries = [e for e in entries if e["Id"] in retry_ids]
                detail = "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in failed[:3])
                raise QueueSendError(
                    f"{len(failed)} message(s) not sent to {url} after {attempt.num} "
                    f"attempt(s): {detail}",
                    retryable=not any(f.get("SenderFault") for f in failed),
                )

    def send(self, bodies: Sequence[str]) -> int:
        """Send bodies with SendMessageBatch (10 a call, 256 KiB at most); returns the count."""
        if isinstance(bodies, str):
            raise TypeError("send takes a sequence of bodies, not one string")
        for body in bodies:
            if len(body.encode()) > MAX_BATCH_BYTES:
                raise ValueError(f"a message body is over {MAX_BATCH_BYTES} bytes")
        for chunk in _chunks(bodies):
            self._send_batch(
                self.queue_url, [{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
            )
        return len(bodies)

    # --- receiving -----------------------------------------------------------------------

    def _receive(
        self, url: str, count: int, visibility: int, wait_s: int = 0
    ) -> list[dict[str, Any]]:
        response = self.client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=count,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=wait_s,
            AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def receive(self, max_messages: int = 10, *, wait_s: float = 0) -> list[Message]:
        """Receive up to ``max_messages`` (10 per call); over-delivered ones are dead-lettered.

        ``wait_s`` > 0 long-polls (whole seconds, at most 20) until a message is taken: it asks
        every SQS server and returns as soon as one has a message; 0 short-polls (see the
        port). Once one is taken, the calls that top the batch up short-poll.
        """
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        if not wait_s >= 0:
            raise ValueError("wait_s must be 0 or more")
        wait = math.ceil(min(wait_s, MAX_WAIT_S))
        out: list[Message] = []
        while len(out) < max_messages:
            raw = self._receive(
                self.queue_url,
                min(SEND_BATCH, max_messages - len(out)),
                self.visibility_timeout_s,
                0 if out else wait,
            )
            if not raw:
                break
            for message in map(_message, raw):
                # The RedrivePolicy normally does this; the check keeps the port's promise on a
                # queue created without one.
                if message.receive_count > self.max_receives:
                    self.dead_letter(message, too_many_receives(message.receive_count - 1))
                else:
                    out.append(message)
        return out

    def _delete(self, url: str, receipts: Sequence[str]) -> None:
        for start in range(0, len(receipts), SEND_BATCH):
            chunk = receipts[start : start + SEND_BATCH]
            response = self.client.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)],
            )
            failed = response.get("Failed", [])
            # A receipt that expired (the message was re-received elsewhere) is not an error
            # here: the message will be processed again, idempotently.
            hard = [f for f in failed if f.get("Code") != "ReceiptHandleIsInvalid"]
            if hard:
                detail = "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in hard[:3])
                raise QueueSendError(f"{len(hard)} message(s) not deleted from {url}: {detail}")

    def delete(self, receipts: Sequence[str]) -> None:
        """Acknowledge processed messages with DeleteMessageBatch, 10 a call."""
        self._delete(self.queue_url, receipts)

    def release(self, receipts: Sequence[str]) -> None:
        """Make messages visible now (ChangeMessageVisibilityBatch to 0, 10 a call); an expired
        receipt is not an error: the message is visible again already."""
        self._show(self.queue_url, receipts)

    def defer(self, receipts: Sequence[str], delay: timedelta) -> None:
        """Hide messages for ``delay`` from now (ChangeMessageVisibilityBatch, whole seconds
        rounded up, at most SQS's 12 hours; 10 a call). A receipt SQS no longer takes (the
        message came back, or is gone) is not an error: it is delivered again as it would be;
        any other refusal raises QueueSendError."""
        seconds = min(max(math.ceil(delay.total_seconds()), 0), MAX_VISIBILITY_S)
        failed = self._show(self.queue_url, receipts, seconds)
        hard = [f for f in failed if f.get("Code") not in _GONE_RECEIPT]
        if hard:
            detail = "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in hard[:3])
            raise QueueSendError(f"{len(hard)} message(s) not deferred: {detail}")

    def _show(self, url: str, receipts: Sequence[str], seconds: int = 0) -> list[dict[str, Any]]:
        """Set the messages' visibility to ``seconds`` from now (0: visible now); the entries
        SQS refused."""
        failed: list[dict[str, Any]] = []
        for start in range(0, len(receipts), SEND_BATCH):
            response = self.client.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": seconds}
                    for i, r in enumerate(receipts[start : start + SEND_BATCH])
                ],
            )
            failed.extend(response.get("Failed", []))
        return failed

    # --- dead letters --------------------------------------------------------------------

    def dead_letter(self, message: Message, reason: str) -> None:
        """Send the message to the DLQ with its reason, then delete it from the main queue."""
        attributes = {
            REASON: {
                "DataType": "String",
                "StringValue": _attribute_text(reason)[:1000] or "unknown",
            },
            "receive_count": {"DataType": "Number", "StringValue": str(message.receive_count)},
            "original_id": {"DataType": "String", "StringValue": message.message_id},
        }
        self._send_batch(
            self.dlq_url,
            [{"Id": "0", "MessageBody": message.body, "MessageAttributes": attributes}],
        )
        self.delete([message.receipt])

    def _dlq_batches(
        self, expected: int, hold: int
    ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """Receive the DLQ's messages (long polls, each hidden for ``hold`` s) until
        ``expected`` distinct ones came back or two receives in a row bring nothing new;
        yields each receive and its messages not seen before (SQS delivers at least once). A
        batch counts as seen once the caller asks for the next: one it failed on does not."""
        seen: set[str] = set()
        empty = 0
        while len(seen) < expected and empty < PEEK_EMPTY_RECEIVES:
            raw = self._receive(
                self.dlq_url, min(SEND_BATCH, expected - len(seen)), hold, PEEK_WAIT_S
            )
            fresh = list({m["MessageId"]: m for m in raw if m["MessageId"] not in seen}.values())
            empty = 0 if fresh else empty + 1
            yield raw, fresh
            seen.update(m["MessageId"] for m in fresh)

    def _drain_dlq(self, limit: int | None) -> tuple[list[dict[str, Any]], int]:
        """The DLQ's visible messages (at most ``limit``), once each, and how many it counted."""
        expected, _ = self._counts(self.dlq_url)
        wanted = expected if limit is None else min(expected, limit)
        batches = self._dlq_batches(wanted, PEEK_VISIBILITY_S)
        return [m for _, fresh in batches for m in fresh], wanted

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Every dead-lettered message, or the first ``limit`` to come back, peeked (see the
        module docstring for the caveat): at most ``limit`` / 10 receives, each asking for no
        more than are still wanted. DeadLettersIncomplete when fewer came back than the DLQ
        counts (or than ``limit``, when it counts more)."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        raw, expected = self._drain_dlq(limit)
        self._show(self.dlq_url, [m["ReceiptHandle"] for m in raw])
        out = _one_per_message([self._dead_letter(m) for m in raw])
        out.sort(key=lambda d: d.dead_at or datetime.min.replace(tzinfo=UTC))
        if len(raw) < expected:
            raise DeadLettersIncomplete(out, expected)
        return out

    def _dead_letter(self, m: dict[str, Any]) -> tuple[DeadLetter, bool]:
        """A DLQ message as a dead letter, and whether it was given its reason (dead-lettered
        by us: :meth:`dead_letter`) rather than moved by SQS after maxReceiveCount receives."""
        attrs = m.get("MessageAttributes", {})
        reason = attrs.get(REASON, {}).get("StringValue")
        count = attrs.get("receive_count", {}).get("StringValue")
        sent_ms = m.get("Attributes", {}).get("SentTimestamp")
        letter = DeadLetter(
            message_id=_original_id(m),
            body=m["Body"],
            reason=reason or too_many_receives(self.max_receives),
            receive_count=int(count) if count else self.max_receives,
            dead_at=datetime.fromtimestamp(int(sent_ms) / 1000, UTC) if sent_ms else None,
        )
        return letter, reason is not None

    def redrive(self) -> int:
        """Move every dead letter back to the main queue (send, then delete: at-least-once);
        DeadLettersRemain when fewer came back than the DLQ counts (see _take_dead_letters)."""
        return self._take_dead_letters("moved", resend=True)

    def purge_dead_letters(self, *, ids: Collection[str] | None = None) -> int:
        """Delete every dead letter for good (receive, delete with their receipt handles:
        DeadLettersRemain when fewer came back than the DLQ counts), or only those whose
        message id is in ``ids`` (see :meth:`_purge_named`)."""
        named = purge_ids(ids)
        if named is None:
            return self._take_dead_letters("purged", resend=False)
        return self._purge_named(named) if named else 0

    def _purge_named(self, ids: frozenset[str]) -> int:
        """Walk the DLQ as the peek does (its count first, long polls) and delete each message
        whose original id is in ``ids``, every copy and every delivery of it; every other one
        is held hidden while the walk lasts (so the receives move on past it) and made visible
        again at once when it ends, whatever ends it. The walk ends once every id was found and
        as many messages came back as the DLQ counted (a second copy of one found may still
        come), or after two receives in a row bring nothing new. Returns how many of ``ids``
        it found; DeadLettersRemain (``asked``) when some were not found (another reader may
        hold them, or they are gone: SQS cannot tell), or when a receive or delete fails
        part-way (chained to that error: those found before it are deleted)."""
        expected, _ = self._counts(self.dlq_url)
        hold = max(self.visibility_timeout_s, PEEK_VISIBILITY_S)
        found: set[str] = set()
        seen: set[str] = set()
        others: dict[str, str] = {}  # each message not asked about: its latest receipt
        empty = 0
        try:
            while (len(found) < len(ids) or len(seen) < expected) and empty < PEEK_EMPTY_RECEIVES:
                raw = self._receive(self.dlq_url, SEND_BATCH, hold, PEEK_WAIT_S)
                empty = 0 if any(m["MessageId"] not in seen for m in raw) else empty + 1
                seen.update(m["MessageId"] for m in raw)
                asked = [m for m in raw if _original_id(m) in ids]
                others.update(
                    (m["MessageId"], m["ReceiptHandle"]) for m in raw if _original_id(m) not in ids
                )
                self._delete(self.dlq_url, [m["ReceiptHandle"] for m in asked])
                found.update(map(_original_id, asked))
        except Exception as exc:  # those deleted before are gone: say how many, and the rest
            error = f"{type(exc).__name__}: {exc}"
            raise DeadLettersRemain("purged", len(found), len(ids), error, asked=True) from exc
        finally:
            with suppress(Exception):  # else they come back once ``hold`` is over
                self._show(self.dlq_url, list(others.values()))
        if len(found) < len(ids):
            raise DeadLettersRemain("purged", len(found), len(ids), asked=True)
        return len(found)

    def _take_dead_letters(self, action: str, *, resend: bool) -> int:
        """Receive the DLQ's messages as the peek does (its count first, long polls, until that
        many were taken or two receives in a row bring nothing new) and delete each batch, once
        ``resend`` sent it to the main queue: a batch SQS would not take is made visible again
        in the DLQ and nothing of it is deleted. A message delivered again after it was taken
        (SQS delivers at least once) is deleted, not sent twice. Returns how many were taken;
        DeadLettersRemain when short of the count, or when a receive, send or delete fails
        part-way (saying how many were handled before, chained to that error)."""
        expected, _ = self._counts(self.dlq_url)
        taken = 0
        hold = max(self.visibility_timeout_s, PEEK_VISIBILITY_S)
        try:
            for raw, fresh in self._dlq_batches(expected, hold):
                if resend and fresh:
                    self._resend(raw, fresh)
                self._delete(self.dlq_url, [m["ReceiptHandle"] for m in raw])
                taken += len(fresh)
        except Exception as exc:  # those taken before are done: say how many, and the rest
            error = f"{type(exc).__name__}: {exc}"
            raise DeadLettersRemain(action, taken, expected, error) from exc
        if taken < expected:
            raise DeadLettersRemain(action, taken, expected)
        return taken

    def _resend(self, raw: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> None:
        """Send ``fresh`` to the main queue, in SendMessageBatch's limits (ten bodies at most,
        256 KiB in all); when SQS will not take them, the received batch (``raw``) is made
        visible in the DLQ again at once and the send's error goes on."""
        try:
            for chunk in _chunks([m["Body"] for m in fresh]):
                self._send_batch(
                    self.queue_url,
                    [{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)],
                )
        except Exception:
            with suppress(Exception):  # the send's error is the one to report
                self._show(self.dlq_url, [m["ReceiptHandle"] for m in raw])
            raise

    # --- depth ---------------------------------------------------------------------------

    def _counts(self, url: str) -> tuple[int, int]:
        attrs = self.client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs.get("ApproximateNumberOfMessages", 0)),
            int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )

    def waiting(self) -> int:
        """The main queue's approximate count, visible and in flight (GetQueueAttributes, one
        call: the orchestrator's, whose role reads no other queue)."""
        return sum(self._counts(self.queue_url))

    def dead_letter_count(self) -> int:
        """The DLQ's approximate count, visible and hidden (GetQueueAttributes, one call)."""
        return sum(self._counts(self.dlq_url))

    def depth(self) -> QueueDepth:
        """Approximate visible, in-flight and dead counts (GetQueueAttributes, two calls)."""
        visible, in_flight = self._counts(self.queue_url)
        dead_visible, dead_hidden = self._counts(self.dlq_url)
        return QueueDepth(visible=visible, in_flight=in_flight, dead=dead_visible + dead_hidden)

    def held(self) -> HeldMessages:
        """In-flight messages; SQS does not say when each was received, so ``back_by`` is the
        latest they can come back: one visibility timeout from now. Nor does it tell a
        deferred message from a held one (``deferred_apart`` False: ``count`` has both), or
        know whether a holder is gone (``orphaned`` 0)."""
        _, in_flight = self._counts(self.queue_url)
        if not in_flight:
            return HeldMessages(0, None, deferred_apart=False)
        return HeldMessages(
            in_flight,
            self._clock.now() + timedelta(seconds=self.visibility_timeout_s),
            deferred_apart=False,
        )


def create_queues(
    client: Any,
    queue_name: str,
    dlq_name: str,
    visibility_timeout_s: float,
    max_receive_count: int = 5,
) -> tuple[str, str]:
    """Create (or find) the DLQ and the main queue with its RedrivePolicy; returns both URLs."""
    encrypted = {"SqsManagedSseEnabled": "true"}
    dlq_url: str = client.create_queue(
        QueueName=dlq_name,
        # Dead letters wait for a person: keep them the longest SQS allows (14 days).
        Attributes={**encrypted, "MessageRetentionPeriod": "1209600"},
    )["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
    queue_url: str = client.create_queue(
        QueueName=queue_name,
        Attributes={
            **encrypted,
            "VisibilityTimeout": str(math.ceil(visibility_timeout_s)),
            "MessageRetentionPeriod": str(RETENTION_S),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return queue_url, dlq_url
