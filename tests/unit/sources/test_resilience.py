"""Every source adapter against the same faults, over real HTTP on 127.0.0.1.

Each case serves a recorded real payload; the faults come from the loopback server: 429 with
and without Retry-After, 5xx, a handler sleeping past the client timeout, HTML with status 200,
truncated and garbled bodies, 404. Backoff is 0 so retries do not wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fuelpipe.adapters.sources._http import HttpSource, make_client
from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.adapters.sources.fred import FredCsvSource
from fuelpipe.adapters.sources.yahoo import YahooChartSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import (
    FetchRequest,
    FetchResult,
    InvalidPayload,
    NotFound,
    RateLimited,
    ServerError,
    SourceTimeout,
    SourceUnreachable,
    TransientSourceError,
)

if TYPE_CHECKING:
    from tests.unit.sources.conftest import FakeClock


@dataclass(frozen=True)
class Case:
    """One adapter, where it lives on the server, a good payload and what it must yield."""

    name: str
    adapter: type[HttpSource]
    mount: str  # the base URL's path on the loopback server
    path: str  # the path the adapter requests, as the server sees it
    fixture: str
    content_type: str
    request: FetchRequest
    truncate: Callable[[bytes], bytes]
    expect_date: date
    expect_value: Decimal
    expect_count: int


def _req(key: str, start: date, end: date) -> FetchRequest:
    s = DEFAULT_CATALOG[key]
    return FetchRequest(s.fetch_unit, (s,), start, end)


CASES = [
    Case(
        name="bcb",
        adapter=BcbPtaxSource,
        mount="/olinda/servico/PTAX/versao/v1/odata",
        path=(
            "/olinda/servico/PTAX/versao/v1/odata/CotacaoMoedaPeriodo("
            "moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)"
        ),
        fixture="bcb_ptax_USD_2021-05-19_2021-06-01_intermediate-bulletins-synthetic.json",
        content_type="application/json;odata.metadata=minimal",
        request=_req("CURRENCY#USD", date(2021, 5, 19), date(2021, 6, 1)),
        truncate=lambda body: body[: len(body) // 2],
        # strongylis__ptax.csv: 2021-05-19, venda 5.2822
        expect_date=date(2021, 5, 19),
        expect_value=Decimal("5.2822"),
        expect_count=10,
    ),
    Case(
        name="yahoo",
        adapter=YahooChartSource,
        mount="",
        path="/v8/finance/chart/PETR4.SA",
        fixture="yahoo_chart_PETR4.SA_2017-11-09_2017-11-24.json",
        content_type="application/json;charset=utf-8",
        request=_req("STOCK#PETR4", date(2017, 11, 9), date(2017, 11, 24)),
        truncate=lambda body: body[: len(body) // 2],
        # henriquebrnetto__PETR4.SA.csv: 2017-11-09 close 16.719999
        expect_date=date(2017, 11, 9),
        expect_value=Decimal("16.719999"),
        expect_count=10,  # 12 bars, two of them stale holiday bars
    ),
    Case(
        name="fred",
        adapter=FredCsvSource,
        mount="",
        path="/graph/fredgraph.csv",
        fixture="fred_DCOILBRENTEU_2020-03-30_2020-05-15_current-layout.csv",
        content_type="text/csv",
        request=_req("COMMODITY#BRENT", date(2020, 3, 30), date(2020, 5, 15)),
        truncate=lambda body: body[:-4],  # ends inside the last number
        # jackthompsondb__DCOILBRENTEU.csv: 2020-04-21 9.12
        expect_date=date(2020, 4, 21),
        expect_value=Decimal("9.12"),
        expect_count=32,  # 35 weekdays, 3 of them English bank holidays
    ),
    Case(
        name="anp",
        adapter=AnpWorkbookSource,
        mount="/shlp",
        path="/shlp/semanal/semanal-brasil-desde-2013.xlsx",
        fixture="anp_semanal-brasil-desde-2013_cut.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        request=_req("FUEL#GASOLINE#BR", date(2021, 5, 1), date(2022, 5, 31)),
        truncate=lambda body: body[: len(body) // 2],
        # maikereis__semanal-brasil-desde-2013.xlsx: week 2021-05-16 GASOLINA COMUM 5.641
        expect_date=date(2021, 5, 16),
        expect_value=Decimal("5.641"),
        expect_count=4,
    ),
]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def _source(
    case: Case, server: HTTPServer, client: httpx.Client, attempts: int = 3, **kw: float
) -> HttpSource:
    return case.adapter(server.url_for(case.mount), client, attempts=attempts, backoff_s=0.0, **kw)


def _good(case: Case, payload: Callable[[str], bytes]) -> Response:
    return Response(payload(case.fixture), status=200, content_type=case.content_type)


def _assert_good(case: Case, result: FetchResult) -> None:
    observations = list(result.observations)  # a source may stream them (read once)
    assert len(observations) == case.expect_count
    assert result.requests == 1
    values = {o.date: o.value for o in observations}
    assert values[case.expect_date] == case.expect_value
    assert str(values[case.expect_date]) == str(case.expect_value)  # exact digits, no float
    assert all(o.key == case.request.series[0].key for o in observations)


def test_serves_recorded_payload(case, server, client, payload) -> None:
    server.expect_oneshot_request(case.path).respond_with_response(_good(case, payload))
    source = _source(case, server, client)
    _assert_good(case, source.fetch(case.request))
    assert source.requests_made == 1


@pytest.mark.parametrize("retry_after", [None, "0"])
def test_429_then_success(case, server, client, payload, retry_after) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    server.expect_oneshot_request(case.path).respond_with_data(
        "Too Many Requests", status=429, headers=headers
    )
    server.expect_oneshot_request(case.path).respond_with_response(_good(case, payload))
    source = _source(case, server, client, retry_after_cap_s=0.01)
    result = source.fetch(case.request)
    _assert_good(case, result)
    assert source.requests_made == 2
    # A Retry-After within the cap (0 s: no timing in a test) was waited, then asked again.
    assert source.retry_after_waits == ([0.0] if retry_after else [])


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_beyond_the_cap_ends_the_fetch(case, server, client, status) -> None:
    """A 429 or 503 asking for longer than the cap (120 s > 0.01 s) is not asked again in this
    fetch: one request, and the error carries the Retry-After for the caller to keep."""
    server.expect_request(case.path).respond_with_data(
        "come back later", status=status, headers={"Retry-After": "120"}
    )
    source = _source(case, server, client, attempts=3, retry_after_cap_s=0.01)
    with pytest.raises(RateLimited if status == 429 else ServerError) as info:
        source.fetch(case.request)
    assert info.value.retry_after == 120.0
    assert source.requests_made == 1
    assert len(server.log) == 1  # counted by the server too
    assert source.retry_after_waits == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(case, server, client, payload, status) -> None:
    server.expect_oneshot_request(case.path).respond_with_data("upstream down", status=status)
    server.expect_oneshot_request(case.path).respond_with_response(_good(case, payload))
    source = _source(case, server, client)
    _assert_good(case, source.fetch(case.request))
    assert source.requests_made == 2


def test_timeout_then_success(case, server, payload, sleeping) -> None:
    # The good answer must come within the timeout on a loaded machine too: 1 s, not 0.3 (the
    # late one is released when the test ends, so its 30 s cost nothing).
    server.expect_oneshot_request(case.path).respond_with_handler(sleeping(30))
    server.expect_oneshot_request(case.path).respond_with_response(_good(case, payload))
    with make_client(timeout_s=1.0) as short:
        source = _source(case, server, short)
        _assert_good(case, source.fetch(case.request))
    assert source.requests_made == 2


def test_every_attempt_times_out(case, server, sleeping) -> None:
    server.expect_request(case.path).respond_with_handler(sleeping(1.5))
    with make_client(timeout_s=0.3) as short:
        source = _source(case, server, short, attempts=2)
        with pytest.raises(SourceTimeout, match=rf"{case.name}: http://127\.0\.0\.1.*timed out"):
            source.fetch(case.request)
    assert source.requests_made == 2


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set when the test ends: a handler stalled on it never outlives the test."""
    event = threading.Event()
    yield event
    event.set()


def _trickle(
    case: Case,
    payload: Callable[[str], bytes],
    clock: FakeClock,
    pieces: int,
    seconds_each: float,
    stall: tuple[int, threading.Event] | None = None,
) -> Callable[[Request], Response]:
    """A handler that sends the good payload in ``pieces`` small chunks, each well within the
    read timeout, moving the adapter's injected clock ``seconds_each`` per chunk: how long the
    body took is what the clock says, not how fast this machine is. ``stall`` = (n, event):
    before chunk n the handler waits for the event, so only a client that checks its deadline
    mid-body is gone by then (one that checks after the body would run into a read timeout)."""
    body = payload(case.fixture)
    size = -(-len(body) // pieces)

    def handler(_: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for n, start in enumerate(range(0, len(body), size)):
                if stall is not None and n == stall[0]:
                    stall[1].wait(30)
                clock.now += seconds_each
                time.sleep(0.01)  # a trickle: each chunk leaves on its own
                yield body[start : start + size]

        headers = {"Content-Length": str(len(body))}
        return Response(chunks(), status=200, content_type=case.content_type, headers=headers)

    return handler


def test_a_trickled_body_past_the_deadline_fails_each_attempt(
    case, server, client, payload, fake_clock, release
) -> None:
    """httpx's read timeout bounds each read, not the body: a server trickling a workbook within
    it could hold one attempt for minutes. Past the attempt's deadline (3 s, passed at the 4th
    chunk) the attempt is abandoned mid-body as a transient timeout; the bounded retries apply."""
    server.expect_request(case.path).respond_with_handler(
        _trickle(case, payload, fake_clock, pieces=8, seconds_each=1.0, stall=(4, release))
    )
    source = _source(
        case, server, client, attempts=2, attempt_deadline_s=3.0, monotonic=fake_clock.monotonic
    )
    with pytest.raises(
        SourceTimeout,
        match=rf"{case.name}: http://127\.0\.0\.1.*: passed its 3 s deadline: "
        rf"\d+ bytes received in \d+\.\d s",
    ) as info:
        source.fetch(case.request)
    assert isinstance(info.value, TransientSourceError)
    assert source.requests_made == 2
    # Counted by the server too: this case's path only, since the server is shared and the
    # previous case's stalled handler can finish (and log) after this test cleared the log.
    assert [req.path for req, _ in server.log].count(case.path) == 2
    assert source.stats().last_error == "passed its 3 s deadline"


def test_a_trickled_body_inside_the_deadline_is_read_whole(
    case, server, client, payload, fake_clock
) -> None:
    server.expect_request(case.path).respond_with_handler(
        _trickle(case, payload, fake_clock, pieces=8, seconds_each=0.25)
    )
    source = _source(case, server, client, attempt_deadline_s=3.0, monotonic=fake_clock.monotonic)
    _assert_good(case, source.fetch(case.request))
    assert source.requests_made == 1


@pytest.mark.parametrize("attempts", [1, 3])
def test_requests_bounded_by_attempts(case, server, client, attempts) -> None:
    seen: list[str] = []

    def busy(request: Request) -> Response:
        seen.append(request.path)
        return Response("busy", status=503)

    server.expect_request(case.path).respond_with_handler(busy)
    source = _source(case, server, client, attempts=attempts)
    with pytest.raises(ServerError, match="HTTP 503") as info:
        source.fetch(case.request)
    assert isinstance(info.value, TransientSourceError)
    assert source.requests_made == attempts
    assert seen == [case.path] * attempts  # counted by the server too


def test_persistent_429_raises_rate_limited(case, server, client) -> None:
    server.expect_request(case.path).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"}
    )
    source = _source(case, server, client, attempts=3, retry_after_cap_s=0.0)
    with pytest.raises(RateLimited) as info:
        source.fetch(case.request)
    assert info.value.retry_after == 0.0
    assert source.requests_made == 3
    assert source.retry_after_waits == [0.0, 0.0]  # no wait after the last attempt


def test_html_with_200_is_invalid_payload(case, server, client, html_page) -> None:
    server.expect_request(case.path).respond_with_data(
        html_page, status=200, content_type="text/html; charset=utf-8"
    )
    source = _source(case, server, client)
    with pytest.raises(InvalidPayload, match="HTML") as info:
        source.fetch(case.request)
    assert case.name in str(info.value)
    assert "127.0.0.1" in str(info.value)
    assert source.requests_made == 1  # a bad payload is for the pipeline's retry, not ours


def test_truncated_body_is_invalid_payload(case, server, client, payload) -> None:
    body = case.truncate(payload(case.fixture))
    server.expect_request(case.path).respond_with_data(body, content_type=case.content_type)
    with pytest.raises(InvalidPayload, match=case.name):
        _source(case, server, client).fetch(case.request)


@pytest.mark.parametrize(
    "garbage",
    [bytes(range(256)) * 4, b"PK\x03\x04" + bytes(range(255, -1, -1)) * 4],
    ids=["binary", "zip-magic-then-junk"],
)
def test_garbled_body_is_invalid_payload(case, server, client, garbage) -> None:
    server.expect_request(case.path).respond_with_data(garbage, content_type=case.content_type)
    with pytest.raises(InvalidPayload, match=case.name):
        _source(case, server, client).fetch(case.request)


def test_404_is_not_found(case, server, client, payload) -> None:
    body = payload("yahoo_chart_not-found_404.json") if case.name == "yahoo" else b"Not Found"
    server.expect_request(case.path).respond_with_data(body, status=404)
    source = _source(case, server, client)
    with pytest.raises(NotFound) as info:
        source.fetch(case.request)
    assert not isinstance(info.value, TransientSourceError)
    assert source.requests_made == 1  # 404 is permanent: no retry


def test_refused_connection_is_source_unreachable(case) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bind, read it, close
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with make_client(timeout_s=1.0) as c:
        source = case.adapter(f"http://127.0.0.1:{port}{case.mount}", c, 2, 0.0)
        with pytest.raises(SourceUnreachable, match="connection refused"):
            source.fetch(case.request)
    assert source.requests_made == 2
    stats = source.stats()
    assert (stats.failures, stats.last_error, stats.unreachable) == (2, "connection refused", True)
