"""Bad rows are reported with file and line and never stop the file; nothing is dropped
silently; re-ingesting a file changes nothing."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal
from tests.lake.conftest import BOM, NOW, ingested_names, real_file, real_lines, set_cell

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.columns import Collected, Parsed, batches_fast, collect, read_exact
from fuelpipe.adapters.lake.engine import StationLake, connect
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.domain.stations import UNBRANDED, brand_of, cnpj_key, lines_of_accepted
from fuelpipe.ports.lake import LakeBusy
from fuelpipe.stages.stations import ingest_local


def test_bad_rows_are_reported_with_file_and_line(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 400)  # real GLP records; faults below are synthetic
    # file line n is lines[n - 1] (line 1 is the header)
    faults = {
        5: (set_cell(lines[4], 11, "31/02/2025"), "bad collection date '31/02/2025'"),
        9: (set_cell(lines[8], 12, "abc"), "sale price is not a number: 'abc'"),
        17: (set_cell(lines[16], 10, "QUEROSENE"), "unknown product 'QUEROSENE'"),
        40: (set_cell(lines[39], 14, "R$ / galão"), "unknown unit 'R$ / galão'"),
        41: (lines[40] + ";extra", "malformed record (TOO MANY COLUMNS"),
        77: (";".join(lines[76].split(";")[:9]), "malformed record (MISSING COLUMNS"),
        90: (set_cell(lines[89], 12, "1.350,00"), "sale price is not a number: '1.350,00'"),
        150: (set_cell(lines[149], 12, "9999"), "sale price 9999 is outside"),
        151: (set_cell(lines[150], 4, ""), "no CNPJ"),
        401: (set_cell(lines[400], 11, ""), "bad collection date (empty)"),
    }
    for line_no, (text, _) in faults.items():
        lines[line_no - 1] = text
    path = write("ultimas-4-semanas-glp.csv", BOM + ("\r\n".join(lines) + "\r\n").encode())
    (report,) = lake.ingest_path(path)
    assert report.rows == 400
    assert report.rejected == len(faults)
    assert report.written == 400 - len(faults)
    assert report.accounted()
    got = {b.line: b for b in report.bad}
    assert sorted(got) == sorted(faults)
    for line_no, (_, reason) in faults.items():
        assert got[line_no].file == "ultimas-4-semanas-glp.csv"
        assert reason in got[line_no].reason, (line_no, got[line_no].reason)
        assert str(got[line_no]).startswith(f"ultimas-4-semanas-glp.csv:{line_no}: ")
    # every rejected row is kept in a report file in the lake, not only counted
    (name,) = report.reports  # this version's own report: the file's name and content
    assert re.fullmatch(r"ultimas-4-semanas-glp\.csv\.[0-9a-f]{12}\.rejected\.txt", name)
    stored = lake.storage.get_text(name)
    assert stored is not None
    assert len(stored.splitlines()) == 1 + len(faults)  # a header naming source and version
    with lake.reader() as con:
        (count,) = con.execute("SELECT count(*) FROM stations").fetchone()
    assert count == 400 - len(faults)


def test_a_collection_year_out_of_range_is_a_bad_row(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Typed years (synthetic: 2203 and 0203 in two real GLP records) would open partitions
    centuries away and stretch the lake's window to them: they are bad rows instead."""
    lines = real_lines("glp", 30)
    clean = write("clean.csv", BOM + ("\r\n".join(lines) + "\r\n").encode())
    lake.ingest_path(clean)
    before = (lake.storage.partitions(), lake.window())
    lines[4] = set_cell(lines[4], 11, "05/12/2203")
    lines[9] = set_cell(lines[9], 11, "05/12/0203")
    path = write("typed-years.csv", BOM + ("\r\n".join(lines) + "\r\n").encode())
    (report,) = lake.ingest_path(path)
    assert report.rejected == 2
    assert report.accounted()
    assert [str(b) for b in report.bad] == [
        "typed-years.csv:5: collection date 05/12/2203 out of range (2004-01-01 to 2025-04-23)",
        "typed-years.csv:10: collection date 05/12/0203 out of range (2004-01-01 to 2025-04-23)",
    ]
    assert (lake.storage.partitions(), lake.window()) == before
    assert all(month.startswith("2025-") for _, month in lake.storage.partitions())


def test_duplicates_inside_a_file_are_counted(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("diesel-gnv", 200)
    lines += [lines[10], lines[20]]  # synthetic: the same station, product and day twice
    (report,) = lake.ingest_path(write("dup.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.duplicates_in_file) == (202, 200, 2)
    assert report.accounted()


def _lake_state(lake: StationLake) -> dict[str, str]:
    root: Path = lake.storage.root  # type: ignore[attr-defined]
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def test_reingesting_the_same_file_changes_nothing(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    path = write("ultimas-4-semanas-diesel-gnv.csv", real_file("diesel-gnv"))
    (first,) = lake.ingest_path(path)
    assert first.written == 20_609  # the real file: DIESEL S10 11,916 + DIESEL 7,207 + GNV 1,486
    before = _lake_state(lake)
    with lake.reader() as con:
        rows_before = con.execute("SELECT * FROM stations ORDER BY ALL").fetchall()

    read: list[tuple[str, int]] = []
    (again,) = lake.ingest_path(path, progress=lambda *a: read.append(a))
    assert again.skipped == "unchanged since it was ingested"
    assert again.already_ingested == str(path.resolve())  # the manifest knows it by its path
    assert read == []  # same name and size: hashed first, and the file was not even read

    # Same content under a name the lake has not seen: hashed while it is read, and stopped
    # before anything is written.
    copy = write("renamed.csv", real_file("diesel-gnv"))
    (renamed,) = lake.ingest_path(copy, progress=lambda *a: read.append(a))
    assert renamed.skipped == f"same content as {path.resolve()}, already ingested"
    assert renamed.already_ingested == str(path.resolve())
    assert read  # it was read this time
    assert "renamed.csv" not in ingested_names(lake)
    assert _lake_state(lake) == before

    (forced,) = lake.ingest_path(path, "copy-under-another-name.csv", force=True)
    assert (forced.written, forced.already_in_lake) == (0, 20_609)
    assert forced.accounted()
    assert _lake_state(lake) == before  # no partition file was even rewritten
    with lake.reader() as con:
        assert con.execute("SELECT * FROM stations ORDER BY ALL").fetchall() == rows_before
        per_product = dict(
            con.execute("SELECT product, count(*) FROM stations GROUP BY product").fetchall()
        )
    assert per_product == {"DIESEL_S10": 11_916, "DIESEL": 7_207, "CNG": 1_486}


def test_overlapping_files_add_only_new_rows(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 3000)
    first = write("week-a.csv", "\n".join(lines[:2001]).encode())
    second = write("week-b.csv", "\n".join([lines[0], *lines[1001:3001]]).encode())
    (a,) = lake.ingest_path(first)
    (b,) = lake.ingest_path(second)
    assert a.written == 2000
    assert (b.written, b.already_in_lake) == (1000, 1000)
    with lake.reader() as con:
        (count,) = con.execute("SELECT count(*) FROM stations").fetchone()
    assert count == 3000


def test_a_cnpj_with_or_without_its_punctuation_is_one_station(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Real GLP records; the second file writes the first 500 of its CNPJs (synthetic edit) as
    bare digits, and one without its leading zeros: they are the first file's stations, so
    only the 1,000 records the first file lacks are new, and every count sees one station."""
    lines = real_lines("glp", 3000)

    def bare(line: str) -> str:
        return set_cell(line, 4, "".join(ch for ch in line.split(";")[4] if ch.isdigit()))

    second = [lines[0], *(bare(line) for line in lines[1001:1501]), *lines[1501:3001]]
    zeros = next(i for i, line in enumerate(second) if line.split(";")[4].startswith("0"))
    second[zeros] = set_cell(second[zeros], 4, second[zeros].split(";")[4].lstrip("0"))
    (a,) = lake.ingest_path(write("a.csv", "\n".join(lines[:2001]).encode()))
    (b,) = lake.ingest_path(write("b.csv", "\n".join(second).encode()))
    assert (a.written, a.rejected) == (2000, 0)
    assert (b.written, b.already_in_lake, b.rejected) == (1000, 1000, 0)
    stations = {cnpj_key(line.split(";")[4]) for line in lines[1:]}
    with lake.reader() as con:
        got = con.execute("SELECT count(*), count(DISTINCT cnpj) FROM stations").fetchone()
        stored = {c for (c,) in con.execute("SELECT DISTINCT cnpj FROM stations").fetchall()}
    assert got == (3000, len(stations))
    assert stored == stations and all(len(c) == 14 and c.isdigit() for c in stored)


def test_a_cnpj_that_is_not_one_is_a_bad_row(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 20)  # real records; the CNPJs below are synthetic faults
    lines[3] = set_cell(lines[3], 4, " 12.345.678/0001-9X")  # file line 4
    lines[5] = set_cell(lines[5], 4, "123.456.789/0001-00")  # file line 6: 15 digits
    lines[7] = set_cell(lines[7], 4, "  ")  # file line 8
    (report,) = lake.ingest_path(write("cnpj.csv", "\n".join(lines).encode()))
    assert [str(b) for b in report.bad] == [
        "cnpj.csv:4: CNPJ is not 14 digits: '12.345.678/0001-9X'",
        "cnpj.csv:6: CNPJ is not 14 digits: '123.456.789/0001-00'",
        "cnpj.csv:8: no CNPJ",
    ]
    assert (report.written, report.rejected) == (17, 3)
    assert report.accounted()


def test_a_flag_in_lower_case_is_the_same_flag(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Real GLP records, three of them with their flag in other cases (synthetic edits): the
    lake keeps one upper-case flag, so a 'Branca' station is in the unbranded baseline."""
    lines = real_lines("glp", 30)
    lines[2] = set_cell(lines[2], 15, "Branca")
    lines[3] = set_cell(lines[3], 15, " branca ")
    flag = lines[4].split(";")[15].strip()
    lines[5] = set_cell(lines[5], 15, flag.title())
    (report,) = lake.ingest_path(write("case.csv", "\n".join(lines).encode()))
    assert (report.written, report.rejected) == (30, 0)
    cnpjs = [cnpj_key(lines[i].split(";")[4]) for i in (2, 3, 5)]
    with lake.reader() as con:
        brands = {b for (b,) in con.execute("SELECT DISTINCT brand FROM stations").fetchall()}
        got = [
            con.execute(
                "SELECT brand FROM stations WHERE cnpj = ? AND collected = strptime(?, "
                "'%d/%m/%Y')::DATE",
                [cnpj, lines[i].split(";")[11]],
            ).fetchone()
            for cnpj, i in zip(cnpjs, (2, 3, 5), strict=True)
        ]
    assert got == [(UNBRANDED,), (UNBRANDED,), (flag.upper(),)]
    assert all(b == b.upper() for b in brands)
    assert brand_of(" Vibra ") == "VIBRA" and brand_of("  ") == brand_of(None) == UNBRANDED


def test_lines_of_accepted_skips_rejected_lines() -> None:
    # data lines 2..9; lines 3 and 4 were rejected by the reader
    assert lines_of_accepted([0, 1, 2, 5], [3, 4]) == {0: 2, 1: 5, 2: 6, 5: 9}
    assert lines_of_accepted([0], []) == {0: 2}


def test_batches_do_not_change_the_result(
    tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    """Records are read and validated a batch at a time; tiny batches (so that a duplicate
    and its first occurrence, and every partition, are spread across batches) give the same
    lake and report as one batch, and the file's first occurrence still wins."""
    lines = real_lines("diesel-gnv", 500)
    first = lines[11].split(";")
    twin = set_cell(lines[11], 12, "9,99")  # synthetic: the same station, fuel and day, repriced
    lines += [twin, lines[300]]
    path = write("dup.csv", "\n".join(lines).encode())
    reports, rows = {}, {}
    for size in (7, 100_000):
        lake = StationLake(
            LocalLakeStorage(tmp_path / f"lake-{size}"), FixedClock(NOW), batch_rows=size
        )
        (reports[size],) = lake.ingest_path(path)
        with lake.reader() as con:
            rows[size] = con.execute("SELECT * FROM stations ORDER BY ALL").fetchall()
            (price,) = con.execute(
                "SELECT price FROM stations WHERE cnpj = ? AND collected = strptime(?, "
                "'%d/%m/%Y')::DATE AND product = 'DIESEL_S10' OR cnpj = ? AND collected = "
                "strptime(?, '%d/%m/%Y')::DATE AND product = 'DIESEL'",
                [cnpj_key(first[4]), first[11], cnpj_key(first[4]), first[11]],
            ).fetchone() or (None,)
        assert price == float(first[12].replace(",", "."))
    assert reports[7].as_dict() == reports[100_000].as_dict()
    assert rows[7] == rows[100_000]
    assert (reports[7].rows, reports[7].written, reports[7].duplicates_in_file) == (502, 500, 2)
    assert reports[7].accounted()


def _both_readers(path: Path, scratch: Path) -> tuple[Collected, Collected, Parsed]:
    """The file validated as Polars' fast reader and as DuckDB's exact reader read it."""
    fast = collect(batches_fast(path, "utf-8", scratch, 64), path.name, NOW.date())
    con = connect()
    try:
        exact = read_exact(con, path, "utf-8", scratch)
    finally:
        con.close()
    return fast, collect(exact.frame.iter_slices(64), path.name, NOW.date()), exact


def test_fast_and_exact_readers_agree(tmp_path: Path, write: Callable[[str, bytes], Path]) -> None:
    """A file with no malformed record gives the same records, lines and rejections whether
    Polars' fast reader or DuckDB's exact one reads it."""
    lines = real_lines("glp", 300)  # real records; the faults below are synthetic
    lines[3] = set_cell(lines[3], 11, "31/02/2025")
    lines[20] = set_cell(lines[20], 12, "abc")
    lines[21] = set_cell(lines[21], 13, "x")
    lines[50] = set_cell(lines[50], 14, "R$ / litro")
    lines[99] = set_cell(lines[99], 4, "  ")
    lines[250] = set_cell(lines[250], 12, "9999")
    path = write("faults.csv", BOM + "\r\n".join(lines).encode())
    fast, slow, exact = _both_readers(path, tmp_path)
    assert exact.structural == []
    assert (fast.rows, fast.bad) == (slow.rows, slow.bad) == (300, slow.bad)
    assert [line for line, _ in fast.bad] == [4, 21, 22, 51, 100, 251]  # lines[k] is line k + 1
    assert fast.parts.keys() == slow.parts.keys()
    for key in fast.parts:
        assert_frame_equal(fast.parts[key], slow.parts[key])


def _multiline(lines: list[str]) -> list[str]:
    """``lines`` with a line break inside a quoted field of lines[5] (synthetic)."""
    cells = lines[5].split(";")
    cells[7] = '"LOJA\n2"'  # a complement with a line break in it: file lines 6 and 7
    return [*lines[:5], ";".join(cells), *lines[6:]]


def test_a_record_across_lines_is_read_whole(
    lake: StationLake, tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    """A quoted line break is part of its record: both readers keep it, with the same records."""
    path = write("multiline.csv", "\n".join(_multiline(real_lines("glp", 20))).encode())
    fast, slow, _ = _both_readers(path, tmp_path)
    assert fast.rows == slow.rows == 20 and fast.bad == slow.bad == []
    for key in fast.parts:
        assert_frame_equal(fast.parts[key], slow.parts[key])
    (report,) = lake.ingest_path(path)
    assert (report.rows, report.written, report.rejected) == (20, 20, 0)
    with lake.reader() as con:
        assert con.execute(
            "SELECT count(*) FROM stations WHERE complement = 'LOJA\n2'"
        ).fetchone() == (1,)


def test_a_record_across_lines_does_not_shift_the_lines_of_rejected_ones(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """After a record that spans two lines, rejected records are reported on their file lines,
    not their record numbers: by either reader (the second file has a record with a field too
    many, so DuckDB's reader reads it)."""
    lines = _multiline(real_lines("glp", 20))
    lines[10] = set_cell(lines[10], 12, "abc")  # file line 12: lines[5] takes lines 6 and 7
    price = "sale price is not a number: 'abc'"
    (report,) = lake.ingest_path(write("multiline-bad.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (20, 19, 1)
    assert [(b.line, b.reason) for b in report.bad] == [(12, price)]
    lines[14] += ";extra"  # file line 16
    (report,) = lake.ingest_path(write("multiline-ragged.csv", "\n".join(lines).encode()))
    assert (report.rows, report.already_in_lake, report.rejected) == (20, 18, 2)
    assert [b.line for b in report.bad] == [12, 16]
    assert report.bad[0].reason == price
    assert report.bad[1].reason.startswith("malformed record (TOO MANY COLUMNS")


def test_progress_counts_records_a_batch_at_a_time_over_every_file(
    tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 250)
    first = write("a.csv", "\n".join(lines[:101]).encode())
    second = write("b.csv", "\n".join([lines[0], *lines[101:]]).encode())
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW), batch_rows=40)
    seen: list[tuple[str, int, int]] = []
    summary = ingest_local(lake, [first, second], progress=lambda *a: seen.append(a))
    assert summary.rows == 250
    rows = [done for phase, done, _ in seen if phase == "rows"]
    assert rows == [40, 80, 100, 140, 180, 220, 250]  # a batch of 40 at a time, per file
    assert [a for a in seen if a[0] == "ingest"] == [("ingest", 1, 2), ("ingest", 2, 2)]


def test_a_busy_lake_stops_the_whole_ingest_not_one_file(
    lake: StationLake, tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    """Another ingest holding the lake is no file's fault: ingest_local stops at once (not an
    error line per file), with nothing read or written; once it is let go, the same runs."""
    lines = real_lines("glp", 60)
    first = write("a.csv", "\n".join(lines[:31]).encode())
    second = write("b.csv", "\n".join([lines[0], *lines[31:]]).encode())
    other = LocalLakeStorage(tmp_path / "lake").write_lock(FixedClock(NOW), "fuelpipe demo")
    other.acquire()
    try:
        with pytest.raises(LakeBusy, match=r"another ingest \(`fuelpipe demo`, pid \d+"):
            ingest_local(lake, [first, second])
    finally:
        other.release()
    assert lake.storage.read_manifest() == {"files": {}, "http": {}}
    assert lake.storage.partitions() == []
    assert ingest_local(lake, [first, second]).written == 60


def test_a_file_ingested_under_two_names_is_named_as_itself_when_given_again(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """The manifest can hold one content under two names (a forced ingest); the skip names the
    file given when it is one of them, not whichever name the manifest lists first."""
    data = real_file("glp")
    lake.ingest_path(write("first-name.csv", data))
    own = write("ultimas-4-semanas-glp.csv", data)
    lake.ingest_path(own, force=True)
    (again,) = lake.ingest_path(own)
    assert again.already_ingested == str(own.resolve())
    assert again.skipped == "unchanged since it was ingested"


class _DownloadsAgain:
    """A station listing whose files come back in full every time (no 304): as `fuelpipe
    demo` sees them on a second run, its replay on another port than the manifest's URLs."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def listing(self) -> Any:
        from fuelpipe.adapters.sources.shpc import Listing

        return Listing([f"http://anp.example/qus/{name}" for name in self.files])

    def download(self, url: str, target: Path, **_: Any) -> Any:  # every time in full
        from fuelpipe.adapters.sources.shpc import Download

        target.write_bytes(self.files[url.rsplit("/", 1)[-1]])
        return Download(url, unchanged=False, path=target, etag=None, last_modified=None)


def test_files_downloaded_again_with_the_same_content_count_as_unchanged(
    lake: StationLake, capsys: pytest.CaptureFixture[str]
) -> None:
    from fuelpipe.cli.stations import print_ingest
    from fuelpipe.stages.stations import ingest_remote

    source = _DownloadsAgain(
        {f"ultimas-4-semanas-{g}.csv": real_file(g) for g in ("glp", "diesel-gnv")}
    )
    first = ingest_remote(lake, source)
    assert first.unchanged == 0 and first.written > 0
    again = ingest_remote(lake, source)
    assert (again.unchanged, again.written, again.rows) == (2, 0, 0)
    skipped = {p["name"]: p["already_ingested"] for f in again.files for p in f["parts"]}
    # each names itself (its URL's path: the lake knows a file by its source)
    assert skipped == {name: f"/qus/{name}" for name in source.files}
    capsys.readouterr()
    print_ingest(again.as_dict())
    out = " ".join(capsys.readouterr().out.split())
    assert "2 file(s) unchanged (their content is in the lake already)" in out
    assert "same content as" not in out  # not another file's name


class _FailsOn:
    """The lake, except that ingesting the file named ``name`` raises: a synthetic fault
    standing for any a reader has not met yet (as the csv module's field limit was)."""

    def __init__(self, lake: StationLake, name: str) -> None:
        self.lake = lake
        self.storage = lake.storage
        self.name = name

    def ingest_path(self, path: Path, name: str | None = None, **kw: Any) -> Any:
        if (name or path.name) == self.name:
            raise RuntimeError("synthetic fault")
        return self.lake.ingest_path(path, name, **kw)


def test_a_file_that_fails_unexpectedly_is_one_error_and_the_next_is_ingested(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Only OSError was caught: any other fault in one file stopped the run, and no later
    file was ingested."""
    lines = real_lines("glp", 40)
    first = write("first.csv", "\n".join(lines[:21]).encode())
    second = write("second.csv", "\n".join([lines[0], *lines[21:]]).encode())
    summary = ingest_local(_FailsOn(lake, "first.csv"), [first, second])
    assert summary.errors == [f"{first}: could not be ingested (RuntimeError: synthetic fault)"]
    assert [f["name"] for f in summary.files] == ["second.csv"]
    assert summary.written == 20


def test_a_downloaded_file_that_fails_unexpectedly_is_asked_for_again(
    lake: StationLake,
) -> None:
    """Its validators are not recorded (the next run downloads it again) and the files
    after it are ingested."""
    from fuelpipe.stages.stations import ingest_remote

    glp, diesel = "ultimas-4-semanas-glp.csv", "ultimas-4-semanas-diesel-gnv.csv"
    source = _DownloadsAgain({glp: real_file("glp"), diesel: real_file("diesel-gnv")})
    summary = ingest_remote(_FailsOn(lake, glp), source)
    assert summary.errors == [f"{glp}: could not be ingested (RuntimeError: synthetic fault)"]
    assert [f["name"] for f in summary.files] == [diesel]
    assert summary.written == 20_609
    assert list(lake.storage.read_manifest()["http"]) == [f"qus/{diesel}"]


def _cut_variant(case: str) -> tuple[str, bytes, int, str]:
    """Synthetic: 20 real GLP records in one of the forms the readers take, cut inside the
    last record as a download or copy stopped part-way leaves it: the file's name, bytes, the
    cut record's file line and why it cannot be proven whole."""
    lines = real_lines("glp", 20)
    flag = "its flag 'LIQUI' is no other record's in the file, nor a flag ANP is known for"
    line = 21
    if case == "quoted line break":  # (a record over two lines: the cut one is on line 22)
        lines[5] = set_cell(lines[5], 5, '"RUA A\r\nBLOCO B"')
        line = 22
    if case == "blank line":  # (DuckDB's reader, which counts it as a record)
        lines.insert(8, "")
        line = 22
    if case == "unclosed quote":
        lines[-1] = set_cell(lines[-1], 15, '"LIQUIGÁS')
        flag = "a quoted field of it is not closed"
    encoding = "latin-1" if case == "latin-1" else "utf-8"
    text = "\r\n".join(lines).encode(encoding)
    cut = text if case == "unclosed quote" else text[: text.rindex("GÁS".encode(encoding))]
    data = cut if case == "latin-1" else BOM + cut
    if case == "zip member":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("glp.csv", data)
        return "glp.zip", buffer.getvalue(), line, flag
    return "glp.csv", data, line, flag


@pytest.mark.parametrize(
    "case", ["latin-1", "zip member", "quoted line break", "blank line", "unclosed quote"]
)
def test_a_record_the_file_ends_inside_is_rejected_in_every_form(
    case: str, lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Each was written with the cut flag 'LIQUI' (or rejected as "malformed record
    (UNQUOTED VALUE: Value with unterminated quote found.)", which hid the cut): now the record
    is rejected with its file line and the cut as its reason, the others written."""
    name, data, line, why = _cut_variant(case)
    (report,) = lake.ingest_path(write(name, data))
    csv_name = "glp.zip!glp.csv" if case == "zip member" else "glp.csv"
    assert (report.rows, report.written, report.rejected, report.cut_line) == (20, 19, 1, line)
    (bad,) = report.bad
    assert str(bad).startswith(
        f"{csv_name}:{line}: file ends inside this record: truncated download? (the file's last "
        f"line has no line end and {why}); not ingested"
    )
    assert report.accounted()
    with lake.reader() as con:
        assert con.execute("SELECT count(*) FROM stations").fetchone() == (19,)
