"""Two orchestrators and three workers at once, as separate processes on one SQLite store and
queue (devtools/chaos/procs.py), and the same rounds run sequentially in one process.

Round 0 scans for gaps (orchestrate); rounds 1.. recheck; in every round the workers drain the
queue. Each round's business time moves by the longest wait the retry policy can ask for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from devtools.chaos.harness import (
    FAST_SERIES,
    SINCE,
    START,
    embedded_home,
    export_rows,
    pipeline_settings,
)
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.settings import policy_from
from fuelpipe.replay import ReplayServer
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


def _publish(path: Path, payload: dict[str, Any]) -> None:
    """Write then rename: a process polling for the file never reads half of it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.rename(path)


def _round_spec(k: int, clock_step: Any) -> dict[str, Any]:
    return {
        "now": (START + clock_step * k).isoformat(),
        "series": list(FAST_SERIES),
        "since": SINCE.isoformat(),
    }


def run_concurrently(replay: ReplayServer, folder: Path) -> tuple[dict, list[dict[str, Any]]]:
    """Every round with five processes at once; returns the export and each round's reports."""
    settings = pipeline_settings(replay, folder / "shared.sqlite")
    policy = policy_from(settings)
    policy_step = policy.delay(policy.max_retries)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "devtools.chaos.procs", role, name, str(folder)],
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
            _publish(folder / f"round-{k}.json", _round_spec(k, policy_step))
            _wait([folder / f"done-{k}-{n}.json" for n in ORCHESTRATORS], procs)
            (folder / f"closed-{k}").touch()
            _wait([folder / f"done-{k}-{n}.json" for n in WORKERS], procs)
            rounds.append(
                {
                    n: json.loads((folder / f"done-{k}-{n}.json").read_text())
                    for n in (*ORCHESTRATORS, *WORKERS)
                }
            )
        _publish(folder / f"round-{ROUNDS}.json", {"stop": True})
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


def single_day_usd_requests(log: str, day: date) -> int:
    """BCB requests for exactly one day: the re-downloads of that day."""
    stamp = day.strftime("%m-%d-%Y")
    wanted = f"@moeda='USD'&@dataInicial='{stamp}'&@dataFinalCotacao='{stamp}'"
    return sum(wanted in unquote(line) for line in log.splitlines())


def total(rounds: list[dict[str, Any]], names: tuple[str, ...], field: str) -> list[int]:
    """Per round, the sum of one report field over the named processes."""
    return [sum(r[n].get(field, 0) for n in names) for r in rounds]
