"""Build the bundled snapshot from the real files in ``datasets/`` (scripts/build_snapshot.py).

Every value in the output is copied from a real file; only rows are dropped (outside the span
each file keeps: the window, or past it to DRIVERS_END for the outlook's drivers and the Brazil
weeks) and layouts are aligned (column names, the weekly state workbook rebuilt in the ANP
layout, PETR4's yfinance export written in the classic Yahoo CSV with its six decimals).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from devtools.snapshot.notice import write_notice
from devtools.snapshot.xlsx_layout import data_cells, read_layout, write_workbook
from fuelpipe.domain.catalog import REGIONS, STATES
from fuelpipe.replay.anp_workbook import MISSING, find_header_row
from fuelpipe.replay.snapshot_data import Snapshot, coverage

WINDOW_START = date(2021, 5, 19)
WINDOW_END = date(2022, 5, 7)
DRIVERS_END = date(2026, 6, 27)
"""The daily drivers the outlook reads (PTAX, FRED's Brent) and PETR4 run on past the window,
up to the last state week (2026-06-21..27) or their file's end, whichever is earlier (FRED's
Brent 2026-05-01, PETR4 2025-09-29): with the ~105 real state weeks, that is enough history for
the outlook to forecast each state's gasoline and ethanol, from real values only. ANP's weekly
Brazil prices run on past the window too, up to this day or their file's last week (the week of
2026-03-08), whichever is earlier: the Brazil series then overlap the state weeks and the
drivers instead of ending two years before them."""

PETR4_SOURCE = "stocks/sheep-farm__PETR4.SA_2021-05-19_2025-09-29.csv"
"""One source for PETR4's whole span (window and after): its Adj Close is adjusted at one date
(the source's last dividend, 2025-08-22), where the window's old file (henriquebrnetto, adjusted
in 2022-11) would not join it."""

YAHOO_HEADER = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
NYSE_TICKERS = ("XOM", "CVX", "BP", "SHEL", "TTE")
_STATE_PRODUCTS = {"gasolina_c": "GASOLINA COMUM", "hidratado": "ETANOL HIDRATADO"}


@dataclass(frozen=True)
class BuildReport:
    """What was written: output path (relative) -> number of data rows."""

    rows: dict[str, int]


def _in_window(day: date) -> bool:
    return WINDOW_START <= day <= WINDOW_END


def _driver_day(day: date) -> bool:
    """From the window's start through the last state week, without a hole (a hole would be
    dates the demo asks for and no source ever published)."""
    return WINDOW_START <= day <= DRIVERS_END


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _write_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    path.write_text(buf.getvalue(), encoding="utf-8")
    return count


def build_ptax(data: Path, out: Path) -> int:
    """bcb/USD.csv: the real closing PTAX (sell and buy) from the window's start through the
    last state week."""
    rows = (
        [r["data"], r["venda"], r["compra"]]
        for r in _read_csv(data / "fx/strongylis__ptax.csv")
        if _driver_day(date.fromisoformat(r["data"]))
    )
    return _write_csv(out / "bcb/USD.csv", ["date", "sell", "buy"], rows)


def _classic_yahoo_rows(path: Path) -> Iterator[list[str]]:
    for r in _read_csv(path):
        if _in_window(date.fromisoformat(r["Date"])):
            yield [r[c] for c in YAHOO_HEADER]


def _adjusted_rows(path: Path) -> Iterator[list[str]]:
    # These exports are already dividend/split adjusted and carry no Adj Close: Close stands in.
    for r in _read_csv(path):
        if _in_window(date.fromisoformat(r["Date"])):
            yield [r["Date"], r["Open"], r["High"], r["Low"], r["Close"], r["Close"], r["Volume"]]


def _six(value: str) -> str:
    """A yfinance float32 value (26.149999618530273) with the six decimals of Yahoo's classic
    download CSV (26.150000): the same price, written as the classic file writes it."""
    return f"{float(value):.6f}"


def _flat_yfinance_rows(path: Path) -> Iterator[list[str]]:
    # yfinance flat export (symbol,date,open,…,adjclose,dividends,splits), in the classic
    # layout: from the window's start to the file's end (past the window, beside the drivers).
    for r in _read_csv(path):
        day = date.fromisoformat(r["date"])
        if float(r["splits"]):
            raise ValueError(f"{path.name}: unexpected split on {day}")
        if _driver_day(day):
            prices = [_six(r[c]) for c in ("open", "high", "low", "close", "adjclose")]
            yield [day.isoformat(), *prices, str(int(float(r["volume"])))]


def _yfinance_rows(path: Path) -> Iterator[list[str]]:
    # yfinance history(): tz-aware dates, no Adj Close (a future has none: Yahoo repeats Close).
    for r in _read_csv(path):
        day = date.fromisoformat(r["Date"][:10])
        if float(r["Dividends"]) or float(r["Stock Splits"]):
            raise ValueError(f"{path.name}: unexpected dividend/split on {day}")
        if _in_window(day):
            yield [
                day.isoformat(),
                r["Open"],
                r["High"],
                r["Low"],
                r["Close"],
                r["Close"],
                r["Volume"],
            ]


def build_yahoo(data: Path, out: Path) -> dict[str, int]:
    """yahoo/<SYMBOL>.csv in the classic download layout: window rows only, but PETR4's from the
    window's start to its file's end."""
    stocks = data / "stocks"
    sources: dict[str, Iterator[list[str]]] = {
        "PETR4.SA": _flat_yfinance_rows(data / PETR4_SOURCE),
        "PETR3.SA": _classic_yahoo_rows(stocks / "rowrias__PETR3.SA.csv"),
        "PRIO3.SA": _classic_yahoo_rows(stocks / "rowrias__PRIO3.SA.csv"),
        "BZ=F": _yfinance_rows(stocks / "henriquebrnetto__BZ=F.csv"),
    }
    for ticker in NYSE_TICKERS:
        path = stocks / f"daily-2018-2023/{ticker}_daily_2018-01-04_2023-12-29.csv"
        sources[ticker] = _adjusted_rows(path)
    return {
        f"yahoo/{sym}.csv": _write_csv(out / f"yahoo/{sym}.csv", YAHOO_HEADER, rows)
        for sym, rows in sources.items()
    }


def build_fred(data: Path, out: Path) -> int:
    """fred/DCOILBRENTEU.csv in FRED's current layout (empty = no value), from the window's
    start to the file's end (2026-05-01)."""
    rows = (
        [r["observation_date"], r["DCOILBRENTEU"]]
        for r in _read_csv(data / "brent/kianezimmermann94__DCOILBRENTEU_2015-01-02_2026-05-01.csv")
        if _driver_day(date.fromisoformat(r["observation_date"]))
    )
    return _write_csv(out / "fred/DCOILBRENTEU.csv", ["observation_date", "DCOILBRENTEU"], rows)


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def _trim_workbook(src: Path, dst: Path, keep: Any) -> int:
    """Copy a real workbook keeping its layout and only the data rows ``keep(row)`` accepts."""
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    header = find_header_row(ws)
    layout = read_layout(ws, header)
    width = sum(1 for value, _ in layout.top[-1] if value is not None)
    kept = [
        idx
        for idx, row in enumerate(ws.iter_rows(min_row=header + 1, values_only=True), header + 1)
        if row[0] is not None and keep(row)
    ]
    write_workbook(dst, layout, [data_cells(ws, idx, width) for idx in kept])
    return len(kept)


def _weekly_in_window(row: tuple[Any, ...]) -> bool:
    return _as_date(row[1]) >= WINDOW_START and _as_date(row[0]) <= WINDOW_END


def _brazil_week(row: tuple[Any, ...]) -> bool:
    """A week of the Brazil workbook from the window's start through DRIVERS_END (the real
    file ends before it, on the week of 2026-03-08: every week it has is kept)."""
    return _as_date(row[1]) >= WINDOW_START and _as_date(row[0]) <= DRIVERS_END


def _month_in_window(row: tuple[Any, ...]) -> bool:
    month = _as_date(row[0])
    return date(WINDOW_START.year, WINDOW_START.month, 1) <= month <= WINDOW_END


def build_state_weekly(data: Path, out: Path) -> int:
    """anp/semanal/semanal-estados-desde-2013.xlsx from the real weekly-by-state values.

    The layout (notes, header row 18, formats) is the real weekly Brasil workbook's, with the
    REGIÃO and ESTADO columns inserted after DATA FINAL as in the real state workbook.
    """
    wb = openpyxl.load_workbook(data / "anp/maikereis__semanal-brasil-desde-2013.xlsx")
    ws = wb.worksheets[0]
    header = find_header_row(ws)
    layout = read_layout(ws, header)
    layout.sheet_name = "ESTADOS - DESDE 30.12.2012"
    layout.top[9][0] = ("TIPO RELATÓRIO: ESTADO", layout.top[9][0][1])
    layout.top[-1][2:2] = [("REGIÃO", "General"), ("ESTADO", "General")]
    old = layout.widths
    layout.widths = {c + 2 if c >= 2 else c: w for c, w in old.items()}
    layout.widths.update({2: 15.0, 3: 22.0})  # as REGIÃO in the regions sheet, ESTADO in monthly
    formats = [f for _, f in data_cells(ws, header + 1, 16)]
    fmt = [formats[0], formats[1], "General", "General", *formats[2:]]

    keep = sorted(  # every real state week (2024-06..2026-06)
        _read_csv(data / "anp/strongylis__anp_shlp_estados.csv"),
        key=lambda r: (r["data"], _STATE_PRODUCTS[r["produto"]], STATES[r["estado"]][0]),
    )
    rows = []
    for r in keep:
        end = datetime.fromisoformat(r["data"])
        name, region = STATES[r["estado"]]
        values: list[Any] = [
            end - timedelta(days=6),
            end,
            REGIONS[region],
            name,
            _STATE_PRODUCTS[r["produto"]],
            int(r["n_postos"]),
            "R$/l",
            float(r["preco_medio"]),
            MISSING,
            float(r["preco_min"]),
            float(r["preco_max"]),
            *([MISSING] * 7),
        ]
        rows.append(list(zip(values, fmt, strict=True)))
    write_workbook(out / "anp/semanal/semanal-estados-desde-2013.xlsx", layout, rows)
    return len(keep)


def build_anp(data: Path, out: Path) -> dict[str, int]:
    """The four ANP workbooks, in their real layouts."""
    anp = data / "anp"
    return {
        "anp/semanal/semanal-brasil-desde-2013.xlsx": _trim_workbook(
            anp / "maikereis__semanal-brasil-desde-2013.xlsx",
            out / "anp/semanal/semanal-brasil-desde-2013.xlsx",
            _brazil_week,
        ),
        # Its real source ends on the week of 2022-05-01, the window's last: window weeks only.
        "anp/semanal/semanal-regioes-desde-2013.xlsx": _trim_workbook(
            anp / "regions/semanal-regioes-desde-2013_to2022-06.xlsx",
            out / "anp/semanal/semanal-regioes-desde-2013.xlsx",
            _weekly_in_window,
        ),
        "anp/mensal/mensal-estados-desde-jan2013.xlsx": _trim_workbook(
            anp / "eduardoicosta__mensal-estados-desde-jan2013.xlsx",
            out / "anp/mensal/mensal-estados-desde-jan2013.xlsx",
            _month_in_window,
        ),
        "anp/semanal/semanal-estados-desde-2013.xlsx": build_state_weekly(data, out),
    }


def build_snapshot(data: Path, out: Path) -> BuildReport:
    """Write every snapshot file, then coverage.json and NOTICE.md parsed from the outputs."""
    rows: dict[str, int] = {"bcb/USD.csv": build_ptax(data, out)}
    rows.update(build_yahoo(data, out))
    rows["fred/DCOILBRENTEU.csv"] = build_fred(data, out)
    rows.update(build_anp(data, out))
    cov = coverage(Snapshot(out))
    payload = {
        "window": {"start": WINDOW_START.isoformat(), "end": WINDOW_END.isoformat()},
        "series": cov,
    }
    (out / "coverage.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    write_notice(out, rows, WINDOW_START, WINDOW_END, DRIVERS_END)
    return BuildReport(rows)
