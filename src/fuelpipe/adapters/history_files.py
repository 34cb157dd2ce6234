"""The real history bundled in a checkout's ``datasets/`` folder, read into series by store key.

The outlook's backtest runs offline on these files. Each file is parsed by the same code the
pipeline uses for that source where one exists (the ANP workbook and FRED CSV parsers); the
other files (SGS-style PTAX export, Yahoo-style CSVs, state extracts) get a small reader here,
because no pipeline adapter reads their layout.

Which PTAX is which (checked against each other on their 715 common dates):
``fx/lucagpgirardi__ptax_sgs1.csv`` holds the PTAX **buy** (compra) rate, 1984–2024, with
values before 1994-07 in older currencies; ``fx/strongylis__ptax.csv`` holds both the **sell**
(venda) and buy rates, 2021-05..2026-07. The pipeline's ``CURRENCY#USD`` is the sell rate, so
sell is used wherever it exists and the buy rate (0.0006 BRL lower, i.e. about 0.01%) fills the
years before 2021-05; the outlook uses only log changes, which that difference cannot move.

FRED's Brent spot comes from three copies of ``DCOILBRENTEU`` fetched at different times:
``brent/FRED_DCOILBRENTEU_1987-05-20_2020-12-07.csv`` (the years before 2015; required),
``brent/kianezimmermann94__DCOILBRENTEU_2015-01-02_2026-05-01.csv`` (2015 to 2026-05-01) and
``brent/jackthompsondb__DCOILBRENTEU.csv`` (2020 to 2025-01, all within the second; read so a
history without the second still has Brent to 2025). On every day two of them share, their
values and empty days are the same (datasets/MANIFEST.md; a test checks it), so the order they
are read in changes nothing.

Brent futures (``BZ=F``, Yahoo's continuous front-month contract) come from two Yahoo exports:
``stocks/henriquebrnetto__BZ=F.csv`` (yfinance ``history()``, 2017-11-09 .. 2022-11-09) and the
``BZ=F`` rows of ``stocks/strongylis__yahoo.csv`` (closes only, 2021-05-24 .. 2026-07-02). On
the 371 days they share they agree to the cent but on 7: the first file's last row, 2022-11-09
(92.65 in the second; a session still trading when it was fetched), and six roll days, where
the first file has a flat bar (Open = High = Low = Close) that is no settlement: 2021-06-01
69.63 (second file 70.25), 2021-12-31 79.20 (77.78), 2022-02-01 91.29 (89.16), 2022-03-01
100.85 (104.97), 2022-04-01 107.67 (104.39), 2022-05-02 109.36 (107.58). ICE Brent's front
month expires on the last business day of the second month before delivery, and Yahoo's
continuous contract rolls to the next one there: the flat bars fall on that day or the first
business day after it. The second file is right: where such a day ends a week,
``brent/investing_brent_futures_weekly_2012-12-30_2022-05-01.csv`` (Investing.com's ICE Brent,
an independent export) has the second file's close (77.78 for 2021-12-31, 104.39 for
2022-04-01), and on every week-ending flat bar of the first file (2017-12-01, 2017-12-29,
2018-06-01, 2019-02-01, 2019-03-01, 2019-11-01, 2020-05-01, 2021-04-01, 2021-12-31, 2022-04-01)
it disagrees with the first file, as on no other week but holiday weeks (a test checks it).
So the rule: a flat bar of the yfinance export is not a close and is left out (45 of its
1,257 rows, all on roll days; no other source has the 39 before 2021-05-24, so those days have
no value), and on a shared day the second file's close wins.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from fuelpipe.adapters.sources.anp import parse_workbook_detailed
from fuelpipe.adapters.sources.fred import parse_fred_csv
from fuelpipe.domain.catalog import ANP_WEEKLY_UNITS, STATES
from fuelpipe.domain.keys import commodity_key, currency_key, fuel_key
from fuelpipe.ports.source import InvalidPayload

Points = list[tuple[date, float]]

USD_KEY = currency_key("USD")
BRENT_KEY = commodity_key("BRENT")
BRENT_FUTURES_KEY = commodity_key("BRENT_FUTURES")

ANP_BRAZIL = "anp/maikereis__semanal-brasil-desde-2013.xlsx"
ANP_REGIONS = "anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx"
ANP_STATES_RECENT = "anp/strongylis__anp_shlp_estados.csv"
ANP_STATES_GASOLINE = "anp/fabiocaffarello__DataGas.csv"
FRED_OLD = "brent/FRED_DCOILBRENTEU_1987-05-20_2020-12-07.csv"
FRED_NEW = "brent/jackthompsondb__DCOILBRENTEU.csv"
FRED_RECENT = "brent/kianezimmermann94__DCOILBRENTEU_2015-01-02_2026-05-01.csv"
PTAX_BUY = "fx/lucagpgirardi__ptax_sgs1.csv"
PTAX_SELL_BUY = "fx/strongylis__ptax.csv"
BZF_OLD = "stocks/henriquebrnetto__BZ=F.csv"
BZF_LONG = "stocks/strongylis__yahoo.csv"

REQUIRED = (ANP_BRAZIL, FRED_OLD, PTAX_BUY)
"""Without these three there is no backtest; the others extend it (regions, states, recent)."""

_PTAX_FROM = date(1994, 7, 1)  # the real: earlier values are in older currencies
_STATE_PRODUCTS = {"gasolina_c": "GASOLINE", "hidratado": "ETHANOL"}
_UF_BY_NAME = {name: uf for uf, (name, _region) in STATES.items()}


class HistoryNotFoundError(FileNotFoundError):
    """The history folder or one of its required files is missing."""


class HistoryFileError(ValueError):
    """One history file cannot be used: it cannot be read at all (corrupt, empty, not its
    layout), or it is a required one and none of its rows could be read. ``name`` is its path
    below ``folder``, ``detail`` why."""

    def __init__(self, folder: Path, name: str, detail: str) -> None:
        self.folder, self.name, self.detail = folder, name, detail
        super().__init__(f"{folder / name} {detail}")


@dataclass(frozen=True)
class FileRead:
    """What one history file gave: rows used, rows skipped and the first skip's reason."""

    used: int
    skipped: int = 0
    first: str | None = None


@dataclass
class History:
    """Every series read, by store key, in date order; plus one line per skipped row or file."""

    series: dict[str, Points] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    files: dict[str, FileRead] = field(default_factory=dict)
    """Each file read, by its path below the history folder."""
    missing: list[str] = field(default_factory=list)
    """The optional files not found (the series they would add are shorter)."""

    def warnings(self) -> list[str]:
        """One line per file with rows skipped (how many, and the first reason) and per
        optional file missing: what makes this history differ from the bundled one."""
        out = [
            f"{name}: {read.skipped:,} row(s) skipped, {read.used:,} used"
            + (f" (first: {read.first})" if read.first else "")
            for name, read in self.files.items()
            if read.skipped
        ]
        out += [f"{name}: not found; the series it would add are shorter" for name in self.missing]
        return out

    def add(self, key: str, points: Iterable[tuple[date, float]], *, replace: bool) -> None:
        """Merge points into a key; ``replace`` says whether a new date's value wins."""
        merged = dict(self.series.get(key, []))
        for day, value in points:
            if replace or day not in merged:
                merged[day] = value
        self.series[key] = sorted(merged.items())


def find_history(explicit: Path | None, anchors: Iterable[Path]) -> Path:
    """The history folder: the one given, else ``datasets/`` beside or above an anchor."""
    if explicit is not None:
        if not explicit.exists():
            raise HistoryNotFoundError(
                f"--history {explicit}: no such folder (pass the folder holding the history "
                "files, a fuelpipe checkout's datasets/)"
            )
        if not explicit.is_dir():
            raise HistoryNotFoundError(
                f"--history {explicit}: not a folder (pass the folder holding the history files)"
            )
        candidates = [explicit]
    else:
        candidates = [
            parent / "datasets" for anchor in anchors for parent in (anchor, *anchor.parents)
        ]
    for folder in candidates:
        if all((folder / name).is_file() for name in REQUIRED):
            return folder
    if explicit is not None:  # given: the hint is not to give it
        where, hint = str(explicit), "pass the folder holding them, a fuelpipe checkout's datasets/"
    else:
        where = "the working directory or the checkout"
        hint = "run from a fuelpipe checkout or pass --history DIR"
    raise HistoryNotFoundError(
        f"no bundled history found in {where}: need {', '.join(REQUIRED)} ({hint})"
    )


def load_history(folder: Path, *, with_areas: bool = True) -> History:
    """Read every known file under ``folder``; a missing optional file is noted, not fatal."""
    history = History()
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise HistoryNotFoundError(f"{folder}: missing {', '.join(missing)}")
    _read(history, folder, ANP_BRAZIL, _anp_brazil)
    readers: list[tuple[str, Callable[[History, Path], FileRead]]] = [
        (FRED_OLD, _fred),
        (FRED_RECENT, _fred),
        (FRED_NEW, _fred),
        (PTAX_BUY, _ptax_buy),
        (PTAX_SELL_BUY, _ptax_sell),
        (BZF_OLD, _bzf_yfinance),
        (BZF_LONG, _bzf_long),
    ]
    if with_areas:
        readers += [
            (ANP_REGIONS, _anp_regions),
            (ANP_STATES_GASOLINE, _states_gasoline),
            (ANP_STATES_RECENT, _states_recent),
        ]
    for name, reader in readers:
        path = folder / name
        if not path.is_file():
            history.problems.append(f"{name}: not found; series it would add are shorter")
            history.missing.append(name)
            continue
        _read(history, folder, name, reader)
    for name in REQUIRED:  # a required file none of whose rows reads: no backtest from it
        read = history.files.get(name)
        if read is not None and not read.used:
            first = f"; first: {read.first}" if read.first else ""
            raise HistoryFileError(
                folder, name, f"has no usable row ({read.skipped:,} skipped{first})"
            )
    return history


def _read(
    history: History, folder: Path, name: str, reader: Callable[[History, Path], FileRead]
) -> None:
    """Read one file into ``history``; a file that cannot be read at all is a
    HistoryFileError naming it."""
    try:
        history.files[name] = reader(history, folder / name)
    except (InvalidPayload, UnicodeDecodeError, csv.Error) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise HistoryFileError(folder, name, f"cannot be read: {detail}") from exc


_MORE = re.compile(r"and (\d+) more rows$")


def _anp_workbook(history: History, path: Path, unit: str) -> FileRead:
    parsed = parse_workbook_detailed(path.read_bytes(), unit, path.name)
    history.problems.extend(parsed.problems)
    by_key: dict[str, Points] = {}
    for obs in parsed.observations:
        by_key.setdefault(obs.key, []).append((obs.date, float(obs.value)))
    for key, points in by_key.items():
        history.add(key, points, replace=True)
    skipped = len(parsed.problems)
    if parsed.problems and (more := _MORE.search(parsed.problems[-1])):
        skipped += int(more.group(1)) - 1  # the last line counts the ones not kept
    return FileRead(len(parsed.observations), skipped, next(iter(parsed.problems), None))


def _anp_brazil(history: History, path: Path) -> FileRead:
    return _anp_workbook(history, path, ANP_WEEKLY_UNITS["BR"])


def _anp_regions(history: History, path: Path) -> FileRead:
    return _anp_workbook(history, path, ANP_WEEKLY_UNITS["REGION"])


def _fred(history: History, path: Path) -> FileRead:
    # FRED's own parser; these files' layout is the fredgraph.csv one (old or new header).
    observations, _notes = parse_fred_csv(
        path.read_bytes(), "DCOILBRENTEU", BRENT_KEY, date(1900, 1, 1), date(2100, 1, 1), path.name
    )
    history.add(BRENT_KEY, ((o.date, float(o.value)) for o in observations), replace=False)
    return FileRead(len(observations))


def _rows(path: Path, delimiter: str = ",") -> Iterable[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield from enumerate(csv.DictReader(handle, delimiter=delimiter), start=2)


def _number(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _collect(
    history: History,
    path: Path,
    parse: Callable[[dict[str, str]], tuple[str, date, float | None] | None],
    *,
    replace: bool,
    delimiter: str = ",",
) -> FileRead:
    """Rows → points by key; a row that does not parse is one problem line, the rest go on."""
    by_key: dict[str, Points] = {}
    skipped: list[str] = []
    for line, row in _rows(path, delimiter):
        try:
            got = parse(row)
        except KeyError as exc:
            skipped.append(f"line {line}: no column {exc}")
            continue
        except ValueError as exc:
            skipped.append(f"line {line}: {exc}")
            continue
        if got is None:
            continue
        key, day, value = got
        if value is None:
            skipped.append(f"line {line}: no value")
            continue
        by_key.setdefault(key, []).append((day, value))
    history.problems.extend(f"{path.name} {why}; row skipped" for why in skipped)
    for key, points in by_key.items():
        history.add(key, points, replace=replace)
    used = sum(len(points) for points in by_key.values())
    return FileRead(used, len(skipped), next(iter(skipped), None))


def _ptax_buy(history: History, path: Path) -> FileRead:
    def parse(row: dict[str, str]) -> tuple[str, date, float | None] | None:
        # Split, not strptime("%d/%m/%Y"): 0.5 µs a row, not 3.7, on ~10,000 rows a load.
        dd, mm, yyyy = row["Data"].split("/")
        day = date(int(yyyy), int(mm), int(dd))
        return None if day < _PTAX_FROM else (USD_KEY, day, _number(row["ptax"]))

    return _collect(history, path, parse, replace=False, delimiter=";")


def _ptax_sell(history: History, path: Path) -> FileRead:
    def parse(row: dict[str, str]) -> tuple[str, date, float | None]:
        return USD_KEY, date.fromisoformat(row["data"]), _number(row["venda"])

    return _collect(history, path, parse, replace=True)  # sell wins over buy on common dates


def is_roll_placeholder(row: dict[str, str]) -> bool:
    """A yfinance bar of Yahoo's continuous BZ=F with Open = High = Low = Close: on the
    contract's roll days Yahoo's history holds such a flat bar, which is no settlement (see the
    module's notes); a traded day's bar has a range."""
    return row["Open"] == row["High"] == row["Low"] == row["Close"]


def _bzf_yfinance(history: History, path: Path) -> FileRead:
    def parse(row: dict[str, str]) -> tuple[str, date, float | None] | None:
        if is_roll_placeholder(row):
            return None
        return BRENT_FUTURES_KEY, date.fromisoformat(row["Date"][:10]), _number(row["Close"])

    return _collect(history, path, parse, replace=False)


def _bzf_long(history: History, path: Path) -> FileRead:
    def parse(row: dict[str, str]) -> tuple[str, date, float | None] | None:
        if row["ticker"] != "BZ=F":
            return None
        return BRENT_FUTURES_KEY, date.fromisoformat(row["data"]), _number(row["close"])

    # Wins on a shared day: the yfinance export's only other differing close is its last row,
    # a session still trading when it was fetched (module notes).
    return _collect(history, path, parse, replace=True)


def _states_gasoline(history: History, path: Path) -> FileRead:
    def parse(row: dict[str, str]) -> tuple[str, date, float | None] | None:
        if row["Product"].strip() != "GASOLINA COMUM":
            return None
        uf = _UF_BY_NAME.get(row["State"].strip())
        if uf is None:
            raise ValueError(f"unknown state {row['State']!r}")
        day = date.fromisoformat(row["Analysis_Date"])  # DATA INICIAL, the Sunday
        return fuel_key("GASOLINE", uf), day, _number(row["Mean_Price"])

    return _collect(history, path, parse, replace=False)


def _states_recent(history: History, path: Path) -> FileRead:
    def parse(row: dict[str, str]) -> tuple[str, date, float | None] | None:
        product = _STATE_PRODUCTS.get(row["produto"])
        if product is None:
            return None
        end = date.fromisoformat(row["data"])  # the survey week's Saturday
        return (
            fuel_key(product, row["estado"]),
            end - timedelta(days=6),
            _number(row["preco_medio"]),
        )

    return _collect(history, path, parse, replace=True)
