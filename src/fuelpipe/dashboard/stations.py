"""The station views' API (``/api/stations/...``) and page (``/stations``).

Every answer comes from one of the lake's named queries (adapters/lake/queries.py), the same
SQL text Athena runs in the AWS home. The router gets the query engine injected; without one
(no ``lake`` extra, or no lake yet) or with an empty lake the page still loads and the API
answers 404 saying how to get one: the extra only when it is not installed.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, Field

from fuelpipe.dashboard.errors import InvalidRequestError
from fuelpipe.dashboard.formats import FormatQ
from fuelpipe.dashboard.params import DateParam, one_of
from fuelpipe.dashboard.schemas import (
    Cell,
    Table,
    csv_table,
    csv_text,
    download_name,
    list_table,
    own_fields,
)
from fuelpipe.dashboard.static_assets import serve_asset
from fuelpipe.dashboard.unknown_params import KNOWN_PARAMS_ONLY
from fuelpipe.domain.catalog import STATES
from fuelpipe.domain.stations import (
    FUEL_UNITS,
    FUELS,
    SEARCH_STATIONS,
    figure,
    first_stations,
    lake_window,
    query_params,
    span_answered,
    span_asked,
    week_start,
    weeks_covered,
)
from fuelpipe.ports.lake import LakeQueryFailed

_log = logging.getLogger("fuelpipe.dashboard")
MAX_SPAN_DAYS = 370
NO_LAKE_EXTRA = (
    "no station lake here: install the lake extra ({install}) and run `fuelpipe stations ingest`"
)
NO_LAKE = (
    "no station lake here: run `fuelpipe stations ingest` (or `fuelpipe demo`) first, or check "
    "FUELPIPE_LAKE"
)
NO_LAKE_BUCKET = (
    "no station lake here: set FUELPIPE_LAKE_BUCKET to the stack's lake bucket "
    "(infra/template.yaml sets it on the dashboard_api Lambda)"
)
EMPTY_LAKE = "no station data here: the lake is empty: run `fuelpipe stations ingest` first"
"""The 404s without a lake to ask (stations.js API_ERRORS translates each)."""


def lake_extra_installed() -> bool:
    """Whether the ``lake`` extra (DuckDB) is installed, as the CLI decides to open a lake."""
    return importlib.util.find_spec("duckdb") is not None


def no_lake_advice(lake_extra: bool) -> str:
    """What a 404 without a lake advises on one machine: the ``lake`` extra when it is not
    installed, an ingest when it is."""
    if lake_extra:
        return NO_LAKE
    from fuelpipe.install_hint import install_hint

    return NO_LAKE_EXTRA.format(install=install_hint("lake"))


class StationQueries(Protocol):
    """What the views need from the lake (StationLake, or Athena in the AWS home)."""

    def query(self, name: str, params: dict[str, Any]) -> Any: ...

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        """Each fuel the lake holds (FUELS order) and its first and last collection day."""
        ...

    def old_layout(self) -> int | None:
        """The lake's layout when it is older than today's (not yet migrated), else None."""
        ...


UFS = tuple(sorted(STATES))
_check_state = one_of("state", UFS)


def _check_any_state(value: str | None) -> str | None:
    return None if value is None else _check_state(value)


# Codes are case-insensitive here as in the rest of the API (and the CLI): an unknown one is a
# 422 naming the parameter and its values, never an empty answer.
FuelQ = Annotated[
    str,
    AfterValidator(one_of("fuel", FUELS)),
    Query(description=f"fuel: {', '.join(FUELS)}; case-insensitive"),
]
StartQ = Annotated[
    DateParam,
    Query(
        description="first collection day, YYYY-MM-DD (default: the Sunday opening the last "
        "four survey weeks up to the end, not before the lake's first day)"
    ),
]
EndQ = Annotated[
    DateParam,
    Query(description="last collection day, YYYY-MM-DD (default: the lake's last day)"),
]
_STATE_HELP = f"UF, one of {', '.join(UFS)}; case-insensitive"
StateQ = Annotated[str | None, AfterValidator(_check_any_state), Query(description=_STATE_HELP)]


def _trimmed(what: str) -> Callable[[str], str]:
    """A validator of free text: the text without its outer spaces, at least 2 characters of
    it. ``"  "`` passed the length check: as a search it looked for ``""``, which every
    station's name contains; as a municipality it asked for a town of that name, a 200 of no
    row (and ``" sao paulo "`` found none where ``"sao paulo"`` found the town)."""

    def check(value: str) -> str:
        text = value.strip()
        if len(text) < 2:
            raise ValueError(f"{what} {value!r} has fewer than 2 characters besides spaces")
        return text

    return check


TextQ = Annotated[
    str,
    AfterValidator(_trimmed("search text")),
    Query(min_length=2, max_length=60, description="name, CNPJ or town"),
]
MunicipalityQ = Annotated[
    str,
    AfterValidator(_trimmed("municipality")),
    Query(
        min_length=2,
        max_length=80,
        description="as ANP writes it; case, accents and outer spaces aside",
    ),
]


class OldLayout(BaseModel):
    """A lake of an older layout, not yet migrated: its figures may count one station twice."""

    layout: int = Field(description="the lake's layout")
    current: int = Field(description="today's layout")
    detail: str = Field(description="what it means, and `fuelpipe stations migrate` to fix it")


class StationFuel(BaseModel):
    """A fuel the lake holds: its first and last collection day and its last survey week."""

    fuel: str = Field(description="the fuel's code, as the station views take it")
    unit: str = Field(description="its price unit")
    first_day: date = Field(description="its first collection day in the lake")
    last_day: date = Field(description="its last collection day in the lake")
    last_week: date = Field(
        description="the Sunday of its last survey week: a view of this fuel without start "
        "or end answers the four survey weeks up to `last_day`"
    )


class StationsMetaView(BaseModel):
    """The lake's first and last collection day, the fuels it holds, and an older layout if
    any."""

    available: bool = Field(description="whether the lake has any collection day")
    first: date | None
    last: date | None
    fuels: list[StationFuel] = Field(
        description="the fuels the lake holds (the station views take any of "
        f"{', '.join(FUELS)}; another answers no row), each with its own days"
    )
    old_layout: OldLayout | None

    def table(self) -> Table:
        """A row per fuel (``fuels``), then the view's own fields on every row."""
        return list_table(self, "fuels")


class StationsView(BaseModel):
    """A named query's answer over whole survey weeks: its ``columns`` and ``rows``."""

    query: str = Field(description="the lake's named query")
    fuel: str | None = Field(description="the fuel asked for; null in a search (every fuel)")
    unit: str | None = Field(
        description="the fuel's price unit; null in a search (a `unit` column instead)"
    )
    start: date = Field(description="the first day asked for (or the default span's)")
    end: date = Field(description="the last day asked for (or the default span's)")
    covered_start: date = Field(description="the first day of the survey weeks answered")
    covered_end: date = Field(description="the last day of the survey weeks answered")
    columns: list[str] = Field(description="the query's columns: the CSV's first ones")
    rows: list[list[Any]] = Field(description="a list of cells per row, as `columns`")
    old_layout: OldLayout | None


class StationSearchView(StationsView):
    """A station search's answer: at most the first ``limit`` stations."""

    truncated: bool = Field(description="whether there were more stations than `limit`")
    limit: int = Field(description="the most stations a search answers")


_ANSWER_HELP = (
    "JSON (`unit`: the fuel's price unit, BRL/l, BRL/13kg or BRL/m3; a search has a `unit` "
    "column instead), or CSV with `format=csv`: a row per row of the JSON (each price "
    "column's name ends in its unit: `median (BRL/13kg)`), then every other field of the JSON "
    "on every row (`old_layout` as `old_layout_layout`, `old_layout_current`, "
    "`old_layout_detail`; a search's `unit` is its rows'); an answer of no row is one row of "
    "those fields. A lake of an older layout, not yet migrated (its figures may count one "
    "station twice), is named in every answer: header `X-Lake-Old-Layout` (its layout) and "
    "`old_layout` = `{layout, current, detail}`, null in a lake of today's layout"
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no station lake here (how to get one in `detail`)"},
    422: {"description": "invalid parameters, with a message"},
    502: {"description": "the lake's query engine (Athena) failed: which query and why"},
}


def _responses(model: type[BaseModel], text: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": model, "content": {"text/csv": {}}, "description": text},
        **_ERRORS,
    }


META_RESPONSES = _responses(
    StationsMetaView,
    "JSON, or CSV with `format=csv`: a row per fuel the lake holds (`fuels`: `fuel`, `unit`, "
    "`first_day`, `last_day`, `last_week`), then `available`, `first`, "
    "`last` and `old_layout` (as `old_layout_layout`, `old_layout_current`, "
    "`old_layout_detail`) on every row (a lake of no fuel: one row of those); header "
    "`X-Lake-Old-Layout` in a lake of an older layout",
)
RESPONSES = _responses(StationsView, _ANSWER_HELP)
SEARCH_RESPONSES = _responses(StationSearchView, _ANSWER_HELP)


# The columns the named queries return in the fuel's unit (BRL per litre, per 13 kg of LPG, per
# m³ of CNG): a one-fuel answer names the unit in "unit", and its CSV header in these columns'
# names ("median (BRL/13kg)"). A search mixes fuels: each row has its own "unit" column.
PRICE_COLUMNS = frozenset(
    [
        "mean",
        "median",
        "p10",
        "p90",
        "min_price",
        "max_price",
        "p90_p10",
        "sd",
        "mean_price",
        "premium",
        "price",
    ]
)


def priced_header(columns: list[str], unit: str) -> list[str]:
    """The CSV header: each price column with its unit in brackets."""
    return [f"{c} ({unit})" if c in PRICE_COLUMNS else c for c in columns]


def _cell(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return figure(value)


def _csv(
    head: list[str], rows: list[list[Cell]], filename: str, truncated: bool | None
) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    writer.writerows([csv_text(c) if isinstance(c, float) else c for c in row] for row in rows)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if truncated is not None:
        headers["X-Truncated"] = str(truncated).lower()
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _answer_table(view: StationsView, head: list[str]) -> Table:
    """A query's answer as its CSV: its ``rows`` under ``head`` (its ``columns``, priced),
    then the view's own fields on every row (:func:`own_fields`; a search's ``unit`` is its
    rows' own column); an answer of no row is one row of those fields, its columns empty."""
    own_head, own = own_fields(view)
    kept = [i for i, name in enumerate(own_head) if name not in view.columns]
    cells = [own[i] for i in kept]
    rows = view.rows or [[None] * len(view.columns)]
    return [*head, *(own_head[i] for i in kept)], [[*r, *cells] for r in rows]


class _EngineErrors(APIRoute):
    """A route whose lake engine failure (an Athena query FAILED, refused or timed out) is a
    502 naming the query and the state or error code (the full reason is logged), not a 500
    with a stack."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handle(request)
            except LakeQueryFailed as exc:
                # The page is public: the service's words (account, role, bucket) go to the log.
                _log.warning("station query failed: %s", exc)
                return JSONResponse(
                    {"detail": f"the station query failed: {exc.public}"}, status_code=502
                )

        return guarded


OLD_LAYOUT_HEADER = "X-Lake-Old-Layout"


def _old_layout(lake: StationQueries) -> OldLayout | None:
    """What an answer says of a lake of an older layout (its partitions not yet migrated, so a
    station may count twice): the layout and the sentence the CLI warns with; None otherwise."""
    layout = lake.old_layout()
    if layout is None:
        return None
    from fuelpipe.adapters.lake.storage import LAKE_LAYOUT, old_layout_notice

    return OldLayout(layout=layout, current=LAKE_LAYOUT, detail=old_layout_notice(layout))


def _flagged(response: Response, old: OldLayout | None) -> Response:
    if old is not None:
        response.headers[OLD_LAYOUT_HEADER] = str(old.layout)
    return response


def _json(view: BaseModel) -> JSONResponse:
    return JSONResponse(view.model_dump(mode="json"))


def _meta(lake: StationQueries, fmt: str) -> Response:
    """``/api/stations/meta``'s answer: the lake's first and last day, its fuels (each with
    its own days) and layout."""
    windows = lake.fuel_windows()
    window = lake_window(windows)
    old = _old_layout(lake)
    view = StationsMetaView(
        available=window is not None,
        first=window[0] if window else None,
        last=window[1] if window else None,
        fuels=[
            StationFuel(
                fuel=fuel,
                unit=FUEL_UNITS[fuel],
                first_day=first,
                last_day=last,
                last_week=week_start(last),
            )
            for fuel, (first, last) in windows.items()
        ],
        old_layout=old,
    )
    if fmt == "csv":
        # an empty lake (no fuel): one row of the view's own fields, as a view of no row
        return _flagged(_csv(*csv_table(view, None), "stations-meta.csv", None), old)
    return _flagged(_json(view), old)


def _days_asked(
    window: tuple[date, date], start: date | None, end: date | None, fuel: str | None = None
) -> tuple[date, date]:
    """The days a request asks for in a lake holding ``window`` (:func:`span_asked`): the
    lake's, or with ``fuel`` that fuel's own; or a 422 (the page translates these messages:
    stations.js API_ERRORS). Without an end the last day is the lake's (the fuel's), and a
    refusal names it so (as the CLI's ``--since`` does), not as an end never given."""
    first, last = span_asked(window, start, end)
    of = f"{fuel} " if fuel else ""
    until = (
        f"end {last}"
        if end is not None
        else f"the lake's last {of}collection day {last}, where an answer without end ends"
    )
    if first > last:  # only a start given can be: without one it is at most the last day
        held = "" if end else f": the lake holds {of}collection days {window[0]} to {window[1]}"
        raise InvalidRequestError(f"start {first} is after {until}{held}", params=("start", "end"))
    if (last - first).days > MAX_SPAN_DAYS:
        raise InvalidRequestError(
            f"start {first} is more than {MAX_SPAN_DAYS} days before {until}",
            params=("start", "end"),
        )
    return first, last


def build_router(lake: StationQueries | None, *, no_lake: str | None = None) -> APIRouter:
    """The station page and API around ``lake``; ``no_lake``: what a 404 without a lake
    advises (None: :func:`no_lake_advice` by whether the ``lake`` extra is installed)."""
    router = APIRouter(route_class=_EngineErrors)  # the page; its API below, included last
    api = APIRouter(route_class=_EngineErrors, dependencies=[KNOWN_PARAMS_ONLY])
    missing = no_lake or no_lake_advice(lake_extra_installed())

    def unavailable(detail: str = missing) -> Response:
        return JSONResponse({"detail": detail, "errors": []}, status_code=404)

    def span(fuel: str | None, start: date | None, end: date | None) -> tuple[date, date] | None:
        """The days asked for: by default the four survey weeks up to ``fuel``'s last collection day
        (the lake's for a search, or a fuel it lacks); None in an empty lake."""
        assert lake is not None
        windows = lake.fuel_windows()
        if fuel in windows:
            return _days_asked(windows[fuel], start, end, fuel)
        window = lake_window(windows)
        return None if window is None else _days_asked(window, start, end)

    def answer(
        name: str,
        fuel: str,
        start: date | None,
        end: date | None,
        fmt: str,
        *,
        state: str | None = None,
        municipality: str | None = None,
        text: str = "",
        keep: Any = None,
        per_fuel: bool = True,
        choices: Sequence[str | None] = (),
    ) -> Response:
        if lake is None:
            return unavailable()
        days = span(fuel if per_fuel else None, start, end)
        if days is None:  # a lake, so the extra is there: it holds no collection day yet
            return unavailable(EMPTY_LAKE)
        result = lake.query(name, query_params(fuel, *days, state, municipality, text))
        old = _old_layout(lake)
        rows = [[_cell(v) for v in r] for r in result.rows]
        if keep is not None:
            rows = [r for r in rows if keep(dict(zip(result.columns, r, strict=True)))]
        fields: dict[str, Any] = {
            "query": name,
            "fuel": fuel if per_fuel else None,
            "unit": FUEL_UNITS[fuel] if per_fuel else None,
            **span_answered(*days),  # the days asked for (or the default span), weeks answered
            "columns": list(result.columns),
            "old_layout": old,
        }
        view: StationsView
        truncated = None
        if name == "station_search":
            rows, truncated = first_stations(result.columns, rows, SEARCH_STATIONS)
            view = StationSearchView(
                **fields, rows=rows, truncated=truncated, limit=SEARCH_STATIONS
            )
        else:
            view = StationsView(**fields, rows=rows)
        if fmt == "csv":
            cut = f"first-{SEARCH_STATIONS}-stations" if truncated else None
            # named by the whole survey weeks the figures cover, not the days asked for
            filename = download_name(
                "stations", name, fuel if per_fuel else None, *choices, *weeks_covered(*days), cut
            )
            head = priced_header(result.columns, FUEL_UNITS[fuel]) if per_fuel else result.columns
            return _flagged(_csv(*_answer_table(view, head), filename, truncated), old)
        return _flagged(_json(view), old)

    @router.get("/stations", include_in_schema=False)
    def page(request: Request) -> Response:
        return serve_asset(request, "stations.html", max_age=0)

    @api.get("/api/stations/meta", tags=["stations"], responses=META_RESPONSES)
    def meta(format: FormatQ = "json") -> Response:
        """The lake's first and last collection day, the fuels, and an older layout if any."""
        return unavailable() if lake is None else _meta(lake, format)

    @api.get("/api/stations/ranking", tags=["stations"], responses=RESPONSES)
    def ranking(
        fuel: FuelQ = "GASOLINE",
        start: StartQ = None,
        end: EndQ = None,
        state: StateQ = None,
        format: FormatQ = "json",
    ) -> Response:
        """Municipalities from cheapest to dearest median: stations, p10, median, p90."""
        return answer(
            "municipality_ranking",
            fuel,
            start,
            end,
            format,
            keep=(lambda r: r["state"] == state) if state else None,
            choices=[state],
        )

    @api.get("/api/stations/municipality", tags=["stations"], responses=RESPONSES)
    def municipality(
        state: Annotated[str, AfterValidator(_check_state), Query(description=_STATE_HELP)],
        municipality: MunicipalityQ,
        fuel: FuelQ = "GASOLINE",
        start: StartQ = None,
        end: EndQ = None,
        format: FormatQ = "json",
    ) -> Response:
        """One municipality's weekly distribution: stations, p10, median, p90."""
        return answer(
            "municipality_weekly",
            fuel,
            start,
            end,
            format,
            state=state,
            municipality=municipality,
            choices=[state, municipality],
        )

    @api.get("/api/stations/brands", tags=["stations"], responses=RESPONSES)
    def brands(
        fuel: FuelQ = "GASOLINE",
        start: StartQ = None,
        end: EndQ = None,
        format: FormatQ = "json",
    ) -> Response:
        """Each flag's premium over unbranded (BRANCA) stations of the same town and week."""
        return answer("brand_premium", fuel, start, end, format)

    @api.get("/api/stations/dispersion", tags=["stations"], responses=RESPONSES)
    def dispersion(
        fuel: FuelQ = "GASOLINE",
        start: StartQ = None,
        end: EndQ = None,
        format: FormatQ = "json",
    ) -> Response:
        """National price dispersion per week: p10, median, p90, spread, coefficient of
        variation."""
        return answer("dispersion", fuel, start, end, format)

    @api.get("/api/stations/search", tags=["stations"], responses=SEARCH_RESPONSES)
    def search(
        q: TextQ,
        start: StartQ = None,
        end: EndQ = None,
        format: FormatQ = "json",
    ) -> Response:
        """Stations whose name, CNPJ or municipality contains ``q``, with their last price of
        every fuel: best match first (CNPJ, whole name, name's start, whole town, then anywhere),
        then by name; at most the first ``limit`` stations, ``truncated`` when there were more
        (the CSV's name then ends in ``-first-<limit>-stations``, header ``X-Truncated``)."""
        return answer(
            "station_search", "GASOLINE", start, end, format, text=q, per_fuel=False, choices=[q]
        )

    router.include_router(api)
    return router
