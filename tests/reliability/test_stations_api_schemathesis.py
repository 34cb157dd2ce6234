"""schemathesis against the station views' API with a lake of the real LPG sample: no request
the schema allows (and none it forbids) gets a 5xx, and answers match their declared statuses
and content types."""

from __future__ import annotations

import lzma
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

pytest.importorskip("duckdb")

NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)


def test_station_routes_never_answer_a_server_error(tmp_path: Path) -> None:
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import LocalLakeStorage

    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    path = tmp_path / "ultimas-4-semanas-glp.csv"
    path.write_bytes(
        lzma.decompress((SNAPSHOT_DIR / "shpc/qus/ultimas-4-semanas-glp.csv.xz").read_bytes())
    )
    lake.ingest_path(path)
    store = SqliteStore(tmp_path / "x.sqlite", clock=FixedClock(NOW))
    api = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, stations=lake)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    tried = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if "/api/stations/" not in operation.label:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=15,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def no_server_error(case: schemathesis.Case) -> None:
                    case.call_and_validate(excluded_checks=[positive_data_acceptance])

                no_server_error()
                tried.append(f"{operation.label} ({mode.value})")
    finally:
        store.close()
        lake.close()
    assert len(tried) == 2 * 6, tried
