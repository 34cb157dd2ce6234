"""A dated series of floats and the week arithmetic every analysis shares."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

WeeklyHow = Literal["mean", "last"]
ONE_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class TimeSeries:
    """Values of one series on strictly increasing dates."""

    name: str
    dates: tuple[date, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.dates) != len(self.values):
            raise ValueError(f"{self.name}: {len(self.dates)} dates but {len(self.values)} values")
        if any(b <= a for a, b in zip(self.dates, self.dates[1:], strict=False)):
            raise ValueError(f"{self.name}: dates must be strictly increasing")

    @classmethod
    def of(cls, name: str, points: Iterable[tuple[date, float]]) -> TimeSeries:
        """Build from (date, value) pairs in any order; a repeated date keeps the last value."""
        by_day = dict(points)
        days = sorted(by_day)
        return cls(name, tuple(days), tuple(float(by_day[d]) for d in days))

    def __len__(self) -> int:
        return len(self.dates)

    def as_dict(self) -> dict[date, float]:
        """Date → value."""
        return dict(zip(self.dates, self.values, strict=True))

    def window(self, start: date | None = None, end: date | None = None) -> TimeSeries:
        """The points with ``start <= date <= end`` (either bound may be open)."""
        pairs = [
            (d, v)
            for d, v in zip(self.dates, self.values, strict=True)
            if (start is None or d >= start) and (end is None or d <= end)
        ]
        return TimeSeries(self.name, tuple(d for d, _ in pairs), tuple(v for _, v in pairs))

    def renamed(self, name: str) -> TimeSeries:
        """The same points under another name."""
        return TimeSeries(name, self.dates, self.values)

    def value_on_or_before(self, day: date) -> tuple[date, float] | None:
        """The last point at or before ``day``."""
        found: tuple[date, float] | None = None
        for d, v in zip(self.dates, self.values, strict=True):
            if d > day:
                break
            found = (d, v)
        return found


def week_start(day: date) -> date:
    """The Sunday that opens the ANP survey week containing ``day``."""
    # domain.stations.week_start's arithmetic (why not dateutil: there), not imported: that
    # module would bring difflib into the outlook Lambda's view refresh, which imports this.
    return day - timedelta(days=(day.weekday() + 1) % 7)


def to_weekly(series: TimeSeries, how: WeeklyHow = "mean") -> TimeSeries:
    """Resample a daily series onto ANP survey weeks, keyed by each week's Sunday.

    ``mean`` averages the observations of the Sunday–Saturday week (the ANP survey collects
    prices across the week, so the mean is the comparable driver); ``last`` keeps the week's
    final observation. Weeks with no observation are absent, never filled.
    """
    buckets: dict[date, list[float]] = {}
    for d, v in zip(series.dates, series.values, strict=True):
        buckets.setdefault(week_start(d), []).append(v)
    if how == "mean":
        return TimeSeries.of(
            series.name, ((w, math.fsum(vs) / len(vs)) for w, vs in buckets.items())
        )
    if how == "last":
        return TimeSeries.of(series.name, ((w, vs[-1]) for w, vs in buckets.items()))
    raise ValueError(f"unknown weekly aggregation {how!r}: use 'mean' or 'last'")


def without_unfinished_week(weekly: TimeSeries, last_day: date, next_expected: date) -> TimeSeries:
    """``weekly`` (a daily series on survey weeks, :func:`to_weekly`, whose last day read is
    ``last_day``) without the week holding ``last_day`` when that week is not whole as
    published: when its series' calendar expects another value in it (``next_expected``, the
    first date the calendar expects after ``last_day``, on or before the week's Saturday).

    Such a week's mean (or last value) stands on the days out so far: FRED's Brent, loaded in
    batches through a Monday, ends on a week of that Monday alone, where every other week
    averages its five days; that is not the quantity the other weeks are, and its change
    entered the correlations and pass-through as one (Brazil's gasoline and Brent from
    2021-11-07 as known by the end of 2022-01-27: r 0.077 over 10 weeks, the Monday of 01-17
    standing for its week; -0.088 over the 9 whole ones). The weeks before it are as
    published: a day missing there is a day the source skipped, as later days are out.
    """
    week = week_start(last_day)
    if next_expected > week + timedelta(days=6) or not weekly.dates or weekly.dates[-1] != week:
        return weekly
    return TimeSeries(weekly.name, weekly.dates[:-1], weekly.values[:-1])


def log_changes(series: TimeSeries, step: timedelta = ONE_WEEK) -> TimeSeries:
    """ln(v_t / v_{t-step}) where both dates exist; a gap (e.g. a survey pause) yields nothing."""
    values = series.as_dict()
    out = [
        (d, math.log(v / values[d - step]))
        for d, v in values.items()
        if d - step in values and v > 0 and values[d - step] > 0
    ]
    return TimeSeries.of(series.name, out)


def product_at_latest(name: str, a: TimeSeries, b: TimeSeries, max_age: timedelta) -> TimeSeries:
    """a × b's latest value on or before each of a's dates, at most ``max_age`` before it (e.g.
    Brent in USD/bbl × the PTAX in force that day = BRL/bbl); a date with none is left out.

    Matching dates alone dropped a's days on b's holidays: Brent on Carnival Monday and Tuesday
    2022 (103.08, 110.93 USD/bbl, the week's two lowest), so the week's mean in BRL was its last
    three days' (607.25), 3.9% above the five days' 584.32."""
    out = []
    for d, v in zip(a.dates, a.values, strict=True):
        i = bisect_right(b.dates, d) - 1
        if i >= 0 and d - b.dates[i] <= max_age:
            out.append((d, v * b.values[i]))
    return TimeSeries(name, tuple(d for d, _ in out), tuple(v for _, v in out))


def paired(
    a: TimeSeries, b: TimeSeries, shift: timedelta = timedelta(0)
) -> tuple[list[float], list[float]]:
    """Values of ``a`` at t and ``b`` at t − shift, for every t where both exist."""
    other = b.as_dict()
    xs: list[float] = []
    ys: list[float] = []
    for d, v in zip(a.dates, a.values, strict=True):
        w = other.get(d - shift)
        if w is not None:
            xs.append(v)
            ys.append(w)
    return xs, ys


def normalised_index(series: TimeSeries, base: date) -> tuple[date, TimeSeries]:
    """100 × v / v_base, where the base is the first observation on or after ``base``."""
    for d, v in zip(series.dates, series.values, strict=True):
        if d >= base:
            if v == 0:
                raise ValueError(f"{series.name}: the base value on {d} is zero")
            return d, TimeSeries(
                series.name, series.dates, tuple(100.0 * x / v for x in series.values)
            )
    raise ValueError(f"{series.name}: no observation on or after the base date {base}")
