"""`fuelpipe outlook show`'s table on `fuelpipe demo`'s store: the default fits a 100-column
terminal with "as of" in its title, `--wide` has it on every row."""

from __future__ import annotations

import json
from datetime import datetime

from tests.e2e.conftest import fuelpipe
from tests.support.tables import TERMINAL, box_lines, cells, widest

SP = ("outlook", "show", "--area", "SP")


def _as_of(env: dict[str, str]) -> dict[str, str]:
    """Each fuel's "as of" to the minute, with its offset, from `--json`."""
    rows = json.loads(fuelpipe(*SP, "--json", env=env).stdout)
    return {
        r["fuel"]: datetime.fromisoformat(r["as_of"]).isoformat(timespec="minutes") for r in rows
    }


def test_the_default_table_fits_a_100_column_terminal(demo_store):
    """Gasoline and ethanol, 5 weeks each (the table was 109 wide, "as of" cut when squeezed)."""
    env, _, _ = demo_store
    done = fuelpipe(*SP, env=env)
    table = box_lines(done.stdout)
    assert widest(table) <= TERMINAL, "\n".join(table[:3])
    (as_of,) = set(_as_of(env).values())  # one refresh made both
    title = done.stdout.splitlines()[0].strip()
    assert title == f"SP, as of {as_of}"
    row = cells(table, "GASOLINE", "2026-06-21", "6.450", "2026-06-28")
    assert "as of" not in row
    assert (row["nowcast"], row["80%"], row["95%"]) == ("6.450", "6.418–6.482", "6.360–6.542")


def test_wide_has_as_of_on_every_row(demo_store):
    env, _, _ = demo_store
    as_of = _as_of(env)
    table = box_lines(fuelpipe(*SP, "--wide", env=env).stdout)
    rows = [ln for ln in table if ln.startswith("│")]
    assert len(rows) == 10
    last = {"GASOLINE": "6.450", "ETHANOL": "3.820"}
    for fuel, at in as_of.items():
        assert cells(table, fuel, at, "2026-06-21", last[fuel], "2026-06-28")["as of"] == at
    helped = " ".join(fuelpipe("outlook", "show", "--help", env=env).stdout.split())
    assert "--wide puts it on every row" in helped
