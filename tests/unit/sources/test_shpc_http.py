"""ANP's station files (shpc) over real HTTP on 127.0.0.1 and over injected MockTransports:
compressed bodies, bodies that cannot be decoded, links no client can follow, and rate limits."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import httpx
from pytest_httpserver import HTTPServer

from fuelpipe.adapters.sources.shpc import StationFiles
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
