"""The shared HTTP layer: client factory, URL redaction, pacing, JSON with exact decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fuelpipe.adapters.sources import anp, bcb, fred, yahoo
from fuelpipe.adapters.sources._http import (
    HttpSource,
    json_decimal,
    longest_fetch_s,
    looks_like_html,
    make_client,
    parse_json,
    redact_url,
    single_series,
)
from fuelpipe.adapters.sources.fred import FredCsvSource
from fuelpipe.adapters.sources.yahoo import YahooChartSource
from fuelpipe.homes.settings import DEFAULT_SOURCE_URLS, Settings
from fuelpipe.homes.sources import build_sources
from fuelpipe.ports.source import FetchRequest, FetchResult, InvalidPayload


def test_make_client_sets_browser_agent_and_timeouts(server) -> None:
    server.expect_request("/echo").respond_with_data("ok")
    with make_client(timeout_s=7.5) as client:
        assert client.timeout.read == 7.5
        assert client.timeout.connect == 7.5
        client.get(server.url_for("/echo"))
    request, _ = server.log[0]
    assert request.headers["User-Agent"].startswith("Mozilla/5.0")
    with make_client(timeout_s=60) as client:
        assert client.timeout.connect == 10.0  # a dead host is known sooner than a slow body


def test_the_attempt_deadline_comes_from_settings_or_the_timeout() -> None:
    """Unset, the deadline is 3 read timeouts (a workbook's time to arrive); set, it reaches
    every source the homes build."""
    derived = build_sources(Settings(http_timeout_s=5, http_attempt_deadline_s=None))
    given = build_sources(Settings(http_timeout_s=5, http_attempt_deadline_s=7))
    try:
        assert all(isinstance(s, HttpSource) for s in (*derived.values(), *given.values()))
        assert len(derived) == len(given) == 4
        assert {s.attempt_deadline_s for s in derived.values() if isinstance(s, HttpSource)} == {
            15.0
        }
        assert {s.attempt_deadline_s for s in given.values() if isinstance(s, HttpSource)} == {7.0}
    finally:
        for source in (*derived.values(), *given.values()):
            source.close()


def test_the_longest_fetch_counts_each_attempt_to_its_deadline_and_one_more_read() -> None:
    """The worker limits derive from this: the deadline covers connecting, the headers and the
    body (a watchdog ends the attempt), with one read timeout kept as a margin."""
    # 4 attempts of 60 s + 20 s, 3 waits of the 20 s Retry-After cap
    assert longest_fetch_s(20, 4, 0.5) == 4 * (60 + 20) + 3 * 20
    assert longest_fetch_s(20, 4, 0.5, deadline_s=30) == 4 * (30 + 20) + 3 * 20
    # a deadline shorter than the connect timeout: connecting is cut to the deadline
    assert longest_fetch_s(10, 2, 0.5, deadline_s=5) == 2 * (5 + 10) + 20


def test_default_base_urls_match_settings() -> None:
    assert DEFAULT_SOURCE_URLS["bcb"] == bcb.DEFAULT_BASE_URL
    assert DEFAULT_SOURCE_URLS["yahoo"] == yahoo.DEFAULT_BASE_URL
    assert DEFAULT_SOURCE_URLS["fred"] == fred.DEFAULT_BASE_URL
    assert DEFAULT_SOURCE_URLS["anp"] == anp.DEFAULT_BASE_URL


def test_redact_url_masks_secrets_only() -> None:
    plain = "https://fred.stlouisfed.org/graph/fredgraph.csv?id=DCOILBRENTEU&cosd=2020-01-01"
    assert redact_url(plain) == plain
    masked = redact_url("https://api.example/x?series_id=A&api_key=s3cr3t&token=t0k")
    assert "s3cr3t" not in masked
    assert "t0k" not in masked
    assert "series_id=A" in masked
    assert "api_key=***" in masked


def test_polite_spacing_uses_injected_clock(server, client, payload, fake_clock, series) -> None:
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
        payload("yahoo_chart_PETR4.SA_2017-11-09_2017-11-24.json"),
        content_type="application/json",
    )
    source = YahooChartSource(
        server.url_for(""),
        client,
        attempts=1,
        backoff_s=0.0,
        min_interval_s=0.5,
        sleep=fake_clock.sleep,
        monotonic=fake_clock.monotonic,
    )
    s = series("STOCK#PETR4")
    request = FetchRequest(s.fetch_unit, (s,), date(2017, 11, 9), date(2017, 11, 24))
    source.fetch(request)
    assert fake_clock.sleeps == []  # the first request goes at once
    source.fetch(request)
    fake_clock.now += 0.2  # time passes outside the adapter: only the rest is waited
    source.fetch(request)
    fake_clock.now += 5.0
    source.fetch(request)
    assert fake_clock.sleeps == [0.5, pytest.approx(0.3)]
    assert source.requests_made == 4


def test_constructor_rejects_nonsense(client) -> None:
    with pytest.raises(ValueError, match="attempts"):
        FredCsvSource("http://127.0.0.1:9", client, attempts=0, backoff_s=0.0)
    with pytest.raises(ValueError, match="negative"):
        FredCsvSource("http://127.0.0.1:9", client, attempts=1, backoff_s=-1.0)
    with pytest.raises(ValueError, match="no base URL"):
        _Bare(None, client)


class _Bare(HttpSource):
    """A source with no default URL."""

    def fetch(self, request: FetchRequest) -> FetchResult:
        raise NotImplementedError


def test_default_base_url_and_close() -> None:
    source = FredCsvSource()
    assert source.base_url == "https://fred.stlouisfed.org"
    source.close()
    assert source.client.is_closed


def test_parse_json_keeps_exact_decimals_and_reads_nan_as_missing() -> None:
    data = parse_json(b'{"a": 5.2822, "b": 1, "c": NaN, "d": 0.1}', "t", "u")
    assert data == {"a": Decimal("5.2822"), "b": 1, "c": None, "d": Decimal("0.1")}
    assert json_decimal(True) is None
    assert json_decimal("5.1") is None
    assert json_decimal(3) == Decimal(3)
    with pytest.raises(InvalidPayload, match=r"t: u: body is not valid JSON"):
        parse_json(b'{"a": 1', "t", "u")


@pytest.mark.parametrize(
    "body",
    [b"<!DOCTYPE html><html>", b"  \n<html lang='pt'>", b"\xef\xbb\xbf<!doctype HTML>", b"<?xml"],
)
def test_looks_like_html(body: bytes) -> None:
    assert looks_like_html(body)


@pytest.mark.parametrize("body", [b'{"chart":1}', b"DATE,X\n", b"PK\x03\x04", b""])
def test_not_html(body: bytes) -> None:
    assert not looks_like_html(body)


def test_single_series_guards_requests(series) -> None:
    usd, eur = series("CURRENCY#USD"), series("CURRENCY#EUR")
    both = FetchRequest("bcb:USD", (usd, eur), date(2021, 1, 4), date(2021, 1, 5))
    with pytest.raises(ValueError, match="exactly one series"):
        single_series(both, "bcb")
    with pytest.raises(ValueError, match="belongs to source 'bcb'"):
        single_series(FetchRequest("bcb:USD", (usd,), date(2021, 1, 4), date(2021, 1, 5)), "fred")
