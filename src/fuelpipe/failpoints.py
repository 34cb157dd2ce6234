"""Failpoints: named places where a crash test can kill the process (kill -9) on purpose.

Off unless the composition root is given a spec (``FUELPIPE_FAILPOINTS=scrape.after_write:3``
kills the process the 3rd time that point is reached; ``scrape.after_write:3:SIGINT`` sends
it that signal instead, as Ctrl+C would). They exist so the crash suite can prove that a run
killed or interrupted anywhere resumes with nothing lost or duplicated, and that a station
ingest stopped after a partition is left marked incomplete and completed by a rerun.
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
    "drain.after_delete",
    "recheck.after_claim",
    "recheck.after_send",
)
"""The points `fuelpipe run` reaches (the crash suite kills a run at each of them)."""
STATION_POINTS = ("stations.after_partition", "stations.after_migrate_partition")
"""The points a station ingest reaches: after each partition file it writes, and after each
one a lake migration rewrites."""
KNOWN = POINTS + STATION_POINTS


def _signal_self(signum: signal.Signals) -> None:
    os.kill(os.getpid(), signum)


class Failpoints:
    """Counts hits per point and signals the process (SIGKILL unless the spec names another
    signal) at the configured hit."""

    def __init__(
        self, spec: str = "", kill: Callable[[signal.Signals], None] = _signal_self
    ) -> None:
        self._targets: dict[str, tuple[int, signal.Signals]] = {}
        self._hits: Counter[str] = Counter()
        self._kill = kill
        for item in filter(None, (p.strip() for p in spec.split(","))):
            name, _, rest = item.partition(":")
            nth, _, signame = rest.partition(":")
            if name not in KNOWN:
                raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(KNOWN)}")
            try:
                signum = signal.Signals[signame.upper() or "SIGKILL"]
            except KeyError:
                raise ValueError(f"failpoint {name!r}: unknown signal {signame!r}") from None
            self._targets[name] = (int(nth or 1), signum)

    def hit(self, name: str) -> None:
        """Mark that execution reached ``name``; crash here if this is the chosen hit."""
        if not self._targets:
            return
        self._hits[name] += 1
        nth, signum = self._targets.get(name, (0, signal.SIGKILL))
        if nth == self._hits[name]:
            self._kill(signum)
