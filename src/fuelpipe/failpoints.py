"""Failpoints: named places where a crash test can kill the process (kill -9) on purpose.

Off unless the composition root is given a spec (``FUELPIPE_FAILPOINTS=scrape.after_write:3``
kills the process the 3rd time that point is reached). They exist so the crash suite can prove
that a run killed anywhere resumes with nothing lost or duplicated.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable

POINTS = (
    "orchestrate.before_send",
    "orchestrate.after_send",
    "scrape.after_fetch",
    "scrape.after_write",
    "scrape.after_pending",
    "drain.before_delete",
    "recheck.after_claim",
    "recheck.after_send",
)


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Failpoints:
    """Counts hits per point and kills the process at the configured hit."""

    def __init__(self, spec: str = "", kill: Callable[[], None] = _kill_self) -> None:
        self._targets: dict[str, int] = {}
        self._hits: Counter[str] = Counter()
        self._kill = kill
        for item in filter(None, (p.strip() for p in spec.split(","))):
            name, _, nth = item.partition(":")
            if name not in POINTS:
                raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(POINTS)}")
            self._targets[name] = int(nth or 1)

    def hit(self, name: str) -> None:
        """Mark that execution reached ``name``; crash here if this is the chosen hit."""
        if not self._targets:
            return
        self._hits[name] += 1
        if self._targets.get(name) == self._hits[name]:
            self._kill()
