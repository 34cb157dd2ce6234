"""`fuelpipe stations query`'s default tables on `fuelpipe demo`'s lake fit a 100-column
terminal; `--wide`, CSV and JSON have every column under its name."""

from __future__ import annotations

import csv
import io

import pytest
from tests.e2e.conftest import fuelpipe
from tests.support.tables import TERMINAL, box_lines, cells, widest

pytest.importorskip("duckdb")

FITS = {  # the query and its options: the table's width before (at 150 columns, unsqueezed)
    ("state_weekly",): 105,
    ("dispersion",): 115,
    ("municipality_ranking",): 122,
    ("municipality_weekly", "--state", "SP", "--municipality", "CAMPINAS"): 120,
}


def _query(env: dict[str, str], *args: str) -> str:
    return fuelpipe("stations", "query", *args, env=env).stdout


@pytest.mark.parametrize("args", list(FITS), ids=[a[0] for a in FITS])
def test_the_default_table_fits_a_100_column_terminal(demo_store, args):
    env, _, _ = demo_store
    table = box_lines(_query(env, *args))
    assert widest(table) <= TERMINAL, "\n".join(table[:3])


def _first_csv_row(env: dict[str, str], *args: str) -> dict[str, str]:
    return next(csv.DictReader(io.StringIO(_query(env, *args, "-f", "csv"))))


def test_ranges_and_short_headers_hold_the_same_figures_as_wide(demo_store):
    """State_weekly's first row (Acre's first week): the default's UF, obs and ranges are
    --wide's state, observations, p10, p90, min_price and max_price."""
    env, _, _ = demo_store
    row = _first_csv_row(env, "state_weekly")
    first = (row["state"], row["week"])
    narrow = cells(box_lines(_query(env, "state_weekly")), *first)
    wide = cells(box_lines(_query(env, "state_weekly", "--wide")), *first)
    assert (narrow["UF"], narrow["obs"]) == (wide["state"], wide["observations"])
    assert narrow["p10–p90"] == f"{wide['p10']}–{wide['p90']}"
    assert narrow["min–max"] == f"{wide['min_price']}–{wide['max_price']}"
    assert f"{float(row['p10']):.3f}" == wide["p10"]  # the same figure CSV gives, to 3 places
    assert list(wide) == list(row)  # --wide: every column under its name


def test_station_search_leaves_the_address_to_wide(demo_store):
    env, _, _ = demo_store
    args = ("station_search", "--text", "SHELL")
    row = _first_csv_row(env, *args)
    default = _query(env, *args)
    shown = box_lines(default)
    heads = {c.strip() for c in next(ln for ln in shown if ln.startswith("┃")).split("┃")}
    assert not {"street", "number", "neighbourhood"} & heads
    assert {"cnpj", "station", "municipality", "UF", "price"} <= heads
    assert "street, number, neighbourhood: --wide or -f csv|json" in default
    assert row["street"] not in default
    assert row["street"] in _query(env, *args, "--wide")
    assert widest(shown) < 188  # it was 188 wide; still over 100 (station names and brands)
    helped = " ".join(fuelpipe("stations", "query", "--help", env=env).stdout.split())
    assert "--wide shows every column under its name" in helped
