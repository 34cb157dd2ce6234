"""Plausibility rules: values that fail them are flagged and never overwrite a good value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from itertools import pairwise

from fuelpipe.domain.models import Observation
from fuelpipe.domain.numbers import MAX_DIGITS, digits_problem

NEIGHBOUR_FACTOR = Decimal(5)
_ZERO = Decimal(0)
SPIKE_RUN = 3  # the most adjacent values one spike may span (a run of days, not a level)


def check_observation(obs: Observation, today: date) -> str | None:
    """The reason an observation is implausible on its own, or None when it is fine.

    ``today`` is the current date in São Paulo (the caller reads the clock once per batch).
    A value, or a number among its attributes, with more significant digits than a store
    holds exactly (``domain.numbers.MAX_DIGITS``), or out of the range DynamoDB holds (a
    magnitude below ``1E-130`` or above ``9.99…E+125``), is set aside here too, naming the
    number as published and the limit: no store (or not the AWS home's) could keep it, and
    refusing it at the write would fail the values beside it, in both homes alike.
    """
    value = obs.value
    if not value.is_finite():
        return f"implausible value {value} (not a finite number)"
    if value <= _ZERO:
        return f"implausible value {value} (prices and rates are positive)"
    problem = digits_problem(value)
    if problem:
        return f"value no store can keep: {problem}"
    for name, attr in obs.attrs.items():
        kind = type(attr)  # exact types first: the isinstance of a union costs more
        if kind is str or attr is None:
            continue
        if kind is Decimal or kind is int:
            text = str(attr)  # digits_problem's own short path, without the call
            if len(text) <= MAX_DIGITS and "E" not in text:
                continue
        if isinstance(attr, Decimal | int) and not isinstance(attr, bool):
            problem = digits_problem(attr)
            if problem:
                return f"attribute {name} no store can keep: {problem}"
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

    A spike may span up to SPIKE_RUN adjacent values close to each other (77, 780, 790, 78):
    such a run, far from both values around it, is set aside when those two are close to each
    other, or at an end when the run beside it is longer than SPIKE_RUN (an established level),
    each value judged by the values around the run; then single values are looked at again.
    """
    if _all_close(values):
        return {}  # the common series: nothing to set aside (see _all_close)
    n = len(values)
    left, right = list(range(-1, n - 1)), list(range(1, n + 1))
    out: dict[int, tuple[Decimal, ...]] = {}
    while True:
        _set_aside_singles(values, left, right, out, ends=False)
        if _set_aside_run(values, left, right, out):
            continue
        if not _set_aside_singles(values, left, right, out, ends=True):
            return out


def _all_close(values: Sequence[Decimal]) -> bool:
    """Every value positive and within 5x of the next: then each has a close neighbour, so
    none is far from every neighbour, and the values make one run of all of them, with no
    value around it (a spike needs one): :func:`set_aside` sets nothing aside. One pass, for
    the common series; any other goes through the rules."""
    if not values or not min(values) > 0:
        return not values
    five = NEIGHBOUR_FACTOR
    return all(a <= b * five and b <= a * five for a, b in pairwise(values))


def _close(a: Decimal, b: Decimal) -> bool:
    return not far_from_neighbours(a, (b,))


def _unlink(i: int, left: list[int], right: list[int]) -> set[int]:
    """Skip position ``i`` in the linked series; the neighbours it had."""
    touched = set()
    if left[i] >= 0:
        right[left[i]] = right[i]
        touched.add(left[i])
    if right[i] < len(right):
        left[right[i]] = left[i]
        touched.add(right[i])
    return touched


def _set_aside_singles(
    values: Sequence[Decimal],
    left: list[int],
    right: list[int],
    out: dict[int, tuple[Decimal, ...]],
    *,
    ends: bool,
) -> bool:
    """Set aside the values far from every neighbour they have (see :func:`set_aside`), with
    the values at either end only when ``ends``. True when any was set aside."""
    before = len(out)
    n = len(values)
    start = next((i for i in range(n) if i not in out), n)

    def near(i: int) -> tuple[Decimal, ...]:
        return tuple(values[j] for j in (left[i], right[i]) if 0 <= j < n)

    linked = []
    i = start
    while i < n:
        linked.append(i)
        i = right[i]
    suspects = {i for i in linked if far_from_neighbours(values[i], near(i))}
    while suspects:
        inner = {i for i in suspects if len(near(i)) == 2}
        if not inner and not ends:
            break
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
            touched |= _unlink(i, left, right)
        touched -= out.keys()
        suspects = {i for i in touched if far_from_neighbours(values[i], near(i))}
    return len(out) > before


def _set_aside_run(
    values: Sequence[Decimal],
    left: list[int],
    right: list[int],
    out: dict[int, tuple[Decimal, ...]],
) -> bool:
    """Set aside the first spike of 2 to SPIKE_RUN adjacent values (each close to the next, far
    from what lies either side): between two values close to each other, or at an end beside a
    run longer than SPIKE_RUN. True when one was set aside."""
    n = len(values)
    runs: list[list[int]] = []
    i = next((i for i in range(n) if i not in out), n)
    while i < n:
        if runs and _close(values[runs[-1][-1]], values[i]):
            runs[-1].append(i)
        else:
            runs.append([i])
        i = right[i]
    for k, run in enumerate(runs):
        if not 2 <= len(run) <= SPIKE_RUN:
            continue
        before = runs[k - 1] if k > 0 else None
        after = runs[k + 1] if k + 1 < len(runs) else None
        judges: tuple[Decimal, ...]
        if before and after:
            judges = (values[before[-1]], values[after[0]])
            if not _close(*judges):
                continue
        elif before and len(before) > SPIKE_RUN:
            judges = (values[before[-1]],)
        elif after and len(after) > SPIKE_RUN:
            judges = (values[after[0]],)
        else:
            continue
        if not all(far_from_neighbours(values[i], judges) for i in run):
            continue
        for i in run:
            out[i] = judges
            _unlink(i, left, right)
        return True
    return False
