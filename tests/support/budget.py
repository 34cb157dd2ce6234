"""A time budget for recheck's ``remaining_s`` that runs out after a number of calls."""

from __future__ import annotations

from collections.abc import Callable

from fuelpipe.stages.recheck import TIME_MARGIN_S


def budget(calls_with_time: int) -> Callable[[], float]:
    """Seconds left: plenty for the first calls (recheck asks once a record it decides and
    once after each page), then under recheck's margin."""
    calls = 0

    def remaining_s() -> float:
        nonlocal calls
        calls += 1
        return TIME_MARGIN_S + 60 if calls <= calls_with_time else TIME_MARGIN_S - 1

    return remaining_s
