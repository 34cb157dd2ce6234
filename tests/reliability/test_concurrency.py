"""Two orchestrators and three workers at once, as separate processes on one SQLite store and
queue, against the replay: the store ends equal to a sequential run's, retry counts included,
and a never-served date is re-downloaded exactly five times, however the claims raced.
"""

from __future__ import annotations

import io

import pytest
from devtools.chaos.concurrent_runs import (
    ABSENT_USD,
    ORCHESTRATORS,
    WORKERS,
    run_concurrently,
    run_sequentially,
    single_day_usd_requests,
    total,
)
from devtools.chaos.harness import ABSENT_SPEC

from fuelpipe.domain.models import Status
from fuelpipe.replay import FaultPlan, ReplayServer


def test_two_orchestrators_and_three_workers_at_once_equal_a_sequential_run(tmp_path):
    log = io.StringIO()
    plan = FaultPlan.parse(ABSENT_SPEC, 0)
    with ReplayServer(faults=plan, log=log) as replay:
        sequential, seq_rounds = run_sequentially(replay, tmp_path)
        sequential_log = log.getvalue()
        log.seek(0)
        log.truncate()
        concurrent, rounds = run_concurrently(replay, tmp_path)
        concurrent_log = log.getvalue()

    def rows(records: dict) -> dict:
        return {slot: (r.value, r.status, r.retry_count, r.attrs) for slot, r in records.items()}

    # the same store, retry counts included: no record duplicated, no retry counted twice
    assert rows(concurrent) == rows(sequential)
    absent = concurrent[("CURRENCY#USD", ABSENT_USD)]
    assert (absent.status, absent.retry_count) == (Status.QUARANTINED, 5)
    assert absent.reason and "5 re-downloads" in absent.reason
    # each round claimed exactly what the sequential run claimed, however the claims raced
    assert total(rounds, ORCHESTRATORS, "retried") == [r.get("retried", 0) for r in seq_rounds]
    # both orchestrators really enqueued (some gaps twice), and more than one worker fetched
    assert all(rounds[0][n]["messages_sent"] > 0 for n in ORCHESTRATORS)
    assert sum(1 for n in WORKERS if rounds[0][n]["source_requests"]) >= 2
    # the never-served day was asked for exactly five times on its own, in both runs
    assert single_day_usd_requests(sequential_log, ABSENT_USD) == 5
    assert single_day_usd_requests(concurrent_log, ABSENT_USD) == 5


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(5))
def test_concurrency_repeated(tmp_path, attempt):
    test_two_orchestrators_and_three_workers_at_once_equal_a_sequential_run(tmp_path)
