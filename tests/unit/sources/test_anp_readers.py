"""ANP workbooks read by the stream reader and by openpyxl's read-only mode give the same rows.

The scraper reads a workbook's sheet with ``_xlsx_stream`` (inflated and parsed a chunk at a
time); what that reader does not recognise is read by openpyxl from the row it stopped at. Both
must give identical observations, missing rows and problems, row numbers included, on every
bundled workbook, and on workbooks rewritten in the forms other writers use (attributes in
another order, inline strings, a line break inside a cell tag, a namespace prefix, a wrong
``<dimension>``). A sheet with rows out of order is an InvalidPayload naming the row either way:
openpyxl's read-only reader skips such a row without a word.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from fuelpipe.adapters.sources import _xlsx_stream
from fuelpipe.adapters.sources.anp import stream_workbook
from fuelpipe.domain.models import Observation
from fuelpipe.ports.source import InvalidPayload
from fuelpipe.replay import ooxml

WEEKLY_BR = "anp:weekly:brasil"
CASES = [
    ("payload", "anp_semanal-brasil_malformed-rows-synthetic.xlsx", WEEKLY_BR),
    ("payload", "anp_mensal-estados-desde-jan2013_cut.xlsx", "anp:monthly:estados"),
    ("payload", "anp_semanal-estados_layout-inferred_values-from-strongylis.xlsx",
     "anp:weekly:estados"),
    ("real", "anp/maikereis__semanal-brasil-desde-2013.xlsx", WEEKLY_BR),
    ("real", "anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx", "anp:weekly:regioes"),
    ("real", "anp/eduardoicosta__mensal-estados-desde-jan2013.xlsx", "anp:monthly:estados"),
]  # fmt: skip


def _read(
    content: bytes, unit: str, reader: str
) -> tuple[list[object], dict[object, str], list[str]]:
    missing: dict[object, str] = {}
    problems: list[str] = []
    stream = stream_workbook(
        content, unit, "w.xlsx", missing=missing, problems=problems, reader=reader
    )
    return list(stream), dict(missing), problems  # type: ignore[arg-type]


def _content(kind: str, name: str, payload, real_data) -> bytes:  # type: ignore[no-untyped-def]
    return payload(name) if kind == "payload" else real_data(name).read_bytes()


@pytest.mark.parametrize(("kind", "name", "unit"), CASES)
def test_the_stream_reader_and_openpyxl_read_the_same(
    kind: str,
    name: str,
    unit: str,
    payload: Callable[[str], bytes],
    real_data: Callable[[str], Path],
) -> None:
    content = _content(kind, name, payload, real_data)
    streamed = _read(content, unit, "stream")
    by_openpyxl = _read(content, unit, "openpyxl")
    assert streamed[0], "no observations read"
    assert streamed == by_openpyxl


def _sheet_rows(
    content: bytes, chunk_bytes: int = _xlsx_stream.CHUNK_BYTES
) -> list[tuple[object, ...]]:
    """The stream reader's raw rows, trailing empty cells and rows dropped (openpyxl pads)."""
    archive, rows = _xlsx_stream.open_rows(io.BytesIO(content), chunk_bytes)
    try:
        return _trimmed(rows)
    finally:
        archive.close()


def _openpyxl_rows(content: bytes) -> list[tuple[object, ...]]:
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        book.worksheets[0].reset_dimensions()  # as the scraper reads: the tag is not trusted
        return _trimmed(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def _trimmed(rows) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    out = []
    for row in rows:
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        out.append(tuple(cells))
    while out and not out[-1]:
        out.pop()
    return out


def _rewritten(content: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        part = ooxml.sheet_part(archive.namelist())
        xml = archive.read(part)
    return ooxml.replace_parts(content, {part: edit(xml)})


def _workbook_written_by_openpyxl() -> bytes:
    """Another writer's forms: strings, a date, ints, floats, a bool, a formula, blank cells."""
    from datetime import datetime

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["DATA INICIAL", "PRODUTO", "PREÇO MÉDIO REVENDA", "OK", "FORMULA"])
    sheet.append([datetime(2022, 1, 2), "GASOLINA COMUM", 6.634, True, "=1+2"])
    sheet.append([datetime(2022, 1, 9), "ÓLEO DIESEL & S10", 5, None, None])
    sheet["C5"] = "-"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda xml: xml, id="as written"),
        # attributes in another order: the row is read by the reader's general path
        pytest.param(lambda xml: re.sub(rb'<c (r="\w+")( s="\d+")?( t="\w+")?', rb"<c\3\2 \1", xml),
                     id="attributes reordered"),
        # a line break, not a space, after "<c" (valid XML): such a cell was neither read nor
        # counted as a cell the row's regular expression missed, so its value was dropped
        pytest.param(lambda xml: re.sub(rb'<c (r="B)', rb"<c\n\1", xml), id="line break in <c"),
    ],
)  # fmt: skip
def test_the_stream_reader_gives_openpyxls_values(edit: Callable[[bytes], bytes]) -> None:
    content = _rewritten(_workbook_written_by_openpyxl(), edit)
    assert _sheet_rows(content) == _openpyxl_rows(content)


def test_inline_strings_are_read(payload: Callable[[str], bytes]) -> None:
    content = _rewritten(
        payload("anp_semanal-brasil-desde-2013_cut.xlsx"),
        lambda xml: re.sub(
            rb'<c r="A1"[^>]*>.*?</c>',
            b'<c r="A1" t="inlineStr"><is><r><t>S\xc3\xa9rie &amp; </t></r><r><t>hist</t></r>'
            b"</is></c>",
            xml,
            count=1,
        ),
    )
    rows = _sheet_rows(content)
    assert rows[0][0] == "Série & hist"
    assert rows == _openpyxl_rows(content)


def test_a_row_it_does_not_recognise_is_read_on_by_openpyxl(
    payload: Callable[[str], bytes],
) -> None:
    """A date serial before 1900-03-01 (synthetic: the last row's DATA INICIAL set to 0) stops
    the stream reader; openpyxl reads on from that row."""
    original = payload("anp_semanal-brasil-desde-2013_cut.xlsx")
    content = _rewritten(
        original, lambda xml: re.sub(rb'(<c r="A52"[^>]*><v>)[^<]*', rb"\g<1>0", xml, count=1)
    )
    with pytest.raises(_xlsx_stream.UnsupportedSheet, match="date serial"):
        _sheet_rows(content)
    streamed = _read(content, WEEKLY_BR, "stream")
    assert streamed[0]
    assert streamed == _read(content, WEEKLY_BR, "openpyxl")


BRAZIL = "anp/maikereis__semanal-brasil-desde-2013.xlsx"


def _rows_edited(edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[bytes], bytes]:
    """A sheet edit that rewrites the list of its rows' XML."""

    def rewrite(xml: bytes) -> bytes:
        part = ooxml.SheetData.split(xml)
        return part.xml[: part.start] + b"".join(edit(list(part.rows))) + part.xml[part.end :]

    return rewrite


def _date_zero(number: int) -> Callable[[bytes], bytes]:
    """Sheet row ``number``'s DATA FINAL set to serial 0: a date the stream reader leaves to
    openpyxl, so it hands the sheet over at that row."""
    return lambda xml: re.sub(rb'(<c r="B%d"[^>]*><v>)[^<]*' % number, rb"\g<1>0", xml, count=1)


def _dimension_a1(xml: bytes) -> bytes:
    return re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', xml, count=1)


@pytest.mark.parametrize("reader", ["stream", "openpyxl"])
def test_a_wrong_dimension_cuts_no_row(reader: str, real_data: Callable[[str], Path]) -> None:
    """Synthetic, from the real weekly Brazil workbook: ``<dimension ref="A1"/>`` (as a writer
    that does not track the sheet's size leaves it), and sheet row 3000's DATA FINAL at serial
    0, which hands the stream reader over to openpyxl there. openpyxl's read-only reader stopped
    at the dimension's last row, so every row from 3000 on was lost (the fetch of 2023 got no
    observation and no note). Every row is read now, the same by both readers."""
    original = real_data(BRAZIL).read_bytes()
    content = _rewritten(original, lambda xml: _date_zero(3000)(_dimension_a1(xml)))
    want = _read(original, WEEKLY_BR, "stream")[0]
    got = _read(content, WEEKLY_BR, reader)[0]
    assert len(got) == len(want) > 3000
    assert got[-1000:] == want[-1000:]
    assert got == _read(content, WEEKLY_BR, "stream" if reader == "openpyxl" else "openpyxl")[0]


def _swap_2001_and_2002(rows: list[bytes]) -> list[bytes]:
    assert [ooxml.row_number(r) for r in rows[2000:2002]] == [2001, 2002]
    return [*rows[:2000], rows[2001], rows[2000], *rows[2002:]]


@pytest.mark.parametrize(
    ("reader", "first"),
    [
        pytest.param("stream", lambda xml: xml, id="stream"),
        pytest.param("stream", _date_zero(1000), id="stream, handed to openpyxl before"),
        pytest.param("openpyxl", lambda xml: xml, id="openpyxl"),
    ],
)
def test_rows_out_of_order_are_an_invalid_payload_naming_the_row(
    reader: str, first: Callable[[bytes], bytes], real_data: Callable[[str], Path]
) -> None:
    """Synthetic, from the real weekly Brazil workbook: sheet row 2002 written before 2001.
    The stream reader handed the sheet to openpyxl there, whose read-only reader skips a row
    numbered below one it gave: row 2001 (LPG, 2019-05-05) was lost, both readers agreed, and
    the fetch recorded that ANP published no price for it. A reader that follows document
    order instead would number every later row wrong (rows are numbered by position) and
    could not hand over to openpyxl by count, so the workbook is refused, naming the row."""
    content = _rewritten(
        real_data(BRAZIL).read_bytes(), lambda xml: _rows_edited(_swap_2001_and_2002)(first(xml))
    )
    with pytest.raises(InvalidPayload, match=r"w\.xlsx.*sheet row 2001 comes after row 2002"):
        _read(content, WEEKLY_BR, reader)


def _prefixed(xml: bytes) -> bytes:
    """The worksheet's elements written with an ``x:`` namespace prefix (as the Open XML SDK
    can write them)."""
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = xml.replace(b'xmlns="' + main + b'"', b'xmlns:x="' + main + b'"', 1)
    return re.sub(rb"<(/?)([A-Za-z]\w*)(?=[\s/>])", rb"<\1x:\2", xml)


def test_a_worksheet_with_a_namespace_prefix_is_read_by_openpyxl(
    payload: Callable[[str], bytes],
) -> None:
    """Synthetic: the cut weekly workbook's sheet with prefixed elements (``<x:row>``). The
    stream reader looks for ``</row>``, found none, and called the sheet truncated: an
    InvalidPayload for the whole unit. It now hands such a sheet to openpyxl."""
    original = payload("anp_semanal-brasil-desde-2013_cut.xlsx")
    content = _rewritten(original, _prefixed)
    with pytest.raises(_xlsx_stream.UnsupportedSheet, match="namespace prefix"):
        _sheet_rows(content)
    streamed = _read(content, WEEKLY_BR, "stream")
    assert streamed[0]
    assert streamed == _read(content, WEEKLY_BR, "openpyxl") == _read(original, WEEKLY_BR, "stream")


@pytest.mark.parametrize("reader", ["stream", "openpyxl"])
def test_corrupt_zip_is_one_invalid_payload_either_way(reader: str) -> None:
    with pytest.raises(InvalidPayload, match=r"w\.xlsx: the workbook is cut short: 68 bytes"):
        _read(b"PK\x03\x04" + b"\x00" * 64, WEEKLY_BR, reader)
    with pytest.raises(InvalidPayload, match=r"w\.xlsx: not a readable workbook"):
        _read(b"PK\x03\x04" + b"\x00" * 64 + b"PK\x05\x06" + b"\x00" * 18, WEEKLY_BR, reader)


def test_a_truncated_worksheet_is_an_invalid_payload(payload: Callable[[str], bytes]) -> None:
    content = _rewritten(
        payload("anp_semanal-brasil-desde-2013_cut.xlsx"), lambda xml: xml[: len(xml) // 2]
    )
    with pytest.raises(InvalidPayload):
        _read(content, WEEKLY_BR, "stream")


def test_a_worksheet_with_no_row_end_is_an_invalid_payload_not_a_hang(
    payload: Callable[[str], bytes],
) -> None:
    """A row 9 MiB long (synthetic: blanks inside the first row; a few hundred KB deflated)
    was held and searched whole for every chunk until its end: quadratic time and memory
    growing with the sheet (a 256 MiB one took 29 s and 531 MiB). It now stops at
    MAX_ROW_BYTES, as a bad workbook that names its file (not handed to openpyxl, which would
    hold it whole too)."""
    content = _rewritten(
        payload("anp_semanal-brasil-desde-2013_cut.xlsx"),
        lambda xml: xml.replace(b"</row>", b" " * (9 << 20) + b"</row>", 1),
    )
    with pytest.raises(
        InvalidPayload, match=r"w\.xlsx row 1: unreadable worksheet \(ValueError: .* no row end"
    ):
        _read(content, WEEKLY_BR, "stream")


def test_a_row_end_cut_across_chunks_is_found() -> None:
    """Only each new chunk is searched for ``</row>``, with the bytes of one cut at its start:
    chunks shorter than the tag give the same rows."""
    content = _workbook_written_by_openpyxl()
    assert _sheet_rows(content, chunk_bytes=5) == _openpyxl_rows(content)


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/styles.xml"])
def test_an_oversized_small_part_is_an_invalid_payload(
    part: str, real_data: Callable[[str], Path]
) -> None:
    """The shared strings and styles were read whole into memory, however large they inflate
    (a real ANP workbook's are under 4 KB; synthetic: 17 MiB of blanks after the part's XML)."""
    content = real_data("anp/maikereis__semanal-brasil-desde-2013.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read(part)
    content = ooxml.replace_parts(content, {part: xml + b" " * (17 << 20)})
    with pytest.raises(
        InvalidPayload,
        match=rf"w\.xlsx: not a readable workbook \(ValueError: the workbook part "
        rf"{re.escape(part)} unpacks to \d+ bytes",
    ):
        _read(content, WEEKLY_BR, "stream")


@pytest.mark.parametrize("reader", ["stream", "openpyxl"])
def test_a_key_dates_rows_read_before_a_break_are_still_given(
    reader: str, payload: Callable[[str], bytes]
) -> None:
    """The stream gives a key-date once its rows end; a sheet cut off just after MG's three
    2014-08 GNV rows (rows 108-110 of the cut) still gives MG, settled."""

    def cut_in_row_111(xml: bytes) -> bytes:
        part = ooxml.SheetData.split(xml)
        return part.xml[: part.start] + b"".join(part.rows[:110]) + part.rows[110][:30]

    content = _rewritten(payload("anp_mensal-estados-desde-jan2013_cut.xlsx"), cut_in_row_111)
    got: list[Observation] = []
    stream = stream_workbook(content, "anp:monthly:estados", "w.xlsx", missing={}, problems=[],
                             reader=reader)  # fmt: skip
    with pytest.raises(InvalidPayload, match=r"w\.xlsx row 111: unreadable worksheet"):
        got.extend(stream)
    last = got[-1]
    assert (last.key, last.date.isoformat(), str(last.value)) == (
        "FUEL_MONTHLY#CNG#MG",
        "2014-08-01",
        "1.944",
    )
    assert last.attrs["other_rows"] == (
        "2.08@4 std=0.119 min=1.999 max=2.16 cv=0.057 unit=BRL/m3;"
        "2.099@1 std=0.119 min=2.099 max=2.099 cv=0.057 unit=BRL/m3"
    )


@pytest.mark.parametrize("serial", [61, 61.5, 41275, 41275.999999, 44197.25, 73050.0001])
@pytest.mark.parametrize("epoch", ["1900", "1904"])
def test_date_serials_convert_as_openpyxl_does(serial: float, epoch: str) -> None:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    theirs = CALENDAR_WINDOWS_1900 if epoch == "1900" else CALENDAR_MAC_1904
    mine = _xlsx_stream.WINDOWS_1900 if epoch == "1900" else _xlsx_stream.MAC_1904
    assert _xlsx_stream.from_excel(serial, mine) == from_excel(serial, theirs)


def test_early_1900_serials_are_left_to_openpyxl() -> None:
    with pytest.raises(_xlsx_stream.UnsupportedSheet):
        _xlsx_stream.from_excel(59, _xlsx_stream.WINDOWS_1900)


def test_date_formats_are_recognised_as_openpyxl_does() -> None:
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    codes = [
        *BUILTIN_FORMATS.values(),
        "dd/mm/yyyy",
        "[$-416]mmm-yy;@",
        '"Semana "0',
        "0.000",
        '#,##0.00 "R$"',
        "[Red]0.00",
        "yyyy-mm-dd hh:mm",
        r"\d0",
    ]
    for code in codes:
        assert _xlsx_stream.is_date_format(code) == is_date_format(code), code
    builtin_dates = {i for i, code in BUILTIN_FORMATS.items() if is_date_format(code)}
    elapsed = {_xlsx_stream.BUILTIN_ELAPSED_FORMAT}
    assert builtin_dates == _xlsx_stream.BUILTIN_DATE_FORMATS | elapsed
