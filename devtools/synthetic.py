"""SYNTHETIC data for the replay server: plausible values for every catalog series, any dates.

Nothing here is real. The bundled snapshot holds one year of real data; a load test needs the
whole catalog over twenty years, so :class:`SyntheticSnapshot` generates it: for each series,
on each date its calendar expects (PTAX banking days, B3/NYSE sessions, FRED Brent days, ANP
survey weeks and months), a deterministic mean-reverting random walk seeded by the series key,
so a value never jumps far from its neighbours. The four ANP workbooks are rebuilt around the
bundled ones' notes, header and styles, with one row per catalog key and period.

A replay server built on it marks every response ``X-Fuelpipe-Synthetic: 1``
(``ReplayServer(snapshot=SyntheticSnapshot(start, end))``). It is for benchmarks only: never
load its values into a store anyone reads as data.
"""

from __future__ import annotations

import io
import math
import random
import re
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, REGIONS, STATES, Catalog, Series
from fuelpipe.domain.keys import Kind
from fuelpipe.replay import ooxml
from fuelpipe.replay.anp_workbook import WORKBOOK_LEVELS, SheetRows, read_sheet
from fuelpipe.replay.snapshot_data import (
    SNAPSHOT_DIR,
    Bar,
    DividendEvent,
    FredObs,
    PtaxQuote,
    Snapshot,
    SplitEvent,
)

HEADER = "X-Fuelpipe-Synthetic"
"""The response header that marks synthetic data."""

_EXCEL_EPOCH = date(1899, 12, 30)
_UNIT_LABELS = {"BRL/l": "R$/l", "BRL/13kg": "R$/13kg", "BRL/m3": "R$/m3"}
_PRODUCT_BASE = {
    "GASOLINE": 5.2,
    "GASOLINE_PREMIUM": 5.5,
    "ETHANOL": 3.9,
    "DIESEL": 4.9,
    "DIESEL_S10": 5.0,
    "LPG": 95.0,
    "CNG": 4.3,
}
_CURRENCY_BASE = {
    "USD": 4.5,
    "EUR": 5.2,
    "GBP": 6.0,
    "JPY": 0.04,
    "CHF": 4.8,
    "CAD": 3.5,
    "AUD": 3.2,
    "DKK": 0.7,
    "NOK": 0.5,
    "SEK": 0.5,
}
_CELL = re.compile(rb'<c r="([A-Z]+)\d+"([^>]*?)/?>')
_STYLE = re.compile(rb's="(\d+)"')
_SST_COUNTS = re.compile(rb'count="\d+" uniqueCount="\d+"')


def walk(key: str, days: int, base: float, seed: int = 0, daily_sigma: float = 0.01) -> list[float]:
    """A deterministic mean-reverting walk around ``base`` (log scale), one value per step."""
    rng = random.Random(f"{seed}/{key}")
    level = math.log(base)
    x = level + rng.uniform(-0.2, 0.2)
    out = []
    for _ in range(days):
        x += 0.01 * (level - x) + rng.gauss(0.0, daily_sigma)
        out.append(math.exp(x))
    return out


def _base(series: Series) -> float:
    """A plausible level for a series, stable per key."""
    if series.kind is Kind.CURRENCY:
        return _CURRENCY_BASE.get(series.symbol, 1.0)
    if series.kind is Kind.COMMODITY:
        return 70.0
    if series.kind is Kind.STOCK:
        return 10.0 + random.Random(series.key).uniform(0, 90)
    area_factor = 1 + random.Random(series.key).uniform(-0.1, 0.1)
    return _PRODUCT_BASE.get(series.product or "", 5.0) * area_factor


def _level(series: Series) -> str:
    """The ANP workbook level (a WORKBOOK_LEVELS value) a fuel series is published in."""
    if series.kind is Kind.FUEL_MONTHLY:
        return "MONTHLY_STATE"
    if series.area == "BR":
        return "BR"
    return "REGION" if series.area in REGIONS else "STATE"


@dataclass(frozen=True)
class _Template:
    """What a bundled workbook lends a synthetic one: its parts, notes, header and styles."""

    data: bytes
    parts: dict[str, bytes]
    sheet_part: str
    header_row: int
    header: tuple[str, ...]
    sheet_name: str
    styles: dict[str, bytes]
    """Column letter -> the style attribute of that column's cells in the first data row."""


def _read_template(path: Path) -> _Template:
    data = path.read_bytes()
    sheet = read_sheet(data)
    header_row, header, sheet_name = sheet.header_row, sheet.header, sheet.sheet_name
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        parts = {item.filename: zin.read(item) for item in zin.infolist()}
    sheet_part = ooxml.sheet_part(parts)
    first = next(
        (
            r
            for r in ooxml.SheetData.split(parts[sheet_part]).rows
            if ooxml.row_number(r) == header_row + 1  # the first data row shows the styles
        ),
        b"",
    )
    styles = {}
    for letter, attrs in _CELL.findall(first):
        style = _STYLE.search(attrs)
        styles[letter.decode()] = style.group(0) if style else b""
    return _Template(data, parts, sheet_part, header_row, header, sheet_name, styles)


class _Strings:
    """Shared strings appended after the template's own."""

    def __init__(self, existing: bytes) -> None:
        self.xml = existing
        self.offset = existing.count(b"<si>") + existing.count(b"<si ")
        self.index: dict[str, int] = {}

    def ref(self, text: str) -> int:
        """The shared-string index of ``text``."""
        if text not in self.index:
            self.index[text] = self.offset + len(self.index)
        return self.index[text]

    def rendered(self) -> bytes:
        """The sharedStrings part with the new strings appended."""
        extra = "".join(f"<si><t>{escape(t)}</t></si>" for t in self.index).encode()
        total = self.offset + len(self.index)
        xml = _SST_COUNTS.sub(b'count="%d" uniqueCount="%d"' % (total, total), self.xml, count=1)
        return xml.replace(b"</sst>", extra + b"</sst>")


def _cell(letter: str, row: int, style: bytes, value: object, strings: _Strings) -> str:
    attrs = f" {style.decode()}" if style else ""
    if isinstance(value, str):
        return f'<c r="{letter}{row}"{attrs} t="s"><v>{strings.ref(value)}</v></c>'
    if isinstance(value, date):  # Excel keeps dates as day numbers, shown by the date style
        value = (value - _EXCEL_EPOCH).days
    return f'<c r="{letter}{row}"{attrs}><v>{value}</v></c>'


class SyntheticSnapshot(Snapshot):
    """Generated, not real: every catalog series on every expected date in ``[start, end]``."""

    synthetic = True

    def __init__(
        self,
        start: date,
        end: date,
        catalog: Catalog = DEFAULT_CATALOG,
        *,
        seed: int = 0,
        templates: Path | None = None,
    ) -> None:
        # Snapshot.__init__ reads the bundled files; here everything is generated instead.
        self.root = templates or SNAPSHOT_DIR
        self.start, self.end, self.seed = start, end, seed
        self.catalog = catalog
        self._lock = threading.Lock()
        self._bytes: dict[str, bytes] = {}
        self._sheets: dict[str, SheetRows] = {}
        self.ptax: dict[str, list[PtaxQuote]] = {}
        self.bars: dict[str, list[Bar]] = {}
        self.splits: dict[str, list[SplitEvent]] = {}
        self.dividends: dict[str, list[DividendEvent]] = {}
        self.fred: dict[str, list[FredObs]] = {}
        for series in catalog:
            if series.source == "bcb":
                self.ptax[series.symbol] = [
                    PtaxQuote(day, f"{v:.4f}", f"{v - 0.0006:.4f}")
                    for day, v in self._values(series)
                ]
            elif series.source == "yahoo":
                self.bars[series.symbol] = [
                    _bar(day, v, i) for i, (day, v) in enumerate(self._values(series))
                ]
            elif series.source == "fred":
                self.fred[series.symbol] = [
                    FredObs(day, f"{v:.2f}") for day, v in self._values(series)
                ]
        self.workbooks: dict[str, Path] = {
            route: self.root / "anp" / route
            for route in WORKBOOK_LEVELS
            if (self.root / "anp" / route).is_file()
        }

    def _days(self, series: Series) -> list[date]:
        start = max(self.start, series.default_start)
        return list(expected_between(get_calendar(series.calendar), start, self.end))

    def _values(self, series: Series) -> Iterator[tuple[date, float]]:
        days = self._days(series)
        sigma = 0.004 if series.source == "anp" else 0.012
        return zip(days, walk(series.key, len(days), _base(series), self.seed, sigma), strict=True)

    # --- ANP workbooks --------------------------------------------------------------------
    def workbook_bytes(self, route: str) -> bytes:
        """The generated workbook of one route (built once, on first use)."""
        self._build(route)
        return self._bytes[route]

    def sheet(self, route: str) -> SheetRows:
        """The generated rows of one route, as the replay's fault machinery reads them."""
        self._build(route)
        return self._sheets[route]

    def _build(self, route: str) -> None:
        with self._lock:
            if route in self._bytes:
                return
            template = _read_template(self.workbooks[route])
            level = WORKBOOK_LEVELS[route]
            rows = list(self._anp_rows(level, template.header))
            self._sheets[route] = SheetRows(
                template.sheet_name, template.header_row, template.header, rows
            )
            self._bytes[route] = _render(template, rows)

    def _anp_rows(self, level: str, header: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """One row per (period, product, area), in the real files' order: by period first."""
        by_day: dict[date, list[tuple[Series, float]]] = {}
        for series in self.catalog:
            if series.source == "anp" and _level(series) == level:
                for day, value in self._values(series):
                    by_day.setdefault(day, []).append((series, value))
        for day in sorted(by_day):
            for series, value in by_day[day]:
                yield tuple(_anp_cell(name, series, day, value) for name in header)


def _region(series: Series) -> str:
    area = series.area or "BR"
    state = STATES.get(area)
    return REGIONS[state[1]] if state else REGIONS.get(area, "-")


def _state(series: Series) -> str:
    state = STATES.get(series.area or "BR")
    return state[0] if state else "-"


# Header name -> the cell of one row (series, period, value); any other column is "-".
_COLUMNS: dict[str, Callable[[Series, date, float], object]] = {
    "DATA INICIAL": lambda s, day, v: day,
    "MÊS": lambda s, day, v: day,
    "DATA FINAL": lambda s, day, v: day + timedelta(days=6),
    "REGIÃO": lambda s, day, v: _region(s),
    "ESTADO": lambda s, day, v: _state(s),
    "PRODUTO": lambda s, day, v: s.symbol,
    "NÚMERO DE POSTOS PESQUISADOS": lambda s, day, v: (
        50 + random.Random(f"{s.key}/{day}").randrange(500)
    ),
    "UNIDADE DE MEDIDA": lambda s, day, v: _UNIT_LABELS.get(s.unit, s.unit),
    "PREÇO MÉDIO REVENDA": lambda s, day, v: round(v, 3),
    "DESVIO PADRÃO REVENDA": lambda s, day, v: round(v * 0.05, 3),
    "PREÇO MÍNIMO REVENDA": lambda s, day, v: round(v * 0.9, 3),
    "PREÇO MÁXIMO REVENDA": lambda s, day, v: round(v * 1.12, 3),
    "MARGEM MÉDIA REVENDA": lambda s, day, v: round(v * 0.15, 3),
    "COEF DE VARIAÇÃO REVENDA": lambda s, day, v: 0.05,
    "PREÇO MÉDIO DISTRIBUIÇÃO": lambda s, day, v: round(v * 0.85, 4),
}


def _anp_cell(column: str, series: Series, day: date, value: float) -> object:
    """The value of one column of an ANP row (the real workbooks' header names)."""
    make = _COLUMNS.get(column)
    return make(series, day, value) if make else "-"


def _render(template: _Template, rows: list[tuple[Any, ...]]) -> bytes:
    """The template workbook with its data rows replaced by ``rows``."""
    part = ooxml.SheetData.split(template.parts[template.sheet_part])
    kept = [r for r in part.rows if ooxml.row_number(r) <= template.header_row]
    strings = _Strings(template.parts.get("xl/sharedStrings.xml", b"<sst></sst>"))
    letters = [get_column_letter(i + 1) for i in range(len(template.header))]
    styles = [template.styles.get(letter, b"") for letter in letters]
    body = io.StringIO()
    for offset, row in enumerate(rows):
        number = template.header_row + 1 + offset
        body.write(f'<row r="{number}">')
        for letter, style, value in zip(letters, styles, row, strict=True):
            body.write(_cell(letter, number, style, value, strings))
        body.write("</row>")
    sheet = part.replaced(
        b"".join(kept) + body.getvalue().encode(), template.header_row + len(rows)
    )
    replaced = {template.sheet_part: sheet, "xl/sharedStrings.xml": strings.rendered()}
    # Level 1: the workbook is rebuilt per run, and size on the loopback costs nothing.
    return ooxml.replace_parts(template.data, replaced, compresslevel=1)


def _bar(day: date, close: float, i: int) -> Bar:
    rng = random.Random(f"{day}/{i}")
    spread = close * 0.01
    opening = close + rng.uniform(-spread, spread)
    return Bar(
        day=day,
        open=round(opening, 4),
        high=round(max(opening, close) + spread * rng.random(), 4),
        low=round(min(opening, close) - spread * rng.random(), 4),
        close=round(close, 4),
        adj_close=round(close, 4),
        volume=100_000 + rng.randrange(10_000_000),
    )
