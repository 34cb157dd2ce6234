"""`make demo` includes the station sample: the real ANP files from the replay, into the lake."""

from __future__ import annotations

import json

import pytest
from tests.e2e.conftest import fuelpipe

pytest.importorskip("duckdb")


def test_demo_ingests_the_real_station_sample(demo_store):
    env, _, stdout = demo_store
    assert "78,901 rows read, 78,901 new in the lake, 0 rejected" in stdout
    state = json.loads(fuelpipe("stations", "status", "--json", env=env).stdout)
    per_product: dict[str, int] = {}
    for p in state["partitions"]:
        per_product[p["product"]] = per_product.get(p["product"], 0) + p["observations"]
    # the counts of the real sample (publication-and-stations reference)
    assert per_product == {
        "GASOLINE": 17_291,
        "GASOLINE_PREMIUM": 13_300,
        "ETHANOL": 14_391,
        "DIESEL_S10": 11_916,
        "DIESEL": 7_207,
        "CNG": 1_486,
        "LPG": 13_310,
    }


def test_a_cut_station_search_keeps_whole_stations_and_says_so(demo_store):
    """The search query fetches one station past its cut to tell there are more: the CLI
    prints the first SEARCH_STATIONS stations (every fuel row of each) and a note."""
    from fuelpipe.domain.stations import SEARCH_STATIONS

    env, _, _ = demo_store
    done = fuelpipe("stations", "query", "station_search", "--text", "posto", "-f", "json", env=env)
    rows = json.loads(done.stdout)
    assert len({r["cnpj"] for r in rows}) == SEARCH_STATIONS
    assert f"showing the first {SEARCH_STATIONS} stations" in done.stderr
