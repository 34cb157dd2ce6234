"""Intraday refresh: the day's PTAX bulletins and 15-minute bars, stored under their own keys.

The daily closing series are untouched: they keep coming from the daily requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.intraday import INTRADAY_SERIES, collection_days
from fuelpipe.ports.intraday import IntradaySource, IntradayStore
from fuelpipe.ports.source import SourceError
from fuelpipe.stages._report import Counters
from fuelpipe.stages.source_rest import Rests


@dataclass
class IntradayReport(Counters):
    """What one refresh stored."""

    series: int = 0
    points_written: int = 0
    points_changed: int = 0
    """Of the points written, those new or changed (a re-read of the same points: none)."""
    purged: int = 0
    failed: int = 0
    no_session: int = 0
    """Series asked for that have no session then (their calendar's holiday, or São Paulo's
    evening for all but BZ=F): not fetched."""
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """Counters only."""
        return {
            "series": self.series,
            "points_written": self.points_written,
            "purged": self.purged,
            "failed": self.failed,
            "no_session": self.no_session,
        }

    def summary(self) -> str:
        """A few words for the watch heartbeat, on what is new: ``intraday: 26 new or changed
        point(s) for 2 series``, or ``intraday: nothing new for 2 series``."""
        failed = f" ({self.failed:,} failed)" if self.failed else ""
        new = (
            f"{self.points_changed:,} new or changed point(s)"
            if self.points_changed
            else "nothing new"
        )
        return f"intraday: {new} for {self.series:,} series{failed}"


def refresh_intraday(
    sources: Mapping[str, object],
    store: IntradayStore,
    catalog: Catalog,
    day: date,
    now: datetime,
    keys: Sequence[str] = INTRADAY_SERIES,
    rests: Rests | None = None,
) -> IntradayReport:
    """Fetch and store one day's intraday points of every intraday series; expire old ones.

    A source error on one series is reported and the others go on; so is a store error
    writing one series' points (DynamoDB throttling, batch items left unprocessed after the
    adapter's retries): the port names no error type of its own, so any error of
    ``put_points`` counts that series as failed. When every series failed, the caller fails
    the run (the intraday Lambda raises IntradayFailed). With ``rests`` (`watch`'s), a source
    inside its Retry-After is not asked (its series count as failed, with the instant it may
    be), and a Retry-After it answers with is kept there.
    """
    return _refresh(sources, store, catalog, dict.fromkeys(keys, day), now, rests)


def _refresh(
    sources: Mapping[str, object],
    store: IntradayStore,
    catalog: Catalog,
    days: Mapping[str, date],
    now: datetime,
    rests: Rests | None,
) -> IntradayReport:
    """:func:`refresh_intraday` with a day of its own for each series (its market's date)."""
    report = IntradayReport()
    for key, day in days.items():
        if key not in catalog:
            continue
        series = catalog[key]
        source = sources.get(series.source)
        if not isinstance(source, IntradaySource):
            continue
        report.series += 1
        if rests is not None and (until := rests.until(series.source, now)) is not None:
            report.failed += 1
            report.errors.append(f"{key}: not asked before {until.isoformat()} (its Retry-After)")
            continue
        try:
            points = source.fetch_intraday(series, day)
        except SourceError as exc:
            report.failed += 1
            report.errors.append(f"{key}: {exc}")
            if rests is not None:
                rests.note(series.source, exc)
            continue
        try:
            stored = store.put_points(points)
            report.points_written += stored.written
            report.points_changed += stored.changed
            if not points:  # the panel says the source had none, not how to collect them
                store.note_none(key, day, now)
        except Exception as exc:  # this series' write alone; the others go on
            report.failed += 1
            report.errors.append(f"{key}: store: {type(exc).__name__}: {exc}")
    report.purged = store.purge_expired(now)
    return report


def refresh_today(
    sources: Mapping[str, object],
    store: IntradayStore,
    catalog: Catalog,
    now: datetime,
    keys: Sequence[str] = INTRADAY_SERIES,
    rests: Rests | None = None,
) -> tuple[date, IntradayReport]:
    """The intraday refresh of the day it is in São Paulo at ``now``, asking only the series
    of ``keys`` in a session then, each for its market's day (:func:`collection_days`: a B3
    holiday is no NYSE holiday, on a day without one nothing is fetched, and after São
    Paulo's day window only BZ=F's evening session is asked, for its New York date, the day
    before after São Paulo's midnight); the São Paulo day and the report."""
    day = now.astimezone(SAO_PAULO).date()
    wanted = [k for k in keys if k in catalog]
    days = collection_days(catalog, now, wanted)
    report = _refresh(sources, store, catalog, days, now, rests)
    report.no_session = len(wanted) - len(days)
    return day, report
