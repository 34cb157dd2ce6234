"""`fuelpipe status`'s table on `fuelpipe demo`'s store: the default fits a 100-column terminal,
`--wide` has every count in its own column."""

from __future__ import annotations

import json

from tests.e2e.conftest import fuelpipe
from tests.support.tables import TERMINAL, box_lines, cells, widest

COUNTS = ("missing", "pending", "quarantined", "absent", "unexpected", "revised")


def test_the_default_table_fits_a_100_column_terminal(demo_store):
    """Each of the 287 series on one line, under 100 columns (it was 149), the counts that are
    not 0 named in words."""
    env, _, _ = demo_store
    done = fuelpipe("status", env=env)  # as the demo's last line says to run it
    table = box_lines(done.stdout)
    assert widest(table) <= TERMINAL, "\n".join(table[:3])
    assert len([ln for ln in table if ln.startswith("│")]) == 287
    assert cells(table, "FUEL#ETHANOL#AP") == {
        "key": "FUEL#ETHANOL#AP",
        "expected": "105",
        "present": "90",
        "to look at": "15 absent",
        "first": "2024-06-23",
        "last": "2026-06-21",
    }
    assert cells(table, "COMMODITY#BRENT_FUTURES")["to look at"] == "1 unexpected"
    assert cells(table, "STOCK#PETR4")["to look at"] == "-"
    assert "--wide or --json for every count" in done.stdout


def test_wide_has_a_column_per_count_as_json_gives_them(demo_store):
    env, _, _ = demo_store
    args = ("status", "-s", "FUEL#ETHANOL#AP")
    shown = cells(box_lines(fuelpipe(*args, "--wide", env=env).stdout), "FUEL#ETHANOL#AP")
    (row,) = json.loads(fuelpipe(*args, "--json", env=env).stdout)
    assert shown == {k: f"{v:,}" if isinstance(v, int) else v for k, v in row.items() if k in shown}
    assert set(COUNTS) <= set(shown)
    assert (shown["absent"], shown["missing"]) == ("15", "0")
    helped = " ".join(fuelpipe("status", "--help", env=env).stdout.split())
    assert "--wide" in helped and "--json always gives every count" in helped


def test_summary_and_wide_are_refused_together(demo_store):
    env, _, _ = demo_store
    done = fuelpipe("status", "--summary", "--wide", env=env, check=False)
    assert done.returncode != 0 and done.stdout == ""
    assert "--summary and --wide are two tables" in done.stderr
