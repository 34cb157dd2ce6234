"""The stream reader's row templates read every row as its general path does, and as openpyxl.

``_xlsx_stream`` learns the shape of a row its general path read (column, style, type, empty or
not, per cell) and matches later rows of that shape with one regular expression. Generated
sheets mix shapes, empty and skipped cells, skipped row numbers, empty rows and kinds a template
leaves to the general path (booleans, inline strings, elapsed times); the rows read with
templates must equal the rows read without them, and openpyxl's.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from tests.unit.sources.test_anp_readers import _openpyxl_rows, _sheet_rows

from fuelpipe.adapters.sources import _xlsx_stream

STRINGS = ["GASOLINA COMUM", "R$/l", "-", "ÓLEO DIESEL & S10", " SÃO PAULO ", ""]
KINDS = ("s", "n", "n-no-style", "date", "empty", "skip", "bool", "inline", "elapsed")
TEMPLATED = ("s", "n", "n-no-style", "date", "empty", "skip")


def _base() -> tuple[bytes, int, int]:
    """An openpyxl workbook with a date and an elapsed-time style: (bytes, their indices)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = datetime(2022, 1, 2)
    sheet["A1"].number_format = "dd/mm/yyyy"
    sheet["A2"] = 1.5
    sheet["A2"].number_format = "[h]:mm:ss"
    sheet["A3"] = "text"
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        dates, elapsed = _xlsx_stream._date_styles(archive)
    return data, min(dates), min(elapsed)


BASE, DATE_STYLE, ELAPSED_STYLE = _base()


def _column(index: int) -> str:
    return chr(ord("A") + index)


def _cell(kind: str, column: int, row: int, draw: st.DrawFn) -> str:  # noqa: PLR0911 - one per kind
    ref = f'r="{_column(column)}{row}"'
    if kind == "s":
        return f'<c {ref} s="0" t="s"><v>{draw(st.integers(0, len(STRINGS) - 1))}</v></c>'
    if kind in ("n", "n-no-style"):
        number = draw(
            st.one_of(
                st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
                st.integers(-(10**6), 10**6).map(str),
                st.sampled_from(["5.2999999999999999E-2", "4.399", "0", "1E+3"]),
            )
        )
        style = ' s="0"' if kind == "n" else ""
        return f"<c {ref}{style}><v>{number}</v></c>"
    if kind == "date":
        serial = draw(st.one_of(st.integers(61, 80_000), st.floats(61, 80_000)))
        return f'<c {ref} s="{DATE_STYLE}"><v>{serial}</v></c>'
    if kind == "empty":
        return f'<c {ref} s="0"/>'
    if kind == "bool":
        return f'<c {ref} t="b"><v>{draw(st.integers(0, 1))}</v></c>'
    if kind == "inline":
        text = escape(draw(st.sampled_from(STRINGS)))
        return f'<c {ref} t="inlineStr"><is><t>{text}</t></is></c>'
    if kind == "elapsed":
        return f'<c {ref} s="{ELAPSED_STYLE}"><v>1.25</v></c>'
    raise AssertionError(kind)


@st.composite
def sheets(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS) -> bytes:
    """The ``<sheetData>`` of a sheet whose rows take one of a few shapes."""
    width = draw(st.integers(1, 8))
    shapes = draw(
        st.lists(st.lists(st.sampled_from(kinds), min_size=width, max_size=width), min_size=1,
                 max_size=3)
    )  # fmt: skip
    rows, number = [], 0
    for _ in range(draw(st.integers(1, 25))):
        number += draw(st.sampled_from([1, 1, 1, 2, 3]))
        attrs = draw(st.sampled_from(["", f' spans="1:{width}"', ' ht="15" customHeight="1"']))
        if draw(st.integers(0, 9)) == 0:
            rows.append(f'<row r="{number}"{attrs}/>')
            continue
        shape = draw(st.sampled_from(shapes))
        cells = [_cell(k, i, number, draw) for i, k in enumerate(shape) if k != "skip"]
        rows.append(f'<row r="{number}"{attrs}>{"".join(cells)}</row>')
    between = draw(st.sampled_from(["", "", "\n", "\n  "]))  # pretty-printed or not
    return f"<sheetData>{between.join(rows)}</sheetData>".encode()


def _cells(templates: bool) -> _xlsx_stream._Cells:
    cells = _xlsx_stream._Cells(
        STRINGS,
        (frozenset({DATE_STYLE}), frozenset({ELAPSED_STYLE})),
        _xlsx_stream.WINDOWS_1900,
    )
    if not templates:  # every shape already seen and untemplatable: the general path only
        cells.learn = lambda *_args: None  # type: ignore[method-assign]
    return cells


def _read(xml: bytes, cells: _xlsx_stream._Cells) -> tuple[list[object], str | None]:
    """(rows read, the UnsupportedSheet that stopped the reader or None)."""
    out: list[object] = []
    body = xml.removeprefix(b"<sheetData>").removesuffix(b"</sheetData>")
    try:
        for row in _xlsx_stream._rows_in(body, cells, [0]):
            out.append(row)
    except _xlsx_stream.UnsupportedSheet as exc:
        return out, str(exc)
    return out, None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets())
def test_templates_read_what_the_general_path_reads(xml: bytes) -> None:
    assert _read(xml, _cells(templates=True)) == _read(xml, _cells(templates=False))


@settings(max_examples=100, deadline=None)
@given(sheets(TEMPLATED))
def test_rows_of_a_templatable_shape_are_read_by_its_template(xml: bytes) -> None:
    cells = _cells(templates=True)
    rows, failure = _read(xml, cells)
    assert failure is None
    assert rows == _read(xml, _cells(templates=False))[0]
    full_rows = xml.count(b"</row>")
    assert bool(cells.templates) == (full_rows > 0)


def _workbook(sheet_data: bytes) -> bytes:
    """BASE with ``sheet_data`` as its sheet's rows and STRINGS as its shared strings."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    shared = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in STRINGS)
    parts = {
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}">'.encode()
        + sheet_data
        + b"</worksheet>",
        "xl/sharedStrings.xml": f'<sst xmlns="{main}">{shared}</sst>'.encode(),
    }
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(BASE)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for name in zin.namelist():
            data = parts.pop(name, None) or zin.read(name)
            if name == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://'
                    b"schemas.openxmlformats.org/officeDocument/2006/relationships/"
                    b'sharedStrings"/></Relationships>',
                )
            elif name == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
                    b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            zout.writestr(name, data)
        for name, data in parts.items():
            zout.writestr(name, data)
    return out.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(TEMPLATED))
def test_templated_rows_are_openpyxls_rows(xml: bytes) -> None:
    content = _workbook(xml)
    assert _sheet_rows(content) == _openpyxl_rows(content)


def test_a_row_out_of_order_after_a_template_stops_the_reader() -> None:
    row = '<row r="{0}"><c r="A{0}" s="0" t="s"><v>1</v></c><c r="B{0}"><v>2.5</v></c></row>'
    body = "".join(row.format(n) for n in (1, 2, 3, 2)).encode()
    cells = _cells(templates=True)
    with pytest.raises(_xlsx_stream.RowsOutOfOrder, match="sheet row 2 comes after row 3"):
        list(_xlsx_stream._rows_in(body, cells, [0]))
    assert cells.templates
