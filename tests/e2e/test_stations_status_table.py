"""`fuelpipe stations status`'s files table: the default fits a 100-column terminal, `--wide`
and `--json` have each file's source and the instant to the microsecond."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.e2e.conftest import fuelpipe
from tests.lake.conftest import BOM, real_lines, set_cell
from tests.support.tables import TERMINAL, box_lines, box_tables, cells, widest

pytest.importorskip("duckdb")

SP_OFFSET = timedelta(hours=3)
"""São Paulo's offset from UTC (no daylight saving since 2019)."""

SALE = 12  # "Valor de Venda"
GLP = "ultimas-4-semanas-glp.csv"


def _glp(env: dict[str, str]) -> dict[str, Any]:
    """The manifest entry of the demo's LPG file, as `stations status --json` gives it."""
    state = json.loads(fuelpipe("stations", "status", "--json", env=env).stdout)
    (entry,) = [e for e in state["files"].values() if e["name"] == GLP]
    return entry


def test_the_default_files_table_fits_a_100_column_terminal(demo_store):
    """The demo's three ANP files (their table was 225 wide, the source URLs 85)."""
    env, _, _ = demo_store
    done = fuelpipe("stations", "status", env=env)
    tables = box_lines(done.stdout)
    assert widest(tables) <= TERMINAL, "\n".join(tables[:4])
    entry = _glp(env)
    at = datetime.fromisoformat(entry["ingested_at"]).astimezone(UTC) - SP_OFFSET
    assert cells(box_tables(done.stdout)[0], GLP) == {
        "file": GLP,
        "ingested": at.strftime("%Y-%m-%dT%H:%M-03:00"),  # São Paulo time, as elsewhere
        "rows": "13,310",
        "written": "13,310",
        "to look at": "-",
    }
    assert "each file's source: --wide or --json" in done.stdout
    assert entry["source"] not in done.stdout


def test_wide_shows_the_source_and_the_instant(demo_store):
    env, _, _ = demo_store
    entry = _glp(env)
    shown = cells(box_tables(fuelpipe("stations", "status", "--wide", env=env).stdout)[0], GLP)
    assert entry["source"].endswith(f"/{GLP}")
    assert shown["source"] == entry["source"]
    # the same instant, to the microsecond, in São Paulo time (--json: UTC, as the manifest)
    manifest, table = (
        datetime.fromisoformat(t) for t in (entry["ingested_at"], shown["ingested at"])
    )
    assert (table, table.utcoffset(), manifest.utcoffset()) == (manifest, -SP_OFFSET, timedelta(0))
    assert (shown["rows"], shown["replaced"], shown["rejected"]) == ("13,310", "0", "0")
    helped = " ".join(fuelpipe("stations", "status", "--help", env=env).stdout.split())
    assert "--wide adds each file's source" in helped
    assert "when it was ingested (São Paulo time with its offset, to the minute" in helped


def test_rejected_rows_and_their_report_are_named_by_default(tmp_path):
    """Synthetic: a real file's first 20 records, one price made unreadable."""
    lines = real_lines("glp", 20)
    lines[5] = set_cell(lines[5], SALE, "abc")  # the one synthetic edit
    path = tmp_path / "glp-bad.csv"
    path.write_bytes(BOM + "\r\n".join(lines).encode())
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    fuelpipe("stations", "ingest", str(path), env=env, check=False)
    state = json.loads(fuelpipe("stations", "status", "--json", env=env).stdout)
    (entry,) = state["files"].values()
    (report,) = entry["reports"]
    done = fuelpipe("stations", "status", env=env)
    tables = box_lines(done.stdout)
    assert widest(tables) <= TERMINAL
    assert cells(box_tables(done.stdout)[0], "glp-bad.csv")["to look at"] == "1 rejected"
    assert f"glp-bad.csv: reports in _reports/: {report}" in done.stdout
    wide = fuelpipe("stations", "status", "--wide", env=env).stdout
    wide = cells(box_tables(wide)[0], "glp-bad.csv")
    assert (wide["source"], wide["rejected"]) == (str(path.resolve()), "1")


def test_a_forced_ingest_that_changed_nothing_says_so(tmp_path):
    """The table's counts are the latest ingest's: after `--force` gave the same real file
    again, 0 written, which said nothing of why (the first ingest's 20 are in the lake)."""
    path = tmp_path / "glp.csv"
    path.write_bytes(BOM + "\r\n".join(real_lines("glp", 20)).encode())
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    fuelpipe("stations", "ingest", "--kind", "rolling", str(path), env=env)
    first = cells(box_tables(fuelpipe("stations", "status", env=env).stdout)[0], "glp.csv")
    assert (first["written"], first["to look at"]) == ("20", "-")
    fuelpipe("stations", "ingest", "--kind", "rolling", "--force", str(path), env=env)
    done = fuelpipe("stations", "status", env=env).stdout
    assert widest(box_lines(done)) <= TERMINAL
    again = cells(box_tables(done)[0], "glp.csv")
    assert (again["rows"], again["written"]) == ("20", "0")
    assert again["to look at"] == "--force:"  # (its first line: "changed nothing" below it)
    wide = cells(box_tables(fuelpipe("stations", "status", "--wide", env=env).stdout)[0], "glp.csv")
    assert wide["latest ingest"] == "--force: changed nothing"
    (entry,) = json.loads(fuelpipe("stations", "status", "--json", env=env).stdout)[
        "files"
    ].values()
    assert entry["forced"] is True
