"""Failpoints: named places where a crash test can kill the process (kill -9) on purpose.

Off unless the composition root is given a spec (``FUELPIPE_FAILPOINTS=scrape.after_write:3``
kills the process the 3rd time that point is reached; ``scrape.after_write:3:SIGINT`` sends
it that signal instead, as Ctrl+C would). A scrape point may name one series key
(``scrape.after_fetch@COMMODITY#BRENT:1``): only the hits of a message serving that key
count, and ``*`` for N fires at every one of them, so the message kills every process that
handles it (a poison message: the queue's receive count moves it to the dead letters). They
exist so the crash suite can prove that a run killed or interrupted anywhere resumes with
nothing lost or duplicated, that a poison message ends dead-lettered without taking other work
with it, and that a station ingest stopped after a partition is left marked incomplete and
completed by a rerun.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Collection

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
KEYED = ("scrape.after_fetch", "scrape.after_write", "scrape.after_pending")
"""The points reached with the series keys of the message being handled: a spec may name a key
(``POINT@KEY``) for them alone."""
EVERY = "*"
"""N in a spec for "every hit" (of the key it names, or of the point)."""


def _signal_self(signum: signal.Signals) -> None:
    os.kill(os.getpid(), signum)


class Failpoints:
    """Counts hits per point and signals the process (SIGKILL unless the spec names another
    signal) at the configured hit, or at every one (``*``); a point with a key counts only
    the hits that serve that key."""

    def __init__(
        self, spec: str = "", kill: Callable[[signal.Signals], None] = _signal_self
    ) -> None:
        self._targets: dict[str, tuple[int | None, signal.Signals, str | None]] = {}
        self._hits: Counter[str] = Counter()
        self._kill = kill
        for item in filter(None, (p.strip() for p in spec.split(","))):
            target, _, rest = item.partition(":")
            name, at, key = target.partition("@")
            nth, _, signame = rest.partition(":")
            if name not in KNOWN:
                raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(KNOWN)}")
            if at and name not in KEYED:
                raise ValueError(
                    f"failpoint {name!r} is reached with no series key: only "
                    f"{', '.join(KEYED)} take @KEY"
                )
            if at and not key:
                raise ValueError(f"failpoint {item!r}: no series key after '@'")
            try:
                signum = signal.Signals[signame.upper() or "SIGKILL"]
            except KeyError:
                raise ValueError(f"failpoint {name!r}: unknown signal {signame!r}") from None
            self._targets[name] = (_nth(item, nth), signum, key or None)

    def hit(self, name: str, keys: Collection[str] = ()) -> None:
        """Mark that execution reached ``name`` (handling ``keys``' series, for the scrape
        points); crash here if this is the chosen hit."""
        if not self._targets:
            return
        nth, signum, key = self._targets.get(name, (0, signal.SIGKILL, None))
        if key is not None and key not in keys:
            return  # another message's hit: not counted
        self._hits[name] += 1
        if nth is None or nth == self._hits[name]:
            self._kill(signum)


def _nth(item: str, nth: str) -> int | None:
    """The hit a spec's N names (1 when left out), None for every hit (``*``)."""
    if nth == EVERY:
        return None
    try:
        value = int(nth or 1)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"failpoint {item!r}: N must be a whole number from 1, or {EVERY!r}")
    return value
