"""Each API view: read series through the reader, run the pure analysis, shape the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, timedelta

from fuelpipe.dashboard import analysis as an
from fuelpipe.dashboard.areas import (
    AREAS,
    BR,
    DRIVERS,
    OVERVIEW_DRIVERS,
    PRODUCTS,
    PUMP_PRICE,
    STATE_CODES,
)
from fuelpipe.dashboard.errors import InvalidRequestError, NotFoundError
from fuelpipe.dashboard.repository import BRENT, BRENT_BRL, SeriesReader
from fuelpipe.dashboard.schemas import (
    AreaRow,
    ChangeReason,
    Choice,
    CorrelationView,
    Coverage,
    IndexReason,
    IndexSeries,
    IndicesView,
    LagPoint,
    LagsView,
    MetaView,
    OverviewItem,
    OverviewView,
    ParityRow,
    ParityView,
    Point,
    RegionalView,
    Regression,
    SeriesView,
    SpreadView,
)
from fuelpipe.domain.catalog import FUEL_NAMES, FUEL_PRODUCTS
from fuelpipe.domain.keys import fuel_key
from fuelpipe.domain.models import Status
from fuelpipe.ports.store import Store, paged

LEVEL_AREAS = {
    "BR": (BR,),
    "REGION": tuple(a for a, v in AREAS.items() if v.level == "REGION"),
    "STATE": STATE_CODES,
}


def _points(series: an.TimeSeries) -> list[Point]:
    return [Point(date=d, value=v) for d, v in zip(series.dates, series.values, strict=True)]


EDGE_READ = 8
"""Records read first from a series' edge for its newest (or oldest) OK date: a PENDING,
ABSENT or QUARANTINED run at the edge longer than this reads on, each read EDGE_GROWTH times
larger."""
EDGE_GROWTH = 4


def edge_ok_date(
    store: Store, key: str, *, newest: bool = True, end: date | None = None
) -> date | None:
    """The newest (``newest``) or oldest OK date of ``key``, on or before ``end`` if given, as
    a read of its whole history would find it, from the records at that edge only: pages of
    date and status growing from EDGE_READ records (:func:`~fuelpipe.ports.store.paged`), read
    on only while none is OK."""
    records = paged(
        store,
        key,
        end=end,
        newest_first=newest,
        fields=("date", "status"),
        first=EDGE_READ,
        growth=EDGE_GROWTH,
    )
    return next((r.date for r in records if r.status is Status.OK), None)


def last_ok_date(reader: SeriesReader, key: str, end: date | None = None) -> date | None:
    """The latest OK date of a stored series, on or before ``end`` if given (a bounded read
    of its newest records: :func:`edge_ok_date`)."""
    return edge_ok_date(reader.store, key, end=end)


def last_day(reader: SeriesReader, key: str, end: date | None, until: date | None) -> date | None:
    """The last date to read of ``key`` in a window: what was published by the end of ``end``
    (:meth:`SeriesReader.as_of`), never past ``until`` (the window's last day; None: no cut).
    ``until`` is the same day for every series of a view, so a daily driver stored for years
    after the fuel's last week stops with the fuel's window instead of stretching it."""
    last = reader.as_of(key, end)
    if until is None:
        return last
    return until if last is None else min(last, until)


def series_view(
    reader: SeriesReader,
    key: str,
    start: date | None,
    end: date | None,
    freq: str,
    how: an.WeeklyHow,
    *,
    until: date | None = None,
) -> SeriesView:
    """One series, raw or on survey weeks, as known at the end of ``end`` (see
    :meth:`SeriesReader.known_through`), up to ``until`` (:func:`last_day`)."""
    label, unit = reader.label(key)
    last = last_day(reader, key, end, until)
    series = (
        reader.weekly(key, start, last, how) if freq == "weekly" else reader.raw(key, start, last)
    )
    return SeriesView(key=key, label=label, unit=unit, freq=freq, points=_points(series))


def overview_view(reader: SeriesReader, end: date | None = None) -> OverviewView:
    """Latest value (the latest published by the end of ``end``, if given, as the index chart
    reads it) and change over a week of every Brazil fuel and the headline drivers."""
    keys = [fuel_key(p, BR) for p in PRODUCTS] + list(OVERVIEW_DRIVERS)
    items = []
    for key in keys:
        label, unit = reader.label(key)
        # Brent in BRL is dated by Brent (PTAX has holidays Brent has not): see _brent_brl_on.
        latest = last_ok_date(reader, BRENT if key == BRENT_BRL else key, reader.as_of(key, end))
        last: tuple[date, float] | None = None
        prev: tuple[date, float] | None = None
        if key == BRENT_BRL:
            last = _brent_brl_on(reader, latest) if latest else None
            prev = _brent_brl_on(reader, last[0] - timedelta(days=7)) if last else None
        elif latest:
            recent = reader.raw(key, latest - timedelta(days=21), latest)
            last = recent.value_on_or_before(latest)
            prev = recent.value_on_or_before(last[0] - timedelta(days=7)) if last else None
            if prev and last and reader.is_weekly(key) and last[0] - prev[0] != an.ONE_WEEK:
                # A survey week skipped (LPG's 2022-09-18): the week before that is no week's
                # change, as no view changes over a gap (an.log_changes, an.pct_change_over).
                prev = None
        reason: ChangeReason | None = None
        if last and not prev:  # a value before it at all? (what the card says differs)
            stored = BRENT if key == BRENT_BRL else key
            earlier = last_ok_date(reader, stored, last[0] - timedelta(days=1))
            reason = "no_week_before" if earlier else "first_value"
        items.append(
            OverviewItem(
                key=key,
                label=label,
                unit=unit,
                date=last[0] if last else None,
                value=last[1] if last else None,
                prev_date=prev[0] if prev else None,
                prev_value=prev[1] if prev else None,
                change_pct=(last[1] / prev[1] - 1.0) * 100.0 if last and prev and prev[1] else None,
                no_change_reason=reason,
            )
        )
    return OverviewView(end=end, items=items)


def _brent_brl_on(reader: SeriesReader, day: date) -> tuple[date, float] | None:
    """Brent in BRL on or before ``day``, dated as Brent's own card dates it: Brent's value on
    or before ``day`` at the latest PTAX on or before that date (as the series reads it,
    :meth:`SeriesReader.raw`). Matching dates alone slipped back when PTAX had a holiday Brent
    had not: on Carnival Tuesday 2022-03-01 the card showed 02-25's value, a week before
    compared with 02-18, while Brent's card showed 03-01 against 02-22; the week before 03-08
    was 02-25, eleven days, where Brent's card compared with 03-01."""
    return reader.raw(BRENT_BRL, day - timedelta(days=21), day).value_on_or_before(day)


def indices_view(
    reader: SeriesReader,
    keys: Sequence[str],
    base: date | None,
    start: date | None,
    end: date | None,
    how: an.WeeklyHow,
    *,
    until: date | None = None,
) -> IndicesView:
    """Weekly series rebased to 100 at ``base``, each at its first week on or after it.

    Without ``base`` it is the first week they all have, and each line starts there at 100: the
    window's first weeks that only some series have (a daily series' week holding a mid-week
    ``start``, a series stored from further back) are left out, so no line starts off its base.
    A ``base`` given keeps the whole window, below or above 100 before the base. Each series
    ends at what was published by the end of ``end``, and none past ``until``. A series with no
    value on or after its base week has no point, its ``reason`` saying why: ``no_value`` (none
    in the window), ``before_base`` (values in it, all before the base week) or ``zero_base``.

    One pump price against other series (the movement view's index chart: a fuel and its
    drivers) with no value of it in the window leaves nothing to index them against: every
    line is then empty, with a note saying why (:func:`_no_pump_price`), so the JSON and its
    CSV (a note row per key) answer as the fuel's price chart does, with no row. Several pump
    prices (the overview's) keep the others' lines when none has a value: that chart draws
    them, each pump price left out with its note.
    """
    weekly = [reader.weekly(k, start, last_day(reader, k, end, until), how) for k in keys]
    pumps = [(k, s) for k, s in zip(keys, weekly, strict=True) if reader.is_weekly(k)]
    if len(pumps) == 1 and not len(pumps[0][1]):
        return _no_pump_price(reader, keys, pumps[0][0], base)
    from_base = base is None
    if base is None:
        firsts = [s.dates[0] for s in weekly if len(s)]
        base = max(firsts) if firsts else start
    out = []
    for key, series in zip(keys, weekly, strict=True):
        label, _ = reader.label(key)
        if base is None or not len(series):
            note = f"{key}: no stored value in the window"
            out.append(_unindexed(key, label, "no_value", note))
            continue
        try:
            base_date, rebased = an.normalised_index(series, base)
        except ValueError as exc:
            why: IndexReason = "before_base" if series.dates[-1] < base else "zero_base"
            out.append(_unindexed(key, label, why, str(exc)))
            continue
        if from_base:
            rebased = rebased.window(base_date)
        out.append(IndexSeries(key=key, label=label, base_date=base_date, points=_points(rebased)))
    return IndicesView(base=base, series=out)


def _unindexed(key: str, label: str, reason: IndexReason, note: str) -> IndexSeries:
    """A line with no point: why as a code (``reason``) and in words (``note``)."""
    return IndexSeries(key=key, label=label, base_date=None, points=[], note=note, reason=reason)


NOT_INDEXED = "not indexed: {pump}, the pump price it is indexed with, has no value"


def _no_pump_price(
    reader: SeriesReader, keys: Sequence[str], pump: str, base: date | None
) -> IndicesView:
    """The indices of ``keys`` when the one pump price among them (``pump``) has no value in
    the window: no line, each with its reason. Indexing the others alone answered the chart
    of a fuel's movement (and its CSV, named for the fuel) with its drivers' rows only."""
    out = []
    for key in keys:
        label, _ = reader.label(key)
        why = "no stored value" if key == pump else NOT_INDEXED.format(pump=pump)
        reason: IndexReason = "no_value" if key == pump else "no_pump_price"
        out.append(_unindexed(key, label, reason, f"{key}: {why} in the window"))
    return IndicesView(base=base, series=out)


def correlation_view(
    reader: SeriesReader,
    keys: Sequence[str],
    start: date | None,
    end: date | None,
    how: an.WeeklyHow,
    *,
    until: date | None = None,
) -> CorrelationView:
    """Correlation matrix of weekly log changes over the window, as known at ``end``, none
    past ``until``: a daily series' weeks whole as published only (``whole``,
    :meth:`SeriesReader.weekly`)."""
    changes = [
        an.log_changes(reader.weekly(k, start, last_day(reader, k, end, until), how, whole=True))
        for k in keys
    ]
    matrix = an.correlation_matrix(changes)
    first, last = _span_used(changes, matrix)
    return CorrelationView(
        keys=list(keys),
        labels=[reader.label(k)[0] for k in keys],
        start=start,
        end=end,
        first=first,
        last=last,
        r=[list(row) for row in matrix.r],
        n=[list(row) for row in matrix.n],
        reason=[list(row) for row in matrix.reason],
        min_weeks=an.MIN_PAIRS,
    )


def _span_used(
    changes: Sequence[an.TimeSeries], matrix: an.CorrelationMatrix
) -> tuple[date | None, date | None]:
    """The first and last survey weeks behind the matrix's off-diagonal correlations: a change
    dated t compares week t with week t − 1, so the first week used is a week before the first
    common change."""
    days: set[date] = set()
    for i, a in enumerate(changes):
        for j in range(i + 1, len(changes)):
            if matrix.r[i][j] is not None:
                days |= set(a.dates) & set(changes[j].dates)
    if not days:
        return None, None
    return min(days) - an.ONE_WEEK, max(days)


def lags_view(
    reader: SeriesReader,
    product: str,
    area: str,
    driver: str,
    max_lag: int,
    reg_lags: int,
    start: date | None,
    end: date | None,
    how: an.WeeklyHow,
    *,
    until: date | None = None,
) -> LagsView:
    """Cross-correlation at lags 0..max_lag and the distributed-lag pass-through regression,
    on the weeks known at ``end``, the driver's whole as published only (``whole``,
    :meth:`SeriesReader.weekly`)."""
    pump_key = fuel_key(product, area)
    choices = ", ".join(DRIVERS)
    try:
        reader.check_key(driver)
    except NotFoundError as exc:  # the API checks its drivers first; fuelpipe.open() comes here
        raise NotFoundError(f"{exc}: choose a driver among {choices}") from None
    if driver in reader.catalog and reader.is_weekly(driver):
        raise InvalidRequestError(
            f"driver {driver!r} {PUMP_PRICE}; choose one of {choices}", params=("driver",)
        )
    # The driver is read from max_lag weeks earlier, so the first pump weeks have every lag.
    reach = timedelta(weeks=max(max_lag, reg_lags))
    prices = reader.weekly(pump_key, start, last_day(reader, pump_key, end, until), how)
    pump = an.log_changes(prices)
    first = start - reach if start else None
    drv_weeks = reader.weekly(driver, first, last_day(reader, driver, end, until), how, whole=True)
    drv = an.log_changes(drv_weeks)
    # A price that never moved has nothing to correlate or explain: say so, estimate nothing.
    unchanged = prices.values[0] if len(pump) and len(set(prices.values)) == 1 else None
    cross = an.cross_correlation(pump, drv, max_lag, min_weeks=an.MIN_LAG_WEEKS)
    best = an.strongest_lag(pump, drv, max_lag, min_weeks=an.MIN_LAG_WEEKS)
    regression: Regression | None = None
    error: str | None = None
    reason: str | None = None
    too_few: an.TooFewWeeksError | None = None
    try:
        if unchanged is not None:
            raise an.NoChangeError("the pump price did not change in this window")
        fit = an.distributed_lag(pump, drv, reg_lags)
    except an.NotEstimableError as exc:
        error, reason = str(exc), exc.reason
        too_few = exc if isinstance(exc, an.TooFewWeeksError) else None
    except ValueError as exc:
        error = str(exc)
    else:
        regression = Regression.model_validate(
            {
                **asdict(fit),
                "pump_pct_per_10pct": fit.pump_move_pct(10.0),
                "pump_pct_ci_low": fit.pump_move_pct(10.0, fit.ci_low),
                "pump_pct_ci_high": fit.pump_move_pct(10.0, fit.ci_high),
            }
        )

    def lag_point(c: an.LagCorrelation) -> LagPoint:
        return LagPoint.model_validate(c, from_attributes=True)

    return LagsView(
        pump=pump_key,
        driver=driver,
        pump_label=reader.label(pump_key)[0],
        driver_label=reader.label(driver)[0],
        cross=[lag_point(c) for c in cross],
        best=lag_point(best) if best else None,
        min_weeks=an.MIN_LAG_WEEKS,
        unchanged_price=unchanged,
        regression=regression,
        regression_error=error,
        regression_reason=reason,
        regression_weeks=too_few.have if too_few else None,
        regression_min_weeks=too_few.need if too_few else None,
        through=prices.dates[-1] if prices.dates else None,
    )


def _latest_week(reader: SeriesReader, keys: Sequence[str]) -> date | None:
    dates = [d for k in keys if (d := last_ok_date(reader, k))]
    return max(dates) if dates else None


def _default_week(reader: SeriesReader, keys: Mapping[str, str]) -> date | None:
    """The map's default week: the latest with state prices, else with region prices (None:
    neither stored). ``keys``: each area's key of one product."""
    for level in ("STATE", "REGION"):
        week = _latest_week(reader, [keys[a] for a in LEVEL_AREAS[level]])
        if week is not None:
            return week
    return None


def regional_view(reader: SeriesReader, product: str, week: date | None) -> RegionalView:
    """Price by state and region in one week, changes over 4/12/52 weeks, spread of states;
    ``brazil_newer``: Brazil's newest week when it is after the week shown and that week is at
    or after the map's default one (the states' newest, else the regions'), picked or not."""
    keys = {a: fuel_key(product, a) for a in AREAS}
    default = None if week is not None else _default_week(reader, keys)
    # None given: the map's default week, else Brazil's latest.
    week = week or default or _latest_week(reader, [keys["BR"]])
    _check_sunday(week)
    series = {}
    if week is not None:
        since = week - timedelta(weeks=max(an.CHANGE_WEEKS))
        series = {a: reader.raw(k, since, week) for a, k in keys.items()}
    rows = an.regional_view(series, week) if week else []
    states = {r.area: r.price for r in rows if AREAS[r.area].level == "STATE"}
    spread = an.spread(states)
    brazil = _latest_week(reader, [keys["BR"]]) if week is not None else None
    newer = None
    if week is not None and brazil is not None and brazil > week:
        # A week picked says what the default week says when no later week has more on the
        # map: at or after the default week. Before it, every level has newer weeks, and
        # Brazil's are nothing to point out. No default week (none stored by state or region):
        # Brazil's newer week is said.
        edge = default or _default_week(reader, keys)
        newer = None if edge is not None and week < edge else brazil
    return RegionalView(
        product=product,
        unit=FUEL_PRODUCTS[product][1],
        week=week,
        areas=[
            AreaRow(
                area=r.area,
                name=AREAS[r.area].name,
                level=AREAS[r.area].level,
                region=AREAS[r.area].region,
                price=r.price,
                change_4w=r.changes[4],
                change_12w=r.changes[12],
                change_52w=r.changes[52],
            )
            for r in rows
        ],
        spread=_spread(spread),
        brazil_newer=newer,
    )


def _spread(spread: an.Spread | None) -> SpreadView | None:
    if spread is None:
        return None
    return SpreadView.model_validate(spread, from_attributes=True)


def parity_view(reader: SeriesReader, week: date | None) -> ParityView:
    """ETHANOL/GASOLINE by area in one week (default: the latest week with state prices)."""
    eth_keys = {a: fuel_key("ETHANOL", a) for a in AREAS}
    gas_keys = {a: fuel_key("GASOLINE", a) for a in AREAS}
    if week is None:
        week = _default_week(reader, eth_keys) or _latest_week(reader, [eth_keys["BR"]])
    _check_sunday(week)
    rows: list[an.Parity] = []
    if week is not None:
        eth = {a: reader.raw(k, week, week) for a, k in eth_keys.items()}
        gas = {a: reader.raw(k, week, week) for a, k in gas_keys.items()}
        rows = an.parity(eth, gas, week)
    return ParityView(
        week=week,
        threshold=an.PARITY_THRESHOLD,
        areas=[
            ParityRow.model_validate(
                {**asdict(p), "name": AREAS[p.area].name, "level": AREAS[p.area].level}
            )
            for p in rows
        ],
    )


def meta_view(reader: SeriesReader) -> MetaView:
    """Products, areas, drivers and what weeks are stored at each level."""
    coverage = []
    latest: date | None = None
    for product in PRODUCTS:
        for level, areas in LEVEL_AREAS.items():
            # Each key's first and last OK dates (two bounded reads), not its whole history.
            keys = [fuel_key(product, a) for a in areas]
            firsts = [d for k in keys if (d := edge_ok_date(reader.store, k, newest=False))]
            lasts = [d for k in keys if (d := edge_ok_date(reader.store, k))]
            first, last = min(firsts, default=None), max(lasts, default=None)
            coverage.append(Coverage(product=product, level=level, first=first, last=last))
            if level == "BR" and last and (latest is None or last > latest):
                latest = last
    drivers = []
    for key in DRIVERS:
        if key in reader.catalog or key == "BRENT_BRL":
            label, unit = reader.label(key)
            drivers.append(Choice(code=key, label=label, unit=unit))
    return MetaView(
        products=[
            Choice(code=p, label=FUEL_NAMES[p], unit=u, source_name=anp)
            for p, (anp, u) in FUEL_PRODUCTS.items()
        ],
        areas=[
            Choice(code=a.code, label=a.name, level=a.level, region=a.region)
            for a in AREAS.values()
        ],
        drivers=drivers,
        coverage=coverage,
        latest=latest,
    )


def _check_sunday(week: date | None) -> None:
    """Refuse a ``week`` that is not a Sunday (InvalidRequestError naming ``week``)."""
    if week is not None and week.weekday() != 6:
        raise InvalidRequestError(
            f"week {week} is not a Sunday: ANP weeks are keyed by Sunday", params=("week",)
        )


def require_known(reader: SeriesReader, keys: Sequence[str], *, weeks_of: str = "") -> None:
    """Raise NotFoundError for the first unknown key; with ``weeks_of`` (the query parameter
    the keys came from), InvalidRequestError naming it for the first with no survey weeks."""
    for key in keys:
        reader.check_key(key)
    for key in keys if weeks_of else ():
        reader.check_has_weeks(key, weeks_of)
