"""ANP's station files (shpc) over real HTTP on 127.0.0.1 and over injected MockTransports:
compressed bodies, bodies that cannot be decoded, links no client can follow, rate limits, links
and redirects off ANP's hosts, and bodies past the download limit."""

from __future__ import annotations

import gzip
import lzma
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from fuelpipe.adapters.sources import shpc
from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.shpc import StationFiles
from fuelpipe.ports.source import InvalidPayload, PermanentSourceError, RateLimited, ServerError
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

FILE_PATH = "/arquivos/shpc/qus/ultimas-4-semanas-glp.csv"


def _real_glp() -> bytes:
    """The real "últimas 4 semanas" LPG file, as ANP serves it uncompressed."""
    return lzma.decompress((SNAPSHOT_DIR / "shpc/qus/ultimas-4-semanas-glp.csv.xz").read_bytes())


def test_a_gzip_compressed_file_is_read_whole(
    server: HTTPServer, client: httpx.Client, tmp_path: Path
) -> None:
    """httpx asks for gzip; a server that compresses text/csv declares the compressed size in
    Content-Length. Compared with the decoded bytes, every attempt failed as "body cut short"
    after downloading the whole file, and the file was never ingested."""
    body = _real_glp()
    packed = gzip.compress(body)
    assert len(packed) < len(body)
    server.expect_request(FILE_PATH).respond_with_data(
        packed,
        content_type="text/csv",
        headers={"Content-Encoding": "gzip", "ETag": '"v1"'},
    )
    source = StationFiles(server.url_for("/"), client, attempts=2, backoff_s=0)
    got = source.download(server.url_for(FILE_PATH), tmp_path / "glp.csv")
    assert got.path is not None and got.path.read_bytes() == body
    assert (got.size, got.etag, got.unchanged) == (len(body), '"v1"', False)
    assert source.requests_made == 1  # not retried


def test_a_body_an_injected_transport_held_whole_is_taken_as_it_is(tmp_path: Path) -> None:
    """A MockTransport answer is read before it is streamed: no byte crosses a wire, so
    ``num_bytes_downloaded`` stays 0 and is no measure of a cut body."""
    body = b"synthetic station file body"
    client = httpx.Client(
        transport=httpx.MockTransport(
            lambda _: httpx.Response(
                200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(body)
            )
        )
    )
    source = StationFiles("http://127.0.0.1:9", client, attempts=2, backoff_s=0)
    got = source.download(f"http://127.0.0.1:9{FILE_PATH}", tmp_path / "glp.csv")
    assert got.path is not None and got.path.read_bytes() == body
    assert source.requests_made == 1


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)


BASE = "http://127.0.0.1:9"


def test_a_body_that_cannot_be_decoded_is_an_invalid_payload(tmp_path: Path) -> None:
    """A corrupt gzip body raised httpx.DecodingError, which is not a TransportError: it
    escaped unconverted and the stage, which goes on past a SourceError, stopped the run."""
    client = _mock(
        lambda _: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, content=b"synthetic: not gzip at all"
        )
    )
    source = StationFiles(BASE, client, attempts=3, backoff_s=0)
    with pytest.raises(InvalidPayload, match="garbled body encoding"):
        source.download(f"{BASE}{FILE_PATH}", tmp_path / "glp.csv")
    with pytest.raises(InvalidPayload, match="garbled body encoding"):
        source.listing()
    assert source.requests_made == 2  # a bad payload is not retried inside the call


def test_a_redirect_loop_is_permanent_and_not_retried(tmp_path: Path) -> None:
    client = _mock(lambda r: httpx.Response(302, headers={"Location": str(r.url)}))
    source = StationFiles(BASE, client, attempts=3, backoff_s=0)
    with pytest.raises(PermanentSourceError, match="too many redirects"):
        source.download(f"{BASE}{FILE_PATH}", tmp_path / "glp.csv")
    assert source.requests_made == 1


def test_a_link_in_a_scheme_no_client_follows_is_permanent(tmp_path: Path) -> None:
    """An ftp:// link on the listing was a retried ServerError: it fails the same way each
    time. (It is not https on ANP's hosts, nor the listing's origin: refused before any
    request, as httpx would refuse the scheme.)"""
    with make_client(timeout_s=5.0) as client:
        source = StationFiles(BASE, client, attempts=3, backoff_s=0)
        with pytest.raises(PermanentSourceError, match="not https on") as info:
            source.download(f"ftp://127.0.0.1{FILE_PATH}", tmp_path / "glp.csv")
    assert not isinstance(info.value, ServerError)
    assert source.requests_made == 0


@pytest.mark.parametrize("call", ["listing", "download"])
def test_429_waits_a_retry_after_within_the_cap_then_goes_on(call: str, tmp_path: Path) -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "0"}, text="slow down"),
            httpx.Response(200, text=f'<a href="{FILE_PATH}">glp</a>'),
        ]
    )
    source = StationFiles(
        BASE, _mock(lambda _: next(answers)), attempts=3, backoff_s=0, retry_after_cap_s=0.01
    )
    if call == "listing":
        assert source.listing().urls == [f"{BASE}{FILE_PATH}"]
    else:
        got = source.download(f"{BASE}{FILE_PATH}", tmp_path / "glp.csv")
        assert got.path is not None and got.path.read_bytes().startswith(b"<a href")
    assert source.requests_made == 2
    assert source.retry_after_waits == [0.0]  # within the 0.01 s cap: waited (0 s: no timing)


def test_persistent_429_is_rate_limited_with_its_retry_after(tmp_path: Path) -> None:
    client = _mock(lambda _: httpx.Response(429, headers={"Retry-After": "0"}))
    source = StationFiles(BASE, client, attempts=3, backoff_s=0, retry_after_cap_s=0)
    with pytest.raises(RateLimited, match=r"HTTP 429 rate limited \(Retry-After 0s\)") as info:
        source.download(f"{BASE}{FILE_PATH}", tmp_path / "glp.csv")
    assert info.value.retry_after == 0.0
    assert source.requests_made == 3
    assert source.retry_after_waits == [0.0, 0.0]  # no wait after the last attempt


ANP_PAGE = "https://www.gov.br/anp/pt-br/centrais-de-conteudo/dados-abertos/x"


def test_listing_links_off_anp_or_over_plain_http_are_named_and_not_listed() -> None:
    """A changed or injected listing linked to any host over any scheme: a cloud metadata
    address, or a cleartext host that could serve a ZIP bomb (synthetic links). ANP's own
    forms (absolute https on www.gov.br, relative to the page) are still listed."""
    html = (
        '<a href="http://169.254.169.254/arquivos/shpc/latest.csv">metadata</a>'
        '<a href="http://www.gov.br/anp/arquivos/shpc/qus/ultimas-4-semanas-glp.csv">http</a>'
        '<a href="https://evil.example/arquivos/shpc/qus/x.zip">elsewhere</a>'
        '<a href="https://www.gov.br/anp/pt-br/centrais-de-conteudo/dados-abertos/arquivos/shpc/'
        'qus/ultimas-4-semanas-glp.csv">glp</a>'
        '<a href="arquivos/shpc/dsas/ca/ca-2004-01.zip">zip</a>'
    )
    links = shpc.file_links(html, ANP_PAGE)
    assert [u.rsplit("/", 1)[-1] for u in links.urls] == [
        "ultimas-4-semanas-glp.csv",
        "ca-2004-01.zip",
    ]
    assert all(u.startswith("https://www.gov.br/") for u in links.urls)
    assert len(links.skipped) == 3
    assert "'http://169.254.169.254/arquivos/shpc/latest.csv' skipped" in links.skipped[0]
    assert all("must be https on gov.br, www.gov.br" in s for s in links.skipped)


def test_the_configured_listing_origin_is_trusted_whatever_its_scheme() -> None:
    """A local replay server is plain http on 127.0.0.1: its own links are listed, as it is
    the URL configured; another port or host over http is not."""
    html = (
        f'<a href="{FILE_PATH}">glp</a>'
        f'<a href="http://127.0.0.1:10{FILE_PATH}">other port</a>'
        f'<a href="https://www.gov.br{FILE_PATH}">anp</a>'
    )
    links = shpc.file_links(html, f"{BASE}/page", BASE)
    assert links.urls == [f"{BASE}{FILE_PATH}", f"https://www.gov.br{FILE_PATH}"]
    assert len(links.skipped) == 1 and "127.0.0.1:10" in links.skipped[0]


def test_a_download_redirected_off_anp_is_refused_before_its_body(tmp_path: Path) -> None:
    """Redirects are followed (gov.br uses them), so the URL the request ended at is checked
    too: one off ANP's hosts is a permanent error, and nothing is written."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/x.csv"})
        return httpx.Response(200, content=b"secret")

    source = StationFiles(BASE, _mock(answer), attempts=3, backoff_s=0)
    target = tmp_path / "glp.csv"
    with pytest.raises(PermanentSourceError, match=r"redirected to http://169\.254\.169\.254"):
        source.download(f"{BASE}{FILE_PATH}", target)
    assert not target.exists()
    assert source.requests_made == 1


def test_a_listing_redirected_off_anp_is_refused(tmp_path: Path) -> None:
    client = _mock(
        lambda r: (
            httpx.Response(302, headers={"Location": "http://10.0.0.1/l"})
            if r.url.host == "127.0.0.1"
            else httpx.Response(200, text=f'<a href="{FILE_PATH}">glp</a>')
        )
    )
    source = StationFiles(BASE, client, attempts=3, backoff_s=0)
    with pytest.raises(PermanentSourceError, match=r"redirected to http://10\.0\.0\.1/l"):
        source.listing()


def test_a_body_past_the_download_limit_is_refused_and_not_kept(tmp_path: Path) -> None:
    """A download had no byte limit: a body (or a Content-Length) past MAX_DOWNLOAD_BYTES is
    a bad payload, not retried, and its partial file is removed (a smaller limit here)."""
    body = bytes(range(256)) * (4 << 12)  # synthetic: 4 MiB
    source = StationFiles(
        BASE,
        _mock(lambda _: httpx.Response(200, content=body)),
        attempts=3,
        max_download_bytes=3 << 20,
    )
    target = tmp_path / "big.csv"
    with pytest.raises(InvalidPayload, match=r"more than 3145728 bytes"):
        source.download(f"{BASE}{FILE_PATH}", target)
    assert not target.exists()
    assert source.requests_made == 1
