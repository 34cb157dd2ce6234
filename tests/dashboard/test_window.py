"""The page's "1 year" window over a store whose fuel ends before its drivers: every series of
a view ends with the fuel's newest week (``until`` its Saturday), none runs on to the newest
stored value, and the precomputed default requests are the page's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support.window_store import serving_window_store

from fuelpipe.dashboard.precomputed import OVERVIEW_KEYS, default_requests
from fuelpipe.dashboard.schemas import MetaView

GAS, USD = "FUEL#GASOLINE#BR", "CURRENCY#USD"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_window_store(tmp_path_factory.mktemp("window")) as url:
        yield url


def _defaults(client: httpx.Client) -> dict[str, list[dict[str, list[str]]]]:
    meta = MetaView.model_validate(client.get("/api/meta").json())
    found: dict[str, list[dict[str, list[str]]]] = {}
    for path, params in default_requests(meta):
        found.setdefault(path, []).append({name: list(values) for name, values in params})
    return found


def _spans(body: dict[str, object]) -> dict[str, tuple[str, str, int]]:
    series = body["series"]
    assert isinstance(series, list)
    return {
        s["key"]: (s["points"][0]["date"], s["points"][-1]["date"], len(s["points"]))
        for s in series
    }


def test_the_default_year_ends_with_the_fuels_newest_week_for_every_series(base: str) -> None:
    """The page sent only a start (52 weeks before 2022-05-01), so the dollar, Brent and PETR4
    ran on to 2023-06-25 under a "1 year" chart whose fuel stopped at 2022-05-01. Now every
    line has the same 52 weeks, 2021-05-09 to 2022-05-01, and so do the fuel views."""
    with httpx.Client(base_url=base, timeout=30.0) as client:
        asked = _defaults(client)
        window = {"start": ["2021-05-09"], "until": ["2022-05-07"]}
        assert asked["/api/indices"][0] == {"keys": list(OVERVIEW_KEYS), **window}
        for query in asked["/api/indices"]:
            index = client.get("/api/indices", params=query)
            assert "etag" in index.headers  # the page's first request is a stored view
            spans = _spans(index.json())
            assert set(spans.values()) == {("2021-05-09", "2022-05-01", 52)}, spans
        (corr,) = asked["/api/correlations"]
        assert {k: corr[k] for k in ("start", "until")} == window
        body = client.get("/api/correlations", params=corr).json()
        assert (body["first"], body["last"]) == ("2021-05-09", "2022-05-01")
        (lags,) = asked["/api/lags"]
        assert {k: lags[k] for k in ("start", "until")} == window
        usd = client.get("/api/series", params={"key": USD, **window}).json()["points"]
        assert (usd[0]["date"], usd[-1]["date"]) == ("2021-05-10", "2022-05-06")


def test_an_end_date_and_until_cut_at_the_earlier(base: str) -> None:
    """With an End date too, each series stops at the earlier cut: what was published by the
    end of Thursday 2022-05-05 leaves out the fuel week of 05-01 (out on Friday evening) and
    keeps the dollar's Thursday; ``until`` 2022-04-27 stops the dollar there."""
    keys = {"keys": [GAS, USD], "start": "2022-04-03"}
    with httpx.Client(base_url=base, timeout=30.0) as client:
        friday = client.get("/api/indices", params={**keys, "end": "2022-05-05"}).json()
        assert _spans(friday) == {
            GAS: ("2022-04-03", "2022-04-24", 4),
            USD: ("2022-04-03", "2022-05-01", 5),
        }
        both = {**keys, "end": "2022-05-05", "until": "2022-04-27"}
        assert _spans(client.get("/api/indices", params=both).json()) == {
            GAS: ("2022-04-03", "2022-04-24", 4),
            USD: ("2022-04-03", "2022-04-24", 4),
        }
        cuts = {k: v for k, v in both.items() if k != "keys"}  # /api/series takes one key
        raw = client.get("/api/series", params={"key": USD, **cuts}).json()["points"]
        assert raw[-1]["date"] == "2022-04-27"
        late = client.get(
            "/api/series", params={"key": USD, "start": "2022-05-01", "until": "2022-04-30"}
        )
        assert late.status_code == 422
        assert late.json()["detail"] == "start 2022-05-01 is after until 2022-04-30"
