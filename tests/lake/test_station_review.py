"""Faults found in review, each on real records with one synthetic fault: lines reported after
a blank line, a stray quote that must not swallow the rest of the file, ZIP archives with many
members, an archive inside or a ZIP bomb, and query windows that cross a month inside a survey
week."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.lake.conftest import BOM, NOW, ingested_names, real_file, real_lines, set_cell

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.domain.stations import cnpj_key, query_params


def test_rejected_lines_after_a_blank_line_are_file_lines(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A blank line is no record (DuckDB skips it) but it is a file line: a rejected record
    after it is reported on its own line, not the one before."""
    lines = real_lines("glp", 30)
    lines.insert(5, "")  # file line 6 is blank
    lines[20] = set_cell(lines[20], 12, "abc")  # file line 21
    (report,) = lake.ingest_path(write("blank.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (30, 29, 1)
    assert [b.line for b in report.bad] == [21]
    # and with a malformed record as well (both kinds of rejection after the blank line)
    lines[10] += ";extra"  # file line 11
    (report,) = lake.ingest_path(write("blank-ragged.csv", "\n".join(lines).encode()))
    assert [b.line for b in report.bad] == [11, 21]


def test_a_stray_quote_does_not_swallow_the_rest_of_the_file(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A field opening a quote it never closes is one bad record: the records on the lines
    after it are read, not folded into it and lost."""
    lines = real_lines("glp", 300)
    lines[10] = set_cell(lines[10], 7, '"LOJA 2')  # file line 11: an unterminated quote
    (report,) = lake.ingest_path(write("quote.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (300, 299, 1)
    assert [b.line for b in report.bad] == [11]
    assert report.accounted()


def test_two_stray_quotes_do_not_make_a_record_of_the_lines_between(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 100)
    lines[10] = set_cell(lines[10], 7, '"LOJA 2')  # file line 11
    lines[13] = set_cell(lines[13], 2, 'X"')  # file line 14: closes the quote of line 11
    (report,) = lake.ingest_path(write("quotes.csv", "\n".join(lines).encode()))
    assert report.rows == 100
    assert report.accounted()
    assert 11 in [b.line for b in report.bad]
    with lake.reader() as con:
        (kept,) = con.execute(
            "SELECT count(*) FROM stations WHERE cnpj = ?", [cnpj_key(lines[12].split(";")[4])]
        ).fetchone()
    assert kept >= 1  # file line 13, a good record between the two quotes, is in the lake


@pytest.mark.parametrize(("column", "closing_line"), [(2, 11), (15, 11), (0, 13)])
def test_two_stray_quotes_in_one_column_do_not_merge_their_lines_into_one_record(
    lake: StationLake, write: Callable[[str, bytes], Path], column: int, closing_line: int
) -> None:
    """A quote opened at the start of a field and closed in the same field of a later line
    makes the text between one field, and the fields around it add up to 16 again: no reader
    sees a wrong field count. The lines are read one at a time instead of merged into one
    record (the first line's station with the last line's price): the line with the opening
    quote is a malformed record, reported with its line, and every other line is its own
    record (a quote inside a field, not at its start, is part of the text)."""
    lines = real_lines("glp", 100)
    lines[10] = set_cell(lines[10], column, '"' + lines[10].split(";")[column])  # line 11
    closing = lines[closing_line].split(";")[column]
    assert closing  # (synthetic fault on real lines: a cell that is not empty)
    lines[closing_line] = set_cell(lines[closing_line], column, closing + '"')
    (report,) = lake.ingest_path(write("same-column.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (100, 99, 1)
    assert [b.line for b in report.bad] == [11]
    assert report.bad[0].reason.startswith("malformed record")
    assert report.accounted()
    with lake.reader() as con:
        assert con.execute(
            "SELECT count(*) FROM stations WHERE contains(concat_ws('|', region, state, "
            "municipality, station, street, number, complement, neighbourhood, cep, brand), "
            "chr(10))"
        ).fetchone() == (0,)
        cnpj = cnpj_key(lines[closing_line].split(";")[4])
        assert con.execute("SELECT count(*) FROM stations WHERE cnpj = ?", [cnpj]).fetchone()[0]


def test_stray_quotes_in_one_column_inside_a_zip_member_are_found_too(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A ZIP member's lines are counted as it is unpacked, so the same fault in an archive
    (ANP's format from 2022) is read a line at a time as well."""
    lines = real_lines("glp", 50)
    lines[10] = set_cell(lines[10], 2, '"' + lines[10].split(";")[2])  # line 11
    lines[12] = set_cell(lines[12], 2, lines[12].split(";")[2] + '"')  # line 13
    data = _zip({"precos.csv": "\n".join(lines).encode()})
    (report,) = lake.ingest_path(write("same-column.zip", data))
    assert (report.rows, report.written, report.rejected) == (50, 49, 1)
    assert [b.line for b in report.bad] == [11]


def _stray_quotes(lines: list[str], column: int = 2) -> list[str]:
    """File lines 11 and 13 with a quote opening and closing in ``column`` (synthetic)."""
    lines[10] = set_cell(lines[10], column, '"' + lines[10].split(";")[column])
    lines[12] = set_cell(lines[12], column, lines[12].split(";")[column] + '"')
    return lines


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("crlf-bom.csv", lambda lines: BOM + "\r\n".join(lines).encode() + b"\r\n"),
        ("latin-1.csv", lambda lines: "\r\n".join(lines).encode("latin-1", "replace")),
    ],
)
def test_stray_quotes_in_one_column_are_found_in_every_encoding(
    lake: StationLake,
    write: Callable[[str, bytes], Path],
    name: str,
    encode: Callable[[list[str]], bytes],
) -> None:
    (report,) = lake.ingest_path(write(name, encode(_stray_quotes(real_lines("glp", 50)))))
    assert (report.rows, report.written, report.rejected) == (50, 49, 1)
    assert [b.line for b in report.bad] == [11]


def test_stray_quotes_in_one_column_of_a_2026_workbook_are_found_too(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """ANP's 2026 XLSX under a .csv name holds each line split at its commas; the CSV made
    from it joins them back, stray quotes and all, so its lines are counted too."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in _stray_quotes(real_lines("glp", 50)):
        sheet.append(line.split(","))
    out = tmp_path / "book.xlsx"
    book.save(out)
    (report,) = lake.ingest_path(write("same-column-2026.csv", out.read_bytes()))
    assert report.fmt == "xlsx"
    assert (report.rows, report.written, report.rejected) == (50, 49, 1)
    assert [b.line for b in report.bad] == [11]


def test_a_quoted_line_break_with_a_separator_in_a_text_is_still_one_record(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A complement such as "LOJA 2;<line break>SALA 3" is one text: lines merged by stray
    quotes hold a whole record's separators (15) in the one field, a text a few."""
    lines = real_lines("glp", 30)
    lines[5] = set_cell(lines[5], 7, '"LOJA 2;\nSALA 3"')
    (report,) = lake.ingest_path(write("text-separator.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (30, 30, 0)


def test_a_quoted_line_break_alone_keeps_the_fast_reading(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A quoted field with a line break and no separator in it is a text, not merged lines:
    its record is kept whole (the line-at-a-time reading would reject it)."""
    lines = real_lines("glp", 30)
    lines[5] = set_cell(lines[5], 7, '"LOJA\n2"')  # file lines 6 and 7
    (report,) = lake.ingest_path(write("text-break.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (30, 30, 0)


def _quotes_far_apart() -> list[str]:
    """2,000 real diesel records (those with no quote of their own) with a synthetic fault:
    a quote opening column 2 on file line 11 and closing it on file line 1501. The text
    between them is one field of ~190,000 characters, past the csv module's field limit."""
    lines = [line for line in real_lines("diesel-gnv", 2400) if '"' not in line][:2001]
    lines[10] = set_cell(lines[10], 2, '"' + lines[10].split(";")[2])  # file line 11
    lines[1500] = set_cell(lines[1500], 2, lines[1500].split(";")[2] + 'X"')  # file line 1501
    return lines


def test_stray_quotes_many_lines_apart_are_read_a_line_at_a_time(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Polars accepts the file (the merged lines hold 16 fields), and the check for merged
    lines, reading with Python's csv module, raised "field larger than field limit": the
    file, and the CLI run with every file after it, stopped."""
    data = BOM + "\r\n".join(_quotes_far_apart()).encode()
    (report,) = lake.ingest_path(write("far-apart.csv", data))
    assert (report.rows, report.written, report.rejected) == (2000, 1999, 1)
    assert [b.line for b in report.bad] == [11]
    assert report.bad[0].reason.startswith("malformed record")
    assert report.accounted()


def test_stray_quotes_many_lines_apart_in_a_file_duckdb_reads_are_found_too(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """With a record of 17 fields as well, DuckDB's reader reads the file (LF lines: its
    rejected line holds no line break) and the search for blank lines, with the csv module,
    met the same field limit."""
    lines = _quotes_far_apart()
    lines[1800] += ";extra"  # file line 1801, synthetic
    (report,) = lake.ingest_path(write("far-apart-ragged.csv", "\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (2000, 1998, 2)
    assert [b.line for b in report.bad] == [11, 1801]
    assert report.accounted()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_a_zip_with_many_members_is_not_cut_silently(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Members past the limit are not read: each is reported, and the archive is not recorded
    as ingested (what they hold is unknown), so it is not taken as done."""
    lines = real_lines("glp", 70)
    members = {f"m{i:02d}.csv": "\n".join([lines[0], lines[1 + i]]).encode() for i in range(70)}
    reports = lake.ingest_path(write("many.zip", _zip(members)))
    assert len(reports) == 70  # every member is reported, read or not
    read = sum(r.written for r in reports)
    unread = [r for r in reports if r.skipped]
    assert read == 64 and len(unread) == 6
    assert all(r.unreadable and "not read" in (r.skipped or "") for r in unread)
    assert "many.zip" not in ingested_names(lake)


def test_an_archive_inside_a_zip_is_read_too(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A ZIP inside the ZIP is opened: its station CSV is ingested like the outer one's, and
    its other files are reported as not station data."""
    lines = real_lines("glp", 80)
    inner = _zip({"readme.txt": b"hello", "more.csv": "\n".join([lines[0], *lines[51:]]).encode()})
    data = _zip({"precos.csv": "\n".join(lines[:51]).encode(), "old.zip": inner})
    reports = lake.ingest_path(write("nested.zip", data))
    by_name = {r.name: r for r in reports}
    assert by_name["nested.zip!precos.csv"].written == 50
    assert by_name["nested.zip!old.zip!more.csv"].written == 30
    readme = by_name["nested.zip!old.zip!readme.txt"]
    assert readme.refused and not readme.unreadable
    assert "nested.zip" in ingested_names(lake)


def _good_csv_and_unread_member(
    lake: StationLake, write: Callable[[str, bytes], Path], name: str, member: tuple[str, bytes]
) -> str:
    """Ingest a ZIP of 20 real records and ``member``: the records are written, the member
    is reported as not read, the archive is not recorded; the member's reason."""
    lines = real_lines("glp", 20)
    reports = lake.ingest_path(
        write(name, _zip({"a.csv": "\n".join(lines).encode(), **dict([member])}))
    )
    by_name = {r.name: r for r in reports}
    assert by_name[f"{name}!a.csv"].written == 20
    (unread,) = [r for r in reports if r.unreadable]
    assert name not in ingested_names(lake)
    return f"{unread.name}: {unread.skipped}"


def test_archives_nested_too_deep_are_reported_and_the_file_is_not_recorded(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    deepest = _zip({"c.csv": "\n".join(real_lines("glp", 5)).encode()})
    member = ("b.zip", _zip({"c.zip": _zip({"d.zip": deepest})}))
    why = _good_csv_and_unread_member(lake, write, "deep.zip", member)
    assert why.startswith("deep.zip!b.zip!c.zip!d.zip: not read: an archive 4 archives deep")


def test_a_broken_workbook_inside_a_zip_keeps_the_file_unrecorded(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A member that looks like an XLSX workbook (synthetic: the parts' names, no sheet)
    but cannot be opened may hold station data: reported, and the archive is read again
    next time."""
    workbook = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<broken"})
    why = _good_csv_and_unread_member(lake, write, "broken-book.zip", ("b.csv", workbook))
    assert why.startswith("broken-book.zip!b.csv: an XLSX workbook openpyxl cannot read")


def _listed(data: bytes, times: int) -> bytes:
    """A one-member ZIP whose central directory lists that member ``times`` times (synthetic:
    how a small ZIP bomb makes zipfile unpack one compressed stream again for each entry)."""
    eocd = data.rfind(b"PK\x05\x06")
    size, offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    directory = data[offset : offset + size] * times
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, times, times, len(directory), offset, 0)
    return data[:offset] + directory + end


def test_a_zip_listing_one_stream_many_times_unpacks_it_once(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A 19 KB ZIP listing one 16 MiB stream 64 times unpacked 1 GiB to scratch. The first
    entry is read; the others, whose bytes lie inside it, are reported as not read, and the
    file is not recorded (so it is not taken as ingested whole)."""
    csv = "\n".join(real_lines("glp", 20)).encode()
    reports = lake.ingest_path(write("overlap.zip", _listed(_zip({"a.csv": csv}), 5)))
    assert [r.written for r in reports] == [20, 0, 0, 0, 0]
    assert all(r.unreadable and "overlap another member" in (r.skipped or "") for r in reports[1:])
    assert "overlap.zip" not in ingested_names(lake)


def test_a_member_that_inflates_past_the_ratio_limit_is_not_unpacked(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """5 MiB of line breaks deflate to ~5 KB: no CSV compresses like that (ANP's ~10:1)."""
    member = ("b.csv", b"\n" * (5 << 20))
    why = _good_csv_and_unread_member(lake, write, "ratio.zip", member)
    assert why.startswith("ratio.zip!b.csv: not read: ") and "more than 200 to 1" in why


def test_the_unpacked_bytes_are_counted_across_nested_archives(
    write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """One budget for the whole file: a member of an inner archive that fits on its own but
    not after what the outer archive unpacked is not unpacked (a smaller limit stands in for
    the real 8 GiB one)."""
    first = "\n".join(real_lines("glp", 20)).encode()  # what _good_csv_and_unread_member writes
    inner = _zip({"c.csv": "\n".join(real_lines("glp", 10)).encode()})
    lake = StationLake(
        LocalLakeStorage(tmp_path / "small-lake"),
        FixedClock(NOW),
        max_unpacked=len(first) + len(inner) + 100,
    )
    why = _good_csv_and_unread_member(lake, write, "budget.zip", ("b.zip", inner))
    assert why.startswith("budget.zip!b.zip!c.csv: not read: ")
    assert f"past the limit of {len(first) + len(inner) + 100} bytes for one file" in why


def test_a_member_that_unpacks_to_more_than_it_declared_stops_at_the_limit(
    tmp_path: Path,
) -> None:
    """Declared sizes can lie: the bytes written are counted too, and unpacking stops once
    they pass the limit, its partial copy removed. (zipfile stops at the declared size today,
    so the member is unpacked here with less budget left than it declares, as a member whose
    declared size passed the check and then gave more would be.)"""
    from fuelpipe.adapters.lake import formats

    body = bytes(range(256)) * (4 << 12)  # synthetic: 4 MiB, past the budget in its 4th chunk
    target = tmp_path / "liar.m0"
    with zipfile.ZipFile(io.BytesIO(_zip({"b.csv": body}))) as archive:
        budget = formats._Budget(limit=8 << 30, left=(3 << 20) + 10_000)
        why = formats._unpack(archive, archive.infolist()[0], target, budget)
    assert why == f"not read: past the limit of {8 << 30} bytes unpacked for one file"
    assert not target.exists()


@pytest.fixture(scope="module")
def glp_lake(tmp_path_factory: pytest.TempPathFactory) -> StationLake:
    """The real LPG sample (24/03/2025 .. 19/04/2025): the survey week of 30/03 crosses into
    April."""
    tmp = tmp_path_factory.mktemp("glp-lake")
    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(NOW))
    path = tmp / "ultimas-4-semanas-glp.csv"
    path.write_bytes(real_file("glp"))
    lake.ingest_path(path)
    return lake


def test_a_window_starting_or_ending_inside_a_week_that_crosses_a_month(
    glp_lake: StationLake,
) -> None:
    """The queries group by survey week and select whole weeks: the week of 30/03/2025
    (Sunday) to 05/04 gives the same figures whatever day of it the window starts or ends
    on, and they are the whole week's."""
    week = date(2025, 3, 30)
    with glp_lake.reader() as con:
        (whole,) = con.execute(
            "SELECT count(*) FROM stations WHERE product = 'LPG' AND week = ?", [week]
        ).fetchone()
    assert whole > 0

    def week_row(start: date, end: date) -> dict[str, object]:
        params = query_params("LPG", start, end, None, None, "")
        rows = glp_lake.query("dispersion", params).records()
        return next(r for r in rows if r["week"] == week)

    for offset in range(7):
        day = week + timedelta(days=offset)
        assert week_row(day, date(2025, 4, 19))["observations"] == whole, day
        assert week_row(date(2025, 3, 24), day)["observations"] == whole, day


def test_a_corrupt_zip_member_is_reported_and_the_others_are_read(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A member whose bytes fail their CRC (synthetic: one byte flipped in the archive) is one
    skipped part; the good member is ingested."""
    good = "\n".join(real_lines("glp", 20)).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:  # stored: bytes as they are
        archive.writestr("a.csv", good)
        archive.writestr("b.csv", good.replace(b"GLP", b"GLp", 1))
    data = bytearray(buf.getvalue())
    data[data.find(b"GLp")] ^= 0x01  # one byte of b.csv: its CRC no longer matches
    reports = lake.ingest_path(write("corrupt.zip", bytes(data)))
    by_name = {r.name: r for r in reports}
    assert by_name["corrupt.zip!a.csv"].written == 20
    broken = by_name["corrupt.zip!b.csv"]
    assert broken.written == 0 and "unreadable ZIP member (BadZipFile" in (broken.skipped or "")


@pytest.mark.parametrize("at", [3, 150, 299])
def test_a_short_line_ending_in_a_bare_lf_among_crlf_lines_is_one_bad_record(
    lake: StationLake, write: Callable[[str, bytes], Path], at: int
) -> None:
    """A line of a CRLF file ending in a bare LF (a file edited or joined by hand) that is no
    record: DuckDB's reader gave up on the whole file ("The CSV Parser state machine reached
    an invalid state") and the command ended in an error, the file's good records and the
    other files of the command unread. It is one rejected line; the others are read."""
    lines = real_lines("glp", 300)
    text = "\r\n".join(lines[:at]) + "\r\nnot a record\n" + "\r\n".join(lines[at:]) + "\r\n"
    (report,) = lake.ingest_path(write("joined.csv", BOM + text.encode()))
    assert (report.rows, report.written, report.rejected) == (301, 300, 1)
    assert [b.line for b in report.bad] == [at + 1]
    assert "MISSING COLUMNS" in report.bad[0].reason
    assert report.accounted()


def test_a_short_record_is_reported_with_the_fields_it_has(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """DuckDB rejects a short record once per missing column ("Found: 1", "Found: 2", ...
    "Found: 15" for a line of one field); the report said all fifteen, in no set order."""
    lines = real_lines("glp", 50)
    lines[20] = "not a record"  # file line 21
    lines[30] = ";".join(lines[30].split(";")[:9])  # file line 31: 9 fields
    (report,) = lake.ingest_path(write("short.csv", "\n".join(lines).encode()))
    assert [(b.line, b.reason) for b in report.bad] == [
        (21, "malformed record (MISSING COLUMNS: Expected Number of Columns: 16 Found: 1)"),
        (31, "malformed record (MISSING COLUMNS: Expected Number of Columns: 16 Found: 9)"),
    ]
