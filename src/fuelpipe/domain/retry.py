"""The retry policy: a pure function from a record's retry state to its next step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Decision(StrEnum):
    """What recheck does with a pending record."""

    WAIT = "WAIT"
    RETRY = "RETRY"
    QUARANTINE = "QUARANTINE"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with a hard bound; past the bound a record is quarantined."""

    # Not stamina: these waits (hours to days) are stored with the record as next_attempt_at
    # and run out between invocations; stamina waits out a retry of one call in-process.

    max_retries: int = 5
    base_delay: timedelta = timedelta(hours=1)
    factor: float = 2.0
    max_delay: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.base_delay <= timedelta(0) or self.factor < 1:
            raise ValueError("backoff needs a positive base delay and a factor >= 1")

    def delay(self, retry_count: int) -> timedelta:
        """The wait before re-download number ``retry_count + 1``: base * factor^retry_count,
        at most ``max_delay``. Capped in seconds before a timedelta is built: with many retries
        or a large factor the uncapped wait passes what a timedelta (or a float) can hold."""
        cap = self.max_delay.total_seconds()
        try:
            seconds = self.base_delay.total_seconds() * self.factor**retry_count
        except OverflowError:
            return self.max_delay
        return self.max_delay if seconds >= cap else timedelta(seconds=seconds)

    @property
    def longest_delay(self) -> timedelta:
        """The longest wait this policy sets: before the last re-download (the waits grow)."""
        return self.delay(self.max_retries)

    def set_ahead(
        self, next_attempt_at: datetime | None, now: datetime, stale_at: datetime
    ) -> bool:
        """Whether ``next_attempt_at`` is later than this policy sets at ``now`` for a date that
        is late from ``stale_at`` (a first attempt waits for that): then a clock ahead of ``now``
        set it (``--now``, ``--simulate-future``), and waiting for it would keep the record from
        every re-download and quarantine until real time catches up, so it is due now."""
        if next_attempt_at is None:
            return False
        return next_attempt_at > max(now + self.longest_delay, stale_at)

    def first_attempt_due(self, failed_at: datetime) -> datetime:
        """When a record that failed its first download is first re-downloaded."""
        return failed_at + self.delay(0)

    def decide(
        self, retry_count: int, next_attempt_at: datetime | None, now: datetime, stale_at: datetime
    ) -> Decision:
        """WAIT until due; RETRY while under the bound; QUARANTINE once it is spent. A next
        attempt set by a clock ahead of ``now`` is due (:meth:`set_ahead`; ``stale_at``: when
        the record's date is late)."""
        if (
            next_attempt_at is not None
            and next_attempt_at > now
            and not self.set_ahead(next_attempt_at, now, stale_at)
        ):
            return Decision.WAIT
        if retry_count >= self.max_retries:
            return Decision.QUARANTINE
        return Decision.RETRY

    def after_retry(self, retry_count: int, now: datetime) -> tuple[int, datetime]:
        """The state a record takes when re-download ``retry_count + 1`` is sent."""
        new_count = retry_count + 1
        return new_count, now + self.delay(new_count)


def gave_up_reason(reason: str | None, retry_count: int) -> str:
    """Why a record is quarantined once its re-downloads are spent: its last failure (or "no
    value") and how many it had, in one wording whichever stage finds it spent (recheck, before
    claiming another; the scraper, when the last one failed too): ``HTTP 503 (gave up after 5
    re-downloads)``."""
    return f"{reason or 'no value'} (gave up after {retry_count} re-downloads)"


def released_reason(quarantined_for: str | None, at: datetime) -> str:
    """A record put back to PENDING by hand: said so, keeping why it was quarantined (the
    reason read "gave up after 5 re-downloads" while it was being retried again)."""
    return _by_hand("released by hand", quarantined_for, at)


def accepted_reason(quarantined_for: str | None, at: datetime) -> str:
    """A quarantined record a person accepted as having no value (made ABSENT): said so,
    keeping why it was quarantined."""
    return _by_hand("accepted by hand as no value", quarantined_for, at)


def _by_hand(done: str, quarantined_for: str | None, at: datetime) -> str:
    """``<done> at <instant>[; quarantined for: <why>]``: a person's settling of a record."""
    why = f"; quarantined for: {quarantined_for}" if quarantined_for else ""
    return f"{done} at {at.isoformat(timespec='seconds')}{why}"
