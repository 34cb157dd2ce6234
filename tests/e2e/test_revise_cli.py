"""`fuelpipe replay --revise`'s scenario through the CLI: revise, export, status."""

from __future__ import annotations

import json
import sqlite3

from tests.e2e.conftest import fuelpipe

from fuelpipe.replay.revisions import parse_dividend, parse_revision
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


def test_a_dividend_rebases_adj_close_as_an_adjustment_not_a_revision(demo_store, tmp_path):
    """`fuelpipe replay --dividend`: Yahoo re-bases every earlier adj_close, the closes stand;
    revise stores the new attributes with the previous ones as adjustments, and neither its
    summary, status nor the revision listing calls that a revision."""
    env, _, _ = demo_store
    db = tmp_path / "copy.sqlite"
    with sqlite3.connect(env["FUELPIPE_DB"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    store_env = {"FUELPIPE_DB": str(db)}
    before = {
        r["date"]: r
        for r in json.loads(fuelpipe("export", "STOCK#PETR4", "-f", "json", env=store_env).stdout)
    }
    ex_date = "2022-04-25"
    dividends = dict([parse_dividend(f"STOCK#PETR4@{ex_date}=0.97")])
    with ReplayServer(quiet=True, dividends=dividends) as replay:
        run_env = {**store_env, **replay.env()}
        args = ("--now", "2022-05-08T10:00", "revise", "--series", "STOCK#PETR4")
        first = fuelpipe(*args, env=run_env).stdout
        second = json.loads(fuelpipe(*args, "--json", env=run_env).stdout)
    assert "0 value(s) revised" in first
    assert "adjusted (derived attributes re-based, not revisions)" in first
    assert second["scrape"]["adjusted"] == second["scrape"]["revised"] == 0
    rows = json.loads(fuelpipe("export", "STOCK#PETR4", "-f", "json", env=store_env).stdout)
    adjusted = [r for r in rows if r.get("revisions")]
    assert adjusted and all(r["date"] < ex_date for r in adjusted)
    assert f"{len(adjusted)} adjusted" in first
    for rec in adjusted:
        old = before[rec["date"]]
        (entry,) = rec["revisions"]
        assert entry["kind"] == "adjustment"
        assert entry["previous"] == entry["new"] == old["value"] == rec["value"]
        assert entry["previous_attrs"]["adj_close"] == old["adj_close"] != rec["adj_close"]
    status = json.loads(
        fuelpipe(
            "--now", "2022-05-08T10:00", "status", "--json", "-s", "STOCK#PETR4", env=store_env
        ).stdout
    )
    assert status[0]["revised"] == 0


def test_revise_draws_its_progress_as_run_does(demo_store, tmp_path):
    """`revise` re-reads every fetch unit from the real sources and sat silent meanwhile: it
    draws the same bar as `run` (its final state when the output is not a terminal)."""
    env, _, _ = demo_store
    db = tmp_path / "copy.sqlite"
    with sqlite3.connect(env["FUELPIPE_DB"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    with ReplayServer(quiet=True) as replay:
        run_env = {"FUELPIPE_DB": str(db), **replay.env()}
        done = fuelpipe("--now", "2022-05-08T10:00", "revise", "-s", "CURRENCY#", env=run_env)
    bar, summary = done.stdout.splitlines()[-2:]
    assert bar.startswith("downloading streams") and " 1/1 " in bar, done.stdout
    assert summary.startswith("re-read 1 series"), done.stdout
