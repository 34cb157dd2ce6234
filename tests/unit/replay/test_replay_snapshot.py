"""The bundled snapshot: small, documented, consistent with coverage.json and the real files."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from devtools.datasets import DATASETS
from devtools.snapshot.builder import DRIVERS_END, WINDOW_END, WINDOW_START, build_snapshot

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.replay import SNAPSHOT_DIR, Snapshot, load_coverage
from fuelpipe.replay.snapshot_data import BARS_15M_FILES, IntradayBar, coverage


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_snapshot_is_small_and_every_file_is_in_the_notice() -> None:
    files = _files(SNAPSHOT_DIR)
    assert sum(p.stat().st_size for p in files) < 3 * 1024 * 1024
    notice = (SNAPSHOT_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for path in files:
        rel = path.relative_to(SNAPSHOT_DIR).as_posix()
        if rel not in ("NOTICE.md", "coverage.json"):
            assert f"`{rel}`" in notice, rel
    assert "Nothing in the snapshot is synthetic" in notice
    assert "Adj Close` is set equal to `Close`" in notice


def test_coverage_json_matches_the_files_and_the_catalog() -> None:
    doc = json.loads((SNAPSHOT_DIR / "coverage.json").read_text(encoding="utf-8"))
    assert doc["window"] == {"start": "2021-05-19", "end": "2022-05-07"}
    assert doc["series"] == coverage(Snapshot())
    assert set(doc["series"]) <= set(DEFAULT_CATALOG.keys())
    cov = load_coverage()
    assert (cov.start, cov.end) == (WINDOW_START, WINDOW_END)
    assert cov.series["CURRENCY#USD"].first == date(2021, 5, 19)
    assert cov.series["STOCK#PETR3"].last == date(2022, 3, 14)  # the real file ends there
    assert "FUEL#GASOLINE#SP" in cov.series
    # ANP's Brazil weeks run on past the window to their real file's last week (all seven
    # fuels; LPG lacks one week in the source); the regions' real file ends with the window.
    brazil = {k: s for k, s in cov.series.items() if k.startswith("FUEL#") and k.endswith("#BR")}
    assert len(brazil) == 7
    assert {(s.first, s.last) for s in brazil.values()} == {(date(2021, 5, 16), date(2026, 3, 8))}
    assert sorted(s.count for s in brazil.values()) == [251, *[252] * 6]
    assert cov.series["FUEL#GASOLINE#REGION_SE"].last == date(2022, 5, 1)
    whole = cov.keys_covering(date(2021, 6, 1), date(2022, 3, 1))
    assert {"CURRENCY#USD", "STOCK#PETR4", "COMMODITY#BRENT", "FUEL#GASOLINE#BR"} <= set(whole)
    assert "FUEL#GASOLINE#SP" not in whole


def test_ptax_file_is_weekdays_with_sell_above_buy() -> None:
    with (SNAPSHOT_DIR / "bcb/USD.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        assert date.fromisoformat(r["date"]).weekday() < 5
        assert float(r["sell"]) > float(r["buy"])
        # past the window too: the outlook of the state weeks (2024-06..2026-06) needs PTAX
        assert WINDOW_START <= date.fromisoformat(r["date"]) <= DRIVERS_END
    assert rows[-1]["date"] >= "2026-06-19"  # the last state week's last banking day


def test_values_equal_the_real_source_files(real_data: Callable[[str], Path]) -> None:
    snap = Snapshot()
    with real_data("fx/strongylis__ptax.csv").open(newline="") as fh:
        real_ptax = {r["data"]: (r["venda"], r["compra"]) for r in csv.DictReader(fh)}
    for q in snap.ptax["USD"]:
        assert real_ptax[q.day.isoformat()] == (q.sell, q.buy)
    with real_data("stocks/rowrias__PRIO3.SA.csv").open(newline="") as fh:
        real_prio = {r["Date"]: float(r["Close"]) for r in csv.DictReader(fh)}
    assert all(real_prio[b.day.isoformat()] == b.close for b in snap.bars["PRIO3.SA"])
    with real_data(FRED_BRENT).open(newline="") as fh:
        real_brent = {r["observation_date"]: r["DCOILBRENTEU"] for r in csv.DictReader(fh)}
    assert all(real_brent[o.day.isoformat()] == o.value for o in snap.fred["DCOILBRENTEU"])
    days = [o.day for o in snap.fred["DCOILBRENTEU"]]
    assert (days[0], days[-1]) == (WINDOW_START, date(2026, 5, 1))  # the file's last day


FRED_BRENT = "brent/kianezimmermann94__DCOILBRENTEU_2015-01-02_2026-05-01.csv"
PETR4_FLAT = "stocks/sheep-farm__PETR4.SA_2021-05-19_2025-09-29.csv"


def test_the_two_fred_brent_copies_agree_on_every_common_day(
    real_data: Callable[[str], Path],
) -> None:
    """The bundled Brent spot (to 2026-05-01) was copied page by page: on the 1,305 days the
    former copy (2020-01-02 … 2025-01-01) also has, every value and every holiday is the same."""
    with real_data(FRED_BRENT).open(newline="") as fh:
        new = {r["observation_date"]: r["DCOILBRENTEU"] for r in csv.DictReader(fh)}
    with real_data("brent/jackthompsondb__DCOILBRENTEU.csv").open(newline="") as fh:
        old = {r["observation_date"]: r["DCOILBRENTEU"] for r in csv.DictReader(fh)}
    assert len(old) == 1305 and old.items() <= new.items()


def test_petr4_is_one_source_from_the_window_to_its_end_with_the_window_s_values(
    real_data: Callable[[str], Path],
) -> None:
    """PETR4 comes from one yfinance export for its whole span (one dividend adjustment), its
    prices with the classic CSV's six decimals: the window's Open/High/Low/Close/Volume are the
    former classic export's, to the digit."""
    with real_data(PETR4_FLAT).open(newline="") as fh:
        flat = list(csv.DictReader(fh))
    with real_data("stocks/henriquebrnetto__PETR4.SA.csv").open(newline="") as fh:
        classic = {r["Date"]: r for r in csv.DictReader(fh)}
    with (SNAPSHOT_DIR / "yahoo/PETR4.SA.csv").open(newline="") as fh:
        bundled = list(csv.DictReader(fh))
    assert [r["Date"] for r in bundled] == [r["date"] for r in flat]
    assert (bundled[0]["Date"], bundled[-1]["Date"]) == ("2021-05-19", "2025-09-29")
    for row, src in zip(bundled, flat, strict=True):
        assert float(row["Close"]) == round(float(src["close"]), 6)
        assert float(row["Adj Close"]) == round(float(src["adjclose"]), 6)
        old = classic.get(row["Date"])
        if old is not None:
            assert [row[c] for c in ("Open", "High", "Low", "Close", "Volume")] == [
                old[c] for c in ("Open", "High", "Low", "Close", "Volume")
            ]
    assert sum(r["Date"] in classic for r in bundled) == 370


def _sheet_rows(path: Path) -> list[tuple[object, ...]]:
    """The data rows (below the header on row 18) of an ANP weekly workbook, every cell."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = book.worksheets[0].iter_rows(min_row=19, values_only=True)
        return [row[:16] for row in rows if row[0] is not None]
    finally:
        book.close()


def test_brazil_workbook_keeps_every_real_week_from_the_window_to_the_files_end(
    real_data: Callable[[str], Path],
) -> None:
    """Every row of the real Brazil workbook from the window's first week (DATA FINAL on or
    after its start) to the file's last, cell for cell; none other. It kept the window's weeks
    only (to 2022-05-01), so the demo's Brazil series ended two years before the state weeks
    and the drivers they run beside."""
    real = [
        row
        for row in _sheet_rows(real_data("anp/maikereis__semanal-brasil-desde-2013.xlsx"))
        if row[1].date() >= WINDOW_START and row[0].date() <= DRIVERS_END
    ]
    bundled = _sheet_rows(SNAPSHOT_DIR / "anp/semanal/semanal-brasil-desde-2013.xlsx")
    assert bundled == real
    assert bundled[0][0].date() == date(2021, 5, 16)
    assert bundled[-1][0].date() == date(2026, 3, 8)  # the real file's last week
    assert len(bundled) == 252 * 7 - 1  # LPG has no row for the week of 2022-09-18
    notice = (SNAPSHOT_DIR / "NOTICE.md").read_text(encoding="utf-8")
    row = next(r for r in notice.splitlines() if "`anp/semanal/semanal-brasil" in r)
    assert f"| {len(bundled)} |" in row and "2026-03-08" in row


def test_state_workbook_holds_the_real_weekly_state_values(
    real_data: Callable[[str], Path],
) -> None:
    with real_data("anp/strongylis__anp_shlp_estados.csv").open(newline="") as fh:
        real = {
            (r["data"], r["estado"], r["produto"]): float(r["preco_medio"])
            for r in csv.DictReader(fh)
        }
    ws = openpyxl.load_workbook(
        SNAPSHOT_DIR / "anp/semanal/semanal-estados-desde-2013.xlsx", read_only=True
    ).worksheets[0]
    names = {"SAO PAULO": "SP", "BAHIA": "BA"}
    labels = {"GASOLINA COMUM": "gasolina_c", "ETANOL HIDRATADO": "hidratado"}
    checked = 0
    for row in ws.iter_rows(min_row=19, values_only=True):
        if row[3] in names:
            assert (row[1] - row[0]).days == 6
            assert row[1].weekday() == 5  # DATA FINAL is the survey's Saturday
            key = (row[1].date().isoformat(), names[row[3]], labels[row[4]])
            assert real[key] == row[7]
            assert row[8] == "-"  # the CSV has no standard deviation
            checked += 1
    # every real week (the CSV's 2024-06-29 .. 2026-06-27 Saturdays), both fuels, both states
    weeks = {day for day, uf, _ in real if uf == "SP"}
    assert len(weeks) > 100
    assert checked == len(weeks) * 2 * 2


def test_15_minute_bars_are_the_bundled_file_row_for_row() -> None:
    """Every row of the real PETR4 15-minute file is one bar, its cells as the file has them
    (prices as text, the volume an int); a symbol with no file has none."""
    snapshot = Snapshot()
    path = SNAPSHOT_DIR / BARS_15M_FILES["PETR4.SA"]
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=";"))[1:]
    bars = snapshot.bars_15m("PETR4.SA")
    assert len(bars) == len(rows) > 3_000
    assert bars[0] == IntradayBar(datetime(2020, 6, 22, 10, 0), "21.6", "21.6", "21.37", "21.39",
                                  1_014_900)  # fmt: skip
    assert [(b.start.isoformat(" "), b.open, b.high, b.low, b.close, str(b.volume))
            for b in bars] == [tuple(r) for r in rows]  # fmt: skip
    assert snapshot.bars_15m("VALE3.SA") == []


@pytest.mark.slow
def test_rebuilding_from_real_data_gives_the_bundled_snapshot(
    tmp_path: Path,
) -> None:
    """The builder over the bundled NOTICE.md, as `scripts/build_snapshot.py` runs it: every
    file it writes is the bundled one, byte for byte, and NOTICE.md keeps the rows of the files
    other tools bundle beside its own (the intraday files, the station sample: this builder
    does not write them; it compared them with files it never made since they were added)."""
    (tmp_path / "NOTICE.md").write_bytes((SNAPSHOT_DIR / "NOTICE.md").read_bytes())
    written = {*build_snapshot(DATASETS, tmp_path).rows, "coverage.json", "NOTICE.md"}
    notice = (SNAPSHOT_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for path in _files(SNAPSHOT_DIR):
        rel = path.relative_to(SNAPSHOT_DIR).as_posix()
        if rel in written:
            assert (tmp_path / rel).read_bytes() == path.read_bytes(), rel
        else:  # another tool's file: not rebuilt here, its origin row kept
            assert not (tmp_path / rel).exists() and f"| `{rel}` |" in notice, rel
    assert {p.relative_to(tmp_path).as_posix() for p in _files(tmp_path)} == written
