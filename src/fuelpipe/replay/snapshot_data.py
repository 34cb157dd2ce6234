"""The bundled snapshot, loaded once: PTAX quotes, Yahoo bars, FRED rows and ANP workbooks."""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import currency_key
from fuelpipe.replay.anp_workbook import WORKBOOK_LEVELS, SheetRows, read_sheet, row_date, row_key

SNAPSHOT_DIR = Path(__file__).with_name("snapshot")

YAHOO_KEYS = {s.symbol: s.key for s in DEFAULT_CATALOG if s.source == "yahoo"}
FRED_KEYS = {s.symbol: s.key for s in DEFAULT_CATALOG if s.source == "fred"}


@dataclass(frozen=True, slots=True)
class PtaxQuote:
    """One closing PTAX bulletin: the day and the sell/buy rates as written in the file."""

    day: date
    sell: str
    buy: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One daily Yahoo bar."""

    day: date
    open: float
    high: float
    low: float
    close: float
    adj_close: float
    volume: int


@dataclass(frozen=True, slots=True)
class SplitEvent:
    """A stock split the replay reports in Yahoo's ``events.splits`` (from ``day`` on, each
    share is ``numerator / denominator`` shares). The bundled real data has none: only a
    scenario adds them (``fuelpipe replay --split``)."""

    day: date
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class DividendEvent:
    """A dividend the replay reports in Yahoo's ``events.dividends`` (``--dividend``)."""

    day: date
    amount: float


@dataclass(frozen=True, slots=True)
class FredObs:
    """One FRED row; ``value`` is the text in the file, empty when FRED has no value."""

    day: date
    value: str


PTAX_WINDOWS_FILE = "intraday/netinhoklz__historico_ptax_janelas_2017-01-04_2023-09-28.xlsx"
BARS_15M_FILES = {"PETR4.SA": "intraday/fabiorodp__PETR4_15min_2020-06-22_2020-12-04.csv"}
WINDOW_HOURS = (10, 11, 12, 13)


@dataclass(frozen=True, slots=True)
class IntradayBar:
    """One real 15-minute bar: start (exchange local time, naive) and OHLCV as in the file."""

    start: datetime
    open: str
    high: str
    low: str
    close: str
    volume: int


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class Snapshot:
    """Everything the replay server serves, read from a snapshot directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or SNAPSHOT_DIR
        self.ptax: dict[str, list[PtaxQuote]] = {
            p.stem: [
                PtaxQuote(date.fromisoformat(r["date"]), r["sell"], r["buy"]) for r in _rows(p)
            ]
            for p in sorted((self.root / "bcb").glob("*.csv"))
        }
        self.bars: dict[str, list[Bar]] = {
            p.name.removesuffix(".csv"): [_bar(r) for r in _rows(p)]
            for p in sorted((self.root / "yahoo").glob("*.csv"))
        }
        self.splits: dict[str, list[SplitEvent]] = {}
        self.dividends: dict[str, list[DividendEvent]] = {}
        self.fred: dict[str, list[FredObs]] = {
            p.stem: [
                FredObs(date.fromisoformat(r["observation_date"]), r[p.stem]) for r in _rows(p)
            ]
            for p in sorted((self.root / "fred").glob("*.csv"))
        }
        self.workbooks: dict[str, Path] = {
            route: self.root / "anp" / route
            for route in WORKBOOK_LEVELS
            if (self.root / "anp" / route).is_file()
        }
        self._lock = threading.Lock()
        self._bytes: dict[str, bytes] = {}
        self._sheets: dict[str, SheetRows] = {}
        self._windows: dict[date, tuple[Decimal, ...]] = {}

    def ptax_windows(self) -> dict[date, tuple[Decimal, ...]]:
        """USD sell PTAX of the four consultation windows (10, 11, 12, 13 h) per day, from the
        real windows file; only days with exactly those four (their mean is the closing)."""
        with self._lock:
            cached = self._bytes.get("__windows__")
        if cached is None:
            import openpyxl

            path = self.root / PTAX_WINDOWS_FILE
            by_day: dict[date, dict[int, Decimal]] = {}
            extra: set[date] = set()
            if path.is_file():
                wb = openpyxl.load_workbook(path, read_only=True)
                for stamp, value in wb.active.iter_rows(min_row=2, values_only=True):
                    if not isinstance(stamp, datetime) or not isinstance(value, int | float):
                        continue
                    if stamp.minute or stamp.hour not in WINDOW_HOURS:
                        extra.add(stamp.date())
                        continue
                    by_day.setdefault(stamp.date(), {})[stamp.hour] = Decimal(str(value))
                wb.close()
            windows = {
                day: tuple(hours[h] for h in WINDOW_HOURS)
                for day, hours in by_day.items()
                if len(hours) == len(WINDOW_HOURS) and day not in extra
            }
            with self._lock:
                self._windows = windows
                self._bytes["__windows__"] = b"1"
        return self._windows

    def bars_15m(self, symbol: str) -> list[IntradayBar]:
        """Real 15-minute bars of a symbol (B3 local time), empty when the snapshot has none."""
        name = BARS_15M_FILES.get(symbol)
        if name is None or not (self.root / name).is_file():
            return []
        with (self.root / name).open(newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh, delimiter=";")
            next(rows)  # header names 5 columns; the rows carry the timestamp first
            return [
                IntradayBar(datetime.fromisoformat(stamp), o, h, low, c, int(v))
                for stamp, o, h, low, c, v in rows
            ]

    def workbook_bytes(self, route: str) -> bytes:
        """The bundled bytes of one ANP workbook (route such as ``semanal/...xlsx``)."""
        with self._lock:
            if route not in self._bytes:
                self._bytes[route] = self.workbooks[route].read_bytes()
            return self._bytes[route]

    def sheet(self, route: str) -> SheetRows:
        """The parsed header and rows of one ANP workbook (cached)."""
        data = self.workbook_bytes(route)
        with self._lock:
            if route not in self._sheets:
                self._sheets[route] = read_sheet(data)
            return self._sheets[route]


def _bar(r: dict[str, str]) -> Bar:
    return Bar(
        day=date.fromisoformat(r["Date"]),
        open=float(r["Open"]),
        high=float(r["High"]),
        low=float(r["Low"]),
        close=float(r["Close"]),
        adj_close=float(r["Adj Close"]),
        volume=int(float(r["Volume"])),
    )


def _span(days: list[date]) -> dict[str, str | int]:
    return {"first": min(days).isoformat(), "last": max(days).isoformat(), "count": len(days)}


def coverage(snap: Snapshot) -> dict[str, dict[str, str | int]]:
    """Per catalog key in the snapshot: first and last date with a real value, and how many."""
    days: dict[str, list[date]] = {}
    for code, quotes in snap.ptax.items():
        days[currency_key(code)] = [q.day for q in quotes]
    for symbol, bars in snap.bars.items():
        if symbol in YAHOO_KEYS:
            days[YAHOO_KEYS[symbol]] = [b.day for b in bars]
    for series_id, obs in snap.fred.items():
        if series_id in FRED_KEYS:
            days[FRED_KEYS[series_id]] = [o.day for o in obs if o.value.strip()]
    for route, level in WORKBOOK_LEVELS.items():
        if route not in snap.workbooks:
            continue
        sheet = snap.sheet(route)
        price = sheet.col("PREÇO MÉDIO REVENDA")
        for row in sheet.rows:
            key, day = row_key(sheet, level, row), row_date(sheet, row)
            if key and day and isinstance(row[price], int | float):
                days.setdefault(key, []).append(day)
    return {key: _span(sorted(d)) for key, d in sorted(days.items()) if d}
