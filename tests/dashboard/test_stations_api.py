"""The station views' API on a lake of the real ANP sample: a search says when it was cut and
names its CSV without a fuel; a brand's premium in BRL and in percent share their sign."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from tests.support.station_lake import real_sample_lake

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.stations import SEARCH_STATIONS, first_stations

pytest.importorskip("duckdb")

NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
SPAN = "2025-03-24-2025-04-19"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The dashboard with a station lake holding the real gasoline/ethanol and LPG files."""
    tmp = tmp_path_factory.mktemp("stations-api")
    lake = real_sample_lake(tmp, NOW)
    store = SqliteStore(tmp / "empty.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=lake)
    with TestClient(app) as c:
        yield c
    store.close()
    lake.close()


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
    assert f'filename="stations-station_search-{SPAN}-first-{SEARCH_STATIONS}-stations.csv"' in (
        disposition
    )
    assert "GASOLINE" not in disposition
    parsed = list(csv.reader(io.StringIO(resp.text)))
    assert parsed[0] == body["columns"]
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
        f'attachment; filename="stations-station_search-{SPAN}.csv"'
    )
    # the other views still name their fuel
    brands = client.get("/api/stations/brands", params={"fuel": "ETHANOL", "format": "csv"})
    assert f"stations-brand_premium-ETHANOL-{SPAN}.csv" in brands.headers["content-disposition"]
    assert "x-truncated" not in brands.headers


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
