"""Each source's real published days, read from the files in ``datasets/``.

A history is the span a file covers and the days inside it on which the source published a
value. The calendar check (test_calendar_history.py, scripts/calendar_report.py) compares
those days with what each catalog calendar expects over the same span.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"


@dataclass(frozen=True)
class History:
    """One source file: the calendar it should follow, its span and its published days."""

    source: str
    """Row label in docs/CALENDARS.md, e.g. ``PTAX`` or ``B3 PETR4``."""
    calendar: str
    file: str
    """Path under datasets/."""
    first: date
    last: date
    published: frozenset[date]
    note: str = ""


def _csv(path: str, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with (DATASETS / path).open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh, delimiter=delimiter)


def _history(
    source: str, calendar: str, path: str, rows: dict[date, bool], note: str = ""
) -> History:
    """``rows`` maps every dated row of the file to True when it carries a published value."""
    return History(
        source=source,
        calendar=calendar,
        file=path,
        first=min(rows),
        last=max(rows),
        published=frozenset(d for d, has in rows.items() if has),
        note=note,
    )


def ptax_sgs() -> History:
    """SGS export (PTAX buy rate; the days are the PTAX days), from the Real (1994-07-01) on."""
    path = "fx/lucagpgirardi__ptax_sgs1.csv"
    rows = {
        datetime.strptime(r["Data"], "%d/%m/%Y").date(): bool(r["ptax"].strip())
        for r in _csv(path, ";")
    }
    rows = {d: v for d, v in rows.items() if d >= date(1994, 7, 1)}
    return _history("PTAX (SGS)", "ANBIMA", path, rows, "from 1994-07-01 (the Real)")


def ptax_olinda() -> History:
    path = "fx/strongylis__ptax.csv"
    rows = {date.fromisoformat(r["data"]): bool(r["venda"].strip()) for r in _csv(path)}
    return _history("PTAX (Olinda)", "ANBIMA", path, rows)


def fred(path: str) -> History:
    """A FRED download: ``.`` (old layout) or an empty cell (current) means no value."""
    rows: dict[date, bool] = {}
    for r in _csv(path):
        day = r.get("observation_date") or r["DATE"]
        rows[date.fromisoformat(day)] = r["DCOILBRENTEU"].strip() not in ("", ".")
    return _history("FRED Brent", "FRED_BRENT", path, rows)


def is_stale_bar(r: dict[str, str]) -> bool:
    """Yahoo's zero-volume bar on a closed day: open = high = low = close, volume 0."""
    o, h, low, c = (float(r[k]) for k in ("Open", "High", "Low", "Close"))
    return o == h == low == c and float(r["Volume"]) == 0


def yahoo(source: str, calendar: str, path: str) -> History:
    """A Yahoo-style daily export; stale zero-volume bars are not published values."""
    rows: dict[date, bool] = {}
    for r in _csv(path):
        day = date.fromisoformat(r["Date"][:10])
        rows[day] = bool(r["Close"].strip()) and r["Close"] != "null" and not is_stale_bar(r)
    return _history(source, calendar, path, rows)


def yahoo_long(source: str, calendar: str, path: str, ticker: str) -> History:
    """A long-format Yahoo export (``data``, ``ticker``, ``close``, ...): one ticker's closes."""
    rows = {
        date.fromisoformat(r["data"]): bool(r["close"].strip())
        for r in _csv(path)
        if r["ticker"] == ticker
    }
    return _history(source, calendar, path, rows)


def _anp_weeks(path: str, column: str = "DATA INICIAL") -> dict[date, bool]:
    """``column`` (a week's DATA INICIAL, a month's MÊS) of every row with a numeric average
    price."""
    book = openpyxl.load_workbook(DATASETS / path, read_only=True, data_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    header: list[str] = []
    for row in rows:
        if row and "PRODUTO" in row:
            header = [str(c).strip() if c else "" for c in row]
            break
    start, price = header.index(column), header.index("PREÇO MÉDIO REVENDA")
    weeks: dict[date, bool] = {}
    for row in rows:
        if isinstance(row[start], datetime):
            week = row[start].date()
            weeks[week] = weeks.get(week, False) or isinstance(row[price], int | float)
    book.close()
    return weeks


def anp(source: str, path: str) -> History:
    return _history(source, "ANP_WEEKLY", path, _anp_weeks(path))


def anp_monthly(source: str, path: str) -> History:
    return _history(source, "MONTHLY", path, _anp_weeks(path, "MÊS"))


def weekly_nyse(path: str) -> History:
    """pmshea's weekly bars: one row per week, dated the week's first day (not a session)."""
    rows = {date.fromisoformat(r["Date"]): True for r in _csv(path)}
    return _history(
        f"NYSE weekly {Path(path).stem.split('__')[1]}",
        "NYSE",
        path,
        rows,
        "weekly bars: checked per week (a week with a bar has a session)",
    )


NYSE_DAILY = sorted(
    [
        f"stocks/daily-2018-2023/{p.name}"
        for p in (DATASETS / "stocks/daily-2018-2023").glob("*.csv")
    ]
    + [f"stocks/mikemills7__{t}.csv" for t in ("BP", "CVX", "SHEL", "XOM")]
)
NYSE_WEEKLY = [f"stocks/pmshea__{t}.csv" for t in ("BP", "CVX", "RDS-A", "TOT", "XOM")]


def _label(path: str) -> str:
    name = Path(path).stem
    return name.split("__")[-1].split("_daily")[0].removesuffix(".SA")


HISTORIES: list[Callable[[], History]] = [
    ptax_sgs,
    ptax_olinda,
    lambda: fred("brent/FRED_DCOILBRENTEU_1987-05-20_2020-12-07.csv"),
    lambda: fred("brent/jackthompsondb__DCOILBRENTEU.csv"),
    *(
        (lambda p=p: yahoo(f"B3 {_label(p)}", "B3", p))
        for p in (
            "stocks/henriquebrnetto__PETR4.SA.csv",
            "stocks/rowrias__PETR3.SA.csv",
            "stocks/rowrias__PRIO3.SA.csv",
        )
    ),
    *((lambda p=p: yahoo(f"NYSE {_label(p)}", "NYSE", p)) for p in NYSE_DAILY),
    # Two downloads of the same ticker: their bars on NYSE holidays differ (docs/CALENDARS.md).
    lambda: yahoo("Brent futures BZ=F 2022", "NYMEX_BRENT", "stocks/henriquebrnetto__BZ=F.csv"),
    lambda: yahoo_long(
        "Brent futures BZ=F 2026", "NYMEX_BRENT", "stocks/strongylis__yahoo.csv", "BZ=F"
    ),
    lambda: anp("ANP weekly Brazil", "anp/maikereis__semanal-brasil-desde-2013.xlsx"),
    lambda: anp("ANP weekly regions", "anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx"),
    lambda: anp_monthly(
        "ANP monthly states", "anp/eduardoicosta__mensal-estados-desde-jan2013.xlsx"
    ),
]


@dataclass(frozen=True)
class Mismatch:
    """Where a calendar and a source's real history disagree."""

    history: History
    unexpected: list[date]
    """Days with a published value that the calendar does not expect."""
    unpublished: list[date]
    """Expected days without a published value."""


def compare(history: History) -> Mismatch:
    """The calendar of ``history`` against its published days, over the file's span."""
    from fuelpipe.domain.calendars import expected_between, get_calendar

    cal = get_calendar(history.calendar)
    expected = set(expected_between(cal, history.first, history.last))
    return Mismatch(
        history,
        sorted(history.published - expected),
        sorted(expected - history.published),
    )
