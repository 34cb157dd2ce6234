"""The sources' circuit breaker, over real sockets on 127.0.0.1: a source that cannot be
connected to (a DNS lookup failing, a port refusing) is not asked again for a cool-off."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest
from pytest_httpserver import HTTPServer

from fuelpipe.adapters.sources._http import Breaker, make_client
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.ports.source import ServerError, SourceUnreachable

if TYPE_CHECKING:
    from tests.unit.sources.conftest import FakeClock


class Resolver:
    """A resolver the test turns on and off: off, every lookup fails as an offline one does."""

    def __init__(self) -> None:
        self.online = False
        self.lookups = 0

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups += 1
        if not self.online:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["127.0.0.1"]


@pytest.fixture
def resolver() -> Resolver:
    return Resolver()


@pytest.fixture
def bcb(server: HTTPServer, resolver: Resolver, fake_clock: FakeClock) -> Iterator[BcbPtaxSource]:
    source = BcbPtaxSource(
        base_url=f"http://bcb.invalid:{server.port}",
        client=make_client(timeout_s=2, resolve=resolver),
        attempts=2,
        backoff_s=0,
        sleep=fake_clock.sleep,
        monotonic=fake_clock.monotonic,
    )
    yield source
    source.close()


def _url(source: BcbPtaxSource) -> str:
    return f"{source.base_url}/ptax"


def test_three_requests_that_cannot_connect_open_it_and_the_next_are_not_sent(
    bcb: BcbPtaxSource, resolver: Resolver, fake_clock: FakeClock
) -> None:
    for _ in range(3):
        with pytest.raises(SourceUnreachable, match="DNS lookup failed"):
            bcb.get(_url(bcb))
    assert resolver.lookups == 6  # each request to its 2 attempts
    fake_clock.now += 10
    with pytest.raises(SourceUnreachable) as refused:
        bcb.get(_url(bcb))
    assert str(refused.value) == (
        "bcb: not asked: the last 3 requests could not connect (DNS lookup failed); "
        "trying again after 20 s"
    )
    assert resolver.lookups == 6  # no lookup, no connection, no retry
    stats = bcb.stats()
    assert (stats.requests, stats.failures, stats.last_error) == (6, 6, "DNS lookup failed")
    assert stats.unreachable
    assert bcb.not_sent == stats.not_sent == 1
    assert stats.refusal == (
        "the last 3 requests could not connect (DNS lookup failed); trying again after 20 s"
    )


def test_after_the_cool_off_one_request_is_tried_and_success_closes_it(
    bcb: BcbPtaxSource, resolver: Resolver, fake_clock: FakeClock, server: HTTPServer
) -> None:
    # closed after the answer: the next request looks the host up again
    server.expect_request("/ptax").respond_with_data("{}", headers={"Connection": "close"})
    for _ in range(3):
        with pytest.raises(SourceUnreachable):
            bcb.get(_url(bcb))
    fake_clock.now += 30
    resolver.online = True
    assert bcb.get(_url(bcb)).status_code == 200
    resolver.online = False
    for _ in range(2):  # closed and counting from 0: two failures do not open it
        with pytest.raises(SourceUnreachable, match="DNS lookup failed"):
            bcb.get(_url(bcb))
    assert resolver.lookups == 6 + 1 + 4
    assert bcb.not_sent == 0


def test_a_failed_half_open_request_opens_it_again(
    bcb: BcbPtaxSource, resolver: Resolver, fake_clock: FakeClock
) -> None:
    for _ in range(3):
        with pytest.raises(SourceUnreachable):
            bcb.get(_url(bcb))
    fake_clock.now += 30
    with pytest.raises(SourceUnreachable, match="DNS lookup failed"):
        bcb.get(_url(bcb))  # the one tried
    assert resolver.lookups == 8
    with pytest.raises(SourceUnreachable, match="not asked: the last 4 requests"):
        bcb.get(_url(bcb))
    assert resolver.lookups == 8


def test_a_refused_port_opens_it_too(fake_clock: FakeClock) -> None:
    with socket.socket() as bound:  # bound, never listening: a connection is refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        source = BcbPtaxSource(
            base_url=f"http://127.0.0.1:{port}",
            client=make_client(timeout_s=2),
            attempts=1,
            backoff_s=0,
            sleep=fake_clock.sleep,
            monotonic=fake_clock.monotonic,
        )
        try:
            for _ in range(3):
                with pytest.raises(SourceUnreachable, match="connection refused"):
                    source.get(f"{source.base_url}/ptax")
            with pytest.raises(SourceUnreachable, match=r"not asked: .*connection refused"):
                source.get(f"{source.base_url}/ptax")
            assert source.requests_made == 3
        finally:
            source.close()


def test_http_errors_never_open_it(
    bcb: BcbPtaxSource, resolver: Resolver, server: HTTPServer
) -> None:
    """A server answering 500 is reached: its requests are each asked, to their retries."""
    resolver.online = True
    server.expect_request("/ptax").respond_with_data("down", status=500)
    for _ in range(5):
        with pytest.raises(ServerError):
            bcb.get(_url(bcb))
    assert len(server.log) == 10
    assert bcb.not_sent == 0


def test_a_request_that_reached_the_server_resets_the_count(
    bcb: BcbPtaxSource, resolver: Resolver, server: HTTPServer
) -> None:
    server.expect_request("/ptax").respond_with_data(
        "down", status=500, headers={"Connection": "close"}
    )
    for online in (False, False, True, False, False):
        resolver.online = online
        with pytest.raises((SourceUnreachable, ServerError)):
            bcb.get(_url(bcb))
    assert bcb.not_sent == 0
    assert resolver.lookups == 10


def test_a_breaker_needs_a_positive_threshold() -> None:
    with pytest.raises(ValueError, match="threshold"):
        Breaker(threshold=0)
