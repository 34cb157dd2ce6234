"""The bundled snapshot, loaded once: PTAX quotes, Yahoo bars, FRED rows and ANP workbooks."""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from datetime import date
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
class FredObs:
    """One FRED row; ``value`` is the text in the file, empty when FRED has no value."""

    day: date
    value: str


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
