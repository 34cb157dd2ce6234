"""Row faults every source applies the same way: duplicate, shuffle, add rows from outside."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from fuelpipe.replay.faults import FaultKind

T = TypeVar("T")

MAX_EXTRA_ROWS = 3


def duplicate(rows: Sequence[T], rng: random.Random) -> list[T] | None:
    """Serve 1..3 rows twice, each copy right after its original; None when there are no rows."""
    if not rows:
        return None
    picks = set(rng.sample(range(len(rows)), min(len(rows), rng.randint(1, MAX_EXTRA_ROWS))))
    out: list[T] = []
    for i, row in enumerate(rows):
        out.append(row)
        if i in picks:
            out.append(row)
    return out


def reorder(rows: Sequence[T], rng: random.Random) -> list[T] | None:
    """The rows in a shuffled order that differs from the original; None under two rows."""
    if len(rows) < 2:
        return None
    out = list(rows)
    rng.shuffle(out)
    if out == list(rows):  # a shuffle may return the same order: rotate so it surely differs
        out = out[1:] + out[:1]
    return out


def add_outside(
    rows: Sequence[T], before: Sequence[T], after: Sequence[T], rng: random.Random
) -> list[T] | None:
    """Add 1..3 real rows nearest the range, from before and/or after it; None if there are none."""
    if not before and not after:
        return None
    n_before = min(len(before), rng.randint(0 if after else 1, MAX_EXTRA_ROWS))
    n_after = min(len(after), rng.randint(0 if n_before else 1, MAX_EXTRA_ROWS))
    head = list(before[len(before) - n_before :]) if n_before else []
    return [*head, *rows, *after[:n_after]]


def apply_row_fault(
    kind: FaultKind | None,
    rows: Sequence[T],
    rng: random.Random,
    before: Sequence[T] = (),
    after: Sequence[T] = (),
) -> tuple[list[T], FaultKind | None]:
    """Apply a dup, reorder or outside fault; returns the rows and the kind actually applied."""
    changed: list[T] | None = None
    if kind is FaultKind.DUP:
        changed = duplicate(rows, rng)
    elif kind is FaultKind.REORDER:
        changed = reorder(rows, rng)
    elif kind is FaultKind.OUTSIDE:
        changed = add_outside(rows, before, after, rng)
    if changed is None:
        return list(rows), None
    return changed, kind
