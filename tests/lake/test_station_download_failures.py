"""ANP's station files failing over real HTTP on 127.0.0.1: each failure is one line in the
other sources' words (what failed, at which URL, for which file), and one file's failure
leaves the others to be ingested."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from tests.lake.conftest import NOW, real_file

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.shpc import LISTING_PATH, StationFiles
from fuelpipe.ports.source import (
    PermanentSourceError,
    ServerError,
    SourceError,
    SourceUnreachable,
)
from fuelpipe.stages.stations import ingest_remote

FILES = "/arquivos/shpc/qus/"


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _lake(tmp_path: Path) -> StationLake:
    return StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))


def _download_fails(source: StationFiles, url: str, target: Path, kind: type[SourceError]) -> str:
    """The error ``source`` raises downloading ``url`` to ``target``, of ``kind``, in words;
    the source is closed."""
    try:
        with pytest.raises(kind) as caught:
            source.download(url, target)
    finally:
        source.close()
    return str(caught.value)


def _listing_fails(source: StationFiles, kind: type[SourceError]) -> str:
    """The error ``source`` raises reading its listing, of ``kind``, in words; the source is
    closed."""
    try:
        with pytest.raises(kind) as caught:
            source.listing()
    finally:
        source.close()
    return str(caught.value)


def test_a_refused_listing_says_connection_refused_and_is_retried() -> None:
    """The listing's failure read "[Errno 111] Connection refused" (httpx's text), where
    every other source says "connection refused"; and it was retried as a server error."""
    base = f"http://127.0.0.1:{_closed_port()}"
    source = StationFiles(base, attempts=2, backoff_s=0)
    words = _listing_fails(source, SourceUnreachable)
    assert words == f"shpc: {base}/{LISTING_PATH}: connection refused"
    assert source.requests_made == 2  # no answer at all may pass: retried


def test_a_refused_download_names_the_file_in_the_other_sources_words(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{_closed_port()}"
    url = f"{base}{FILES}ultimas-4-semanas-glp.csv"
    source = StationFiles(base, attempts=2, backoff_s=0)
    assert (
        _download_fails(source, url, tmp_path / "glp.csv", SourceUnreachable)
        == f"shpc: {url}: connection refused"
    )
    assert source.requests_made == 2
    assert not (tmp_path / "glp.csv").exists()


def test_a_404_for_one_file_of_several_is_its_line_and_the_others_are_ingested(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The 404 read "shpc: URL: 404" where the other sources say "HTTP 404 not found", and
    did not say what to do."""
    httpserver.expect_request(f"/{LISTING_PATH}").respond_with_data(
        f'<a href="{FILES}gone.csv">gone</a><a href="{FILES}ultimas-4-semanas-glp.csv">glp</a>',
        content_type="text/html",
    )
    httpserver.expect_request(f"{FILES}gone.csv").respond_with_data("no such file", status=404)
    httpserver.expect_request(f"{FILES}ultimas-4-semanas-glp.csv").respond_with_data(
        real_file("glp"), content_type="text/csv"
    )
    source = StationFiles(httpserver.url_for("/"), attempts=3, backoff_s=0)
    try:
        summary = ingest_remote(_lake(tmp_path), source)
    finally:
        source.close()
    gone = httpserver.url_for(f"{FILES}gone.csv")
    assert summary.errors == [
        f"gone.csv: shpc: {gone}: HTTP 404 not found; not ingested: the next "
        "`fuelpipe stations ingest` asks for it again"
    ]
    assert [f["name"] for f in summary.files] == ["ultimas-4-semanas-glp.csv"]
    assert summary.written == 13_310
    assert len(httpserver.log) == 3  # a 404 is not retried


@contextmanager
def _raw_server(answer: bytes, *, hold: bool = False) -> Iterator[str]:
    """A server on 127.0.0.1 that sends each connection ``answer`` (its status line, headers
    and what body it sends) and closes it, or with ``hold`` keeps it open until the test
    ends, however often it is asked; yields its origin."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(answer)
                if hold:
                    stop.wait(30)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        with suppress(OSError):  # wakes the accept() the thread waits in (close() does not)
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)


@pytest.fixture
def cut_short() -> Iterator[str]:
    """Declares 1000 bytes, sends 400 and closes the connection."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/csv\r\n\r\n"
    with _raw_server(answer + b"x" * 400) as origin:
        yield origin


def test_a_download_cut_short_says_so_with_its_bytes_and_keeps_nothing(
    cut_short: str, tmp_path: Path
) -> None:
    """A connection closed mid-body read as httpx's "peer closed connection without sending
    complete message body (...)"; the other cut-short bodies say "body cut short (N of M
    bytes)". It is retried, and nothing of it is left on disk."""
    url = f"{cut_short}{FILES}ultimas-4-semanas-glp.csv"
    target = tmp_path / "glp.csv"
    source = StationFiles(cut_short, attempts=2, backoff_s=0)
    assert _download_fails(source, url, target, ServerError) == (
        f"shpc: {url}: body cut short (400 of 1000 bytes): connection dropped"
    )
    assert source.requests_made == 2
    assert not target.exists()


def test_a_redirect_to_another_host_is_refused_before_that_host_is_asked(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Redirects were followed by httpx and the URL they ended at checked afterwards: the
    request itself had reached the host ANP does not serve (a cloud metadata endpoint, an
    internal service). Each hop is now checked before it is sent."""
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    try:
        other.expect_request("/x.csv").respond_with_data("secret")
        elsewhere = other.url_for("/x.csv")
        httpserver.expect_request(f"{FILES}glp.csv").respond_with_data(
            "", status=302, headers={"Location": elsewhere}
        )
        source = StationFiles(httpserver.url_for("/"), attempts=3, backoff_s=0)
        try:
            with pytest.raises(PermanentSourceError) as caught:
                source.download(httpserver.url_for(f"{FILES}glp.csv"), tmp_path / "glp.csv")
        finally:
            source.close()
        assert other.log == []  # never asked
    finally:
        other.clear()
        other.stop()
    assert f"redirected to {elsewhere}, which is not https on" in str(caught.value)
    assert source.requests_made == 1
    assert not (tmp_path / "glp.csv").exists()


def test_a_listing_past_the_body_cap_is_refused_as_the_other_sources_refuse_theirs(
    httpserver: HTTPServer,
) -> None:
    """The listing was read whole, and inflated whole by httpx, with no cap: 17 KB of gzip on
    the wire became a 17 MB page in memory (a bomb of a few MB would be gigabytes), where the
    other sources refuse an answer past 16 MB once inflated. Synthetic: 17 MiB of spaces."""
    import gzip

    from fuelpipe.adapters.sources._http import DEFAULT_MAX_BODY_BYTES
    from fuelpipe.ports.source import InvalidPayload

    bomb = gzip.compress(b" " * (17 << 20))
    assert len(bomb) < 100_000
    httpserver.expect_request(f"/{LISTING_PATH}").respond_with_data(
        bomb, content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    source = StationFiles(httpserver.url_for("/"), attempts=3, backoff_s=0)
    try:
        with pytest.raises(InvalidPayload) as caught:
            source.listing()
    finally:
        source.close()
    listing = httpserver.url_for(f"/{LISTING_PATH}")
    assert str(caught.value) == (
        f"shpc: {listing}: listing page over {DEFAULT_MAX_BODY_BYTES} bytes once inflated, "
        "past what ANP's page takes"
    )
    assert source.requests_made == 1  # not retried: the same page comes again


def test_a_gzip_listing_is_still_read(httpserver: HTTPServer) -> None:
    import gzip

    page = f'<a href="{FILES}ultimas-4-semanas-glp.csv">glp</a>'.encode()
    httpserver.expect_request(f"/{LISTING_PATH}").respond_with_data(
        gzip.compress(page), content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    source = StationFiles(httpserver.url_for("/"), attempts=1, backoff_s=0)
    try:
        got = source.listing()
    finally:
        source.close()
    assert got.urls == [httpserver.url_for(f"{FILES}ultimas-4-semanas-glp.csv")]


def test_a_listing_that_changed_shape_says_what_it_looked_for_and_what_it_found(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A listing with no station file linked read "no station file linked: '<!DOCTYPE html>
    <html lang=...'": the page's first 120 characters, markup, nothing of what was looked for
    or found. Synthetic: ANP's page moved its files under another folder."""
    from typer.testing import CliRunner

    from fuelpipe.cli.main import cli

    page = (
        "<!DOCTYPE html><html lang='pt-br'><head><meta charset='utf-8'>"
        + "<link rel='stylesheet' href='/x.css'>" * 5
        + "<title>Série Histórica de Preços</title></head><body>"
        + '<a href="/arquivos/precos/glp.csv">glp</a><a href="/noticias">news</a></body></html>'
    )
    httpserver.expect_request(f"/{LISTING_PATH}").respond_with_data(page, content_type="text/html")
    env = {
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_SOURCE_SHPC_URL": httpserver.url_for("/"),
        "FUELPIPE_HTTP_ATTEMPTS": "1",
    }
    done = CliRunner().invoke(cli, ["stations", "ingest"], env=env)
    assert done.exit_code == 1, done.output
    (line,) = done.stderr.splitlines()
    listing = httpserver.url_for(f"/{LISTING_PATH}")
    assert line.startswith(
        f"error: listing: shpc: {listing}: no station file linked: none of the page's 2 links "
        "is to a .csv or .zip under /arquivos/shpc/ (has ANP changed the page?); its title: "
        "'Série Histórica de Preços'; nothing was downloaded"
    ), line


@pytest.fixture
def declares_too_much() -> Iterator[str]:
    """Declares a 5 GB body, sends 10 bytes and then nothing more until the test ends."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n" + b"x" * 10
    with _raw_server(answer, hold=True) as origin:
        yield origin


def test_a_file_declared_past_the_download_limit_is_refused_before_its_body(
    declares_too_much: str, tmp_path: Path
) -> None:
    """A Content-Length past the limit was refused only once a first 1 MiB of body had come:
    a server that declared 5 GB and trickled held the download until a read timed out (and
    was retried as a timeout). It is refused from its headers, and nothing is written."""
    from fuelpipe.adapters.sources._http import make_client
    from fuelpipe.ports.source import InvalidPayload

    url = f"{declares_too_much}{FILES}ultimas-4-semanas-glp.csv"
    target = tmp_path / "glp.csv"
    source = StationFiles(declares_too_much, make_client(timeout_s=5), attempts=1, backoff_s=0)
    assert _download_fails(source, url, target, InvalidPayload) == (
        f"shpc: {url}: more than {1 << 30} bytes (5000000000 declared), past what a station "
        "file takes: not downloaded"
    )
    assert not target.exists()


def test_a_gzip_body_inflating_past_the_limit_is_still_refused_as_it_is_written(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Its Content-Length (the gzip on the wire) is well under the limit: the bytes written
    are counted, and past the limit nothing is kept (a smaller limit here; synthetic: 4 MiB of
    zeros, gzipped to a few KB)."""
    import gzip

    from fuelpipe.ports.source import InvalidPayload

    httpserver.expect_request(f"{FILES}glp.csv").respond_with_data(
        gzip.compress(bytes(4 << 20)), headers={"Content-Encoding": "gzip"}
    )
    target = tmp_path / "glp.csv"
    source = StationFiles(httpserver.url_for("/"), attempts=2, max_download_bytes=3 << 20)
    try:
        with pytest.raises(
            InvalidPayload,
            match=r": more than 3145728 bytes \(\d+\), past what a station file takes$",
        ):
            source.download(httpserver.url_for(f"{FILES}glp.csv"), target)
    finally:
        source.close()
    assert not target.exists()
    assert source.requests_made == 1


def test_listing_links_resolve_against_the_pages_base_and_drop_their_fragment() -> None:
    """A page's ``<base href>`` was ignored (relative links resolved against the page's own
    URL, so to files that are not there: a 404 each), and a link with a fragment
    (``…glp.csv#dados``) was a second file beside the one without: downloaded twice, each
    with its own validators. Synthetic page."""
    from fuelpipe.adapters.sources.shpc import file_links

    page = "https://www.gov.br/anp/pt-br/dados-abertos/serie-historica"
    html = (
        '<base href="https://www.gov.br/anp/pt-br/dados-abertos/serie-historica/">'
        '<a href="arquivos/shpc/qus/ultimas-4-semanas-glp.csv">glp</a>'
        '<a href="arquivos/shpc/qus/ultimas-4-semanas-glp.csv#dados">glp again</a>'
    )
    assert file_links(html, page).urls == [f"{page}/arquivos/shpc/qus/ultimas-4-semanas-glp.csv"]


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("http://anp.example:port/x.csv", "not a URL"),
        ("mailto:anp@example.invalid", "not an http or https URL"),
    ],
)
def test_a_redirect_to_an_invalid_location_fails_at_once_naming_it(
    location: str, why: str, tmp_path: Path
) -> None:
    """A Location that is not a URL read as "connection dropped (RemoteProtocolError)" and
    was retried, and one in a scheme no client follows (mailto:) escaped as httpx's
    InvalidURL, no source error at all. The same redirect comes on every attempt: it is
    permanent, and its error names the Location."""
    answer = f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
    with _raw_server(answer.encode()) as origin:
        url = f"{origin}{FILES}ultimas-4-semanas-glp.csv"
        source = StationFiles(origin, attempts=3, backoff_s=0)
        words = _download_fails(source, url, tmp_path / "glp.csv", PermanentSourceError)
        listing = StationFiles(origin, attempts=3, backoff_s=0)
        listed = _listing_fails(listing, PermanentSourceError)
    assert words.startswith(f"shpc: {url}: redirected to {location!r}, which is {why}")
    assert words.endswith(": not fetched")
    assert source.requests_made == 1  # not retried
    assert listed.startswith(f"shpc: {origin}/{LISTING_PATH}: redirected to {location!r}")
    assert listing.requests_made == 1
    assert not (tmp_path / "glp.csv").exists()


class OnlineFor:
    """A resolver that answers 127.0.0.1 to its first ``lookups`` lookups, then fails every
    one as an offline machine's does: the host went away after its listing was read."""

    def __init__(self, lookups: int) -> None:
        self.left, self.asked = lookups, 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        self.left -= 1
        if self.left < 0:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["127.0.0.1"]


def test_files_of_a_listing_whose_host_went_down_are_not_asked_past_the_breaker(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The listing is read, then no file's host can be looked up. Each of the 6 files
    waited out its 2 attempts (13 lookups in all); now the breaker refuses the files after
    the first 3 could not connect, unsent, each still its own line (asked again next run).
    After the cool-off one request is tried, once: it cannot connect, and is not retried."""
    names = [f"ultimas-4-semanas-{fuel}.csv" for fuel in ("glp", "gnv", "diesel", "a", "b", "c")]
    httpserver.expect_request(f"/{LISTING_PATH}").respond_with_data(
        "".join(f'<a href="{FILES}{name}">{name}</a>' for name in names),
        content_type="text/html",
        headers={"Connection": "close"},  # each download looks the host up again
    )
    resolver, now = OnlineFor(1), [0.0]
    base = f"http://anp.invalid:{httpserver.port}"
    source = StationFiles(
        base,
        make_client(timeout_s=2, resolve=resolver),
        attempts=2,
        backoff_s=0,
        monotonic=lambda: now[0],
    )
    try:
        summary = ingest_remote(_lake(tmp_path), source)
        now[0] += 30
        with pytest.raises(SourceUnreachable, match="DNS lookup failed"):
            source.download(f"{base}{FILES}{names[0]}", tmp_path / names[0])
        tried = resolver.asked
    finally:
        source.close()
    asked_again = "; not ingested: the next `fuelpipe stations ingest` asks for it again"
    refused = "the last 3 requests could not connect (DNS lookup failed); trying again after 30 s"
    assert summary.errors == [
        *(f"{n}: shpc: {base}{FILES}{n}: DNS lookup failed{asked_again}" for n in names[:3]),
        *(f"{n}: shpc: not asked: {refused}{asked_again}" for n in names[3:]),
    ]
    assert (tried, source.requests_made, source.not_sent) == (1 + 3 * 2 + 1, 1 + 3 * 2 + 1, 3)
    assert summary.files == []
