"""Wire variations the real sources produce, each once a defect: an outage page carrying
validators that poisoned the next conditional poll, and 15-minute bars with a close but a null
volume (or open) dropped."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from email.utils import parsedate_to_datetime

import pytest
from werkzeug import Request, Response

from fuelpipe.adapters.sources.fred import FredCsvSource
from fuelpipe.adapters.sources.yahoo import YahooChartSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import FetchRequest, InvalidPayload

FRED_PATH = "/graph/fredgraph.csv"
BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]
REQUEST = FetchRequest(BRENT.fetch_unit, (BRENT,), date(2020, 4, 1), date(2020, 4, 3))
ROWS = b"observation_date,DCOILBRENTEU\n2020-04-01,24.74\n2020-04-02,27.24\n2020-04-03,30.05\n"
DATA_MODIFIED = "Fri, 03 Apr 2020 21:00:00 GMT"
PAGE_MODIFIED = "Sat, 04 Apr 2020 09:00:00 GMT"  # a maintenance page put up after the data


def test_an_unusable_answer_s_validators_are_not_sent_with_the_next_poll(
    server, client, html_page
) -> None:
    """An outage page served with 200 and a Last-Modified of its own (a static maintenance
    page) was kept as the URL's last answer: the next poll sent its If-Modified-Since, the
    origin, its data older than that, answered 304, and the adapter handed back the kept
    page, an InvalidPayload on every poll until the data changed again."""
    served: list[str] = []

    def origin(request: Request) -> Response:
        if not served:
            served.append("page")
            return Response(html_page, 200, {"Last-Modified": PAGE_MODIFIED}, "text/html")
        since = request.headers.get("If-Modified-Since")
        if since and parsedate_to_datetime(since) >= parsedate_to_datetime(DATA_MODIFIED):
            served.append("304")
            return Response(status=304)
        served.append("data")
        return Response(ROWS, 200, {"Last-Modified": DATA_MODIFIED}, "text/csv")

    server.expect_request(FRED_PATH).respond_with_handler(origin)
    source = FredCsvSource(server.url_for("/"), client, attempts=1, backoff_s=0)
    with pytest.raises(InvalidPayload, match="got HTML"):
        source.fetch(REQUEST)
    result = source.fetch(REQUEST)
    assert [str(o.value) for o in result.observations] == ["24.74", "27.24", "30.05"]
    assert served == ["page", "data"]
    again = source.fetch(REQUEST)  # the data's own validators still make a cheap poll
    assert served == ["page", "data", "304"] and source.not_modified == 1
    assert list(again.observations) == list(result.observations)


def test_an_intraday_bar_with_a_close_is_kept_whatever_else_is_null(server, client) -> None:
    """A daily bar with a close and a null volume is stored (volume None); a 15-minute bar
    was dropped without a word, its published close with it, and a volume that is not whole
    was cut to an int. A bar with no close is Yahoo's "no trade": still skipped."""
    stamps = [1651842000 + 900 * n for n in range(4)]  # 2022-05-06 10:00 São Paulo, every 15 min
    quote = {
        "open": [21.6, 21.5, None, None],
        "high": [21.7, 21.6, 21.6, None],
        "low": [21.5, 21.4, 21.5, None],
        "close": [21.55, 21.45, 21.52, None],
        "volume": [1200, None, 12.5, None],
    }
    chart = {
        "chart": {
            "result": [
                {
                    "meta": {"exchangeTimezoneName": "America/Sao_Paulo"},
                    "timestamp": stamps,
                    "indicators": {"quote": [quote]},
                }
            ],
            "error": None,
        }
    }
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_json(chart)
    source = YahooChartSource(server.url_for("/"), client, attempts=1, backoff_s=0)
    bars = source.fetch_bars(DEFAULT_CATALOG["STOCK#PETR4"], date(2022, 5, 6))
    assert [(b.at.strftime("%H:%M"), str(b.value), b.attrs) for b in bars] == [
        (
            "10:00",
            "21.55",
            {
                "open": Decimal("21.6"),
                "high": Decimal("21.7"),
                "low": Decimal("21.5"),
                "volume": 1200,
            },
        ),
        (
            "10:15",
            "21.45",
            {"open": Decimal("21.5"), "high": Decimal("21.6"), "low": Decimal("21.4")},
        ),
        (
            "10:30",
            "21.52",
            {"high": Decimal("21.6"), "low": Decimal("21.5"), "volume": Decimal("12.5")},
        ),
    ]


def test_an_outage_page_after_a_retried_503_is_a_failure_and_the_last_error(
    server, client, html_page
) -> None:
    """A 503, then, on the retry, an outage page with 200: neither answer was the data. The
    page went uncounted because the 503 before it, in the same fetch, had counted (before:
    2 requests, 1 failure, last error "HTTP 503", so the source did not show as unusable)."""
    answers = iter([Response("busy", 503), Response(html_page, 200, content_type="text/html")])
    server.expect_request(FRED_PATH).respond_with_handler(lambda _request: next(answers))
    source = FredCsvSource(server.url_for("/"), client, attempts=2, backoff_s=0)
    with pytest.raises(InvalidPayload, match="got HTML"):
        source.fetch(REQUEST)
    stats = source.stats()
    assert (stats.requests, stats.failures, stats.unreachable) == (2, 2, True)
    assert stats.last_error == "expected CSV, got HTML: Serviço indisponível"
