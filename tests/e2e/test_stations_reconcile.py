"""`fuelpipe stations reconcile` on `fuelpipe demo`'s store and lake: the real station sample
(2025-03-23..04-19) against ANP's real weekly state averages the demo stored, as a user runs it."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from typing import Any

import pytest
from tests.e2e.conftest import EMPTY_RUN, fuelpipe, on_terminal
from tests.lake.conftest import BOM, acre_gasoline_surveyed_twice, real_file
from tests.support.tables import BOX, TERMINAL, cells, widest

from fuelpipe.domain.catalog import STATES
from fuelpipe.domain.stations import (
    RECONCILE_MEDIAN_PCT,
    RECONCILE_MIN_COVERAGE,
    RECONCILE_TOLERANCE_PCT,
)

pytest.importorskip("duckdb")

WEEKS = ["2025-03-23", "2025-03-30", "2025-04-06", "2025-04-13"]


def _reconcile(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return fuelpipe("stations", "reconcile", *args, env=env, check=False)


def _one_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def _row(rows: list[dict[str, Any]], fuel: str, state: str, week: str) -> dict[str, Any]:
    (row,) = [r for r in rows if (r["fuel"], r["state"], r["week_start"]) == (fuel, state, week)]
    return row


def _table_lines(stdout: str) -> list[str]:
    """The table's lines: the title, the box and its rows (not the summary after it)."""
    *table, _summary = stdout.strip("\n").splitlines()
    return table


def test_every_state_week_of_the_sample_is_reconciled_within_the_tolerance(demo_store):
    env, _, _ = demo_store
    done = _reconcile(env, "-f", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    # both fuels, the 27 states, the sample's four survey weeks: ANP published every one
    assert {(r["fuel"], r["state"], r["week_start"]) for r in rows} == {
        (f, s, w) for f in ("GASOLINE", "ETHANOL") for s in STATES for w in WEEKS
    }
    compared = [r for r in rows if r["result"] != "not compared"]
    assert len(compared) == 212
    assert all(r["coverage"] >= RECONCILE_MIN_COVERAGE for r in compared)
    assert all(abs(r["diff_pct"]) <= RECONCILE_TOLERANCE_PCT for r in compared)
    assert {r["result"] for r in compared} == {"within"}
    # São Paulo's gasoline in the week of 2025-03-23: ANP's whole sample is in the file
    sp = _row(rows, "GASOLINE", "SP", "2025-03-23")
    assert sp["week_end"] == "2025-03-29"
    assert sp["observations"] == sp["stations"] == sp["published_stations"] == 1216
    assert sp["published_mean"] == 6.17
    assert sp["station_mean"] == pytest.approx(6.17, abs=0.01)
    assert sp["coverage"] == 1.0 and sp["result"] == "within"
    # Acre's ethanol in the last week: the rolling file holds 1 of ANP's 9 stations
    ac = _row(rows, "ETHANOL", "AC", "2025-04-13")
    assert (ac["observations"], ac["stations"], ac["published_stations"]) == (1, 1, 9)
    assert ac["result"] == "not compared"
    summary = done.stderr.strip().splitlines()[-1]
    assert summary.startswith("216 state-weeks: 212 compared (coverage at least 80%), 212 within")
    assert f"±{RECONCILE_TOLERANCE_PCT:g}%" in summary and "register" in summary
    # each fuel's median absolute difference, held to 1%: 0.6% and 0.8% on the real sample
    medians = re.search(
        r"median absolute difference GASOLINE ([0-9.]+)%, ETHANOL ([0-9.]+)%", summary
    )
    assert medians and all(float(m) <= RECONCILE_MEDIAN_PCT for m in medians.groups())
    assert f"(at most {RECONCILE_MEDIAN_PCT:g}%)" in summary


def test_a_bias_inside_the_weekly_tolerance_fails_the_median_check_with_exit_1(
    demo_store, tmp_path
):
    """The real gasoline/ethanol file with every price raised 4.5% (synthetic: a systematic
    bias), reconciled against the demo's real published averages: many weeks stay within ±5%,
    but the medians do not, and the command says so and exits 1 after its rows."""
    env, _, _ = demo_store
    text = real_file("gasolina-etanol")[len(BOM) :].decode("utf-8").split("\r\n")
    biased = [text[0]]
    for line in text[1:]:  # (the sale price is the 4th field from the end: an address may
        cells = line.split(";")  # hold a quoted ";")
        if line:
            price = float(cells[-4].replace(",", ".")) * 1.045
            cells[-4] = f"{price:.2f}".replace(".", ",")
        biased.append(";".join(cells))
    path = tmp_path / "biased.csv"
    path.write_text("\r\n".join(biased), encoding="utf-8")
    lake_env = {**env, "FUELPIPE_LAKE": str(tmp_path / "lake")}
    fuelpipe("stations", "ingest", str(path), env=lake_env)
    done = _reconcile(lake_env, "-f", "json")
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout)  # the rows are all still there
    compared = [r for r in rows if r["result"] != "not compared"]
    assert len(compared) == 212 and {"within", "outside"} <= {r["result"] for r in compared}
    *_, summary, error = done.stderr.strip().splitlines()
    assert "median absolute difference GASOLINE 4." in summary
    assert error.startswith("error: outside the tolerance: GASOLINE ")
    assert "compared state-weeks outside ±5%" in error
    assert "median absolute difference 4." in error and "above 1%" in error
    assert "; ETHANOL " in error


def test_coverage_counts_stations_surveyed_twice_once(demo_store, tmp_path):
    """SYNTHETIC lake (``acre_gasoline_surveyed_twice``: 8 prices of 5 stations against ANP's
    9 in the week of 2025-03-23) against the demo's real published averages: not compared,
    though its prices are 89% of ANP's stations; each row shows both counts."""
    env, _, _ = demo_store
    path = tmp_path / "ultimas-4-semanas-gasolina-etanol.csv"
    path.write_bytes(acre_gasoline_surveyed_twice())
    lake_env = {**env, "FUELPIPE_LAKE": str(tmp_path / "lake")}
    fuelpipe("stations", "ingest", str(path), env=lake_env)
    args = ("--fuel", "gasoline", "--state", "AC", "--since", "2025-03-23")
    done = _reconcile(lake_env, *args, "--until", "2025-04-05", "-f", "json")
    # exit 0: the one week compared is 2.26% off, within ±5%; its median (of one week, of one
    # state) is not held to 1%, which holds over every state
    assert done.returncode == 0, done.stderr
    assert "median absolute difference over AC GASOLINE 2.26% (held to at most 1% only" in (
        " ".join(done.stderr.split())
    )
    thin, full = json.loads(done.stdout)
    assert (thin["week_start"], thin["observations"], thin["stations"]) == ("2025-03-23", 8, 5)
    assert thin["published_stations"] == 9 and thin["coverage"] == round(5 / 9, 3)
    assert thin["result"] == "not compared"
    assert (full["observations"], full["stations"], full["published_stations"]) == (13, 13, 13)
    assert full["result"] == "within"
    assert "2 state-weeks: 1 compared (coverage at least 80%)" in done.stderr
    table = _table_lines(_reconcile(lake_env, *args, "--until", "2025-04-05", "--wide").stdout)
    shown = cells(table, "GASOLINE", "AC", "2025-03-23..03-29")
    assert (shown["observations"], shown["stations"], shown["ANP stations"]) == ("8", "5", "9")
    assert (shown["coverage"], shown["result"]) == ("56%", "not compared")


def test_the_median_rule_holds_over_every_state_not_over_a_subset(demo_store):
    """Maranhão alone: its 8 state-weeks are all within ±5% (its sampled stations sit in
    dearer towns than its register's mix, about 3.5% every week), and its own median, above
    1%, exited 1 with `--state MA` though nothing is amiss. The median rule is measured and
    held over all 27 states; over a subset the summary gives the subset's median and says so."""
    env, _, _ = demo_store
    done = _reconcile(env, "--state", "MA")
    assert done.returncode == 0, done.stderr
    summary = " ".join(done.stdout.strip().splitlines()[-1].split())
    medians = re.search(
        r"median absolute difference over MA GASOLINE ([0-9.]+)%, ETHANOL ([0-9.]+)% "
        r"\(held to at most 1% only over all 27 states: ",
        summary,
    )
    assert medians and all(float(m) > RECONCILE_MEDIAN_PCT for m in medians.groups()), summary
    assert "8 state-weeks: 8 compared (coverage at least 80%), 8 within ±5%" in summary
    # every state, named one by one, is every state: the rule holds (0.59% and 0.66%)
    every = _reconcile(env, "--state", ",".join(sorted(STATES)))
    assert every.returncode == 0, every.stderr
    last = " ".join(every.stdout.strip().splitlines()[-1].split())
    assert "median absolute difference GASOLINE 0.59%, ETHANOL 0.66% (at most 1%)" in last


def test_csv_holds_the_same_rows_as_json(demo_store):
    env, _, _ = demo_store
    args = ("--fuel", "ethanol", "--state", "sp,RJ")
    as_csv = _reconcile(env, *args, "-f", "csv")
    as_json = _reconcile(env, *args, "-f", "json")
    assert as_csv.returncode == as_json.returncode == 0, as_csv.stderr + as_json.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    expected = json.loads(as_json.stdout)
    assert [(r["state"], r["week_start"]) for r in rows] == [
        (s, w) for s in ("RJ", "SP") for w in WEEKS
    ]
    for got, want in zip(rows, expected, strict=True):
        assert got == {k: str(v) for k, v in want.items()}
    assert "8 state-weeks: 8 compared" in as_csv.stderr  # the summary stays off stdout


def test_the_format_is_read_in_any_case_as_export_reads_it(demo_store):
    """`-f CSV` was refused here while `fuelpipe export -f CSV` and this command's --fuel and
    --state take any case."""
    env, _, _ = demo_store
    args = ("--fuel", "ethanol", "--state", "SP")
    lower = _reconcile(env, *args, "-f", "csv")
    for fmt in ("CSV", " Csv "):
        done = _reconcile(env, *args, "-f", fmt)
        assert done.returncode == 0, done.stderr
        assert done.stdout == lower.stdout


def test_table_ends_with_the_summary(demo_store):
    env, _, _ = demo_store
    done = _reconcile(env, "--state", "RR", "--since", "2025-04-13")
    assert done.returncode == 0, done.stderr
    assert "2025-04-13..2025-04-19" in done.stdout  # the whole survey week
    assert "│ GASOLINE │ RR │ 2025-04-13 │   6.990 │" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("2 state-weeks: 2 compared (coverage at least 80%), 2 within ±5%")
    assert "ANP's state average weights each municipality's average by its stations" in last


def test_the_default_table_fits_an_80_column_terminal(demo_store):
    """Every state and both fuels (216 state-weeks): the table (not the prose summary, which
    wraps) is at most 80 columns wide, as --help and docs/CLI.md say (the help said 100), with
    the essential figures of each state-week."""
    env, _, _ = demo_store
    done = _reconcile(env)
    assert done.returncode == 0, done.stderr
    table = _table_lines(done.stdout)
    assert len([ln for ln in table if ln.startswith("│ ")]) == 216
    width = max(len(ln.rstrip()) for ln in table)
    assert width <= 80, f"{width} columns: {table[1]}"
    helped = " ".join(_reconcile(env, "--help").stdout.replace("│", " ").split())
    assert "to fit an 80-column terminal" in helped
    sp = cells(table, "GASOLINE", "SP", "2025-03-23")
    assert sp == {
        "fuel": "GASOLINE",
        "UF": "SP",
        "week of": "2025-03-23",
        "station mean": "6.170",
        "ANP mean": "6.170",
        "diff": "-0.01%",
        "coverage": "100%",
        f"within ±{RECONCILE_TOLERANCE_PCT:g}%": "yes",
    }
    assert "--wide" in done.stdout  # the table says where the rest is


def test_wide_and_the_machine_formats_show_what_the_default_table_leaves_out(demo_store):
    """Acre's ethanol in the last week: 1 price of 1 station against ANP's 9, not compared;
    the week's end and the three counts are in --wide's table, and in CSV and JSON."""
    env, _, _ = demo_store
    args = ("--fuel", "ethanol", "--state", "AC", "--since", "2025-04-13")
    default = cells(_table_lines(_reconcile(env, *args).stdout), "ETHANOL")
    assert default[f"within ±{RECONCILE_TOLERANCE_PCT:g}%"] == "-"
    assert not {"observations", "stations", "ANP stations", "result"} & set(default)
    wide = _reconcile(env, *args, "--wide")
    assert wide.returncode == 0, wide.stderr
    shown = cells(_table_lines(wide.stdout), "ETHANOL")
    assert shown["week"] == "2025-04-13..04-19"
    assert (shown["observations"], shown["stations"], shown["ANP stations"]) == ("1", "1", "9")
    assert (shown["coverage"], shown["result"]) == ("11%", "not compared")
    (row,) = json.loads(_reconcile(env, *args, "-f", "json").stdout)
    assert (row["week_end"], row["observations"], row["stations"]) == ("2025-04-19", 1, 1)
    assert (row["published_stations"], row["result"]) == (9, "not compared")
    # --wide is for the table: the machine formats always hold every column, and --wide with
    # one is refused (it was ignored without a word), as `status --summary --json` is
    refused = _reconcile(env, *args, "-f", "csv", "--wide")
    assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
    assert refused.stderr == (
        "error: --wide is for the table, and -f csv gives every column already: give one\n"
    )
    helped = " ".join(_reconcile(env, "--help").stdout.split())
    assert "--wide" in helped and "-f csv" in helped


def test_wide_prints_every_cell_whole_on_a_narrower_terminal(demo_store):
    """On a 100-column terminal --wide prints its whole table (about 145 columns), as the other
    --wide tables do, not squeezed to the terminal with its cells cut or wrapped."""
    env, _, _ = demo_store
    args = ("--fuel", "ethanol", "--state", "AC", "--since", "2025-04-13")
    shown = on_terminal("stations", "reconcile", *args, "--wide", env=env, columns=TERMINAL)
    table = [ln for ln in shown.splitlines() if ln.startswith(BOX)]
    assert widest(table) > TERMINAL
    (row,) = json.loads(_reconcile(env, *args, "-f", "json").stdout)
    assert cells(table, "ETHANOL") == {
        "fuel": "ETHANOL",
        "state": "AC",
        "week": "2025-04-13..04-19",
        "station mean": f"{row['station_mean']:.3f}",
        "observations": "1",
        "stations": "1",
        "published": f"{row['published_mean']:.3f}",
        "ANP stations": "9",
        "diff": f"{row['diff_pct']:+.2f}%",
        "coverage": "11%",
        "result": "not compared",
    }
    helped = " ".join(_reconcile(env, "--help").stdout.replace("│", " ").split())  # (its box)
    assert "every cell whole on a narrower terminal" in helped


def test_weeks_the_lake_does_not_hold_are_refused_with_exit_1(demo_store):
    env, _, _ = demo_store
    line = _one_error(_reconcile(env, "--since", "2025-03-01", "--until", "2025-03-15"))
    assert line == (
        "error: the lake has no gasoline or ethanol weeks between 2025-02-23 and 2025-03-15 "
        "(`fuelpipe stations status` lists its months)"
    )


def test_a_store_without_the_published_averages_is_refused_with_exit_1(demo_store, tmp_path):
    env, _, _ = demo_store
    empty = {**env, "FUELPIPE_DB": str(tmp_path / "empty.sqlite")}
    fuelpipe(*EMPTY_RUN, env=empty)  # creates an empty store
    line = _one_error(_reconcile(empty, "--fuel", "gasoline", "--state", "SP"))
    assert line.startswith(
        "error: the store has no published gasoline state averages (FUEL#GASOLINE#<UF>) "
        "between 2025-03-23 and 2025-04-19 for SP: run `fuelpipe run` or `fuelpipe demo`"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fuel", "diesel"], "error: --fuel must be GASOLINE or ETHANOL, not 'diesel'"),
        (["--state", "SP,XX"], "error: --state 'XX' is not a UF"),
        (["-f", "xml"], "error: --format must be table, csv or json, not 'xml'"),
    ],
)
def test_bad_options_are_refused_before_the_lake_is_read(args, expected, tmp_path):
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_DB": str(tmp_path / "x.sqlite")}
    done = _reconcile(env, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(expected)
    assert list(tmp_path.iterdir()) == []
