"""The dashboard's FastAPI app: a read-only API over the Store port, and the page that uses it."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import AfterValidator, BaseModel
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import Scope

from fuelpipe.dashboard import views
from fuelpipe.dashboard.areas import (
    AREA_HELP,
    DRIVER_HELP,
    PRODUCTS,
    check_area,
    check_driver,
    check_product,
)
from fuelpipe.dashboard.cache import ResponseCache
from fuelpipe.dashboard.errors import FaultNamer, InvalidRequestError, NotFoundError, no_fault
from fuelpipe.dashboard.formats import Format, FormatQ
from fuelpipe.dashboard.head import HeadAsGet
from fuelpipe.dashboard.health import health_view
from fuelpipe.dashboard.live import Generation, live_router
from fuelpipe.dashboard.params import DateParam, any_case
from fuelpipe.dashboard.precomputed import install_precomputed
from fuelpipe.dashboard.repository import BRENT_BRL, SeriesReader
from fuelpipe.dashboard.schemas import (
    Cell,
    CorrelationView,
    HealthView,
    IndicesView,
    LagsView,
    MetaView,
    OverviewView,
    ParityView,
    RegionalView,
    SeriesView,
    Table,
    csv_table,
    csv_text,
    download_name,
    table_names,
)
from fuelpipe.dashboard.security import SecurityHeaders
from fuelpipe.dashboard.static_assets import serve_asset
from fuelpipe.dashboard.stations import StationQueries
from fuelpipe.dashboard.stations import build_router as build_stations_router
from fuelpipe.dashboard.unknown_params import KNOWN_PARAMS_ONLY
from fuelpipe.dashboard.versions import DataVersion, request_version
from fuelpipe.domain.calendars import EARLIEST_DATE, LATEST_DATE
from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.clock_bounds import MAX_DATE_AHEAD
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import InvalidKeyError
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store
from fuelpipe.stages.alerting import LatestDue

MAX_KEYS = 12
How = Literal["mean", "last"]
Freq = Literal["raw", "weekly"]
# Fixed values are read in any case, as keys, fuels and areas are (params.any_case).
HowQ = Annotated[
    How,
    any_case(How),
    Query(
        description="weekly resampling of daily series: week `mean` or `last` value; "
        "case-insensitive"
    ),
]
_DATE_RANGE = (
    f"between {EARLIEST_DATE} and {LATEST_DATE}, at most {MAX_DATE_AHEAD.days} days after today"
)


StartQ = Annotated[
    DateParam, Query(description=f"first date (ISO YYYY-MM-DD), inclusive; {_DATE_RANGE}")
]
EndQ = Annotated[
    DateParam,
    Query(
        description="the End date (ISO YYYY-MM-DD): the values published by the end of that day "
        "in São Paulo, by each series' schedule (an ANP week from its Friday 18:00, so a "
        "Wednesday's last week ended the Saturday before; PTAX and the closes on their day; FRED "
        "Brent with its weekly batch, through a Monday and out the Friday after); default: every "
        "stored value; " + _DATE_RANGE
    ),
]
UntilQ = Annotated[
    DateParam,
    Query(
        description="the window's last day (ISO YYYY-MM-DD) without an End date: every series "
        "stops at it, each with the values stored up to it whatever their publication (the "
        "page's window: the 52 weeks up to the newest fuel week, so a driver stored after it "
        "does not run on past it); with `end` too, the earlier of the two cuts; " + _DATE_RANGE
    ),
]
FuelQ = Annotated[
    str,
    AfterValidator(check_product),
    Query(description=f"fuel product: {', '.join(PRODUCTS)}; case-insensitive"),
]
AreaQ = Annotated[str, AfterValidator(check_area), Query(description=AREA_HELP)]
DriverQ = Annotated[str, AfterValidator(check_driver), Query(description=DRIVER_HELP)]
WeekQ = Annotated[
    DateParam,
    Query(description="the survey week's Sunday (default: the latest stored week); " + _DATE_RANGE),
]
CSV_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv`"},
    404: {"description": "unknown series"},
    422: {"description": "invalid parameters, with a message"},
}

LAGS_RESPONSES: dict[int | str, dict[str, object]] = {
    **CSV_RESPONSES,
    422: {
        "description": "invalid parameters, with a message; an unknown fuel, area or driver "
        "names the valid values"
    },
}


class Window(BaseModel):
    """A validated date window."""

    start: date | None
    end: date | None
    until: date | None = None


def not_too_far_ahead(request: Request, day: date | None, name: str) -> date | None:
    """A date at most a year after the app's clock's São Paulo day, or after the newest stored
    fuel week when that is later (the bound every input date has): a store may hold weeks past
    the clock (the demo's bundled files end in different years, and it keeps the first one's
    clock). The page's End date bounds itself the same way (app.js dateBounds)."""
    clock: Clock | None = getattr(request.app.state, "clock", None)
    if day is None or clock is None:
        return day
    today = clock.now().astimezone(SAO_PAULO).date()
    if day <= today + MAX_DATE_AHEAD:
        return day
    newest: Callable[[], date | None] | None = getattr(request.app.state, "newest_week", None)
    stored = newest() if newest is not None else None
    if stored is not None and day <= stored + MAX_DATE_AHEAD:
        return day
    raise InvalidRequestError(
        f"{name} {day} is more than a year after today ({today})"
        + (f" and the newest stored week ({stored})" if stored else ""),
        params=(name,),
    )


def _newest_week(versions: DataVersion, reader: SeriesReader) -> Callable[[], date | None]:
    """The newest stored week of any fuel series, read once per data version (a lock guards the
    memo: the routes run in worker threads)."""
    memo: dict[str, date | None] = {}
    lock = threading.Lock()

    def newest() -> date | None:
        version = versions.get()
        with lock:
            if version in memo:
                return memo[version]
        meta = views.meta_view(reader)
        found = max((c.last for c in meta.coverage if c.last), default=None)
        with lock:
            memo.clear()
            memo[version] = found
        return found

    return newest


def window(
    request: Request, start: StartQ = None, end: EndQ = None, until: UntilQ = None
) -> Window:
    """The start/end/until query parameters, start no later than end or until, none far in the
    future."""
    if start and end and start > end:
        raise InvalidRequestError(f"start {start} is after end {end}", params=("start", "end"))
    if start and until and start > until:
        raise InvalidRequestError(
            f"start {start} is after until {until}", params=("start", "until")
        )
    # The end first: the page sends the end date picked and a start a window before it, so a
    # window too far ahead is named by the date the analyst chose (start <= end holds here).
    not_too_far_ahead(request, end, "end")
    not_too_far_ahead(request, until, "until")
    not_too_far_ahead(request, start, "start")
    return Window(start=start, end=end, until=until)


WindowDep = Annotated[Window, Depends(window)]


def split_keys(keys: list[str]) -> list[str]:
    """Keys from repeated and/or comma-separated parameters, de-duplicated, in order."""
    # Keys are case-insensitive everywhere (CLI and API): every catalog key is upper case.
    out = list(
        dict.fromkeys(k.strip().upper() for raw in keys for k in raw.split(",") if k.strip())
    )
    if not out:
        raise InvalidRequestError("keys: give at least one series key", params=("keys",))
    if len(out) > MAX_KEYS:
        raise InvalidRequestError(
            f"keys: at most {MAX_KEYS} series at once, got {len(out)}", params=("keys",)
        )
    return out


def series_key(value: str) -> str:
    """A series key without its outer spaces, upper-cased (keys are case-insensitive); a blank
    one is a 422 naming ``key``, not a 404 for the series ''."""
    key = value.strip().upper()
    if not key:
        raise ValueError("give a series key")
    return key


KeysQ = Annotated[
    list[str],
    Query(description="series keys, repeated or comma-separated (e.g. CURRENCY#USD,BRENT_BRL)"),
]


def csv_cell(cell: Cell) -> Cell:
    """A float as every CSV number (:func:`csv_text`: to DECIMALS places, a tiny negative
    0.0, never an exponent); anything else as it is (a JSON-text cell's floats were rounded
    already: ``_cell``)."""
    return csv_text(cell) if isinstance(cell, float) else cell


def to_csv(table: Table, name: str, *parts: object) -> Response:
    """A CSV download of a view's table, its floats to DECIMALS places (:func:`csv_cell`), its
    file named by the view's ``name`` and the ``parts`` that shaped it (:func:`download_name`)."""
    head, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{download_name(name, *parts)}"'},
    )


TABLES_HEADER = "X-Fuelpipe-Tables"
"""A CSV of a view of several tables names them all here, its main one first."""


def _check_table(model: type[BaseModel], value: str | None) -> str | None:
    """One of the view's tables, named in any case (its outer spaces aside), as it spells it."""
    names = table_names(model)
    if value is None:
        return None
    by_folded = {n.casefold(): n for n in names}
    if (name := by_folded.get(value.strip().casefold())) is None:
        raise ValueError(f"{value!r} is not a table of this view; one of {', '.join(names)}")
    return name


def table_help(model: type[BaseModel]) -> str:
    """The ``table`` parameter's description for a view of ``model``."""
    main, *others = table_names(model)
    return (
        f"with `format=csv`, the list to download: `{main}` (default), "
        + ", ".join(f"`{n}`" for n in others)
        + "; each CSV names the others in its `other_tables` column; case-insensitive"
    )


def table_check(model: type[BaseModel]) -> AfterValidator:
    """The ``table`` parameter's check for a view of ``model``: one of its tables."""
    return AfterValidator(partial(_check_table, model))


def span_part(first: date | None, last: date | None) -> str | None:
    """A window's piece of a file name: ``first..last``, ``from-first`` or ``to-last`` with
    one day unknown, None with neither."""
    if first and last:
        return f"{first}..{last}"
    if first or last:
        return f"from-{first}" if first else f"to-{last}"
    return None


def labelled(label: str, value: object) -> str | None:
    """``label-value`` for a file name (``until-2024-06-30``), None when ``value`` is."""
    return None if value is None else f"{label}-{value}"


def window_parts(win: Window, first: date | None, last: date | None) -> list[str | None]:
    """A window's pieces of a file name: its start (``first``, the first day the view used,
    when none was asked) ``..`` its end (``last``, the view's last, when none was asked), then
    ``until-DAY`` when a cut was asked."""
    return [span_part(win.start or first, win.end or last), labelled("until", win.until)]


def answer(
    view: BaseModel,
    fmt: Format,
    name: str,
    table: str | None = None,
    parts: Sequence[object] = (),
) -> BaseModel | Response:
    """The view as JSON, or with ``fmt`` csv its CSV: its main table, or the list ``table``,
    in ``name[-table]-parts….csv`` (:func:`download_name`: ``parts`` are the choices that
    shaped it, None ones left out). A view of several tables (:func:`table_names`) says
    the others on every row (``other_tables``, space-separated) and all of them in the
    TABLES_HEADER header, so no list of its JSON is left out unsaid."""
    if fmt != "csv":
        if table is not None:
            raise InvalidRequestError(
                f"table: {table!r} is for format=csv (the JSON has all)", params=("table",)
            )
        return view
    names = table_names(type(view))
    chosen = table or (names[0] if names else "")
    head, rows = csv_table(view, table)
    if not names:
        return to_csv((head, rows), name, *parts)
    others = " ".join(n for n in names if n != chosen)
    download = to_csv(
        ([*head, "other_tables"], [[*r, others] for r in rows]),
        name,
        None if chosen == names[0] else chosen,
        *parts,
    )
    download.headers[TABLES_HEADER] = ", ".join(names)
    return download


QUOTE_CHARS = 80
"""An error message quotes at most this many characters of a value, then "…": a 20,000-character
``fuel`` was quoted whole in the detail and again in the errors, a 40 KB 422."""

_QUOTED = re.compile(rf"""(['"])((?:(?!\1).){{{QUOTE_CHARS + 1},}})\1""", re.DOTALL)
_LONG_WORD = re.compile(rf"""[^\s'"]{{{QUOTE_CHARS + 1},}}""")


def shorten_quotes(message: str) -> str:
    """``message`` with each quoted value (``'…'`` or ``"…"``, as repr writes it) and each
    unquoted word longer than QUOTE_CHARS cut to its first QUOTE_CHARS characters and "…"."""
    message = _QUOTED.sub(lambda m: f"{m[1]}{m[2][:QUOTE_CHARS]}…{m[1]}", message)
    return _LONG_WORD.sub(lambda m: f"{m[0][:QUOTE_CHARS]}…", message)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path"))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return shorten_quotes("; ".join(parts))


def _install_error_handlers(app: FastAPI) -> None:
    def reply(status: int) -> Callable[[Request, Exception], JSONResponse]:
        def handler(_: Request, exc: Exception) -> JSONResponse:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            detail = shorten_quotes(str(message))
            # The shape of a validation error's answer: ``errors`` names the parameters at
            # fault when the error knows them, and is an empty list when it does not.
            params = exc.params if isinstance(exc, InvalidRequestError) else ()
            errors = [{"loc": ["query", p], "msg": detail, "type": "value_error"} for p in params]
            return JSONResponse({"detail": detail, "errors": errors}, status_code=status)

        return handler

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(
            {"detail": _validation_message(exc), "errors": jsonable_errors(exc)}, status_code=422
        )

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(NotFoundError, reply(404))
    app.add_exception_handler(KeyError, reply(404))
    app.add_exception_handler(InvalidKeyError, reply(422))
    app.add_exception_handler(InvalidRequestError, reply(422))
    app.add_exception_handler(ValueError, reply(422))
    # Date arithmetic past Python's range can only come from the request's own values.
    app.add_exception_handler(OverflowError, reply(422))


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """Pydantic's error list without the non-JSON ``ctx``/``input`` parts, long values quoted
    short (:func:`shorten_quotes`)."""
    return [
        {
            "loc": [p if isinstance(p, int) else shorten_quotes(str(p)) for p in e.get("loc", ())],
            "msg": shorten_quotes(str(e.get("msg", ""))),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]


def create_app(  # noqa: PLR0915 - the one factory that wires every route and router
    store: Store,
    catalog: Catalog,
    queue: Queue | None = None,
    clock: Clock | None = None,
    *,
    cache_ttl_s: float = 30.0,
    stations: StationQueries | None = None,
    no_lake: str | None = None,
    precompute: bool = True,
    series_clocks: Mapping[str, datetime] | None = None,
    intraday: IntradayStore | None = None,
    versions: DataVersion | None = None,
    store_views: bool = True,
    alerts: AlertReader | None = None,
    allowed_hosts: Sequence[str] | None = None,
    faults: FaultNamer | None = None,
) -> FastAPI:
    """The dashboard app: read-only API under /api, the page at /, assets under /static.

    ``allowed_hosts``: the Host header names answered (others get 400); None answers any.
    A server on a loopback address passes its own names (dashboard/server.py), so a web page
    whose name is rebound to 127.0.0.1 cannot read the local dashboard (DNS rebinding).

    ``store_views`` False: a stored view found stale is recomputed into memory, not written
    back (the store is opened read-only, as by ``fuelpipe dashboard``).

    ``intraday`` serves the "Today" panel; without it the panel says how to collect them.
    ``stations`` serves the station views; without it their 404 says ``no_lake`` (None: the
    ``lake`` extra to install when DuckDB is not, else an ingest to run).
    ``alerts`` (the alert state, read only) gives the health view its active alerts.
    ``versions`` reads the store's data version at most once a second (its default), shared by
    the stored views, the response cache and the outlook's accuracy: an answer is never served
    more than that second after a data change.

    API answers are cached for ``cache_ttl_s`` seconds (0 turns the cache off): the store
    changes a few times a day, while one page view asks for the same views many times.

    ``faults`` names the store's faults that are no fault of the server (the embedded home's
    damaged file, :func:`fuelpipe.homes.damage_namer`): any request meeting one is answered
    503 with that line, logged once, and never cached; None: every error is a 500.
    """
    from fuelpipe.adapters.clock import SystemClock

    reader = SeriesReader(store, catalog)
    the_clock: Clock = clock or SystemClock()
    app = FastAPI(
        title="fuelpipe dashboard API",
        version="1",
        description=(
            "Read-only views of the fuelpipe store: series, indices, correlations, lagged "
            "pass-through, regional prices, ethanol parity, the day's intraday points and "
            "pipeline health. Every view "
            "also downloads as CSV with `format=csv`, a view of several lists each with "
            "`table=` (its CSVs name the others). Keys, fuels and areas are "
            "case-insensitive, and so are fixed values (`format`, `freq`, `how`, `table`)."
        ),
        # Served offline by the app itself (/docs below): no CDN, the strict CSP holds.
        docs_url=None,
        redoc_url=None,
    )
    named = faults or no_fault
    the_versions = versions or DataVersion(store, faults=named)
    app.state.clock = the_clock
    app.state.data_version = the_versions
    app.state.newest_week = _newest_week(the_versions, reader)
    # A new data version, or a new store version seen by /api/live, starts a new generation of
    # cached answers: nothing cached before a change is served after it.
    generation = Generation()

    async def cache_generation(scope: Scope) -> str:
        return f"{await request_version(scope, the_versions)}#{generation.get()}"

    app.add_middleware(ResponseCache, ttl_s=cache_ttl_s, generation=cache_generation, faults=named)
    # Stored views per data version with ETags (dashboard/precomputed.py), outside the cache:
    # they check the version and answer If-None-Match on every request; the rest is cached.
    install_precomputed(
        app,
        reader,
        queue,
        the_clock,
        enabled=precompute,
        series_clocks=series_clocks,
        versions=the_versions,
        store_views=store_views,
        alerts=alerts,
        faults=named,
    )
    if allowed_hosts is not None:  # inside SecurityHeaders: its 400 carries the headers too
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SecurityHeaders, faults=named)
    app.add_middleware(HeadAsGet)  # outermost: every layer inside answers the GET
    _install_error_handlers(app)
    from fuelpipe.dashboard.outlook_api import outlook_router  # imports this module's helpers

    stored = getattr(app.state, "precomputer", None)  # one accuracy cache for both
    # Every /api route answers a query parameter it does not take with a 422 naming it.
    known_only = [KNOWN_PARAMS_ONLY]
    app.include_router(
        outlook_router(store, catalog, the_versions, stored.ctx.outlook if stored else None),
        dependencies=known_only,
    )
    from fuelpipe.dashboard.intraday import intraday_router  # imports this module's helpers

    app.include_router(
        intraday_router(store, intraday, catalog, the_clock), dependencies=known_only
    )
    api = APIRouter(dependencies=known_only)  # the panel's views, included below

    app.include_router(build_stations_router(stations, no_lake=no_lake))  # station views

    @app.get("/", include_in_schema=False)
    def page(request: Request) -> Response:
        return serve_asset(request, "index.html", max_age=0)

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        """The API reference, rendered from /openapi.json by a script of this origin."""
        return serve_asset(request, "docs.html", max_age=0)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> Response:
        return RedirectResponse("/docs", status_code=308)

    @app.get("/static/{name}", include_in_schema=False)
    def static(request: Request, name: str) -> Response:
        return serve_asset(request, name)

    @api.get("/api/meta", response_model=MetaView, responses=CSV_RESPONSES)
    def meta(
        format: FormatQ = "json",
        table: Annotated[
            str | None, table_check(MetaView), Query(description=table_help(MetaView))
        ] = None,
    ) -> BaseModel | Response:
        """Products, areas, drivers, and the weeks stored for each product and level."""
        return answer(views.meta_view(reader), format, "meta", table)

    @api.get("/api/overview", response_model=OverviewView, responses=CSV_RESPONSES)
    def overview(
        request: Request, end: EndQ = None, format: FormatQ = "json"
    ) -> BaseModel | Response:
        """Latest value and weekly change of the Brazil fuels, USD/BRL, Brent and PETR4: each
        series' latest published by the end of ``end`` when given (the page's End date), the
        last point of the index chart's line for the same ``end``."""
        not_too_far_ahead(request, end, "end")
        view = views.overview_view(reader, end)
        newest = max((i.date for i in view.items if i.date), default=None)
        parts = [labelled("end", end) if end else labelled("latest", newest)]
        return answer(view, format, "overview", parts=parts)

    @api.get("/api/series", response_model=SeriesView, responses=CSV_RESPONSES)
    def series(
        key: Annotated[
            str,
            AfterValidator(series_key),
            Query(description="a catalog key such as FUEL#GASOLINE#SP, or BRENT_BRL"),
        ],
        win: WindowDep,
        freq: Annotated[
            Freq,
            any_case(Freq),
            Query(description="as stored, or on survey weeks; case-insensitive"),
        ] = "raw",
        how: HowQ = "mean",
        format: FormatQ = "json",
    ) -> BaseModel | Response:
        """One series over a window, as stored or on ANP survey weeks."""
        if freq == "weekly":
            views.require_known(reader, [key], weeks_of="key")
        view = views.series_view(reader, key, win.start, win.end, freq, how, until=win.until)
        days = [p.date for p in view.points]
        span = window_parts(win, min(days, default=None), max(days, default=None))
        parts = [key, freq, how if freq == "weekly" else None, *span]
        return answer(view, format, "series", parts=parts)

    @api.get("/api/indices", response_model=IndicesView, responses=CSV_RESPONSES)
    def indices(
        request: Request,
        keys: KeysQ,
        win: WindowDep,
        base: Annotated[
            DateParam,
            Query(
                description="base date (index = 100 at each series' first week on or after it; "
                "the window's weeks before it are kept); default: the first week every series "
                f"has, where each line then starts at 100; {_DATE_RANGE}"
            ),
        ] = None,
        how: HowQ = "mean",
        format: FormatQ = "json",
    ) -> BaseModel | Response:
        """Weekly series rebased to 100 at the first week on or after ``base``; without one, at
        the first week they all have, each line starting there."""
        not_too_far_ahead(request, base, "base")
        chosen = split_keys(keys)
        views.require_known(reader, chosen, weeks_of="keys")
        view = views.indices_view(reader, chosen, base, win.start, win.end, how, until=win.until)
        days = [p.date for s in view.series for p in s.points]
        span = window_parts(win, min(days, default=None), max(days, default=None))
        parts = [*chosen, labelled("base", view.base), how, *span]
        return answer(view, format, "indices", parts=parts)

    @api.get("/api/correlations", response_model=CorrelationView, responses=CSV_RESPONSES)
    def correlations(
        keys: KeysQ,
        win: WindowDep,
        how: HowQ = "mean",
        format: FormatQ = "json",
    ) -> BaseModel | Response:
        """Correlations of weekly log changes, with the overlapping weeks behind each cell."""
        chosen = split_keys(keys)
        if len(chosen) < 2:  # one key, or one key twice (split_keys keeps it once)
            raise InvalidRequestError(
                f"keys: a correlation matrix needs at least two series, got 1: {chosen[0]}",
                params=("keys",),
            )
        views.require_known(reader, chosen, weeks_of="keys")
        view = views.correlation_view(reader, chosen, win.start, win.end, how, until=win.until)
        parts = [*chosen, how, *window_parts(win, view.first, view.last)]
        return answer(view, format, "correlations", parts=parts)

    @api.get("/api/lags", response_model=LagsView, responses=LAGS_RESPONSES)
    def lags(
        fuel: FuelQ,
        win: WindowDep,
        area: AreaQ = "BR",
        driver: DriverQ = BRENT_BRL,
        max_lag: Annotated[
            int, Query(ge=0, le=12, description="cross-correlation lags, weeks")
        ] = 12,
        reg_lags: Annotated[int, Query(ge=0, le=12, description="regression lags 0..N, weeks")] = 4,
        how: HowQ = "mean",
        format: FormatQ = "json",
    ) -> BaseModel | Response:
        """Cross-correlation by lag and the distributed-lag pass-through regression."""
        view = views.lags_view(
            reader, fuel, area, driver, max_lag, reg_lags, win.start, win.end, how, until=win.until
        )
        parts = [
            fuel,
            area,
            labelled("driver", driver),
            labelled("maxlag", max_lag),
            labelled("reglags", reg_lags),
            how,
            *window_parts(win, None, view.through),
        ]
        return answer(view, format, "lags", parts=parts)

    @api.get("/api/regional", response_model=RegionalView, responses=CSV_RESPONSES)
    def regional(
        request: Request,
        fuel: FuelQ,
        week: WeekQ = None,
        format: FormatQ = "json",
    ) -> BaseModel | Response:
        """A fuel's price by state and region in one week, its changes, and the state spread."""
        not_too_far_ahead(request, week, "week")
        view = views.regional_view(reader, fuel, week)
        return answer(view, format, "regional", parts=[fuel, labelled("week", view.week)])

    @api.get("/api/parity", response_model=ParityView, responses=CSV_RESPONSES)
    def parity(
        request: Request, week: WeekQ = None, format: FormatQ = "json"
    ) -> BaseModel | Response:
        """Ethanol/gasoline price ratio by area; below 0.70 ethanol pays off."""
        not_too_far_ahead(request, week, "week")
        view = views.parity_view(reader, week)
        return answer(view, format, "parity", parts=[labelled("week", view.week)])

    due = LatestDue()  # each series' latest due date, reused until it can move

    @api.get("/api/health", response_model=HealthView, responses=CSV_RESPONSES)
    def health(
        format: FormatQ = "json",
        table: Annotated[
            str | None, table_check(HealthView), Query(description=table_help(HealthView))
        ] = None,
    ) -> BaseModel | Response:
        """Sources late or failing now, the active alerts, completeness per stored series,
        pending, quarantined, dead letters, last runs, freshness."""
        view = health_view(store, catalog, queue, the_clock, series_clocks, alerts, due)
        return answer(view, format, "health", table)

    app.include_router(api)
    app.include_router(
        live_router(store, catalog, the_clock, generation, intraday), dependencies=known_only
    )
    return app
