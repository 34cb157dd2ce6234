"""The station views' API on a lake of the real ANP sample: a search says when it was cut and
names its CSV without a fuel; a brand's premium in BRL and in percent share their sign; fuels and
states are case-insensitive, and an unknown one is a 422 naming the parameter and its values."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import csv_misses
from tests.support.station_lake import (
    OldLayoutLake,
    fuels_apart_lake,
    lpg_earlier_weeks_lake,
    real_sample_lake,
)

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.stations import StationQueries, no_lake_advice
from fuelpipe.domain.catalog import DEFAULT_CATALOG, STATES
from fuelpipe.domain.stations import FUELS, SEARCH_STATIONS, first_stations
from fuelpipe.install_hint import install_hint

pytest.importorskip("duckdb")

NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
SPAN = "2025-03-23-2025-04-19"  # the default 2025-03-24..04-19, as whole survey weeks


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    """The dashboard with a station lake holding the real gasoline/ethanol and LPG files
    (``today``), and with the same lake read as one of an older layout (``old``)."""
    tmp = tmp_path_factory.mktemp("stations-api")
    lake = real_sample_lake(tmp, NOW)
    store = SqliteStore(tmp / "empty.sqlite", clock=FixedClock(NOW))

    def app(stations: StationQueries) -> TestClient:
        clock = FixedClock(NOW)
        return TestClient(
            create_app(store, DEFAULT_CATALOG, clock=clock, cache_ttl_s=0, stations=stations)
        )

    with app(lake) as today, app(OldLayoutLake(lake)) as old:
        yield {"today": today, "old": old}
    store.close()
    lake.close()


@pytest.fixture(scope="module")
def client(clients: dict[str, TestClient]) -> TestClient:
    """The dashboard with a station lake holding the real gasoline/ethanol and LPG files."""
    return clients["today"]


def test_first_stations_keeps_whole_stations_and_says_when_there_were_more() -> None:
    cols = ["cnpj", "product"]
    rows = [["a", "G"], ["a", "E"], ["b", "G"], ["c", "G"], ["c", "E"]]
    assert first_stations(cols, rows, 3) == (rows, False)
    assert first_stations(cols, rows, 2) == (rows[:3], True)
    assert first_stations(cols, [], 2) == ([], False)


def test_a_cut_search_says_so_and_keeps_whole_stations(client: TestClient) -> None:
    body = client.get("/api/stations/search", params={"q": "posto"}).json()
    assert body["truncated"] is True
    assert body["limit"] == SEARCH_STATIONS
    assert body["fuel"] is None  # a search covers every fuel
    cnpj = body["columns"].index("cnpj")
    state = body["columns"].index("state")
    assert len({r[cnpj] for r in body["rows"]}) == SEARCH_STATIONS
    # best matches by name, not the alphabet's first states (it was AC, AL, AM, AP, BA only)
    assert {"SP", "RJ", "MG"} <= {r[state] for r in body["rows"]}
    assert "LPG" in {r[body["columns"].index("product")] for r in body["rows"]}

    resp = client.get("/api/stations/search", params={"q": "posto", "format": "csv"})
    assert resp.headers["x-truncated"] == "true"
    disposition = resp.headers["content-disposition"]
    assert (
        f'filename="stations-station_search-posto-{SPAN}-first-{SEARCH_STATIONS}-stations.csv"'
        in (disposition)
    )
    assert "GASOLINE" not in disposition
    parsed = list(csv.reader(io.StringIO(resp.text)))
    assert parsed[0][: len(body["columns"])] == body["columns"]  # then the answer's own fields
    assert len(parsed) - 1 == len(body["rows"])
    assert len({r[0] for r in parsed[1:]}) == SEARCH_STATIONS


def test_a_whole_search_says_so_and_its_csv_names_no_fuel(client: TestClient) -> None:
    body = client.get("/api/stations/search", params={"q": "01.492.748"}).json()
    assert body["truncated"] is False
    assert {r[0] for r in body["rows"]} == {r[0] for r in body["rows"][:1]}
    products = {r[body["columns"].index("product")] for r in body["rows"]}
    assert len(products) > 1  # every fuel the station sells, not only gasoline
    resp = client.get("/api/stations/search", params={"q": "01.492.748", "format": "csv"})
    assert resp.headers["x-truncated"] == "false"
    assert resp.headers["content-disposition"] == (
        f'attachment; filename="stations-station_search-01.492.748-{SPAN}.csv"'
    )
    # the other views still name their fuel
    brands = client.get("/api/stations/brands", params={"fuel": "ETHANOL", "format": "csv"})
    assert f"stations-brand_premium-ETHANOL-{SPAN}.csv" in brands.headers["content-disposition"]
    assert "x-truncated" not in brands.headers


def test_a_span_of_days_is_labelled_with_the_whole_weeks_it_covers(client: TestClient) -> None:
    """Two days of the real sample are answered over their whole survey week (2025-03-30..
    04-05): the figures, the JSON's covered span, the CSV's name and the page's summary say
    that week; the days asked for stay in start and end."""
    asked = {"state": "BA", "start": "2025-04-01", "end": "2025-04-02"}
    body = client.get("/api/stations/ranking", params=asked).json()
    assert (body["start"], body["end"]) == ("2025-04-01", "2025-04-02")
    assert (body["covered_start"], body["covered_end"]) == ("2025-03-30", "2025-04-05")
    rows = [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]
    feira = next(r for r in rows if r["municipality"] == "FEIRA DE SANTANA")
    assert feira["observations"] == 15  # the week's prices (4 of them fall on 04-01..04-02)
    resp = client.get("/api/stations/ranking", params={**asked, "format": "csv"})
    assert (
        "stations-municipality_ranking-GASOLINE-BA-2025-03-30-2025-04-05.csv"
        in (resp.headers["content-disposition"])
    )


MID_WEEK = {"start": "2025-04-02", "end": "2025-04-09"}  # a Wednesday to the next one
VIEWS = {
    "ranking": ("municipality_ranking", {"state": "BA"}),
    "municipality": ("municipality_weekly", {"state": "SP", "municipality": "sao paulo"}),
    "brands": ("brand_premium", {}),
    "dispersion": ("dispersion", {}),
    "search": ("station_search", {"q": "01.492.748"}),
}


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_says_the_week_its_first_row_covers_for_a_from_inside_a_week(
    client: TestClient, view: str
) -> None:
    """A From inside a survey week is answered from that week's Sunday (before From) in every
    station view, and each says so: ``covered_start`` beside ``start`` in the JSON and on
    every CSV row, and the file's name; a weekly row is of a week from it, a search's price
    collected from it on (the ranking above pins that the figures are the whole week's)."""
    name, params = VIEWS[view]
    asked = {**params, **MID_WEEK}
    body = client.get(f"/api/stations/{view}", params=asked).json()
    assert body["rows"], body
    assert (body["start"], body["end"]) == ("2025-04-02", "2025-04-09")
    assert (body["covered_start"], body["covered_end"]) == ("2025-03-30", "2025-04-12")
    rows = [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]
    if "week" in body["columns"]:
        assert rows[0]["week"] == "2025-03-30"
    for row in rows:
        assert "2025-03-30" <= row.get("week", row.get("collected", "2025-03-30")) <= "2025-04-12"
    resp = client.get(f"/api/stations/{view}", params={**asked, "format": "csv"})
    assert "-2025-03-30-2025-04-12" in resp.headers["content-disposition"], name
    parsed = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(parsed) == len(rows)
    assert {(r["start"], r["covered_start"], r["covered_end"]) for r in parsed} == {
        ("2025-04-02", "2025-03-30", "2025-04-12")
    }


def test_brand_premium_and_its_percent_have_one_sign(client: TestClient) -> None:
    body = client.get("/api/stations/brands").json()
    rows = [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]
    assert len(rows) > 10
    for row in rows:
        assert (row["premium"] < 0) == (row["premium_pct"] < 0), row
    atem = next(r for r in rows if r["brand"] == "ATEM' S")
    assert atem["premium"] < 0 and atem["premium_pct"] < 0


def test_start_after_end_is_a_422_with_a_message(client: TestClient) -> None:
    resp = client.get("/api/stations/brands", params={"start": "2025-04-01", "end": "2025-03-01"})
    assert resp.status_code == 422
    assert resp.json()["detail"] == "start 2025-04-01 is after end 2025-03-01"


def test_a_start_alone_after_the_lake_names_the_lakes_last_day_not_an_end(
    client: TestClient,
) -> None:
    """Without an end the answer ends on the lake's last day: a start after it was refused
    as "start 2025-05-01 is after end 2025-04-19", an end never given; it is named now as
    the CLI names it."""
    resp = client.get("/api/stations/brands", params={"start": "2025-05-01"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"] == (
        "start 2025-05-01 is after the lake's last GASOLINE collection day 2025-04-19, where an "
        "answer without end ends: the lake holds GASOLINE collection days 2025-03-24 to "
        "2025-04-19"
    )


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        # no end: the lake's last day, named as such (not as an end never given)
        (
            {"start": "2020-01-01"},
            "start 2020-01-01 is more than 370 days before the lake's last GASOLINE collection "
            "day 2025-04-19, where an answer without end ends",
        ),
        (
            {"start": "2024-01-01", "end": "2025-01-06"},
            "start 2024-01-01 is more than 370 days before end 2025-01-06",
        ),
    ],
)
def test_a_span_too_long_is_a_422_naming_its_start_and_end(
    client: TestClient, params: dict[str, str], detail: str
) -> None:
    """It was "at most 370 days at once", naming neither day: with a start alone, not even
    the end it was counted to."""
    resp = client.get("/api/stations/dispersion", params=params)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"] == detail
    at_most = {"start": "2024-01-01", "end": "2025-01-05"}  # 370 days on: still answered
    assert client.get("/api/stations/dispersion", params=at_most).status_code == 200


STATION_VIEWS = (
    ("/api/stations/ranking", {}),
    ("/api/stations/municipality", {"state": "SP", "municipality": "SAO PAULO"}),
    ("/api/stations/brands", {}),
    ("/api/stations/dispersion", {}),
)


@pytest.mark.parametrize(
    ("path", "params"), [*STATION_VIEWS, ("/api/stations/search", {"q": "posto"})]
)
def test_an_end_alone_before_the_lake_is_the_four_weeks_up_to_it(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    """Without a start a span is the four survey weeks up to the end, from the lake's first day
    at the earliest; an end before that day (2025-03-24 here) was a 422 blaming that start, which was
    never asked for ("start 2025-03-24 is after end 2020-01-01"), where the same span given
    whole is answered: the four survey weeks up to the end (a Wednesday: from Sunday
    2019-12-08), in which the lake has no row."""
    alone = client.get(path, params={**params, "end": "2020-01-01"})
    assert alone.status_code == 200, alone.text
    body = alone.json()
    assert (body["start"], body["end"], body["rows"]) == ("2019-12-08", "2020-01-01", [])
    whole = client.get(path, params={**params, "start": "2019-12-08", "end": "2020-01-01"})
    assert whole.json() == body
    # an end inside the lake still starts no earlier than the lake's first day
    inside = client.get(path, params={**params, "end": "2025-04-01"}).json()
    assert (inside["start"], inside["end"]) == ("2025-03-24", "2025-04-01")
    assert inside["rows"]


@pytest.mark.parametrize(
    ("path", "params"),
    [*STATION_VIEWS, ("/api/stations/search", {"q": "posto"}), ("/api/stations/meta", {})],
)
def test_format_is_case_insensitive_on_a_real_lake(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    """``format=CSV`` was a 422 ("Input should be 'json' or 'csv'") where fuels and states
    took any case; an unknown format is still a 422 naming it and the formats."""
    csv_text = client.get(path, params={**params, "format": "csv"})
    assert csv_text.headers["content-type"].startswith("text/csv")
    for given in ("CSV", "Csv", " csv "):
        other = client.get(path, params={**params, "format": given})
        assert (other.status_code, other.text) == (200, csv_text.text), given
    assert client.get(path, params={**params, "format": "JSON"}).json() == (
        client.get(path, params=params).json()
    )
    bad = client.get(path, params={**params, "format": "xlsx"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "format: 'xlsx' is not one of json, csv"


@pytest.mark.parametrize(("path", "params"), STATION_VIEWS)
def test_fuels_are_case_insensitive_as_the_api_says(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    upper = client.get(path, params={**params, "fuel": "ETHANOL"})
    assert upper.status_code == 200 and upper.json()["rows"]
    for spelled in ("ethanol", "Ethanol", " ethanol "):
        lower = client.get(path, params={**params, "fuel": spelled})
        assert lower.status_code == 200, lower.text
        assert lower.json() == upper.json()
    csv_name = client.get(path, params={**params, "fuel": "ethanol", "format": "csv"})
    assert "-ETHANOL-" in csv_name.headers["content-disposition"]


def test_states_are_case_insensitive_too(client: TestClient) -> None:
    upper = client.get("/api/stations/ranking", params={"state": "SP"}).json()
    assert upper["rows"] and {r[0] for r in upper["rows"]} == {"SP"}
    assert client.get("/api/stations/ranking", params={"state": "sp"}).json() == upper


@pytest.mark.parametrize(
    ("path", "params", "name", "allowed"),
    [
        ("/api/stations/ranking", {"state": "XX"}, "state", sorted(STATES)),
        ("/api/stations/municipality", {"state": "XX", "municipality": "FOO"}, "state",
         sorted(STATES)),
        ("/api/stations/ranking", {"fuel": "KEROSENE"}, "fuel", FUELS),
        ("/api/stations/municipality", {"state": "SP", "municipality": "FOO", "fuel": "jet"},
         "fuel", FUELS),
        ("/api/stations/dispersion", {"fuel": "diesel s10"}, "fuel", FUELS),
    ],
)  # fmt: skip
def test_an_unknown_state_or_fuel_is_a_422_naming_the_parameter_and_its_values(
    client: TestClient, path: str, params: dict[str, str], name: str, allowed: list[str]
) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    # the shape every view's 422 has: a message naming the parameter, and pydantic's errors
    assert body["detail"] == (
        f"{name}: unknown {name} {params[name]!r}: use one of {', '.join(allowed)}"
    )
    assert [e["loc"] for e in body["errors"]] == [["query", name]]
    # as the panel's own views answer a fuel they do not know
    panel = client.get("/api/regional", params={"fuel": "KEROSENE"}).json()
    assert set(panel) == set(body)


class Recorder:
    """A station engine that records what the router asks (DuckDB and Athena get the same)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        return dict.fromkeys(FUELS, (date(2025, 3, 24), date(2025, 4, 19)))

    def old_layout(self) -> int | None:
        return None

    def query(self, name: str, params: dict[str, Any]) -> Any:
        self.asked.append((name, params))
        return SimpleNamespace(columns=["state"], rows=[])


def test_the_engine_gets_upper_case_codes_and_never_an_unknown_state(tmp_path: Path) -> None:
    engine = Recorder()
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=engine)
    with TestClient(app) as http:
        asked = {"state": "sp", "municipality": "sao paulo", "fuel": "lpg"}
        assert http.get("/api/stations/municipality", params=asked).status_code == 200
        assert http.get("/api/stations/ranking", params={"state": "XX"}).status_code == 422
        assert http.get("/api/stations/brands", params={"fuel": "GNV"}).status_code == 422
    store.close()
    ((name, params),) = engine.asked
    assert name == "municipality_weekly"
    assert (params["product"], params["state"], params["municipality"]) == (
        "LPG", "SP", "SAO PAULO"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fuel", "unit"), [("GASOLINE", "BRL/l"), ("LPG", "BRL/13kg"), ("ETHANOL", "BRL/l")]
)
@pytest.mark.parametrize(
    ("view", "priced"),
    [
        ("ranking", ["p10", "median", "p90"]),
        ("dispersion", ["median", "p10", "p90", "p90_p10"]),
        ("brands", ["mean_price", "premium"]),
    ],
)
def test_a_one_fuel_answer_names_its_price_unit_in_json_and_csv(
    client: TestClient, fuel: str, unit: str, view: str, priced: list[str]
) -> None:
    # Only the page's footer said prices were "per unit": an LPG median of 110 read as R$/l.
    body = client.get(f"/api/stations/{view}", params={"fuel": fuel}).json()
    assert body["unit"] == unit
    resp = client.get(f"/api/stations/{view}", params={"fuel": fuel, "format": "csv"})
    head = next(csv.reader(io.StringIO(resp.text)))[: len(body["columns"])]
    for column in priced:
        assert f"{column} ({unit})" in head, head
    assert "stations" in head or "observations" in head  # counts carry no unit


def test_a_search_mixes_fuels_and_gives_each_row_its_unit(client: TestClient) -> None:
    body = client.get("/api/stations/search", params={"q": "posto"}).json()
    assert body["unit"] is None
    rows = [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]
    assert {(r["product"], r["unit"]) for r in rows if r["product"] == "LPG"} == {
        ("LPG", "BRL/13kg")
    }


@pytest.mark.parametrize("q", ["  ", " a ", "\t\t"])
def test_a_search_of_spaces_is_a_422_not_every_station(client: TestClient, q: str) -> None:
    """Two spaces passed the length check and searched for "", which every name contains: the
    answer was the first 51 stations, as if they matched."""
    resp = client.get("/api/stations/search", params={"q": q})
    assert resp.status_code == 422, resp.text
    assert "fewer than 2 characters besides spaces" in resp.json()["detail"]
    assert client.get("/api/stations/search", params={"q": "  posto "}).status_code == 200


@pytest.mark.parametrize("name", ["  ", " a ", "\t\t"])
def test_a_municipality_of_spaces_is_a_422_naming_it(client: TestClient, name: str) -> None:
    """Two spaces passed the length check and asked for a town named "  ": a 200 of no row,
    as if the town had no station."""
    resp = client.get("/api/stations/municipality", params={"state": "SP", "municipality": name})
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"].startswith("municipality: ")
    assert "fewer than 2 characters besides spaces" in resp.json()["detail"]


def test_a_municipality_is_read_with_its_spaces_trimmed(client: TestClient) -> None:
    """As a search text, a fuel or an area: " sao paulo " was a 200 of no row while
    "sao paulo" gave the town's weeks."""
    url = "/api/stations/municipality"
    plain = client.get(url, params={"state": "SP", "municipality": "SAO PAULO"}).json()
    spaced = client.get(url, params={"state": "SP", "municipality": "  são paulo "}).json()
    assert plain["rows"]
    assert spaced["rows"] == plain["rows"]


OLD_LAYOUT_HEADER = "x-lake-old-layout"


def test_an_old_layout_lake_is_named_in_every_answer_and_todays_in_none(
    client: TestClient, tmp_path: Path
) -> None:
    """A lake whose manifest records files in layout 1 (written before layout 2, not yet
    migrated) may count one station twice: the meta and every view say so, in JSON (the page
    shows it) and in a header (CSV too), naming `fuelpipe stations migrate`."""
    lake = real_sample_lake(tmp_path, NOW)
    manifest = lake.storage.read_manifest()
    del manifest["layout"]  # as the code before layout 2 left it
    lake.storage.write_manifest(manifest)
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=lake)
    asked = [
        ("/api/stations/meta", {}),
        ("/api/stations/ranking", {"state": "BA"}),
        ("/api/stations/search", {"q": "posto"}),
        ("/api/stations/dispersion", {"format": "csv"}),
    ]
    with TestClient(app) as http:
        got = [http.get(path, params=params) for path, params in asked]
    store.close()
    lake.close()
    for resp in got:
        assert resp.status_code == 200, resp.text
        assert resp.headers[OLD_LAYOUT_HEADER] == "1"
    for resp in got[:3]:
        old = resp.json()["old_layout"]
        assert (old["layout"], old["current"]) == (1, 2)
        assert "layout 1, not 2" in old["detail"]
        assert "fuelpipe stations migrate" in old["detail"]
    assert got[1].json()["rows"]  # the answer itself is still given

    for path, params in asked:  # the module's lake is of today's layout
        resp = client.get(path, params=params)
        assert OLD_LAYOUT_HEADER not in resp.headers
        if "format" not in params:
            assert resp.json()["old_layout"] is None


class FixedAnswer:
    """A station engine answering every query with the same columns and rows."""

    def __init__(self, columns: list[str], rows: list[list[Any]]) -> None:
        self.columns, self.rows = columns, rows

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        return dict.fromkeys(FUELS, (date(2025, 3, 24), date(2025, 4, 19)))

    def old_layout(self) -> int | None:
        return None

    def query(self, name: str, params: dict[str, Any]) -> Any:
        return SimpleNamespace(columns=self.columns, rows=self.rows)


def test_the_station_csv_gives_figures_to_6_decimals_as_every_other_csv(tmp_path: Path) -> None:
    """It kept 4, unlike every other CSV: a P10 of 5.99996 (between prices of 5.9999 and 6.0001,
    at position 1.3) read 6.0, a mean 6.3374. Six keep every exact quantile and every published
    digit, and write a price of 5.99 as 5.99, not 5.990000."""
    engine = FixedAnswer(
        ["state", "stations", "p10", "median", "mean_price", "sd"],
        [
            ["SP", 4, 5.99996, 5.99, 6.33737881508079, 0.06269172609838516],
            ["RJ", 2, 6.1234, 6.2, 6.25, 0.0],
        ],
    )
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=engine)
    with TestClient(app) as http:
        resp = http.get("/api/stations/dispersion", params={"fuel": "GASOLINE", "format": "csv"})
        body = http.get("/api/stations/dispersion", params={"fuel": "GASOLINE"}).json()
    store.close()
    assert resp.status_code == 200, resp.text
    own = ",dispersion,GASOLINE,BRL/l,2025-03-24,2025-04-19,2025-03-23,2025-04-19,,,\n"
    assert resp.text == (
        "state,stations,p10 (BRL/l),median (BRL/l),mean_price (BRL/l),sd (BRL/l),query,fuel,"
        "unit,start,end,covered_start,covered_end,old_layout_layout,old_layout_current,"
        "old_layout_detail\n"
        "SP,4,5.99996,5.99,6.337379,0.062692" + own + "RJ,2,6.1234,6.2,6.25,0.0" + own
    )
    assert body["rows"][0] == ["SP", 4, 5.99996, 5.99, 6.337379, 0.062692]


def test_a_tiny_station_figure_is_written_as_its_decimals_not_an_exponent(
    tmp_path: Path,
) -> None:
    """A premium of 0.0000123 % is 1.2e-05 to 6 decimals: the CSV wrote "1.2e-05" (Python's
    text of a float under 1e-4), not 0.000012 as its JSON and every other figure read."""
    engine = FixedAnswer(["brand", "premium", "premium_pct"], [["X", -0.00004, 0.0000123]])
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=engine)
    with TestClient(app) as http:
        resp = http.get("/api/stations/brands", params={"format": "csv"})
        body = http.get("/api/stations/brands").json()
    store.close()
    assert body["rows"] == [["X", -4e-05, 1.2e-05]]
    row = next(csv.DictReader(io.StringIO(resp.text)))
    assert (row["premium (BRL/l)"], row["premium_pct"]) == ("-0.00004", "0.000012")


@pytest.mark.parametrize("lake", ["today", "old"])
@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/stations/meta", {}),
        ("/api/stations/ranking", {"fuel": "LPG", "state": "BA"}),
        ("/api/stations/municipality", {"state": "SP", "municipality": "SAO PAULO"}),
        ("/api/stations/municipality", {"state": "SP", "municipality": "NOWHERE"}),  # no row
        ("/api/stations/brands", {"fuel": "ETHANOL"}),
        ("/api/stations/dispersion", {}),
        ("/api/stations/search", {"q": "posto"}),
    ],
)
def test_each_station_csv_gives_every_field_its_json_gives(
    clients: dict[str, TestClient], lake: str, path: str, params: dict[str, str]
) -> None:
    """The station CSVs gave their rows alone: not the query, fuel, unit, the days asked for
    and the weeks covered, a search's cut (``truncated``, ``limit``), nor an older layout
    (``old_layout``, in a header only), and the meta's was one row without its fuels. Every
    field beside the rows is now a column on every row (``old_layout`` as ``old_layout_*``),
    the meta's a row per fuel; an answer of no row is one row of them. A search's ``unit``
    is its rows' own column (its JSON's is null: it mixes fuels)."""
    http = clients[lake]
    body = http.get(path, params=params).json()
    text = http.get(path, params={**params, "format": "csv"}).text
    assert csv_misses(body, text, ["unit"] if path.endswith("search") else []) == []
    assert (body["old_layout"] is None) == (lake == "today")
    rows = list(csv.DictReader(io.StringIO(text)))
    if path.endswith("meta"):  # the fuels the real sample holds
        assert [r["fuel"] for r in rows] == ["GASOLINE", "GASOLINE_PREMIUM", "ETHANOL", "LPG"]
    elif not body["rows"]:  # the one row of the answer's own fields: no figure in it
        (row,) = rows
        assert not any(list(row.values())[: len(body["columns"])])


class NoWindow:
    """A station engine of a lake with no collection day yet."""

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        return {}

    def old_layout(self) -> int | None:
        return None

    def query(self, name: str, params: dict[str, Any]) -> Any:
        raise AssertionError(f"no query of an empty lake: {name}")


def test_the_meta_csv_of_an_empty_lake_says_it_is_not_available(tmp_path: Path) -> None:
    """``available`` false was an empty cell, as if unknown."""
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), stations=NoWindow())
    with TestClient(app) as http:
        body = http.get("/api/stations/meta").json()
        rows = list(csv.DictReader(io.StringIO(http.get("/api/stations/meta?format=csv").text)))
    store.close()
    assert (body["available"], body["first"], body["last"]) == (False, None, None)
    assert {(r["available"], r["first"], r["last"]) for r in rows} == {("False", "", "")}


def test_a_download_names_its_state_town_and_search(client: TestClient) -> None:
    """The state a ranking keeps, the town of a municipality's weeks and the text searched are
    in the CSV's name (two towns' downloads were both ``...municipality_weekly-LPG-...``), in
    safe characters only: a search's quotes, slashes and line breaks never reach the header."""

    def named(path: str, params: dict[str, str]) -> str:
        resp = client.get(path, params={**params, "format": "csv"})
        assert resp.status_code == 200, resp.text
        return resp.headers["content-disposition"]

    town = {"state": "sp", "municipality": "São Paulo", "fuel": "lpg"}
    assert named("/api/stations/municipality", town) == (
        f'attachment; filename="stations-municipality_weekly-LPG-SP-Sao_Paulo-{SPAN}.csv"'
    )
    assert named("/api/stations/ranking", {"state": "RJ"}) == (
        f'attachment; filename="stations-municipality_ranking-GASOLINE-RJ-{SPAN}.csv"'
    )
    hostile = 'posto"; filename=x.exe\r\n/../a'
    assert named("/api/stations/search", {"q": hostile}) == (
        f'attachment; filename="stations-station_search-posto_filename_x.exe_.._a-{SPAN}.csv"'
    )


@pytest.mark.parametrize(
    ("lake", "extra", "advice"),
    [
        # no lake, no extra: install it, then ingest
        (None, False, f"install the lake extra ({install_hint('lake')}) and run"),
        # no lake, the extra installed: ingest (it advised installing what was there)
        (None, True, "no station lake here: run `fuelpipe stations ingest` (or `fuelpipe demo`)"),
        # an empty lake: the extra is there, whatever DuckDB says
        (NoWindow(), False, "no station data here: the lake is empty: run `fuelpipe stations"),
        (NoWindow(), None, "no station data here: the lake is empty: run `fuelpipe stations"),
    ],
)
@pytest.mark.parametrize(
    ("path", "params"), [*STATION_VIEWS, ("/api/stations/search", {"q": "posto"})]
)
def test_a_404_without_a_lake_advises_what_its_cause_needs(
    tmp_path: Path,
    lake: StationQueries | None,
    extra: bool | None,
    advice: str,
    path: str,
    params: dict[str, str],
) -> None:
    """Every 404 without a lake advised installing the lake extra, even with it installed
    (DuckDB is: this module needs it) and a lake merely missing or empty."""
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(
        store,
        DEFAULT_CATALOG,
        clock=FixedClock(NOW),
        stations=lake,
        no_lake=None if extra is None else no_lake_advice(extra),
    )
    with TestClient(app) as http:
        resp = http.get(path, params=params)
    store.close()
    assert resp.status_code == 404, resp.text
    assert advice in resp.json()["detail"]
    assert ("pip install" in resp.json()["detail"]) == (lake is None and extra is False)


def test_without_a_lake_the_404_advises_the_extra_only_when_duckdb_is_missing(
    tmp_path: Path,
) -> None:
    """Undecided by the caller (``no_lake`` None), the advice follows DuckDB's presence:
    installed here, so no lake is an ingest to run, not an extra to install."""
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as http:
        detail = http.get("/api/stations/meta").json()["detail"]
    store.close()
    assert detail.startswith("no station lake here: run `fuelpipe stations ingest`")


def test_the_two_pages_offer_the_same_fuels_so_a_link_between_them_keeps_its_fuel(
    client: TestClient,
) -> None:
    # Each page's link to the other carries the fuel picked (app.js pageLinks, stations.js
    # translate): the same code there, or the main page would say the link's fuel was refused.
    # The meta lists the fuels the lake holds: each one of the codes the views take.
    products = [p["code"] for p in client.get("/api/meta").json()["products"]]
    fuels = [f["fuel"] for f in client.get("/api/stations/meta").json()["fuels"]]
    assert sorted(products) == sorted(FUELS)
    assert fuels and set(fuels) <= set(FUELS)


def test_each_fuel_answers_its_own_last_four_weeks_and_the_meta_lists_the_fuels_held(
    tmp_path: Path,
) -> None:
    """A lake of diesel, diesel S10 and CNG to December 2023 and LPG in 2025 (real files, no
    gasoline): the meta listed all seven fuel codes and every view's default span was the
    lake's last four weeks, which hold LPG alone, so the page opened on an empty gasoline
    view and diesel's views were empty too. The meta lists the fuels held, each with its days
    and last survey week, and a view's default span is its fuel's last four weeks."""
    lake = fuels_apart_lake(tmp_path, NOW)
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=lake)
    with TestClient(app) as http:
        meta = http.get("/api/stations/meta").json()
        rows = list(csv.DictReader(io.StringIO(http.get("/api/stations/meta?format=csv").text)))
        diesel = http.get("/api/stations/ranking", params={"fuel": "DIESEL"}).json()
        lpg = http.get("/api/stations/dispersion", params={"fuel": "LPG"}).json()
        gasoline = http.get("/api/stations/ranking").json()  # a fuel the lake lacks
        search = http.get("/api/stations/search", params={"q": "posto"}).json()
    store.close()
    lake.close()
    dec = {"first_day": "2023-12-04", "last_day": "2023-12-28", "last_week": "2023-12-24"}
    assert (meta["first"], meta["last"]) == ("2023-12-04", "2025-04-18")
    assert meta["fuels"] == [
        {"fuel": "DIESEL", "unit": "BRL/l", **dec},
        {"fuel": "DIESEL_S10", "unit": "BRL/l", **dec},
        {"fuel": "CNG", "unit": "BRL/m3", **dec},
        {"fuel": "LPG", "unit": "BRL/13kg", "first_day": "2025-03-24",
         "last_day": "2025-04-18", "last_week": "2025-04-13"},
    ]  # fmt: skip
    assert [(r["fuel"], r["last_week"], r["last"]) for r in rows] == [
        (f["fuel"], f["last_week"], "2025-04-18") for f in meta["fuels"]
    ]
    # diesel's four weeks up to its own last day, which hold its prices
    assert (diesel["start"], diesel["end"]) == ("2023-12-04", "2023-12-28")
    assert len(diesel["rows"]) > 100
    assert (lpg["start"], lpg["end"]) == ("2025-03-24", "2025-04-18")
    assert [r[0] for r in lpg["rows"]] == ["2025-03-23", "2025-03-30", "2025-04-06", "2025-04-13"]
    # a fuel the lake lacks, and a search (every fuel): the lake's last four survey weeks
    assert (gasoline["start"], gasoline["end"], gasoline["rows"]) == (
        "2025-03-23", "2025-04-18", [],
    )  # fmt: skip
    assert (search["start"], search["end"]) == ("2025-03-23", "2025-04-18")


def test_a_default_span_is_four_survey_weeks_when_the_fuel_ends_on_a_friday(
    tmp_path: Path,
) -> None:
    """LPG ends on a Friday (2025-04-18) in a lake holding it from 2025-02-24: the default
    span was the 28 days 2025-03-22..04-18, whose Saturday brought a fifth survey week (that of
    2025-03-16) into the ranking, brand and dispersion views. It is the last four survey weeks:
    2025-03-23..04-18, covered 2025-03-23..04-19."""
    lake = lpg_earlier_weeks_lake(tmp_path, NOW)
    store = SqliteStore(tmp_path / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=lake)
    with TestClient(app) as http:
        dispersion = http.get("/api/stations/dispersion", params={"fuel": "LPG"}).json()
        ranking = http.get("/api/stations/ranking", params={"fuel": "LPG"}).json()
    store.close()
    lake.close()
    for answer in (dispersion, ranking):
        assert (answer["start"], answer["end"]) == ("2025-03-23", "2025-04-18")
        assert (answer["covered_start"], answer["covered_end"]) == ("2025-03-23", "2025-04-19")
    assert [r[0] for r in dispersion["rows"]] == [
        "2025-03-23", "2025-03-30", "2025-04-06", "2025-04-13",
    ]  # fmt: skip
