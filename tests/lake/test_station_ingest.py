"""Bad rows are reported with file and line and never stop the file; nothing is dropped
silently; re-ingesting a file changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from tests.lake.conftest import BOM, real_file, real_lines

from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.domain.stations import lines_of_accepted


def _set(line: str, column: int, value: str) -> str:
    cells = line.split(";")
    cells[column] = value
    return ";".join(cells)


def test_bad_rows_are_reported_with_file_and_line(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 400)  # real GLP records; faults below are synthetic
    # file line n is lines[n - 1] (line 1 is the header)
    faults = {
        5: (_set(lines[4], 11, "31/02/2025"), "bad collection date '31/02/2025'"),
        9: (_set(lines[8], 12, "abc"), "sale price is not a number: 'abc'"),
        17: (_set(lines[16], 10, "QUEROSENE"), "unknown product 'QUEROSENE'"),
        40: (_set(lines[39], 14, "R$ / galão"), "unknown unit 'R$ / galão'"),
        41: (lines[40] + ";extra", "malformed record (TOO MANY COLUMNS"),
        77: (";".join(lines[76].split(";")[:9]), "malformed record (MISSING COLUMNS"),
        90: (_set(lines[89], 12, "1.350,00"), "sale price is not a number: '1.350,00'"),
        150: (_set(lines[149], 12, "9999"), "sale price 9999 is outside"),
        151: (_set(lines[150], 4, ""), "no CNPJ"),
        401: (_set(lines[400], 11, ""), "bad collection date (empty)"),
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
    stored = lake.storage.get_text("ultimas-4-semanas-glp.csv.rejected.txt")
    assert stored is not None
    assert len(stored.splitlines()) == len(faults)
    with lake.reader() as con:
        (count,) = con.execute("SELECT count(*) FROM stations").fetchone()
    assert count == 400 - len(faults)


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

    (again,) = lake.ingest_path(path)  # same content: recognised and skipped
    assert again.skipped and "already ingested" in again.skipped

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


def test_lines_of_accepted_skips_rejected_lines() -> None:
    # data lines 2..9; lines 3 and 4 were rejected by the reader
    assert lines_of_accepted([0, 1, 2, 5], [3, 4]) == {0: 2, 1: 5, 2: 6, 5: 9}
    assert lines_of_accepted([0], []) == {0: 2}
