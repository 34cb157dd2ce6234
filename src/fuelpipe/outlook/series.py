"""The outlook's inputs as arrays, and what of them is known at an as-of time.

Pure: no I/O, no clock. Dates are numpy ``datetime64[D]`` day numbers; values are floats.
A value dated ``d`` is known at ``as_of`` when the start of ``d`` (São Paulo time) plus its
series' publication lag (the catalog's ``available_after``) is not after ``as_of``; FRED's
Brent, published in weekly batches, when its batch is out by the catalog's schedule
(:attr:`Lags.brent_schedule`, domain/publication.py). That one rule decides what every
forecast may use, in the backtest and in the stored outlook alike.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import Kind, commodity_key, currency_key
from fuelpipe.domain.publication import Publication
from fuelpipe.outlook.forecast import StaleDriver

Days = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Counts = npt.NDArray[np.intp]
Bools = npt.NDArray[np.bool_]

FUEL_LAG = timedelta(days=7)
PTAX_LAG = timedelta(hours=14)
FRED_LAG = timedelta(days=7)
FUTURES_LAG = timedelta(hours=20)
"""Round defaults (:class:`Lags`), for callers without a catalog and the synthetic tests: not
the catalog's ``available_after`` (ANP 5 d 18 h, PTAX 13 h 10, BZ=F 20 h 30), which the stage,
the CLI, the dashboard and the bench pass (:meth:`Lags.from_catalog`). With these a week's
as-of is the Sunday after it, not its Friday, so the figures differ a little (the 2020 pause's
one-week 80% coverage: 36 of 45 here, 37 with the catalog's)."""


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_number(day: date) -> int:
    """Days since 1970-01-01 (plain ordinals: ~10x faster than a numpy datetime64 per call)."""
    return day.toordinal() - _EPOCH_ORDINAL


def day_of(number: int) -> date:
    """The inverse of :func:`day_number`."""
    return date(1970, 1, 1) + timedelta(days=int(number))


def cutoff(as_of: datetime, lag: timedelta) -> int:
    """The last day number whose value, published ``lag`` after its start, is known at as_of."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    local = (as_of.astimezone(SAO_PAULO) - lag).replace(tzinfo=None)
    return day_number(local.date())


def known_at(day: date, lag: timedelta) -> datetime:
    """The first instant a value dated ``day`` is known (start of day in São Paulo + lag)."""
    return datetime.combine(day, time(0), SAO_PAULO) + lag


@dataclass(frozen=True, slots=True)
class Series:
    """One series: strictly increasing day numbers and positive finite values."""

    days: Days
    values: Floats

    @classmethod
    def of(cls, points: Iterable[tuple[date, float]]) -> Series:
        """Build from (date, value) pairs; duplicates keep the last, bad values are dropped.

        A value is bad when it is not finite or not positive; a bad value does not replace a
        good one given earlier for the same day.
        """
        pairs = list(points)
        if not pairs:
            return cls.empty()
        dates, raw = zip(*pairs, strict=True)
        days = np.fromiter(map(date.toordinal, dates), np.int64, len(dates)) - _EPOCH_ORDINAL
        values = np.fromiter(map(float, raw), np.float64, len(raw))
        good = np.isfinite(values) & (values > 0)
        days, values = days[good], values[good]
        if np.any(days[1:] <= days[:-1]):
            order = np.argsort(days, kind="stable")  # equal days keep their given order
            days, values = days[order], values[order]
            last = np.append(days[1:] != days[:-1], True)  # the last of each day's values
            days, values = days[last], values[last]
        return cls(days, values)

    @classmethod
    def empty(cls) -> Series:
        """No values."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.days)

    def upto(self, last_day: int) -> Series:
        """Only the values dated on or before ``last_day``."""
        n = int(np.searchsorted(self.days, last_day, side="right"))
        return Series(self.days[:n], self.values[:n])

    def at_or_before(self, days: Days | int) -> Floats:
        """The latest value on or before each day (NaN before the first value)."""
        where = np.searchsorted(self.days, days, side="right") - 1
        out = np.where(where >= 0, self.values[np.maximum(where, 0)], np.nan)
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything one area's outlook reads: its weekly fuel price and the daily drivers."""

    fuel: Series
    """Survey weeks, dated by their Sunday (ANP's DATA INICIAL)."""
    brent: Series
    """Brent spot, USD/bbl (FRED DCOILBRENTEU)."""
    usd: Series
    """PTAX USD/BRL (sell)."""
    futures: Series
    """Brent front-month futures BZ=F, USD/bbl; may be empty."""


@dataclass(frozen=True, slots=True)
class Drivers:
    """The daily drivers, shared by every fuel and area: build them once per refresh."""

    brent: Series
    usd: Series
    futures: Series

    def with_fuel(self, fuel: Series) -> Inputs:
        """One area's inputs: its weekly fuel price and these drivers."""
        return Inputs(fuel=fuel, brent=self.brent, usd=self.usd, futures=self.futures)


@dataclass(frozen=True, slots=True)
class Lags:
    """Publication lag of each input (the catalog's ``available_after``)."""

    fuel: timedelta = FUEL_LAG
    brent: timedelta = FRED_LAG
    usd: timedelta = PTAX_LAG
    futures: timedelta = FUTURES_LAG
    brent_schedule: Publication | None = None
    """Brent's schedule when it publishes in batches (the catalog's FRED Brent): its cutoff is
    then the last date whose batch is out at as_of, not as_of less one lag, which no batch
    fits (a Monday's value is out 4 days after its date, a Tuesday's 10)."""

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Lags:
        """The lags the catalog gives its series (the defaults where it lacks one)."""

        def lag(key: str, default: timedelta) -> timedelta:
            return catalog[key].available_after if key in catalog else default

        fuel = next((s.available_after for s in catalog if s.kind is Kind.FUEL), FUEL_LAG)
        brent = commodity_key("BRENT")
        schedule = catalog[brent].schedule if brent in catalog else None
        return cls(
            fuel=fuel,
            brent=lag(brent, FRED_LAG),
            usd=lag(currency_key("USD"), PTAX_LAG),
            futures=lag(commodity_key("BRENT_FUTURES"), FUTURES_LAG),
            brent_schedule=schedule if schedule and schedule.batch_through is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """The last known day of each input at one as-of time."""

    fuel: int
    brent: int
    usd: int
    futures: int

    @classmethod
    def at(cls, as_of: datetime, lags: Lags) -> Cutoffs:
        """Each input's cutoff at as_of."""
        return cls(
            fuel=cutoff(as_of, lags.fuel),
            brent=brent_cutoff(as_of, lags),
            usd=cutoff(as_of, lags.usd),
            futures=cutoff(as_of, lags.futures),
        )


def brent_cutoff(as_of: datetime, lags: Lags) -> int:
    """Brent's cutoff at as_of: by its batch schedule when it has one, else by its lag."""
    schedule = lags.brent_schedule
    if schedule is None:
        return cutoff(as_of, lags.brent)
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    return day_number(schedule.published_through(as_of))


def served_at(fuel: Series, as_of: datetime, lags: Lags) -> datetime:
    """The instant a forecast served at as_of is made at: the publication (:func:`known_at`) of
    the last survey week known at as_of, the offset of every training and backtest row.

    A driver day that lands mid-week (a Tuesday PTAX) is not read before the next survey week:
    the forecast would then be made at an offset no row was trained or scored at. Before any
    survey week is known, as_of itself.
    """
    known = int(np.searchsorted(fuel.days, cutoff(as_of, lags.fuel), side="right"))
    return known_at(day_of(int(fuel.days[known - 1])), lags.fuel) if known else as_of


def served_cutoffs(fuel: Series, as_of: datetime, lags: Lags) -> Cutoffs:
    """Each input's cutoff for the forecast served at as_of (at :func:`served_at`)."""
    return Cutoffs.at(served_at(fuel, as_of, lags), lags)


@dataclass(frozen=True, slots=True)
class CutoffRows:
    """Cutoffs of many as-of times at once: one row per as-of time, each field an array."""

    fuel: Days
    brent: Days
    usd: Days
    futures: Days

    @classmethod
    def of(cls, cut: Cutoffs) -> CutoffRows:
        """One row: the cutoffs ``cut``."""
        return cls(
            *(np.array([c], dtype=np.int64) for c in (cut.fuel, cut.brent, cut.usd, cut.futures))
        )

    @classmethod
    def published(cls, days: Days, lags: Lags) -> CutoffRows:
        """The cutoffs at the moment each fuel value dated ``days`` is published.

        Equal to ``Cutoffs.at(known_at(day_of(d), lags.fuel), lags)`` for every day ``d``
        without a datetime per day: :func:`known_at` gives a São Paulo wall time and
        :func:`cutoff` subtracts its lag from that same wall time (``astimezone`` to the zone
        an instant already has changes nothing), so each cutoff is the day plus the whole days
        of ``lags.fuel - lag``, rounded down. A test holds the two equal across DST changes.
        Brent by batches (:attr:`Lags.brent_schedule`) has no such shift: it is computed once
        per distinct day.
        """

        def shifted(lag: timedelta) -> Days:
            return np.asarray(days + (lags.fuel - lag).days, dtype=np.int64)

        def brent() -> Days:
            if lags.brent_schedule is None:
                return shifted(lags.brent)
            distinct, where = np.unique(days, return_inverse=True)
            cuts = [brent_cutoff(known_at(day_of(int(d)), lags.fuel), lags) for d in distinct]
            return np.asarray(cuts, dtype=np.int64)[where].reshape(np.shape(days))

        return cls(
            fuel=shifted(lags.fuel),
            brent=brent(),
            usd=shifted(lags.usd),
            futures=shifted(lags.futures),
        )


@dataclass(frozen=True, slots=True)
class StaleAfter:
    """How many days a driver's newest known value may lie before its cutoff (the last day a
    value of it can be known at the as-of time, after its publication lag) and still count as
    current: measured from the cutoff, only the silences of the driver's calendar count."""

    brent: int = 21  # FRED loads EIA's spot prices in weekly batches: 3 weeks = 2 batches missed
    usd: int = 10  # PTAX is out every business day; its longest silence (Carnival) is 5 days
    futures: int = 10  # BZ=F settles every NYMEX day; its longest silence (Easter) is 4 days


DRIVER_NAMES = ("brent", "usd", "futures")


def stale_drivers(inputs: Inputs, cut: Cutoffs, limits: StaleAfter) -> tuple[StaleDriver, ...]:
    """The drivers whose newest value known at the cutoffs lies more than their limit before
    their cutoff. A driver with no value known at all is not listed: without Brent or PTAX
    there is no forecast, and BZ=F is optional."""
    out: list[StaleDriver] = []
    for name in DRIVER_NAMES:
        series: Series = getattr(inputs, name)
        last: int = getattr(cut, name)
        known = int(np.searchsorted(series.days, last, side="right"))
        if known and last - int(series.days[known - 1]) > getattr(limits, name):
            out.append(StaleDriver(name, day_of(int(series.days[known - 1]))))
    return tuple(out)


def brent_brl_current(inputs: Inputs, cut: Cutoffs, stale: tuple[StaleDriver, ...]) -> bool:
    """Whether Brent in BRL still follows the market at the cutoffs: PTAX is current, and so is
    Brent spot or BZ=F, which carries spot on from its last day (:func:`brent_brl`) when it has
    a value on or before that day. Otherwise its level is frozen at a stale value."""
    names = {s.name for s in stale}
    if "usd" in names:
        return False
    if "brent" not in names:
        return True
    spot = inputs.brent.upto(cut.brent)
    futures = inputs.futures.upto(cut.futures)
    return "futures" not in names and len(futures) > 0 and futures.days[0] <= spot.days[-1]


MAX_GAP_DAYS = 182  # ANP paused the survey for 9 weeks in 2020: still neighbours
"""A longer hole (a state file that stops for years) splits a history into parts."""


def parts_of(days: Days) -> list[tuple[int, int]]:
    """``[lo, hi)`` row ranges of the stretches of ``days`` without a hole over 26 weeks."""
    bounds = [0, *(np.flatnonzero(np.diff(days) > MAX_GAP_DAYS) + 1).tolist(), len(days)]
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def truncate(inputs: Inputs, cut: Cutoffs) -> Inputs:
    """The inputs as they were known at the cutoffs."""
    return Inputs(
        fuel=inputs.fuel.upto(cut.fuel),
        brent=inputs.brent.upto(cut.brent),
        usd=inputs.usd.upto(cut.usd),
        futures=inputs.futures.upto(cut.futures),
    )


def _known(series: Series, cut: Days) -> Counts:
    """How many of the series' values are known at each cutoff."""
    return np.asarray(np.searchsorted(series.days, cut, side="right"), dtype=np.intp)


def _latest_known(series: Series, known: Counts, days: Days) -> Floats:
    """Per row r, the latest of the first ``known[r]`` values on or before each of ``days[r]``."""
    if not len(series):
        return np.full(days.shape, np.nan)
    where = np.minimum(np.searchsorted(series.days, days, side="right"), known[:, None]) - 1
    out = np.where(where >= 0, series.values[np.maximum(where, 0)], np.nan)
    return np.asarray(out, dtype=np.float64)


def _carry_start(
    inputs: Inputs, n_futures: Counts, last_spot_day: Days, last: Counts
) -> tuple[Floats, Floats, Counts]:
    """Per row, where BZ=F's carry of Brent spot starts: (spot's value, BZ=F's) on the last day
    both have, on or before spot's last known day, NaN where BZ=F has no bar by then; and how
    many BZ=F bars known at the row lie on or before spot's last day.

    Each day's move is counted once: spot's own moves up to that day, BZ=F's after it. Started
    from BZ=F's bar before spot's last day when that day has none (a US holiday such as Martin
    Luther King day, or a bar the history leaves out) with spot's last value, spot's move over
    the gap would be counted again in BZ=F's. When the two share no day, the carry starts from
    BZ=F's last bar on or before spot's last day with spot's last value."""
    futures, spot = inputs.futures, inputs.brent
    if not len(futures):
        nan = np.full(len(last_spot_day), np.nan)
        return nan, nan, np.zeros(len(last_spot_day), dtype=np.intp)
    bars = np.minimum(np.searchsorted(futures.days, last_spot_day, side="right"), n_futures)
    at = np.minimum(np.searchsorted(spot.days, futures.days), len(spot) - 1)
    shared = spot.days[at] == futures.days
    latest_shared = np.maximum.accumulate(np.where(shared, np.arange(len(futures)), -1))
    common = latest_shared[np.maximum(bars - 1, 0)]
    bar = np.where(common >= 0, common, bars - 1)
    level = np.where(common >= 0, spot.values[at[np.maximum(common, 0)]], spot.values[last])
    has = bars > 0
    base = np.where(has, futures.values[np.maximum(bar, 0)], np.nan)
    level = np.asarray(np.where(has, level, np.nan), dtype=np.float64)
    return level, np.asarray(base, dtype=np.float64), np.asarray(bars, dtype=np.intp)


def brent_brl_rows(inputs: Inputs, cuts: CutoffRows, days: Days) -> Floats:
    """:func:`brent_brl` for many cutoffs at once: row r values ``days[r]`` at cutoffs row r."""
    if not len(inputs.brent) or not len(inputs.usd):
        return np.full(days.shape, np.nan)
    n_brent, n_usd = _known(inputs.brent, cuts.brent), _known(inputs.usd, cuts.usd)
    n_futures = _known(inputs.futures, cuts.futures)
    spot = _latest_known(inputs.brent, n_brent, days)
    has_spot = n_brent > 0
    last = np.maximum(n_brent - 1, 0)
    last_spot_day = np.where(has_spot, inputs.brent.days[last], 0)
    level, base, bars = _carry_start(inputs, n_futures, last_spot_day, last)
    later = (days > last_spot_day[:, None]) & np.isfinite(base)[:, None]
    if len(inputs.futures):  # until BZ=F's next bar after spot's last day, spot's last value
        newer = np.minimum(
            np.searchsorted(inputs.futures.days, days, side="right"), n_futures[:, None]
        )
        later &= newer > bars[:, None]
    if later.any():
        moved = _latest_known(inputs.futures, n_futures, days) / base[:, None]
        carried = level[:, None] * np.where(np.isfinite(moved), moved, 1.0)
        spot = np.where(later, carried, spot)
    out = spot * _latest_known(inputs.usd, n_usd, days)
    out[~(has_spot & (n_usd > 0))] = np.nan
    return np.asarray(out, dtype=np.float64)


def brent_brl(inputs: Inputs, cut: Cutoffs, days: Days) -> Floats:
    """Brent in BRL per barrel on each day, as known at the cutoffs (NaN where unknown).

    Brent spot (FRED) is the level; after FRED's last known day it is carried forward by the
    futures' move (FRED publishes in weekly batches, BZ=F daily), from the last day both have
    on or before it (:func:`_carry_start`) once BZ=F has a bar after it (spot's last value
    until then), and after that by the dollar alone. A day after every cutoff is valued at the
    latest known values.
    """
    rows = brent_brl_rows(inputs, CutoffRows.of(cut), np.asarray(days, dtype=np.int64)[None, :])
    return np.asarray(rows[0], dtype=np.float64)


def driver_days(cuts: CutoffRows) -> Days:
    """Per row, its as-of day: the last day a driver value can be known at its cutoffs (the
    latest of the drivers' cutoffs, PTAX's with the catalog's lags), where the model's driver
    blocks end (:func:`~fuelpipe.outlook.model.build_samples`), each driver read at or before
    it. A day fixed by the row's time, not by its data: ended at the last day some driver had
    a value, the blocks of a row whose drivers stopped a few days early held an older week than
    every other row's in the same column."""
    return np.asarray(np.maximum(np.maximum(cuts.brent, cuts.usd), cuts.futures), dtype=np.int64)


def _stale_rows(series: Series, cut: Days, limit: int) -> tuple[Counts, Bools]:
    """Per row, how many of the series' values are known at its cutoff, and whether the newest
    of them lies more than ``limit`` days before it (:func:`stale_drivers`' rule)."""
    known = _known(series, cut)
    if not len(series):
        return known, np.zeros(len(cut), dtype=bool)
    newest = series.days[np.maximum(known - 1, 0)]
    return known, (known > 0) & (cut - newest > limit)


def brent_brl_current_rows(inputs: Inputs, cuts: CutoffRows, limits: StaleAfter) -> Bools:
    """:func:`brent_brl_current` at each row's cutoffs, with :func:`stale_drivers` found there:
    False where a stale driver froze Brent in BRL at that row (the row has no driver terms)."""
    _, usd_stale = _stale_rows(inputs.usd, cuts.usd, limits.usd)
    n_brent, brent_stale = _stale_rows(inputs.brent, cuts.brent, limits.brent)
    n_futures, futures_stale = _stale_rows(inputs.futures, cuts.futures, limits.futures)
    carried = ~futures_stale & (n_futures > 0)
    if len(inputs.brent) and len(inputs.futures):
        last_spot = inputs.brent.days[np.maximum(n_brent - 1, 0)]
        carried &= inputs.futures.days[0] <= last_spot
    else:
        carried[:] = False
    return np.asarray(~usd_stale & (~brent_stale | carried), dtype=bool)


def brent_brl_last_day(inputs: Inputs, cut: Cutoffs, stale: tuple[StaleDriver, ...]) -> int | None:
    """The last day Brent in BRL has a market value at the cutoffs: Brent's last day (spot's,
    or BZ=F's where it carries spot on: :func:`brent_brl`), PTAX known on or before it (on a
    PTAX holiday the day before's, as the Overview's Brent in reais). None when either has no
    value by then, or when a stale driver (``stale``: :func:`stale_drivers` at the cutoffs)
    froze Brent in BRL (:func:`brent_brl_current`).

    Not :func:`driver_days`' day: after Brent's last value, Brent in BRL moves with the dollar
    alone, and a move read to PTAX's day would be PTAX's, called Brent's."""
    spot, usd = inputs.brent.upto(cut.brent), inputs.usd.upto(cut.usd)
    if not len(spot) or not len(usd) or not brent_brl_current(inputs, cut, stale):
        return None
    brent = int(spot.days[-1])
    futures = inputs.futures.upto(cut.futures)
    if len(futures) and futures.days[0] <= brent:  # BZ=F carries spot past its last day
        brent = max(brent, int(futures.days[-1]))
    return brent if usd.days[0] <= brent else None


def inputs_for(
    series: Mapping[str, Iterable[tuple[date, float]]],
    fuel_key: str,
    *,
    usd_key: str,
    brent_key: str,
    futures_key: str,
) -> Inputs:
    """One area's inputs from (date, value) points by store key (missing keys are empty)."""
    drivers = drivers_for(series, usd_key=usd_key, brent_key=brent_key, futures_key=futures_key)
    return drivers.with_fuel(_series(series, fuel_key))


def drivers_for(
    series: Mapping[str, Iterable[tuple[date, float]]],
    *,
    usd_key: str,
    brent_key: str,
    futures_key: str,
) -> Drivers:
    """The drivers from (date, value) points by store key (missing keys are empty)."""
    return Drivers(
        brent=_series(series, brent_key),
        usd=_series(series, usd_key),
        futures=_series(series, futures_key),
    )


def _series(series: Mapping[str, Iterable[tuple[date, float]]], key: str) -> Series:
    points = series.get(key)
    return Series.of(points) if points is not None else Series.empty()


RECENT_DAYS = 49
"""The days up to each input's cut-off whose values the input mark digests (``recent=``,
:func:`input_mark`): 7 weeks, over the forecast row's own lags and driver blocks (4 weeks
each). A value stored late or revised among them moves the mark, so the refresh's bounded
check sees it; an older one moves only :func:`history_mark`, which the full refresh compares.
Not above the stage's ``SCORED_FOR`` (50 days), the fuel weeks its check reads anyway."""


def digest(*series: Series) -> str:
    """A short digest of the days and values of ``series``, in order (12 hex digits)."""
    found = hashlib.blake2s(digest_size=6)
    for one in series:
        found.update(len(one).to_bytes(8, "little"))
        found.update(np.ascontiguousarray(one.days, dtype="<i8").tobytes())
        found.update(np.ascontiguousarray(one.values, dtype="<f8").tobytes())
    return found.hexdigest()


def _named(inputs: Inputs, cut: Cutoffs) -> list[tuple[str, Series]]:
    """Each input as known at its cut-off, by name, in the mark's order."""
    return [
        ("fuel", inputs.fuel.upto(cut.fuel)),
        ("usd", inputs.usd.upto(cut.usd)),
        ("brent", inputs.brent.upto(cut.brent)),
        ("futures", inputs.futures.upto(cut.futures)),
    ]


def input_mark(inputs: Inputs, cut: Cutoffs) -> str:
    """The last known day of each input, and the fuel's price that day, then a digest of every
    input's values in the RECENT_DAYS up to its cut-off, as one string
    (``fuel=2022-03-06@6.683;usd=…;recent=<hex>``): a forecast is redone when it changes, so
    also when its own last week, the price it moves, is revised, and when a value of those
    days lands late (a PENDING PTAX date stored) or is revised (Brent spot, a fuel week)."""
    parts, recent = [], []
    for name, known in _named(inputs, cut):
        day = day_of(int(known.days[-1])).isoformat() if len(known) else "-"
        price = f"@{float(known.values[-1])!r}" if name == "fuel" and len(known) else ""
        parts.append(f"{name}={day}{price}")
        last = getattr(cut, name)
        start = int(np.searchsorted(known.days, last - RECENT_DAYS, side="right"))
        recent.append(Series(known.days[start:], known.values[start:]))
    parts.append(f"recent={digest(*recent)}")
    return ";".join(parts)


def history_mark(inputs: Inputs, cut: Cutoffs) -> str:
    """A digest of every input's whole history known at its cut-off (what the model trains on):
    a change anywhere in it, older than :func:`input_mark`'s RECENT_DAYS, moves it."""
    return digest(*(known for _, known in _named(inputs, cut)))
