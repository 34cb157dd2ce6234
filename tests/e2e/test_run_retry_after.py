"""`fuelpipe run` against a source that answers 429 with a Retry-After of 10 minutes, longer
than the 20 s a fetch waits (real data on the replay server, the default 4 attempts): the
fetch sends that one request and gives up at once, its dates stay PENDING (none quarantined,
none lost), and a later run retries and stores them. A run whose only source not used asked
us to wait so (nothing failed) exits 1, the command could not do all it was asked, with a
`warning:` line; 3 is for a source that failed (a bare 429's dates are retried an hour on).

Before, the adapter asked three more times in the same fetch, waiting its 20 s cap between
them (4 requests, a minute), though the source had said when to come back."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.replay import FaultPlan
from fuelpipe.replay.server import ReplayServer

RUN = ("run", "-s", "CURRENCY#USD", "--since", "2022-05-02", "--json")
TEN_MINUTES = "bcb:429=1,retry_after=600"


def _resting_run(
    store: dict[str, str], now: str, args: tuple[str, ...], faults: str = TEN_MINUTES
) -> tuple[subprocess.CompletedProcess[str], int]:
    """`fuelpipe run` at ``now`` against PTAX answering with ``faults``: what it printed,
    and how many requests PTAX received."""
    with ReplayServer(quiet=True, faults=FaultPlan.parse(faults)) as replay:
        done = fuelpipe("--now", now, *args, env={**store, **replay.env()}, check=False)
        return done, replay.request_counts.get("bcb", 0)


def test_run_sends_one_request_to_a_source_asking_for_ten_minutes(tmp_path) -> None:
    store = {"FUELPIPE_DB": str(tmp_path / "r.sqlite")}
    done, asked = _resting_run(store, "2022-05-06T14:00", RUN)
    assert asked == 1
    assert done.returncode == 1, done.stderr  # it asked us to wait: not 3, nothing failed
    first = json.loads(done.stdout)
    assert first["sources"]["bcb"] == {
        "requests": 1, "failures": 1, "last_error": "HTTP 429", "not_sent": 0,
    }  # fmt: skip
    # 2022-05-02 .. 05-05 and the 6th's bulletin, asked in one request: all PENDING
    assert first["scrape"]["pending_written"] == 5
    assert first["scrape"]["quarantined"] == 0

    with ReplayServer(quiet=True) as replay:  # an hour later the source answers
        done = fuelpipe("--now", "2022-05-06T15:00", *RUN, env={**store, **replay.env()})
    later = json.loads(done.stdout)
    assert later["recheck"]["retried"] == 5
    assert later["scrape"]["records_written"] == 5
    assert later["scrape"]["quarantined"] == 0


TWO = ("run", "-s", "CURRENCY#USD", "--since", "2021-05-19", "--json")
"""Two and a half years of PTAX to 2023-12-01 (the replay's from 2021-05-19): two messages,
a PTAX request spanning at most 730 days."""


def test_run_keeps_the_rest_its_further_messages_are_not_fetched_and_it_says_when(
    tmp_path,
) -> None:
    """Two PTAX messages against a source asking for ten minutes: the first request's 429
    rests the source for the run, so the second message is not fetched (its dates PENDING,
    due when the rest ends), and the summary and the warning line say until when, exit 1:
    the source asked us to wait, nothing failed. Before, `run` kept no rest: each message
    sent its own request (2), and the error line said to check the network; and until this
    test said otherwise, the run exited 3, as for a source that could not be reached."""
    store = {"FUELPIPE_DB": str(tmp_path / "r.sqlite")}
    done, asked = _resting_run(store, "2023-12-01T14:00", TWO)
    assert asked == 1
    assert done.returncode == 1, done.stderr
    first = json.loads(done.stdout)
    assert first["orchestrate"]["messages_sent"] == 2
    assert first["sources"]["bcb"]["requests"] == 1
    gaps, held = first["orchestrate"]["gaps_found"], first["scrape"]["rest_held"]
    assert 0 < held < gaps  # the second message's dates, not asked
    assert first["scrape"]["pending_written"] == gaps  # both messages': none lost
    assert first["scrape"]["quarantined"] == 0
    # the rest is real time at the source, placed after the business clock's 14:00: its ten
    # minutes less the real time the run took after the 429 (up to 5 minutes allowed: a
    # minute was tight for a subprocess on a loaded 2-core host)
    end = r"2023-12-01T14:(0[5-9]:[0-5]\d|10:00)-03:00"
    assert re.fullmatch(end, first["rests"]["bcb"]), first["rests"]
    assert re.search(
        rf"note: not asked again in this run \(its Retry-After\): bcb until {end}; {held} "
        r"date\(s\) of further messages were not fetched and stay PENDING",
        done.stderr,
    ), done.stderr
    assert re.search(
        r"warning: could not use bcb in this run: it asked us to wait \(bcb: HTTP 429\); the "
        r"dates stay PENDING and are retried later \(bcb asked us to slow down: its "
        rf"Retry-After says try again after {end}\)$",
        done.stderr.rstrip(),
    ), done.stderr
    assert "check the network" not in done.stderr and "error:" not in done.stderr

    with ReplayServer(quiet=True) as replay:  # an hour later the source answers
        done = fuelpipe("--now", "2023-12-01T15:00", *TWO, env={**store, **replay.env()})
    later = json.loads(done.stdout)
    assert later["recheck"]["retried"] == gaps
    assert later["scrape"]["records_written"] == gaps
    assert later["rests"] == {}


def test_a_429_without_retry_after_says_when_its_dates_are_retried(tmp_path) -> None:
    """A 429 with no Retry-After: the source asked us to slow down without saying for how
    long, so the line says when its dates are first retried (the retry policy's hour), not
    to check the network."""
    env = {"FUELPIPE_DB": str(tmp_path / "r.sqlite"), "FUELPIPE_HTTP_BACKOFF_S": "0.01"}
    done, asked = _resting_run(env, "2022-05-06T14:00", RUN, "bcb:429bare=1")
    assert asked == 4  # the default attempts: no rest to keep
    assert done.returncode == 3, done.stderr
    assert done.stderr.rstrip().endswith(
        "the dates stay PENDING and are retried later (bcb asked us to slow down: try "
        "again after 2022-05-06T15:00:00-03:00, when its dates are first "
        "retried)"
    ), done.stderr
    assert json.loads(done.stdout)["rests"] == {}


def test_the_workers_processes_keep_one_rest_and_exit_as_one_process_does(tmp_path) -> None:
    """`run --workers 2` on three PTAX messages against a source asking for ten minutes: the
    run's processes keep one rest (tests/reliability/test_workers.py: no process asks the
    source once one heard its Retry-After), so it is sent no more requests than there were
    processes asking it at once (2 at most, the first of each; 3, one a message, before the
    run kept a rest), none of the dates is lost, and the run ends as a one-process run does:
    its rest, still running, and exit 1 with the same warning (3, before)."""
    env = {"FUELPIPE_DB": str(tmp_path / "r.sqlite")}
    three = ("run", "-s", "CURRENCY#USD", "--since", "2021-05-19", "--workers", "2", "--json")
    done, asked = _resting_run(env, "2025-06-02T14:00", three)
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    assert out["orchestrate"]["messages_sent"] == 3
    assert 1 <= asked <= 2 and out["sources"]["bcb"]["requests"] == asked
    assert out["scrape"]["pending_written"] == out["orchestrate"]["gaps_found"]
    assert out["scrape"]["rest_held"] > 0
    assert list(out["rests"]) == ["bcb"]
    assert re.search(
        r"warning: could not use bcb in this run: it asked us to wait \(bcb: HTTP 429\); .*"
        r"bcb asked us to slow down: its Retry-After says try again after",
        done.stderr,
    ), done.stderr


def test_a_rerun_tells_messages_waiting_for_a_rest_from_messages_held(tmp_path: Path) -> None:
    """A message deferred until its source's rest ends (a Retry-After: the scraper Lambda's
    ``defer_if_resting``, Queue.defer) is held by no process: the note before the drain says
    it waits for a source's rest, not that another fuelpipe process holds it (it said "1
    message(s) are held by another fuelpipe process or one that was stopped" before), and the
    run waits for it as before."""
    db = tmp_path / "r.sqlite"
    queue = SqliteQueue(db.with_name("r-queue.sqlite"), SystemClock(), timedelta(hours=1))
    try:
        queue.send(['{"not": "a download request"}'])
        (got,) = queue.receive(1)
        # back in 10 s (outlasts the CLI's start on a busy machine; the run waits it out)
        queue.defer([got.receipt], timedelta(seconds=10))
    finally:
        queue.close()
    with ReplayServer(quiet=True) as replay:
        done = fuelpipe(
            "--now", "2022-05-06T14:00", *RUN, env={"FUELPIPE_DB": str(db), **replay.env()}
        )
    assert re.search(
        r"note: 1 message\(s\) wait for a source's rest to end \(its Retry-After\), held by no "
        r"process; they come back at \d\d:\d\d:\d\d \(in \d+ s\), and this run waits for them",
        done.stderr,
    ), done.stderr
    assert "held by another fuelpipe process" not in done.stderr
    assert "takes back" not in done.stderr
    out = json.loads(done.stdout)
    # it came back and this run dealt with it: a malformed body goes to the dead letters
    assert out["scrape"]["dead_lettered"] == 1
    assert out["scrape"]["records_written"] == 5  # and the run's own work was done
