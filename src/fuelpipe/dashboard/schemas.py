"""Response models of the dashboard API; each one can also flatten itself into a CSV table."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import types
import unicodedata
from collections.abc import Callable, Iterable
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import to_jsonable_python

from fuelpipe.domain.numbers import positional

Cell = str | float | int | bool | None
Table = tuple[list[str], list[list[Cell]]]

DECIMALS = 6
"""The decimals a value or a ratio is given to (in JSON and in CSV): the most a value has (PTAX
4; Brent in BRL, Brent's 2 × PTAX's 4, 6), so a float product, mean or quotient loses only its
noise: 457.30760699999996 is 457.307607, a parity of 0.7040000000000001 is 0.704."""


def _rounded(value: float) -> float:
    return round(value, DECIMALS) + 0.0  # a tiny negative is 0.0, not -0.0


def csv_number(value: float) -> float:
    """A float as a CSV gives it: to DECIMALS places, as docs/DASHBOARD.md says every CSV number is
    (a percent change or a correlation too, not only a ``Rounded`` field: 0.16477 % was
    0.164767266236443), a tiny negative as 0.0, not -0.0."""
    return round(value, DECIMALS) + 0.0


def csv_text(value: float) -> str:
    """A float as a CSV cell's text: :func:`csv_number`'s value in positional notation, as the
    JSON writes it. Python writes a float under 1e-4 with an exponent: a correlation of
    0.0000123 was the cell "1.2e-05", not 0.000012."""
    return positional(csv_number(value))


def _csv_numbers(value: object) -> object:
    """``value`` (JSON-able: dicts, lists and plain values) with its floats as
    :func:`csv_number` gives them."""
    if isinstance(value, float):
        return csv_number(value)
    if isinstance(value, dict):
        return {k: _csv_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_csv_numbers(v) for v in value]
    return value


Rounded = Annotated[float, AfterValidator(_rounded)]
"""A float given to DECIMALS places."""


FILENAME_CHARS = 150
"""A CSV download's file name is at most this long, ``.csv`` included: twelve long series keys
would otherwise make a name some systems refuse."""

_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")


def file_part(value: object) -> str:
    """``value`` as a piece of a file name: a date in ISO, an accent dropped (São is Sao), each
    run of other characters than ``[A-Za-z0-9._-]`` one ``_`` (a quote, slash or newline of a
    request's text can never reach the Content-Disposition header)."""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _UNSAFE_RUN.sub("_", plain).strip("_")


def download_name(*parts: object) -> str:
    """A CSV download's file name: the parts not None (nor empty once made safe,
    :func:`file_part`) in the order given, joined by ``-``, then ``.csv``; one over
    FILENAME_CHARS keeps its start and ends in 8 hex digits of the whole name's SHA-256, so two
    long names cut alike still differ."""
    stem = "-".join(p for p in (file_part(v) for v in parts if v is not None) if p)
    limit = FILENAME_CHARS - len(".csv")
    if len(stem) > limit:
        digest = hashlib.sha256(stem.encode()).hexdigest()[:8]
        stem = f"{stem[: limit - len(digest) - 1].rstrip('._-')}-{digest}"
    return f"{stem}.csv"


def iso(day: dt.date | None) -> str | None:
    """A date or a time as ISO text; None stays None."""
    return day.isoformat() if day is not None else None


def context(
    model: BaseModel | None, names: Iterable[str], prefix: str = ""
) -> tuple[list[str], list[Cell]]:
    """A view's own fields ``names`` (of ``model``, its JSON's fields beside its rows) as CSV
    columns named ``prefix`` + name, and their cells (a date as ISO text; every one empty
    without a model): a table repeats them on each row, so a download says all its JSON says
    (the map's ``spread_*``, the lags' ``regression_*``)."""
    names = list(names)
    cells: list[Cell] = [None] * len(names)
    if model is not None:
        cells = [_cell(getattr(model, n)) for n in names]  # a list as its JSON text
    return [prefix + n for n in names], cells


def _inner(annotation: Any, wanted: Callable[[Any], bool]) -> Any:
    """The first type in ``annotation`` (itself, or an argument of its union) ``wanted`` takes."""
    if wanted(annotation):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        return next((a for a in get_args(annotation) if wanted(a)), None)
    return None


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def list_fields(model: type[BaseModel]) -> list[str]:
    """The fields of ``model`` that are lists (a list or null too)."""
    return [n for n, f in model.model_fields.items() if _inner(f.annotation, _is_list)]


def _cell(value: object) -> Cell:
    """A value as one CSV cell: a date or a time as ISO text, a list or an object (a run's
    counts, a problem's keys) as its JSON text, its floats as every CSV number
    (:func:`csv_number`)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel | list | dict):
        return json.dumps(_csv_numbers(to_jsonable_python(value)), ensure_ascii=False)
    return value  # type: ignore[return-value]  # str, float, int, bool or None


def own_fields(view: BaseModel) -> tuple[list[str], list[Cell]]:
    """Every field of ``view`` but its lists, as columns: an object's fields as
    ``object_field`` (empty when it is null), as the main tables' ``spread_*``."""
    head: list[str] = []
    cells: list[Cell] = []
    lists = list_fields(type(view))
    for name, field in type(view).model_fields.items():
        if name in lists:
            continue
        nested = _inner(field.annotation, _is_model)
        if nested is not None:
            more, values = context(getattr(view, name), nested.model_fields, name + "_")
            head += more
            cells += values
        else:
            head.append(name)
            cells.append(_cell(getattr(view, name)))
    return head, cells


def list_table(view: BaseModel, name: str) -> Table:
    """One list field of ``view`` (``name``) as a table: a row per item, each of its fields a
    column (:func:`_cell`; a list of plain values is one column named ``name``), then the
    view's own fields (:func:`own_fields`) on every row. A null list has no rows."""
    annotation = _inner(type(view).model_fields[name].annotation, _is_list)
    item = get_args(annotation)[0]
    items = getattr(view, name) or []
    view_head, view_cells = own_fields(view)
    if _is_model(item):
        fields = list(item.model_fields)
        rows = [[_cell(getattr(i, f)) for f in fields] + view_cells for i in items]
        return fields + view_head, rows
    return [name, *view_head], [[_cell(i), *view_cells] for i in items]


def table_names(model: type[BaseModel]) -> list[str]:
    """The tables a view of ``model`` downloads as, its main one first; none for a view of
    one table. A view whose lists its main table does not all give names them in
    ``CSV_LISTS``, and its main table (the list its rows are) in ``CSV_TABLE``."""
    extra: tuple[str, ...] = getattr(model, "CSV_LISTS", ())
    return [getattr(model, "CSV_TABLE"), *extra] if extra else []  # noqa: B009


def csv_table(view: BaseModel, name: str | None) -> Table:
    """The table ``name`` of ``view`` (:func:`table_names`): its main one (``table()``), by
    default, or one of its ``CSV_LISTS`` (:func:`list_table`)."""
    names = table_names(type(view))
    if name is None or name == (names[0] if names else None):
        main: Callable[[], Table] = getattr(view, "table")  # noqa: B009 - every view has one
        head, rows = main()
        if rows:
            return head, rows
        # No row: one of the view's own fields (its row columns empty), as the station views
        # and the indices give it; a header alone would drop what the JSON says beside its rows.
        own = dict(zip(*own_fields(view), strict=True))
        return head, [[own.get(column) for column in head]] if own.keys() & set(head) else []
    return list_table(view, name)


class Point(BaseModel):
    """One dated value."""

    date: dt.date
    value: Rounded


class SeriesView(BaseModel):
    """One series over a window."""

    key: str
    label: str
    unit: str
    freq: str = Field(description="`raw` as stored, or `weekly` on ANP survey weeks")
    points: list[Point]

    def table(self) -> Table:
        """key, unit, date, value: a download says what it holds (an LPG one R$ per 13 kg,
        ``BRL/13kg``, the catalog's unit the chart's axis names), then its label and freq."""
        head, cells = context(self, ["label", "freq"])
        return ["key", "unit", "date", "value", *head], [
            [self.key, self.unit, p.date.isoformat(), p.value, *cells] for p in self.points
        ]


ChangeReason = Literal["first_value", "no_week_before"]


class OverviewItem(BaseModel):
    """The latest value of one series and its change over a week."""

    key: str
    label: str
    unit: str
    date: dt.date | None = Field(description="the 'as of' date of the latest value")
    value: Rounded | None
    prev_date: dt.date | None = Field(description="the value a week earlier was taken on this date")
    prev_value: Rounded | None
    change_pct: Rounded | None = Field(
        description="percent change from `prev_value` to `value`: 0.16 means +0.16 %"
    )
    no_change_reason: ChangeReason | None = Field(
        None,
        description="why there is a value but no `change_pct`: `first_value` (none stored "
        "before it), `no_week_before` (values before it, none a week before: a pump price's "
        "survey week ANP skipped, a driver with no value in the two weeks before that)",
    )


class OverviewView(BaseModel):
    """Latest value and weekly change of the fuels (Brazil) and the drivers."""

    end: dt.date | None = Field(
        default=None, description="the values are the latest on or before this date (None: stored)"
    )
    items: list[OverviewItem]

    def table(self) -> Table:
        """One row per series, the End date (``end``, empty for the stored values) on each."""
        head = ["key", "label", "unit", "date", "value", "prev_date", "prev_value", "change_pct"]
        head.append("no_change_reason")
        end_head, end = context(self, ["end"])
        return head + end_head, [
            [
                i.key,
                i.label,
                i.unit,
                iso(i.date),
                i.value,
                iso(i.prev_date),
                i.prev_value,
                i.change_pct,
                i.no_change_reason,
                *end,
            ]
            for i in self.items
        ]


IndexReason = Literal["no_value", "before_base", "zero_base", "no_pump_price"]


class IndexSeries(BaseModel):
    """One series rebased to 100 at its base date."""

    key: str
    label: str
    base_date: dt.date | None
    points: list[Point]
    note: str | None = None
    reason: IndexReason | None = None
    """Why a line has no point: ``no_value`` (none in the window), ``before_base`` (values in
    the window, all before the base week), ``zero_base`` (its base week's value is zero, which
    no index divides by) or ``no_pump_price`` (the one pump price it is indexed with has no
    value in the window); None for a line with points."""


class IndicesView(BaseModel):
    """Normalised indices (base 100) on ANP survey weeks."""

    base: dt.date | None
    series: list[IndexSeries]

    def table(self) -> Table:
        """Long format: key, base_date, date, index, note, reason, label and the view's
        ``base``; a line with no points (a series with no week on or after the base) is one row
        with its note and reason and no date or index."""
        rows: list[list[Cell]] = []
        base_head, base = context(self, ["base"])
        for s in self.series:
            points: list[Point | None] = list(s.points) or [None]
            for p in points:
                day, value = (p.date.isoformat(), p.value) if p else (None, None)
                cells = [s.key, iso(s.base_date), day, value, s.note, s.reason, s.label]
                rows.append([*cells, *base])
        head = ["key", "base_date", "date", "index", "note", "reason", "label"]
        return [*head, *base_head], rows


class CorrelationView(BaseModel):
    """Correlations of weekly log changes with the overlapping observations behind each cell."""

    keys: list[str]
    labels: list[str]
    start: dt.date | None
    end: dt.date | None
    first: dt.date | None = None
    """The first survey week the changes use (a change compares a week with the one before)."""
    last: dt.date | None = None
    """The last survey week the changes use."""
    r: list[list[Rounded | None]]
    """None where fewer than ``min_weeks`` overlapping weeks (or a constant series) give no r."""
    n: list[list[int]]
    reason: list[list[str | None]] = []
    """Why a cell has no r: ``too_few_weeks`` (fewer than ``min_weeks`` overlapping) or
    ``unchanged`` (a series that did not vary over them); None where it has one."""
    min_weeks: int = 8
    """Fewer overlapping weeks give a cell no correlation."""

    def table(self) -> Table:
        """Long format: one row per pair (``r``, ``n`` and, without an r, its ``reason``) with
        both labels, then the window asked for (``start``, ``end``), the weeks the changes use
        (``first``, ``last``) and ``min_weeks`` on every row."""
        head, window = context(self, ["start", "end", "first", "last", "min_weeks"])
        rows: list[list[Cell]] = []
        for i, a in enumerate(self.keys):
            for j, b in enumerate(self.keys):
                labels = [self.labels[i], self.labels[j]]
                why = self.reason[i][j] if self.reason else None
                rows.append([a, b, self.r[i][j], self.n[i][j], why, *labels, *window])
        return ["key_a", "key_b", "r", "n", "reason", "label_a", "label_b", *head], rows


class LagPoint(BaseModel):
    """corr(pump change at t, driver change at t − lag weeks)."""

    lag: int
    r: Rounded | None
    n: int


class Regression(BaseModel):
    """Distributed-lag OLS of the pump's weekly log change on the driver's, lags 0..N."""

    lags: int
    intercept: Rounded
    coefficients: list[Rounded]
    std_errors: list[Rounded]
    cumulative: Rounded
    cumulative_se: Rounded
    ci_low: Rounded
    ci_high: Rounded
    t_crit: Rounded
    n: int
    dof: int
    r2: Rounded
    pump_pct_per_10pct: Rounded = Field(
        description="pump move (%) after a sustained 10% driver move"
    )
    pump_pct_ci_low: Rounded
    pump_pct_ci_high: Rounded


class LagsView(BaseModel):
    """Lagged pass-through from a driver to a pump price."""

    pump: str
    driver: str
    pump_label: str
    driver_label: str
    cross: list[LagPoint]
    best: LagPoint | None
    """The lag with the largest |r| among those with at least ``min_weeks`` overlapping weeks,
    only when that maximum stands out from chance (stats.LAG_ALPHA); None otherwise."""
    min_weeks: int
    """Fewer overlapping weeks give a lag no r and fit no regression."""
    unchanged_price: float | None = None
    """The pump price when it did not change in the window: then nothing is estimated."""
    regression: Regression | None
    regression_error: str | None = None
    regression_reason: str | None = None
    """Why the data cannot identify the pass-through, as a code: ``too_few_weeks``,
    ``pump_unchanged``, ``driver_unchanged`` (a driver that never moved) or ``singular``
    (lagged changes that are exact combinations of one another) or ``exact_fit`` (a lag that
    rests on a single week's move); None with a regression."""
    regression_weeks: int | None = None
    """When the regression had too few overlapping weeks: how many it had…"""
    regression_min_weeks: int | None = None
    """…and how many it needs."""
    through: dt.date | None = None
    """The pump price's newest week in the window (its Sunday): what the charts stand for,
    which may be weeks before an End date picked after the price's last published week."""

    def table(self) -> Table:
        """One row per lag of the cross-correlation or the regression (``reg_lags`` above
        ``max_lag`` adds the regression's further lags, with no ``r``): the cross-correlation
        (``r`` over ``n`` overlapping weeks) and, where the regression has the lag, its
        coefficient with the chart's 95% error bar: ``ci_low`` and ``ci_high`` are
        coefficient ∓ ``t_crit`` × ``std_error``, fitted on ``regression_n`` weeks (the
        regression's own, not the cross-correlation's ``n``; on every row, empty without a
        regression). Then, on every row, the view's own fields: the pump and driver,
        ``through``, the strongest lag (``best_lag``, ``best_r``, ``best_n``; empty when none
        stands out), ``min_weeks``, ``unchanged_price``,
        the regression's summary (``regression_*``: ``regression_ci_low``/``_high`` bound the
        cumulative pass-through, ``regression_pump_pct_per_10pct`` the headline; empty without a
        regression) and why there is none (``regression_error``, ``regression_reason``,
        ``regression_weeks``, ``regression_min_weeks``)."""
        reg = self.regression
        view_head, view = context(self, ["pump", "pump_label", "driver", "driver_label", "through"])
        best_head, best = context(self.best, LagPoint.model_fields, "best_")
        per_lag = {"coefficients", "std_errors", "t_crit", "n"}  # the coefficient rows' columns
        summary = [f for f in Regression.model_fields if f not in per_lag]
        reg_head, reg_cells = context(reg, summary, "regression_")
        why = ["regression_error", "regression_reason", "regression_weeks", "regression_min_weeks"]
        why_head, why_cells = context(self, ["min_weeks", "unchanged_price", *why])
        rows: list[list[Cell]] = []
        cross = {c.lag: c for c in self.cross}
        fitted = len(reg.coefficients) if reg is not None else 0
        for lag in sorted({*cross, *range(fitted)}):
            c = cross.get(lag)
            row: list[Cell] = [lag, c.r, c.n] if c is not None else [lag, None, None]
            if reg is not None and lag < fitted:
                coef, se = reg.coefficients[lag], reg.std_errors[lag]
                half = reg.t_crit * se
                row += [coef, se, reg.t_crit, coef - half, coef + half]
            else:
                row += [None] * 5
            # the regression's weeks, a figure of the whole table: on every row, as the rule
            # for a view's own fields says (it was on the coefficients' rows only)
            row.append(reg.n if reg is not None else None)
            rows.append([*row, *view, *best, *reg_cells, *why_cells])
        head = ["lag_weeks", "r", "n", "coefficient", "std_error", "t_crit", "ci_low", "ci_high"]
        head += ["regression_n", *view_head, *best_head, *reg_head, *why_head]
        return head, rows


def _change_over(weeks: int) -> str:
    return (
        f"percent change of the price from the survey week {weeks} weeks before: 2.3 means "
        "+2.3 % (null when either week has no price)"
    )


class AreaRow(BaseModel):
    """One area's price in the chosen week and its changes (percent)."""

    area: str
    name: str
    level: str
    region: str | None
    price: Rounded
    change_4w: Rounded | None = Field(description=_change_over(4))
    change_12w: Rounded | None = Field(description=_change_over(12))
    change_52w: Rounded | None = Field(description=_change_over(52))


def _changes(row: AreaRow) -> tuple[float | None, ...]:
    return row.change_4w, row.change_12w, row.change_52w


class SpreadView(BaseModel):
    """How far apart the states are (to DECIMALS places: a range of 2.0700000000000003 is 2.07)."""

    count: int
    min_area: str = Field(
        description="the state at `min_price` exactly (the first in code order when several are)"
    )
    min_price: Rounded
    max_area: str = Field(
        description="the state at `max_price` exactly (the first in code order when several are)"
    )
    max_price: Rounded
    range: Rounded
    std: Rounded | None
    min_areas: list[str] = Field(
        description="every state whose price reads as the minimum's in centavos, as the map "
        "writes them (R$ 6.29 for 6.286 and 6.294; several when they tie), in code order"
    )
    max_areas: list[str] = Field(
        description="every state whose price reads as the maximum's in centavos, in code order"
    )


class RegionalView(BaseModel):
    """A fuel's price by state and region in one week."""

    product: str
    unit: str
    week: dt.date | None
    areas: list[AreaRow]
    spread: SpreadView | None
    brazil_newer: dt.date | None = Field(
        None,
        description="Brazil's newest stored week of the fuel when it is after `week` and "
        "`week`, picked or not, is at or after the map's default week (the states' newest, "
        "none stored: the regions'): no later week has more on the map, and Brazil's price "
        "runs on; null otherwise (before it every level has newer weeks)",
    )

    def table(self) -> Table:
        """One row per area after the week, product and unit; the change columns say their
        unit (percent); the states' spread (``spread_*``, empty without state prices) and
        ``brazil_newer`` repeat on every row."""
        head = ["week", "product", "unit", "area", "name", "level", "region", "price"]
        head += ["change_4w_pct", "change_12w_pct", "change_52w_pct"]
        spread_head, spread = context(self.spread, SpreadView.model_fields, "spread_")
        head += [*spread_head, "brazil_newer"]
        view: list[Cell] = [iso(self.week), self.product, self.unit]
        newer = iso(self.brazil_newer)
        return head, [
            [*view, a.area, a.name, a.level, a.region, a.price, *_changes(a), *spread, newer]
            for a in self.areas
        ]


class ParityRow(BaseModel):
    """Ethanol over gasoline in one area."""

    area: str
    name: str
    level: str
    ethanol: float
    gasoline: float
    ratio: Rounded
    """Rounded as served; ``ethanol_pays`` is decided on the ratio before rounding."""
    ethanol_pays: bool


class ParityView(BaseModel):
    """Ethanol/gasoline price ratio by area in one week."""

    week: dt.date | None
    threshold: float
    areas: list[ParityRow]

    def table(self) -> Table:
        """One row per area, after the week; on every row the ``threshold`` the ratio is held
        against for ``ethanol_pays``."""
        week = iso(self.week)
        head = ["week", "area", "name", "level", "ethanol", "gasoline", "ratio", "ethanol_pays"]
        return [*head, "threshold"], [
            [week, a.area, a.name, a.level, a.ethanol, a.gasoline, a.ratio, a.ethanol_pays,
             self.threshold]
            for a in self.areas
        ]  # fmt: skip


class OwedSplit(BaseModel):
    """One stock split whose whole-history re-read is owed."""

    date: dt.date = Field(
        description="the ex-date: values stored before it may be on the old basis"
    )
    ratio: str = Field(description="new shares per old ones, as written: 2:1, 1:10")


class SplitOwed(BaseModel):
    """A stock split re-based a split-adjusted series (Yahoo's close), but re-reading its
    stored history failed: values stored before the ex-date may still be on the basis from
    before the split (a false step in a chart) until a later message of the key re-reads it."""

    splits: list[OwedSplit]
    text: str = Field(description="the splits as `fuelpipe status` names them: 2022-04-25=2:1")
    since: dt.datetime | None = Field(
        description="when the re-read was first owed (null for an entry that did not say)"
    )


class SeriesHealth(BaseModel):
    """Completeness of one stored series."""

    key: str
    label: str
    first: dt.date | None
    """The first date with a stored value (None while only retries are stored)."""
    last: dt.date | None
    last_available: dt.date
    present: int
    expected: int
    completeness: Rounded | None
    missing: int = Field(
        0,
        description="expected dates with no record at all (not even a PENDING one), as "
        "`fuelpipe status` counts them",
    )
    pending: int
    quarantined: int
    unexpected: int = 0
    """Values published on a day the series' calendar does not expect (stored, marked)."""
    revised: int = 0
    """Values the source revised after they were stored (kept with their history); an
    adjustment (only derived attributes re-based, as Yahoo's adj_close) is not counted."""
    absent: int = 0
    """Expected dates the source says it has no value for (not retried)."""
    split_owed: SplitOwed | None = Field(
        None,
        description="a stock split whose whole-history re-read is owed (null when none is)",
    )
    lacking_given_up: int = Field(
        0,
        description="dates stored OK whose lacking figures (Yahoo's null volume, say) did not "
        "come after the retry policy's re-downloads: listed by `fuelpipe quarantine list`",
    )


class SetAsideValue(BaseModel):
    """A value a source published for a date, set aside where no record keeps it: the date
    holds a value already (OK, or ABSENT), is QUARANTINED, or no message asked for it. The
    stored record stays as it was; this is the one trace of what the source said."""

    key: str
    date: dt.date
    value: str = Field(description="the value as the source published it, every digit kept")
    reason: str = Field(description="why it was set aside (implausible, no store can keep it)")
    seen_by: str = Field(description="the answer that last carried it: origin, fetch unit, dates")
    first_seen: dt.datetime = Field(description="when an answer first carried this value")
    last_seen: dt.datetime = Field(
        description="when an answer last carried it (seen again, it is no change of the data)"
    )


class QuarantinedRecord(BaseModel):
    """A record whose retries are spent, waiting for a person (`fuelpipe quarantine release
    KEY DATE` retries it, `accept KEY DATE` makes it ABSENT)."""

    key: str
    label: str | None = Field(
        description="the series' name in the catalog; null for a key outside it (a series a "
        "release dropped)"
    )
    date: dt.date
    quarantined_at: dt.datetime | None = Field(
        description="when it was quarantined (its last write), in São Paulo time"
    )
    retries: int = Field(description="the re-downloads it had (its retry count)")
    reason: str = Field(
        description="why, its first line cut to 160 characters: the last error (plain text, "
        "quoting the source: the page shows it as text, never as HTML)"
    )


class QuarantinedSeries(BaseModel):
    """One key's QUARANTINED records, all of them counted (the store's per-series summary,
    read from the status index's slim entries, not from the records listed)."""

    key: str
    label: str | None = Field(
        description="the series' name in the catalog; null for a key outside it (a series a "
        "release dropped)"
    )
    count: int = Field(description="its QUARANTINED records, every one")
    first: dt.date = Field(description="the oldest date among them")
    last: dt.date = Field(description="the newest date among them")
    latest: dt.datetime | None = Field(
        description="when the last of them was quarantined (its last write), in São Paulo time"
    )


class RunView(BaseModel):
    """The latest run of one stage."""

    stage: str
    started_at: dt.datetime
    finished_at: dt.datetime
    counts: dict[str, int]


class SourceFreshness(BaseModel):
    """How soon after publication a source's values were stored: the values of the last five
    weeks of each series that were published after the series' first value was stored (the
    pipeline was keeping it when they came out). Values published before that, stored by the
    first backfill or by one reaching further back later, are history, not counted; a value
    stored late because the source was down or the pipeline stopped counts with its delay."""

    source: str
    samples: int = Field(description="values counted")
    p50_s: float | None = Field(description="median seconds from publication to storage")
    p95_s: float | None = Field(description="95th percentile seconds from publication to storage")


class SourceProblem(BaseModel):
    """A source that is late or failing now, from what the store holds (its records' states,
    their retry reasons and next attempts), in São Paulo time with the offset."""

    source: str
    state: Literal["late", "failing"] = Field(
        description="`late`: a date its schedule says is out (window and allowance passed) is "
        "not stored; `failing`: dates are PENDING because the last request for them failed "
        "(not because the value is not out yet, nor because the source answered the date with "
        "its own 'no value' inside its window: `no_value_seen_at`), among the newest PENDING "
        "records the view read (`pending_read` of `pending`): the counts and dates below are "
        "of those"
    )
    series: int = Field(description="how many of the source's series are concerned")
    keys: list[str] = Field(description="the first of them (at most 5)")
    date: dt.date = Field(
        description="late: the latest date due and not stored; failing: the oldest failing date"
    )
    due_at: dt.datetime = Field(description="that date's publication instant (its schedule)")
    since: dt.datetime = Field(
        description="late: when it became late (the window's end of the first date due after "
        "the last one stored); failing: when failing started: the earliest instant one of its "
        "failing records first became PENDING, which a record keeps through its retries and "
        "refreshes (its write time moves with each retry's claim) and a release from "
        "quarantine starts again (a backfill of 2006 dates failing today: today). A record "
        "PENDING since before that instant was kept counts from its date's publication, the "
        "first moment a request for it could fail"
    )
    last_attempt_at: dt.datetime | None = Field(
        default=None,
        description="failing: the newest write of a failing record (a failed attempt, or the "
        "retry claim that sent the next one)",
    )
    reason: str | None = Field(
        default=None, description="failing: that attempt's reason, shortened"
    )
    next_attempt_at: dt.datetime | None = Field(
        default=None, description="failing: the earliest next attempt scheduled"
    )
    latest_stored: dt.date | None = Field(
        default=None,
        description="late: the latest date stored OK that is published at the clock (the "
        "series' `last`), never one after it: values dated after the clock (`--now` before "
        "the data) are not counted; null when none is",
    )


class ActiveAlertView(BaseModel):
    """An alert that fired and has not cleared."""

    rule: str
    subject: str
    summary: str
    summary_pt_br: str = Field(
        description="the summary in Brazilian Portuguese (the English one when the rule wrote "
        "none, or the alert was stored before alerts had one)"
    )
    severity: str
    since: dt.datetime = Field(description="when the condition was first seen")


class AlertDeliveryView(BaseModel):
    """Alerts a sink has not taken: those waiting for it, or a drop of some it never took."""

    sink: str = Field(description="`webhook`, `console`, `sns`")
    state: Literal["waiting", "dropped"] = Field(
        description="`waiting`: queued, not taken yet (the sink down, or not tried since); "
        "`dropped`: one drop of alerts the sink never took (refused for good, as a webhook's "
        "400 for one body; past the 7 days' retention; for a sink no longer configured; cut "
        "to keep the AWS alert item under its bound), the latest 20 drops kept"
    )
    count: int
    at: dt.datetime = Field(
        description="waiting: when the oldest of them was queued; dropped: when dropped"
    )
    failing_since: dt.datetime | None = Field(
        None,
        description="waiting: when a send of the oldest of them first failed (null: none "
        "failed yet); dropped: null",
    )
    line: str | None = Field(
        None, description="dropped: the drop's line (which alerts, why, the sink's answer)"
    )


HEALTH_TOTALS = (
    "pending",
    "quarantined",
    "unexpected",
    "revised",
    "absent",
    "split_owed",
    "lacking_given_up",
)
"""Health's totals over the store (PENDING and QUARANTINED records, of any key) or over its
series (the rest; ``split_owed``: the series owing a re-read; ``lacking_given_up``: the OK
dates whose lacking figures did not come)."""


class HealthView(BaseModel):
    """Pipeline health: what is late or failing now and the active alerts, completeness per
    series, retries, dead letters, last runs, freshness."""

    CSV_TABLE: ClassVar[str] = "series"
    CSV_LISTS: ClassVar[tuple[str, ...]] = (
        "problems",
        "alerts",
        "alert_delivery",
        "freshness",
        "last_runs",
        "set_aside_values",
        "quarantined_records",
        "quarantined_series",
    )

    as_of: dt.datetime
    series: list[SeriesHealth]
    catalog_series: int
    stored_series: int
    pending: int = Field(
        description="every PENDING record in the store, of any key: one of a key outside the "
        "catalog (a series a release dropped) too, which no row of `series` and no row of "
        "`fuelpipe status` counts (they count the catalog's series), so this can exceed the "
        "sum of the rows' `pending`"
    )
    quarantined: int = Field(
        description="every QUARANTINED record in the store, of any key, as `fuelpipe "
        "quarantine list` lists them: one of a key outside the catalog too, which no row of "
        "`series` and no row of `fuelpipe status` counts, so this can exceed the sum of the "
        "rows' `quarantined`; the sum of `quarantined_series`' counts"
    )
    pending_read: int = Field(
        0,
        description="how many of the PENDING records, the most recently written, the failing "
        "rows of `problems` were built from: all of them when it equals `pending`; a backlog "
        "larger than the cap (1,000) is counted exactly but read only that far",
    )
    dead_letters: int | None
    last_runs: list[RunView]
    unexpected: int = 0
    revised: int = 0
    absent: int = 0
    split_owed: int = Field(
        0, description="stored series owing a whole-history re-read after a stock split"
    )
    lacking_given_up: int = Field(
        0,
        description="dates stored OK whose lacking figures did not come after the retry "
        "policy's re-downloads (per series: each series' lacking_given_up)",
    )
    freshness: list[SourceFreshness] = []
    set_aside: int = Field(
        0,
        description="values sources published that were set aside where no record keeps them "
        "(a date stored already, quarantined, or not asked for), until a later answer carries "
        "a value for the date that is kept (`fuelpipe quarantine set-aside` lists them all)",
    )
    set_aside_values: list[SetAsideValue] = Field(
        [],
        description="the newest of them, at most 20 (the only ones read): by first seen, "
        "latest first",
    )
    quarantined_records: list[QuarantinedRecord] = Field(
        [],
        description="the newest QUARANTINED records, at most 50 (the only ones read, from the "
        "status index, however many a failed backfill left): by when quarantined, latest "
        "first; `quarantined` counts them all, `fuelpipe quarantine list` lists them all",
    )
    quarantined_series: list[QuarantinedSeries] = Field(
        [],
        description="every key with QUARANTINED records, each with all of them counted (not "
        "only those listed in `quarantined_records`): by when its last one was quarantined, "
        "latest first, then by key",
    )
    problems: list[SourceProblem] = Field(
        [], description="sources late or failing now (empty when every source is on time)"
    )
    alerts: list[ActiveAlertView] | None = Field(
        None,
        description="the active alerts (`watch`'s, the retry_recheck Lambda's); null when "
        "this dashboard cannot read the alert state",
    )
    alert_delivery: list[AlertDeliveryView] | None = Field(
        None,
        description="alerts waiting for a sink, by sink, then the latest drops, newest first "
        "(empty when every alert was taken); null when this dashboard cannot read the alert "
        "state",
    )

    def table(self) -> Table:
        """One row per stored series, then its label and the view's own counts on every row
        (``as_of``, ``catalog_series``, ``stored_series``, ``dead_letters``, ``pending_read``),
        then its totals (``HEALTH_TOTALS``) as ``total_*``: their own names are the series'
        columns (a series' own count on its row)."""
        view = [
            "as_of",
            "catalog_series",
            "stored_series",
            "dead_letters",
            "pending_read",
            "set_aside",
        ]
        view_head, cells = context(self, view)
        totals_head, totals = context(self, HEALTH_TOTALS, "total_")
        head = [
            "key",
            "first",
            "last",
            "last_available",
            "present",
            "expected",
            "completeness",
            "missing",
            "pending",
            "quarantined",
            "absent",
            "unexpected",
            "revised",
            "split_owed",
            "split_owed_since",
            "lacking_given_up",
            "label",
            *view_head,
            *totals_head,
        ]
        return head, [
            [
                s.key,
                s.first.isoformat() if s.first else None,
                s.last.isoformat() if s.last else None,
                s.last_available.isoformat(),
                s.present,
                s.expected,
                s.completeness,
                s.missing,
                s.pending,
                s.quarantined,
                s.absent,
                s.unexpected,
                s.revised,
                s.split_owed.text if s.split_owed else None,
                iso(s.split_owed.since) if s.split_owed else None,
                s.lacking_given_up,
                s.label,
                *cells,
                *totals,
            ]
            for s in self.series
        ]


class Choice(BaseModel):
    """A value a control can take, with its label."""

    code: str
    label: str
    unit: str | None = None
    level: str | None = None
    region: str | None = None
    source_name: str | None = None
    """A fuel's name in ANP's files (``GASOLINA COMUM``); its label is the English name."""


class Coverage(BaseModel):
    """First and last stored week of one product at one level (BR, REGION, STATE)."""

    product: str
    level: str
    first: dt.date | None
    last: dt.date | None


class MetaView(BaseModel):
    """What the page needs to build its controls."""

    CSV_TABLE: ClassVar[str] = "coverage"
    CSV_LISTS: ClassVar[tuple[str, ...]] = ("products", "areas", "drivers")

    products: list[Choice]
    areas: list[Choice]
    drivers: list[Choice]
    coverage: list[Coverage]
    latest: dt.date | None = Field(description="latest stored week of any Brazil fuel series")

    def table(self) -> Table:
        """The coverage table, the latest stored week of any Brazil fuel on every row."""
        latest_head, latest = context(self, ["latest"])
        return ["product", "level", "first", "last", *latest_head], [
            [c.product, c.level, iso(c.first), iso(c.last), *latest] for c in self.coverage
        ]


class IntradayPointOut(BaseModel):
    """One bulletin or bar of the day."""

    at: dt.datetime = Field(description="the bulletin's time or the bar's start, with its offset")
    time: str = Field(description="its time of day in São Paulo, HH:MM")
    kind: str = Field(
        description="`Abertura`, `Intermediário` or `Fechamento` (PTAX bulletins), `15m` (bars)"
    )
    value: Rounded = Field(description="the PTAX sell rate, or the bar's close")
    change_pct: Rounded | None = Field(description="% change from the previous daily close")


class PreviousClose(BaseModel):
    """The series' last stored daily value before the day: the day's reference."""

    date: dt.date
    value: float


class IntradayView(BaseModel):
    """One series' points of one day (São Paulo), with the previous daily close."""

    CSV_TABLE: ClassVar[str] = "points"
    CSV_LISTS: ClassVar[tuple[str, ...]] = ("choices",)

    key: str
    label: str
    unit: str
    day: dt.date
    today: dt.date = Field(
        description="São Paulo's day by the dashboard's clock: `day` is another when the "
        "series has no session today or an End date names an earlier day (the panel then "
        'names the day it shows, not "Today")'
    )
    as_of: dt.datetime | None = Field(description="the newest point's time (the 'as of')")
    collected: bool = Field(description="whether this dashboard has an intraday store at all")
    answered_none: dt.datetime | None = Field(
        None,
        description="when the source, asked for the day's points, last answered with none "
        "(null: no such answer remembered): the day is not a collection left undone",
    )
    stale_since: dt.date | None = Field(
        None,
        description="with no point and no close for the day: the date of the series' newest "
        "stored daily value when it is more than a week before `day` (this store no longer "
        "receives the series; null otherwise)",
    )
    no_daily_value: bool = Field(
        False,
        description="with no point and no close for the day: true when no daily value of the "
        "series is stored on or before `day` at all (this store has not received it, and "
        "`stale_since` has no date to give)",
    )
    message: str | None = Field(description="why there are no points, and how to collect them")
    previous_close: PreviousClose | None
    close: PreviousClose | None = Field(
        None,
        description="the series' daily value stored for the day itself (the overview's card "
        "shows it), when there is one: stored whether or not intraday points are",
    )
    points: list[IntradayPointOut]
    choices: list[str] = Field(description="every series with intraday values")

    def table(self) -> Table:
        """One row per point, the previous close (its value, then its date) and the day's own
        close (``close_value``, ``close_date``; empty when none is stored) beside it, the
        series' label and unit, the view's ``today``, ``as_of``, ``collected``,
        ``answered_none``, ``stale_since``, ``no_daily_value`` and ``message`` after; a day
        with no point is one row of its ``message`` (why, and how to collect them) with no
        time or value, as ``indices.csv`` gives a line with no point."""
        head = ["key", "day", "at", "time", "kind", "value", "change_pct", "previous_close"]
        prev_head, prev = context(self.previous_close, ["value", "date"], "previous_close_")
        close_head, close = context(self.close, ["value", "date"], "close_")
        prev_head += close_head
        prev += close
        view_head, view = context(
            self,
            [
                "label",
                "unit",
                "today",
                "as_of",
                "collected",
                "answered_none",
                "stale_since",
                "no_daily_value",
                "message",
            ],
        )
        points: list[IntradayPointOut | None] = list(self.points) or [None]
        rows: list[list[Cell]] = []
        for p in points:
            point: list[Cell] = (
                [p.at.isoformat(), p.time, p.kind, p.value, p.change_pct] if p else [None] * 5
            )
            rows.append([self.key, self.day.isoformat(), *point, *prev, *view])
        return [*head, *prev_head[1:], *view_head], rows
