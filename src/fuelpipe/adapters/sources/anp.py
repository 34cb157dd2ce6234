"""ANP fuel price survey workbooks (SHLP): weekly Brazil, regions and states; monthly states."""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote

from fuelpipe.adapters.sources._http import HttpSource, looks_like_html, snippet
from fuelpipe.domain.catalog import (
    ANP_MONTHLY_STATES_UNIT,
    ANP_WEEKLY_UNITS,
    FUEL_PRODUCTS,
    REGIONS,
    STATES,
)
from fuelpipe.domain.keys import fuel_key
from fuelpipe.domain.models import AttrValue, Observation
from fuelpipe.ports.source import FetchRequest, FetchResult, InvalidPayload

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = (
    "https://www.gov.br/anp/pt-br/assuntos/precos-e-defesa-da-concorrencia/precos/"
    "precos-revenda-e-de-distribuicao-combustiveis/shlp"
)
FETCH_UNIT_PATHS: Mapping[str, str] = MappingProxyType(
    {  # fetch unit -> path under the base URL; one download serves every key of the unit
        ANP_WEEKLY_UNITS["BR"]: "/semanal/semanal-brasil-desde-2013.xlsx",
        ANP_WEEKLY_UNITS["REGION"]: "/semanal/semanal-regioes-desde-2013.xlsx",
        ANP_WEEKLY_UNITS["STATE"]: "/semanal/semanal-estados-desde-2013.xlsx",
        ANP_MONTHLY_STATES_UNIT: "/mensal/mensal-estados-desde-jan2013.xlsx",
    }
)
ZIP_MAGIC = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"
_ZIP_END_REACH = 22 + 0xFFFF
"""How far from its end a zip's end record can start: its 22 bytes and a comment of up to 64 KiB."""
# Prices carry at most 4 decimals; the float stored by Excel is rounded back to them.
DECIMALS = 4
_HEADER_SCAN_ROWS = 100
_MISSING_CELLS = ("", "-")
READERS = ("stream", "openpyxl")
"""How a workbook's sheet is read: ``stream`` (``_xlsx_stream``: inflated and parsed a chunk at
a time, ~5x openpyxl and faster than python-calamine, in bounded memory; what it does not
recognise goes to openpyxl from the row it stopped at) or ``openpyxl`` (read-only mode). Either
way a sheet with a row numbered at or below one before it is an InvalidPayload naming that row:
openpyxl's read-only reader would skip it without a word, and the handover to it counts rows."""
_MEMO_ENTRIES = 4096
"""Distinct cells remembered per workbook (labels, dates, numbers: rows repeat them)."""
_NUMBERS_KEPT = 1 << 15
"""Distinct float cells whose Decimals are remembered (~5 MB; prices repeat, not closely)."""
_MAX_PROBLEMS = 50  # one bad column can spoil every row; the first ones tell the story
OTHER_ROWS = "other_rows"
"""The attribute of a key-date ANP gives several rows (the real monthly file: GNV, 2014-08,
CNG ES 14 stations at 1.863, then 42 at 1.799): the row covering the most stations (on a tie,
the later) is the value; every figure of the others, in the workbook's order, is this one exact
text, so no published value is dropped (attributes are flat: text, Decimal, int or null).
Rows are joined by ``;``. A row is ``<price>@<stations>`` (``-`` for no station count), then
`` <name>=<value>`` for each of its other figures ANP published, named and ordered as the
record's own attributes (_DECIMAL_ATTRS, then ``unit``; a '-' or blank cell is left out):
``1.863@14 std=0.091 min=1.84 max=2.38 cv=0.049 unit=BRL/m3``. A number is its exact decimal
text; the unit is percent-encoded (``urllib.parse.quote``, ``/`` and ``$`` kept), so no value
holds a space, ``;`` or ``=``. :func:`read_other_rows` reads it back."""


def _norm(text: str) -> str:
    """Upper-case, accents removed, hyphens and runs of spaces as one space."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", " ", plain).strip().upper()


def _label(text: str) -> str:
    """A product, region or state name as it is matched: :func:`_norm` without the spaces, so
    spellings differing only in hyphens, spaces or accents are one ("ÓLEO DIESEL S-10", ANP's
    spelling in its sales data, and "OLEO DIESEL S10", the survey workbooks'; "CENTRO-OESTE"
    and "CENTRO OESTE"). No two names of the catalog are one label then (test_anp checks)."""
    return _norm(text).replace(" ", "")


_PRODUCT_BY_LABEL = {_label(label): product for product, (label, _) in FUEL_PRODUCTS.items()}
_REGION_BY_NAME = {_label(name): code for code, name in REGIONS.items()}
_UF_BY_NAME = {_label(name): uf for uf, (name, _) in STATES.items()}
_UNITS = {"r$/l": "BRL/l", "r$/13kg": "BRL/13kg", "r$/m3": "BRL/m3", "r$/m³": "BRL/m3"}

# Column role -> header text (after _norm): columns are found by name, never by position.
_COLUMNS = {
    "week": "DATA INICIAL",
    "week_end": "DATA FINAL",  # checked, not stored: DATA INICIAL + 6 days (_RowReader.end)
    "month": "MES",
    "product": "PRODUTO",
    "region": "REGIAO",
    "state": "ESTADO",
    "stations": "NUMERO DE POSTOS PESQUISADOS",
    "unit": "UNIDADE DE MEDIDA",
    "price": "PRECO MEDIO REVENDA",
    "std": "DESVIO PADRAO REVENDA",
    "min": "PRECO MINIMO REVENDA",
    "max": "PRECO MAXIMO REVENDA",
    "margin": "MARGEM MEDIA REVENDA",
    "cv": "COEF DE VARIACAO REVENDA",
    "dist_price": "PRECO MEDIO DISTRIBUICAO",
    "dist_std": "DESVIO PADRAO DISTRIBUICAO",
    "dist_min": "PRECO MINIMO DISTRIBUICAO",
    "dist_max": "PRECO MAXIMO DISTRIBUICAO",
    "dist_cv": "COEF DE VARIACAO DISTRIBUICAO",
}
_REQUIRED = {
    ANP_WEEKLY_UNITS["BR"]: ("week", "product", "price"),
    ANP_WEEKLY_UNITS["REGION"]: ("week", "product", "region", "price"),
    ANP_WEEKLY_UNITS["STATE"]: ("week", "product", "state", "price"),
    ANP_MONTHLY_STATES_UNIT: ("month", "product", "state", "price"),
}
_DECIMAL_ATTRS = (
    *("std", "min", "max", "margin", "cv"),  # the resale survey (REVENDA)
    *("dist_price", "dist_std", "dist_min", "dist_max", "dist_cv"),  # distributors' prices
)
"""Every published figure but the price and station count: an attribute each, named after its
column (_COLUMNS), an exact Decimal, None for a '-' or blank cell or a column the workbook
lacks (every one is optional: older and newer layouts drop some, as the 2020 survey change
emptied margin and the distribution columns)."""
_ATTR_ROLES = (*_DECIMAL_ATTRS, "stations", "unit")


_WEEK_END = timedelta(days=6)
"""DATA FINAL - DATA INICIAL in a weekly workbook's row: Sunday to Saturday."""
_AS_WEEK = "the row is read as the week of "
_UNSET = object()


class _Bad(ValueError):
    """A cell that cannot be read; the row is skipped and noted."""


@dataclass(slots=True)
class ParsedWorkbook:
    """Every observation of a workbook, the rows published without a price, and row problems."""

    observations: list[Observation] = field(default_factory=list)
    missing: dict[tuple[str, date], str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Unsure:
    """The key-dates unreadable rows may have held, so that none is taken for ANP's "no row".

    A row whose product, area or date cannot be read may be the very row a key lacks (a product
    ANP renames makes every row of it one): those key-dates stay a retry, with the row named.
    """

    keys: dict[str, str] = field(default_factory=dict)
    """Key -> the first row of that key whose date cannot be read (any date may be its)."""
    days: dict[date, str] = field(default_factory=dict)
    """Date -> the first row of that date whose product or area is unknown (any key's)."""
    anywhere: str | None = None
    """The first row with neither key nor date readable (any key's, any date's)."""

    def add(self, key: str | None, day: date | None, problem: str) -> None:
        """Remember a row read as far as ``key`` and ``day`` (None: unreadable)."""
        if key is not None:
            self.keys.setdefault(key, problem)
        elif day is not None:
            self.days.setdefault(day, problem)
        elif self.anywhere is None:
            self.anywhere = problem

    def why(self, key: str, day: date) -> str | None:
        """The unreadable row that may hold ``key`` on ``day``, or None if there is none."""
        return self.keys.get(key) or self.days.get(day) or self.anywhere


def _decimal(value: object) -> Decimal | None:
    """A numeric cell as a Decimal; None for '-' and blanks; _Bad for anything else."""
    if type(value) is float:  # the common cell: remembered (prices and counts repeat)
        return _float_decimal(value)
    return _other_decimal(value)


def _float_decimal(value: float) -> Decimal:
    """:func:`_rounded_decimal` of a float cell, remembered (prices and figures repeat)."""
    found = _FLOATS.get(value)
    if found is None:
        found = _rounded_decimal(value)
        if len(_FLOATS) >= _NUMBERS_KEPT:
            _FLOATS.clear()  # forgotten at once: a dict costs less a cell than an LRU cache
        _FLOATS[value] = found
    return found


_FLOATS: dict[float, Decimal] = {}
"""Float cells' Decimals by cell value (0.0 and -0.0 are one key, whichever came first)."""


def _rounded_decimal(value: float) -> Decimal:
    """A float cell as the Decimal ANP published, at most DECIMALS places."""
    # repr of the rounded float is the shortest text that reads back as it: 2.758, not
    # 2.75799999999999978...; ANP publishes at most DECIMALS places.
    text = repr(value)
    point = text.find(".")
    if point > 0 and len(text) - point <= DECIMALS + 1 and "e" not in text:
        # already at most DECIMALS places (the common cell): rounding gives the same float
        return Decimal(text)
    if not math.isfinite(value):
        raise _Bad(f"{value!r} is not a number")
    return Decimal(repr(round(value, DECIMALS)))


def _decimals(values: Sequence[object]) -> list[Decimal | None]:
    """:func:`_decimal` of each value, in one pass; _Bad if any is not a number. ANP's "-"
    (no figure: every distribution cell since 2020) is None without a call."""
    known = _FLOATS.get  # the common cell: one dict look-up (Decimal 0 is looked up twice)
    return [
        (known(v) or _float_decimal(v))
        if type(v) is float
        else None
        if v == "-"
        else _other_decimal(v)
        for v in values
    ]


def _other_decimal(value: object) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip() in _MISSING_CELLS):
        return None
    if isinstance(value, bool):
        raise _Bad(f"{value!r} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return _float_decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            raise _Bad(f"{value!r} is not a number") from None
        if number.is_finite():
            return number
    raise _Bad(f"{value!r} is not a number")


_GROUPED_COUNT = re.compile(r"^\d{1,3}([.,])\d{3}(?:\1\d{3})*$")
"""A whole number written with a thousands separator ("1.260", "1,260"): a count is whole, so
the separator cannot be a decimal point."""


@lru_cache(maxsize=_MEMO_ENTRIES, typed=True)
def _station_count(value: object) -> int | None:
    """NÚMERO DE POSTOS PESQUISADOS as an int (text with a thousands separator read as one);
    None for blanks; _Bad for anything not a whole number (remembered: counts repeat)."""
    text = value.strip() if isinstance(value, str) else ""
    if _GROUPED_COUNT.match(text):
        return int(text.replace(".", "").replace(",", ""))
    try:
        count = _decimal(value)
    except _Bad:
        raise _Bad(f"{value!r} is not a whole number") from None
    if count is None:
        return None
    if count != count.to_integral_value():
        raise _Bad(f"{value!r} is not a whole number")
    return int(count)


@lru_cache(maxsize=_MEMO_ENTRIES, typed=True)
def _unit(value: object) -> str | None:
    """UNIDADE DE MEDIDA as the catalog writes it (R$/l -> BRL/l); other text kept as it is."""
    raw_unit = value.strip() if isinstance(value, str) else None
    return _UNITS.get(raw_unit.replace(" ", "").lower(), raw_unit) if raw_unit else None


def _day(value: object, monthly: bool) -> date:
    """The row's date: DATA INICIAL (a Sunday) or the first day of MÊS."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:  # dd/mm/yyyy (split, not strptime: 0.5 µs, not 3.7)
                d, m, y = (int(part) for part in text.split("/"))
                day = date(y, m, d)
            else:
                day = date.fromisoformat(text[:10])
        except ValueError:
            raise _Bad(f"{value!r} is not a date") from None
    else:
        raise _Bad(f"{value!r} is not a date")
    return day.replace(day=1) if monthly else day


def _find_header(rows: Iterator[Sequence[object]]) -> tuple[int, dict[str, int], list[str]]:
    """(row number, role -> column index, what of it is not read) of the row naming PRODUTO and
    PREÇO MÉDIO REVENDA.

    A column is found by its name; one whose name is not known (a column ANP renamed or added)
    or repeats a name already found would have its figures left out of every record without a
    word: each is said, naming the column, so the rows are still read and the loss is seen."""
    for number, row in enumerate(rows, start=1):
        names = [_norm(cell) if isinstance(cell, str) else "" for cell in row]
        if "PRODUTO" in names and _COLUMNS["price"] in names:
            columns = {role: names.index(text) for role, text in _COLUMNS.items() if text in names}
            return number, columns, _unread(row, names, columns)
        if number >= _HEADER_SCAN_ROWS:
            break
    raise LookupError


def _unread(row: Sequence[object], names: list[str], columns: dict[str, int]) -> list[str]:
    """The header's named columns that are not read, each in words."""
    read = set(columns.values())
    known = set(_COLUMNS.values())
    unread = [(index, name) for index, name in enumerate(names) if name and index not in read]
    if not unread:  # every real workbook: openpyxl (~0.1 s to import) stays unloaded
        return []
    from openpyxl.utils import get_column_letter

    out = []
    for index, name in unread:
        letter = get_column_letter(index + 1)
        if name in known:
            first = get_column_letter(names.index(name) + 1)
            out.append(
                f"column {letter} {row[index]!r} repeats column {first}'s name; "
                f"only column {first} is read"
            )
        else:
            out.append(
                f"column {letter} {row[index]!r} is not one the reader knows; "
                "its figures are not stored"
            )
    return out


class _RowReader:
    """Turns one data row into an observation, given the header's column map."""

    def __init__(self, fetch_unit: str, columns: dict[str, int], filename: str) -> None:
        self.monthly = fetch_unit == ANP_MONTHLY_STATES_UNIT
        self.columns = columns
        self.filename = filename
        self.area_role = {
            ANP_WEEKLY_UNITS["REGION"]: "region",
            ANP_WEEKLY_UNITS["STATE"]: "state",
            ANP_MONTHLY_STATES_UNIT: "state",
        }.get(fetch_unit)
        self.date_role = "month" if self.monthly else "week"
        self.keys: dict[tuple[object, object], str | _Bad] = {}
        """(product cell, area cell) -> key, or why there is none (rows repeat them)."""
        self.days: dict[object, date] = {}
        """Date cell -> date (a week's rows share it)."""
        self.end_at = None if self.monthly else columns.get("week_end")
        """DATA FINAL's column, checked row by row (:meth:`end`); None if there is none."""
        self.ends: dict[object, object] = {}
        """DATA INICIAL cell -> the DATA FINAL cell found right for it."""
        self._head = self._getter(("product", self.area_role, self.date_role, "price"))
        self._attr_cells = self._getter(_ATTR_ROLES)

    def _getter(
        self, roles: Sequence[str | None]
    ) -> tuple[int, Callable[[Sequence[object]], tuple[object, ...]]] | None:
        """(row length needed, what takes the roles' cells from such a row in one C call), or
        None if the header lacks a role (None stands for a role the unit has not: its cell is
        None, the first column is read in its place and dropped)."""
        indices = [0 if role is None else self.columns.get(role) for role in roles]
        if any(index is None for index in indices):
            return None
        return max(i for i in indices if i is not None) + 1, itemgetter(*indices)

    def head(self, row: Sequence[object]) -> tuple[object, object, object, object]:
        """The row's (product, area or None, date, price) cells."""
        fast = self._head
        if fast is not None and len(row) >= fast[0]:
            label, name, day, price = fast[1](row)
            return label, name if self.area_role is not None else None, day, price
        label, name, day, price = self.cells(
            row, ("product", self.area_role or "", self.date_role, "price")
        )
        return label, name, day, price

    def cells(self, row: Sequence[object], roles: Sequence[str]) -> list[object]:
        """Several roles' cells of one row at once (None where the row or header lacks one)."""
        columns, width = self.columns, len(row)
        out: list[object] = []
        for role in roles:
            index = columns.get(role)
            out.append(row[index] if index is not None and index < width else None)
        return out

    def key(self, label: object, name: object) -> str:
        """The series key of a row's product and area cells; one string per product and area
        (rows repeat them)."""
        found = self.keys.get((label, name))  # cell values are str, numbers, dates, None
        if found is None:
            try:
                found = self._key(label, name)
            except _Bad as exc:
                found = exc
            if len(self.keys) < _MEMO_ENTRIES:
                self.keys[(label, name)] = found
        if isinstance(found, _Bad):
            raise _Bad(str(found))  # a fresh one: re-raising one object grows its traceback
        return found

    def day(self, raw: object) -> date:
        """The date of a row's date cell (one object per distinct cell value)."""
        found = self.days.get(raw)
        if found is None:
            found = _day(raw, self.monthly)
            if len(self.days) < _MEMO_ENTRIES:
                self.days[raw] = found
        return found

    def end(
        self, raw_day: object, day: date, raw_end: object, note: Callable[[str], None], number: int
    ) -> None:
        """Note a row whose DATA FINAL is not DATA INICIAL + 6 days (the Saturday closing the
        survey week, in every row of the real workbooks), or is not a date; the row is still
        read as the week of its DATA INICIAL. A right pair is remembered (rows repeat it)."""
        try:
            end = _day(raw_end, monthly=False)
        except _Bad:
            note(f"{self.where(number)}: DATA FINAL {raw_end!r} is not a date; {_AS_WEEK}{day}")
            return
        if end - day != _WEEK_END:
            note(
                f"{self.where(number)}: DATA FINAL {end} is not DATA INICIAL {day} + 6 days; "
                f"{_AS_WEEK}{day}"
            )
        elif len(self.ends) < _MEMO_ENTRIES:
            self.ends[raw_day] = raw_end

    def slot(
        self,
        row: Sequence[object],
        cells: tuple[object, object, object],
        note: Callable[[str], None],
        number: int,
        unsure: Unsure,
    ) -> tuple[str, date] | None:
        """The (key, date) of a row's product, area and date cells; None if there is none,
        noted and added to ``unsure`` as far as it could be read (unless the row is blank)."""
        label, name, raw_day = cells
        key: str | None = None
        day: date | None = None
        errors: list[str] = []
        try:
            key = self.key(label, name)
        except _Bad as exc:
            errors.append(str(exc))
        try:
            day = self.day(raw_day)
        except _Bad as exc:
            errors.append(str(exc))
        if key is not None and day is not None:
            return key, day
        if not all(
            cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row
        ):  # a blank row is no problem
            problem = f"{self.where(number)}: {' and '.join(errors)}"
            note(f"{problem}; row skipped")
            unsure.add(key, day, problem)
        return None

    def _key(self, label: object, name: object) -> str:
        product = _PRODUCT_BY_LABEL.get(_label(label)) if isinstance(label, str) else None
        if product is None:
            raise _Bad(f"unknown product {label!r}")
        area = "BR"
        if self.area_role is not None:
            names = _REGION_BY_NAME if self.area_role == "region" else _UF_BY_NAME
            found = names.get(_label(name)) if isinstance(name, str) else None
            if found is None:
                raise _Bad(f"unknown {self.area_role} {name!r}")
            area = found
        return fuel_key(product, area, monthly=self.monthly)

    def where(self, number: int) -> str:
        """How a note names a row."""
        return f"anp: {self.filename} row {number}"

    def attrs(
        self, row: Sequence[object], note: Callable[[str], None], number: int
    ) -> dict[str, AttrValue]:
        """The row's side attributes; a cell that is not a number is noted and left None."""
        fast = self._attr_cells
        if fast is not None and len(row) >= fast[0]:
            cells = fast[1](row)
        else:
            cells = tuple(self.cells(row, _ATTR_ROLES))
        try:  # the common row: every cell a number or blank, converted in one pass
            # Not strict: the slice is as long as _DECIMAL_ATTRS (cells has one per role), and
            # a strict zip cost ~0.85 us a row here (dict(zip(...)) 1.8 -> 0.94 us).
            attrs: dict[str, AttrValue] = dict(
                zip(_DECIMAL_ATTRS, _decimals(cells[: len(_DECIMAL_ATTRS)]), strict=False)
            )
            attrs["stations"] = _station_count(cells[-2])
        except _Bad:
            return self.attrs_noting(cells, note, number)
        attrs["unit"] = _unit(cells[-1])
        return attrs

    def attrs_noting(
        self, cells: Sequence[object], note: Callable[[str], None], number: int
    ) -> dict[str, AttrValue]:
        """The attributes of a row's _ATTR_ROLES cells, one at a time, noting each bad one."""
        attrs: dict[str, AttrValue] = {}
        *values, stations, unit = cells
        for role, value in zip(_DECIMAL_ATTRS, values, strict=True):
            try:
                attrs[role] = _decimal(value)
            except _Bad as exc:
                attrs[role] = None
                note(f"{self.where(number)}: {_COLUMNS[role]} {exc}; kept the row without it")
        try:
            attrs["stations"] = _station_count(stations)
        except _Bad as exc:
            attrs["stations"] = None
            note(f"{self.where(number)}: {_COLUMNS['stations']} {exc}; kept the row without it")
        attrs["unit"] = _unit(unit)
        return attrs


def _openpyxl_rows(book: Any, filename: str, skip: int = 0) -> Iterator[Sequence[object]]:
    """The first sheet's rows read lazily by openpyxl (a broken part shows up only here),
    after the first ``skip``."""
    read = 0
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            read += 1
            if read > skip:
                yield row
    except Exception as exc:  # any parser failure on untrusted bytes means a bad payload
        raise InvalidPayload(
            f"anp: {filename} row {read + 1}: unreadable worksheet ({type(exc).__name__}: {exc})"
        ) from None


def _load_openpyxl(content: bytes) -> Any:
    """The workbook opened by openpyxl's read-only reader, made to lose no row: its
    ``<dimension>`` tag is not trusted (a writer that leaves it wrong, ``A1`` say, would cut
    the rows at it), and a sheet with a row numbered below one before it, which that reader
    skips without a word, raises RowsOutOfOrder naming the row instead."""
    from openpyxl import load_workbook  # lazy: only the ANP worker pays for it

    from fuelpipe.adapters.sources._xlsx_stream import check_row_order

    check_row_order(io.BytesIO(content))
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    if book.worksheets:
        book.worksheets[0].reset_dimensions()
    return book


class _Book:
    """What a row stream holds open; closed when the stream ends."""

    def __init__(self, handle: Any) -> None:
        self.handles = [handle]

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


def _streamed_rows(
    content: bytes, filename: str, book: _Book, rows: Iterator[Sequence[object]]
) -> Iterator[Sequence[object]]:
    """The stream reader's rows; from a row it does not recognise on, openpyxl's."""
    from fuelpipe.adapters.sources._xlsx_stream import RowsOutOfOrder, UnsupportedSheet

    read = 0
    try:
        for row in rows:
            read += 1
            yield row
    except UnsupportedSheet as exc:
        logger.info("anp: %s row %d: %s; read on with openpyxl", filename, read + 1, exc)
    except RowsOutOfOrder as exc:  # not handed to openpyxl, which would skip the row
        raise InvalidPayload(f"anp: {filename}: {exc}") from None
    except Exception as exc:  # any parser failure on untrusted bytes means a bad payload
        raise InvalidPayload(
            f"anp: {filename} row {read + 1}: unreadable worksheet ({type(exc).__name__}: {exc})"
        ) from None
    else:
        return
    try:  # the fallback reads the same untrusted bytes: its failures are a bad payload too
        fallback = _load_openpyxl(content)
    except Exception as exc:
        raise InvalidPayload(
            f"anp: {filename} row {read + 1}: unreadable worksheet ({type(exc).__name__}: {exc})"
        ) from None
    book.handles.append(fallback)
    yield from _openpyxl_rows(fallback, filename, skip=read)


def _open_rows(
    content: bytes, filename: str, reader: str
) -> tuple[_Book, Iterator[Sequence[object]]]:
    """(workbook to close, rows of its first sheet from row 1)."""
    from fuelpipe.adapters.sources._xlsx_stream import UnsupportedSheet, open_rows

    if reader not in READERS:
        raise ValueError(f"anp: unknown reader {reader!r}")
    if content.startswith(ZIP_MAGIC) and content.rfind(_ZIP_END, -_ZIP_END_REACH) < 0:
        # zipfile would say "File is not a zip file" of a download that stopped part-way
        raise InvalidPayload(
            f"anp: {filename}: the workbook is cut short: {len(content)} bytes and no zip end "
            "record (a download that stopped part-way)"
        )
    try:
        if reader == "stream":
            try:
                archive, rows = open_rows(io.BytesIO(content))
            except UnsupportedSheet as exc:
                logger.info("anp: %s: %s; read with openpyxl", filename, exc)
            else:
                book = _Book(archive)
                return book, _streamed_rows(content, filename, book, rows)
        loaded = _load_openpyxl(content)
        return _Book(loaded), _openpyxl_rows(loaded, filename)
    except Exception as exc:  # any parser failure on untrusted bytes means a bad payload
        raise InvalidPayload(
            f"anp: {filename}: not a readable workbook ({type(exc).__name__}: {exc})"
        ) from None


Keep = Callable[[str, date], bool]
"""Which (key, date) rows a caller wants; the others are skipped before their cells are read."""


def stream_workbook(
    content: bytes,
    fetch_unit: str,
    filename: str,
    *,
    missing: dict[tuple[str, date], str],
    problems: list[str],
    keep: Keep | None = None,
    covered: set[date] | None = None,
    seen: dict[tuple[str, date], int] | None = None,
    unsure: Unsure | None = None,
    reader: str = "stream",
) -> Iterator[Observation]:
    """The observations of an ANP workbook as a stream, in the workbook's row order.

    The workbook is opened and its header checked now (an InvalidPayload is raised here); the
    rows are turned into Python values lazily, one at a time, by ``reader`` (see READERS), so
    memory does not grow with the sheet.
    ``missing`` and ``problems`` fill while the stream is read and are complete once it ends.
    Each (key, date) is yielded once. One on several adjacent rows (the real monthly file has
    some) is yielded once its rows end, as the row covering the most stations (on a tie, the
    later) with every figure of the others in its OTHER_ROWS attribute; a row apart from its
    key-date's first rows (none of the real files has one) is not kept and is noted in
    ``problems``: the records do not depend on how the stream is cut into store batches.
    ``covered`` collects the dates the workbook has a price for (any key), ``seen`` the kept
    key-dates with a price (-> stations), ``unsure`` what the rows that could not be tied to a
    key and date may have held.
    """
    if fetch_unit not in _REQUIRED:
        raise ValueError(f"anp: unknown fetch unit {fetch_unit!r}")
    book, rows = _open_rows(content, filename, reader)
    try:
        try:
            header_row, columns, unread = _find_header(rows)
        except LookupError:
            raise InvalidPayload(
                f"anp: {filename}: no header row with PRODUTO and PREÇO MÉDIO REVENDA "
                f"in the first {_HEADER_SCAN_ROWS} rows"
            ) from None
        lacking = [_COLUMNS[r] for r in _REQUIRED[fetch_unit] if r not in columns]
        if lacking:
            raise InvalidPayload(
                f"anp: {filename}: header row {header_row} lacks {', '.join(lacking)}"
            )
        problems.extend(f"anp: {filename} header row {header_row}: {words}" for words in unread)
    except BaseException:
        book.close()
        raise
    return _stream_rows(
        book,
        rows,
        header_row,
        _RowReader(fetch_unit, columns, filename),
        keep,
        missing,
        problems,
        set() if covered is None else covered,
        {} if seen is None else seen,
        Unsure() if unsure is None else unsure,
    )


class _Notes:
    """Row problems: the first _MAX_PROBLEMS kept (one bad column can spoil every row: the
    first ones tell the story), then how many more there were."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.count = 0

    def __call__(self, text: str) -> None:
        self.count += 1
        if self.count <= _MAX_PROBLEMS:
            self.out.append(text)

    def finish(self, filename: str) -> None:
        if self.count > _MAX_PROBLEMS:
            self.out.append(f"anp: {filename}: and {self.count - _MAX_PROBLEMS} more rows")


def _stream_rows(  # noqa: PLR0912, PLR0915 - every row of a workbook: one frame, locals only
    book: Any,
    rows: Iterator[Sequence[object]],
    header_row: int,
    reader: _RowReader,
    keep: Keep | None,
    missing: dict[tuple[str, date], str],
    problems: list[str],
    covered: set[date],
    seen: dict[tuple[str, date], int],
    unsure: Unsure,
) -> Iterator[Observation]:
    # seen: (key, date) -> stations of the row kept for it: small ints, not observations.
    # pending: the current key-date's best row so far, yielded once another key-date begins (a
    # key-date's rows are adjacent in ANP's files): each key-date is yielded once, with its
    # final figure, whatever the scraper's store batches. others: its other rows (rarely any).
    note = _Notes(problems)
    head, keys, days = reader.head, reader.keys, reader.days
    end_at, ends = reader.end_at, reader.ends
    pending: Observation | None = None
    pending_slot: tuple[str, date] | None = None
    pending_row = best = 0
    others: _Others | None = None

    try:
        for number, row in enumerate(rows, start=header_row + 1):
            label, name, raw_day, raw_price = head(row)
            key = keys.get((label, name))  # the common row: its key and date remembered
            day = days.get(raw_day)
            if type(key) is not str or day is None:
                found = reader.slot(row, (label, name, raw_day), note, number, unsure)
                if found is None:
                    continue
                key, day = found
            if end_at is not None:
                raw_end = row[end_at] if end_at < len(row) else None
                if ends.get(raw_day, _UNSET) != raw_end:
                    reader.end(raw_day, day, raw_end, note, number)
            slot = (key, day)
            wanted = keep is None or keep(key, day)
            try:
                price = _decimal(raw_price)
            except _Bad as exc:
                text = f"{reader.where(number)}: PREÇO MÉDIO REVENDA {exc}; row skipped"
                note(text)
                if wanted and slot not in seen:  # a priced row wins over an unpriced one
                    missing[slot] = text
                continue
            if price is not None or wanted:
                covered.add(day)
            if not wanted:
                continue
            if price is None:
                if slot not in seen:
                    missing[slot] = (
                        f"{reader.where(number)}: ANP published no price ({raw_price!r})"
                    )
                continue
            attrs = reader.attrs(row, note, number)
            count = attrs["stations"]
            stations = count if isinstance(count, int) else -1
            if slot in seen:  # another row for a key-date (rare)
                pending, pending_row, best, others = _another_row(
                    (pending, pending_slot, pending_row, best, others),
                    Observation(key, day, price, attrs),
                    stations,
                    number,
                    reader,
                    note,
                    seen,
                )
                continue
            done, done_others = pending, others
            pending = Observation(key, day, price, attrs)
            pending_slot, pending_row, others = slot, number, None
            best = seen[slot] = stations
            missing.pop(slot, None)
            if done is not None:
                yield done if done_others is None else _settled(done, done_others)
    except Exception:
        # A sheet that breaks part-way (InvalidPayload) still gives every row before the break.
        yield from _last(pending, others)
        raise
    else:
        yield from _last(pending, others)
    finally:
        book.close()
        note.finish(reader.filename)


_Others = list[tuple[int, Decimal, dict[str, AttrValue]]]
"""A key-date's rows not kept: (row number, price, attributes), in the order they were read."""
_Pending = tuple[Observation | None, tuple[str, date] | None, int, int, _Others | None]
"""The key-date being read: its best row so far, its slot, row number, stations, others."""


def _another_row(
    pending: _Pending,
    obs: Observation,
    stations: int,
    number: int,
    reader: _RowReader,
    note: Callable[[str], None],
    seen: dict[tuple[str, date], int],
) -> tuple[Observation | None, int, int, _Others | None]:
    """The key-date being read after another priced row of an already seen key-date: the row
    covering the most stations is its value (on a tie, the later), the others in OTHER_ROWS.

    Seen in the real monthly file (GNV, 2014-08): several adjacent rows for one state and
    month. A row repeated with every figure equal is one row (noted, not in OTHER_ROWS: the
    record is the one a single copy gives). A row apart from its key-date's first rows (none
    of the real files has one) comes after that key-date was yielded: it is noted, not kept,
    so the records do not depend on where the scraper's store batches end and a re-read
    revises nothing.
    """
    kept, slot, row, best, others = pending
    count = obs.attrs["stations"]
    if kept is None or slot != (obs.key, obs.date):
        note(
            f"{reader.where(number)}: another row for {obs.key} {obs.date}, apart from its "
            f"first rows; not kept: {obs.value} ({count} stations)"
        )
        return kept, row, best, others
    figures = (obs.value, obs.attrs)
    if figures == (kept.value, kept.attrs) or any(
        figures == (price, attrs) for _, price, attrs in others or ()
    ):
        # The same row again, every figure equal (a sheet or a download that repeats a row):
        # it publishes nothing the key-date's rows do not, so it is not another row.
        note(f"{reader.where(number)}: {obs.key} {obs.date}'s row again, every figure equal")
        return kept, row, best, others
    note(
        f"{reader.where(number)}: another row for {obs.key} {obs.date}; "
        f"kept the one with the most stations, the others in its {OTHER_ROWS}"
    )
    others = [] if others is None else others
    if best > stations:
        others.append((number, obs.value, obs.attrs))
        return kept, row, best, others
    others.append((row, kept.value, kept.attrs))
    seen[slot] = stations
    return obs, number, stations, others


def _settled(obs: Observation, others: _Others) -> Observation:
    """``obs`` with every figure of its key-date's other rows, in the workbook's order."""
    obs.attrs[OTHER_ROWS] = ";".join(
        _other_row(price, attrs) for _, price, attrs in sorted(others, key=itemgetter(0))
    )
    return obs


def _other_row(price: Decimal, attrs: Mapping[str, AttrValue]) -> str:
    """One row's part of an OTHER_ROWS text."""
    stations = attrs["stations"]
    parts = [f"{price}@{'-' if stations is None else stations}"]
    parts += [f"{name}={attrs[name]}" for name in _DECIMAL_ATTRS if attrs[name] is not None]
    if attrs["unit"] is not None:
        parts.append(f"unit={quote(str(attrs['unit']), safe='/$')}")
    return " ".join(parts)


def read_other_rows(text: str) -> list[tuple[Decimal, dict[str, AttrValue]]]:
    """The rows of an OTHER_ROWS text: (price, attributes as a record of that row would have
    them: each figure of _DECIMAL_ATTRS, None where it was left out, ``stations``, ``unit``)."""
    out: list[tuple[Decimal, dict[str, AttrValue]]] = []
    for row in text.split(";"):
        head, *figures = row.split(" ")
        price, count = head.split("@")
        attrs: dict[str, AttrValue] = dict.fromkeys(_DECIMAL_ATTRS)
        attrs["stations"] = None if count == "-" else int(count)
        attrs["unit"] = None
        for figure in figures:
            name, value = figure.split("=")
            if name not in attrs or name == "stations":
                raise ValueError(f"{OTHER_ROWS}: unknown figure {name!r} in {row!r}")
            attrs[name] = unquote(value) if name == "unit" else Decimal(value)
        out.append((Decimal(price), attrs))
    return out


def _last(pending: Observation | None, others: _Others | None) -> tuple[Observation, ...]:
    """The key-date read last, settled: yielded when the rows end (or break)."""
    if pending is None:
        return ()
    return (pending if others is None else _settled(pending, others),)


def parse_workbook_detailed(content: bytes, fetch_unit: str, filename: str) -> ParsedWorkbook:
    """Every row of an ANP workbook, with malformed rows skipped and reported, not fatal."""
    parsed = ParsedWorkbook()
    parsed.observations = list(  # each key-date once (stream_workbook)
        stream_workbook(
            content, fetch_unit, filename, missing=parsed.missing, problems=parsed.problems
        )
    )
    return parsed


def parse_workbook(content: bytes, fetch_unit: str, filename: str) -> list[Observation]:
    """Every observation of an ANP workbook (all keys, all dates); malformed rows skipped."""
    return parse_workbook_detailed(content, fetch_unit, filename).observations


def _no_value(
    notes: dict[tuple[str, date], str],
    covered: set[date],
    seen: dict[tuple[str, date], int],
    keep: Keep,
    keys: set[str],
    unsure: Unsure,
) -> tuple[dict[tuple[str, date], str], dict[tuple[str, date], str], set[tuple[str, date]]]:
    """(The requested key-dates the workbook answers with "no price", those it leaves unsure,
    those of the first without a row for the key: ``FetchResult.no_row``).

    The workbook is the whole history: a week (or month) it has rows for, yet without a price
    for a key ('-' in the price cell, or no row for that area and fuel), is ANP's word that
    there is none. A row skipped as malformed is not: it stays a retry, and so does every
    key-date an unreadable row may have held (see Unsure), with that row as the reason; a key
    with a row of its own on a date (a price, or '-') is answered by that row.
    """
    out = {kd: note for kd, note in notes.items() if "ANP published no price" in note}
    retry: dict[tuple[str, date], str] = {}
    no_row: set[tuple[str, date]] = set()

    def settle(key: str, day: date) -> None:
        slot = (key, day)
        if slot in seen or slot in notes or slot in retry or not keep(key, day):
            return
        why = unsure.why(key, day)
        if why is not None:
            retry[slot] = f"{why}; that row may hold {key} {day}, so it is not taken as no value"
        elif day in covered:
            out[slot] = f"anp: the workbook has {day} but no row for {key}"
            no_row.add(slot)

    for day in (*covered, *unsure.days):  # a day only unreadable rows have is unsure too
        for key in keys:
            settle(key, day)
    return out, retry, no_row


REMEMBERED_OBSERVATIONS = 5_000
"""The largest answer kept for a 304 to the same request (a poll asks for a week or two of
a unit's keys: 33 areas x 7 fuels a week), so a backfill's answer is never held."""
REMEMBERED_ANSWERS = 16
"""Answers kept, the oldest forgotten first: each is a few hundred observations at most."""


@dataclass(frozen=True, slots=True)
class _Asked:
    """A request, as the answer remembered for it is found."""

    url: str
    keys: frozenset[str]
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class _Answer:
    """What the parse of ``response``'s workbook gave one request."""

    response: object
    observations: tuple[Observation, ...]
    notes: dict[tuple[str, date], str]
    no_value: dict[tuple[str, date], str]
    problems: tuple[str, ...]
    no_row: frozenset[tuple[str, date]] = frozenset()


class AnpWorkbookSource(HttpSource):
    """One workbook download per fetch unit; it returns the requested keys and dates."""

    name = "anp"
    default_base_url = DEFAULT_BASE_URL
    max_body_bytes = 64 << 20
    """A weekly workbook is about 12 MB (the state one since 2013 grows each week): 64 MB
    leaves years of room and still bounds what one answer holds in memory."""
    breaker_threshold = 1
    """A run asks ANP for a few workbooks only (one request each: the weekly Brazil, regions
    and states ones, the monthly states one), all from one host: at the default 3 the breaker
    opened after the third and found nothing left to refuse, so an unreachable ANP cost every
    workbook its retries. One request that could not connect after its retries already says
    the host is not there: the rest are not asked (their dates stay PENDING), but for one
    more try after :attr:`breaker_probe_wait_s`."""
    breaker_probe_wait_s = 5.0
    """After that first workbook, the next waits 5 s and is sent once (no retry once it
    cannot connect): an outage of a few seconds over the first workbook's attempts (3.5 to
    5 s at the default 4 attempts) leaves no workbook of the run unasked; ANP still down,
    the breaker opens for its 30 s and the rest are not asked. One connection attempt and
    5 s more than without the wait, each time the breaker opens from closed."""

    last_problems: tuple[str, ...] = ()
    """Rows of the last workbook that could not be read (also logged as warnings)."""
    workbooks_read = 0
    """Workbooks parsed by this source (an answer remembered for a 304 is not parsed again)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answers: dict[_Asked, _Answer] = {}

    def fetch(self, request: FetchRequest) -> FetchResult:
        """Download the fetch unit's workbook and keep the requested series and dates; an
        answer to the same request on the same workbook (a 304: the watch polls a due week
        every few minutes) is the one its parse gave, not parsed again."""
        path = FETCH_UNIT_PATHS.get(request.fetch_unit)
        if path is None:
            raise ValueError(f"anp: unknown fetch unit {request.fetch_unit!r}")
        url = self.base_url + path
        response = self.get(url)
        wanted = {s.key for s in request.series}
        asked = _Asked(url, frozenset(wanted), request.start, request.end)
        # Answers from this URL's earlier workbook (a 200 brought a new one) are forgotten.
        for old in [
            a for a, ans in self._answers.items() if a.url == url and ans.response is not response
        ]:
            del self._answers[old]
        known = self._answers.get(asked)
        if known is not None:
            self.last_problems = known.problems
            return FetchResult(
                iter(known.observations),
                dict(known.notes),
                requests=1,
                no_value=dict(known.no_value),
                no_row=set(known.no_row),
            )
        content = response.content
        if not content.startswith(ZIP_MAGIC):
            got = "HTML" if looks_like_html(content) else f"{len(content)} bytes"
            raise InvalidPayload(f"anp: {url}: not a workbook: got {got}: {snippet(content)!r}")
        self.workbooks_read += 1

        start, end = request.start, request.end

        def keep(key: str, day: date) -> bool:
            return key in wanted and start <= day <= end

        notes: dict[tuple[str, date], str] = {}
        no_value: dict[tuple[str, date], str] = {}
        no_row: set[tuple[str, date]] = set()
        problems: list[str] = []
        covered: set[date] = set()
        seen: dict[tuple[str, date], int] = {}
        unsure = Unsure()
        stream = stream_workbook(
            content,
            request.fetch_unit,
            path.rsplit("/", 1)[-1],
            missing=notes,
            problems=problems,
            keep=keep,
            covered=covered,
            seen=seen,
            unsure=unsure,
        )

        def observations() -> Iterator[Observation]:
            kept: list[Observation] | None = []
            for obs in stream:
                if kept is not None:
                    kept.append(obs)
                    if len(kept) > REMEMBERED_OBSERVATIONS:
                        kept = None  # a backfill's answer: not held for a 304
                yield obs
            self.last_problems = tuple(problems)
            for problem in problems:
                logger.warning(problem)
            absent, retry, rowless = _no_value(notes, covered, seen, keep, wanted, unsure)
            no_value.update(absent)
            no_row.update(rowless)
            notes.update(retry)
            if kept is not None:  # read to its end: the answer a 304 for it will give
                self._answers[asked] = _Answer(
                    response,
                    tuple(kept),
                    dict(notes),
                    dict(no_value),
                    tuple(problems),
                    frozenset(no_row),
                )
                while len(self._answers) > REMEMBERED_ANSWERS:
                    del self._answers[next(iter(self._answers))]

        # Streamed: the rows are read as the scraper stores them, in bounded batches; notes,
        # no_value and no_row are complete once they have been read.
        return FetchResult(observations(), notes, requests=1, no_value=no_value, no_row=no_row)
