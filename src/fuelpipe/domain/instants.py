"""Time helpers every layer shares: the business time zone and how instants are stored as text.

Pure functions of their arguments: nothing here reads a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
"""Where ANP, BCB and B3 publish: a date or time without an offset is in this zone."""


def sao_paulo_iso(dt: datetime, timespec: str = "auto") -> str:
    """An instant as a person reads it here: São Paulo time with its offset
    (``2025-03-10T09:00:00-03:00``), whatever zone it was made in."""
    return dt.astimezone(SAO_PAULO).isoformat(timespec=timespec)


def iso_utc(dt: datetime) -> str:
    """A fixed-width UTC ISO string, so stored instants compare correctly as text."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: fuelpipe stores timezone-aware instants only")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """The inverse of :func:`iso_utc`."""
    return datetime.fromisoformat(text)
