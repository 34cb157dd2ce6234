"""Which kind of ANP station file a CSV is, decided by what it holds, not by its name.

ANP publishes the survey's records twice: first in the rolling "últimas 4 semanas" files
(``qus/``), republished every week, then in the consolidated files (monthly ``dsan/``, and
semiannual ``dsas/`` up to 2021), which may correct a day. A rolling file is provisional: next
week's still carries the days the monthly file corrected, as first published, so the lake lets
a rolling file's record replace another rolling file's, never a consolidated file's (see
``adapters/lake/engine.py``). A rolling file saved under another name is still a rolling
file, so the kind comes from the collection days the file holds, the span the ingest has in
hand already (the distinct days its validation parsed), and the name is only a hint for the
files whose days cannot tell.

What the days tell (survey weeks run Sunday to Saturday, ``week_start``):

- more than 4 survey weeks, none of them without a collection day: **consolidated** (a
  rolling file holds 4 weeks; the real ones span 2025-03-24 … 04-19 and 2023-12-04 … 12-28);
- at most 4 survey weeks over two calendar months: **rolling** (a consolidated file covers
  whole months: once it spans two, it spans 5 survey weeks or more);
- at most 4 survey weeks of one month: either (the 2023 rolling file lies in December; a
  monthly file whose first and last days were not surveyed, such as June 2024 from Monday 3
  to Saturday 29, or a February from Sunday 1 to Saturday 28, lies in 4 weeks too), and so
  is a span of more than 4 weeks with an empty survey week in it (a consolidated file across
  a pause of the survey, or a rolling file with a stray date). Then ANP's name decides, when
  it is one of ANP's (``ultimas-4-semanas-…``; ``precos-…-MM``, ``ca-YYYY-0S``); else the
  kind is **undecided**, and the lake says so and treats the file so that it reverts no
  correction, whichever kind it is (``adapters/lake/engine.py``): ``--kind`` decides it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from fuelpipe.domain.stations import week_start

ROLLING = "rolling"
CONSOLIDATED = "consolidated"
UNDECIDED = "undecided"
KINDS = (ROLLING, CONSOLIDATED)
"""The kinds ``stations ingest --kind`` may give (``auto``, its default, decides)."""
ROLLING_WEEKS = 4
"""The survey weeks a rolling "últimas 4 semanas" file holds at most."""

ROLLING_NAME = re.compile(r"[uú]ltimas[-_ ]*4[-_ ]*semanas", re.IGNORECASE)
"""ANP's name of a rolling file (``qus/ultimas-4-semanas-<fuels>.csv``)."""
CONSOLIDATED_NAME = re.compile(
    r"(?:^|[^a-z0-9])(?:precos-[a-z-]+-\d{2}|ca-\d{4}-0[12])(?:[^a-z0-9]|$)", re.IGNORECASE
)
"""ANP's names of a consolidated file: monthly ``dsan/YYYY/precos-<fuels>-MM.csv``,
semiannual ``dsas/ca/ca-YYYY-0S.csv``."""


@dataclass(frozen=True)
class FileKind:
    """A CSV's kind (``ROLLING``, ``CONSOLIDATED`` or ``UNDECIDED``) and why, in words."""

    kind: str
    why: str


def kind_by_name(name: str) -> str | None:
    """The kind ANP's naming gives a file of this name, or None when it is none of ANP's."""
    if ROLLING_NAME.search(name):
        return ROLLING
    if CONSOLIDATED_NAME.search(name):
        return CONSOLIDATED
    return None


def kind_by_days(days: Collection[date]) -> tuple[str | None, str]:
    """The kind a file's distinct collection days say (None: they cannot tell), and why."""
    if not days:
        return None, "it holds no valid collection day"
    first, last = min(days), max(days)
    weeks = {week_start(d) for d in days}
    span = (week_start(last) - week_start(first)).days // 7 + 1
    held = f"its collection days ({first} … {last}) span {span} survey week(s)"
    if span > ROLLING_WEEKS:
        if len(weeks) < span:
            return None, (
                f"{held}, {span - len(weeks)} of them without a collection day: a consolidated "
                "file across a pause of the survey, or a rolling file with a stray date"
            )
        return CONSOLIDATED, f"{held}, more than a rolling file's {ROLLING_WEEKS}"
    if (first.year, first.month) != (last.year, last.month):
        return ROLLING, (
            f"{held} across two months: a consolidated file covers whole months, "
            f"more than {ROLLING_WEEKS} survey weeks once it spans two"
        )
    return None, (
        f"{held} of one month: a rolling file's {ROLLING_WEEKS} weeks may, and so may a "
        "consolidated month whose first and last days were not surveyed"
    )


def file_kind(
    days: Collection[date], name: str, given: str | None = None, *, resumed: bool = False
) -> FileKind:
    """The kind of the CSV ``name`` holding these distinct collection days: ``given``
    (``--kind``) when there is one, else what its days say, else what ANP's name for it says,
    else ``UNDECIDED``. The reason says which decided, and a name or a given kind the days
    contradict. ``resumed``: ``given`` is the kind an interrupted ingest of the file was given
    (its incomplete mark's), which this one completes."""
    by_days, why = kind_by_days(days)
    by_name = kind_by_name(name)
    if given is not None:
        if given not in KINDS:
            raise ValueError(f"a file's kind is one of {', '.join(KINDS)}, not {given!r}")
        against = f"; by its content it is {by_days}: {why}" if by_days not in (None, given) else ""
        to = ", to the interrupted ingest this one completes" if resumed else ""
        return FileKind(given, f"given (--kind {given}{to}){against}")
    if by_days is not None:
        named = f" (its name is a {by_name} file's)" if by_name not in (None, by_days) else ""
        return FileKind(by_days, f"by its content{named}: {why}")
    if by_name is not None:
        return FileKind(
            by_name, f"by ANP's name for a {by_name} file; its content cannot tell: {why}"
        )
    return FileKind(UNDECIDED, f"its content cannot tell: {why}; and its name is none of ANP's")


def resumed_kind(fresh: FileKind, decided: FileKind) -> FileKind:
    """The kind of a CSV whose interrupted ingest, given no kind, ``decided`` one (its incomplete
    mark's), which this ingest, given none either, completes: that one, so that all the CSV's
    records are written as one kind, though this ingest's days and name (``fresh``) may say
    otherwise (the same content from a file of another name). When they agree, ``fresh``: the
    report of an uninterrupted ingest."""
    if fresh.kind == decided.kind:
        return fresh
    return FileKind(
        decided.kind,
        f"decided by the interrupted ingest this one completes ({decided.why}); "
        f"now it would be {fresh.kind}: {fresh.why}",
    )
