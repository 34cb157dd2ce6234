"""Every list a view's JSON answers can be downloaded as CSV: its main table, or with
``table=`` one of its others, which every CSV of the view names (``other_tables``)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.responses import Response
from fastapi.testclient import TestClient
from pydantic import BaseModel
from tests.dashboard.conftest import NOW, OUTLOOK_NOW, cell_says, csv_misses, lpg_outlook_store
from tests.support.station_lake import OldLayoutLake, real_sample_lake

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import TABLES_HEADER, answer, create_app
from fuelpipe.dashboard.outlook_views import BehindState, OutlookMapView, StateChange
from fuelpipe.dashboard.schemas import (
    HEALTH_TOTALS,
    list_table,
    table_names,
)
from fuelpipe.dashboard.stations import StationQueries
from fuelpipe.domain.alerts import ActiveAlert, Condition
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.intraday import IntradayPoint
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import AlertDelivery, SinkBacklog
from fuelpipe.ports.store import RunLog
from fuelpipe.stages.set_aside import keep_set_aside

SP = ZoneInfo("America/Sao_Paulo")
TODAY = NOW.astimezone(SP).date()
Q = "%23"


class OneAlert:
    """An alert state holding one active alert (the dashboard only reads it)."""

    def load(self) -> dict[str, ActiveAlert]:
        cond = Condition("stale_source", "bcb", "bcb is late: 1 series still lack 2026-06-30")
        return {cond.id: ActiveAlert(cond, NOW - timedelta(hours=2))}

    def delivery(self) -> AlertDelivery:
        failing = NOW - timedelta(hours=1)
        return AlertDelivery([SinkBacklog("webhook", 1, NOW - timedelta(hours=2), failing)])


Example = tuple[TestClient, str]
STATIONS_NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
"""Just after the bundled station sample's last day (2025-03-24..2025-04-19)."""


@pytest.fixture(scope="module")
def station_examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Example]]:
    """A request of every station view, on a lake of the bundled real station sample (and the
    same lake read as one of an older layout, so its ``old_layout`` has fields)."""
    pytest.importorskip("duckdb")
    tmp = tmp_path_factory.mktemp("csv-stations")
    lake = real_sample_lake(tmp, STATIONS_NOW)
    store = SqliteStore(tmp / "empty.sqlite", clock=FixedClock(STATIONS_NOW))

    def app(stations: StationQueries) -> TestClient:
        clock = FixedClock(STATIONS_NOW)
        return TestClient(create_app(store, DEFAULT_CATALOG, clock=clock, stations=stations))

    with app(lake) as http, app(OldLayoutLake(lake)) as old:
        yield [
            (http, "/api/stations/meta"),
            (old, "/api/stations/meta"),
            (http, "/api/stations/ranking?fuel=LPG&state=BA"),
            (old, "/api/stations/ranking?state=BA"),
            (http, "/api/stations/municipality?state=SP&municipality=SAO%20PAULO"),
            (http, "/api/stations/brands?fuel=ETHANOL"),
            (http, "/api/stations/dispersion"),
            (http, "/api/stations/search?q=posto"),  # cut: truncated, limit
            (old, "/api/stations/search?q=01.492.748"),
        ]
    store.close()
    lake.close()


@pytest.fixture(scope="module")
def examples(
    real_store: SqliteStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Example]]:
    """A request of every view, on stores whose answers have something in every list: the
    real data with an alert and a day's intraday points; a store with a run; an outlook."""
    tmp = tmp_path_factory.mktemp("csv-tables")
    points = SqliteIntradayStore(tmp / "points.sqlite")
    opening = datetime.combine(TODAY, datetime.min.time(), SP) + timedelta(hours=10)
    points.put_points(
        [
            IntradayPoint("CURRENCY#USD", opening, "Abertura", Decimal("5.1")),
            IntradayPoint(
                "CURRENCY#USD", opening + timedelta(hours=3), "Fechamento", Decimal("5.2")
            ),
        ]
    )
    real = create_app(
        real_store, DEFAULT_CATALOG, clock=FixedClock(NOW), alerts=OneAlert(), intraday=points
    )
    runs = SqliteStore(tmp / "runs.sqlite", clock=FixedClock(NOW))
    runs.put_records([Record("CURRENCY#USD", TODAY - timedelta(days=2), Decimal("5"), Status.OK)])
    runs.put_run(RunLog("orchestrate", NOW - timedelta(minutes=5), NOW, {"messages": 3}))
    # A value set aside on a stored date, kept as the scraper keeps it (health's set_aside_values)
    slot = ("CURRENCY#USD", TODAY - timedelta(days=2))
    assert keep_set_aside(runs, {slot: (Decimal("50"), "implausible value 50")}, "revise", NOW) == (
        1,
        0,
    )
    # A date whose retries are spent, waiting for a person (health's quarantined_records)
    quarantined = Record("CURRENCY#USD", TODAY - timedelta(days=1), None, Status.QUARANTINED, 5)
    runs.put_pending(quarantined.with_(reason="HTTP 503 (gave up after 5 re-downloads)"))
    # Brent cut where the older FRED copies end: the outlook's stale_drivers list has an item
    outlook = lpg_outlook_store(tmp / "outlook.sqlite", brent_until=date(2024, 12, 31))
    with (
        TestClient(real) as on_real,
        TestClient(create_app(runs, DEFAULT_CATALOG, clock=FixedClock(NOW))) as on_runs,
        TestClient(create_app(outlook, DEFAULT_CATALOG, clock=FixedClock(OUTLOOK_NOW))) as fc,
    ):
        yield [
            (on_real, "/api/meta"),
            (on_real, "/api/overview"),
            (on_real, f"/api/series?key=FUEL{Q}GASOLINE{Q}BR"),
            (on_real, f"/api/indices?keys=FUEL{Q}GASOLINE{Q}BR,CURRENCY{Q}USD&start=2021-06-01"),
            (on_real, f"/api/correlations?keys=FUEL{Q}DIESEL{Q}BR,CURRENCY{Q}USD,BRENT_BRL"),
            (on_real, "/api/lags?fuel=GASOLINE&start=2021-05-16&end=2022-05-07"),
            # the regression's lags beyond the cross-correlation's were in no CSV
            (on_real, "/api/lags?fuel=GASOLINE&start=2021-05-16&end=2022-05-07&max_lag=1"),
            (on_real, "/api/regional?fuel=GASOLINE"),
            (on_real, "/api/parity"),
            (on_real, "/api/health"),
            (on_runs, "/api/health"),
            (on_real, "/api/live"),
            (on_real, "/api/intraday"),
            (on_real, "/api/intraday?series=STOCK%23PETR4"),
            (fc, "/api/outlook?fuel=LPG&area=BR"),
            (fc, "/api/outlook/map?fuel=LPG"),
        ]
    for closable in (points, runs, outlook):
        closable.close()


def _leaves_given(value: object, row: Mapping[str, str], rows: list[dict[str, str]]) -> bool:
    """Whether ``row`` gives an item's value: a plain value in one of its cells; an object's
    plain fields each in one of its cells, its lists each item in some row of the table
    (an index line's points) or as a cell's JSON text (a problem's keys, a run's counts)."""
    if isinstance(value, list | dict) and any(_is_json(c, value) for c in row.values()):
        return True
    if isinstance(value, dict):
        return all(_leaves_given(v, row, rows) for v in value.values())
    if isinstance(value, list):
        return all(any(_leaves_given(v, r, rows) for r in rows) for v in value)
    return any(_says(c, value) for c in row.values())


def _names(head: list[str]) -> list[str]:
    """A table's header as names: a price column's without its unit (``median (BRL/l)``)."""
    return [re.sub(r" \([^)]*\)$", "", c) for c in head]


def _says(cell: str, value: object) -> bool:
    """:func:`cell_says` of any cell: one that is no number or no time does not say one."""
    try:
        return cell_says(cell, value)
    except ValueError:
        return False


def _is_json(cell: str, value: object) -> bool:
    try:
        return bool(json.loads(cell) == value)
    except ValueError:
        return False


def _lists(body: Mapping[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """A view's lists: its own, and those of its objects (the regression's coefficients); a
    table's ``rows`` beside its ``columns`` (a station answer), each row an object of them."""
    for name, value in body.items():
        if name == "rows" and isinstance(body.get("columns"), list):
            yield name, [dict(zip(body["columns"], r, strict=True)) for r in value]
        elif isinstance(value, list):
            yield name, value
        elif isinstance(value, dict):
            yield from ((f"{name}.{k}", v) for k, v in value.items() if isinstance(v, list))


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def list_gaps(
    body: Mapping[str, Any], tables: Mapping[str, str], filled: dict[str, set[str]], view: str
) -> list[str]:
    """The lists of a view's JSON ``body`` that none of its CSV ``tables`` (by name) gives an
    item of per row, every item, or a list of names as its header's first columns (a station
    answer's ``columns``); records in ``filled`` the lists that had items."""
    parsed = {name: _rows(text) for name, text in tables.items()}
    for name, (head, _) in parsed.items():
        assert len(head) == len(set(head)), (view, name, head)
    gaps = []
    for path, items in _lists(body):
        if items:
            filled.setdefault(view, set()).add(path)
        if not any(
            all(any(_leaves_given(i, r, rows) for r in rows) for i in items)
            or (items and _names(head)[: len(items)] == items)
            for head, rows in parsed.values()
        ):
            gaps.append(f"{view}: {path}")
    return gaps


def _csv_of(client: TestClient, path: str) -> dict[str, str]:
    """Every table of a view's CSV, by name: the main one, then those its header names."""
    glue = "&" if "?" in path else "?"
    main = client.get(f"{path}{glue}format=csv")
    assert main.status_code == 200, (path, main.text)
    names = [n for n in main.headers.get(TABLES_HEADER, "").split(", ") if n]
    tables = {names[0] if names else "": main.text}
    for name in names[1:]:
        r = client.get(f"{path}{glue}format=csv&table={name}")
        assert r.status_code == 200, (path, name, r.text)
        tables[name] = r.text
    return tables


def _body(download: object) -> str:
    assert isinstance(download, Response)
    return bytes(download.body).decode()


def _answered_lists(spec: Mapping[str, Any], path: str) -> set[str]:
    """The list fields (a list or null too) of a route's JSON answer, by its API reference."""
    ref = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    schema = spec["components"]["schemas"][ref["schema"]["$ref"].rpartition("/")[2]]
    return {
        name
        for name, field in schema["properties"].items()
        if "array" in [field.get("type"), *(a.get("type") for a in field.get("anyOf", []))]
    }


def test_every_list_of_every_view_downloads_as_csv(
    examples: list[Example], station_examples: list[Example]
) -> None:
    """Every list a view's JSON gives (outlook accuracy and history, health problems, alerts,
    runs and freshness, meta's products, areas and drivers, the regression's coefficients,
    the station lake's fuels...) is in one of its CSVs, every item a row (a station answer's
    ``rows`` each a row, its ``columns`` the header); each table besides the main one gives
    every field of the view beside its lists, as the main ones do."""
    client = examples[0][0]
    spec = client.get("/openapi.json").json()
    with_csv = {
        p
        for p, op in spec["paths"].items()
        if "text/csv" in op["get"]["responses"]["200"].get("content", {})
    }
    asked = [*examples, *station_examples]
    assert with_csv - {p.partition("?")[0] for _, p in asked} == set()
    gaps: list[str] = []
    filled: dict[str, set[str]] = {}
    for http, path in asked:
        view = path.partition("?")[0]
        body = http.get(path).json()
        tables = _csv_of(http, path)
        gaps += list_gaps(body, tables, filled, view)
        for name, text in list(tables.items())[1:]:
            if _rows(text)[1]:  # a null list (health's alerts unreadable) is a list too
                assert csv_misses(body, text, _answered_lists(spec, view)) == [], (path, name)
    # A map's states out of date are listed apart (no example store has one behind)
    behind = OutlookMapView(
        fuel="LPG",
        horizon=2,
        states=[
            StateChange(area="SP", name="São Paulo", last_week=date(2025, 6, 1), last_price=100.0,
                        week=date(2025, 6, 15), point=101.0, change=0.01)
        ],
        behind=[BehindState(area="RJ", name="Rio de Janeiro", last_week=date(2025, 5, 25),
                            newest_week=date(2025, 6, 1))],
    )  # fmt: skip
    body = behind.model_dump(mode="json")
    tables = {
        n: _body(answer(behind, "csv", "outlook-map", n)) for n in table_names(OutlookMapView)
    }
    gaps += list_gaps(body, tables, filled, "/api/outlook/map")
    assert gaps == []
    never = {
        (view, name)
        for view in with_csv
        for name in _answered_lists(spec, view)
        if name not in filled.get(view, set())
    }
    assert never == set(), "lists no example fills: the check above passed them unseen"


def test_a_table_is_asked_by_name_with_format_csv(examples: list[Example]) -> None:
    """``table=`` names one of the view's tables, with ``format=csv`` only (the JSON has every
    list); a view of one table does not take it (the 422 of a parameter a route does not
    take); each CSV names the others on every row, and all in its header."""
    client = examples[0][0]
    r = client.get("/api/health?format=csv&table=alerts")
    assert (
        r.status_code == 200 and 'filename="health-alerts.csv"' in r.headers["content-disposition"]
    )
    assert r.headers[TABLES_HEADER] == (
        "series, problems, alerts, alert_delivery, freshness, last_runs, set_aside_values, "
        "quarantined_records, quarantined_series"
    )
    (alert,) = csv.DictReader(io.StringIO(r.text))
    assert (alert["rule"], alert["subject"]) == ("stale_source", "bcb")
    assert alert["other_tables"] == (
        "series problems alert_delivery freshness last_runs set_aside_values quarantined_records "
        "quarantined_series"
    )
    main = list(csv.DictReader(io.StringIO(client.get("/api/health?format=csv").text)))
    assert {r["other_tables"] for r in main} == {
        "problems alerts alert_delivery freshness last_runs set_aside_values quarantined_records "
        "quarantined_series"
    }
    assert "other_tables" not in client.get("/api/parity?format=csv").text.partition("\n")[0]
    bad = client.get("/api/health?format=csv&table=runs")
    assert bad.status_code == 422
    assert bad.json()["detail"] == (
        "table: 'runs' is not a table of this view; one of series, problems, alerts, "
        "alert_delivery, freshness, last_runs, set_aside_values, quarantined_records, "
        "quarantined_series"
    )
    json_too = client.get("/api/health?table=alerts")
    assert json_too.status_code == 422 and "is for format=csv" in json_too.json()["detail"]
    single = client.get("/api/parity?format=csv&table=areas")
    assert single.status_code == 422
    assert single.json()["detail"].startswith("table: unknown parameter: /api/parity takes ")


def test_health_s_default_csv_gives_the_view_s_totals(tmp_path: Path) -> None:
    """The series table gave each series' own counts under the totals' names but not the
    view's totals (its JSON's ``pending``, ``quarantined``...): a download of it said nothing
    of a PENDING or QUARANTINED record outside the rows. They are ``total_*`` on every row."""
    store = SqliteStore(tmp_path / "h.sqlite", clock=FixedClock(NOW))
    day = TODAY - timedelta(days=3)
    store.put_records([Record("CURRENCY#USD", day, Decimal("5"), Status.OK)])
    for key, when in (("CURRENCY#USD", day - timedelta(days=1)), ("STOCK#PETR4", day)):
        store.put_pending(Record(key, when, None, Status.PENDING, reason="timeout"))
    store.put_pending(Record("STOCK#XOM", day, None, Status.PENDING, reason="502"))
    assert store.quarantine("STOCK#XOM", day, 0, "no value after 10 retries")
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as http:
        body = http.get("/api/health").json()
        rows = list(csv.DictReader(io.StringIO(http.get("/api/health?format=csv").text)))
    store.close()
    assert (body["pending"], body["quarantined"]) == (2, 1)
    assert rows and [r["key"] for r in rows] == [s["key"] for s in body["series"]]
    for name in HEALTH_TOTALS:
        assert {r[f"total_{name}"] for r in rows} == {str(body[name])}, name
    for row, series in zip(rows, body["series"], strict=True):  # each series' own, as before
        assert (row["pending"], row["quarantined"]) == (
            str(series["pending"]),
            str(series["quarantined"]),
        )


class _Run(BaseModel):
    """A list's item whose fields are JSON-text cells holding floats."""

    counts: dict[str, float]
    shares: list[float]


class _RunsView(BaseModel):
    """A view of one table, a row per run, with an object of floats of its own."""

    runs: list[_Run]
    weights: dict[str, float]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return list_table(self, "runs")


def test_floats_in_a_json_text_cell_are_rounded_as_every_csv_number() -> None:
    """A CSV cell that is JSON text (a list's item's object or list, as a run's ``counts``; a
    view's own object) gives its floats to DECIMALS places as every other CSV number is
    (``csv_cell``: 0.164767266236443 is 0.164767, a tiny negative 0.0), its ints and texts as
    the JSON does. (No view of today holds a float in one, ``counts`` being ``dict[str,
    int]``: the rule is the writer's, so a view adding one needs no rounding of its own.)"""
    view = _RunsView(
        runs=[_Run(counts={"a": 0.164767266236443, "b": -1e-9}, shares=[2.0700000000000003])],
        weights={"w": 457.30760699999996},
    )
    reply = answer(view, "csv", "runs")
    assert isinstance(reply, Response)
    (row,) = csv.DictReader(io.StringIO(bytes(reply.body).decode()))
    assert json.loads(row["counts"]) == {"a": 0.164767, "b": 0.0}
    assert row["counts"] == '{"a": 0.164767, "b": 0.0}'  # not -0.0
    assert json.loads(row["shares"]) == [2.07]
    assert json.loads(row["weights"]) == {"w": 457.307607}


def test_a_view_of_no_row_downloads_its_own_fields_in_one_row(tmp_path: Path) -> None:
    """A main table with no row (a store holding one USD value: no pump price, so no points,
    regions, parity or forecast) is one row of the view's own fields, its row columns empty,
    as the station views and the indices give it: a header alone dropped what the JSON says
    (the outlook's ``available: false`` and its reason, a series' label and unit)."""
    store = SqliteStore(tmp_path / "one.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", TODAY - timedelta(days=2), Decimal("5"), Status.OK)])
    paths = [
        f"/api/series?key=FUEL{Q}GASOLINE{Q}BR",
        "/api/regional?fuel=GASOLINE",
        "/api/parity",
        "/api/outlook?fuel=LPG&area=SP",
        "/api/outlook/map?fuel=LPG",
    ]
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as http:
        for path in paths:
            body = http.get(path).json()
            assert not any(v for _, v in _lists(body)), path  # the JSON has no item
            text = http.get(path + ("&" if "?" in path else "?") + "format=csv").text
            head, rows = _rows(text)
            assert len(rows) == 1, (path, text)
            assert csv_misses(body, text) == [], (path, text)
    store.close()


def test_every_csv_is_utf8_without_a_byte_order_mark(
    examples: list[Example], station_examples: list[Example]
) -> None:
    """The CSVs stay UTF-8 with no BOM (docs/DASHBOARD.md says why: a BOM opens the file in
    Excel, and breaks every script that reads the text as UTF-8), and the API reference's
    ``format`` says so: each download's first bytes are its header's first column, its
    accented names (São Paulo) UTF-8."""
    accented = 0
    for client, path in [*examples, *station_examples]:
        glue = "&" if "?" in path else "?"
        main = client.get(f"{path}{glue}format=csv")
        names = [n for n in main.headers.get(TABLES_HEADER, "").split(", ") if n]
        for resp in [main, *(client.get(f"{path}{glue}format=csv&table={n}") for n in names[1:])]:
            assert resp.headers["content-type"] == "text/csv; charset=utf-8", path
            assert not resp.content.startswith(codecs.BOM_UTF8), path
            # read as plain UTF-8 (no utf-8-sig), the first column is named as the JSON's field
            head = next(csv.reader(io.StringIO(resp.content.decode("utf-8"))))
            assert re.fullmatch(r"[a-z][a-z0-9_]*( \([A-Za-z0-9/]+\))?", head[0]), (path, head)
            accented += "São Paulo" in resp.content.decode("utf-8")
    assert accented  # a state's or a town's name among them
    spec = examples[0][0].get("/openapi.json").json()
    formats = {
        p["description"]
        for op in spec["paths"].values()
        for p in op["get"].get("parameters", [])
        if p["name"] == "format"
    }
    assert len(formats) == 1 and "UTF-8 without a byte-order mark" in formats.pop(), formats
