"""What `fuelpipe demo` and scripts/demo_aws.py share: the phases over the bundled snapshot of
real data, and the words of their summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuelpipe.domain.calendars import get_calendar, period_start
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series
from fuelpipe.domain.instants import SAO_PAULO

if TYPE_CHECKING:
    from fuelpipe.stages.status import KeyStatus


@dataclass(frozen=True)
class DemoPhase:
    """One run of the pipeline over part of the snapshot, with its own injected clock."""

    name: str
    series: list[Series]
    since: date
    now: datetime
    in_window: bool = True
    """False for the series whose real data lies only beyond the snapshot window."""


def snapshot_dir() -> Path:
    """Where the bundled real data lives."""
    from fuelpipe.replay import SNAPSHOT_DIR

    return Path(SNAPSHOT_DIR)


def plan_phases(coverage: Mapping[str, Any]) -> list[DemoPhase]:
    """Series with real data in the window run with `--now` at its end; the few whose real data
    lies only beyond it (weekly state prices) get a second phase over their own range.

    Each series is asked only for the dates its real file covers: from the later of its first
    real date and the start of its calendar period holding the window start (the ANP week of
    Sunday 2021-05-16, the month of 2021-05-01: bundled, and published long before the demo's
    clock), up to its last real date (a file that ends early, such as PETR3's, gets an earlier
    `--now`; one that runs on past the window, such as the PTAX the state weeks' outlook needs,
    a later one). The replay never published anything outside that span, so asking for it
    would only leave PENDING records for dates no source ever had.
    """
    window = coverage["window"]
    w_start, w_end = date.fromisoformat(window["start"]), date.fromisoformat(window["end"])
    in_window: dict[tuple[date, datetime], list[Series]] = {}
    later: dict[str, list[Series]] = {}
    for key, span in coverage["series"].items():
        if key not in DEFAULT_CATALOG:
            continue
        entry = DEFAULT_CATALOG[key]
        first, last = date.fromisoformat(span["first"]), date.fromisoformat(span["last"])
        if first <= w_end and last >= w_start:
            now = _end_of(w_end)
            cal = get_calendar(entry.calendar)
            if last > w_end or cal.next_expected(last) <= entry.published_through(now):
                now = _published(last, entry)
            since = max(period_start(cal, w_start), first)
            in_window.setdefault((since, now), []).append(entry)
        else:
            later.setdefault(f"{first.isoformat()}..{last.isoformat()}", []).append(entry)
    # The biggest first; of equal size, the earliest clock first: a phase's outlook refresh at
    # an earlier clock after a later one (PETR4's 2025-09 after PTAX's 2026-06) stored a second
    # forecast, made at that earlier clock, beside the later one.
    groups = sorted(in_window.items(), key=lambda item: (-len(item[1]), item[0][1]))
    phases = [
        DemoPhase("window" if i == 0 else f"window ({_label(series)})", series, since, now)
        for i, ((since, now), series) in enumerate(groups)
    ]
    for span, series in sorted(later.items()):
        first, last = (date.fromisoformat(p) for p in span.split(".."))
        # At the last date's publication, not its end: ANP publishes a week on its Friday,
        # after the week's Sunday has ended, and the demo would otherwise stop a week short.
        now = max(_end_of(last), *(_published(last, s) for s in series))
        phases.append(DemoPhase(f"beyond the window ({span})", series, first, now, False))
    return phases


def _label(series: list[Series]) -> str:
    """A phase's few keys, or the families of its many (``FUEL``: the weekly ANP series)."""
    if len(series) <= 3:
        return ", ".join(s.key for s in series)
    return ", ".join(sorted({s.kind.value for s in series}))


_SOURCE_NAMES = {
    "bcb": "BCB",
    "yahoo": "Yahoo",
    "fred": "FRED",
    "anp": "ANP",
    "shpc": "ANP stations",
}


def requests_line(counts: dict[str, int]) -> str:
    """``BCB 3, Yahoo 9, …``: the replay's request counts per source, by the source's name."""
    return ", ".join(f"{_SOURCE_NAMES.get(k, k)} {n}" for k, n in counts.items()) or "none"


def has_records(row: KeyStatus) -> bool:
    """Whether ``row``'s series has any record: what `status` and the panel's health count."""
    return bool(row.present or row.unexpected or row.pending or row.quarantined or row.absent)


def _published(day: date, series: Series) -> datetime:
    """The first instant ``day``'s value of ``series`` is published (and no later one)."""
    return series.schedule.published_at(day) + timedelta(minutes=1)


def _end_of(day: date) -> datetime:
    """The instant every source has published ``day`` and the weeks before it."""
    return datetime.combine(day, dtime(23, 59), SAO_PAULO)
