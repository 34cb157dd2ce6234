"""The dashboard API over real HTTP on 127.0.0.1, on the real demo data."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import httpx
import pytest
from devtools.dashboard.serving import serving
from fastapi.testclient import TestClient
from tests.dashboard.conftest import NOW, csv_misses
from tests.support.index_edges import BASE as EDGES_BASE
from tests.support.index_edges import CLOCK as EDGES_CLOCK
from tests.support.index_edges import END as EDGES_END
from tests.support.index_edges import fill_index_edges

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.outlook_views import OutlookMapView
from fuelpipe.dashboard.precomputed import default_requests
from fuelpipe.dashboard.schemas import DECIMALS, HEALTH_TOTALS, LagPoint, LagsView, MetaView
from fuelpipe.dashboard.static_assets import STATIC_DIR, asset_paths
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import RunLog
from fuelpipe.stages.data_version import mark_changed

Q = "%23"  # '#' in a query string
VIEWS = {
    "meta": "/api/meta",
    "overview": "/api/overview",
    "series": f"/api/series?key=FUEL{Q}GASOLINE{Q}BR",
    "series_weekly": "/api/series?key=BRENT_BRL&freq=weekly&how=last",
    "indices": f"/api/indices?keys=FUEL{Q}GASOLINE{Q}BR&keys=CURRENCY{Q}USD,BRENT_BRL,STOCK{Q}PETR4"
    "&start=2021-06-01",
    "correlations": f"/api/correlations?keys=FUEL{Q}DIESEL{Q}REGION_SE,CURRENCY{Q}USD,COMMODITY{Q}BRENT",
    "lags": "/api/lags?fuel=GASOLINE&area=BR&driver=BRENT_BRL&start=2021-05-16&end=2022-05-07",
    "regional": "/api/regional?fuel=GASOLINE",
    "parity": "/api/parity",
    "health": "/api/health",
}


@pytest.mark.parametrize("path", VIEWS.values(), ids=VIEWS.keys())
def test_every_view_answers_on_real_data(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()


def test_series_returns_every_stored_week(client: httpx.Client, real_store: SqliteStore) -> None:
    body = client.get(VIEWS["series"]).json()
    stored = real_store.query("FUEL#GASOLINE#BR")
    assert [p["date"] for p in body["points"]] == [r.date.isoformat() for r in stored]
    assert body["points"][-1] == {"date": "2022-05-01", "value": 7.295}  # the workbook's last week
    windowed = client.get(VIEWS["series"] + "&start=2022-01-01&end=2022-02-04").json()
    assert [p["date"] for p in windowed["points"]] == [
        "2022-01-02", "2022-01-09", "2022-01-16", "2022-01-23", "2022-01-30"
    ]  # fmt: skip


def test_overview_has_latest_value_weekly_change_and_as_of(client: httpx.Client) -> None:
    items = {i["key"]: i for i in client.get(VIEWS["overview"]).json()["items"]}
    gas = items["FUEL#GASOLINE#BR"]
    # workbook rows: 2022-05-01 7.295, 2022-04-24 7.283 -> +0.16477 %
    assert (gas["date"], gas["value"], gas["prev_date"], gas["prev_value"]) == (
        "2022-05-01", 7.295, "2022-04-24", 7.283
    )  # fmt: skip
    assert gas["change_pct"] == round((7.295 / 7.283 - 1) * 100, DECIMALS)
    usd = items["CURRENCY#USD"]
    assert usd["date"] == "2022-05-06"  # the last PTAX inside the demo window
    assert usd["prev_date"] == "2022-04-29"
    assert {"COMMODITY#BRENT", "BRENT_BRL", "STOCK#PETR4"} <= items.keys()


def test_overview_values_are_as_of_the_end_date_given(
    client: httpx.Client, real_store: SqliteStore
) -> None:
    # The cards showed the latest values whatever End date the page had picked. On Wednesday
    # 2022-01-12 the week of 01-09 was not published yet (Friday 01-14): the latest was 01-02's.
    body = client.get(VIEWS["overview"] + "?end=2022-01-12").json()
    assert body["end"] == "2022-01-12"
    items = {i["key"]: i for i in body["items"]}
    gas = items["FUEL#GASOLINE#BR"]
    stored = {r.date.isoformat(): float(r.value or 0) for r in real_store.query("FUEL#GASOLINE#BR")}
    assert (gas["date"], gas["prev_date"]) == ("2022-01-02", "2021-12-26")
    assert (gas["value"], gas["prev_value"]) == (stored["2022-01-02"], stored["2021-12-26"])
    assert items["CURRENCY#USD"]["date"] == "2022-01-12"
    assert all(i["date"] <= "2022-01-12" for i in body["items"] if i["date"])
    head, *rows = csv.reader(
        io.StringIO(client.get(VIEWS["overview"] + "?end=2022-01-12&format=csv").text)
    )
    assert max(r[head.index("date")] for r in rows) == "2022-01-12"
    assert client.get(VIEWS["overview"] + "?end=2099-01-01").status_code == 422


def _week_of(day: str) -> str:
    """The Sunday opening the ANP survey week that holds ``day``."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=(d.weekday() + 1) % 7)).isoformat()


def _stored(store: SqliteStore, key: str, first: str, last: str) -> list[float]:
    days = (date.fromisoformat(first), date.fromisoformat(last))
    return [float(r.value or 0) for r in store.query(key, *days) if r.status is Status.OK]


def test_an_end_date_keeps_only_what_was_published_by_its_end(
    client: httpx.Client, real_store: SqliteStore
) -> None:
    # ANP published the week of Sunday 2022-01-30 on Friday 02-04 at 18:00: every view showed
    # it for an End date of Thursday 02-03, a week nobody could have seen that day.
    gas, usd, brent = (f"FUEL{Q}GASOLINE{Q}BR", f"CURRENCY{Q}USD", f"COMMODITY{Q}BRENT")

    def weeks(end: str) -> list[str]:
        body = client.get(f"/api/series?key={gas}&start=2022-01-01&end={end}").json()
        return [p["date"] for p in body["points"]]

    assert weeks("2022-02-03")[-1] == "2022-01-23"
    assert weeks("2022-02-04")[-1] == "2022-01-30"
    # The index chart: each line up to what its own schedule had published by Thursday's end:
    # the dollar's week of 01-30 averages Monday to Thursday (not Friday's PTAX), FRED's Brent
    # ends on Monday 01-24 (its batch through 01-31 is out on Friday), in the week of 01-23.
    keys = f"{gas},{usd},{brent}"
    index = client.get(f"/api/indices?keys={keys}&start=2021-11-07&end=2022-02-03").json()
    assert {s["key"]: s["points"][-1]["date"] for s in index["series"]} == {
        "FUEL#GASOLINE#BR": "2022-01-23",
        "CURRENCY#USD": "2022-01-30",
        "COMMODITY#BRENT": "2022-01-23",
    }
    weekly = client.get(f"/api/series?key={usd}&freq=weekly&start=2022-01-30&end=2022-02-03")
    known = _stored(real_store, "CURRENCY#USD", "2022-01-30", "2022-02-03")
    assert len(known) == 4
    assert weekly.json()["points"] == [
        {"date": "2022-01-30", "value": pytest.approx(sum(known) / 4, abs=1e-6)}
    ]
    # Correlations and pass-through use the same weeks: one more change once it is published.
    pair = f"{gas},{usd}"
    thursday = client.get(f"/api/correlations?keys={pair}&start=2021-11-07&end=2022-02-03").json()
    friday = client.get(f"/api/correlations?keys={pair}&start=2021-11-07&end=2022-02-04").json()
    assert (thursday["last"], friday["last"]) == ("2022-01-23", "2022-01-30")
    assert friday["n"][0][1] == thursday["n"][0][1] + 1
    lags = "/api/lags?fuel=GASOLINE&area=BR&driver=CURRENCY%23USD&start=2021-11-07&end="
    n0 = [client.get(lags + end).json()["cross"][0]["n"] for end in ("2022-02-03", "2022-02-04")]
    assert n0[1] == n0[0] + 1
    # The cards: the week published by then, the day's PTAX, FRED's Brent to the Monday of its
    # last weekly batch out (the batch through 01-31 is out on Friday 02-04).
    items = {i["key"]: i for i in client.get("/api/overview?end=2022-02-03").json()["items"]}
    assert items["FUEL#GASOLINE#BR"]["date"] == "2022-01-23"
    assert items["CURRENCY#USD"]["date"] == "2022-02-03"
    assert items["COMMODITY#BRENT"]["date"] == "2022-01-24"


OVERVIEW = ["FUEL#GASOLINE#BR", "FUEL#ETHANOL#BR", "FUEL#DIESEL_S10#BR"]
OVERVIEW += ["CURRENCY#USD", "BRENT_BRL", "STOCK#PETR4", "COMMODITY#BRENT"]


@pytest.fixture(scope="module")
def midweek(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store as on Wednesday 2026-07-01: the fuel weeks up to that of 06-21 (published Friday
    06-26), the daily series up to the day, the page's default views precomputed."""
    store = SqliteStore(tmp_path_factory.mktemp("midweek") / "m.sqlite", clock=FixedClock(NOW))
    first = date(2026, 4, 26)
    sundays = [first + timedelta(weeks=i) for i in range(9)]  # 04-26 .. 06-21
    days = [
        first + timedelta(days=i) for i in range(67) if (first + timedelta(days=i)).weekday() < 5
    ]
    records = [
        Record(key, d, Decimal(f"{5 + i / 100:.2f}"), Status.OK)
        for key in OVERVIEW[:3]
        for i, d in enumerate(sundays)
    ] + [
        Record(key, d, Decimal(f"{50 + i / 10:.2f}"), Status.OK)
        for key in OVERVIEW[3:]
        if key != "BRENT_BRL"
        for i, d in enumerate(days)
    ]
    store.put_records(records)
    assert days[-1] == NOW.date()
    mark_changed(store, NOW, "fill")
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
    app.state.precomputer.refresh()
    with serving(app) as url:
        yield url
    store.close()


@pytest.mark.parametrize("end", [None, "2026-06-25", "2026-06-26"])
def test_overview_cards_end_where_the_index_chart_below_them_ends(
    midweek: str, end: str | None
) -> None:
    # An End date picked, the cards and the chart read it: each card's date is in its line's
    # last week, and the newest card's week is the chart's last point. With none the cards are
    # each series' latest stored value (the dollar's of Wednesday 07-01), and the chart, as the
    # page asks it (the default view, precomputed), is the 52 weeks up to the fuel's newest
    # (06-21's, its daily lines read to Saturday 06-27) for every line: a daily line no longer
    # runs on into the week under way, past the fuel's window.
    with httpx.Client(base_url=midweek, timeout=30.0) as client:
        until = {"end": end} if end else {}
        if end is None:  # the page's first request, precomputed
            meta = MetaView.model_validate(client.get("/api/meta").json())
            query: dict[str, object] = next(
                {name: list(values) for name, values in params}
                for path, params in default_requests(meta)
                if path == "/api/indices" and dict(params)["keys"] == tuple(OVERVIEW[:6])
            )
        else:
            start = date.fromisoformat(end) - timedelta(weeks=52)
            query = {"keys": OVERVIEW[:6], "start": start.isoformat()} | until
        index = client.get("/api/indices", params=query)
        overview = client.get("/api/overview", params=until).json()
    lines = {s["key"]: s["points"][-1]["date"] for s in index.json()["series"] if s["points"]}
    cards = {i["key"]: i["date"] for i in overview["items"] if i["key"] in lines}
    assert cards.keys() == lines.keys() == set(OVERVIEW[:6])
    if end is None:  # the page's default request is a stored view
        assert "etag" in index.headers
        assert dict(query)["until"] == ["2026-06-27"]
        assert set(lines.values()) == {"2026-06-21"}
        assert cards["CURRENCY#USD"] == "2026-07-01"
    else:  # the fuel week of 06-21 counts from Friday 06-26 on
        assert {k: _week_of(d) for k, d in cards.items()} == lines
        assert _week_of(max(cards.values())) == max(lines.values())
        assert lines["FUEL#GASOLINE#BR"] == ("2026-06-14" if end < "2026-06-26" else "2026-06-21")


def test_indices_start_at_100(client: httpx.Client) -> None:
    body = client.get(VIEWS["indices"] + "&base=2021-09-01").json()
    assert body["base"] == "2021-09-01"
    for series in body["series"]:
        assert series["base_date"] == "2021-09-05"  # first survey week on or after the base
        first = next(p for p in series["points"] if p["date"] == "2021-09-05")
        assert first["value"] == pytest.approx(100.0)


@pytest.mark.parametrize("start", ["2021-09-01", "2021-09-05"])  # a Wednesday, a Sunday
def test_without_a_base_every_index_line_starts_at_100_on_the_first_common_week(
    client: httpx.Client, start: str
) -> None:
    # The daily series' weeks start on the Sunday of start's week (2021-08-29), the fuel's on
    # the first survey week on or after it: no line may start before the base, below 100.
    keys = f"FUEL{Q}GASOLINE{Q}BR,BRENT_BRL,CURRENCY{Q}USD,STOCK{Q}PETR4"
    # By 2022-05-13 every value of the week of 05-01 is out (FRED's Brent of Friday 05-06 too)
    path = f"/api/indices?keys={keys}&start={start}&end=2022-05-13"
    body = client.get(path).json()
    assert body["base"] == "2021-09-05"
    for series in body["series"]:
        assert series["base_date"] == body["base"], series["key"]
        assert series["points"][0] == {"date": "2021-09-05", "value": 100.0}, series["key"]
        assert series["points"][-1]["date"] == "2022-05-01"
    rows = list(csv.DictReader(io.StringIO(client.get(path + "&format=csv").text)))
    for key in keys.replace(Q, "#").split(","):
        first = next(r for r in rows if r["key"] == key)
        assert (first["date"], float(first["index"])) == ("2021-09-05", 100.0)


def test_a_movement_with_no_pump_price_in_its_window_indexes_no_driver(
    client: httpx.Client,
) -> None:
    """São Paulo's gasoline is stored from 2024 on: in a 2021 window the price chart has no
    point, and the index chart's answer (the movement view's CSV, named for the fuel) gave its
    drivers' rows alone, indexed to a base of theirs. One pump price with no value in the
    window: no line, each with its reason, in the JSON and the CSV alike."""
    keys = [f"FUEL{Q}GASOLINE{Q}SP", f"CURRENCY{Q}USD", "BRENT_BRL", f"STOCK{Q}PETR4"]
    window = "start=2021-09-01&end=2022-03-01"
    price = client.get(f"/api/series?key={keys[0]}&freq=weekly&{window}").json()
    assert price["points"] == []
    path = f"/api/indices?keys={','.join(keys)}&{window}"
    body = client.get(path).json()
    assert body["base"] is None
    assert [s["points"] for s in body["series"]] == [[]] * 4
    assert [s["reason"] for s in body["series"]] == ["no_value", *["no_pump_price"] * 3]
    assert [s["note"] for s in body["series"]] == [
        "FUEL#GASOLINE#SP: no stored value in the window",
        *(
            f"{key}: not indexed: FUEL#GASOLINE#SP, the pump price it is indexed with, has no "
            "value in the window"
            for key in ("CURRENCY#USD", "BRENT_BRL", "STOCK#PETR4")
        ),
    ]
    rows = list(csv.DictReader(io.StringIO(client.get(path + "&format=csv").text)))
    assert [(r["key"], r["date"], r["index"]) for r in rows] == [
        (k.replace(Q, "#"), "", "") for k in keys
    ]
    assert [r["note"] for r in rows] == [s["note"] for s in body["series"]]
    assert [r["reason"] for r in rows] == [s["reason"] for s in body["series"]]
    # Several pump prices (the overview's chart) keep the other lines, drawn there: each pump
    # price with no value is left out with its note, whether another has values or none has.
    for pump in ("BR", "RJ"):
        both = f"/api/indices?keys=FUEL{Q}GASOLINE{Q}{pump},{keys[0]},{keys[1]}&{window}"
        drawn = [bool(s["points"]) for s in client.get(both).json()["series"]]
        assert drawn == [pump == "BR", False, True]


def test_an_index_line_with_no_point_says_why(client: httpx.Client, tmp_path: Path) -> None:
    """A line with no point answered "no observation on or after the base date" (and the page
    "no value in this window") whatever the reason: the API names it, as a code in ``reason``.
    Real data: São Paulo's gasoline is stored from 2024-06-23 and the drivers up to 2022-05-06,
    so over every week (no start) the drivers have values, all before the base week."""
    keys = f"FUEL{Q}GASOLINE{Q}SP,CURRENCY{Q}USD,BRENT_BRL,STOCK{Q}PETR4"
    body = client.get(f"/api/indices?keys={keys}&end=2026-06-27").json()
    assert body["base"] == "2024-06-23"
    assert [(s["reason"], bool(s["points"])) for s in body["series"]] == [
        (None, True),
        *[("before_base", False)] * 3,
    ]
    drivers = client.get(f"/api/series?key=CURRENCY{Q}USD&end=2026-06-27").json()["points"]
    assert drivers and drivers[-1]["date"] < body["base"]  # values, all before the base
    # SYNTHETIC: no Brent in the base week (Brent in reais is indexed at its next week) and a
    # PETR4 of zero through it (no line); a series never stored has no value in the window.
    with SqliteStore(tmp_path / "edges.sqlite", clock=EDGES_CLOCK) as store:
        fill_index_edges(store)
        app = create_app(store, DEFAULT_CATALOG, clock=EDGES_CLOCK)
        with serving(app) as url:
            edges = f"{keys.replace('SP', 'BR')},FUEL{Q}ETHANOL{Q}BR"
            got = httpx.get(f"{url}/api/indices?keys={edges}&end={EDGES_END}").json()
    assert got["base"] == EDGES_BASE.isoformat()
    assert [(s["key"], s["base_date"], s["reason"]) for s in got["series"]] == [
        ("FUEL#GASOLINE#BR", "2021-03-07", None),
        ("CURRENCY#USD", "2021-03-07", None),
        ("BRENT_BRL", "2021-03-14", None),
        ("STOCK#PETR4", None, "zero_base"),
        ("FUEL#ETHANOL#BR", None, "no_value"),
    ]
    assert got["series"][3]["note"] == "STOCK#PETR4: the base value on 2021-03-07 is zero"
    assert got["series"][4]["note"] == "FUEL#ETHANOL#BR: no stored value in the window"


def test_correlations_have_counts_and_unit_diagonal(client: httpx.Client) -> None:
    body = client.get(VIEWS["correlations"]).json()
    size = len(body["keys"])
    assert size == 3
    for i in range(size):
        assert body["r"][i][i] == pytest.approx(1.0)
        for j in range(size):
            assert body["n"][i][j] == body["n"][j][i] > 40


def test_correlations_over_fewer_than_eight_weeks_are_empty(client: httpx.Client) -> None:
    # Five weekly changes in common: the cells keep their counts and have no r.
    keys = f"FUEL{Q}GASOLINE{Q}BR,CURRENCY{Q}USD"
    body = client.get(f"/api/correlations?keys={keys}&start=2022-03-27&end=2022-05-06").json()
    assert body["min_weeks"] == 8
    assert body["n"][0][1] == 5 and body["r"][0][1] is None and body["r"][1][0] is None
    assert (body["first"], body["last"]) == (None, None)


def test_lags_have_13_lags_and_a_regression(client: httpx.Client) -> None:
    body = client.get(VIEWS["lags"]).json()
    assert [c["lag"] for c in body["cross"]] == list(range(13))
    # r = 0.42 at lag 2 over the demo's year rides on March 2022 (pump +8.4% in the week of
    # 03-13, Brent in BRL a log change of 0.145 in that of 02-27; 0.421 by pandas on the files,
    # Brent to 04-30 at the PTAX on or before each day; 0.51 when Carnival's two Brent days
    # were dropped): the block-permutation test over the 13 lags does not find it significant
    # at 5%, so no lag is named (Student's t had named it)
    top = max(body["cross"], key=lambda c: abs(c["r"]))
    assert top["lag"] == 2 and top["r"] == pytest.approx(0.421, abs=1e-3)
    assert body["best"] is None
    reg = body["regression"]
    assert len(reg["coefficients"]) == reg["lags"] + 1 == 5
    assert reg["ci_low"] < reg["cumulative"] < reg["ci_high"]
    assert reg["pump_pct_ci_low"] < reg["pump_pct_per_10pct"] < reg["pump_pct_ci_high"]


def test_lags_without_enough_weeks_explain_why(client: httpx.Client) -> None:
    body = client.get("/api/lags?fuel=GASOLINE&start=2022-03-01&end=2022-04-10&reg_lags=4").json()
    assert body["regression"] is None
    assert "overlapping weeks" in body["regression_error"]
    assert body["regression_weeks"] < body["regression_min_weeks"] == 8


def test_correlations_over_every_stored_week_name_the_weeks_they_use(client: httpx.Client) -> None:
    # Window "All": no start is asked for, the answer says which weeks the changes span.
    keys = f"FUEL{Q}GASOLINE{Q}BR,CURRENCY{Q}USD"
    body = client.get(f"/api/correlations?keys={keys}&end=2022-05-06").json()
    assert body["start"] is None
    # gasoline's first stored week (the dollar's go back further): its first change compares
    # the week after with it
    gasoline = client.get(f"/api/series?key=FUEL{Q}GASOLINE{Q}BR").json()["points"]
    assert (body["first"], body["last"]) == (gasoline[0]["date"], "2022-05-01")
    windowed = client.get(f"/api/correlations?keys={keys}&start=2021-11-01&end=2022-05-06").json()
    assert (windowed["first"], windowed["last"]) == ("2021-11-07", "2022-05-01")


def test_lags_of_a_price_that_never_moved_estimate_nothing(client: httpx.Client) -> None:
    # CNG in the North stayed at R$ 4.39 for these 13 weeks: no r, no lag, no regression.
    body = client.get("/api/lags?fuel=CNG&area=REGION_N&start=2022-01-30&end=2022-05-01").json()
    assert body["unchanged_price"] == pytest.approx(4.39)
    assert body["best"] is None and body["regression"] is None
    assert all(c["r"] is None for c in body["cross"])
    assert "did not change" in body["regression_error"]
    moving = client.get("/api/lags?fuel=GASOLINE&area=BR&start=2022-01-30&end=2022-05-01").json()
    assert moving["unchanged_price"] is None


def test_no_strongest_lag_on_fewer_weeks_than_the_minimum(client: httpx.Client) -> None:
    # Three overlapping weeks gave "strongest link at a lag of 1 weeks (r = -0.80, 3 weeks)".
    body = client.get("/api/lags?fuel=GASOLINE&area=BR&start=2021-03-16&end=2021-06-15").json()
    assert body["min_weeks"] == 8
    assert max(c["n"] for c in body["cross"]) < 8
    assert body["best"] is None
    assert all(c["r"] is None for c in body["cross"])
    full = client.get(VIEWS["lags"]).json()
    assert all(c["n"] == full["cross"][0]["n"] >= 8 for c in full["cross"])
    assert all(c["r"] is not None for c in full["cross"])


def test_regional_view_defaults_to_latest_state_week(client: httpx.Client) -> None:
    body = client.get(VIEWS["regional"]).json()
    assert body["week"] == "2026-06-21"
    states = [a for a in body["areas"] if a["level"] == "STATE"]
    assert len(states) == 27
    sp = next(a for a in states if a["area"] == "SP")
    assert sp["price"] == 6.45
    spread = body["spread"]
    prices = [a["price"] for a in states]
    assert spread["range"] == pytest.approx(max(prices) - min(prices))
    assert spread["count"] == 27


@pytest.mark.parametrize(("fuel", "price_range"), [("GASOLINE", 1.4), ("ETHANOL", 2.07)])
def test_the_map_spread_is_given_to_the_documented_decimals(
    client: httpx.Client, fuel: str, price_range: float
) -> None:
    """7.69 − 6.29 was served as 1.4000000000000004 and 5.86 − 3.79 as 2.0700000000000003, the
    standard deviation to 17 digits: the spread is rounded as every other value is."""
    spread = client.get(f"/api/regional?fuel={fuel}").json()["spread"]
    assert spread["range"] == price_range
    for name in ("min_price", "max_price", "range", "std"):
        assert spread[name] == round(spread[name], DECIMALS), name


def test_regional_view_for_a_fuel_with_only_regions(client: httpx.Client) -> None:
    body = client.get("/api/regional?fuel=DIESEL").json()
    assert body["week"] == "2022-05-01"
    assert sorted(a["area"] for a in body["areas"]) == [
        "BR",
        "REGION_CO",
        "REGION_N",
        "REGION_NE",
        "REGION_S",
        "REGION_SE",
    ]
    assert body["spread"] is None  # no state prices that week


def test_parity_by_state(client: httpx.Client) -> None:
    body = client.get("/api/parity?week=2026-06-21").json()
    rows = {a["area"]: a for a in body["areas"]}
    assert rows["BA"]["ratio"] == pytest.approx(4.88 / 7.07)
    assert rows["BA"]["ethanol_pays"] is True
    assert rows["AC"]["ethanol_pays"] is False  # 5.28 / 7.50 = 0.704
    assert body["threshold"] == 0.7


def test_health_completeness_on_real_data(client: httpx.Client, real_store: SqliteStore) -> None:
    body = client.get(VIEWS["health"]).json()
    rows = {s["key"]: s for s in body["series"]}
    usd = rows["CURRENCY#USD"]
    # PTAX is published 14 h after the day starts in São Paulo: at NOW the last one is 2026-06-30.
    assert usd["last_available"] == "2026-06-30"
    expected = list(expected_between(get_calendar("ANBIMA"), date(2021, 5, 19), date(2026, 6, 30)))
    assert usd["expected"] == len(expected)
    assert usd["present"] == len(real_store.query("CURRENCY#USD"))
    assert usd["completeness"] == round(usd["present"] / len(expected), DECIMALS)
    assert body["stored_series"] == len(rows)
    assert body["dead_letters"] is None  # no queue given
    assert (body["pending"], body["quarantined"], body["last_runs"]) == (0, 0, [])


@pytest.fixture
def troubled(tmp_path: Path) -> Iterator[str]:
    """A small store with a pending and a quarantined record, a run log and a dead letter."""
    clock = FixedClock(NOW)
    store = SqliteStore(tmp_path / "t.sqlite", clock=clock)
    queue = SqliteQueue(
        tmp_path / "q.sqlite", clock=clock, visibility_timeout=timedelta(seconds=30)
    )
    days = [date(2026, 6, 22) + timedelta(days=i) for i in range(7)]  # Mon..Sun
    ok = [Record("CURRENCY#USD", d, Decimal("5.1"), Status.OK) for d in days[:4]]
    store.put_records(ok)
    store.put_pending(Record("CURRENCY#USD", days[4], None, Status.PENDING, reason="timeout"))
    store.put_pending(Record("STOCK#PETR4", days[0], None, Status.PENDING, reason="502"))
    assert store.quarantine("STOCK#PETR4", days[0], 0, "gave up")
    store.put_run(RunLog("orchestrate", NOW - timedelta(minutes=5), NOW, {"messages": 3}))
    queue.send(["poison"])
    queue.dead_letter(queue.receive(1)[0], "bad body")
    with serving(create_app(store, DEFAULT_CATALOG, queue, clock)) as url:
        yield url
    store.close()
    queue.close()


def test_health_counts_pending_quarantined_dead_letters_and_runs(troubled: str) -> None:
    body = httpx.get(troubled + "/api/health").json()
    assert (body["pending"], body["quarantined"], body["dead_letters"]) == (1, 1, 1)
    assert [r["stage"] for r in body["last_runs"]] == ["orchestrate"]
    assert body["last_runs"][0]["counts"] == {"messages": 3}
    usd = next(s for s in body["series"] if s["key"] == "CURRENCY#USD")
    # 4 OK days (Mon-Thu) of the 7 ANBIMA days 2026-06-22..2026-06-30; the Friday is pending
    assert (usd["present"], usd["expected"], usd["pending"]) == (4, 7, 1)
    assert usd["completeness"] == pytest.approx(4 / 7)


INVALID = {
    "unknown fuel": ("/api/lags?fuel=KEROSENE", "unknown fuel 'KEROSENE'"),
    "unknown area": ("/api/lags?fuel=GASOLINE&area=XX", "unknown area 'XX'"),
    "bad date": (f"/api/series?key=CURRENCY{Q}USD&start=2022-13-01", "start"),
    "start after end": (
        f"/api/series?key=CURRENCY{Q}USD&start=2022-02-01&end=2022-01-01",
        "start 2022-02-01 is after end 2022-01-01",
    ),
    "lag too large": ("/api/lags?fuel=GASOLINE&max_lag=13", "max_lag"),
    "negative lags": ("/api/lags?fuel=GASOLINE&reg_lags=-1", "reg_lags"),
    "week not a Sunday": ("/api/regional?fuel=GASOLINE&week=2022-05-02", "not a Sunday"),
    "parity week not a Sunday": ("/api/parity?week=2022-05-03", "not a Sunday"),
    "one key for correlations": (f"/api/correlations?keys=CURRENCY{Q}USD", "at least two"),
    "too many keys": ("/api/indices?keys=" + ",".join(["BRENT_BRL"] * 1 + [
        f"FUEL{Q}GASOLINE{Q}{a}" for a in ("BR", "REGION_N", "REGION_NE", "REGION_CO", "REGION_SE", "REGION_S", "SP", "RJ", "MG",
                                            "PR", "SC", "RS")]), "at most 12"),
    "no keys": ("/api/indices", "keys"),
    "pump price as driver": (f"/api/lags?fuel=GASOLINE&driver=FUEL{Q}DIESEL{Q}BR", "pump price"),
    "unknown driver": (f"/api/lags?fuel=GASOLINE&driver=STOCK{Q}NOPE", "unknown driver 'STOCK#NOPE'"),
    "unknown format": ("/api/overview?format=xml", "format"),
    "unknown freq": (f"/api/series?key=CURRENCY{Q}USD&freq=monthly", "freq"),
    "missing key": ("/api/series", "key"),
    # blank: it was a 404 "unknown series ''", naming no parameter
    "blank key": ("/api/series?key=", "key: give a series key"),
    "key of spaces": ("/api/series?key=%20%20", "key: give a series key"),
}  # fmt: skip


@pytest.mark.parametrize(("path", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_input_is_422_with_a_message(client: httpx.Client, path: str, message: str) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]


@pytest.mark.parametrize(("path", "message"), INVALID.values(), ids=INVALID.keys())
def test_every_422_has_one_shape(client: httpx.Client, path: str, message: str) -> None:
    """A 422 of pydantic's checks gave ``detail`` and ``errors`` (each ``loc`` naming the
    parameter), one of the routes' own checks (start after end, a week not a Sunday) only
    ``detail``: a client reading ``errors`` found none. Both now give both."""
    body = client.get(path).json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for error in body["errors"]:
        assert error["loc"][0] == "query" and error["msg"] and error["type"]


OWN_CHECKS = {
    "start after end": (
        f"/api/series?key=CURRENCY{Q}USD&start=2022-05-01&end=2022-01-01",
        ["start", "end"],
    ),
    "start after until": (
        f"/api/indices?keys=CURRENCY{Q}USD&start=2022-05-01&until=2022-01-01",
        ["start", "until"],
    ),
    "week not a Sunday": ("/api/regional?fuel=GASOLINE&week=2022-05-02", ["week"]),
    "one key for correlations": (f"/api/correlations?keys=CURRENCY{Q}USD", ["keys"]),
    "end a year ahead": (f"/api/series?key=CURRENCY{Q}USD&end=2199-01-01", ["end"]),
    "table without csv": ("/api/meta?table=areas", ["table"]),
}  # fmt: skip


@pytest.mark.parametrize(("path", "params"), OWN_CHECKS.values(), ids=OWN_CHECKS.keys())
def test_a_routes_own_check_names_its_parameters_in_errors(
    client: httpx.Client, path: str, params: list[str]
) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    body = r.json()
    assert [e["loc"] for e in body["errors"]] == [["query", p] for p in params]
    assert all(e["msg"] == body["detail"] for e in body["errors"])


def test_a_404_has_the_422s_shape(client: httpx.Client) -> None:
    body = client.get(f"/api/series?key=FUEL{Q}GASOLINE{Q}XX").json()
    assert "'FUEL#GASOLINE#XX'" in body["detail"] and body["errors"] == []


UNKNOWN = {
    "not in catalog": (f"/api/series?key=FUEL{Q}GASOLINE{Q}XX", "'FUEL#GASOLINE#XX'"),
    "unknown currency": (f"/api/series?key=CURRENCY{Q}XYZ", "'CURRENCY#XYZ'"),
    "malformed key": ("/api/series?key=NOT_A_KEY", "'NOT_A_KEY'"),
    "unknown among several": (f"/api/indices?keys=CURRENCY{Q}USD,STOCK{Q}NOPE", "'STOCK#NOPE'"),
}


@pytest.mark.parametrize(("path", "key"), UNKNOWN.values(), ids=UNKNOWN.keys())
def test_unknown_series_is_404_naming_it(client: httpx.Client, path: str, key: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, r.text
    assert key in r.json()["detail"]


GROUPS = {
    "series": f"/api/series?key=fuel{Q}gasoline",
    "indices": f"/api/indices?keys=CURRENCY{Q}USD,FUEL{Q}GASOLINE",
    "correlations": f"/api/correlations?keys=CURRENCY{Q}USD,FUEL{Q}GASOLINE",
}


@pytest.mark.parametrize("path", GROUPS.values(), ids=GROUPS.keys())
def test_a_prefix_of_several_series_is_404_naming_some_of_them(
    client: httpx.Client, path: str
) -> None:
    """`key=FUEL#GASOLINE` (a group, as --series takes it) said "unknown series
    'FUEL#GASOLINE': 'FUEL#GASOLINE': a FUEL key has 2 part(s) after the kind": the key
    twice, and no key to give instead. It names how many series the prefix holds and the
    first ones, as `fuelpipe export FUEL#GASOLINE` does."""
    r = client.get(path)
    assert r.status_code == 404, r.text
    group = [s.key for s in DEFAULT_CATALOG if s.key.startswith("FUEL#GASOLINE#")]
    assert r.json()["detail"] == (
        f"'FUEL#GASOLINE' names {len(group)} series ({group[0]}, {group[1]}, …), not one: "
        f"give one key, e.g. {group[0]}"
    )


ODD = ["%00", "' OR 1=1", "9999-99-99", "-1", "1e309", "🙂", "a" * 300, "FUEL%23%23", "%23"]


@pytest.mark.parametrize("value", ODD)
def test_odd_values_never_cause_a_500(client: httpx.Client, value: str) -> None:
    for template in (
        "/api/series?key={v}",
        "/api/series?key=CURRENCY%23USD&start={v}",
        "/api/indices?keys={v}",
        "/api/lags?fuel={v}",
        "/api/lags?fuel=GASOLINE&driver={v}",
        "/api/regional?fuel=GASOLINE&week={v}",
        "/api/correlations?keys=BRENT_BRL&keys={v}",
    ):
        r = client.get(template.format(v=value))
        assert r.status_code in (404, 422), (template, value, r.status_code, r.text)
        assert r.json()["detail"]


@pytest.mark.parametrize(
    "name",
    ["overview", "series", "indices", "correlations", "lags", "regional", "parity", "health"],
)
def test_csv_export_of_every_view(client: httpx.Client, name: str) -> None:
    path = VIEWS[name]
    r = client.get(path + ("&" if "?" in path else "?") + "format=csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(
        rf'attachment; filename="{name}(-[\w.-]+)?\.csv"', r.headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    body = client.get(path).json()
    counts = {
        "overview": lambda b: len(b["items"]),
        "series": lambda b: len(b["points"]),
        "indices": lambda b: sum(len(s["points"]) or 1 for s in b["series"]),
        "correlations": lambda b: len(b["keys"]) ** 2,
        "lags": lambda b: len(b["cross"]),
        "regional": lambda b: len(b["areas"]),
        "parity": lambda b: len(b["areas"]),
        "health": lambda b: len(b["series"]),
    }
    expected_rows = counts[name](body)
    assert expected_rows > 0
    assert len(rows) == expected_rows + 1  # the header
    assert all(len(row) == len(rows[0]) for row in rows)


def _csv_rows(client: httpx.Client, path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(client.get(path + "&format=csv").text)))


def test_the_csvs_say_what_their_json_says(client: httpx.Client) -> None:
    """indices.csv left out a line with no points (only its note) and every line's base date;
    the map's CSV had no week, product, unit or spread, the parity CSV no week: a download did
    not say which week or unit its prices were."""
    window = "start=2021-05-09&until=2022-05-07"
    path = f"/api/indices?keys=FUEL{Q}GASOLINE{Q}BR,FUEL{Q}GASOLINE{Q}SP&{window}"
    lines = {s["key"]: s for s in client.get(path).json()["series"]}
    gas_br, gas_sp = lines["FUEL#GASOLINE#BR"], lines["FUEL#GASOLINE#SP"]
    assert gas_br["points"] and not gas_sp["points"] and gas_sp["note"]
    rows = _csv_rows(client, path)
    assert [r for r in rows if r["key"] == "FUEL#GASOLINE#SP"] == [
        {
            "key": "FUEL#GASOLINE#SP",
            "base_date": "",
            "date": "",
            "index": "",
            "note": gas_sp["note"],
            "reason": "no_value",
            "label": gas_sp["label"],
            "base": "2021-05-16",
        }
    ]
    br_rows = [r for r in rows if r["key"] == "FUEL#GASOLINE#BR"]
    assert len(br_rows) == len(gas_br["points"])
    assert {(r["base_date"], r["note"]) for r in br_rows} == {(gas_br["base_date"], "")}

    for path in ("/api/regional?fuel=LPG&week=2022-04-24", "/api/regional?fuel=GASOLINE"):
        body = client.get(path).json()
        rows = _csv_rows(client, path)
        assert len(rows) == len(body["areas"])
        assert {(r["week"], r["product"], r["unit"]) for r in rows} == {
            (body["week"], body["product"], body["unit"])
        }
        spread = body["spread"] or {}
        for name in ("count", "min_area", "min_price", "max_area", "max_price", "range", "std"):
            want = "" if spread.get(name) is None else str(spread[name])
            assert {r[f"spread_{name}"] for r in rows} == {want}, (path, name)
    assert client.get("/api/regional?fuel=LPG&week=2022-04-24").json()["spread"] is None
    assert client.get("/api/regional?fuel=GASOLINE").json()["spread"]["count"] == 27

    parity = client.get("/api/parity").json()
    rows = _csv_rows(client, "/api/parity?week=" + parity["week"])
    assert rows and {r["week"] for r in rows} == {parity["week"]}


@pytest.mark.parametrize(
    ("path", "lows", "highs"),
    [
        # three states at R$ 5.90 the cheapest: the map named AP alone
        ("/api/regional?fuel=GASOLINE&week=2024-12-01", ["AP", "PB", "PI"], ["AC"]),
        # two at R$ 4.81 the dearest: it named RR alone (the last in code order)
        ("/api/regional?fuel=ETHANOL&week=2024-06-30", ["MT"], ["AC", "RR"]),
    ],
)
def test_the_spread_names_every_state_tied_at_the_minimum_or_maximum(
    client: httpx.Client, path: str, lows: list[str], highs: list[str]
) -> None:
    body = client.get(path).json()
    prices = {a["area"]: a["price"] for a in body["areas"] if a["level"] == "STATE"}
    spread = body["spread"]
    assert [a for a, p in sorted(prices.items()) if p == min(prices.values())] == lows
    assert [a for a, p in sorted(prices.items()) if p == max(prices.values())] == highs
    assert (spread["min_areas"], spread["max_areas"]) == (lows, highs)
    assert (spread["min_area"], spread["max_area"]) == (lows[0], highs[0])
    rows = _csv_rows(client, path)  # a list in a CSV cell: its JSON text
    assert {(r["spread_min_areas"], r["spread_max_areas"]) for r in rows} == {
        (json.dumps(lows), json.dumps(highs))
    }


SHORT_LAGS = "/api/lags?fuel=GASOLINE&start=2021-05-09&end=2021-08-01"
"""Too few weeks for the regression (``regression_error``, ``regression_weeks``)."""


@pytest.mark.parametrize(
    ("path", "elsewhere"),
    [
        ("/api/overview?end=2022-01-12", ()),
        (VIEWS["series"], ()),
        (VIEWS["series_weekly"], ()),
        (VIEWS["indices"], ()),
        (VIEWS["indices"] + "&base=2021-09-01", ()),
        (VIEWS["correlations"], ()),
        # regression.n is regression_n (every row), .t_crit is on the coefficients' rows
        # (t_crit); no lag stands out here (best is null: its best_* columns, below)
        (VIEWS["lags"], ("regression_n", "regression_t_crit", "best")),
        (SHORT_LAGS, ("regression", "best")),
        (VIEWS["regional"], ()),
        ("/api/regional?fuel=LPG&week=2022-04-24", ("spread",)),
        (VIEWS["parity"], ()),
        (VIEWS["meta"], ()),
        # health's totals are its CSV's total_* (their names are the series' own counts:
        # test_csv_tables); its alerts and alert_delivery (null here, without an alert
        # reader) are lists
        (VIEWS["health"], (*HEALTH_TOTALS, "alerts", "alert_delivery")),
        ("/api/live", ()),
    ],
)
def test_each_csv_gives_every_field_its_json_gives(
    client: httpx.Client, path: str, elsewhere: tuple[str, ...]
) -> None:
    """A download said less than the JSON: no End date in the overview's, no window, first and
    last week or minimum weeks in the correlations', no strongest lag, regression summary or
    pump and driver in the lags', no threshold in the parity's, no label or freq in the price
    chart's... Every field beside the rows is now a column on every row (an object's as
    ``object_field``, as the map's ``spread_*``)."""
    body = client.get(path).json()
    text = client.get(path + ("&" if "?" in path else "?") + "format=csv").text
    assert csv_misses(body, text, elsewhere) == []


def test_the_lags_csv_gives_the_regressions_summary_or_why_there_is_none(
    client: httpx.Client,
) -> None:
    """The CSV had the coefficients but not the headline (a 10% driver move's share reaching
    the pump, its interval, the cumulative pass-through, R²), nor why there was no regression."""
    reg = client.get(VIEWS["lags"]).json()["regression"]
    rows = _csv_rows(client, VIEWS["lags"])
    for name in ("pump_pct_per_10pct", "pump_pct_ci_low", "ci_high", "cumulative", "r2", "dof"):
        want = reg[name] if isinstance(reg[name], int) else round(reg[name], DECIMALS)
        assert {r[f"regression_{name}"] for r in rows} == {str(want)}, name
    short = client.get(SHORT_LAGS).json()
    assert short["regression"] is None and short["regression_weeks"] < short["regression_min_weeks"]
    rows = _csv_rows(client, SHORT_LAGS)
    assert {r["regression_error"] for r in rows} == {short["regression_error"]}
    assert {r["regression_weeks"] for r in rows} == {str(short["regression_weeks"])}
    assert {r["regression_intercept"] + r["coefficient"] for r in rows} == {""}


def test_the_lags_csv_names_the_strongest_lag_on_every_row() -> None:
    """The page names the lag that stands out (none does in the bundled window's views); its
    CSV did not say which one it was."""
    cross = [LagPoint(lag=0, r=0.1, n=40), LagPoint(lag=1, r=0.45, n=39)]
    view = LagsView(
        pump="FUEL#GASOLINE#BR",
        driver="BRENT_BRL",
        pump_label="Gasoline — BR (weekly)",
        driver_label="Brent in BRL",
        cross=cross,
        best=cross[1],
        min_weeks=8,
        regression=None,
    )
    head, rows = view.table()
    table = [dict(zip(head, row, strict=True)) for row in rows]
    assert [(r["best_lag"], r["best_r"], r["best_n"]) for r in table] == [(1, 0.45, 39)] * 2
    assert {(r["pump"], r["driver"], r["min_weeks"]) for r in table} == {
        ("FUEL#GASOLINE#BR", "BRENT_BRL", 8)
    }


def test_change_fields_state_their_unit_in_the_schema_and_the_csv(client: httpx.Client) -> None:
    # The map's change is a fraction (-0.0018 = -0.18 %), the regional changes are percents
    # (2.3 = +2.3 %): each says so in the API reference and in its CSV header.
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    def described(model: str, field: str) -> str:
        return str(schemas[model]["properties"][field].get("description", ""))

    for field in ("change_4w", "change_12w", "change_52w"):
        assert "percent" in described("AreaRow", field), field
    assert "percent" in described("OverviewItem", "change_pct")
    assert "fraction" in described("StateChange", "change")
    driver_move = described("OutlookView", "driver_move")
    assert "log change of Brent in BRL over the 7 days to `driver_day`" in driver_move
    assert "Brent's last day (spot's, or BZ=F's carrying it; PTAX on or before it" in driver_move
    assert "stale driver" in driver_move and "survey week" not in driver_move

    body = client.get(VIEWS["regional"]).json()
    rows = list(csv.DictReader(io.StringIO(client.get(VIEWS["regional"] + "&format=csv").text)))
    first = body["areas"][0]
    for weeks in (4, 12, 52):
        assert float(rows[0][f"change_{weeks}w_pct"]) == pytest.approx(first[f"change_{weeks}w"])
    head, _ = OutlookMapView(fuel="GASOLINE", horizon=1, states=[]).table()
    assert "change_fraction" in head and "change" not in head


def test_labels_are_english_in_the_json_and_the_csv(client: httpx.Client) -> None:
    """Fuel labels took ANP's Portuguese product names ("GASOLINA COMUM — BR (weekly)", "GNV")
    and areas its region names ("Norte", "Brasil") beside English driver labels; ANP's product
    name stays in the catalog's symbol and meta's source_name (the page names products,
    Brazil and the regions in its own language from their codes)."""
    meta = client.get(VIEWS["meta"]).json()
    products = {p["code"]: p for p in meta["products"]}
    assert {c: p["label"] for c, p in products.items()} == {
        "GASOLINE": "Gasoline", "GASOLINE_PREMIUM": "Premium gasoline", "ETHANOL": "Ethanol",
        "DIESEL": "Diesel", "DIESEL_S10": "Diesel S10", "LPG": "LPG", "CNG": "CNG",
    }  # fmt: skip
    assert (products["CNG"]["source_name"], products["DIESEL"]["source_name"]) == (
        "GNV", "OLEO DIESEL"
    )  # fmt: skip
    areas = {a["code"]: a["label"] for a in meta["areas"]}
    assert [areas[c] for c in ("BR", "REGION_N", "REGION_NE", "REGION_CO")] == [
        "Brazil", "North", "Northeast", "Central-West"
    ]  # fmt: skip
    assert (areas["REGION_SE"], areas["REGION_S"], areas["SP"]) == (
        "Southeast",
        "South",
        "São Paulo",
    )
    items = {i["key"]: i["label"] for i in client.get(VIEWS["overview"]).json()["items"]}
    assert items["FUEL#GASOLINE#BR"] == "Gasoline — BR (weekly)"
    assert items["FUEL#LPG#BR"] == "LPG — BR (weekly)"
    lags = client.get("/api/lags?fuel=CNG&area=AC").json()
    assert lags["pump_label"] == "CNG — AC (weekly)"
    overview_csv = client.get(VIEWS["overview"] + "?format=csv").text
    regional_csv = client.get("/api/regional?fuel=DIESEL&format=csv").text
    assert "Diesel S10 — BR (weekly)" in overview_csv
    assert ",North,REGION," in regional_csv and ",Brazil,BR," in regional_csv
    for anp in ("GASOLINA", "ETANOL", "OLEO", "GLP", "GNV", "Brasil", "Norte", "Sudeste"):
        assert anp not in overview_csv + regional_csv, anp


def test_values_and_ratios_carry_no_float_noise(client: httpx.Client) -> None:
    """Brent in BRL is Brent's 2 decimals times PTAX's 4, at most 6 decimals: the float
    product served 353.2735359999999 for 2021-05-19 (the demo's 457.30760699999996 for
    2024-12-27); Acre's parity 5.28 / 7.50 was 0.7040000000000001. Both are given to DECIMALS
    places, in JSON and in CSV alike."""
    day = "start=2021-05-19&end=2021-05-19"
    brent_day = "start=2021-05-19&end=2021-05-28"  # FRED's batch through 05-24 is out on 05-28
    point = client.get(f"/api/series?key=BRENT_BRL&{brent_day}").json()["points"][0]
    brent = client.get(f"/api/series?key=COMMODITY{Q}BRENT&{brent_day}").json()["points"][0]
    (usd,) = client.get(f"/api/series?key=CURRENCY{Q}USD&{day}").json()["points"]
    assert point["date"] == brent["date"] == usd["date"] == "2021-05-19"
    exact = Decimal(repr(brent["value"])) * Decimal(repr(usd["value"]))
    assert point["value"] == float(exact) == 353.273536
    csv_text = client.get(f"/api/series?key=BRENT_BRL&{brent_day}&format=csv").text
    head = "key,unit,date,value,label,freq\n"
    label = "Brent spot in BRL (Brent × PTAX USD)"
    assert csv_text.startswith(f"{head}BRENT_BRL,BRL/bbl,2021-05-19,353.273536,{label},raw\n")
    parity = client.get("/api/parity?week=2026-06-21")
    acre = next(a for a in parity.json()["areas"] if a["area"] == "AC")
    assert (acre["ratio"], acre["ethanol_pays"]) == (0.704, False)
    rows = csv.DictReader(io.StringIO(client.get("/api/parity?week=2026-06-21&format=csv").text))
    assert next(r for r in rows if r["area"] == "AC")["ratio"] == "0.704"
    for path in (f"/api/series?key=CURRENCY{Q}USD&freq=weekly", "/api/series?key=BRENT_BRL"):
        points = client.get(path).json()["points"]
        assert points and all(p["value"] == round(p["value"], DECIMALS) for p in points), path


def test_series_csv_values(client: httpx.Client) -> None:
    text = client.get(VIEWS["series"] + "&start=2022-05-01&format=csv").text
    assert text == (
        "key,unit,date,value,label,freq\n"
        "FUEL#GASOLINE#BR,BRL/l,2022-05-01,7.295,Gasoline — BR (weekly),raw\n"
    )


def test_the_price_csv_says_its_series_and_unit(client: httpx.Client) -> None:
    """An LPG download says it is R$ per 13 kg: each row has the key and the catalog's unit, the
    one the JSON gives the chart's axis."""
    path = f"/api/series?key=FUEL{Q}LPG{Q}BR&start=2022-04-01"
    body = client.get(path).json()
    rows = list(csv.DictReader(io.StringIO(client.get(path + "&format=csv").text)))
    assert body["unit"] == DEFAULT_CATALOG["FUEL#LPG#BR"].unit == "BRL/13kg"
    assert rows and len(rows) == len(body["points"])
    assert all(r["key"] == "FUEL#LPG#BR" and r["unit"] == "BRL/13kg" for r in rows)
    assert [float(r["value"]) for r in rows] == [p["value"] for p in body["points"]]


def _decimals(cell: str) -> int:
    return len(cell.split(".", 1)[1]) if re.fullmatch(r"-?\d+\.\d+", cell) else 0


def test_every_csv_number_is_given_to_the_documented_decimals(client: httpx.Client) -> None:
    """docs/DASHBOARD.md: CSV values and ratios to 6 decimals. The overview's change_pct, the
    correlations' r and the regional view's change_4w_pct were written at full float precision
    (0.164767266236443 for gasoline's week to 2022-05-01)."""
    rows = list(csv.DictReader(io.StringIO(client.get(VIEWS["overview"] + "?format=csv").text)))
    gas = next(r for r in rows if r["key"] == "FUEL#GASOLINE#BR")
    assert gas["change_pct"] == repr(round((7.295 / 7.283 - 1) * 100, DECIMALS)) == "0.164767"
    for name in ("overview", "correlations", "regional", "lags", "parity"):
        path = VIEWS[name]
        text = client.get(path + ("&" if "?" in path else "?") + "format=csv").text
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert max(map(_decimals, cells)) <= DECIMALS, name
    for name, column in (("correlations", "r"), ("regional", "change_4w_pct")):
        path = VIEWS[name]
        served = csv.DictReader(io.StringIO(client.get(path + "&format=csv").text))
        assert any(_decimals(r[column]) == DECIMALS for r in served), name  # rounded, not cut


def _json_floats(value: object) -> Iterator[float]:
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _json_floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_floats(v)


def test_every_json_number_is_given_to_the_documented_decimals(client: httpx.Client) -> None:
    """docs/DASHBOARD.md: values and ratios to 6 decimals, in JSON as in CSV. The JSON of the
    overview's change_pct (0.164767266236443 for gasoline's week to 2022-05-01), the
    correlations' r, the lags' r and regression, the regional changes and health's
    completeness carried float noise the CSV of the same view did not."""
    gas = next(
        i for i in client.get(VIEWS["overview"]).json()["items"] if i["key"] == "FUEL#GASOLINE#BR"
    )
    assert gas["change_pct"] == 0.164767
    for name in ("overview", "correlations", "lags", "regional", "parity", "health"):
        floats = list(_json_floats(client.get(VIEWS[name]).json()))
        assert floats, name
        noisy = [f for f in floats if round(f, DECIMALS) != f]
        assert not noisy, (name, noisy[:3])
    lags = client.get(VIEWS["lags"]).json()
    assert lags["regression"] is not None
    assert all(round(c, DECIMALS) == c for c in lags["regression"]["coefficients"])


def test_a_tiny_csv_number_is_written_as_its_decimals_not_an_exponent(
    client: httpx.Client,
) -> None:
    """Ethanol's correlation with Brent in BRL at lag 3 is 0.0000049...: its JSON says
    4.996295373743444e-06, its CSV would say "5e-06" (Python's text of a float under 1e-4),
    not a number to the 6 decimals every CSV number is given to."""
    path = "/api/lags?fuel=ETHANOL&area=BR&driver=BRENT_BRL"
    body = client.get(path).json()
    tiny = next(p for p in body["cross"] if p["r"] is not None and 0 < abs(p["r"]) < 1e-4)
    rows = list(csv.DictReader(io.StringIO(client.get(path + "&format=csv").text)))
    row = next(r for r in rows if r["lag_weeks"] == str(tiny["lag"]) and r["r"])
    assert row["r"] == f"{tiny['r']:.6f}" == "0.000005"
    cells = [c for r in rows for c in r.values()]
    assert not [c for c in cells if re.fullmatch(r"-?[\d.]+e[-+]?\d+", c)]


SECURED = ["/", "/static/app.js", "/api/meta", "/api/series?key=NOPE", "/api/lags?fuel=X", "/nope"]


@pytest.mark.parametrize("path", SECURED)
def test_security_headers_on_every_response(client: httpx.Client, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_page_has_no_inline_script(client: httpx.Client) -> None:
    html = client.get("/").text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
    assert scripts
    assert all(body.strip() == "" for body in scripts)
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert " on" not in " ".join(re.findall(r"<[^>]+>", html)).replace(" onl", "")  # no onclick=


def test_plotly_is_the_committed_partial_bundle_and_the_whole_one_is_not_served(
    client: httpx.Client,
) -> None:
    r = client.get("/static/plotly-partial.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.content == (STATIC_DIR / "plotly-partial.min.js").read_bytes()  # httpx decodes gzip
    assert "cdn" not in client.get("/").text.lower()
    again = client.get(
        "/static/plotly-partial.min.js", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304
    # The page never loads the whole plotly.min.js: the app does not serve it (nor need plotly).
    assert client.get("/static/plotly.min.js").status_code == 404
    assert "plotly.min.js" not in asset_paths()


def test_geojson_is_bundled_with_its_notice(client: httpx.Client) -> None:
    geo = client.get("/static/brazil-states.geojson").json()
    assert sorted(f["properties"]["sigla"] for f in geo["features"])[:3] == ["AC", "AL", "AM"]
    assert len(geo["features"]) == 27
    assert "OCA-UFCG/countries-geo-data" in client.get("/static/NOTICE.txt").text
    assert client.get("/static/../app.py").status_code == 404


def test_openapi_and_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {v.split("?")[0] for v in VIEWS.values()} <= paths
    lags = {p["name"] for p in spec["paths"]["/api/lags"]["get"]["parameters"]}
    assert {"fuel", "area", "driver", "max_lag", "reg_lags", "start", "end", "format"} <= lags
    assert client.get("/docs").status_code == 200


def test_assets_are_sent_gzipped(client: httpx.Client) -> None:
    r = client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.num_bytes_downloaded < len(r.content) / 2  # httpx hands back the decoded bytes
    plain = client.get("/static/app.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == r.content


def test_health_as_of_is_the_injected_clock(client: httpx.Client) -> None:
    assert datetime.fromisoformat(client.get("/api/health").json()["as_of"]) == NOW


def test_the_lags_csv_gives_the_charts_error_bars(client: httpx.Client) -> None:
    """The coefficient chart's 95% bars are coefficient ± t_crit × standard error; the CSV had
    the coefficient and its error only, and its `n` is the cross-correlation's."""
    reg = client.get(VIEWS["lags"]).json()["regression"]
    rows = list(csv.DictReader(io.StringIO(client.get(VIEWS["lags"] + "&format=csv").text)))
    with_coef = [r for r in rows if r["coefficient"]]
    assert len(with_coef) == len(reg["coefficients"]) == reg["lags"] + 1
    for row, coef, se in zip(with_coef, reg["coefficients"], reg["std_errors"], strict=True):
        half = reg["t_crit"] * se
        near = partial(pytest.approx, abs=0.5e-6 + 1e-12)  # the CSV's DECIMALS places
        assert float(row["coefficient"]) == near(coef)
        assert float(row["t_crit"]) == near(reg["t_crit"])
        assert float(row["ci_low"]) == near(coef - half)
        assert float(row["ci_high"]) == near(coef + half)
    assert all(r["ci_low"] == r["ci_high"] == "" for r in rows[len(with_coef) :])
    # the regression's weeks are the whole table's: on every row (docs/DASHBOARD.md's rule for
    # a view's own fields), not on the coefficients' rows only
    assert len(rows) > len(with_coef)
    assert {r["regression_n"] for r in rows} == {str(reg["n"])}


def test_brent_in_reais_on_the_week_compares_the_same_days_as_brent(client: httpx.Client) -> None:
    """No PTAX on Carnival (2022-02-28, 03-01): the card compared Brent in BRL with the last day
    both had, while Brent's card compared with its own day a week before. On 2022-03-15 Brent is
    known to Monday 03-07 (its weekly batch), so both compare with Carnival Monday 02-28, Brent's
    value then at the latest PTAX by then (02-25's)."""
    items = {i["key"]: i for i in client.get("/api/overview?end=2022-03-15").json()["items"]}
    brent, brl = items["COMMODITY#BRENT"], items["BRENT_BRL"]
    assert (brl["date"], brl["prev_date"]) == (brent["date"], brent["prev_date"])
    assert brl["prev_date"] == "2022-02-28"
    usd = client.get(f"/api/series?key=CURRENCY{Q}USD&start=2022-02-21&end=2022-02-28").json()
    assert usd["points"][-1]["date"] == "2022-02-25"
    want = brent["prev_value"] * usd["points"][-1]["value"]
    assert brl["prev_value"] == pytest.approx(want, abs=1e-6)
    assert brl["change_pct"] == pytest.approx((brl["value"] / want - 1) * 100, rel=1e-6)


@pytest.mark.parametrize(
    ("end", "brent_day", "ptax_day"),
    [("2022-03-08", "2022-02-28", "2022-02-25"), ("2021-11-23", "2021-11-15", "2021-11-12")],
)
def test_brent_in_reais_on_a_ptax_holiday_is_brent_that_day_at_the_ptax_before(
    client: httpx.Client, end: str, brent_day: str, ptax_day: str
) -> None:
    """Brent's latest day by ``end`` is a PTAX holiday (Carnival Monday; 15 November, the
    Republic's day): the card showed the last day both had while Brent's card showed its own
    day. Now it is Brent that day at the latest PTAX before it, against a week before as
    Brent's card dates it. Brent's latest is the Monday of its last weekly batch out."""
    items = {i["key"]: i for i in client.get(f"/api/overview?end={end}").json()["items"]}
    brent, brl = items["COMMODITY#BRENT"], items["BRENT_BRL"]
    assert brent["date"] == brent_day
    assert (brl["date"], brl["prev_date"]) == (brent["date"], brent["prev_date"])
    usd = client.get(f"/api/series?key=CURRENCY{Q}USD&start=2021-11-01&end={end}").json()
    ptax = {p["date"]: p["value"] for p in usd["points"]}
    assert brent_day not in ptax
    prev_ptax = ptax[max(d for d in ptax if d <= brent["prev_date"])]
    value, prev = brent["value"] * ptax[ptax_day], brent["prev_value"] * prev_ptax
    assert brl["value"] == pytest.approx(value, abs=1e-6)
    assert brl["prev_value"] == pytest.approx(prev, abs=1e-6)
    assert brl["change_pct"] == pytest.approx((value / prev - 1) * 100, rel=1e-6)


def test_the_map_names_brazils_newer_weeks_when_the_regions_stop_earlier(
    real_store: SqliteStore, tmp_path: Path
) -> None:
    """The demo's diesel map opens on the regions' newest week (2022-05-01) while Brazil's
    price runs to 2026-03-08, and nothing said so. The real diesel weeks, the regions' last
    four left out: the map opens on the regions' newest week, 2022-04-03, and gives Brazil's
    newest, 2022-05-01 (``brazil_newer``, in the JSON and the CSV); for Brazil's own newest
    week, or with the regions' weeks all there, there is none."""
    cut = date(2022, 4, 3)
    full = SqliteStore(tmp_path / "full.sqlite", clock=FixedClock(NOW))
    short = SqliteStore(tmp_path / "short.sqlite", clock=FixedClock(NOW))
    for area in ("BR", "REGION_CO", "REGION_N", "REGION_NE", "REGION_S", "REGION_SE"):
        records = real_store.query(f"FUEL#DIESEL#{area}")
        full.put_records(records)
        short.put_records([r for r in records if area == "BR" or r.date <= cut])
    try:
        with TestClient(create_app(short, DEFAULT_CATALOG, clock=FixedClock(NOW))) as http:
            body = http.get("/api/regional?fuel=DIESEL").json()
            rows = list(
                csv.DictReader(io.StringIO(http.get("/api/regional?fuel=DIESEL&format=csv").text))
            )
            own = http.get("/api/regional?fuel=DIESEL&week=2022-05-01").json()
        assert (body["week"], body["brazil_newer"]) == ("2022-04-03", "2022-05-01")
        assert {r["brazil_newer"] for r in rows} == {"2022-05-01"}
        assert (own["week"], own["brazil_newer"]) == ("2022-05-01", None)
        with TestClient(create_app(full, DEFAULT_CATALOG, clock=FixedClock(NOW))) as http:
            whole = http.get("/api/regional?fuel=DIESEL").json()
        assert (whole["week"], whole["brazil_newer"]) == ("2022-05-01", None)
    finally:
        full.close()
        short.close()


def test_a_picked_week_names_brazils_newer_weeks_as_the_default_week_does(
    real_store: SqliteStore, tmp_path: Path
) -> None:
    """The map's note on Brazil's newer weeks followed the default week only: a week picked
    before the regions' newest got ``brazil_newer`` too, where every level has newer weeks
    (the note would send the user to them for Brazil's sake alone). The real diesel weeks,
    the regions' last four left out (regions to 2022-04-03, Brazil to 2022-05-01): a week
    picked before the regions' newest has none; the default week picked by hand, or a later
    one with Brazil's price alone, has Brazil's newest, as the default week has; with the
    regions left out too, the regions' newest is no bound."""
    cut = date(2022, 4, 3)
    short = SqliteStore(tmp_path / "short.sqlite", clock=FixedClock(NOW))
    alone = SqliteStore(tmp_path / "alone.sqlite", clock=FixedClock(NOW))
    for area in ("BR", "REGION_CO", "REGION_N", "REGION_NE", "REGION_S", "REGION_SE"):
        records = real_store.query(f"FUEL#DIESEL#{area}")
        short.put_records([r for r in records if area == "BR" or r.date <= cut])
        if area == "BR":
            alone.put_records(records)
    try:

        def newer(store: SqliteStore, week: str) -> list[object]:
            with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as http:
                body = http.get(f"/api/regional?fuel=DIESEL&week={week}").json()
                text = http.get(f"/api/regional?fuel=DIESEL&week={week}&format=csv").text
            rows = list(csv.DictReader(io.StringIO(text)))
            return [body["week"], body["brazil_newer"], {r["brazil_newer"] for r in rows}]

        assert newer(short, "2022-03-27") == ["2022-03-27", None, {""}]
        assert newer(short, "2022-04-03") == ["2022-04-03", "2022-05-01", {"2022-05-01"}]
        assert newer(short, "2022-04-24") == ["2022-04-24", "2022-05-01", {"2022-05-01"}]
        assert newer(short, "2022-05-01") == ["2022-05-01", None, {""}]
        assert newer(alone, "2022-03-27") == ["2022-03-27", "2022-05-01", {"2022-05-01"}]
    finally:
        short.close()
        alone.close()
