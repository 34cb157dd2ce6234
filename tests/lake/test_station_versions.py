"""Files are known by their source, and each ingested version keeps its own reports.

ANP's monthly files share names across year folders (``.../dsan/2024/precos-gasolina-etanol-01.csv``
and ``.../dsan/2025/precos-gasolina-etanol-01.csv``), and the rolling "últimas 4 semanas" file is
republished weekly under one name with corrected values. The manifest and the reports are keyed
by the source (URL, or resolved path), a report is named by the version's content, and the newest
version ingested wins for a (CNPJ, product, collection day), each displaced value listed.
Real records of the bundled files; every edit is synthetic and named where it is made."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.lake.conftest import BOM, NOW, ingested_names, real_lines, set_cell
from typer.testing import CliRunner

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake, source_key
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.cli.main import cli
from fuelpipe.stages.stations import ingest_local, ingest_remote

SALE, UNIT = 12, 14  # "Valor de Venda", "Unidade de Medida"
YEARS = "http://anp.example/arquivos/shpc/dsan/{}/precos-glp-01.csv"


def _file(lines: list[str]) -> bytes:
    return BOM + ("\r\n".join(lines) + "\r\n").encode()


def _two_years() -> dict[str, bytes]:
    """Two files of one name in two year folders: the real LPG records split in two, one bad
    unit in each (synthetic), at lines 4 and 6."""
    lines = real_lines("glp", 60)
    head, first, second = lines[0], lines[1:31], lines[31:]
    first[2] = set_cell(first[2], UNIT, "R$ / galao")
    second[4] = set_cell(second[4], UNIT, "R$ / galao")
    return {YEARS.format(2024): _file([head, *first]), YEARS.format(2025): _file([head, *second])}


class _Anp:
    """A listing whose files come back whole every time (no 304): the lake's manifest alone
    tells an unchanged file."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def listing(self) -> Any:
        from fuelpipe.adapters.sources.shpc import Listing

        return Listing(list(self.files))

    def download(self, url: str, target: Path, **_: Any) -> Any:
        from fuelpipe.adapters.sources.shpc import Download

        target.write_bytes(self.files[url])
        return Download(url, unchanged=False, path=target, etag=None, last_modified=None)


def _parts(summary: Any) -> list[tuple[str, int, int, str | None]]:
    return [
        (f["url"], p["rows"], p["written"], p["skipped"]) for f in summary.files for p in f["parts"]
    ]


def test_two_urls_of_one_name_are_two_files_with_their_own_reports(lake: StationLake) -> None:
    source = _Anp(_two_years())
    first = ingest_remote(lake, source)
    assert not first.errors and first.written == 58 and first.rejected == 2
    files = lake.storage.read_manifest()["files"]
    # both recorded, each under its URL's path (the host is not the file's identity)
    assert sorted(files) == sorted(source_key(u) for u in source.files)
    assert sorted(e["source"] for e in files.values()) == sorted(source.files)
    assert {e["name"] for e in files.values()} == {"precos-glp-01.csv"}
    files = {e["source"]: e for e in files.values()}
    reports = {url: e["reports"] for url, e in files.items()}
    assert (
        all(len(r) == 1 for r in reports.values()) and len(set(map(tuple, reports.values()))) == 2
    )
    for url, (name,) in reports.items():
        text = lake.storage.get_text(name) or ""
        header, line = text.splitlines()
        assert header.startswith(f"# {url} sha256 {files[url]['sha256']} ")
        expected = 4 if "2024" in url else 6
        assert line.startswith(f"precos-glp-01.csv:{expected}: ")

    again = ingest_remote(lake, source)  # neither is read again
    assert again.unchanged == 2 and again.rows == 0
    assert {p[3] for p in _parts(again)} == {"unchanged since it was ingested"}


def test_a_file_from_another_host_or_port_is_the_same_source(lake: StationLake) -> None:
    """The demo's replay listens on a new port each run, and ANP has moved hosts before: the
    same path from another host is the same file (unchanged), not a new source each time."""
    data = _two_years()
    first = ingest_remote(lake, _Anp(data))
    assert first.written == 58
    moved = {u.replace("http://anp.example", "http://127.0.0.1:8731"): b for u, b in data.items()}
    again = ingest_remote(lake, _Anp(moved))
    assert again.unchanged == 2 and again.rows == 0
    assert {p[3] for p in _parts(again)} == {"unchanged since it was ingested"}
    assert len(lake.storage.read_manifest()["files"]) == 2


def test_local_files_of_one_name_are_unchanged_on_the_next_run(
    lake: StationLake, tmp_path: Path
) -> None:
    paths = []
    for url, data in _two_years().items():
        year = url.split("/")[-2]
        path = tmp_path / year / "precos-glp-01.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        paths.append(path)
    runs = [ingest_local(lake, paths) for _ in range(3)]
    assert [(r.unchanged, r.rows, r.written) for r in runs] == [(0, 60, 58), (2, 0, 0), (2, 0, 0)]
    assert sorted(lake.storage.read_manifest()["files"]) == sorted(str(p.resolve()) for p in paths)


def test_status_lists_both_files_of_one_name(tmp_path: Path) -> None:
    paths = []
    for url, data in _two_years().items():
        path = tmp_path / url.split("/")[-2] / "precos-glp-01.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        paths.append(path)
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "COLUMNS": "400"}
    done = CliRunner().invoke(cli, ["stations", "ingest", *map(str, paths)], env=env)
    assert done.exit_code == 0, done.output
    shown = CliRunner().invoke(cli, ["stations", "status", "--wide"], env=env)
    assert shown.exit_code == 0, shown.output
    rows = [ln for ln in shown.stdout.splitlines() if ln.startswith("│ precos-glp-01.csv ")]
    assert len(rows) == 2, shown.stdout  # one row each (the source column tells them apart)
    # the default table has no source column: its second line names each one's folder
    default = CliRunner().invoke(cli, ["stations", "status"], env=env).stdout.splitlines()
    at = [i for i, ln in enumerate(default) if ln.startswith("│ precos-glp-01.csv ")]
    folders = sorted(default[i + 1].split("│")[1].strip() for i in at)
    assert folders == sorted(f"from …/{p.parent.name}/" for p in paths), default
    state = json.loads(CliRunner().invoke(cli, ["stations", "status", "--json"], env=env).stdout)
    assert sorted(state["files"]) == sorted(str(p.resolve()) for p in paths)
    assert [e["source"] for e in state["files"].values()] == list(state["files"])


def _rolling(tmp_path: Path) -> tuple[Path, list[str]]:
    return tmp_path / "rolling" / "ultimas-4-semanas-glp.csv", real_lines("glp", 40)


def test_a_new_version_without_bad_rows_leaves_the_old_version_s_report_its_own(
    lake: StationLake, tmp_path: Path
) -> None:
    path, lines = _rolling(tmp_path)
    path.parent.mkdir()
    v1 = list(lines)
    v1[10] = set_cell(v1[10], UNIT, "R$ / galao")  # synthetic: v1's line 11 is bad
    path.write_bytes(_file(v1))
    (first,) = lake.ingest_path(path)
    (v1_report,) = first.reports
    path.write_bytes(_file([lines[0], *lines[21:]]))  # v2: next week's rows, no bad one
    (second,) = lake.ingest_path(path)
    assert second.rejected == 0 and second.reports == []
    # v1's report is v1's: named by its content, its header says which, and it stays true
    assert v1_report.split(".")[-3] == first.reports[0].split(".")[-3]
    text = lake.storage.get_text(v1_report) or ""
    assert text.splitlines()[0].startswith(f"# {path.resolve()} sha256 ")
    assert text.splitlines()[1].startswith("ultimas-4-semanas-glp.csv:11: ")
    v3 = list(lines)
    v3[3] = set_cell(v3[3], UNIT, "R$ / galao")  # v3: a bad row of its own, line 4
    path.write_bytes(_file(v3))
    (third,) = lake.ingest_path(path)
    (v3_report,) = third.reports
    assert v3_report != v1_report
    assert (lake.storage.get_text(v1_report) or "") == text  # not erased by v3
    assert (
        (lake.storage.get_text(v3_report) or "")
        .splitlines()[1]
        .startswith("ultimas-4-semanas-glp.csv:4: ")
    )
    (entry,) = lake.storage.read_manifest()["files"].values()
    assert entry["reports"] == [v1_report, v3_report]  # every version's, in order


def _prices(lake: StationLake) -> list[tuple[Any, ...]]:
    with lake.reader() as con:
        return con.execute(
            "SELECT cnpj, product, collected, price, purchase_price, brand FROM stations "
            "ORDER BY ALL"
        ).fetchall()


def test_the_newest_version_wins_and_every_displaced_value_is_listed(tmp_path: Path) -> None:
    """The rolling file three times: v2 corrects station A's price, v3 station B's. Ingested
    in order, the lake holds what v3 alone gives, and each correction lists what it displaced."""
    path, lines = _rolling(tmp_path)
    path.parent.mkdir()
    a_old, b_old = lines[1].split(";")[SALE], lines[6].split(";")[SALE]
    v2 = list(lines)
    v2[1] = set_cell(v2[1], SALE, "99,99")  # synthetic corrections
    v3 = list(v2)
    v3[6] = set_cell(v3[6], SALE, "88,88")
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    got = []
    for version in (lines, v2, v3):
        path.write_bytes(_file(version))
        (report,) = lake.ingest_path(path)
        assert report.accounted()
        got.append((report.written, report.replaced, report.already_in_lake, len(report.revised)))
    assert got == [(40, 0, 0, 0), (0, 1, 39, 1), (0, 1, 39, 1)]
    fresh = StationLake(LocalLakeStorage(tmp_path / "fresh"), FixedClock(NOW))
    fresh.ingest_path(path)
    assert _prices(lake) == _prices(fresh)
    revised = [
        (lake.storage.get_text(name) or "").splitlines()[1:]
        for e in lake.storage.read_manifest()["files"].values()
        for name in e["reports"]
    ]
    a_shown, b_shown = (float(p.replace(",", ".")) for p in (a_old, b_old))
    assert [len(r) for r in revised] == [1, 1]
    assert f"price {a_shown} replaced by 99.99" in revised[0][0]
    assert f"price {b_shown} replaced by 88.88" in revised[1][0]


def test_a_rolling_file_never_displaces_a_consolidated_files_correction(tmp_path: Path) -> None:
    """ANP's order: the rolling file, then the monthly file correcting a day, then next week's
    rolling file still carrying that day as first published. The monthly correction stays (the
    rolling file's value is listed as not kept), while a correction by a later rolling file of
    a day only rolling files hold still wins."""
    path, lines = _rolling(tmp_path)
    path.parent.mkdir()
    monthly = tmp_path / "dsan" / "precos-glp-03.csv"
    monthly.parent.mkdir()
    a, b = lines[1].split(";"), lines[6].split(";")
    fixed = list(lines)
    fixed[1] = set_cell(fixed[1], SALE, "99,99")  # synthetic: the monthly file's correction
    later = list(lines)
    later[6] = set_cell(later[6], SALE, "88,88")  # synthetic: next week's rolling correction
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    path.write_bytes(_file(lines))
    lake.ingest_path(path)
    monthly.write_bytes(_file(fixed))
    (consolidated,) = lake.ingest_path(monthly)
    assert consolidated.replaced == 1
    path.write_bytes(_file(later))
    (rolling,) = lake.ingest_path(path)
    assert (rolling.replaced, rolling.already_in_lake) == (1, 39)
    assert [line.split(":")[0] for line in rolling.revised] == [
        f"LPG {b[4].strip().replace('.', '').replace('/', '').replace('-', '')} "
        f"{'-'.join(reversed(b[11].split('/')))}"
    ]
    (not_kept,) = rolling.differing
    assert "not kept" in not_kept and "precos-glp-03.csv" in not_kept
    prices = {(cnpj, str(day)): price for cnpj, _, day, price, _, _ in _prices(lake)}
    a_key = a[4].strip().replace(".", "").replace("/", "").replace("-", "")
    a_day = "-".join(reversed(a[11].split("/")))
    assert prices[(a_key, a_day)] == pytest.approx(99.99)  # the monthly correction stays


def test_an_older_manifest_keyed_by_name_is_read_and_not_reingested(
    tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    """A manifest written before (files keyed by their bare name, no ``name``): a file given
    then by URL, by absolute path and by relative path is unchanged on the next run, nothing
    is read again or doubled, and the relative one is adopted under its path."""
    lines = real_lines("glp", 30)
    data = {n: _file([lines[0], *lines[1 + 10 * i : 11 + 10 * i]]) for i, n in enumerate("abc")}
    root = tmp_path / "lake"
    lake = StationLake(LocalLakeStorage(root), FixedClock(NOW))
    url = "http://anp.example/arquivos/shpc/a.csv"
    ingest_remote(lake, _Anp({url: data["a"]}))
    b, c = write("b.csv", data["b"]), write("c.csv", data["c"])
    ingest_local(lake, [b, c])
    before = _prices(lake)
    manifest = lake.storage.read_manifest()
    old = {e["name"]: {k: v for k, v in e.items() if k not in ("name", "reports")}
           for e in manifest["files"].values()}  # fmt: skip
    old["c.csv"]["source"] = "files/c.csv"  # as an older fuelpipe recorded a relative path
    lake.storage.write_manifest({**manifest, "files": old})

    assert (
        CliRunner().invoke(cli, ["stations", "status"], env={"FUELPIPE_LAKE": str(root)}).exit_code
        == 0
    )
    again = [ingest_remote(lake, _Anp({url: data["a"]})), ingest_local(lake, [b, c])]
    assert [(s.unchanged, s.rows, s.errors) for s in again] == [(1, 0, []), (2, 0, [])]
    assert _prices(lake) == before
    assert sorted(lake.storage.read_manifest()["files"]) == sorted(
        [source_key(url), str(b.resolve()), str(c.resolve())]
    )
    assert ingested_names(lake) == ["a.csv", "b.csv", "c.csv"]


@pytest.mark.skipif(os.name != "posix", reason="a symlinked folder")
def test_a_file_given_by_two_paths_is_one_source(lake: StationLake, tmp_path: Path) -> None:
    path = tmp_path / "real" / "glp.csv"
    path.parent.mkdir()
    path.write_bytes(_file(real_lines("glp", 10)))
    (tmp_path / "link").symlink_to(path.parent)
    first = ingest_local(lake, [path])
    again = ingest_local(lake, [tmp_path / "link" / "glp.csv"])
    assert (first.written, again.unchanged) == (10, 1)
    assert list(lake.storage.read_manifest()["files"]) == [str(path.resolve())]
