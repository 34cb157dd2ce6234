"""`make demo` includes the station sample: the real ANP files from the replay, into the lake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from tests.e2e.conftest import fuelpipe
from tests.lake.conftest import BOM, real_lines

pytest.importorskip("duckdb")


def test_demo_ingests_the_real_station_sample(demo_store):
    env, _, stdout = demo_store
    assert "78,901 rows read, 78,901 new in the lake, 0 rejected" in stdout
    state = json.loads(fuelpipe("stations", "status", "--json", env=env).stdout)
    per_product: dict[str, int] = {}
    for p in state["partitions"]:
        per_product[p["product"]] = per_product.get(p["product"], 0) + p["observations"]
    # the counts of the real sample, per product (datasets/MANIFEST.md, rows 10-12)
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


def test_the_demo_lake_holds_its_sample_alone_and_is_the_demos_again(demo_store):
    """What the lake's manifest knows the demo's files by is what the demo's lake check takes
    for its own: a lake the demo filled is filled again."""
    from fuelpipe.adapters.lake.engine import source_key
    from fuelpipe.adapters.lake.storage import LocalLakeStorage
    from fuelpipe.cli.stations import demo_sample_sources, refuse_a_lake_it_did_not_fill
    from fuelpipe.homes.settings import Settings

    env, _, _ = demo_store
    files = LocalLakeStorage(env["FUELPIPE_LAKE"]).read_manifest()["files"]
    assert {source_key(e["source"]) for e in files.values()} == demo_sample_sources()
    assert len(demo_sample_sources()) == 3

    def fail(message: str) -> typer.Exit:
        raise AssertionError(message)

    refuse_a_lake_it_did_not_fill(Settings(lake=env["FUELPIPE_LAKE"]), fail)


def test_a_lake_with_files_the_demo_did_not_ingest_is_refused_untouched(tmp_path: Path):
    """Before, the demo ingested its 3 sample files into FUELPIPE_LAKE (default ./data/lake)
    whatever it held: an operator's real lake got the demo's sample mixed in."""
    lake, db, mine = tmp_path / "lake", tmp_path / "demo.sqlite", tmp_path / "glp-mine.csv"
    mine.write_bytes(BOM + "\r\n".join(real_lines("glp", 20)).encode() + b"\r\n")
    env = {"FUELPIPE_LAKE": str(lake), "FUELPIPE_DB": str(db), "COLUMNS": "300"}
    assert fuelpipe("stations", "ingest", str(mine), env=env).returncode == 0
    manifest = (lake / "_manifest.json").read_bytes()
    done = fuelpipe("demo", "--no-serve", env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""  # refused before the pipeline starts
    line = " ".join(done.stderr.split())  # one error, wrapped at the terminal's width
    assert line.startswith(
        f"error: the station lake {lake} already holds files `fuelpipe demo` did not ingest "
        "(glp-mine.csv)"
    )
    assert line.endswith("FUELPIPE_DB=data/demo.sqlite FUELPIPE_LAKE=data/demo-lake fuelpipe demo")
    assert (lake / "_manifest.json").read_bytes() == manifest
    assert not db.exists()
