"""`fuelpipe outlook backtest --history DIR` on a copy of the bundled history with one file
spoiled (synthetic faults on the real files): rows skipped are warnings counting them per file,
a required file with no usable row or a file that cannot be read at all is one `error:` line
naming the folder and the file (exit 2, not a crash), and the loop shows a progress bar."""

from __future__ import annotations

import csv
import json
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuelpipe.adapters.history_files import (
    ANP_BRAZIL,
    BRENT_KEY,
    FRED_NEW,
    FRED_OLD,
    FRED_RECENT,
    PTAX_BUY,
    PTAX_SELL_BUY,
    History,
    HistoryFileError,
    load_history,
)
from fuelpipe.cli.main import cli

from .conftest import DATASETS

FILES = (ANP_BRAZIL, FRED_OLD, FRED_RECENT, FRED_NEW, PTAX_BUY, PTAX_SELL_BUY)
ARGS = ["outlook", "backtest", "-f", "GASOLINE", "--from", "2025-01-01"]


def _history(tmp_path: Path, **spoiled: bytes) -> Path:
    """A history folder linking the real files, with ``spoiled`` (by file) replacing some."""
    folder = tmp_path / "hist"
    for name in FILES:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name in spoiled:
            target.write_bytes(spoiled[name])
        else:
            target.symlink_to(DATASETS / name)
    return folder


def _run(folder: Path, *more: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(cli, [*ARGS, "--history", str(folder), *more])
    return done.exit_code, done.stdout, done.stderr


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_required_file_without_one_usable_row_is_an_error_naming_it(tmp_path: Path) -> None:
    """The reviewer's case: the PTAX buy file's rows all unreadable used to leave only the
    2021+ sell rate, changing n and the ratio without a word, exit 0."""
    folder = _history(tmp_path, **{PTAX_BUY: b"date,value\nxx,yy\n"})
    code, out, err = _run(folder, "--json")
    assert code == 2, out + err
    assert out == ""
    assert _errors(err) == [
        f"error: --history {folder}: {PTAX_BUY} has no usable row (1 skipped; first: line 2: "
        "no column 'Data'); the backtest needs it"
    ]
    with pytest.raises(HistoryFileError) as raised:
        load_history(folder, with_areas=False)
    assert (raised.value.folder, raised.value.name) == (folder, PTAX_BUY)


def test_rows_skipped_are_a_warning_counting_them_per_file(tmp_path: Path) -> None:
    real = (DATASETS / PTAX_BUY).read_bytes()
    folder = _history(tmp_path, **{PTAX_BUY: real + b'"32/13/2020";"5,1"\n"02/01/2020";""\n'})
    code, out, err = _run(folder, "--json")
    assert code == 0, err
    assert json.loads(out)  # stdout stays the JSON alone
    used = len(load_history(folder, with_areas=False).series["CURRENCY#USD"])
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings[0].startswith(f"warning: history {folder}: {PTAX_BUY}: 2 row(s) skipped, "), err
    assert "(first: line " in warnings[0] and "month must be in 1..12" in warnings[0]
    assert used > 0
    # the optional files left out of this folder are named too (their series are shorter)
    assert any("stocks/strongylis__yahoo.csv: not found" in line for line in warnings), err


def test_the_bundled_history_gives_no_warning() -> None:
    assert load_history(DATASETS).warnings() == []


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        (ANP_BRAZIL, b"garbage\n", "not a readable workbook"),
        (FRED_OLD, b"", "empty body, not even the header row"),
        (PTAX_SELL_BUY, b"\xff\xfe\x00garbage", "cannot be read"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_plain_error_not_a_crash(
    tmp_path: Path, name: str, content: bytes, why: str
) -> None:
    folder = _history(tmp_path, **{name: content})
    code, out, err = _run(folder)
    assert code == 2, out + err
    (line,) = _errors(err)
    assert line.startswith(f"error: --history {folder}: {name} cannot be read: "), line
    assert why in line
    assert "failed:" not in err and "--debug" not in err and "Traceback" not in err


def test_the_backtest_shows_a_progress_bar_over_fuels_and_areas() -> None:
    args = [*ARGS, "-f", "LPG", "--history", str(DATASETS)]
    shown = CliRunner().invoke(cli, args)
    assert shown.exit_code == 0, shown.output
    assert "fuel x area backtested" in shown.stdout and "2/2" in shown.stdout
    quiet = CliRunner().invoke(cli, [*args, "--json"])
    assert "backtested" not in quiet.output
    rows = [(r["fuel"], r["horizon"]) for r in json.loads(quiet.stdout)]
    assert sorted(rows) == [(f, h) for f in ("GASOLINE", "LPG") for h in range(1, 6)]


def _fred_cells(name: str) -> dict[date, str]:
    """A FRED Brent file's cells by date, read with the csv module alone: '' where FRED has no
    value (the older layout writes '.', the current one an empty cell)."""
    with (DATASETS / name).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    return {date.fromisoformat(day): "" if cell == "." else cell for day, cell in rows}


def test_the_historys_brent_spot_runs_to_2026_05_01_and_equals_its_files(history: History):
    """FRED's Brent from its three bundled copies: the history holds every day one of them has a
    value on, that value, and nothing else; the copies agree on every day two of them share
    (values and empty days; datasets/MANIFEST.md), so the order they are read in cannot
    matter."""
    files = {name: _fred_cells(name) for name in (FRED_OLD, FRED_RECENT, FRED_NEW)}
    shared = {}
    for (a, cells_a), (b, cells_b) in combinations(files.items(), 2):
        common = cells_a.keys() & cells_b.keys()
        assert [d for d in common if bool(cells_a[d]) != bool(cells_b[d])] == []  # same holidays
        assert [d for d in common if cells_a[d] and float(cells_a[d]) != float(cells_b[d])] == []
        shared[a, b] = len(common)
    assert shared == {
        (FRED_OLD, FRED_RECENT): 1_547,
        (FRED_OLD, FRED_NEW): 243,
        (FRED_RECENT, FRED_NEW): 1_305,
    }
    want = {d: float(v) for cells in files.values() for d, v in cells.items() if v}
    brent = dict(history.series[BRENT_KEY])
    assert brent == want
    assert (min(brent), max(brent)) == (date(1987, 5, 20), date(2026, 5, 1))
    assert brent[date(2026, 4, 7)] == 138.21  # MANIFEST's spot value
    assert sum(d > date(2025, 1, 1) for d in brent) == 337  # the 2015-2026 copy's alone


def test_without_the_2015_2026_brent_copy_brent_ends_2025_01_with_a_warning(tmp_path: Path):
    """The 2015-2026 copy is optional: without it the older two still give Brent to 2025-01-01
    (the 2020-2025 copy's end), and the history says which file it lacks."""
    folder = tmp_path / "hist"
    for name in FILES:
        if name != FRED_RECENT:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).symlink_to(DATASETS / name)
    read = load_history(folder, with_areas=False)
    assert read.series[BRENT_KEY][-1][0] == date(2024, 12, 31)  # 2025-01-01 is a holiday
    assert f"{FRED_RECENT}: not found; the series it would add are shorter" in read.warnings()
