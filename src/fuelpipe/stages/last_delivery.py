"""A message that fails on its last delivery is dead-lettered with its error, on either home.

The queue moves a message to its dead letters once it has been received ``max_receives`` times
(SQS: the main queue's RedrivePolicy, ``maxReceiveCount``; the embedded queue: its next
receive). Moved that way its dead letter says only how many times it was received, and the
error it kept failing with is in the logs alone. So whoever handles a message and sees it fail
on its last delivery dead-letters it now, the error in its reason: the embedded drain
(stages/cycle.py) and the scraper Lambda, whose ``max_receives`` is the queue's, read from the
settings at cold start (FUELPIPE_MAX_RECEIVES, the template's ``maxReceiveCount``). The message
is sent to the dead letters before it leaves the queue, so it is never lost: should that fail,
the caller gives it back as any failed message and the queue's own move takes it there, naming
no error.
"""

from __future__ import annotations

import logging

from fuelpipe.domain.messages import DownloadRequest, MalformedMessage
from fuelpipe.ports.queue import Message, Queue, too_many_receives

logger = logging.getLogger(__name__)


def asked_for(message: Message) -> str:
    """What ``message`` asks for, as the log line of its failure names it: its origin, key (and
    how many more keys its fetch unit serves) and dates, ``gap CURRENCY#USD
    2022-04-01..2022-05-06, 24 dates``; a message id alone does not say which series and days
    wait for its redelivery."""
    try:
        request = DownloadRequest.from_body(message.body)
    except MalformedMessage:
        return "a body that is no download request"
    days = request.dates_to_download
    more = len(request.also_keys)
    keys = request.partition_key + (f" and {more} more key{'s' * (more > 1)}" if more else "")
    span = str(days[0]) if len(days) == 1 else f"{days[0]}..{days[-1]}"
    return f"{request.origin} {keys} {span}, {len(days)} date{'s' * (len(days) > 1)}"


def failure_words(exc: BaseException) -> str:
    """An error as a dead letter's reason names it."""
    return f"{type(exc).__name__}: {exc}"


def is_last_delivery(queue: Queue, message: Message) -> bool:
    """The queue moves ``message`` to its dead letters should it fail this time."""
    return message.receive_count >= queue.max_receives


def dead_letter_last_delivery(queue: Queue, message: Message, exc: BaseException) -> bool:
    """On ``message``'s last delivery, dead-letter it now with ``exc`` as its last error; True
    once it is there. False when it will be delivered again, and when the queue refused (that
    refusal logged here; ``exc`` is the caller's to log or raise): the caller gives it back
    either way."""
    if not is_last_delivery(queue, message):
        return False
    try:
        queue.dead_letter(message, too_many_receives(message.receive_count, failure_words(exc)))
    except Exception:  # the message's own error is what matters; the queue's move still comes
        logger.warning(
            "message %s could not be dead-lettered with its error; the queue moves it after "
            "this delivery",
            message.message_id,
            exc_info=True,
        )
        return False
    return True
