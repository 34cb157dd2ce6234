"""Two orchestrators and three workers at once, as separate processes on one SQLite store and
queue, against the replay: the store ends equal to a sequential run's, retry counts included,
and a never-served date is re-downloaded exactly five times, however the claims raced.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from tests.reliability.harness import (
    ABSENT_SPEC,
    FAST_SERIES,
    SINCE,
    START,
    embedded_home,
    export_rows,
    pipeline_settings,
)

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.replay import FaultPlan, ReplayServer
from fuelpipe.stages.cycle import drain
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.recheck import recheck

ROOT = Path(__file__).resolve().parents[2]
ORCHESTRATORS = ("orch-a", "orch-b")
WORKERS = ("work-a", "work-b", "work-c")
ROUNDS = 7  # the first scan, five re-downloads, and one round that finds nothing to do
ABSENT_USD = date(2021, 8, 10)
TIMEOUT_S = 120


def _env(settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUELPIPE_")}
    for name, value in settings.model_dump().items():
        if value is not None and name != "now":
            env[f"FUELPIPE_{name.upper()}"] = str(value)
    return env


def _wait(paths: list[Path], procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not all(p.exists() for p in paths):
        for proc in procs:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"a pipeline process exited with {proc.returncode}: {err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {[p.name for p in paths]}")
        time.sleep(0.01)


def _round_spec(k: int, clock_step: Any) -> dict[str, Any]:
    return {
        "now": (START + clock_step * k).isoformat(),
        "series": list(FAST_SERIES),
        "since": SINCE.isoformat(),
    }


def run_concurrently(replay: ReplayServer, folder: Path) -> tuple[dict, list[dict[str, Any]]]:
    """Every round with five processes at once; returns the export and each round's reports."""
    settings = pipeline_settings(replay, folder / "shared.sqlite")
    policy_step = embedded_home()(settings, ManualClock(START)).policy.delay(5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.procs", role, name, str(folder)],
            cwd=ROOT,
            env=_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for role, names in (("orchestrator", ORCHESTRATORS), ("worker", WORKERS))
        for name in names
    ]
    rounds: list[dict[str, Any]] = []
    try:
        _wait([folder / f"ready-{n}.json" for n in (*ORCHESTRATORS, *WORKERS)], procs)
        for k in range(ROUNDS):
            (folder / f"round-{k}.json").write_text(json.dumps(_round_spec(k, policy_step)))
            _wait([folder / f"done-{k}-{n}.json" for n in ORCHESTRATORS], procs)
            (folder / f"closed-{k}").touch()
            _wait([folder / f"done-{k}-{n}.json" for n in WORKERS], procs)
            rounds.append(
                {
                    n: json.loads((folder / f"done-{k}-{n}.json").read_text())
                    for n in (*ORCHESTRATORS, *WORKERS)
                }
            )
        (folder / f"round-{ROUNDS}.json").write_text(json.dumps({"stop": True}))
        for proc in procs:
            assert proc.wait(timeout=30) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    app = embedded_home()(settings, ManualClock(START))
    try:
        records, repeated = export_rows(app, FAST_SERIES)
        assert repeated == 0
        assert app.queue.depth().visible == 0 and app.queue.dead_letters() == []
    finally:
        app.close()
    return records, rounds


def run_sequentially(replay: ReplayServer, folder: Path) -> tuple[dict, list[dict[str, int]]]:
    """The same rounds in one process, one stage after the other."""
    settings = pipeline_settings(replay, folder / "sequential.sqlite")
    clock = ManualClock(START)
    app = embedded_home()(settings, clock)
    step = app.policy.delay(app.policy.max_retries)
    series = DEFAULT_CATALOG.select(list(FAST_SERIES))
    rounds = []
    try:
        for k in range(ROUNDS):
            clock.set(START + step * k)
            if k == 0:
                stage = orchestrate(app, series=series, since=SINCE).as_dict()
            else:
                stage = recheck(app, set(FAST_SERIES)).as_dict()
            scraped = {f"scrape.{name}": n for name, n in drain(app).as_dict().items()}
            rounds.append({**stage, **scraped})
        records, _ = export_rows(app, FAST_SERIES)
    finally:
        app.close()
    return records, rounds


def _single_day_usd_requests(log: str, day: date) -> int:
    """BCB requests for exactly one day: the re-downloads of that day."""
    stamp = day.strftime("%m-%d-%Y")
    wanted = f"@moeda='USD'&@dataInicial='{stamp}'&@dataFinalCotacao='{stamp}'"
    return sum(wanted in unquote(line) for line in log.splitlines())


def _total(rounds: list[dict[str, Any]], names: tuple[str, ...], field: str) -> list[int]:
    return [sum(r[n].get(field, 0) for n in names) for r in rounds]


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
    assert _total(rounds, ORCHESTRATORS, "retried") == [r.get("retried", 0) for r in seq_rounds]
    # both orchestrators really enqueued (some gaps twice), and more than one worker fetched
    assert all(rounds[0][n]["messages_sent"] > 0 for n in ORCHESTRATORS)
    assert sum(1 for n in WORKERS if rounds[0][n]["source_requests"]) >= 2
    # the never-served day was asked for exactly five times on its own, in both runs
    assert _single_day_usd_requests(sequential_log, ABSENT_USD) == 5
    assert _single_day_usd_requests(concurrent_log, ABSENT_USD) == 5


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(5))
def test_concurrency_repeated(tmp_path, attempt):
    test_two_orchestrators_and_three_workers_at_once_equal_a_sequential_run(tmp_path)
