"""The analyses on degenerate SYNTHETIC series (a driver that never moves, lagged changes that
repeat one another, a correlation over too few weeks or with a series that never moves): what
the data cannot identify is answered as not estimable with the reason, never as a number with
false precision (0 ± 0) nor as a wrong reason; and an error quotes a long bad value short."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.support.degenerate import CLOCK, END, START, fill_degenerate, sundays

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard import analysis as an
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG

WINDOW = f"start={START}&end={END}"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A temp SQLite store with SYNTHETIC series: a moving gasoline price in Brazil, a PTAX
    constant at 5.0000 over the whole window (CURRENCY#USD) and a Brent that moves."""
    with SqliteStore(tmp_path / "degenerate.sqlite", clock=CLOCK) as store:
        fill_degenerate(store)
        with TestClient(create_app(store, DEFAULT_CATALOG, clock=CLOCK)) as c:
            yield c


def test_a_pass_through_on_a_driver_that_never_moved_is_not_estimable(
    client: TestClient,
) -> None:
    # PTAX constant: the regression's design has a zero column; it answered 0.0 ± 0.0, [0, 0].
    url = f"/api/lags?fuel=GASOLINE&area=BR&driver=CURRENCY%23USD&{WINDOW}"
    r = client.get(url)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["regression"] is None
    assert body["regression_reason"] == "driver_unchanged"
    assert "did not change" in body["regression_error"]
    assert all(c["r"] is None for c in body["cross"])
    assert body["best"] is None
    rows = list(csv.DictReader(io.StringIO(client.get(url + "&format=csv").text)))
    assert rows and all(row["regression_reason"] == "driver_unchanged" for row in rows)
    assert all(row["regression_cumulative"] == "" for row in rows)


def test_a_pass_through_on_a_moving_driver_is_still_estimated(client: TestClient) -> None:
    body = client.get(f"/api/lags?fuel=GASOLINE&area=BR&driver=COMMODITY%23BRENT&{WINDOW}").json()
    assert body["regression"] is not None
    assert body["regression_reason"] is None
    assert body["regression"]["cumulative_se"] > 0


def test_perfectly_collinear_lags_are_not_estimable() -> None:
    # SYNTHETIC: a driver whose change alternates +1%/-1% makes lag k+2 equal lag k.
    weeks = sundays()[:30]
    drv = an.TimeSeries("drv", tuple(weeks), tuple(0.01 * (-1) ** i for i in range(30)))
    pump = an.TimeSeries("pump", tuple(weeks), tuple(0.001 * (i % 7) for i in range(30)))
    with pytest.raises(an.NotEstimableError) as caught:
        an.distributed_lag(pump, drv, 4)
    assert caught.value.reason == "singular"


@pytest.mark.parametrize(
    "query",
    [
        "/api/lags?fuel={bad}",
        "/api/lags?fuel=GASOLINE&area={bad}",
        "/api/regional?fuel={bad}",
        "/api/series?key=CURRENCY%23USD&start={bad}",
        "/api/lags?fuel=GASOLINE&driver={bad}",
        "/api/correlations?keys=CURRENCY%23USD,{bad}",
    ],
)
def test_an_error_quotes_a_long_bad_value_shortened(client: TestClient, query: str) -> None:
    # A 20,000-character fuel was quoted in full, twice (detail and errors): a 40 KB 422.
    bad = "X" * 20_000
    r = client.get(query.format(bad=bad))
    assert r.status_code in (404, 422), r.text  # an unknown series key is a 404
    assert len(r.content) < 2_000, len(r.content)
    assert "X" * 80 + "…" in r.json()["detail"]
    assert "X" * 81 not in r.text


def test_a_422_names_a_long_unknown_parameter_shortened(client: TestClient) -> None:
    r = client.get(f"/api/lags?fuel=GASOLINE&{'Y' * 20_000}=1")
    assert r.status_code == 422, r.text
    assert len(r.content) < 2_000, len(r.content)


def test_a_correlation_with_a_series_that_never_moved_says_why(client: TestClient) -> None:
    # PTAX constant over 51 weeks of changes: its cells had r null beside n = 51, which read
    # as 'fewer than 8 overlapping weeks' on the page.
    keys = "FUEL%23GASOLINE%23BR,CURRENCY%23USD,COMMODITY%23BRENT"
    url = f"/api/correlations?keys={keys}&{WINDOW}"
    body = client.get(url).json()
    assert body["r"][0][1] is None and body["n"][0][1] == 51
    assert body["reason"][0][1] == body["reason"][1][1] == "unchanged"
    assert body["r"][0][2] is not None and body["reason"][0][2] is None
    rows = list(csv.DictReader(io.StringIO(client.get(url + "&format=csv").text)))
    reasons = {(row["key_a"], row["key_b"]): row["reason"] for row in rows}
    assert reasons["FUEL#GASOLINE#BR", "CURRENCY#USD"] == "unchanged"
    assert reasons["FUEL#GASOLINE#BR", "COMMODITY#BRENT"] == ""


def test_a_correlation_over_too_few_weeks_says_so() -> None:
    weeks = sundays()[:5]
    a = an.TimeSeries("a", tuple(weeks), (0.01, -0.02, 0.03, 0.0, 0.01))
    matrix = an.correlation_matrix([a, a])
    assert matrix.r[0][1] is None
    assert matrix.reason[0][1] == "too_few_weeks"


def test_a_driver_that_moved_in_one_week_only_is_not_estimable() -> None:
    # SYNTHETIC: PTAX flat but for one week. Each lag's coefficient rested on that week alone
    # (leverage 1, residual 0 there), so its Newey-West error missed it: a pass-through of
    # 0.22 with an interval of 0.06 to 0.38 from a single move.
    weeks = sundays()
    drv = an.TimeSeries("drv", tuple(weeks), tuple(0.05 if i == 20 else 0.0 for i in range(52)))
    pump = an.TimeSeries("pump", tuple(weeks), tuple(0.01 * math.sin(i * 0.7) for i in range(52)))
    with pytest.raises(an.NotEstimableError) as caught:
        an.distributed_lag(pump, drv, 4)
    assert caught.value.reason == "exact_fit"
    two = an.TimeSeries("drv", tuple(weeks), tuple(0.05 * (i in (20, 23)) for i in range(52)))
    assert an.distributed_lag(pump, two, 4).cumulative_se > 0  # two moves: estimated
