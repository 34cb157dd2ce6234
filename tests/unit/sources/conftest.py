"""A real HTTP server on 127.0.0.1 serving recorded payloads, and helpers for the source tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from devtools.datasets import dataset
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fuelpipe.adapters.sources._http import make_client
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Series

PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "payloads"

# What gov.br and Yahoo serve with HTTP 200 during outages or consent walls.
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html lang='pt-br'><head><title>Servi\xc3\xa7o indispon\xc3\xadvel</title>"
    b"</head><body><h1>Tente novamente mais tarde</h1></body></html>\n"
)


@pytest.fixture(scope="session")
def payload() -> Callable[[str], bytes]:
    """Read a recorded payload from tests/fixtures/payloads."""
    return lambda name: (PAYLOADS / name).read_bytes()


@pytest.fixture(scope="session")
def series() -> Callable[[str], Series]:
    """Look a series up in the real catalog."""
    return DEFAULT_CATALOG.__getitem__


@pytest.fixture(scope="session")
def html_page() -> bytes:
    """An HTML error page as gov.br and Yahoo serve it with HTTP 200."""
    return HTML_PAGE


@pytest.fixture(scope="session")
def real_data() -> Callable[[str], Path]:
    """Look a real source file up in datasets/; a missing one fails the test."""
    return dataset


@pytest.fixture(scope="session")
def _threaded_server() -> Iterator[HTTPServer]:
    # Threaded, so a handler sleeping past the client timeout does not hold up the retry.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def server(_threaded_server: HTTPServer) -> Iterator[HTTPServer]:
    """The loopback server, cleared before and checked after each test."""
    _threaded_server.clear()
    yield _threaded_server
    _threaded_server.check_handler_errors()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client as the homes build it, with a generous timeout."""
    with make_client(timeout_s=5.0) as c:
        yield c


@pytest.fixture
def sleeping() -> Iterator[Callable[[float], Callable[[Request], Response]]]:
    """Build a handler that answers only after some seconds (past a short client timeout).

    The handlers are released when the test ends, so none outlives it.
    """
    done = threading.Event()

    def build(seconds: float) -> Callable[[Request], Response]:
        def handler(_: Request) -> Response:
            done.wait(seconds)
            return Response("late", status=200)

        return handler

    yield build
    done.set()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when the code under test sleeps."""
    return FakeClock()


class FakeClock:
    """An injected monotonic clock that moves only when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
