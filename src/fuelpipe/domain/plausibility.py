"""Plausibility rules: values that fail them are flagged and never overwrite a good value."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.models import Observation

NEIGHBOUR_FACTOR = Decimal(5)


def check_observation(obs: Observation, now: datetime) -> str | None:
    """The reason an observation is implausible on its own, or None when it is fine."""
    if not obs.value.is_finite():
        return f"implausible value {obs.value} (not a finite number)"
    if obs.value <= 0:
        return f"implausible value {obs.value} (prices and rates are positive)"
    if obs.date > now.astimezone(SAO_PAULO).date():
        return f"implausible date {obs.date.isoformat()} (in the future)"
    return None


def far_from_neighbours(value: Decimal, neighbours: list[Decimal]) -> bool:
    """True when a value is more than 5x above or below both of its stored neighbours."""
    near = [n for n in neighbours if n > 0]
    if not near:
        return False
    return all(value > n * NEIGHBOUR_FACTOR or value * NEIGHBOUR_FACTOR < n for n in near)
