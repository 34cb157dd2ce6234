"""Source failures in words for the end-of-run table, and retries logged as readable lines."""

from __future__ import annotations

import logging
import socket
from datetime import date

import httpx
import pytest
import stamina
from pytest_httpserver import HTTPServer

from fuelpipe.adapters.sources._http import brief, log_retry, make_client, transport_error_words
from fuelpipe.adapters.sources.fred import FredCsvSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import FetchRequest, ServerError, SourceTimeout, SourceUnreachable


def _error_with_cause(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError("failed") from inner
    except httpx.ConnectError as exc:
        return exc


def test_dns_and_refusal_are_named() -> None:
    dns = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert transport_error_words(_error_with_cause(dns)) == "DNS lookup failed"
    assert transport_error_words(_error_with_cause(ConnectionRefusedError(111, "x"))) == (
        "connection refused"
    )
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    assert transport_error_words(dropped).startswith("connection dropped")


def _request() -> FetchRequest:
    series = DEFAULT_CATALOG["COMMODITY#BRENT"]
    return FetchRequest(series.fetch_unit, (series,), date(2022, 1, 3), date(2022, 1, 7))


def test_a_timeout_says_after_how_long(httpserver: HTTPServer) -> None:
    import time

    httpserver.expect_request("/graph/fredgraph.csv").respond_with_handler(
        lambda _r: time.sleep(1.5) or "late"  # type: ignore[func-returns-value]
    )
    with make_client(timeout_s=0.5) as client:
        source = FredCsvSource(httpserver.url_for("/"), client, attempts=1, backoff_s=0)
        with pytest.raises(SourceTimeout, match=r"timed out after 0\.5 s reading \(ReadTimeout\)"):
            source.fetch(_request())
    stats = source.stats()
    assert (stats.requests, stats.failures, stats.last_error) == (
        1,
        1,
        "timed out after 0.5 s reading",
    )


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (httpx.ConnectTimeout, "timed out after 0.25 s connecting"),
        (httpx.WriteTimeout, "timed out after 3 s writing"),
        (httpx.PoolTimeout, "timed out after 4 s waiting for a pooled connection"),
        (httpx.ReadTimeout, "timed out after 2 s reading"),
    ],
)
def test_a_timeout_names_the_limit_that_applied(
    raised: type[httpx.TimeoutException], words: str
) -> None:
    """A connect timeout is bounded by the connect limit (capped below the read one), a write
    or a wait for the pool by theirs: the message names that limit, not the read timeout.
    httpx's own MockTransport raises what its transport would: a connect timeout cannot be
    provoked reliably on 127.0.0.1."""

    def answer(request: httpx.Request) -> httpx.Response:
        raise raised("synthetic", request=request)

    timeouts = httpx.Timeout(2.0, connect=0.25, write=3.0, pool=4.0)
    with httpx.Client(transport=httpx.MockTransport(answer), timeout=timeouts) as client:
        source = FredCsvSource("http://127.0.0.1:9", client, attempts=1, backoff_s=0)
        with pytest.raises(SourceTimeout) as caught:
            source.fetch(_request())
    assert str(caught.value).endswith(f"{words} ({raised.__name__})")
    assert source.stats().last_error == words


def test_a_timeout_without_a_limit_says_so() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("synthetic", request=request)

    timeouts = httpx.Timeout(2.0, connect=None)
    with httpx.Client(transport=httpx.MockTransport(answer), timeout=timeouts) as client:
        source = FredCsvSource("http://127.0.0.1:9", client, attempts=1, backoff_s=0)
        with pytest.raises(SourceTimeout, match=r": timed out connecting \(ConnectTimeout\)$"):
            source.fetch(_request())


def test_an_error_status_is_counted_and_named(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data("down", status=503)
    with make_client(timeout_s=5) as client:
        source = FredCsvSource(httpserver.url_for("/"), client, attempts=2, backoff_s=0)
        with pytest.raises(ServerError):
            source.fetch(_request())
    stats = source.stats()
    assert (stats.requests, stats.failures, stats.last_error) == (2, 2, "HTTP 503")
    assert stats.unreachable


def test_retries_log_one_readable_line(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stamina.instrumentation.set_on_retry_hooks([log_retry])
    try:
        with make_client(timeout_s=1) as client, caplog.at_level(logging.WARNING):
            source = FredCsvSource(f"http://127.0.0.1:{port}", client, attempts=2, backoff_s=0)
            with pytest.raises(SourceUnreachable):
                source.fetch(_request())
    finally:
        stamina.instrumentation.set_on_retry_hooks(None)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "fuelpipe.sources"]
    assert line.startswith("retrying in ")
    assert "connection refused" in line


ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n<body>"
    + "<p>The server is temporarily unable to service your request.</p>" * 40
    + "</body></html>"
)


def test_a_retry_line_names_source_status_and_a_snippet_not_the_url_nor_the_page(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A backfill retries many times: each line was the full URL and the HTML error page."""
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(
        ERROR_PAGE, status=503, content_type="text/html"
    )
    with make_client(timeout_s=5) as client:
        source = FredCsvSource(httpserver.url_for("/"), client, attempts=1, backoff_s=0)
        with pytest.raises(ServerError) as raised:
            source.fetch(_request())
    details = stamina.instrumentation.RetryDetails(
        name="fetch",
        args=(),
        kwargs={},
        retry_num=1,
        wait_for=0.9,
        waited_so_far=0.0,
        caused_by=raised.value,
    )
    with caplog.at_level(logging.WARNING):
        log_retry(details)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "fuelpipe.sources"]
    assert (
        line == "retrying in 0.9 s (retry 1): fred: HTTP 503 server error: 503 Service Unavailable"
    )
    assert brief(ValueError("bcb: http://h/x?a=1: timed out after 20 s (ReadTimeout)")) == (
        "bcb: timed out after 20 s (ReadTimeout)"
    )
    assert len(brief(ValueError("anp: " + "x" * 500))) == 160
