"""Plausibility rules: values that fail them are flagged and never overwrite a good value."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from fuelpipe.domain.models import Observation

NEIGHBOUR_FACTOR = Decimal(5)


def check_observation(obs: Observation, today: date) -> str | None:
    """The reason an observation is implausible on its own, or None when it is fine.

    ``today`` is the current date in São Paulo (the caller reads the clock once per batch).
    """
    value = obs.value
    if not value.is_finite():
        return f"implausible value {value} (not a finite number)"
    if value <= 0:
        return f"implausible value {value} (prices and rates are positive)"
    if obs.date > today:
        return f"implausible date {obs.date.isoformat()} (in the future)"
    return None


def far_from_neighbours(value: Decimal, neighbours: Iterable[Decimal]) -> bool:
    """True when a value is more than 5x above or below every positive neighbour (and has at
    least one)."""
    far = False
    for near in neighbours:
        if near > 0:
            if value <= near * NEIGHBOUR_FACTOR and value * NEIGHBOUR_FACTOR >= near:
                return False
            far = True
    return far
