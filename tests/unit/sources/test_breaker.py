"""The sources' circuit breaker, over real sockets on 127.0.0.1: a source that cannot be
connected to (a DNS lookup failing, a port refusing) is not asked again for a cool-off."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING

import pytest
from pytest_httpserver import HTTPServer

from fuelpipe.adapters.sources._http import Breaker, make_client
from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.domain.catalog import ANP_WEEKLY_UNITS
from fuelpipe.ports.source import (
    FetchRequest,
    ServerError,
    SourceError,
    SourceUnreachable,
)

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
        bcb.get(_url(bcb))  # the one tried: one attempt, not retried
    assert resolver.lookups == 7
    with pytest.raises(SourceUnreachable, match="not asked: the last 4 requests"):
        bcb.get(_url(bcb))
    assert resolver.lookups == 7


@pytest.fixture
def refusing(fake_clock: FakeClock) -> Iterator[Callable[[int], BcbPtaxSource]]:
    """BCB sources with ``attempts`` each, at a port bound but never listening: every
    connection is refused."""
    made: list[BcbPtaxSource] = []
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))

        def source(attempts: int) -> BcbPtaxSource:
            made.append(
                BcbPtaxSource(
                    base_url=f"http://127.0.0.1:{bound.getsockname()[1]}",
                    client=make_client(timeout_s=2),
                    attempts=attempts,
                    backoff_s=0,
                    sleep=fake_clock.sleep,
                    monotonic=fake_clock.monotonic,
                )
            )
            return made[-1]

        try:
            yield source
        finally:
            for each in made:
                each.close()


def test_a_refused_port_opens_it_too(refusing: Callable[[int], BcbPtaxSource]) -> None:
    source = refusing(1)
    for _ in range(3):
        with pytest.raises(SourceUnreachable, match="connection refused"):
            source.get(_url(source))
    with pytest.raises(SourceUnreachable, match=r"not asked: .*connection refused"):
        source.get(_url(source))
    assert source.requests_made == 3


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


def test_the_half_open_request_is_one_attempt_when_it_cannot_connect(
    refusing: Callable[[int], BcbPtaxSource], fake_clock: FakeClock
) -> None:
    """After the cool-off the one request tried still ran all its attempts (4 here) before
    the breaker opened again; now it stops at its first that cannot connect."""
    source = refusing(4)
    for _ in range(3):
        with pytest.raises(SourceUnreachable, match="connection refused"):
            source.get(_url(source))
    assert source.requests_made == 12  # closed: each request to its 4 attempts
    fake_clock.now += 30
    with pytest.raises(SourceUnreachable, match="connection refused"):
        source.get(_url(source))  # the one tried
    assert source.requests_made == 13
    with pytest.raises(SourceUnreachable, match="not asked: the last 4 requests"):
        source.get(_url(source))
    assert (source.requests_made, source.not_sent) == (13, 1)


def test_a_half_open_request_that_reaches_the_server_keeps_its_retries(
    bcb: BcbPtaxSource, resolver: Resolver, fake_clock: FakeClock, server: HTTPServer
) -> None:
    """Only an attempt that cannot connect ends the tried request: a 500 is retried as ever."""
    server.expect_request("/ptax").respond_with_data("down", status=500)
    for _ in range(3):
        with pytest.raises(SourceUnreachable):
            bcb.get(_url(bcb))
    fake_clock.now += 30
    resolver.online = True
    with pytest.raises(ServerError):
        bcb.get(_url(bcb))
    assert len(server.log) == 2  # both attempts
    resolver.online = False
    with pytest.raises(SourceUnreachable, match="DNS lookup failed"):
        bcb.get(_url(bcb))  # closed again: sent, to its retries
    assert bcb.not_sent == 0


def test_the_guard_refuses_counts_and_marks_the_half_open_request(fake_clock: FakeClock) -> None:
    """``Breaker.guard`` on its own: what both HTTP clients (``HttpSource``, the station
    files) refuse, count and record through."""
    breaker = Breaker(threshold=2, cool_off_s=30, monotonic=fake_clock.monotonic)
    seen: list[SourceError] = []
    probing: list[bool] = []  # one per request run, whether it was the half-open one

    def unconnected(exc: SourceError) -> str | None:
        seen.append(exc)
        return "connection refused" if isinstance(exc, SourceUnreachable) else None

    def request(error: SourceError | None) -> None:
        with breaker.guard("src", unconnected):
            probing.append(breaker.probing)
            if error is not None:
                raise error

    for _ in range(2):
        with pytest.raises(SourceUnreachable, match="src: refused"):
            request(SourceUnreachable("src: refused"))
    fake_clock.now += 10
    with pytest.raises(SourceUnreachable) as refused:
        request(None)
    words = "the last 2 requests could not connect (connection refused); trying again after 20 s"
    assert str(refused.value) == f"src: not asked: {words}"
    assert (breaker.not_sent, breaker.last_refusal, len(seen)) == (1, words, 2)
    fake_clock.now += 20
    with pytest.raises(ServerError):
        request(ServerError("src: HTTP 500"))  # the one tried; it reached the server
    request(None)  # closed again
    assert probing == [False, False, True, False]
    assert not breaker.probing
    assert (breaker.not_sent, len(seen)) == (1, 3)


def test_an_unreachable_anp_is_asked_for_one_workbook_and_one_try_only(
    fake_clock: FakeClock,
) -> None:
    """A run asks ANP for its three weekly workbooks (``run --since`` offline). At the
    default threshold of 3 the breaker opened after the third: each was sent to its 4
    attempts (12 refused connections, nothing refused unsent). ANP's threshold is 1: the first
    workbook's 4 attempts; the second waits the breaker's 5 s and is tried once (before, it
    was refused at once, so a short outage left it unasked); it cannot connect either, so
    the third is not asked."""
    with socket.socket() as bound:  # bound, never listening: every connection is refused
        bound.bind(("127.0.0.1", 0))
        anp = AnpWorkbookSource(
            base_url=f"http://127.0.0.1:{bound.getsockname()[1]}",
            client=make_client(timeout_s=2),
            attempts=4,
            backoff_s=0,
            sleep=fake_clock.sleep,
            monotonic=fake_clock.monotonic,
        )
        errors = []
        try:
            for unit in ANP_WEEKLY_UNITS.values():
                with pytest.raises(SourceUnreachable) as failed:
                    anp.fetch(FetchRequest(unit, (), date(2026, 11, 1), date(2026, 12, 6)))
                errors.append(str(failed.value))
        finally:
            anp.close()
    assert "connection refused" in errors[0]
    assert "connection refused" in errors[1] and "not asked" not in errors[1]
    assert fake_clock.sleeps == [5.0]
    refused = "the last 2 requests could not connect (connection refused); trying again after 30 s"
    assert errors[2:] == [f"anp: not asked: {refused}"]
    stats = anp.stats()
    assert (stats.requests, stats.failures, stats.not_sent) == (5, 5, 1)
    assert stats.refusal == refused


def test_the_short_first_cool_off_is_waited_once_until_the_breaker_closes(
    fake_clock: FakeClock,
) -> None:
    """``probe_wait_s`` on its own: the first opening is waited out, a failed half-open
    request opens it for the whole cool-off (refused, no wait), and only a request that
    reached the server closes it, so the next opening is short again."""
    breaker = Breaker(
        threshold=1, cool_off_s=30, monotonic=fake_clock.monotonic,
        probe_wait_s=5, sleep=fake_clock.sleep,
    )  # fmt: skip

    def request(error: SourceError | None) -> None:
        with breaker.guard(
            "src", lambda e: "refused" if isinstance(e, SourceUnreachable) else None
        ):
            if error is not None:
                raise error

    down = SourceUnreachable("src: refused")
    with pytest.raises(SourceUnreachable):
        request(down)
    with pytest.raises(SourceUnreachable, match="src: refused"):
        request(down)  # waited 5 s, then sent: the half-open one
    with pytest.raises(SourceUnreachable, match="not asked: the last 2 requests"):
        request(None)
    assert fake_clock.sleeps == [5]
    fake_clock.now += 30
    request(None)  # the half-open one reached the server: closed
    with pytest.raises(SourceUnreachable):
        request(down)
    request(None)  # the first opening again: waited out, sent, closed
    assert fake_clock.sleeps == [5, 5]
    assert (breaker.not_sent, breaker.waited_s) == (1, 10)


def test_breakers_sharing_a_state_open_together_and_try_one_request_for_all(
    fake_clock: FakeClock,
) -> None:
    """Two breakers on one shared state (`run --workers`'s processes: homes/embedded.py
    ``SharedBreakers``, real shared memory): the requests in a row that could not connect in
    either open it for both, in the words of the last; after the cool-off the first request
    is the half-open one and, while it is under way, the other's is refused, so the run
    tries one; a failed one opens both again, one that reached the server closes both."""
    import multiprocessing

    from fuelpipe.homes.embedded import SharedBreakers

    shared = SharedBreakers(multiprocessing.get_context("spawn")).states()["bcb"]
    one, other = (
        Breaker(threshold=3, cool_off_s=30, monotonic=fake_clock.monotonic, state=shared)
        for _ in range(2)
    )
    down = SourceUnreachable("bcb: refused")

    def request(
        breaker: Breaker, error: SourceError | None, inside: Callable[[], None] | None = None
    ) -> None:
        with breaker.guard("bcb", lambda e: "connection refused" if e is down else None):
            if inside is not None:
                inside()
            if error is not None:
                raise error

    for breaker in (one, other, one):
        with pytest.raises(SourceUnreachable, match="bcb: refused"):
            request(breaker, down)
    words = "the last 3 requests could not connect (connection refused); trying again after 30 s"
    with pytest.raises(SourceUnreachable, match="not asked"):
        request(other, None)
    assert (other.not_sent, other.last_refusal, one.not_sent) == (1, words, 0)

    def refused_meanwhile() -> None:
        assert one.probing
        with pytest.raises(SourceUnreachable, match="not asked"):
            request(other, None)  # one request for all: the other's is refused

    fake_clock.now += 30
    with pytest.raises(SourceUnreachable, match="bcb: refused"):
        request(one, down, refused_meanwhile)  # the half-open one, which fails
    assert other.not_sent == 2
    with pytest.raises(SourceUnreachable, match="the last 4 requests"):
        request(other, None)  # open again for both

    def refused_none() -> None:
        assert other.probing and one.refusal() is not None  # taken: none other is sent

    fake_clock.now += 30
    request(other, None, refused_none)  # the half-open one reaches the server
    request(one, None)  # closed for both
    assert (one.not_sent, other.not_sent) == (0, 3)
