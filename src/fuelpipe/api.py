"""fuelpipe's Python API: stored series, their status and the dashboard's analyses as DataFrames.

    import fuelpipe

    fp = fuelpipe.open()                          # the store the CLI uses (FUELPIPE_* settings)
    fp.series("FUEL#GASOLINE#*", start="2021-06-01")   # tidy: date, key, value, status, ...
    fp.wide(["FUEL#GASOLINE#BR", "BRENT_BRL"], freq="weekly")
    fp.lags("GASOLINE", driver="BRENT_BRL").best_lag

``fuelpipe.open()`` builds the configured home exactly as the CLI does: the embedded SQLite file
(``FUELPIPE_DB``, default ``./data/fuelpipe.sqlite``) or, with ``FUELPIPE_BACKEND=aws``, the
DynamoDB table (``FUELPIPE_TABLE_NAME``; boto3 finds region, credentials and endpoints as usual).
Keyword arguments override the environment: ``fuelpipe.open(db="demo.sqlite")``.

Read-only: a :class:`Fuelpipe` only reads (no source is wired, so nothing is fetched), and
opening an embedded store that does not exist is an error rather than a new empty file.
A store file that is damaged (or not SQLite at all) raises :class:`StoreDamaged` from
``open()`` or from the first read that meets the damage, naming the file as the CLI does.

Frames: every table comes back as ``to="pandas"`` (default) or ``to="polars"`` (or ``"arrow"``),
built from one Apache Arrow table, so both libraries see the same columns and types. They come
with the ``frames`` extra (``pip install '.[frames]'`` in the checkout) and are imported only when a
frame is asked for: ``import fuelpipe`` and the Lambdas never load them.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar, cast

from fuelpipe.domain.catalog import Catalog, closest_hint, names
from fuelpipe.domain.models import Record, Revision

if TYPE_CHECKING:
    from fuelpipe.dashboard.analysis import WeeklyHow
    from fuelpipe.dashboard.repository import SeriesReader
    from fuelpipe.ports.store import Store
    from fuelpipe.stages.context import StageContext

To = Literal["pandas", "polars", "arrow"]
Frame = Any
"""A ``pandas.DataFrame``, ``polars.DataFrame`` or ``pyarrow.Table``, as ``to`` asks."""
DateLike = date | str | None
ColumnType = Literal["date", "float", "int", "str", "bool"]
TIDY_TYPES: Mapping[str, ColumnType] = {
    "date": "date",
    "key": "str",
    "value": "float",
    "value_text": "str",
    "status": "str",
    "retry_count": "int",
    "attributes": "str",
    "revisions": "str",
}
"""The tidy frame's columns and their types, also those of ``fuelpipe export --format parquet``.
``value_text`` is the stored number exactly (``value``, a float, keeps about 15 digits; a
decimal column cannot: a stored number has up to 38 significant digits at any scale, beyond
any one Arrow decimal type's fixed scale); ``revisions`` is the JSON text CSV export carries."""
TIDY_COLUMNS = tuple(TIDY_TYPES)
"""The tidy frame's columns, in order."""
REOPEN = "open it again with fuelpipe.open()"
"""What reads a store file restored from a backup: a Fuelpipe reads the file it opened."""
DERIVED = ("BRENT_BRL",)
"""Series the dashboard derives (Brent × PTAX USD): readable by :meth:`Fuelpipe.wide` and the
analyses, not stored, so not in :meth:`Fuelpipe.series`."""


class StoreDamaged(sqlite3.DatabaseError):
    """The embedded store's file (or its queue's) is damaged, or is not SQLite at all.

    The message is the CLI's ``error:`` line: which file, SQLite's error and what its check of
    the file's pages finds, and what to do. Raised in place of SQLite's bare "database disk
    image is malformed" (its ``__cause__``), which names no file; a ``sqlite3.DatabaseError``
    still, so code catching that goes on catching it.
    """


def _need(module: str) -> Any:
    """Import one frame library, or say in one line how to get it."""
    import importlib

    from fuelpipe.install_hint import install_hint

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        hint = install_hint("frames")
        raise ModuleNotFoundError(f"{module} needs the frames extra: {hint}") from None


@dataclass(frozen=True)
class Columns:
    """A table as plain Python columns, with the type of each, before any frame library."""

    data: Mapping[str, Sequence[Any]]
    types: Mapping[str, ColumnType]

    def arrow(self) -> Any:
        """A ``pyarrow.Table`` (also what ``export --format parquet`` writes)."""
        pa = _need("pyarrow")
        schema = arrow_schema(self.types)
        arrays = [pa.array(list(v), type=schema.field(n).type) for n, v in self.data.items()]
        return pa.Table.from_arrays(arrays, schema=schema)

    def polars(self) -> Any:
        """A ``polars.DataFrame`` built directly (no pandas, no pyarrow)."""
        pl = _need("polars")
        kinds = {"date": pl.Date, "float": pl.Float64, "int": pl.Int64, "str": pl.Utf8,
                 "bool": pl.Boolean}  # fmt: skip
        return pl.DataFrame(
            [pl.Series(n, list(v), dtype=kinds[self.types[n]]) for n, v in self.data.items()]
        )

    def pandas(self) -> Any:
        """A ``pandas.DataFrame``: dates as datetime64, missing numbers as NaN."""
        pd = _need("pandas")
        out = {}
        for name, values in self.data.items():
            kind = self.types[name]
            if kind == "date":
                out[name] = pd.to_datetime(pd.Series(list(values), dtype=object))
            elif kind == "float":
                out[name] = pd.Series(list(values), dtype="float64")
            elif kind == "int":
                out[name] = pd.Series(list(values), dtype="int64")
            else:
                out[name] = pd.Series(list(values), dtype=object)
        return pd.DataFrame(out, columns=list(self.data))


def arrow_schema(types: Mapping[str, ColumnType]) -> Any:
    """The ``pyarrow.Schema`` of columns of these types, in order."""
    pa = _need("pyarrow")
    kinds = {"date": pa.date32(), "float": pa.float64(), "int": pa.int64(),
             "str": pa.string(), "bool": pa.bool_()}  # fmt: skip
    return pa.schema([(name, kinds[kind]) for name, kind in types.items()])


def convert(table: Columns, to: To) -> Frame:
    """The frame ``to`` names; only that library is imported."""
    if to == "pandas":
        return table.pandas()
    if to == "polars":
        return table.polars()
    if to == "arrow":
        return table.arrow()
    raise ValueError(f"to must be 'pandas', 'polars' or 'arrow', not {to!r}")


def _table(columns: Mapping[str, Sequence[Any]], types: Mapping[str, str] | None = None) -> Columns:
    """Columns with their types (date, float, int, str, bool); undeclared ones hold text."""
    declared = dict(types or {})
    return Columns(columns, {n: cast(ColumnType, declared.get(n, "str")) for n in columns})


def _of_rows(rows: Sequence[Any], fields: Mapping[str, str], week: date | None = None) -> Columns:
    """One column per attribute ``fields`` names (with its type) of the view's rows, after a
    ``week`` column when the view is of one survey week."""
    columns: dict[str, list[Any]] = {"week": [week] * len(rows)} if week is not None else {}
    columns |= {name: [getattr(r, name) for r in rows] for name in fields}
    return _table(columns, {"week": "date", **fields})


_AREA = {"area": "str", "name": "str", "level": "str"}


def _choose(value: object, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``, in any case (as the HTTP API takes them), else a ValueError naming
    them: ``freq="hourly"`` read daily values, and ``how="median"`` was ignored wherever
    nothing was put on weeks."""
    chosen = value.strip().lower() if isinstance(value, str) else value
    if chosen not in choices:
        offered = ", ".join(map(repr, choices[:-1])) + f" or {choices[-1]!r}"
        raise ValueError(f"{name} must be {offered}, not {value!r}")
    return chosen


def _how(how: object) -> WeeklyHow:
    return cast("WeeklyHow", _choose(how, "how", HOWS))


FREQS = ("daily", "weekly")
HOWS = ("mean", "last")
"""``wide``'s frequencies and the weekly aggregations (dashboard.analysis.WeeklyHow)."""


def _day(value: DateLike, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def select_keys(
    catalog: Catalog, patterns: str | Iterable[str], *, derived: bool = False
) -> list[str]:
    """Catalog keys matching globs (``FUEL#GASOLINE#*``), exact keys or key prefixes
    (``FUEL#GASOLINE``, as ``fuelpipe run --series`` takes them), in order, each once.

    Raises KeyError naming the first pattern that matches nothing, and the keys or prefixes
    it may have meant (``GASOLINA``: FUEL#GASOLINE), as the CLI names them.
    """
    wanted = [patterns] if isinstance(patterns, str) else list(patterns)
    known = [s.key for s in catalog] + (list(DERIVED) if derived else [])
    out: dict[str, None] = {}
    for pattern in wanted:
        pat = pattern.strip().upper()
        hits = [k for k in known if names(pat, k)]
        if not hits:
            hint = closest_hint(catalog, [pattern])  # a typo: the keys it may have meant
            raise KeyError(f"{pattern!r} matches no series in the catalog{hint}")
        out.update(dict.fromkeys(hits))
    return list(out)


def _attributes(r: Record) -> str:
    """The record's attributes, retry reason and next attempt as one JSON object (sorted)."""
    attrs: dict[str, Any] = {k: str(v) if isinstance(v, Decimal) else v for k, v in r.attrs.items()}
    if r.reason:
        attrs["reason"] = r.reason
    if r.next_attempt_at:
        attrs["next_attempt_at"] = r.next_attempt_at.isoformat()
    return json.dumps(attrs, sort_keys=True, ensure_ascii=False)


def history_json(rev: Revision) -> dict[str, Any]:
    """One earlier value of a record as ``fuelpipe export`` prints it: its kind (revision or
    adjustment), the value it had and the one replacing it, when and by which request, and the
    attributes it replaced."""
    entry: dict[str, Any] = {
        "kind": rev.kind.value,
        "previous": str(rev.previous),
        "new": str(rev.new),
        "seen_at": rev.seen_at.isoformat(),
        "request": rev.request,
    }
    if rev.previous_attrs is not None:
        entry["previous_attrs"] = {
            k: str(v) if isinstance(v, Decimal) else v
            for k, v in sorted(rev.previous_attrs.items())  # one order, whichever home
        }
    return entry


def _revisions(r: Record) -> str | None:
    """The record's history (oldest first) as CSV export's JSON cell, None when it has none."""
    return json.dumps([history_json(rev) for rev in r.revisions]) if r.revisions else None


def tidy_parts(
    store: Store, keys: Sequence[str], start: date | None, end: date | None
) -> Iterator[Columns]:
    """:func:`tidy_table` one key at a time (a key with no record in range gives none): only
    one key's records are held at once."""
    for key in keys:
        records = store.query(key, start, end)
        if not records:
            continue
        columns: dict[str, list[Any]] = {
            "date": [r.date for r in records],
            "key": [r.key for r in records],
            "value": [None if r.value is None else float(r.value) for r in records],
            "value_text": [None if r.value is None else str(r.value) for r in records],
            "status": [r.status.value for r in records],
            "retry_count": [r.retry_count for r in records],
            "attributes": [_attributes(r) for r in records],
            "revisions": [_revisions(r) for r in records],
        }
        yield Columns(columns, TIDY_TYPES)


def tidy_table(store: Store, keys: Sequence[str], start: date | None, end: date | None) -> Columns:
    """Every stored record of ``keys`` in ``[start, end]``: the TIDY_COLUMNS, by key then date."""
    cols: dict[str, list[Any]] = {c: [] for c in TIDY_COLUMNS}
    for part in tidy_parts(store, keys, start, end):
        for name, values in part.data.items():
            cols[name].extend(values)
    return Columns(cols, TIDY_TYPES)


@dataclass(frozen=True)
class Lags:
    """The Lags view: cross-correlation by lag and the distributed-lag pass-through fit."""

    pump: str
    driver: str
    cross: Frame
    """lag (weeks the pump trails the driver), r, n."""
    best_lag: int | None
    best_r: float | None
    regression: dict[str, Any] | None
    """intercept, coefficients, cumulative pass-through, its CI, pump_pct_per_10pct, n, r2 …"""
    regression_error: str | None
    regression_reason: str | None = None
    """Why there is no regression, as a code (``driver_unchanged``, ``too_few_weeks`` …)."""


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reads(
    method: Callable[Concatenate[Fuelpipe, _P], _R],
) -> Callable[Concatenate[Fuelpipe, _P], _R]:
    """A :class:`Fuelpipe` method that reads the store: damage its ``faults`` names (a
    damaged file) is raised as :class:`StoreDamaged` with that line."""

    def read(self: Fuelpipe, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except StoreDamaged:
            raise
        except Exception as exc:
            line = self._faults(exc) if self._faults is not None else None
            if line is None:
                raise
            raise StoreDamaged(line) from exc

    functools.update_wrapper(read, method)  # its name and docstring (wraps' type is not read's)
    return read


class Fuelpipe:
    """Read-only access to one fuelpipe store: catalog, status, series and the analyses."""

    def __init__(
        self,
        app: StageContext,
        where: str = "a wired home",
        *,
        faults: Callable[[BaseException], str | None] | None = None,
    ) -> None:
        """Wrap a wired home (``fuelpipe.open()`` builds one from the settings). ``faults``
        names an error that is damage to the store's files (a line saying which file and
        what to do; None otherwise): a read meeting it raises :class:`StoreDamaged`."""
        from fuelpipe.dashboard.repository import SeriesReader

        self._app = app
        self._where = where
        self._faults = faults
        self._reader: SeriesReader = SeriesReader(app.store, app.catalog)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release the store's connection."""
        self._app.close()

    def __enter__(self) -> Fuelpipe:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<fuelpipe {self._where}>"

    # --- what is stored -------------------------------------------------------------------------

    def keys(self, patterns: str | Iterable[str] | None = None) -> list[str]:
        """Catalog keys matching exact keys or glob patterns (all when None)."""
        if patterns is None:
            return [s.key for s in self._app.catalog]
        return select_keys(self._app.catalog, patterns)

    def catalog(self, *, to: To = "pandas") -> Frame:
        """One row per series: key, kind, source, symbol, label, unit, calendar, product, area."""
        rows = list(self._app.catalog)
        return convert(
            _table(
                {
                    "key": [s.key for s in rows],
                    "kind": [s.kind.value for s in rows],
                    "source": [s.source for s in rows],
                    "symbol": [s.symbol for s in rows],
                    "label": [s.label for s in rows],
                    "unit": [s.unit for s in rows],
                    "calendar": [s.calendar for s in rows],
                    "product": [s.product for s in rows],
                    "area": [s.area for s in rows],
                    "default_start": [s.default_start for s in rows],
                },
                {"product": "str", "area": "str", "default_start": "date"},
            ),
            to,
        )

    @_reads
    def status(
        self,
        patterns: str | Iterable[str] | None = None,
        *,
        since: DateLike = None,
        all_keys: bool = False,
        to: To = "pandas",
    ) -> Frame:
        """`fuelpipe status` as a frame, one row per key: expected, present (expected dates
        stored OK, as the health view counts them; values on days the calendar skips are in
        unexpected), missing, pending, quarantined, first, last, and the other counts
        `status --json` prints (``set_aside``: the key's values set aside where no record
        keeps them; not the newest few it lists, ``set_aside_newest``)."""
        from dataclasses import fields

        from fuelpipe.stages.status import KeyStatus
        from fuelpipe.stages.status import status as compute

        chosen = None
        if patterns is not None:
            chosen = [self._app.catalog[k] for k in self.keys(patterns)]
        found = compute(self._app, chosen, _day(since, "since"), stored_only=not all_keys)
        rows = [r.as_dict() for r in found]
        names = [f.name for f in fields(KeyStatus)]
        cols: dict[str, list[Any]] = {n: [r[n] for r in rows] for n in names}
        for n in ("first", "last"):
            cols[n] = [None if v is None else date.fromisoformat(str(v)) for v in cols[n]]
        types = dict.fromkeys(names, "int") | {"key": "str", "first": "date", "last": "date"}
        types |= {"published_at": "str", "stored_at": "str"}  # instants, as ISO text
        types |= {"split_owed": "str"}  # the owed splits' words, None when none is owed
        return convert(_table(cols, types), to)

    @_reads
    def series(
        self,
        patterns: str | Iterable[str],
        start: DateLike = None,
        end: DateLike = None,
        *,
        to: To = "pandas",
    ) -> Frame:
        """Every stored record of the matching keys in ``[start, end]``, one row per key and date.

        Columns: date, key, value (float; empty when the record has none), value_text (the
        stored number exactly, as text), status (OK, PENDING, QUARANTINED, ABSENT),
        retry_count, attributes (JSON: the record's attributes, retry reason, next attempt),
        revisions (JSON: the earlier values, as in ``fuelpipe export``'s CSV; empty when none).
        The same rows as ``fuelpipe export``, sorted by key then date.
        """
        keys = self.keys(patterns)
        table = tidy_table(self._app.store, keys, _day(start, "start"), _day(end, "end"))
        return convert(table, to)

    @_reads
    def wide(
        self,
        patterns: str | Iterable[str],
        start: DateLike = None,
        end: DateLike = None,
        *,
        freq: Literal["daily", "weekly"] = "daily",
        how: WeeklyHow = "mean",
        to: To = "pandas",
    ) -> Frame:
        """OK values, one column per key (``BRENT_BRL`` too), one row per date (outer join).

        ``freq="weekly"`` puts daily series on ANP survey weeks (keyed by Sunday) as the
        dashboard does, with the week's ``mean`` or ``last`` value. ``end`` bounds the dates
        read (a daily series' week holding it has its days up to it); the analyses below take
        ``end`` as the dashboard's End date: what was published by the end of that day.
        """
        weekly, how = _choose(freq, "freq", FREQS) == "weekly", _how(how)
        keys = select_keys(self._app.catalog, patterns, derived=True)
        first, last = _day(start, "start"), _day(end, "end")
        values: dict[str, dict[date, float]] = {}
        for key in keys:
            ts = (
                self._reader.weekly(key, first, last, how)
                if weekly
                else self._reader.raw(key, first, last)
            )
            values[key] = dict(zip(ts.dates, ts.values, strict=True))
        dates = sorted({d for v in values.values() for d in v})
        cols: dict[str, list[Any]] = {"date": dates}
        cols |= {k: [v.get(d) for d in dates] for k, v in values.items()}
        return convert(_table(cols, {"date": "date"} | dict.fromkeys(keys, "float")), to)

    # --- the dashboard's analyses ---------------------------------------------------------------

    @_reads
    def indices(
        self,
        patterns: str | Iterable[str],
        base: DateLike = None,
        start: DateLike = None,
        end: DateLike = None,
        *,
        how: WeeklyHow = "mean",
        to: To = "pandas",
    ) -> Frame:
        """Weekly series rebased to 100 at ``base`` (default: the first week all have, each
        series from there): key, label, base_date, date, value, as the dashboard's Indices view."""
        from fuelpipe.dashboard import views

        how = _how(how)
        keys = select_keys(self._app.catalog, patterns, derived=True)
        view = views.indices_view(
            self._reader, keys, _day(base, "base"), _day(start, "start"), _day(end, "end"), how
        )
        cols: dict[str, list[Any]] = {n: [] for n in ("key", "label", "base_date", "date", "value")}
        for s in view.series:
            for p in s.points:
                for n, v in zip(cols, (s.key, s.label, s.base_date, p.date, p.value), strict=True):
                    cols[n].append(v)
        types = {"key": "str", "label": "str", "base_date": "date", "date": "date"}
        return convert(_table(cols, types | {"value": "float"}), to)

    @_reads
    def correlations(
        self,
        patterns: str | Iterable[str],
        start: DateLike = None,
        end: DateLike = None,
        *,
        how: WeeklyHow = "mean",
        to: To = "pandas",
    ) -> Frame:
        """Correlation matrix of weekly log changes: a ``key`` column, then one column per key."""
        from fuelpipe.dashboard import views

        how = _how(how)
        keys = select_keys(self._app.catalog, patterns, derived=True)
        view = views.correlation_view(
            self._reader, keys, _day(start, "start"), _day(end, "end"), how
        )
        cols: dict[str, list[Any]] = {"key": list(view.keys)}
        cols |= {k: [row[i] for row in view.r] for i, k in enumerate(view.keys)}
        return convert(_table(cols, {"key": "str"} | dict.fromkeys(view.keys, "float")), to)

    @_reads
    def lags(
        self,
        product: str = "GASOLINE",
        area: str = "BR",
        driver: str = "BRENT_BRL",
        *,
        max_lag: int = 12,
        reg_lags: int = 4,
        start: DateLike = None,
        end: DateLike = None,
        how: WeeklyHow = "mean",
        to: To = "pandas",
    ) -> Lags:
        """How many weeks a pump price trails a driver, and how much of a move passes through,
        as the dashboard's Lags view computes it (same defaults). Product, area and driver are
        case-insensitive; an unknown product or area is a ValueError naming the valid ones."""
        from fuelpipe.dashboard import views
        from fuelpipe.dashboard.areas import check_area, check_product

        how = _how(how)
        view = views.lags_view(
            self._reader,
            check_product(product),
            check_area(area),
            driver.strip().upper(),  # every catalog key is upper case, as BRENT_BRL
            max_lag,
            reg_lags,
            _day(start, "start"),
            _day(end, "end"),
            how,
        )
        cross = _of_rows(view.cross, {"lag": "int", "r": "float", "n": "int"})
        return Lags(
            pump=view.pump,
            driver=view.driver,
            cross=convert(cross, to),
            best_lag=view.best.lag if view.best else None,
            best_r=view.best.r if view.best else None,
            regression=view.regression.model_dump() if view.regression else None,
            regression_error=view.regression_error,
            regression_reason=view.regression_reason,
        )

    @_reads
    def parity(self, week: DateLike = None, *, to: To = "pandas") -> Frame:
        """Ethanol ÷ gasoline by area in one survey week (default: the latest with state prices):
        week, area, name, level, ethanol, gasoline, ratio, ethanol_pays (ratio below 0.7)."""
        from fuelpipe.dashboard import views

        view = views.parity_view(self._reader, _day(week, "week"))
        fields = _AREA | dict.fromkeys(("ethanol", "gasoline", "ratio"), "float")
        return convert(_of_rows(view.areas, fields | {"ethanol_pays": "bool"}, view.week), to)

    @_reads
    def regional(
        self, product: str = "GASOLINE", week: DateLike = None, *, to: To = "pandas"
    ) -> Frame:
        """One product's price by state and region in one survey week and its changes over
        4, 12 and 52 weeks (percent), as the dashboard's Regional map shows it. The product is
        case-insensitive; an unknown one is a ValueError naming the valid ones."""
        from fuelpipe.dashboard import views
        from fuelpipe.dashboard.areas import check_product

        view = views.regional_view(self._reader, check_product(product), _day(week, "week"))
        fields = _AREA | {"region": "str"}
        floats = dict.fromkeys(("price", "change_4w", "change_12w", "change_52w"), "float")
        return convert(_of_rows(view.areas, fields | floats, view.week), to)


def open(
    db: str | Path | None = None,
    *,
    backend: Literal["embedded", "aws"] | None = None,
    now: datetime | str | None = None,
    **settings: Any,
) -> Fuelpipe:
    """Open the store the CLI would use; arguments override the FUELPIPE_* environment.

    ``now`` pins the clock the status counts against (as ``fuelpipe --now``). Any other
    setting (``table_name=…``) is a keyword argument named as in the README's table, without
    the FUELPIPE_ prefix.

    Read-only, as the CLI's reading commands: a store that does not exist is a
    FileNotFoundError, a folder an IsADirectoryError, an empty file a ValueError, and nothing
    is created or written (no schema, no queue file beside the store). A file that is not
    SQLite, or is damaged, is a :class:`StoreDamaged` with the CLI's line naming it, here or
    from the first read that meets the damage (a file damaged past its first page opens).
    """
    from fuelpipe.homes.settings import Settings

    given: dict[str, Any] = {"db": db, "backend": backend, "now": now}
    cfg = Settings(**{k: v for k, v in given.items() if v is not None}, **settings)
    if cfg.backend == "embedded" and Path(cfg.db).is_dir():
        raise IsADirectoryError(
            f"{cfg.db} is a directory, not a SQLite file: pass db= / set FUELPIPE_DB to a store"
        )
    if cfg.backend == "embedded" and not Path(cfg.db).is_file():
        raise FileNotFoundError(
            f"no fuelpipe store at {cfg.db}: run `fuelpipe demo --no-serve` or `fuelpipe run` "
            "first, or pass db= / set FUELPIPE_DB"
        )
    from fuelpipe.homes import build_home, damage_message, damage_namer, empty_store_message

    if cfg.backend == "embedded" and Path(cfg.db).stat().st_size == 0:
        raise ValueError(empty_store_message(Path(cfg.db)))
    where = f"table {cfg.table_name}" if cfg.backend == "aws" else f"store {cfg.db}"
    # as the CLI's reading commands: no schema written, no queue file beside the store (the
    # API never sends; the queue is opened only if something asks for it)
    try:
        home = build_home(cfg, sources={}, read_only=True, queue_on_demand=True)
    except Exception as exc:  # not SQLite, or damaged in its first page: the CLI's line
        line = damage_message(cfg, exc)
        if line is None:
            raise
        raise StoreDamaged(line) from exc
    # built now the store is open: a backup moved over it later is named as a new file, which
    # this Fuelpipe does not read (SQLite reads the file it opened)
    faults = damage_namer(cfg, reopen=REOPEN) if cfg.backend == "embedded" else None
    return Fuelpipe(home, f"{cfg.backend} {where}", faults=faults)


__all__ = [
    "TIDY_COLUMNS",
    "Fuelpipe",
    "Lags",
    "StoreDamaged",
    "convert",
    "open",
    "select_keys",
    "tidy_parts",
    "tidy_table",
]
