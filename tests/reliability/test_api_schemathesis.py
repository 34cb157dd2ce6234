"""schemathesis against the dashboard API's own OpenAPI document: no request the schema allows
(and none it forbids) gets a 5xx, and every answer matches its declared status codes, content
types and response schemas. The store behind the app is filled by a real pipeline run of a few
series against the replay of the bundled snapshot.

Not checked: ``positive_data_acceptance``. The schema lets ``keys`` be empty where the app
answers 422 "keys: give at least one series key" (a schema looser than the app, not a server
error).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from devtools.chaos.harness import SINCE, START, embedded_home, pipeline_settings
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.replay import ReplayServer
from fuelpipe.stages.cycle import run_cycle

SERIES = [
    "CURRENCY#USD",
    "STOCK#PETR4",
    "COMMODITY#BRENT",
    "COMMODITY#BRENT_FUTURES",
    "FUEL#GASOLINE#BR",
    "FUEL#GASOLINE#REGION_SE",
    "FUEL#ETHANOL#BR",
    "FUEL#DIESEL#BR",
]


@pytest.fixture(scope="module")
def dashboard_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The dashboard app on a store one pipeline cycle filled, as a schemathesis schema."""
    folder: Path = tmp_path_factory.mktemp("api")
    clock = FixedClock(START)
    with ReplayServer(quiet=True) as replay:
        app = embedded_home()(pipeline_settings(replay, folder / "api.sqlite"), clock)
        try:
            run_cycle(app, series=DEFAULT_CATALOG.select(SERIES), since=SINCE)
        finally:
            app.close()
    pipeline = embedded_home()(pipeline_settings(replay, folder / "api.sqlite"), clock)
    try:
        api = create_app(pipeline.store, DEFAULT_CATALOG, pipeline.queue, clock, cache_ttl_s=0)
        yield schemathesis.openapi.from_asgi("/openapi.json", api)
    finally:
        pipeline.close()


# schemathesis's pytest integration (from_fixture) does not run under pytest 9, so the
# operations are walked here and each one gets its own Hypothesis run.
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def test_no_request_gets_a_server_error(dashboard_schema):
    tried = []
    for result in dashboard_schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:

            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def no_server_error(case):
                # every check schemathesis has, not_a_server_error included
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            no_server_error()
            tried.append(f"{operation.label} ({mode.value})")
    assert len(tried) >= 2 * 6, tried  # every view of the API was exercised


EXTREME_DATES = [
    "0001-01-01",
    "1899-12-31",
    "1900-01-01",
    "2200-12-31",
    "2201-01-01",
    "9999-12-31",
    "2022-02-30",
    "20220101",
    "",
]
"""Python's own limits, the domain's range and just outside it, and malformed dates."""
DATE_PARAMS = {"start", "end", "base", "week"}
# Values for the other required parameters, so the date is what the answer is about.
REQUIRED = {"key": "CURRENCY#USD", "keys": "CURRENCY#USD,COMMODITY#BRENT", "fuel": "GASOLINE"}


def _date_operations(schema) -> list:
    out = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.query}
        # This app has no station lake (its routes answer 404 with how to get one);
        # tests/reliability/test_stations_api_schemathesis.py covers them on a real-sample lake.
        if operation.path.startswith("/api/stations"):
            continue
        if names & DATE_PARAMS:
            out.append((operation, names))
    return out


def test_extreme_dates_get_a_422_with_the_security_headers_never_a_500(dashboard_schema):
    """Every date parameter at the extremes, through schemathesis's own checks: answers are
    200 inside the range and 422 outside it, each with the security headers."""
    operations = _date_operations(dashboard_schema)
    assert {op.path for op, _ in operations} >= {
        "/api/series",
        "/api/indices",
        "/api/correlations",
        "/api/lags",
        "/api/regional",
        "/api/parity",
    }
    seen = set()
    for operation, names in operations:
        base = {k: v for k, v in REQUIRED.items() if k in names}
        if operation.path == "/api/series":
            base["freq"] = "weekly"
        for param in sorted(names & DATE_PARAMS):
            for value in EXTREME_DATES:
                case = operation.Case(query={**base, param: value})
                response = case.call()
                seen.add(response.status_code)
                label = f"{operation.path}?{param}={value}"
                assert response.status_code in (200, 422), (label, response.text)
                assert "content-security-policy" in response.headers, label
                if value in ("0001-01-01", "1899-12-31", "2201-01-01", "9999-12-31", "20220101"):
                    assert response.status_code == 422, (label, response.text)
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
    assert seen == {200, 422}
