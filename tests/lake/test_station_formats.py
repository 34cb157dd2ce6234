"""Every format ANP has served station files in, recognised by content, gives the same rows.

The variants are synthetic (generated here from the real sample): Latin-1, ZIP, and XLSX under
a ``.csv`` name, both as ANP's 2026 workbooks (each CSV line split across cells at commas) and
as a one-column-per-field sheet. The BOM variant is the real file itself.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from tests.lake.conftest import BOM, NOW, ingested_names, real_file, real_lines

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.columns import read_lines
from fuelpipe.adapters.lake.engine import StationLake, connect
from fuelpipe.adapters.lake.formats import FileFormat, detect
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.replay import ooxml

ROWS = 1500


def _csv_text() -> str:
    return "\r\n".join(real_lines("gasolina-etanol", ROWS)) + "\r\n"


def synthetic_latin1() -> bytes:
    return _csv_text().encode("latin-1")


def synthetic_zip(inner: bytes, member: str = "precos-gasolina-etanol-03.csv") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, inner)
    return buf.getvalue()


def synthetic_xlsx_split_at_commas() -> bytes:
    """ANP's 2026 workbooks: each line of the CSV, split into cells at every comma."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("ultimas-4-semanas")
    for line in _csv_text().split("\r\n")[:-1]:
        sheet.append(line.split(","))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _sheet_edited(content: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    """A workbook with its first sheet's XML edited."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        part = ooxml.sheet_part(archive.namelist())
        xml = archive.read(part)
    return ooxml.replace_parts(content, {part: edit(xml)})


def synthetic_xlsx_dimension_a1() -> bytes:
    """ANP's 2026 form with a ``<dimension ref="A1"/>`` tag, as a writer that does not track
    the sheet's size leaves it: openpyxl's read-only reader stopped at it (row 1, the header),
    so the file was ingested with no record and recorded as ingested."""
    return _sheet_edited(
        synthetic_xlsx_split_at_commas(),
        lambda xml: xml.replace(b"</sheetPr>", b'</sheetPr><dimension ref="A1"/>', 1),
    )


def synthetic_xlsx_tabular() -> bytes:
    import csv

    book = Workbook(write_only=True)
    sheet = book.create_sheet("dados")
    for row in csv.reader(io.StringIO(_csv_text()), delimiter=";"):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _workbook(*sheets: tuple[str, list[list[str]]]) -> bytes:
    """Synthetic: a workbook with these sheets (title, rows), one cell per column."""
    book = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _glp_records(rows: int, day: str | None = None) -> list[list[str]]:
    """The real GLP file's header and first ``rows`` records as cells (each record's
    collection day set to ``day`` when given, so two sheets hold different records)."""
    records = [line.split(";") for line in real_lines("glp", rows)]
    for record in records[1:] if day else []:
        record[11] = day
    return records


def _glp_text(separator: str = ";") -> str:
    """Synthetic: the real GLP file's header and 20 records, CRLF, fields separated by
    ``separator`` (none of them holds a ',' or a tab)."""
    return "".join(line.replace(";", separator) + "\r\n" for line in real_lines("glp", 20))


def _rows(lake: StationLake) -> list[tuple[object, ...]]:
    with lake.reader() as con:
        return con.execute(
            "SELECT product, cnpj, collected, price, brand, municipality, station, street "
            "FROM stations ORDER BY ALL"
        ).fetchall()


@pytest.fixture
def reference(tmp_path: Path) -> list[tuple[object, ...]]:
    """The rows the real BOM file gives."""
    from tests.lake.conftest import NOW

    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.lake.storage import LocalLakeStorage

    path = tmp_path / "real.csv"
    path.write_bytes(BOM + _csv_text().encode("utf-8"))
    ref = StationLake(LocalLakeStorage(tmp_path / "ref"), FixedClock(NOW))
    (report,) = ref.ingest_path(path)
    assert report.fmt == FileFormat.CSV_UTF8_BOM
    assert report.rows == report.written == ROWS
    return _rows(ref)


VARIANTS: dict[str, tuple[Callable[[], bytes], str, FileFormat]] = {
    "latin-1": (synthetic_latin1, "ultimas-4-semanas-gasolina-etanol.csv", FileFormat.CSV_LATIN1),
    "utf-8 without BOM": (
        lambda: _csv_text().encode("utf-8"),
        "precos-gasolina-etanol-03.csv",
        FileFormat.CSV_UTF8,
    ),
    "zip of BOM csv": (
        lambda: synthetic_zip(BOM + _csv_text().encode("utf-8")),
        "precos-gasolina-etanol-2025.zip",
        FileFormat.ZIP,
    ),
    "zip of latin-1 csv": (
        lambda: synthetic_zip(synthetic_latin1()),
        "ca-2025-01.csv",  # a ZIP under a .csv name is still read as a ZIP
        FileFormat.ZIP,
    ),
    "xlsx split at commas under .csv": (
        synthetic_xlsx_split_at_commas,
        "02-cados-abertos-precos-gasolina-etanol.csv",
        FileFormat.XLSX,
    ),
    "xlsx with a wrong dimension under .csv": (
        synthetic_xlsx_dimension_a1,
        "03-cados-abertos-precos-gasolina-etanol.csv",
        FileFormat.XLSX,
    ),
    "xlsx one cell per column under .csv": (
        synthetic_xlsx_tabular,
        "precos-gasolina-etanol-05.csv",
        FileFormat.XLSX,
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_format_gives_the_real_rows(
    variant: str,
    lake: StationLake,
    write: Callable[[str, bytes], Path],
    reference: list[tuple[object, ...]],
) -> None:
    make, name, fmt = VARIANTS[variant]
    path = write(name, make())
    assert detect(path) is fmt
    reports = lake.ingest_path(path)
    assert len(reports) == 1
    report = reports[0]
    assert report.skipped is None
    assert (report.rows, report.written, report.rejected) == (ROWS, ROWS, 0)
    assert report.accounted()
    assert _rows(lake) == reference


def test_latin1_accents_survive(lake: StationLake, write: Callable[[str, bytes], Path]) -> None:
    text = _csv_text()
    accented = [ln for ln in text.split("\r\n") if any(ch in ln for ch in "ÁÂÃÉÊÍÓÔÕÚÇ")]
    assert accented, "the real sample has accented brands (ATLÂNTICA, SABBÁ…)"
    lake.ingest_path(write("old.csv", synthetic_latin1()))
    with lake.reader() as con:
        brands = {r[0] for r in con.execute("SELECT DISTINCT brand FROM stations").fetchall()}
    expected = {ln.split(";")[-1] for ln in accented}
    assert expected <= brands


def test_unreadable_file_is_refused_not_fatal(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    broken = write("broken.zip", b"PK\x03\x04 this is not an archive")
    good = write("good.csv", BOM + _csv_text().encode("utf-8"))
    (bad_report,) = lake.ingest_path(broken)
    assert bad_report.refused and bad_report.skipped and "ZIP" in bad_report.skipped
    (good_report,) = lake.ingest_path(good)
    assert good_report.written == ROWS and not good_report.refused
    assert ingested_names(lake) == ["good.csv"]  # the refused one is not


def test_a_wrong_header_is_one_clear_error(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 10)
    lines[0] = lines[0].replace("Valor de Venda", "Preco")
    (report,) = lake.ingest_path(write("renamed.csv", "\n".join(lines).encode()))
    assert report.refused
    assert report.skipped and "header is not ANP's 16 station columns" in report.skipped
    assert report.written == 0
    # Not recorded: the same bytes again (under any name) are refused again, for the same
    # reason, not passed over as "already ingested".
    assert lake.storage.read_manifest()["files"] == {}
    (again,) = lake.ingest_path(write("renamed-again.csv", "\n".join(lines).encode()))
    assert again.refused and again.skipped == report.skipped


def test_a_header_and_records_ending_in_a_semicolon_ingest_every_record(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """Synthetic: real GLP lines each with a trailing ";" (an empty 17th column), one record
    with a 17th value (malformed: DuckDB's reader then reads the file) and one without the
    trailing ";" (still a whole record)."""
    lines = [line + ";" for line in real_lines("glp", 60)]
    lines[20] = lines[20] + "x"  # file line 21
    lines[30] = lines[30].removesuffix(";")  # file line 31
    (report,) = lake.ingest_path(write("trailing.csv", BOM + "\r\n".join(lines).encode()))
    assert not report.refused, report.skipped
    assert (report.rows, report.written, report.rejected) == (60, 59, 1)
    (bad,) = report.bad
    assert bad.line == 21 and "TOO MANY COLUMNS" in bad.reason
    clean = [line.removesuffix(";") for line in real_lines("glp", 60)]
    del clean[20]  # the malformed record
    ref = StationLake(LocalLakeStorage(tmp_path / "ref"), FixedClock(NOW))
    (expected,) = ref.ingest_path(write("trailing.csv", BOM + "\r\n".join(clean).encode()))
    assert expected.written == 59
    assert _rows(lake) == _rows(ref)


def test_a_wrong_header_says_which_column_is_wrong(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    lines = real_lines("glp", 3)
    lines[0] = lines[0].replace("Valor de Venda", "Preco")  # synthetic
    (report,) = lake.ingest_path(write("renamed.csv", "\n".join(lines).encode()))
    assert report.skipped and report.skipped.endswith(
        "(column 13 is 'Preco', not 'Valor de Venda')"
    )
    lines = real_lines("glp", 3)
    lines[0] += ";Extra"  # synthetic
    (report,) = lake.ingest_path(write("extra.csv", "\n".join(lines).encode()))
    assert report.skipped and report.skipped.endswith("(17 columns)")


def test_one_invalid_byte_in_a_utf8_file_rejects_its_line_not_the_encoding(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """The real diesel/CNG file without its BOM and with one byte that is not UTF-8 in one
    record (synthetic): the file is still UTF-8 (its accents and CNG's 'R$ / m³' intact),
    and only that record is rejected, with its line."""
    lines = real_file("diesel-gnv")[len(BOM) :].split(b"\r\n")
    clean = b"\r\n".join(lines)
    lines[7] = lines[7].replace(b";", b";\xff", 1)  # file line 8
    path = write("damaged.csv", b"\r\n".join(lines))
    assert detect(path) is FileFormat.CSV_UTF8
    (report,) = lake.ingest_path(path)
    assert [str(b) for b in report.bad] == [
        "damaged.csv:8: malformed record (INVALID ENCODING: a byte that is not utf-8)"
    ]
    ref = StationLake(LocalLakeStorage(tmp_path / "ref"), FixedClock(NOW))
    (expected,) = ref.ingest_path(write("clean.csv", clean))
    assert expected.rejected == 0 and report.written == expected.written - 1
    got, want = set(_rows(lake)), set(_rows(ref))
    assert got < want and len(want - got) == 1
    assert any(product == "CNG" for product, *_ in got)


def test_a_file_mixing_utf8_and_latin1_lines_reads_each_line_in_its_own(
    lake: StationLake, write: Callable[[str, bytes], Path], reference: list[tuple[object, ...]]
) -> None:
    """Synthetic: the real sample without a BOM, its first accented records in Latin-1 and
    the rest in UTF-8 (fewer than 20 valid UTF-8 characters per invalid byte). It was read
    whole as Latin-1, every UTF-8 accent garbled ("ATLÃ\x82NTICA") without a word; each line
    is now read in its own encoding: every record kept, every accent intact."""
    lines = _csv_text().split("\r\n")
    accented = [n for n, ln in enumerate(lines) if n and any(ord(ch) > 127 for ch in ln)]
    latin1 = set(accented[: len(accented) // 3])
    data = b"\r\n".join(
        ln.encode("latin-1" if n in latin1 else "utf-8") for n, ln in enumerate(lines)
    )
    path = write("mixed.csv", data)
    assert detect(path) is FileFormat.CSV_MIXED
    (report,) = lake.ingest_path(path)
    assert (report.rows, report.written, report.bad) == (ROWS, ROWS, [])
    assert _rows(lake) == reference  # as the same records in UTF-8 give


def _some_lines_latin1(every: int) -> tuple[list[str], list[bytes]]:
    """Synthetic: the real sample's lines, every ``every``-th accented record in Latin-1 and
    the other lines in UTF-8 (text lines, and the bytes written)."""
    lines = _csv_text().split("\r\n")
    accented = [n for n, ln in enumerate(lines) if n and any(ord(ch) > 127 for ch in ln)]
    latin1 = set(accented[::every])
    return lines, [ln.encode("latin-1" if n in latin1 else "utf-8") for n, ln in enumerate(lines)]


def test_a_file_with_a_bom_and_some_latin1_lines_reads_each_line_in_its_own(
    lake: StationLake, write: Callable[[str, bytes], Path], reference: list[tuple[object, ...]]
) -> None:
    """Synthetic: the real sample with its BOM, one accented record in ten in Latin-1. A BOM
    meant UTF-8 whole, so those records were rejected as "a byte that is not utf-8": values
    ANP published, dropped. Each line is now read in its own encoding, numbers kept."""
    _, data = _some_lines_latin1(10)
    path = write("bom-latin1-lines.csv", BOM + b"\r\n".join(data))
    assert detect(path) is FileFormat.CSV_MIXED
    (report,) = lake.ingest_path(path)
    assert (report.rows, report.written, report.bad) == (ROWS, ROWS, [])
    assert _rows(lake) == reference


@pytest.mark.parametrize("bom", [BOM, b""], ids=["bom", "no-bom"])
def test_a_damaged_utf8_line_in_a_mixed_file_is_rejected_with_its_line_not_garbled(
    bom: bytes, lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic: a file mixing UTF-8 and Latin-1 lines, one UTF-8 line with an accent
    holding a byte that is not UTF-8. That line is damaged UTF-8, not Latin-1: read as
    Latin-1 (as a BOM-less mixed file did) its accents were garbled without a word; it is
    rejected with its file and line, and every other line is read."""
    lines, data = _some_lines_latin1(3)
    n = next(n for n, ln in enumerate(lines) if n and "Ã" in ln and data[n] == ln.encode("utf-8"))
    data[n] = data[n].replace(b";", b";\xff", 1)
    path = write("damaged-mixed.csv", bom + b"\r\n".join(data))
    assert detect(path) is FileFormat.CSV_MIXED
    (report,) = lake.ingest_path(path)
    assert [str(b) for b in report.bad] == [
        f"damaged-mixed.csv:{n + 1}: malformed record (INVALID ENCODING: a byte that is not utf-8)"
    ]
    assert (report.rows, report.written) == (ROWS, ROWS - 1)


def test_latin1_with_a_stray_utf8_pair_is_mixed_and_plain_latin1_is_latin1(
    write: Callable[[str, bytes], Path],
) -> None:
    """Synthetic: the real sample in Latin-1 with "Ã©" (bytes that are also UTF-8 for "é")
    in one line: that line is read as UTF-8, the others as Latin-1 (whole as UTF-8, every
    other accented line was rejected)."""
    data = synthetic_latin1().replace(b";", "Ã©;".encode("latin-1"), 1)
    assert detect(write("old.csv", data)) is FileFormat.CSV_MIXED
    assert detect(write("plain.csv", synthetic_latin1())) is FileFormat.CSV_LATIN1


def test_a_workbook_with_rows_out_of_order_is_refused_naming_the_row(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic: ANP's 2026 form with sheet rows 10 and 11 written in the other order.
    openpyxl's read-only reader skips a row numbered below one it gave, so row 10 was lost and
    the file recorded as ingested; it is now refused (and not recorded), naming the row."""

    def swap(xml: bytes) -> bytes:
        part = ooxml.SheetData.split(xml)
        rows = [*part.rows[:9], part.rows[10], part.rows[9], *part.rows[11:]]
        return part.xml[: part.start] + b"".join(rows) + part.xml[part.end :]

    data = _sheet_edited(synthetic_xlsx_split_at_commas(), swap)
    (report,) = lake.ingest_path(write("swapped.csv", data))
    assert report.refused and report.written == 0
    assert report.skipped and "sheet row 10 comes after row 11" in report.skipped
    assert lake.storage.read_manifest()["files"] == {}


def test_the_line_reader_rejects_a_line_that_is_not_utf8(tmp_path: Path) -> None:
    """Synthetic: one real record with a byte that is not UTF-8, read a line at a time."""
    lines = [line.encode() for line in real_lines("glp", 5)]
    lines[2] = lines[2].replace(b";", b";\xff", 1)  # file line 3
    path = tmp_path / "damaged.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    (tmp_path / "scratch").mkdir()
    con = connect()
    try:
        parsed = read_lines(con, path, "utf-8", tmp_path / "scratch")
    finally:
        con.close()
    assert parsed.structural == [
        (3, "malformed record (INVALID ENCODING: a byte that is not utf-8)")
    ]
    assert parsed.frame.get_column("line").to_list() == [2, 4, 5, 6]


def test_empty_workbook_rows_are_no_records(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """Synthetic: a workbook of real records, one cell per column, with empty rows between
    and after them and one bad record after the empty ones, reported on its sheet row."""
    import csv

    records = list(csv.reader(io.StringIO(_csv_text()), delimiter=";"))
    records[11][12] = "abc"  # sheet row 12
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for number, record in enumerate(records, start=1):
        sheet.append(record)
        if number in (5, 6):
            sheet.append([None] * 16)  # (rows 6 and 8) an empty row, every cell empty
    for _ in range(3):
        sheet.append([""] * 16)  # empty rows at the end
    out = tmp_path / "blank-rows.xlsx"
    book.save(out)
    (report,) = lake.ingest_path(write("blank-rows.csv", out.read_bytes()))
    assert report.fmt == FileFormat.XLSX
    assert (report.rows, report.written, report.rejected) == (ROWS, ROWS - 1, 1)
    assert [str(b) for b in report.bad] == ["blank-rows.csv:14: sale price is not a number: 'abc'"]


NOT_STATION_DATA = {
    "plain csv": (b"a,b,c\n1,2,3\n", "header is not ANP's 16 station columns: 'a,b,c'"),
    "markdown": (b"# fuelpipe\n\nSome text.\n", "header is not ANP's 16 station columns"),
    "empty": (b"", "the file is empty"),
    # (was "the first line is blank")
    "a bom alone": (b"\xef\xbb\xbf", "the file is empty (a UTF-8 BOM and nothing else)"),
    # (was "header is not ...: 'data,venda,compra' (column 1 is 'data,venda,compra', not
    # 'Regiao - Sigla')": the repository's datasets/fx/strongylis__ptax.csv's first lines)
    "another table": (
        b"data,venda,compra\n2021-05-19,5.2968,5.2962\n",
        "'data,venda,compra' (3 columns separated by ',', none of them ANP's: not ANP's "
        "station file (16 columns separated by ';'))",
    ),
    "another table by tabs": (
        b"Municipio\tProduto\tValor de Venda\n",
        "(3 columns separated by '\\t', 3 of them ANP's: not ANP's station file",
    ),
    # (these three were "binary content, not CSV text": datasets/anp/stations/ holds the 2025
    # sample as Parquet; synthetic magic numbers before random bytes)
    "parquet": (
        b"PAR1" + random.Random(7).randbytes(512),
        "a Parquet file, not CSV text: give ANP's station file as published (CSV or ZIP)",
    ),
    "old excel": (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(7).randbytes(512),
        "an old Excel (.xls) workbook, not CSV: save it as CSV (UTF-8)",
    ),
    "pdf": (b"%PDF-1.7\n" + random.Random(7).randbytes(512), "a PDF document, not CSV text"),
    "blank lines": (b"\n\n", "the first line is blank"),
    "every byte value": (bytes(range(256)) * 8, "binary content, not CSV text"),
    "random bytes": (random.Random(7).randbytes(4096), "binary content, not CSV text"),
    "broken zip": (b"PK\x03\x04\x00\x01garbage", "starts like a ZIP archive but is not one"),
    # (synthetic: a ZIP of real records cut in half, as a download stopped midway; it was
    # only "is not one")
    "zip cut short": (
        synthetic_zip(_glp_text().encode())[: len(synthetic_zip(_glp_text().encode())) // 2],
        "is not one: its end (the central directory) is missing, as when a download is cut short",
    ),
    "zip of a readme": (synthetic_zip(b"read me\n", "README.txt"), "README.txt: header is not"),
    # (both were "binary content, not CSV text" or "the first line is blank")
    "empty zip": (b"PK\x05\x06" + bytes(18), "a ZIP archive with no file in it"),
    # (these were "binary content, not CSV text" or a header whose column 1 or 16 is wrong)
    "utf-16": (_glp_text().encode("utf-16"), "UTF-16 text"),
    "gzip": (gzip.compress(_glp_text().encode()), "gzip-compressed"),
    # (these three were "binary content, not CSV text", the bundled sample's .csv.xz too)
    "xz": (lzma.compress(_glp_text().encode()), "xz-compressed, not CSV text: unpack it first"),
    "bzip2": (bz2.compress(_glp_text().encode()), "bzip2-compressed, not CSV text: unpack it"),
    # (synthetic: zstd's magic number before random bytes; the stdlib has no zstd writer)
    "zstd": (
        b"\x28\xb5\x2f\xfd" + random.Random(7).randbytes(512),
        "zstd-compressed, not CSV text: unpack it first",
    ),
    "html page": (
        b"<!DOCTYPE html>\n<html><head><title>Erro 503</title></head></html>\n",
        "an HTML page ('Erro 503'), not CSV",
    ),
    "mac line ends": (_glp_text().replace("\r\n", "\r").encode(), "lines end in a bare CR"),
    "comma separated": (_glp_text(",").encode(), "ANP's 16 columns separated by ',', not ';'"),
    "tab separated": (_glp_text("\t").encode(), "ANP's 16 columns separated by '\\t', not ';'"),
    "workbook without a row": (
        _workbook(("a", []), ("b", [])),
        "a workbook with no row in any sheet",
    ),
}


@pytest.mark.parametrize("case", list(NOT_STATION_DATA))
def test_a_file_that_is_not_station_data_is_refused_and_not_recorded(
    case: str, lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    data, why = NOT_STATION_DATA[case]
    (report,) = lake.ingest_path(write("file.csv", data))
    assert report.refused and report.written == 0
    assert report.skipped and why in report.skipped
    assert report.skipped.isprintable() and len(report.skipped) < 200
    assert lake.storage.read_manifest()["files"] == {}
    assert lake.storage.partitions() == []


PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


@pytest.mark.parametrize(
    ("payload", "often"),
    [
        ("anp_semanal-brasil-desde-2013_cut.xlsx", "weekly"),
        ("anp_semanal-regioes-desde-2013_cut.xlsx", "weekly"),
        ("anp_mensal-estados-desde-jan2013_cut.xlsx", "monthly"),
    ],
)
def test_anps_price_summary_workbook_is_named_for_what_it_is(
    payload: str, often: str, lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Real excerpts of ANP's summary workbooks (the survey's averages, which `fuelpipe run`
    collects) given to the lake were refused as "column 1 is 'AGÊNCIA NACIONAL DO PETRÓLEO,…'"
    (their title row); the refusal now says what the file is and where the station files are."""
    (report,) = lake.ingest_path(write(payload, (PAYLOADS / payload).read_bytes()))
    assert report.refused and report.written == 0
    assert report.skipped == (
        f"ANP's {often} price summary workbook (averages by area), not the station-level "
        "survey: `fuelpipe run` collects it; the station files are the Série Histórica CSVs "
        "(`fuelpipe stations ingest` alone downloads them)"
    )
    assert lake.storage.read_manifest()["files"] == {}


@pytest.mark.parametrize("record", [1, 40])
def test_a_control_byte_in_a_record_near_the_top_does_not_refuse_the_file(
    record: int, lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """ANP's header says the file is station CSV: a NUL in the first record's name (inside the
    first 4 KiB sniffed for binary content) refused every record of it, one in the 40th none."""
    lines = real_lines("gasolina-etanol", 50)
    cells = lines[record].split(";")
    cells[3] = "POSTO\x00X"
    lines[record] = ";".join(cells)
    (report,) = lake.ingest_path(write("nul.csv", ("\r\n".join(lines) + "\r\n").encode()))
    assert not report.refused and report.skipped is None
    assert (report.rows, report.written + report.duplicates_in_file) == (50, 50)
    with lake.reader() as con:
        named = con.execute("SELECT count(*) FROM stations WHERE station = ?", ["POSTO\x00X"])
        assert named.fetchone() == (1,)


def test_long_or_unprintable_header_text_is_quoted_short() -> None:
    from fuelpipe.adapters.lake.engine import shown

    assert shown("a\x00b\x1bc") == "a?b?c"
    long = shown("x" * 500)
    assert len(long) == 60 and long.endswith("…")


def test_a_zip_with_one_station_csv_is_ingested_and_its_other_members_noted(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("LEIAME.txt", "leia-me\n")
        archive.writestr("precos.csv", BOM + _csv_text().encode("utf-8"))
    reports = lake.ingest_path(write("mixed.zip", buf.getvalue()))
    assert [r.refused for r in reports] == [True, False]
    assert reports[1].written == ROWS
    assert "mixed.zip" in ingested_names(lake)


def test_typed_workbook_cells_read_as_the_text_anp_writes(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """A workbook saved from Excel holds typed cells. A date cell in "Data da Coleta" read as
    '2025-03-24 00:00:00', which no collection day is read from, so every such record was
    rejected; a numeric CEP read as '79106361.0'. Synthetic: real records, some of whose
    dates, prices, CEPs and street numbers are typed cells, the others text."""
    from datetime import date, datetime

    from tests.lake.conftest import NOW

    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.lake.storage import LocalLakeStorage

    records = [ln.split(";") for ln in real_lines("gasolina-etanol", 60) if '"' not in ln]
    header, rows = records[0], records[1:41]
    assert len(rows) == 40
    typed: list[list[object]] = [list(r) for r in rows]
    for n, (text, cells) in enumerate(zip(rows, typed, strict=True)):
        day, month, year = (int(p) for p in text[11].split("/"))
        if n < 10:
            cells[11] = datetime(year, month, day)  # an Excel date cell
        elif n < 20:
            cells[11] = date(year, month, day)
        if n % 2:
            cells[12] = float(text[12].replace(",", "."))  # a numeric price, e.g. 6.49
        if n < 5:
            text[9] = text[9].replace("-", "")  # a numeric CEP means its digits
            cells[9] = float(text[9])
            if text[6].isdigit():
                cells[6] = float(text[6])
    assert any(isinstance(c[12], float) and not c[12].is_integer() for c in typed)

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for cells in typed:
        sheet.append(cells)
    out = tmp_path / "typed.xlsx"
    book.save(out)

    (report,) = lake.ingest_path(write("precos-gasolina-etanol-typed.csv", out.read_bytes()))
    assert report.fmt == FileFormat.XLSX
    assert (report.rows, report.written, report.rejected) == (40, 40, 0), report.bad[:3]

    ref = StationLake(LocalLakeStorage(tmp_path / "ref"), FixedClock(NOW))
    text = "\r\n".join(";".join(r) for r in [header, *rows]) + "\r\n"
    ref.ingest_path(write("as-text.csv", BOM + text.encode("utf-8")))
    query = (
        "SELECT product, cnpj, collected, price, purchase_price, number, cep "
        "FROM stations ORDER BY ALL"
    )
    with lake.reader() as con, ref.reader() as ref_con:
        assert con.execute(query).fetchall() == ref_con.execute(query).fetchall()


def test_every_sheet_of_a_workbook_is_read_and_a_notes_sheet_reported(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic: a workbook (under a .csv name) with records in two sheets and a notes sheet.
    Only the first sheet was read: the second sheet's records were dropped without a word and
    the file recorded as ingested whole. Each sheet is now its own part: the first keeps the
    file's name, a later one is ``file!sheet``; the notes sheet is a skipped part, as a
    README member of a ZIP is."""
    data = _workbook(
        ("Parte 1", _glp_records(30, "24/03/2025")),
        ("Parte 2", _glp_records(20, "25/03/2025")),
        ("Notas", [["Fonte: ANP"], ["Valores em R$"]]),
    )
    reports = lake.ingest_path(write("sheets.csv", data))
    assert [r.name for r in reports] == ["sheets.csv", "sheets.csv!Parte 2", "sheets.csv!Notas"]
    assert [(r.rows, r.written, r.refused) for r in reports] == [
        (30, 30, False),
        (20, 20, False),
        (0, 0, True),
    ]
    assert reports[2].skipped and "header is not ANP's 16 station columns" in reports[2].skipped
    assert not reports[2].unreadable  # a sheet that is not station data refuses no file
    assert ingested_names(lake) == ["sheets.csv"]
    with lake.reader() as con:
        assert con.execute("SELECT count(*) FROM stations").fetchone() == (50,)


def test_a_workbook_whose_first_sheet_is_empty_is_read_from_the_sheet_with_rows(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic: an empty first sheet before the records' sheet. The empty sheet was read as
    the file, which was refused as "the first line is blank"; an empty sheet holds nothing
    to read or lose, so it is passed over and the sheet with rows is the file."""
    data = _workbook(("Vazia", []), ("Dados", _glp_records(12)))
    (report,) = lake.ingest_path(write("empty-first.csv", data))
    assert not report.refused, report.skipped
    assert (report.name, report.rows, report.written) == ("empty-first.csv", 12, 12)


def test_a_header_with_accents_is_anps(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic: ANP's header with its names' accents (Região, Município, Número), as a
    spreadsheet resave or ANP's own data dictionary spells them. A header differing in case
    only was accepted, one differing in accents refused the whole file."""
    lines = real_lines("glp", 10)
    lines[0] = (
        lines[0]
        .replace("Regiao", "Região")
        .replace("Municipio", "Município")
        .replace("Numero", "Número")
    )
    (report,) = lake.ingest_path(write("accents.csv", BOM + "\r\n".join(lines).encode()))
    assert not report.refused, report.skipped
    assert (report.rows, report.written) == (10, 10)


def test_a_header_with_anps_columns_in_another_order_says_so(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic: ANP's first two columns swapped, in the header and in every record. The
    file is refused (the readers take ANP's columns by position), and the error says the
    columns are ANP's in another order rather than only that column 1 is not 'Regiao'."""
    swapped = [
        ";".join([c[1], c[0], *c[2:]]) for c in (ln.split(";") for ln in real_lines("glp", 5))
    ]
    (report,) = lake.ingest_path(write("swapped.csv", "\n".join(swapped).encode()))
    assert report.refused and report.skipped
    assert report.skipped.endswith(
        "(ANP's 16 columns in another order: column 1 is 'Estado - Sigla', not 'Regiao - Sigla')"
    )


def test_a_header_line_repeated_mid_file_is_rejected_as_such(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """Synthetic: the real GLP header again at file line 12 (two files concatenated, say).
    It was one rejected row, but the reason, "CNPJ is not 14 digits: 'CNPJ da Revenda'",
    sent a reader to look for a bad CNPJ; it now says what the line is."""
    lines = real_lines("glp", 20)
    lines.insert(11, lines[0].upper())  # file line 12
    (report,) = lake.ingest_path(write("twice.csv", BOM + "\r\n".join(lines).encode()))
    assert (report.rows, report.written, report.rejected) == (21, 20, 1)
    assert [str(b) for b in report.bad] == ["twice.csv:12: the header line again, not a record"]
