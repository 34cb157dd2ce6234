"""The clock port: stages never read the system time themselves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    """Tells the current time, always timezone-aware."""

    def now(self) -> datetime:
        """The current instant."""
        ...


@runtime_checkable
class LookedClocks(Protocol):
    """Each series' own clock, kept where it can change while it is served (a demo store that
    `demo --live` stamps at each tick): read again at each look, so one that reads a clock per
    series takes one :meth:`snapshot` first."""

    def snapshot(self) -> Mapping[str, datetime]:
        """The clocks as they are now, in one read: a plain mapping that does not change."""
        ...


def one_look(clocks: Mapping[str, datetime] | None) -> Mapping[str, datetime]:
    """``clocks`` as one look at them: the :meth:`~LookedClocks.snapshot` of clocks read again
    at each look, else ``clocks`` as given (none: empty)."""
    if isinstance(clocks, LookedClocks):
        return clocks.snapshot()
    return clocks or {}
