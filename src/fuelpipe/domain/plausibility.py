"""Plausibility rules: values that fail them are flagged and never overwrite a good value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def _isolation(value: Decimal, neighbours: Sequence[Decimal]) -> Decimal:
    """How many times the nearest positive neighbour is away from ``value``; infinite for a
    value that is not positive (a stored one: new values are checked positive before)."""
    if value <= 0:
        return Decimal("Infinity")
    return min(max(value / near, near / value) for near in neighbours if near > 0)


def set_aside(values: Sequence[Decimal]) -> dict[int, tuple[Decimal, ...]]:
    """The positions of ``values`` (a series in date order) that are more than 5x from every
    neighbour they have once the values set aside are skipped, each with the neighbours it was
    judged by.

    A value is never judged by a neighbour that is itself implausible: 77.1, 780.0, 78.2 sets
    aside 780.0 alone, and 77.1 is then judged by 78.2. So values far from both neighbours go
    first, one of two adjacent such values at a time (the one further from its nearer
    neighbour; the earlier on a tie), and the neighbours are looked at again after each; a
    value at either end (one neighbour) is set aside only when nothing else is. Two values
    left far from each other with no third to tell which is wrong are both set aside.
    """
    n = len(values)
    left, right = list(range(-1, n - 1)), list(range(1, n + 1))

    def near(i: int) -> tuple[Decimal, ...]:
        return tuple(values[j] for j in (left[i], right[i]) if 0 <= j < n)

    out: dict[int, tuple[Decimal, ...]] = {}
    suspects = {i for i in range(n) if far_from_neighbours(values[i], near(i))}
    while suspects:
        inner = {i for i in suspects if len(near(i)) == 2}
        chosen = inner or suspects
        if inner:
            rank = {i: (_isolation(values[i], near(i)), -i) for i in inner}
            chosen = {
                i
                for i in inner
                if all(rank.get(j, rank[i]) <= rank[i] for j in (left[i], right[i]))
            }
        touched = suspects - chosen
        for i in sorted(chosen):
            out[i] = near(i)
        for i in sorted(chosen):  # unlink; a neighbour is judged again by its new neighbour
            if left[i] >= 0:
                right[left[i]] = right[i]
                touched.add(left[i])
            if right[i] < n:
                left[right[i]] = left[i]
                touched.add(right[i])
        touched -= out.keys()
        suspects = {i for i in touched if far_from_neighbours(values[i], near(i))}
    return out
