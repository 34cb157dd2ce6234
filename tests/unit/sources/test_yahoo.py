"""Yahoo chart v8: the request window, bar dates in exchange time, nulls, stale bars, symbols."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.sources.yahoo import YahooChartSource, parse_chart, parse_splits
from fuelpipe.domain.models import Split
from fuelpipe.ports.source import FetchRequest, InvalidPayload, NotFound, PermanentSourceError

PETR4 = "yahoo_chart_PETR4.SA_2017-11-09_2017-11-24.json"
NULLS = "yahoo_chart_PETR4.SA_2021-05-17_2021-05-21_nulls-synthetic.json"
BRENT = "yahoo_chart_BZ=F_2017-11-09_2017-11-17.json"
TOT = "yahoo_chart_TOT_2019-01-04_2019-02-01_weekly-rows.json"
NOT_FOUND = "yahoo_chart_not-found_404.json"
NO_DATA = "yahoo_chart_no-data-window_400.json"
JSON = "application/json;charset=utf-8"
INTRADAY_PETR4 = "intraday/fabiorodp__PETR4_15min_2020-06-22_2020-12-04.csv"
SP = ZoneInfo("America/Sao_Paulo")


def _source(server, client) -> YahooChartSource:
    return YahooChartSource(server.url_for(""), client, attempts=2, backoff_s=0.0)


def _request(series, key: str, start: date, end: date) -> FetchRequest:
    s = series(key)
    return FetchRequest(s.fetch_unit, (s,), start, end)


def test_window_is_midnight_to_midnight_in_exchange_time(server, client, payload, series) -> None:
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        payload(PETR4), content_type=JSON
    )
    _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24))
    )
    request, _ = server.log[0]
    # São Paulo was on UTC-2 (summer time) in November 2017; the window opens two hours
    # before midnight, for a bar Yahoo stamps an hour or two early (the evening before).
    assert int(request.args["period1"]) == datetime(2017, 11, 9, 0, tzinfo=UTC).timestamp()
    assert int(request.args["period2"]) == datetime(2017, 11, 25, 2, tzinfo=UTC).timestamp()
    assert request.args["interval"] == "1d"
    assert request.args["events"] == "div,splits"
    assert request.args["includeAdjustedClose"] == "true"


def test_real_bars_with_stale_holiday_bars_dropped(server, client, payload, series) -> None:
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        payload(PETR4), content_type=JSON
    )
    result = _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24))
    )
    days = [o.date for o in result.observations]
    # 15 and 20 November are holidays; Yahoo still sends a flat, zero-volume bar for them.
    assert date(2017, 11, 15) not in days
    assert date(2017, 11, 20) not in days
    assert set(result.notes) == {
        ("STOCK#PETR4", date(2017, 11, 15)),
        ("STOCK#PETR4", date(2017, 11, 20)),
    }
    assert all("stale bar" in note for note in result.notes.values())
    first = result.observations[0]
    # henriquebrnetto__PETR4.SA.csv: 2017-11-09,16.889999,16.940001,16.719999,16.719999,...
    assert first.date == date(2017, 11, 9)
    assert first.value == Decimal("16.719999")
    assert first.attrs == {
        "open": Decimal("16.889999"),
        "high": Decimal("16.940001"),
        "low": Decimal("16.719999"),
        "close": Decimal("16.719999"),
        "adj_close": Decimal("8.420836"),
        "volume": 29399400,
    }


def test_bars_equal_the_real_csv(server, client, payload, series, real_data) -> None:
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        payload(PETR4), content_type=JSON
    )
    result = _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24))
    )
    with real_data("stocks/henriquebrnetto__PETR4.SA.csv").open() as fh:
        real = {
            date.fromisoformat(r["Date"]): (Decimal(r["Close"]), int(r["Volume"]))
            for r in csv.DictReader(fh)
            if "2017-11-09" <= r["Date"] <= "2017-11-24" and r["Volume"] != "0"
        }
    assert {o.date: (o.value, o.attrs["volume"]) for o in result.observations} == real


def test_nulls_mean_missing_not_zero(server, client, payload, series) -> None:
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        payload(NULLS), content_type=JSON
    )
    result = _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2021, 5, 17), date(2021, 5, 21))
    )
    # A null close is a missing value; a bar whose close is there but whose volume is null
    # is still a published close (stored, volume None).
    assert [o.date.day for o in result.observations] == [17, 19, 20, 21]
    assert "null close" in result.notes[("STOCK#PETR4", date(2021, 5, 18))]
    (may20,) = [o for o in result.observations if o.date.day == 20]
    assert may20.attrs["volume"] is None and may20.value > 0
    assert all(o.value > 0 for o in result.observations)


def test_a_bar_kept_without_a_figure_names_it_lacking(server, client, payload, series) -> None:
    """A close kept without a figure Yahoo's bars carry (the synthetic answer's null volume
    on 20 May 2021) names it in ``lacking``: the close is an OK value, the figure is asked
    for again. The complete bars (and the real recorded ones) name nothing."""
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        payload(NULLS), content_type=JSON
    )
    result = _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2021, 5, 17), date(2021, 5, 21))
    )
    lacking = {o.date.day: o.attrs.get("lacking") for o in result.observations}
    assert lacking == {17: None, 19: None, 20: "volume", 21: None}
    for real in (PETR4, BRENT):  # every Yahoo series carries all five figures
        body = json.loads(payload(real), parse_float=Decimal)
        obs, _ = parse_chart(body, "K", "UTC", date(2017, 11, 1), date(2017, 11, 30))
        assert obs and not any("lacking" in o.attrs for o in obs)


@pytest.mark.parametrize(
    ("cut", "lacking"),
    [
        ("volume", "volume"),  # the quote block without its volume array
        ("adjclose", "adj_close"),  # an adjclose array of another length
        ("both", "adj_close,high,volume"),
    ],
)
def test_a_missing_or_short_array_names_its_figure_lacking_synthetic(cut, lacking) -> None:
    """Synthetic body (two real PETR4 closes of 2017-11-09/10): the figure a missing or short
    array costs is named on each bar, sorted and comma-joined."""
    body = _body([1510221600, 1510308000], "America/Sao_Paulo")
    result = body["chart"]["result"][0]
    quote = result["indicators"]["quote"][0]
    quote["close"] = [Decimal("15.78"), Decimal("15.93")]
    result["indicators"]["adjclose"] = [{"adjclose": [Decimal("12.1"), Decimal("12.2")]}]
    if cut in ("volume", "both"):
        del quote["volume"]
    if cut in ("adjclose", "both"):
        result["indicators"]["adjclose"] = [{"adjclose": [Decimal("12.1")]}]
    if cut == "both":
        del quote["high"]
    obs, _ = parse_chart(body, "STOCK#PETR4", "UTC", date(2017, 11, 9), date(2017, 11, 10))
    assert [o.value for o in obs] == [Decimal("15.78"), Decimal("15.93")]
    assert [o.attrs["lacking"] for o in obs] == [lacking, lacking]


def _petr4_with(payload, field: str, index: int, cell: object) -> dict[str, object]:
    """The recorded PETR4 answer with one cell of bar ``index`` replaced (``timestamp`` or a
    quote field)."""
    body = json.loads(payload(PETR4))
    result = body["chart"]["result"][0]
    column = (
        result["timestamp"] if field == "timestamp" else result["indicators"]["quote"][0][field]
    )
    column[index] = cell
    return body


def test_a_volume_that_is_not_whole_costs_its_day_only(server, client, payload, series) -> None:
    """One bad cell used to refuse the whole answer (InvalidPayload): every requested date
    went PENDING, and after five re-downloads QUARANTINED. It is the bar's day's note now,
    like FRED's and BCB's bad rows; the other bars are stored."""
    body = _petr4_with(payload, "volume", 2, 28697700.5)  # 2017-11-13
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(body)
    result = _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24))
    )
    days = [o.date.day for o in result.observations]
    assert days == [9, 10, 14, 16, 17, 21, 22, 23, 24]
    note = result.notes[("STOCK#PETR4", date(2017, 11, 13))]
    assert "volume 28697700.5 on 2017-11-13 is not whole; the day is retried" in note
    assert set(result.notes) == {("STOCK#PETR4", date(2017, 11, d)) for d in (13, 15, 20)}


def test_a_bar_whose_timestamp_is_no_day_is_reported_not_the_answer_refused(
    server, client, payload, series, caplog
) -> None:
    """A timestamp out of range says nothing of its bar's day: the bar is logged, every day
    of the window no other bar answers carries a note naming it (it may be that day's, so none
    reads as "no value"), and the bars of the other days are stored."""
    body = _petr4_with(payload, "timestamp", 3, 10**20)  # 2017-11-14's bar
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(body)
    with caplog.at_level("WARNING", logger="fuelpipe.adapters.sources.yahoo"):
        result = _source(server, client).fetch(
            _request(series, "STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24))
        )
    assert [o.date.day for o in result.observations] == [9, 10, 13, 16, 17, 21, 22, 23, 24]
    unsure = {d.day for (_, d), note in result.notes.items() if "out of range" in note}
    assert unsure == {11, 12, 14, 18, 19}  # the days without a bar or a note of their own
    assert "stale bar" in result.notes[("STOCK#PETR4", date(2017, 11, 15))]
    note = result.notes[("STOCK#PETR4", date(2017, 11, 14))]
    assert note.startswith(f"yahoo: {server.url_for('')}")
    assert "timestamp 100000000000000000000 is out of range" in note
    assert "may be 2017-11-14's, so the day is retried" in note
    [logged] = [r.getMessage() for r in caplog.records if "out of range" in r.getMessage()]
    assert "STOCK#PETR4" in logged


def test_a_daily_bar_stamped_an_hour_early_is_its_sessions(server, client, series) -> None:
    """yfinance's fix_Yahoo_dst_issue: Yahoo has stamped B3's daily bars at 23:00 of the
    evening before (around 2022); such a bar belongs to the next day's session. Synthetic
    payload (two real PETR4 closes, stamps moved an hour early)."""
    sp = ZoneInfo("America/Sao_Paulo")
    stamps = [int(datetime(2022, 1, d, 23, 0, tzinfo=sp).timestamp()) for d in (9, 10)]
    body = {
        "chart": {
            "result": [
                {
                    "meta": {"symbol": "PETR4.SA", "exchangeTimezoneName": "America/Sao_Paulo"},
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [
                            {
                                "open": [29.0, 29.5],
                                "high": [29.9, 30.1],
                                "low": [28.8, 29.2],
                                "close": [29.4, 29.9],
                                "volume": [50_000_000, 60_000_000],
                            }
                        ],
                        "adjclose": [{"adjclose": [29.4, 29.9]}],
                    },
                }
            ],
            "error": None,
        }
    }
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(body)
    result = _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2022, 1, 10), date(2022, 1, 11))
    )
    got = [(o.date, o.value) for o in result.observations]
    assert got == [(date(2022, 1, 10), Decimal("29.4")), (date(2022, 1, 11), Decimal("29.9"))]


def test_futures_symbol_and_new_york_dates(server, client, payload, series) -> None:
    server.expect_request("/v8/finance/chart/BZ=F").respond_with_data(
        payload(BRENT), content_type=JSON
    )
    result = _source(server, client).fetch(
        _request(series, "COMMODITY#BRENT_FUTURES", date(2017, 11, 9), date(2017, 11, 17))
    )
    # henriquebrnetto__BZ=F.csv, bars stamped 00:00 New York: 2017-11-09 close 63.93000030517578
    assert result.observations[0].date == date(2017, 11, 9)
    assert result.observations[0].value == Decimal("63.93000030517578")
    assert [o.date.day for o in result.observations] == [9, 10, 13, 14, 15, 16, 17]


def _body(stamps: list[int], tz: str | None) -> dict[str, object]:
    meta = {"exchangeTimezoneName": tz} if tz else {}
    one = [Decimal("10.5")] * len(stamps)
    quote = {"open": one, "high": one, "low": one, "close": one, "volume": [100] * len(stamps)}
    return {
        "chart": {
            "result": [{"meta": meta, "timestamp": stamps, "indicators": {"quote": [quote]}}],
            "error": None,
        }
    }


def test_bar_date_is_taken_in_exchange_time() -> None:
    late = int(datetime(2021, 5, 18, 2, 30, tzinfo=UTC).timestamp())  # 23:30 on the 17th in SP
    obs, _ = parse_chart(
        _body([late], "America/Sao_Paulo"), "K", "UTC", date(2021, 5, 1), date(2021, 5, 31)
    )
    assert obs[0].date == date(2021, 5, 17)
    assert obs[0].attrs["adj_close"] is None  # no adjclose block: attribute unknown
    obs, _ = parse_chart(
        _body([late], None), "K", "America/New_York", date(2021, 5, 1), date(2021, 5, 31)
    )
    assert obs[0].date == date(2021, 5, 17)  # meta without a zone: the series' zone
    obs, _ = parse_chart(_body([late], None), "K", "UTC", date(2021, 5, 1), date(2021, 5, 31))
    assert obs[0].date == date(2021, 5, 18)


def test_two_bars_one_day_keeps_the_later() -> None:
    body = _body([1621344600, 1621360000], "America/New_York")  # 09:30 and 13:46 on 18 May
    body["chart"]["result"][0]["indicators"]["quote"][0]["close"] = [Decimal(1), Decimal(2)]
    obs, _ = parse_chart(body, "K", "UTC", date(2021, 5, 1), date(2021, 5, 31))
    assert [(o.date, o.value) for o in obs] == [(date(2021, 5, 18), Decimal(2))]


def test_two_bars_of_one_instant_with_two_closes_leave_the_day_a_retry_synthetic() -> None:
    """Neither is later, so which close is the day's cannot be told: the first was kept and
    the other published close dropped without a word (BCB's and FRED's rule for a day given
    twice with two values: a retry). The same bar given twice is one bar; a later bar of the
    day still settles it."""
    at = 1621360000  # 13:46 on 18 May, New York
    body = _body([at, at], "America/New_York")
    quote = body["chart"]["result"][0]["indicators"]["quote"][0]
    quote["close"] = [Decimal("10.5"), Decimal("10.7")]
    obs, notes = parse_chart(body, "K", "UTC", date(2021, 5, 1), date(2021, 5, 31))
    assert obs == []
    assert "two bars at 1621360000 with closes 10.5 and 10.7" in notes[("K", date(2021, 5, 18))]
    quote["close"] = [Decimal("10.5"), Decimal("10.5")]  # the same bar twice
    obs, notes = parse_chart(body, "K", "UTC", date(2021, 5, 1), date(2021, 5, 31))
    assert [(o.date, o.value) for o in obs] == [(date(2021, 5, 18), Decimal("10.5"))]
    assert notes == {}
    body = _body([at, at, at + 60], "America/New_York")  # a later bar settles the day
    body["chart"]["result"][0]["indicators"]["quote"][0]["close"] = [
        Decimal("10.5"), Decimal("10.7"), Decimal("10.6")
    ]  # fmt: skip
    obs, notes = parse_chart(body, "K", "UTC", date(2021, 5, 1), date(2021, 5, 31))
    assert [(o.date, o.value) for o in obs] == [(date(2021, 5, 18), Decimal("10.6"))]
    assert notes == {}


def test_a_later_bad_bar_makes_the_day_a_retry_not_the_earlier_snapshot() -> None:
    body = _body([1621344600, 1621360000], "America/New_York")  # 09:30 and 13:46 on 18 May
    body["chart"]["result"][0]["indicators"]["quote"][0]["close"] = [Decimal(1), None]
    obs, notes = parse_chart(body, "K", "UTC", date(2021, 5, 1), date(2021, 5, 31))
    assert obs == []  # the 09:30 snapshot is not the day's value
    assert list(notes) == [("K", date(2021, 5, 18))]
    assert "null close" in notes[("K", date(2021, 5, 18))]
    body["chart"]["result"][0]["indicators"]["quote"][0]["close"] = [None, Decimal(2)]
    obs, notes = parse_chart(body, "K", "UTC", date(2021, 5, 1), date(2021, 5, 31))
    assert [(o.date, o.value) for o in obs] == [(date(2021, 5, 18), Decimal(2))]
    assert notes == {}  # an earlier bad bar is superseded by the day's good one


def test_window_without_bars_is_empty() -> None:
    body = {"chart": {"result": [{"meta": {}, "indicators": {"quote": [{}]}}], "error": None}}
    assert parse_chart(body, "K", "UTC", date(2021, 5, 1), date(2021, 5, 2)) == ([], {})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"chart": {}}, r"chart\.result\[0\]"),
        ({"chart": {"result": [], "error": None}}, r"chart\.result\[0\]"),
        ({"chart": {"result": [{"timestamp": ["x"]}]}}, "not a list of integers"),
        ({"chart": {"result": [{"timestamp": [1], "indicators": {}}]}}, r"quote\[0\] missing"),
        (
            {
                "chart": {
                    "result": [{"timestamp": [1, 2], "indicators": {"quote": [{"close": [1]}]}}]
                }
            },
            r"indicators.close is 1 long, not 2 long \(the bars\)",
        ),
        (
            {
                "chart": {
                    "result": [{"timestamp": [1, 2], "indicators": {"quote": [{"open": [1]}]}}]
                }
            },
            r"indicators.close is missing, not 2 long",
        ),
        (
            {"chart": {"result": None, "error": {"code": "Internal", "description": "x"}}},
            "Internal",
        ),
    ],
)
def test_wrong_shapes_are_invalid_payload(body, message) -> None:
    with pytest.raises(InvalidPayload, match=message):
        parse_chart(body, "K", "UTC", date(2021, 1, 1), date(2021, 12, 31))


def test_a_missing_volume_or_short_adjclose_costs_those_figures_only_synthetic(caplog) -> None:
    """A quote block with no ``volume`` array (or another side array missing), or an
    ``adjclose`` array of another length, made the whole answer an InvalidPayload: every day of
    the window retried, though each bar's close was readable. The closes are now kept, those
    figures None, and each missing array is logged naming the series and the field. Synthetic
    body (two real PETR4 bars of 2017-11-09/10 from the Yahoo fixture)."""
    body = _body([1510221600, 1510308000], "America/Sao_Paulo")  # 2017-11-09 and 10, 08:00
    result = body["chart"]["result"][0]
    quote = result["indicators"]["quote"][0]
    quote["close"] = [Decimal("15.78"), Decimal("15.93")]
    del quote["volume"], quote["high"]
    result["indicators"]["adjclose"] = [{"adjclose": [Decimal("12.1")]}]  # one, not two
    with caplog.at_level("WARNING", logger="fuelpipe.adapters.sources.yahoo"):
        obs, notes = parse_chart(body, "STOCK#PETR4", "UTC", date(2017, 11, 9), date(2017, 11, 10))
    assert [(o.date, o.value) for o in obs] == [
        (date(2017, 11, 9), Decimal("15.78")),
        (date(2017, 11, 10), Decimal("15.93")),
    ]
    assert notes == {}
    for o in obs:
        assert o.attrs["volume"] is None and o.attrs["high"] is None
        assert o.attrs["adj_close"] is None and o.attrs["open"] == Decimal("10.5")
    logged = [r.getMessage() for r in caplog.records if r.name.endswith(".yahoo")]
    assert logged == [
        "yahoo: indicators.high is missing, not 2 long (the bars); "
        "STOCK#PETR4's bars are kept without it",
        "yahoo: indicators.volume is missing, not 2 long (the bars); "
        "STOCK#PETR4's bars are kept without it",
        "yahoo: indicators.adjclose is 1 long, not 2 long (the bars); "
        "STOCK#PETR4's bars are kept without it",
    ]


def test_not_found_in_a_200_body() -> None:
    body = {"chart": {"result": None, "error": {"code": "Not Found", "description": "delisted"}}}
    with pytest.raises(NotFound, match="delisted"):
        parse_chart(body, "K", "UTC", date(2021, 1, 1), date(2021, 12, 31))


def test_window_before_first_bar_is_no_data(server, client, payload, series) -> None:
    server.expect_request("/v8/finance/chart/PRIO3.SA").respond_with_data(
        payload(NO_DATA), status=400, content_type=JSON
    )
    source = _source(server, client)
    result = source.fetch(_request(series, "STOCK#PRIO3", date(2000, 1, 3), date(2000, 1, 4)))
    assert result.observations == []
    assert source.requests_made == 1


def test_other_400_is_permanent(server, client, series) -> None:
    body = {
        "chart": {"result": None, "error": {"code": "Bad Request", "description": "bad interval"}}
    }
    server.expect_request("/v8/finance/chart/PRIO3.SA").respond_with_json(body, status=400)
    with pytest.raises(PermanentSourceError, match="bad interval"):
        _source(server, client).fetch(
            _request(series, "STOCK#PRIO3", date(2021, 1, 4), date(2021, 1, 5))
        )


def test_former_symbol_serves_when_current_is_unknown(server, client, payload, series) -> None:
    server.expect_request("/v8/finance/chart/TTE").respond_with_data(
        payload(NOT_FOUND), status=404, content_type=JSON
    )
    server.expect_request("/v8/finance/chart/TOT").respond_with_data(
        payload(TOT), content_type=JSON
    )
    source = _source(server, client)
    result = source.fetch(_request(series, "STOCK#TTE", date(2019, 1, 1), date(2019, 2, 1)))
    assert result.requests == 1
    assert source.requests_made == 2  # TTE (404, not retried), then TOT
    assert all(o.key == "STOCK#TTE" for o in result.observations)
    assert all(o.attrs["symbol"] == "TOT" for o in result.observations)
    # pmshea__TOT.csv: 2019-01-04 close 54.959999
    assert result.observations[0].value == Decimal("54.959999")


def test_every_symbol_unknown_is_not_found(server, client, payload, series) -> None:
    for symbol in ("SHEL", "RDS-A"):
        server.expect_request(f"/v8/finance/chart/{symbol}").respond_with_data(
            payload(NOT_FOUND), status=404, content_type=JSON
        )
    with pytest.raises(NotFound, match=r"SHEL .*RDS-A") as info:
        _source(server, client).fetch(
            _request(series, "STOCK#SHEL", date(2021, 1, 4), date(2021, 1, 5))
        )
    assert "may be delisted" in str(info.value)


def test_404_with_html_is_still_not_found(server, client, series, html_page) -> None:
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        html_page, status=404, content_type="text/html"
    )
    with pytest.raises(NotFound, match="HTTP 404"):
        _source(server, client).fetch(
            _request(series, "STOCK#PETR4", date(2021, 1, 4), date(2021, 1, 5))
        )


def test_fixture_is_in_the_recorded_shape(payload) -> None:
    body = json.loads(payload(PETR4))
    result = body["chart"]["result"][0]
    assert body["chart"]["error"] is None
    assert result["meta"]["exchangeTimezoneName"] == "America/Sao_Paulo"
    assert set(result["indicators"]) == {"quote", "adjclose"}


# --- splits (events.splits) -------------------------------------------------------------------
# The recorded PETR4 chart with an ``events`` block added: the events are synthetic (PETR4 did
# not split in November 2017), stamped as Yahoo stamps them, at the session's bar time.
SYNTHETIC_SPLIT_DAY = date(2017, 11, 16)
SYNTHETIC_SPLIT_STAMP = int(
    datetime(2017, 11, 16, 10, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
)


def _with_events(payload, events: object) -> bytes:
    body = json.loads(payload(PETR4))
    body["chart"]["result"][0]["events"] = events
    return json.dumps(body).encode()


def test_splits_in_the_answer_are_reported_on_their_session_day(
    server, client, payload, series
) -> None:
    events = {
        "dividends": {"1510747200": {"amount": 0.05, "date": 1510747200}},
        "splits": {
            str(SYNTHETIC_SPLIT_STAMP): {
                "date": SYNTHETIC_SPLIT_STAMP,
                "numerator": 2.0,
                "denominator": 1.0,
                "splitRatio": "2:1",
            }
        },
    }
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        _with_events(payload, events), content_type=JSON
    )
    result = _source(server, client).fetch(
        _request(series, "STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24))
    )
    [split] = result.splits
    assert split == Split("STOCK#PETR4", SYNTHETIC_SPLIT_DAY, Decimal("2.0"), Decimal("1.0"))
    assert (split.ratio, split.label) == (2, "2:1")
    assert len(list(result.observations)) == 10  # the bars are read as before


def test_an_answer_with_dividends_only_reports_no_split(server, client, payload, series) -> None:
    events = {"dividends": {"1510747200": {"amount": 0.05, "date": 1510747200}}}
    for body in (payload(PETR4), _with_events(payload, events)):
        server.clear()
        server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
            body, content_type=JSON
        )
        result = _source(server, client).fetch(
            _request(series, "STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24))
        )
        assert result.splits == ()


def test_a_reverse_split_from_its_split_ratio_text() -> None:
    stamp = SYNTHETIC_SPLIT_STAMP
    body = {
        "chart": {
            "result": [
                {
                    "meta": {"exchangeTimezoneName": "America/Sao_Paulo"},
                    "events": {"splits": {str(stamp): {"date": stamp, "splitRatio": "1/10"}}},
                }
            ]
        }
    }
    [split] = parse_splits(body, "STOCK#PETR4", "America/Sao_Paulo")
    assert (split.date, split.ratio, split.label) == (SYNTHETIC_SPLIT_DAY, Decimal("0.1"), "1:10")


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "events is not an object"),
        ({"splits": []}, "events.splits is not an object"),
        ({"splits": {"1": "2:1"}}, "not an object"),
        ({"splits": {"1": {"date": "x", "numerator": 2, "denominator": 1}}}, "not a timestamp"),
        ({"splits": {"1": {"date": 1, "numerator": 0, "denominator": 1}}}, "not positive"),
        ({"splits": {"1": {"date": 1, "splitRatio": "two for one"}}}, "splitRatio"),
        ({"splits": {"1": {"date": 1}}}, "no numerator and denominator"),
    ],
)
def test_a_split_not_in_yahoos_shape_is_invalid_payload(events, message) -> None:
    body = {"chart": {"result": [{"meta": {}, "events": events}]}}
    with pytest.raises(InvalidPayload, match=message):
        parse_splits(body, "STOCK#PETR4", "America/Sao_Paulo")


def test_an_intraday_bar_whose_timestamp_is_no_instant_costs_that_bar_only(
    server, client, series, caplog
) -> None:
    """A 15-minute bar whose timestamp is out of range refused the whole answer: every bar
    of the day Yahoo published was dropped with it. It is now logged and skipped, and the
    other bars are the day's; only an answer with nothing else of the day is refused."""
    stamps = [1651842000, 1651842900, 10**20, 1651843800]  # 2022-05-06 10:00, 10:15, ?, 10:30
    closes = [21.55, 21.45, 21.5, 21.52]
    quote = dict.fromkeys(("open", "high", "low", "close"), closes)
    body = {
        "chart": {
            "result": [
                {
                    "meta": {"exchangeTimezoneName": "America/Sao_Paulo"},
                    "timestamp": stamps,
                    "indicators": {"quote": [{**quote, "volume": [100, 200, 300, 400]}]},
                }
            ],
            "error": None,
        }
    }
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(body)
    petr4, day = series("STOCK#PETR4"), date(2022, 5, 6)
    with caplog.at_level("WARNING", logger="fuelpipe.adapters.sources.yahoo"):
        bars = _source(server, client).fetch_bars(petr4, day)
    assert [(b.at.strftime("%H:%M"), str(b.value)) for b in bars] == [
        ("10:00", "21.55"),
        ("10:15", "21.45"),
        ("10:30", "21.52"),
    ]
    [logged] = [r.getMessage() for r in caplog.records if r.name.endswith(".yahoo")]
    assert logged.startswith(f"yahoo: {server.url_for('')}")
    assert "timestamp 100000000000000000000 is out of range" in logged
    server.clear()
    only = {"chart": {"result": [{**body["chart"]["result"][0], "timestamp": [10**20] * 4}]}}
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(only)
    with pytest.raises(InvalidPayload, match="timestamp 100000000000000000000 is out of range"):
        _source(server, client).fetch_bars(petr4, day)


def test_yahoos_live_row_of_an_open_bar_is_merged_into_it_synthetic(
    server, client, series, real_data
) -> None:
    """While a bar is open Yahoo sends the price so far as one more row, stamped when it was
    read (10:37:12), after the bar's own row (10:30). Kept as a bar of its own it was a
    15-minute bar starting 10:37:12 that no later answer replaces (points are stored by start
    time): the day kept a bar that never was. It is now merged into the open bar, as public
    clients do (docs/SOURCE_FORMATS.md). Built from the real PETR4 bars of 2020-06-22; the
    10:30 bar is split into the two rows Yahoo would send (synthetic), so the merge must give
    back the real bar."""
    lines = real_data(INTRADAY_PETR4).read_text().splitlines()
    rows = list(csv.reader(lines[1:4], delimiter=";"))
    bar_rows = [(datetime.fromisoformat(r[0]).replace(tzinfo=SP), *r[1:]) for r in rows]
    (t0, *first), (t1, *second), (t2, o, h, low, c, v) = bar_rows
    assert (t2.strftime("%H:%M"), o, h, low, c, v) == (
        "10:30", "21.41", "21.41", "21.19", "21.32", "4055100",
    )  # fmt: skip
    live_at = t2.replace(minute=37, second=12)
    opened = [o, h, "21.25", "21.30", "2000000"]  # the 10:30 row as sent at 10:37 (synthetic)
    live = [None, "21.33", low, c, "2055100"]  # Yahoo's live row (synthetic)
    table = [first, second, opened, live]
    body = {
        "chart": {
            "result": [
                {
                    "meta": {"exchangeTimezoneName": "America/Sao_Paulo"},
                    "timestamp": [int(t.timestamp()) for t in (t0, t1, t2, live_at)],
                    "indicators": {
                        "quote": [
                            {
                                name: [None if r[i] is None else float(r[i]) for r in table]
                                for i, name in enumerate(("open", "high", "low", "close"))
                            }
                            | {"volume": [int(r[4]) for r in table]}
                        ]
                    },
                }
            ],
            "error": None,
        }
    }
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(body)
    bars = _source(server, client).fetch_bars(series("STOCK#PETR4"), t0.date())
    assert [b.at for b in bars] == [t0, t1, t2]
    assert [b.value for b in bars] == [Decimal(first[3]), Decimal(second[3]), Decimal(c)]
    assert bars[-1].attrs == {
        "open": Decimal(o), "high": Decimal(h), "low": Decimal(low), "volume": int(v),
    }  # fmt: skip


def _petr4_bars(real_data) -> list[tuple[datetime, list[str | None]]]:
    """The real PETR4 15-minute bars of 2020-06-22 10:00, 10:15 and 10:30 (start, OHLCV)."""
    lines = real_data(INTRADAY_PETR4).read_text().splitlines()
    return [
        (datetime.fromisoformat(r[0]).replace(tzinfo=SP), list(r[1:]))
        for r in csv.reader(lines[1:4], delimiter=";")
    ]


def _answer(rows: list[tuple[datetime, list[str | None]]]) -> dict[str, object]:
    names = ("open", "high", "low", "close")
    quote: dict[str, object] = {
        name: [None if r[i] is None else float(r[i]) for _, r in rows]
        for i, name in enumerate(names)
    }
    quote["volume"] = [None if r[4] is None else int(r[4]) for _, r in rows]
    result = {
        "meta": {"exchangeTimezoneName": "America/Sao_Paulo"},
        "timestamp": [int(t.timestamp()) for t, _ in rows],
        "indicators": {"quote": [quote]},
    }
    return {"chart": {"result": [result], "error": None}}


def test_a_live_row_sent_without_its_bars_row_is_put_on_the_answers_grid(
    server, client, series, real_data
) -> None:
    """Yahoo's live row read at 10:37:12, in the 10:30 bar, with no 10:30 row before it (the
    bar's row had no close yet, or was not sent): more than an interval after the 10:15 bar, it
    was stored as a bar starting 10:37:12, which stayed beside the 10:30 bar a later answer
    stores (points are kept by start time). It is now the 10:30 bar, by the grid of the
    answer's own bars (10:00, 10:15: whole quarters apart), with its close only (the live
    row's figures are not the bar's open, high, low and volume), so the next answer's 10:30
    row replaces it. Real PETR4 bars; the rows Yahoo sends around them are synthetic."""
    (t0, first), (t1, second), (t2, real) = _petr4_bars(real_data)
    live_at = t2.replace(minute=37, second=12)
    live = [None, "21.33", real[2], real[3], "2055100"]  # Yahoo's live row (synthetic)
    no_close = [real[0], None, None, None, None]  # the open bar's row without a close yet
    petr4 = series("STOCK#PETR4")
    for rows in ([(t0, first), (t1, second), (live_at, live)],
                 [(t0, first), (t1, second), (t2, no_close), (live_at, live)]):  # fmt: skip
        server.clear()
        server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(_answer(rows))
        bars = _source(server, client).fetch_bars(petr4, t0.date())
        assert [b.at for b in bars] == [t0, t1, t2]
        assert [b.value for b in bars] == [Decimal(first[3]), Decimal(second[3]), Decimal(real[3])]
        assert bars[-1].attrs == {}


def test_a_live_row_with_no_grid_to_go_by_is_kept_where_it_was_read(
    server, client, series, real_data
) -> None:
    """Nothing to put it on the grid by: a live row alone (no bar before it in the answer:
    ``currentTradingPeriod`` is the session when asked, not the asked day's), or after bars not
    whole intervals apart. A row on the grid after a gap is a bar of its own, as before."""
    (t0, first), (t1, second), (t2, real) = _petr4_bars(real_data)
    live_at = t2.replace(minute=37, second=12)
    live = [None, "21.33", real[2], real[3], "2055100"]
    petr4 = series("STOCK#PETR4")
    for rows in ([(live_at, live)],
                 [(t0, first), (t1.replace(minute=20), second), (live_at, live)],
                 [(t0, first), (t2, real)]):  # fmt: skip
        server.clear()
        server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(_answer(rows))
        bars = _source(server, client).fetch_bars(petr4, t0.date())
        assert [b.at for b in bars] == [t for t, _ in rows]
