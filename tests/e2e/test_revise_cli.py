"""`fuelpipe replay --revise`'s scenario through the CLI: revise, export, status."""

from __future__ import annotations

import json
import sqlite3

from tests.e2e.conftest import fuelpipe

from fuelpipe.replay.revisions import parse_revision
from fuelpipe.replay.server import ReplayServer

DAY = "2022-04-20"  # inside the 35-day window that ends 2022-05-01 (FRED lags 7 days)


def test_revise_stores_the_revision_shows_it_in_export_and_status(demo_store, tmp_path):
    env, _, _ = demo_store
    db = tmp_path / "copy.sqlite"  # a copy: the demo store is shared by other tests
    with sqlite3.connect(env["FUELPIPE_DB"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    before = json.loads(
        fuelpipe("export", "COMMODITY#BRENT", "-f", "json", env={"FUELPIPE_DB": str(db)}).stdout
    )
    old = next(r["value"] for r in before if r["date"] == DAY)
    revisions = dict([parse_revision(f"COMMODITY#BRENT@{DAY}=128.01")])
    with ReplayServer(quiet=True, revisions=revisions) as replay:
        run_env = {"FUELPIPE_DB": str(db), **replay.env()}
        args = ("--now", "2022-05-08T10:00", "revise", "--series", "COMMODITY#BRENT", "--json")
        first = json.loads(fuelpipe(*args, env=run_env).stdout)
        second = json.loads(fuelpipe(*args, env=run_env).stdout)
    assert first["revise"]["messages_sent"] == 1
    assert first["scrape"]["revised"] == 1
    assert first["scrape"]["source_requests"] == 1
    assert second["scrape"]["revised"] == 0 and second["scrape"]["records_written"] == 0
    rows = json.loads(
        fuelpipe("export", "COMMODITY#BRENT", "-f", "json", env={"FUELPIPE_DB": str(db)}).stdout
    )
    rec = next(r for r in rows if r["date"] == DAY)
    assert rec["value"] == "128.01"
    (rev,) = rec["revisions"]
    assert (rev["previous"], rev["new"]) == (old, "128.01")
    assert rev["request"].startswith("revise fred:DCOILBRENTEU ")
    assert rev["seen_at"].startswith("2022-05-08T")
    status = json.loads(
        fuelpipe(
            "--now",
            "2022-05-08T10:00",
            "status",
            "--json",
            "-s",
            "COMMODITY#BRENT",
            env={"FUELPIPE_DB": str(db)},
        ).stdout
    )
    assert status[0]["revised"] == 1
    csv_text = fuelpipe("export", "COMMODITY#BRENT", env={"FUELPIPE_DB": str(db)}).stdout
    assert "revisions" in csv_text.splitlines()[0] and "128.01" in csv_text
