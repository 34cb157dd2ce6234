"""`fuelpipe replay --revise`'s scenario through the CLI: revise, export, status."""

from __future__ import annotations

import json
import socket
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from tests.e2e.conftest import EMPTY_RUN, fuelpipe, store_copy

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.homes.settings import queue_file
from fuelpipe.replay.faults import FaultPlan
from fuelpipe.replay.revisions import parse_dividend, parse_revision, parse_split
from fuelpipe.replay.server import ReplayServer

DAY = "2022-04-20"  # inside the 35-day window that ends 2022-05-01 (FRED lags 7 days)
WINDOW_START = "2022-04-04"  # PETR4's 35-day revise window on 2022-05-08: 04-04 … 05-06


def test_revise_stores_the_revision_shows_it_in_export_and_status(demo_store, tmp_path):
    db = Path(store_copy(demo_store, tmp_path)["FUELPIPE_DB"])  # other tests share the demo's
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


def _records(key: str, store_env: dict[str, str]) -> dict[str, dict]:
    """`fuelpipe export KEY -f json`, by date."""
    rows = json.loads(fuelpipe("export", key, "-f", "json", env=store_env).stdout)
    return {r["date"]: r for r in rows}


def _revise_petr4_twice(replay: ReplayServer, store_env: dict[str, str]) -> tuple[str, dict]:
    """`fuelpipe revise -s STOCK#PETR4` against ``replay`` twice: the first summary line,
    the second run's counts."""
    run_env = {**store_env, **replay.env()}
    args = ("--now", "2022-05-08T10:00", "revise", "--series", "STOCK#PETR4")
    first = fuelpipe(*args, env=run_env).stdout
    return first, json.loads(fuelpipe(*args, "--json", env=run_env).stdout)


def _petr4_status(store_env: dict[str, str]) -> dict:
    out = fuelpipe(
        "--now", "2022-05-08T10:00", "status", "--json", "-s", "STOCK#PETR4", env=store_env
    ).stdout
    return json.loads(out)[0]


def test_a_dividend_rebases_adj_close_as_an_adjustment_not_a_revision(demo_store, tmp_path):
    """`fuelpipe replay --dividend`: Yahoo re-bases every earlier adj_close, the closes stand;
    revise stores the new attributes with the previous ones as adjustments, and neither its
    summary, status nor the revision listing calls that a revision."""
    store_env = store_copy(demo_store, tmp_path)
    before = _records("STOCK#PETR4", store_env)
    ex_date = "2022-04-25"
    dividends = dict([parse_dividend(f"STOCK#PETR4@{ex_date}=0.97")])
    with ReplayServer(quiet=True, dividends=dividends) as replay:
        first, second = _revise_petr4_twice(replay, store_env)
    assert "0 value(s) revised" in first
    assert "adjusted (derived attributes re-based, not revisions)" in first
    assert second["scrape"]["adjusted"] == second["scrape"]["revised"] == 0
    assert second["scrape"]["split_rereads"] == 0
    rows = _records("STOCK#PETR4", store_env)
    adjusted = [r for r in rows.values() if r.get("revisions")]
    assert adjusted and all(r["date"] < ex_date for r in adjusted)
    assert f"{len(adjusted)} adjusted" in first
    for rec in adjusted:
        old = before[rec["date"]]
        (entry,) = rec["revisions"]
        assert entry["kind"] == "adjustment"
        assert entry["previous"] == entry["new"] == old["value"] == rec["value"]
        assert entry["previous_attrs"]["adj_close"] == old["adj_close"] != rec["adj_close"]
    assert _petr4_status(store_env)["revised"] == 0


def test_a_split_rereads_the_whole_history_and_export_shows_each_old_close(demo_store, tmp_path):
    """`fuelpipe replay --split` (synthetic 2:1): revise's window shows the split, the whole
    stored history is re-read in one more request, every earlier close is halved with the
    old one in its history, and a second revise re-reads and changes nothing."""
    store_env = store_copy(demo_store, tmp_path)
    before = _records("STOCK#PETR4", store_env)
    ex_date = "2022-04-25"
    assert min(before) < WINDOW_START < ex_date
    splits = dict([parse_split(f"STOCK#PETR4@{ex_date}=2:1")])
    with ReplayServer(quiet=True, splits=splits) as replay:
        first, second = _revise_petr4_twice(replay, store_env)
        assert replay.request_counts["yahoo"] == 3  # window, whole history; window again
    earlier = [d for d, r in before.items() if d < ex_date and r["status"] == "OK"]
    assert f"{len(earlier)} value(s) revised" in first
    assert "whole history re-read after a stock split: 1 series" in first
    assert second["scrape"]["revised"] == second["scrape"]["split_rereads"] == 0
    rows = _records("STOCK#PETR4", store_env)
    for day in earlier:
        (entry,) = rows[day]["revisions"]
        assert entry["kind"] == "revision"
        assert entry["previous"] == before[day]["value"] != rows[day]["value"]
        assert abs(float(rows[day]["value"]) * 2 - float(before[day]["value"])) < 2e-6
        # the window's own answer re-based its dates; the whole-history re-read the rest
        origin = "revise" if day >= WINDOW_START else "split"
        assert entry["request"].startswith(f"{origin} yahoo:PETR4.SA ")
    assert all(not rows[d].get("revisions") for d in rows if d >= ex_date)
    assert _petr4_status(store_env)["revised"] == len(earlier)


def test_revise_draws_its_progress_as_run_does(demo_store, tmp_path):
    """`revise` re-reads every fetch unit from the real sources and sat silent meanwhile: it
    draws the same bar as `run` (its final state when the output is not a terminal)."""
    db = Path(store_copy(demo_store, tmp_path)["FUELPIPE_DB"])
    with ReplayServer(quiet=True) as replay:
        run_env = {"FUELPIPE_DB": str(db), **replay.env()}
        done = fuelpipe("--now", "2022-05-08T10:00", "revise", "-s", "CURRENCY#", env=run_env)
    bar, summary = done.stdout.splitlines()[-2:]
    assert bar.startswith("downloading streams") and " 1/1 " in bar, done.stdout
    # piped, one plain line (tests/unit/test_cli_progress.py), not a bar
    assert bar.startswith("downloading streams: ") and "━" not in bar, done.stdout
    assert summary.startswith("re-read 1 series"), done.stdout


def test_watch_runs_the_daily_revise_once_as_the_aws_schedule_does(demo_store, tmp_path):
    """`watch` at 23:30 on a store with no revise recorded since 23:00 re-reads the window on
    its first tick and stores the revision; a restarted watch does not repeat it; with
    `--revise-at off` it never re-reads."""
    store_env = store_copy(demo_store, tmp_path)
    revisions = dict([parse_revision(f"COMMODITY#BRENT@{DAY}=128.01")])
    args = ("--now", "2022-05-08T23:30", "watch", "-s", "COMMODITY#BRENT", "--ticks", "1")
    with ReplayServer(quiet=True, revisions=revisions) as replay:
        run_env = {**store_env, **replay.env()}
        off = fuelpipe(*args, "--no-intraday", "--revise-at", "off", env=run_env).stdout
        unrevised = _records("COMMODITY#BRENT", store_env)[DAY]["value"]
        first = fuelpipe(*args, "--no-intraday", env=run_env).stdout
        again = fuelpipe(*args, "--no-intraday", env=run_env).stdout
    assert off.splitlines()[0] == "watching (Ctrl+C to stop; daily revise: off)"
    assert "re-read" not in off and unrevised != "128.01"
    assert first.splitlines()[0] == (
        "watching (Ctrl+C to stop; daily revise: 23:00 São Paulo time)"
    )
    assert "daily revise: 1 series re-read in 1 request(s), 1 value(s) revised" in first
    assert "re-read" not in again
    rec = _records("COMMODITY#BRENT", store_env)[DAY]
    assert rec["value"] == "128.01"
    (rev,) = rec["revisions"]
    assert rev["request"].startswith("revise fred:DCOILBRENTEU ")


def _bcb_offline(store_env: dict[str, str]) -> dict[str, str]:
    """``store_env`` with bcb's address a closed port, asked once a request."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    return {
        **store_env,
        "FUELPIPE_SOURCE_BCB_URL": f"http://127.0.0.1:{closed}",
        "FUELPIPE_HTTP_ATTEMPTS": "1",
    }


def test_a_revise_whose_source_cannot_be_reached_says_so_and_exits_3(demo_store, tmp_path):
    """`revise` on the demo's store with no replay running (its sources then the real ones,
    here a closed port) printed "re-read 1 series (23 dates) in 1 request(s): 0 value(s)
    revised" and exited 0, as if the source had been read and changed nothing. As `run`, it
    names the source and its error, in the table and in one `error:` line, and exits 3; the
    stored values stand."""
    store_env = store_copy(demo_store, tmp_path)
    env = _bcb_offline(store_env)
    before = _records("CURRENCY#USD", store_env)
    args = ("--now", "2022-05-08T10:00", "revise", "-s", "CURRENCY#USD")
    done = fuelpipe(*args, env=env, check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: could not use bcb: every request failed (bcb: connection refused); the "
        "stored values stand, and the next revise re-reads the window (check the network and "
        "FUELPIPE_SOURCE_BCB_URL)"
    ], done.stderr
    assert "connection refused" in done.stdout  # the per-source table, as `run` prints it
    # and the headline says nothing was re-read (it said "re-read 1 series ... in 1 request(s)")
    headline = "1 request(s) failed, nothing re-read: 1 series (23 dates) keep their stored values"
    assert headline in done.stdout.splitlines(), done.stdout
    assert "re-read 1 series" not in done.stdout
    as_json = fuelpipe(*args, "--json", env=env, check=False)
    assert as_json.returncode == 3, as_json.stderr
    bcb = json.loads(as_json.stdout)["sources"]["bcb"]
    assert bcb == {
        "requests": 1,
        "failures": 1,
        "last_error": "connection refused",
        "not_sent": 0,
    }
    assert _records("CURRENCY#USD", store_env) == before


def test_a_revise_that_reached_no_source_leaves_the_watch_its_re_read(demo_store, tmp_path):
    """A `revise -s CURRENCY#USD` at 23:30 with bcb unreachable exits 3, and does not count
    as the day's revise of it: a `watch -s CURRENCY#USD` after ``REVISE_RETRY`` re-reads it
    (before, the watch skipped the re-read until the next day's 23:00)."""
    store_env = store_copy(demo_store, tmp_path)
    env = _bcb_offline(store_env)
    usd = ("-s", "CURRENCY#USD")
    done = fuelpipe("--now", "2022-05-06T23:30", "revise", *usd, env=env, check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    watch = ("watch", *usd, "--ticks", "1", "--no-intraday")
    watched = fuelpipe("--now", "2022-05-07T00:01", *watch, env=env).stdout
    assert "daily revise: 1 series re-read in 1 request(s)" in watched, watched
    assert "not reached: bcb" in watched, watched


def test_a_message_left_queued_is_not_judged_as_the_revises(demo_store, tmp_path):
    """A FRED message left in the queue (an interrupted `run`'s) is drained by `revise -s
    CURRENCY#USD` beside its own re-read, which BCB answers, and FRED is down. Before, the
    revise's entry named FRED unreached, though it asked FRED nothing: a watch of every
    series then owed FRED's re-read. Now only the revise's own request is judged: it owes
    nothing. The command still names FRED's failure and exits 3 (every request it made to
    FRED failed)."""
    store_env = store_copy(demo_store, tmp_path)
    with SqliteQueue(queue_file(Path(store_env["FUELPIPE_DB"])), SystemClock(), timedelta(1)) as q:
        left = DownloadRequest(
            partition_key="COMMODITY#BRENT",
            dates_to_download=[date.fromisoformat(DAY)],
            fetch_unit="fred:DCOILBRENTEU",
            origin="retry",
        )
        assert q.send([left.to_body()]) == 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with ReplayServer(quiet=True) as replay:
        env = {
            **store_env,
            **replay.env(),
            "FUELPIPE_SOURCE_FRED_URL": f"http://127.0.0.1:{closed}",
            "FUELPIPE_HTTP_ATTEMPTS": "1",
        }
        args = ("--now", "2022-05-08T10:00", "revise", "-s", "CURRENCY#USD", "--json")
        done = fuelpipe(*args, env=env, check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    used = json.loads(done.stdout)["sources"]
    assert used["fred"]["failures"] == used["fred"]["requests"] == 1
    assert used["bcb"]["failures"] == 0 and used["bcb"]["requests"] >= 1
    with sqlite3.connect(store_env["FUELPIPE_DB"]) as db:
        [(counts,)] = db.execute("SELECT counts FROM runs WHERE stage = 'revise'").fetchall()
    assert not [k for k in json.loads(counts) if k.startswith("unreached:")], counts


def test_a_revise_some_requests_of_which_failed_says_so_and_exits_1(demo_store, tmp_path):
    """Yahoo answering 4 of the 7 tickers' re-reads with HTTP 504 (every source reached, none
    unreachable): the headline said "re-read 7 series (166 dates) in 7 request(s)" and the
    command exited 0, as if all seven had been re-read. It says how many failed, names the
    source in one warning line, and exits 1 (the command could not do all it was asked), with
    --json too."""
    store_env = store_copy(demo_store, tmp_path)
    args = ("--now", "2022-05-08T10:00", "revise", "-s", "STOCK#*")

    def revise(*more: str):
        # the same seed each time: the same 4 of the 7 requests fail
        with ReplayServer(quiet=True, faults=FaultPlan.parse("yahoo:5xx=0.5", 0)) as replay:
            env = {**store_env, **replay.env(), "FUELPIPE_HTTP_ATTEMPTS": "1"}
            return fuelpipe(*args, *more, env=env, check=False)

    done = revise()
    assert done.returncode == 1, done.stdout + done.stderr
    [head] = [line for line in done.stdout.splitlines() if "series (166 dates)" in line]
    assert head.startswith(
        "asked to re-read 7 series (166 dates) in 7 request(s), 4 of the 7 sent failed (not "
        "re-read): "
    ), done.stdout
    assert "HTTP 504" in done.stdout  # the per-source table
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        "warning: 4 of the 7 request(s) failed (yahoo: 4 of 7, HTTP 504): what they asked was "
        "not re-read; the stored values stand, and the next revise re-reads the window"
    ], done.stderr
    as_json = revise("--json")
    assert as_json.returncode == 1, as_json.stderr
    yahoo = json.loads(as_json.stdout)["sources"]["yahoo"]
    assert (yahoo["requests"], yahoo["failures"]) == (7, 4)
    assert as_json.stderr.startswith("warning: 4 of the 7 request(s) failed"), as_json.stderr


def test_a_revise_with_nothing_to_re_read_says_so(tmp_path):
    """On a store with no value yet, `revise` printed a blank line, then "re-read 0 series
    (0 dates) in 0 request(s): 0 value(s) revised, 0 new, 0 pending", as if it had looked
    and found nothing changed. It says there was nothing to re-read, and what fills the store;
    no request is sent (none of the sources is reachable here), exit 0."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    fuelpipe(*EMPTY_RUN, env=env)
    for chosen, whose in (
        (("-s", "CURRENCY#USD"), "the chosen series have"),
        ((), "this store has"),
    ):
        done = fuelpipe("--now", "2022-01-03", "revise", *chosen, env=env)
        assert " ".join(done.stdout.split()) == (  # one line, wrapped at 150 columns
            f"nothing to re-read: {whose} no date answered (a stored value, ABSENT or "
            "QUARANTINED) in the revise window up to the clock (FUELPIPE_REVISION_WINDOW_DAYS, "
            "by default 35 days, ANP 56); `fuelpipe run` fetches what is missing"
        ), done.stdout
        assert done.stdout.startswith("nothing to re-read: "), done.stdout  # no blank line
