"""What one answer may cost and still count as one: its inflated size (a gzip bomb), its whole
time (headers trickled past the deadline, a DNS lookup that hangs), its end (a gzip stream cut short), an HTML page
with 200 as a failure, and Retry-After in both forms on 429 and 503 (a 408 is retried)."""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import suppress
from datetime import date
from pathlib import Path

import httpcore
import httpx
import pytest
from tests.e2e.conftest import fuelpipe
from tests.support.dns import HangingResolver

from fuelpipe.adapters.sources._dns import BoundedLookupBackend
from fuelpipe.adapters.sources._http import (
    DEFAULT_MAX_BODY_BYTES,
    BodyError,
    _retry_after_seconds,
    decoded,
    make_client,
)
from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.adapters.sources.fred import FredCsvSource
from fuelpipe.adapters.sources.shpc import StationFiles
from fuelpipe.adapters.sources.yahoo import YahooChartSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.lake import build_station_source
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.source import (
    FetchRequest,
    InvalidPayload,
    RateLimited,
    ServerError,
    SourceStats,
    SourceTimeout,
    SourceUnreachable,
)

FRED_PATH = "/graph/fredgraph.csv"
BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]
REQUEST = FetchRequest(BRENT.fetch_unit, (BRENT,), date(2020, 3, 30), date(2020, 5, 15))
ROWS = b"observation_date,DCOILBRENTEU\n" + b"".join(
    b"2020-04-%02d,%d.5\n" % (day, 20 + day) for day in range(1, 31)
)


def _fred(server, client, **kwargs) -> FredCsvSource:
    return FredCsvSource(server.url_for("/"), client, attempts=kwargs.pop("attempts", 1),
                         backoff_s=0, **kwargs)  # fmt: skip


def _cut_gzip(data: bytes) -> bytes:
    """``data``'s first half as gzip with no final block and no trailer: a stream cut short."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(data[: len(data) // 2]) + packer.flush(zlib.Z_FULL_FLUSH)


# 1. the inflated size


def test_a_gzip_body_past_the_cap_is_an_invalid_payload_not_held_in_memory(server, client) -> None:
    """4 MB of valid rows inflate from a few KB; with a 1 MB cap it is refused (before, httpx
    inflated the whole answer into memory and the rows were parsed)."""
    bomb = gzip.compress(b"2020-04-21,9.12\n" * (1 << 18))
    server.expect_request(FRED_PATH).respond_with_data(
        bomb, content_type="text/csv", headers={"Content-Encoding": "gzip"}
    )
    source = _fred(server, client, max_body_bytes=1 << 20)
    with pytest.raises(InvalidPayload, match="body over 1048576 bytes"):
        source.fetch(REQUEST)
    assert (source.requests_made, source.failures) == (1, 1)  # not retried inside the fetch
    assert source.last_error == "body over 1048576 bytes"


def test_a_declared_length_past_the_cap_is_refused_before_the_body(server, client) -> None:
    server.expect_request(FRED_PATH).respond_with_data(ROWS, content_type="text/csv")
    source = _fred(server, client, max_body_bytes=len(ROWS) - 1)
    with pytest.raises(InvalidPayload, match=f"body over {len(ROWS) - 1} bytes"):
        source.fetch(REQUEST)
    assert _fred(server, client, max_body_bytes=len(ROWS)).fetch(REQUEST).observations


def test_each_source_has_a_cap_with_room_for_its_largest_answer() -> None:
    """ANP's weekly workbook is ~12 MB; the JSON and CSV answers are a few MB at most."""
    assert AnpWorkbookSource.max_body_bytes == 64 << 20
    for source in (BcbPtaxSource, YahooChartSource, FredCsvSource):
        assert source.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 16 << 20
    with make_client(1.0) as client, pytest.raises(ValueError, match="cap must be positive"):
        FredCsvSource("http://127.0.0.1:9", client, max_body_bytes=0)


# 2. the attempt's deadline covers the headers


class _Trickler:
    """A raw server that sends a status line, then one header line at a time, never ending
    its headers; it notes whether it sent them all before the client hung up."""

    def __init__(self, lines: int, every_s: float) -> None:
        self.lines, self.every_s = lines, every_s
        self.sent_all = False
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for i in range(self.lines):
                    if self.stop.wait(self.every_s):
                        return
                    conn.sendall(b"X-Trickle-%d: y\r\n" % i)
                self.sent_all = True
                conn.sendall(b"Content-Length: 0\r\n\r\n")
            except OSError:  # the client hung up
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(60)
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[_Trickler]:
    server = _Trickler(lines=1200, every_s=0.05)  # 60 s: a hang guard, the deadline is 0.3 s
    yield server
    server.close()


def test_headers_trickled_past_the_deadline_end_the_attempt(trickler) -> None:
    """Each header line comes well within the 2 s read timeout; before, the deadline was
    checked only once the headers were all in, so the attempt ran to the server's end."""
    with make_client(timeout_s=2.0) as client:
        source = FredCsvSource(
            f"http://127.0.0.1:{trickler.port}",
            client,
            attempts=1,
            backoff_s=0,
            attempt_deadline_s=0.3,
        )
        with pytest.raises(SourceTimeout, match=r"passed its 0\.3 s deadline"):
            source.fetch(REQUEST)
    trickler.thread.join(60)
    assert not trickler.sent_all  # cut off mid-headers
    assert source.stats().last_error == "passed its 0.3 s deadline"


def test_a_hanging_dns_lookup_ends_the_attempt_at_its_deadline(server) -> None:
    """Before, the lookup ran inside socket.create_connection, unbounded, and the watchdog
    had no socket to shut down yet: the attempt lasted as long as the resolver hung."""
    server.expect_request(FRED_PATH).respond_with_data(ROWS, content_type="text/csv")
    resolver = HangingResolver()
    try:
        with make_client(timeout_s=5.0, resolve=resolver) as client:
            source = FredCsvSource(
                f"http://fred.test:{server.port}/", client, attempts=1, attempt_deadline_s=0.3
            )
            with pytest.raises(SourceTimeout):
                source.fetch(REQUEST)
        # the fetch ended while the lookup still hung: not after the resolver's own 30 s
        assert resolver.asked == ["fred.test"] and not resolver.gave_up
        assert not resolver.release.is_set()
        assert (source.requests_made, source.failures) == (1, 1)
    finally:
        resolver.release.set()


def test_the_injected_resolver_is_where_the_client_connects(server) -> None:
    server.expect_request(FRED_PATH).respond_with_data(ROWS, content_type="text/csv")
    resolver = HangingResolver()
    resolver.release.set()
    with make_client(timeout_s=5.0, resolve=resolver) as client:
        got = list(_fred_at(f"http://fred.test:{server.port}/", client).fetch(REQUEST).observations)
    assert len(got) == 30 and resolver.asked == ["fred.test"]

    def unknown(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with make_client(timeout_s=5.0, resolve=unknown) as client:
        source = _fred_at(f"http://fred.test:{server.port}/", client)
        with pytest.raises(SourceUnreachable, match="DNS lookup failed"):
            source.fetch(REQUEST)
    assert source.last_error == "DNS lookup failed"


def _fred_at(url: str, client: httpx.Client) -> FredCsvSource:
    return FredCsvSource(url, client, attempts=1, backoff_s=0)


# 3. an answer that cannot be used is a failure


def test_an_html_page_with_200_counts_as_a_failure_in_brief(server, client, html_page) -> None:
    server.expect_request(FRED_PATH).respond_with_data(html_page, content_type="text/html")
    source = _fred(server, client)
    with pytest.raises(InvalidPayload):
        source.fetch(REQUEST)
    stats = source.stats()
    assert (stats.requests, stats.failures, stats.unreachable) == (1, 1, True)
    assert stats.last_error == "expected CSV, got HTML: Serviço indisponível"


_QUOTE = {name: [1] for name in ("open", "high", "low", "close", "volume")}
_OUT_OF_RANGE_BAR = {
    "chart": {"result": [{"timestamp": [10**20], "indicators": {"quote": [_QUOTE]}}]}
}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (None, "expected JSON, got HTML: Serviço indisponível"),
        (b'{"chart": 3}', "expected chart.result[0]"),
        (json.dumps(_OUT_OF_RANGE_BAR).encode(), f"timestamp {10**20} is out of range"),
    ],
    ids=["html", "wrong-shape", "timestamp-out-of-range"],
)
def test_an_unusable_intraday_answer_counts_as_a_failure_in_brief(
    server, client, html_page, body, words
) -> None:
    """The 15-minute bars `watch --intraday` and the intraday Lambda fetch: before, an HTML
    page or a body of the wrong shape left the source's failures at 0 (and a timestamp out of
    range raised an OverflowError, which ended the whole refresh)."""
    server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(body or html_page)
    source = YahooChartSource(server.url_for("/"), client, attempts=1, backoff_s=0)
    with pytest.raises(InvalidPayload):
        source.fetch_intraday(DEFAULT_CATALOG["STOCK#PETR4"], date(2022, 5, 6))
    stats = source.stats()
    assert (stats.requests, stats.failures, stats.unreachable) == (1, 1, True)
    assert stats.last_error == words


def test_an_html_page_for_the_ptax_bulletins_counts_as_a_failure(server, client, html_page) -> None:
    server.expect_request(re.compile(r"/CotacaoMoedaDia.*")).respond_with_data(html_page)
    source = BcbPtaxSource(server.url_for("/"), client, attempts=1, backoff_s=0)
    with pytest.raises(InvalidPayload):
        source.fetch_intraday(DEFAULT_CATALOG["CURRENCY#USD"], date(2022, 5, 6))
    assert source.stats() == SourceStats(1, 1, "expected JSON, got HTML: Serviço indisponível")


def test_run_exits_3_when_every_answer_is_an_html_page(server, html_page, tmp_path) -> None:
    """`fuelpipe run` against FRED serving an outage page with 200: before, the table showed
    0 failures and a last error of "-", and the run exited 0."""
    server.expect_request(FRED_PATH).respond_with_data(html_page, content_type="text/html")
    env = {
        "FUELPIPE_DB": str(tmp_path / "fuelpipe.sqlite"),
        "FUELPIPE_SOURCE_FRED_URL": server.url_for("/"),
        "FUELPIPE_HTTP_BACKOFF_S": "0",
        "FUELPIPE_HTTP_TIMEOUT_S": "2",
        "FUELPIPE_NOW": "2020-05-15T23:00:00-03:00",
    }
    args = ("run", "--series", "COMMODITY#BRENT", "--since", "2020-04-01", "--json")
    done = fuelpipe(*args, env=env, check=False, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "could not use fred: every request failed" in done.stderr
    fred = json.loads(done.stdout)["sources"]["fred"]
    assert fred["failures"] == fred["requests"] >= 1
    assert fred["last_error"] == "expected CSV, got HTML: Serviço indisponível"


# 4. a compressed body cut short


def test_a_gzip_stream_cut_short_is_retried_not_taken_as_a_shorter_answer(server, client) -> None:
    """The Content-Length matches the bytes sent, but the gzip stream has no end: before,
    FRED's first 15 days were taken as the whole answer with no error."""
    server.expect_request(FRED_PATH).respond_with_data(
        _cut_gzip(ROWS), content_type="text/csv", headers={"Content-Encoding": "gzip"}
    )
    source = _fred(server, client, attempts=2)
    with pytest.raises(ServerError, match="body cut short"):
        source.fetch(REQUEST)
    assert (source.requests_made, source.failures) == (2, 2)


def test_a_whole_gzip_or_deflate_body_reads_as_before(server, client) -> None:
    for encoding, packed in (("gzip", gzip.compress(ROWS)), ("deflate", zlib.compress(ROWS))):
        server.clear()
        server.expect_request(FRED_PATH).respond_with_data(
            packed, content_type="text/csv", headers={"Content-Encoding": encoding}
        )
        got = list(_fred(server, client).fetch(REQUEST).observations)
        assert len(got) == 30, encoding


def test_decoded_reads_raw_deflate_and_several_gzip_members() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert b"".join(decoded([raw.compress(ROWS) + raw.flush()], "deflate")) == ROWS
    members = gzip.compress(ROWS[:100]) + gzip.compress(ROWS[100:])
    assert b"".join(decoded([members[:7], members[7:]], "gzip")) == ROWS
    assert b"".join(decoded([], "gzip")) == b""  # a 304's empty body


def test_decoded_drops_nul_padding_after_the_last_gzip_member_in_any_chunks() -> None:
    """NULs after the last member (synthetic padding), split across chunks as a server may
    send them, are dropped; a byte other than NUL among or after them is a garbled body."""
    packed = gzip.compress(ROWS[:100]) + gzip.compress(ROWS[100:])
    chunks = [packed[:-3], packed[-3:] + b"\0\0", b"\0" * 512, b"", b"\0"]
    assert b"".join(decoded(chunks, "gzip")) == ROWS
    for tail in ([b"\0\0", b"\0x"], [b"\0" * 8 + gzip.compress(ROWS)], [b"x\0"]):
        with pytest.raises(BodyError, match="garbled body encoding"):
            b"".join(decoded([packed, *tail], "gzip"))


def test_a_station_file_cut_short_is_not_kept(server, client, tmp_path: Path) -> None:
    """Before, half a station file was written and its ETag returned: the next ingest's
    conditional GET got a 304 and the other half was never read."""
    path = "/arquivos/shpc/dsas/ca/ca-2024-01.csv"
    rows = b"Regiao - Sigla;Estado - Sigla\r\n" + b"SE;SP\r\n" * 5000
    server.expect_request(path).respond_with_data(
        _cut_gzip(rows), headers={"Content-Encoding": "gzip", "ETag": '"v1"'}
    )
    source = StationFiles(server.url_for("/"), client, attempts=2, backoff_s=0)
    target = tmp_path / "ca.csv"
    with pytest.raises(ServerError, match="body cut short"):
        source.download(server.url_for(path), target)
    assert source.requests_made == 2
    assert not target.exists()


# 5. Retry-After in both forms and on 503; 408 retried; the station deadline set


def test_retry_after_as_a_date_beyond_the_cap_ends_the_fetch(server, client) -> None:
    server.expect_request(FRED_PATH).respond_with_data(
        "slow down",
        status=429,
        # measured against the answer's Date (the server's clock): decades away
        headers={"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"},
    )
    source = _fred(server, client, attempts=3)
    with pytest.raises(RateLimited, match=r"Retry-After [0-9.e+]+s") as info:
        source.fetch(REQUEST)
    assert info.value.retry_after is not None and info.value.retry_after > 20 * 365 * 86400
    assert source.requests_made == 1  # not asked again in this fetch
    assert source.retry_after_waits == []
    assert (
        _retry_after_seconds(
            httpx.Response(
                429,
                headers={
                    "Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT",
                    "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
                },
            )
        )
        == 30.0
    )


def test_retry_after_on_a_503_is_honoured(server, client) -> None:
    server.expect_request(FRED_PATH).respond_with_data(
        "maintenance", status=503, headers={"Retry-After": "0"}
    )
    source = _fred(server, client, attempts=2, retry_after_cap_s=0)
    with pytest.raises(ServerError, match=r"HTTP 503 server error \(Retry-After 0s\)"):
        source.fetch(REQUEST)
    assert source.requests_made == 2
    assert source.retry_after_waits == [0.0]


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_beyond_the_cap_ends_a_station_files_request(
    server, client, tmp_path: Path, status: int
) -> None:
    """StationFiles shares the rule: a Retry-After of 10 minutes (past the 0.01 s cap) gets no
    further request; the error carries it."""
    path = "/arquivos/shpc/dsas/ca/ca-2024-01.csv"
    server.expect_request(path).respond_with_data(
        "busy", status=status, headers={"Retry-After": "600"}
    )
    source = StationFiles(
        server.url_for("/"), client, attempts=3, backoff_s=0, retry_after_cap_s=0.01
    )
    with pytest.raises(RateLimited if status == 429 else ServerError) as info:
        source.download(server.url_for(path), tmp_path / "ca.csv")
    assert info.value.retry_after == 600.0
    assert source.requests_made == 1
    assert len(server.log) == 1
    assert source.retry_after_waits == []
    assert not (tmp_path / "ca.csv").exists()


def test_a_408_is_retried(server, client) -> None:
    server.expect_request(FRED_PATH).respond_with_data("timeout", status=408)
    source = _fred(server, client, attempts=3)
    with pytest.raises(SourceTimeout, match="HTTP 408"):
        source.fetch(REQUEST)
    assert source.requests_made == 3


def test_a_408_or_a_503_retry_after_is_retried_for_station_files(
    server, client, tmp_path: Path
) -> None:
    path = "/arquivos/shpc/dsas/ca/ca-2024-01.csv"
    server.expect_request(path).respond_with_data("busy", status=503, headers={"Retry-After": "0"})
    source = StationFiles(server.url_for("/"), client, attempts=2, backoff_s=0, retry_after_cap_s=0)
    with pytest.raises(ServerError, match="Retry-After 0s"):
        source.download(server.url_for(path), tmp_path / "ca.csv")
    assert source.requests_made == 2
    assert source.retry_after_waits == [0.0]
    server.clear()
    server.expect_request(path).respond_with_data("timeout", status=408)
    source = StationFiles(server.url_for("/"), client, attempts=2, backoff_s=0)
    with pytest.raises(SourceTimeout, match="HTTP 408"):
        source.download(server.url_for(path), tmp_path / "ca.csv")
    assert source.requests_made == 2


def test_station_downloads_get_the_attempt_deadline(trickler, tmp_path: Path) -> None:
    source = build_station_source(Settings(http_attempt_deadline_s=7))
    assert source.attempt_deadline_s == 7
    source.close()
    base = f"http://127.0.0.1:{trickler.port}"
    with make_client(timeout_s=2.0) as client:
        files = StationFiles(base, client, attempts=1, backoff_s=0, attempt_deadline_s=0.3)
        with pytest.raises(SourceTimeout, match=r"passed its 0\.3 s deadline"):
            files.download(f"{base}/arquivos/shpc/dsas/ca/ca-2024-01.csv", tmp_path / "ca.csv")
    trickler.thread.join(60)
    assert not trickler.sent_all


def _child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``code`` run by a Python child whose environment is ``env`` alone (and the path to the
    source tree): what make_client reads of proxies comes from there, not from this process."""
    src = str(Path(__file__).resolve().parents[3] / "src")
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": src},
    )


class _Proxy:
    """An HTTP proxy on 127.0.0.1 that answers each request it is sent with ``proxied``,
    noting each request line."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with suppress(OSError):  # the listener closed
            while True:
                conn, _ = self.listener.accept()
                with conn:
                    head = b""
                    while b"\r\n\r\n" not in head:
                        head += conn.recv(4096)
                    self.seen.append(head.split(b"\r\n", 1)[0])
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nproxied"
                    )

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    running = _Proxy()
    yield running
    running.close()


def test_a_proxy_from_the_environment_still_carries_the_requests(proxy: _Proxy) -> None:
    """HTTP_PROXY in a child's environment: its requests go to the proxy (on 127.0.0.1), the
    host never looked up here. With the bounded-lookup transport given to httpx on every
    client, httpx mounted no proxy from the environment and looked `fred.invalid` up itself."""
    code = (
        "from fuelpipe.adapters.sources._http import make_client\n"
        "with make_client(timeout_s=5.0) as c:\n"
        "    print(c.get('http://fred.invalid/graph').text)\n"
    )
    done = _child(code, {"HTTP_PROXY": f"http://127.0.0.1:{proxy.port}"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "proxied"
    assert proxy.seen == [b"GET http://fred.invalid/graph HTTP/1.1"]


def test_a_proxy_is_looked_up_bounded_and_carries_the_requests(proxy: _Proxy) -> None:
    """The proxy's own host is looked up through the injected resolver; the target's lookup
    is the proxy's (fred.invalid is never asked). Before, an injected resolver turned the
    environment's proxies off, and a proxy's host was looked up unbounded."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    proxies = {"http": f"http://proxy.test:{proxy.port}"}
    with make_client(timeout_s=5.0, resolve=resolve, proxies=proxies) as client:
        assert client.get("http://fred.invalid/graph").text == "proxied"
    assert asked == ["proxy.test"]
    assert proxy.seen == [b"GET http://fred.invalid/graph HTTP/1.1"]


def test_a_no_proxy_host_beside_a_proxy_gets_the_bounded_lookup(server, proxy: _Proxy) -> None:
    """A NO_PROXY host went through httpx's own transport (its lookup unbounded) while a proxy
    was set: a hanging lookup of it now ends the attempt at its deadline, and nothing reaches
    the proxy."""
    resolver = HangingResolver()
    proxies = {"http": f"http://127.0.0.1:{proxy.port}", "no": "example.org,fred.test"}
    try:
        with make_client(timeout_s=5.0, resolve=resolver, proxies=proxies) as client:
            source = FredCsvSource(
                f"http://fred.test:{server.port}/", client, attempts=1, attempt_deadline_s=0.3
            )
            with pytest.raises(SourceTimeout):
                source.fetch(REQUEST)
        assert resolver.asked == ["fred.test"] and not resolver.gave_up
        assert proxy.seen == []
    finally:
        resolver.release.set()


class _DeadFirstAddress(httpcore.NetworkBackend):
    """127.0.0.2 drops connections (a black-holed IPv6 route, a dead A record): connecting to
    it waits out the timeout it is given; other addresses connect for real."""

    def __init__(self) -> None:
        self.timeouts: list[tuple[str, float | None]] = []
        self.real = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.timeouts.append((host, timeout))
        if host == "127.0.0.2":
            threading.Event().wait(timeout)  # the SYNs unanswered until the timeout
            raise httpcore.ConnectTimeout("timed out")
        return self.real.connect_tcp(host, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        self.real.sleep(seconds)


def test_an_address_that_drops_connections_leaves_the_next_its_whole_timeout(server) -> None:
    """Each of a host's addresses gets the connect timeout, as socket.create_connection gives
    it; before, the first address used up a shared timeout and the second, which answers, was
    never tried, so the host failed on every retry."""
    dead_first = _DeadFirstAddress()
    backend = BoundedLookupBackend(lambda host, port: ["127.0.0.2", "127.0.0.1"], dead_first)
    stream = backend.connect_tcp("dual.test", server.port, timeout=0.3)
    stream.close()
    assert dead_first.timeouts == [("127.0.0.2", 0.3), ("127.0.0.1", 0.3)]


def test_every_host_s_transport_bounds_its_lookup_whatever_the_proxies() -> None:
    """The transport each URL goes through, with the environment's proxies: FTP_PROXY and the
    like are no proxy httpx mounts, a NO_PROXY host goes direct and an HTTP(S) proxy is
    reached, all through bounded lookups. Before, any HTTP(S) proxy left the client with
    httpx's own transports, a NO_PROXY host's lookup unbounded."""
    code = (
        "import httpx\n"
        "from fuelpipe.adapters.sources._http import make_client\n"
        "c = make_client()\n"
        "for url in ('https://fred.test/', 'https://spared.test/'):\n"
        "    used = c._transport_for_url(httpx.URL(url))\n"
        "    print(type(used).__name__, 'direct' if used is c._transport else 'proxied')\n"
    )
    bounded = "BoundedLookupTransport"
    for env, fred in (
        ({"FTP_PROXY": "http://127.0.0.1:9", "socks_proxy": "127.0.0.1:9"}, "direct"),
        ({"NO_PROXY": "spared.test"}, "direct"),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "spared.test"}, "proxied"),
        ({"ALL_PROXY": "127.0.0.1:9", "NO_PROXY": "spared.test"}, "proxied"),
    ):
        done = _child(code, env)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines == [f"{bounded} {fred}", f"{bounded} direct"], (env, done.stdout)
