"""Clocks: the system clock for production, fixed and manual ones for tests and replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"a clock needs a timezone-aware datetime, got {dt!r}")
    return dt


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """Always the same instant (``--now`` replays, deterministic runs)."""

    def __init__(self, dt: datetime) -> None:
        self._dt = _aware(dt)

    def now(self) -> datetime:
        """The fixed instant."""
        return self._dt


class ManualClock:
    """A clock a test moves by hand, so timeouts and backoff are tested without sleeping."""

    def __init__(self, dt: datetime) -> None:
        self._dt = _aware(dt)

    def now(self) -> datetime:
        """The instant the clock was last set or advanced to."""
        return self._dt

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new instant."""
        if delta < timedelta(0):
            raise ValueError("a manual clock only moves forward; use set() to go back")
        self._dt += delta
        return self._dt

    def set(self, dt: datetime) -> None:
        """Jump to ``dt``."""
        self._dt = _aware(dt)
