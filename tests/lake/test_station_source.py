"""ANP's station files over HTTP from the replay server: the listing is data, files come in
ANP's real CSV format, a conditional GET of an unchanged file is a 304 with no body, and the
CLI ingests, reports and queries them."""

from __future__ import annotations

import hashlib
import io
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from tests.lake.conftest import NOW
from typer.testing import CliRunner

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.adapters.sources.shpc import Download, Listing, StationFiles, file_links
from fuelpipe.cli.main import cli
from fuelpipe.domain.stations import ANP_COLUMNS
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.stations import file_name, ingest_remote

FILES = "/arquivos/shpc/qus/"


@pytest.fixture(scope="module")
def replay() -> ReplayServer:
    with ReplayServer(quiet=True) as server:
        yield server  # type: ignore[misc]


def test_files_are_served_in_anp_csv_format_with_validators(replay: ReplayServer) -> None:
    base = replay.source_urls()["shpc"]
    with httpx.Client(timeout=30) as client:
        resp = client.get(f"{base}{FILES}ultimas-4-semanas-glp.csv")
        assert resp.status_code == 200
        body = resp.content
        assert body.startswith(b"\xef\xbb\xbf")
        lines = body[3:].decode("utf-8").split("\r\n")
        assert lines[0].split(";") == list(ANP_COLUMNS)
        first = lines[1].split(";")
        assert len(first) == 16
        assert first[10] == "GLP" and "/" in first[11] and "," in first[12]
        etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
        same = client.get(
            f"{base}{FILES}ultimas-4-semanas-glp.csv", headers={"If-None-Match": etag}
        )
        assert (same.status_code, same.content) == (304, b"")
        since = client.get(
            f"{base}{FILES}ultimas-4-semanas-glp.csv", headers={"If-Modified-Since": modified}
        )
        assert since.status_code == 304
        stale = client.get(
            f"{base}{FILES}ultimas-4-semanas-glp.csv", headers={"If-None-Match": '"other"'}
        )
        assert stale.status_code == 200 and stale.content == body
        assert client.get(f"{base}{FILES}nope.csv").status_code == 404


def test_listing_links_are_data() -> None:
    html = (
        '<a href="https://www.gov.br/anp/pt-br/centrais-de-conteudo/dados-abertos/arquivos/shpc/'
        'dsan/2026/02-cados-abertos-precos-gasolina-etanol.csv">typo</a>'
        '<a href="arquivos/shpc/qus/ultimas-4-semanas-glp.csv">glp</a>'
        '<a href="/anp/pt-br/outra-coisa.pdf">not a file</a>'
        '<a href="arquivos/shpc/dsas/ca/ca-2004-01.zip">zip</a>'
    )
    links = file_links(html, "https://www.gov.br/anp/pt-br/centrais-de-conteudo/dados-abertos/x")
    assert links.skipped == []
    assert [link.rsplit("/", 1)[-1] for link in links.urls] == [
        "02-cados-abertos-precos-gasolina-etanol.csv",
        "ultimas-4-semanas-glp.csv",
        "ca-2004-01.zip",
    ]


def test_unchanged_files_are_not_downloaded_again(replay: ReplayServer, tmp_path: Path) -> None:
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    source = StationFiles(replay.source_urls()["shpc"], attempts=2, backoff_s=0)
    try:
        first = ingest_remote(lake, source, only=["glp", "diesel"])
        assert first.errors == [] and first.unchanged == 0
        assert first.written == 13_310 + 20_609
        before = replay.request_counts.get("shpc", 0)
        second = ingest_remote(lake, source, only=["glp", "diesel"])
    finally:
        source.close()
    assert second.unchanged == 2 and second.written == 0 and second.rows == 0
    assert replay.request_counts["shpc"] - before == 3  # the listing and two 304s
    http = lake.storage.read_manifest()["http"]
    assert all(v["etag"] for v in http.values()) and len(http) == 2
    # The table says why each has no counts, as it says it of a file on disk ingested before
    # (each was a row of dashes, the reason only in the totals line under it).
    from rich.console import Console

    from fuelpipe.cli.stations import _ingest_table

    shown = Console(file=io.StringIO(), width=400)
    shown.print(_ingest_table(second.as_dict()))
    rows = [ln for ln in shown.file.getvalue().splitlines() if "ultimas-4-semanas-" in ln]
    assert len(rows) == 2, rows
    for row in rows:
        assert "skipped: unchanged since it was ingested (304: not downloaded)" in row, row
    # At 150 columns (a pipe's) the names were cut: `ultimas-4-semanas-gasolina-eta…`
    narrow = Console(file=io.StringIO(), width=150)
    narrow.print(_ingest_table(second.as_dict()))
    text = narrow.file.getvalue()
    assert "…" not in text, text
    folded = ["".join(ln.split("│")[1].split()) for ln in text.splitlines() if "│" in ln]
    assert "ultimas-4-semanas-diesel-gnv.csv" in "".join(folded), text


def test_only_matches_in_any_case_and_a_match_of_nothing_is_an_error(
    replay: ReplayServer, tmp_path: Path
) -> None:
    """`--only GLP` (or a typo) matched no file: the command ingested nothing, said nothing
    and exited 0."""
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    source = StationFiles(replay.source_urls()["shpc"], attempts=2, backoff_s=0)
    try:
        upper = ingest_remote(lake, source, only=["GLP"])
        typo = ingest_remote(lake, source, only=["glpp"])
    finally:
        source.close()
    assert upper.errors == [] and upper.written == 13_310
    (error,) = typo.errors
    assert error.startswith("--only glpp: no file on the listing has that in its name (3 listed")
    assert "ultimas-4-semanas-glp.csv" in error
    assert typo.files == [] and typo.written == 0
    env = {
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_SOURCE_SHPC_URL": replay.source_urls()["shpc"],
    }
    done = CliRunner().invoke(cli, ["stations", "ingest", "--only", "glpp"], env=env)
    assert done.exit_code == 1 and "error: --only glpp: no file on the listing" in done.output


def test_only_with_files_given_is_refused(tmp_path: Path) -> None:
    """--only filters ANP's listing: with files given it was ignored without a word."""
    given = tmp_path / "glp.csv"
    given.write_bytes(b"x")
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    done = CliRunner().invoke(cli, ["stations", "ingest", str(given), "--only", "glp"], env=env)
    assert done.exit_code == 2
    assert "--only picks files from ANP's listing" in done.output
    assert not (tmp_path / "lake").exists()


def test_cli_ingest_status_query(replay: ReplayServer, tmp_path: Path) -> None:
    env = {
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_SOURCE_SHPC_URL": replay.source_urls()["shpc"],
        "FUELPIPE_DB": str(tmp_path / "x.sqlite"),
    }
    runner = CliRunner()
    done = runner.invoke(cli, ["stations", "ingest", "--only", "glp", "--json"], env=env)
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert (summary["rows"], summary["written"], summary["rejected"]) == (13_310, 13_310, 0)
    status = runner.invoke(cli, ["stations", "status", "--json"], env=env)
    assert status.exit_code == 0, status.output
    parts = json.loads(status.output)["partitions"]
    assert {(p["product"], p["month"]) for p in parts} == {("LPG", "2025-03"), ("LPG", "2025-04")}
    assert sum(p["observations"] for p in parts) == 13_310
    ranked = runner.invoke(
        cli, ["stations", "query", "municipality_ranking", "--fuel", "LPG", "-f", "csv"], env=env
    )
    assert ranked.exit_code == 0, ranked.output
    lines = ranked.output.strip().splitlines()
    assert lines[0].startswith("state,municipality,stations,observations,mean,median")
    assert len(lines) > 100
    bad = runner.invoke(cli, ["stations", "query", "nope"], env=env)
    assert bad.exit_code == 2 and "unknown query" in bad.output


def test_cli_reports_bad_rows_and_goes_on(tmp_path: Path) -> None:
    from tests.lake.conftest import BOM, real_lines

    lines = real_lines("glp", 50)
    cells = lines[7].split(";")
    cells[11] = "2025-03-30"  # synthetic: ISO date instead of dd/mm/yyyy
    lines[7] = ";".join(cells)
    path = tmp_path / "glp.csv"
    path.write_bytes(BOM + "\r\n".join(lines).encode())
    missing = tmp_path / "missing.csv"
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    result = CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "glp.csv:8: bad collection date '2025-03-30'" in result.output
    assert "49 new in the lake, 1 rejected" in result.output
    result = CliRunner().invoke(cli, ["stations", "ingest", str(missing)], env=env)
    assert result.exit_code == 2 and f"{missing}: no such file" in result.output


class _OneFile:
    """A FileSource serving one file from disk with an ETag, answering 304 when it matches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.downloads = 0

    def listing(self) -> Listing:
        return Listing([f"https://example.invalid{FILES}{self.path.name}"])

    def download(
        self,
        url: str,
        target: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        on_bytes: Any = None,
    ) -> Download:
        if etag == '"v1"':
            return Download(url, unchanged=True, path=None, etag=etag, last_modified=None)
        self.downloads += 1
        target.write_bytes(self.path.read_bytes())
        return Download(url, unchanged=False, path=target, etag='"v1"', last_modified=None)


def test_a_downloaded_file_that_is_not_station_data_is_asked_for_again(tmp_path: Path) -> None:
    """Its validators are not recorded, so the next run downloads it again and reports it
    again, instead of skipping it as unchanged and saying nothing."""
    bad = tmp_path / "ultimas-4-semanas-gasolina.csv"
    bad.write_text("a,b,c\n1,2,3\n")  # synthetic: a file ANP might serve by mistake
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    source = _OneFile(bad)
    for _ in range(2):
        summary = ingest_remote(lake, source)
        (entry,) = summary.files
        assert [p["refused"] for p in entry["parts"]] == [True]
    assert source.downloads == 2
    manifest = lake.storage.read_manifest()
    assert manifest.get("http", {}) == {} and manifest["files"] == {}


def test_a_file_whose_body_cannot_be_decoded_is_one_error_and_the_next_file_is_ingested(
    tmp_path: Path,
) -> None:
    """A corrupt gzip body (httpx.DecodingError) escaped the adapter unconverted and stopped
    the run: no later file on the listing was ingested."""
    from tests.lake.conftest import real_file

    glp = real_file("glp")
    base = "http://127.0.0.1:9"

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("broken.csv"):  # synthetic: says gzip, is not
            return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip")
        if path.endswith("glp.csv"):
            return httpx.Response(200, headers={"ETag": '"g1"'}, content=glp)
        links = f'<a href="{FILES}broken.csv">x</a><a href="{FILES}ultimas-4-semanas-glp.csv">y</a>'
        return httpx.Response(200, text=links)

    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    client = httpx.Client(transport=httpx.MockTransport(answer))
    source = StationFiles(base, client, attempts=2, backoff_s=0)
    summary = ingest_remote(lake, source)
    (error,) = summary.errors
    assert error.startswith("broken.csv: shpc: ") and "garbled body encoding" in error
    assert summary.written == 13_310


def test_a_malformed_link_on_the_listing_is_named_and_the_other_files_are_ingested(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """One link ``urljoin`` cannot read (an unclosed IPv6 bracket) raised a bare ValueError
    from the listing ("Invalid IPv6 URL", no link, no page) and stopped the whole ingest."""
    from tests.lake.conftest import real_file

    bad = "http://[anp.gov.br/arquivos/shpc/qus/ultimas-4-semanas-diesel-gnv.csv"  # synthetic
    page = (
        f'<a href="{bad}">diesel</a>'
        f'<a href="{FILES}ultimas-4-semanas-glp.csv">glp</a>'
        '<a href="http://[elsewhere/noticias">not a station file: not ours to report</a>'
    )
    httpserver.expect_request("/serie-historica-de-precos-de-combustiveis").respond_with_data(
        page, content_type="text/html"
    )
    httpserver.expect_request(f"{FILES}ultimas-4-semanas-glp.csv").respond_with_data(
        real_file("glp"), content_type="text/csv"
    )
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    source = StationFiles(httpserver.url_for("/"), attempts=1, backoff_s=0)
    try:
        summary = ingest_remote(lake, source)
    finally:
        source.close()
    listing_url = httpserver.url_for("/serie-historica-de-precos-de-combustiveis")
    assert summary.errors == [
        f"listing: shpc: {listing_url}: malformed link {bad!r} skipped (Invalid IPv6 URL)"
    ]
    assert [f["name"] for f in summary.files] == ["ultimas-4-semanas-glp.csv"]
    assert summary.written == 13_310


def _zip_of(members: dict[str, bytes], *, corrupt: str | None = None) -> bytes:
    """A stored (uncompressed) ZIP; ``corrupt``: one byte of that member flipped in the
    archive (synthetic), so that its CRC no longer matches."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name, body in members.items():
            archive.writestr(name, body.replace(b"GLP", b"GLp", 1) if name == corrupt else body)
    data = bytearray(buf.getvalue())
    if corrupt:
        data[data.find(b"GLp")] ^= 0x01
    return bytes(data)


def _serve_with_etag(httpserver: HTTPServer, name: str, body: bytes) -> list[str | None]:
    """The listing and one file answered 200 with an ETag, or 304 to that ETag; the list
    holds the If-None-Match of each request for the file."""
    from werkzeug import Request, Response

    asked: list[str | None] = []

    def answer(request: Request) -> Response:
        asked.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"z1"':
            return Response(status=304)
        return Response(body, headers={"ETag": '"z1"'}, content_type="application/zip")

    httpserver.expect_request("/serie-historica-de-precos-de-combustiveis").respond_with_data(
        f'<a href="{FILES}{name}">zip</a>', content_type="text/html"
    )
    httpserver.expect_request(f"{FILES}{name}").respond_with_handler(answer)
    return asked


def test_a_zip_with_an_unreadable_member_is_an_error_and_is_downloaded_again(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A ZIP whose one member failed its CRC was recorded as ingested (checksum and ETag) and
    the command exited 0: every later run got a 304 and the member was never read again
    without --force. It is an error, its good member is written, and it is not recorded."""
    from tests.lake.conftest import real_lines

    good = "\n".join(real_lines("glp", 20)).encode()
    name = "ca-2025-04.zip"
    asked = _serve_with_etag(
        httpserver, name, _zip_of({"a.csv": good, "b.csv": good}, corrupt="b.csv")
    )
    env = {
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_SOURCE_SHPC_URL": httpserver.url_for("/"),
    }
    runner = CliRunner()
    first = runner.invoke(cli, ["stations", "ingest", "--json"], env=env)
    assert first.exit_code == 1, first.output
    summary = json.loads(first.stdout)
    (error,) = summary["errors"]
    assert error.startswith(f"{name}: {name}!b.csv: unreadable ZIP member (BadZipFile")
    assert "read again on the next run" in error
    assert summary["written"] == 20
    manifest = LocalLakeStorage(tmp_path / "lake").read_manifest()
    assert manifest.get("http", {}) == {} and manifest["files"] == {}
    second = runner.invoke(cli, ["stations", "ingest", "--json"], env=env)
    assert second.exit_code == 1, second.output
    again = json.loads(second.stdout)
    assert again["unchanged"] == 0 and again["written"] == 0
    parts = {p["name"]: p for p in again["files"][0]["parts"]}
    assert parts[f"{name}!a.csv"]["already_in_lake"] == 20  # changes nothing, by design
    assert asked == [None, None]  # downloaded again, not asked "changed since?"


def test_a_zip_member_that_is_not_station_data_is_a_plain_skip(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A README beside the CSV is readable, only not station data: the file is ingested
    and recorded, and the next run asks whether it changed (a 304)."""
    from tests.lake.conftest import real_lines

    good = "\n".join(real_lines("glp", 20)).encode()
    name = "ca-2025-04.zip"
    asked = _serve_with_etag(httpserver, name, _zip_of({"a.csv": good, "README.txt": b"hi\n"}))
    env = {
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_SOURCE_SHPC_URL": httpserver.url_for("/"),
    }
    for _ in range(2):
        done = CliRunner().invoke(cli, ["stations", "ingest", "--json"], env=env)
        assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["unchanged"] == 1
    assert asked == [None, '"z1"']


def test_a_zip_whose_only_csv_is_unreadable_says_it_could_not_be_read(tmp_path: Path) -> None:
    """With no member written, the file was reported "not ANP station data" after the first
    member (here a README), though its CSV may well be station data that failed its CRC."""
    from tests.lake.conftest import real_lines

    good = "\n".join(real_lines("glp", 20)).encode()
    path = tmp_path / "ca-2025-04.zip"
    path.write_bytes(_zip_of({"README.txt": b"hi\n", "b.csv": good}, corrupt="b.csv"))
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    done = CliRunner().invoke(cli, ["stations", "ingest", "--json", str(path)], env=env)
    assert done.exit_code == 1, done.output
    (error,) = json.loads(done.stdout)["errors"]
    assert error.startswith(f"{path}: could not be read: ca-2025-04.zip!b.csv: unreadable ZIP")


def test_a_timeout_names_its_phase_and_limit(tmp_path: Path) -> None:
    """As the other sources name theirs: which wait ran out, after how long (httpx's own text
    is a bare "timed out")."""

    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    timeout = httpx.Timeout(7, connect=3)
    client = httpx.Client(transport=httpx.MockTransport(answer), timeout=timeout)
    source = StationFiles("http://127.0.0.1:9", client, attempts=2, backoff_s=0)
    summary = ingest_remote(lake, source)
    (error,) = summary.errors
    assert error.startswith("listing: shpc: http://127.0.0.1:9/")
    assert error.endswith(": timed out after 7 s reading")
    assert source.requests_made == 2  # a timeout may pass: retried


def test_a_download_reports_its_bytes_as_they_arrive(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A semiannual file is tens of MB: the ingest's bar shows its bytes, not just the count
    of files done."""
    from rich.console import Console

    from fuelpipe.cli import display

    body = bytes(range(256)) * (3 * 4096 + 7)  # synthetic: ~3 MB, three chunks and a bit
    httpserver.expect_request("/f.csv").respond_with_data(body)
    seen: list[tuple[int, int]] = []
    with httpx.Client(timeout=30) as client:
        source = StationFiles(httpserver.url_for("/"), client, attempts=1, backoff_s=0)
        got = source.download(
            httpserver.url_for("/f.csv"), tmp_path / "f.csv", on_bytes=lambda *a: seen.append(a)
        )
    assert got.path is not None and got.path.read_bytes() == body
    assert len(seen) >= 3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # never back
    assert seen[-1] == (len(body), len(body))  # all of it, of the declared Content-Length

    console = Console(record=True, width=100, force_terminal=False)
    with display.bar(console) as update:
        update("download", 0, 2)
        for done, total in seen:
            update("file_bytes", done, total)
    shown = console.export_text()
    assert "file being downloaded" in shown and "3.1/3.1 MB" in shown
    assert "station files downloaded" in shown and "0/2" in shown


def _serve_gzip(httpserver: HTTPServer, body: bytes) -> StationFiles:
    """A listing of one file, ``ultimas-4-semanas-glp.csv``, served gzip-encoded as ``body``
    over a real HTTP server (the body is then inflated by ``decoded``, as ANP's is)."""
    httpserver.clear()
    httpserver.expect_request("/serie-historica-de-precos-de-combustiveis").respond_with_data(
        f'<a href="{FILES}ultimas-4-semanas-glp.csv">glp</a>', content_type="text/html"
    )
    httpserver.expect_request(f"{FILES}ultimas-4-semanas-glp.csv").respond_with_data(
        body, content_type="text/csv", headers={"Content-Encoding": "gzip"}
    )
    return StationFiles(httpserver.url_for("/"), attempts=1, backoff_s=0)


def test_a_gzip_body_padded_with_nul_bytes_is_ingested(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Some servers and tape tools pad a gzip file with zero bytes after its last member
    (``gzip -d`` ignores them with a warning): before, the padding was read as a further
    member, and the file was refused as a garbled body encoding. Synthetic: the real GLP file,
    gzipped and padded with NULs to a 4 KiB boundary and a further 4 KiB."""
    import gzip

    from tests.lake.conftest import real_file

    packed = gzip.compress(real_file("glp"))
    padded = packed + b"\0" * (-len(packed) % 4096 + 4096)
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    summary = ingest_remote(lake, _serve_gzip(httpserver, padded))
    assert summary.errors == []
    assert summary.written == 13_310


def test_bytes_other_than_nul_after_the_last_gzip_member_stay_an_error_naming_the_file(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Only NUL padding is ignored: other bytes after the last member, or after NULs, are not
    a gzip file (synthetic tails on the real GLP file, gzipped)."""
    import gzip

    from tests.lake.conftest import real_file

    packed = gzip.compress(real_file("glp"))
    for n, tail in enumerate((b"\0" * 100 + b"junk", b"junk", b"\0\0\x01")):
        lake = StationLake(LocalLakeStorage(tmp_path / f"lake{n}"), FixedClock(NOW))
        summary = ingest_remote(lake, _serve_gzip(httpserver, packed + tail))
        (error,) = summary.errors
        assert error.startswith("ultimas-4-semanas-glp.csv: shpc: "), error
        assert "garbled body encoding" in error, error
        assert summary.written == 0


def test_a_listing_that_cannot_be_read_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    """With no network (or a mistyped FUELPIPE_SOURCE_SHPC_URL) `stations ingest` printed an
    empty "station files" table, the listing's error, then "0 rows read, 0 new in the lake, 0
    rejected ...": the one line that mattered sat between two that said nothing, and none
    said what to do. Now it is that line alone, naming the setting and the way round it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = {
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_SOURCE_SHPC_URL": f"http://127.0.0.1:{closed}",
        "FUELPIPE_HTTP_ATTEMPTS": "1",
    }
    done = CliRunner().invoke(cli, ["stations", "ingest"], env=env)
    assert done.exit_code == 1, done.output
    assert done.stdout.strip() == ""  # no empty table, no line of zeros
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: listing: shpc: http://127.0.0.1:{closed}/"), line
    assert f"{closed}/serie-historica-de-precos-de-combustiveis: connection refused;" in line, line
    assert line.endswith(
        "; nothing was downloaded: check the network and "
        "FUELPIPE_SOURCE_SHPC_URL, or give the station files on disk (`fuelpipe stations "
        "ingest FILE…`)"
    ), line
    as_json = CliRunner().invoke(cli, ["stations", "ingest", "--json"], env=env)
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["errors"][0].startswith("listing: shpc: ")


def _anp_like(server: HTTPServer, files: dict[str, bytes]) -> None:
    """``server`` as ANP's listing (relative links) and files below it, each with an ETag and a
    Last-Modified, answering 304 when ``If-None-Match`` names its ETag."""
    from werkzeug import Request, Response

    links = "".join(f'<a href="arquivos/shpc/{path}">{path}</a>' for path in files)
    server.expect_request("/anp/serie-historica-de-precos-de-combustiveis").respond_with_data(
        links, content_type="text/html"
    )
    for path, body in files.items():
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

        def answer(request: Request, body: bytes = body, etag: str = etag) -> Response:
            headers = {"ETag": etag, "Last-Modified": "Mon, 21 Apr 2025 12:00:00 GMT"}
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304, headers=headers)
            return Response(body, content_type="text/csv", headers=headers)

        server.expect_request(f"/anp/arquivos/shpc/{path}").respond_with_handler(answer)


def _asked(server: HTTPServer) -> dict[str, dict[str, str | None]]:
    """The validators each file request to ``server`` carried, by the file's path."""
    return {
        request.path.removeprefix("/anp/arquivos/shpc/"): {
            "If-None-Match": request.headers.get("If-None-Match"),
            "If-Modified-Since": request.headers.get("If-Modified-Since"),
        }
        for request, _ in server.log
        if "/arquivos/shpc/" in request.path
    }


def test_a_file_on_a_moved_host_is_still_known_by_its_validators(tmp_path: Path) -> None:
    """The validators were kept by the file's full URL: on another host (or, with `make
    demo`, the replay's new port on 127.0.0.1) no file was known, so each was downloaded once
    more and only then recognised by its checksum. Kept by the path below the listing root
    (two files of one name in two folders stay two files), they are sent to the new host:
    the ETag, which names one representation, not the date, which only the old host's clock
    gave (another host's file of that name may be older and still another file)."""
    from tests.lake.conftest import real_file

    files = {"ca/2024/x.csv": real_file("glp"), "ca/2025/x.csv": real_file("diesel-gnv")}
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    summaries = []
    for server in (HTTPServer(host="127.0.0.1", port=0), HTTPServer(host="127.0.0.1", port=0)):
        _anp_like(server, files)
        server.start()
        try:
            source = StationFiles(server.url_for("/anp"), attempts=2, backoff_s=0)
            try:
                summaries.append(ingest_remote(lake, source))
            finally:
                source.close()
            asked = _asked(server)
        finally:
            server.clear()
            server.stop()
    first, moved = summaries
    assert first.errors == [] and first.written == 13_310 + 20_609
    etags = {p: '"' + hashlib.sha256(b).hexdigest()[:16] + '"' for p, b in files.items()}
    assert asked == {p: {"If-None-Match": etags[p], "If-Modified-Since": None} for p in files}
    assert moved.errors == [] and moved.unchanged == 2
    assert [f.get("unchanged") for f in moved.files] == [True, True]  # 304s: no body
    http = lake.storage.read_manifest()["http"]
    assert sorted(http) == ["arquivos/shpc/ca/2024/x.csv", "arquivos/shpc/ca/2025/x.csv"]


def test_validators_an_older_version_kept_by_full_url_are_still_read(
    replay: ReplayServer, tmp_path: Path
) -> None:
    """A lake written before the validators were kept by path (each by its file's full URL,
    the replay's port of that run in it) is not downloaded again whole on the next `make
    demo` (a new port); its entries are rekeyed as they are rewritten."""
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    base = replay.source_urls()["shpc"]
    source = StationFiles(base, attempts=2, backoff_s=0)
    try:
        first = ingest_remote(lake, source, only=["glp", "diesel"])
    finally:
        source.close()
    assert first.errors == [] and first.unchanged == 0
    manifest = lake.storage.read_manifest()
    old = {  # as the older version wrote it
        f"{base}{FILES}{file_name(key)}": {k: seen[k] for k in ("etag", "last_modified")}
        for key, seen in manifest["http"].items()
    }
    assert len(old) == 2
    manifest["http"] = old
    lake.storage.write_manifest(manifest)
    with ReplayServer(quiet=True) as moved:
        assert moved.source_urls()["shpc"] != base  # another port, as each demo run's
        source = StationFiles(moved.source_urls()["shpc"], attempts=2, backoff_s=0)
        try:
            again = ingest_remote(lake, source, only=["glp", "diesel"])
            refreshed = ingest_remote(lake, source, only=["glp", "diesel"], force=True)
        finally:
            source.close()
    assert again.errors == [] and again.unchanged == 2
    assert [f.get("unchanged") for f in again.files] == [True, True]  # 304s: no body
    assert refreshed.errors == []
    http = lake.storage.read_manifest()["http"]
    assert sorted(http) == [
        "arquivos/shpc/qus/ultimas-4-semanas-diesel-gnv.csv",
        "arquivos/shpc/qus/ultimas-4-semanas-glp.csv",
    ]
