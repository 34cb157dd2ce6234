"""`fuelpipe stations ingest`'s table of files on a terminal narrower than its every column
(about 110): four columns, the other counts named in one when not 0."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import fuelpipe, on_terminal
from tests.lake.conftest import BOM, real_lines, set_cell
from tests.support.tables import box_tables, cells, widest

pytest.importorskip("duckdb")

SALE = 12  # "Valor de Venda"


@pytest.mark.parametrize("columns", [80, 60])
def test_the_ingest_table_fits_a_narrow_terminal(tmp_path, columns):
    """Synthetic: a real file's first 20 records, one price made unreadable. At 80 columns
    the nine columns wrapped their headers and counts over lines ("already in lake" as
    "alre/ady/in/lake"); now four, every count whole."""
    lines = real_lines("glp", 20)
    lines[5] = set_cell(lines[5], SALE, "abc")  # the one synthetic edit
    path = tmp_path / "glp-bad.csv"
    path.write_bytes(BOM + "\r\n".join(lines).encode())
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    shown = on_terminal(
        "stations", "ingest", "--kind", "rolling", str(path), env=env, columns=columns
    )
    (table,) = box_tables(shown)
    assert widest(table) <= columns, "\n".join(table)
    row = cells(table, "glp-bad.csv")
    assert row == {"file": "glp-bad.csv", "rows": "20", "written": "19", "to look at": "1 rejected"}
    assert "csv-utf8-bom, rolling" in " ".join(shown.split())  # format and kind, below the name
    # piped (150 wide), every column as before
    piped = cells(
        box_tables(
            fuelpipe(
                "stations", "ingest", "--force", "--kind", "rolling", str(path), env=env
            ).stdout
        )[0],
        "glp-bad.csv",
    )
    assert (piped["already in lake"], piped["rejected"], piped["kind"]) == ("19", "1", "rolling")
