"""Soak: kill -9 a real `fuelpipe run` at random instants (not at failpoints), rerun, compare.

``python -m devtools.chaos.kill_soak --seeds 20 --workers 2`` runs, against the replay of the
bundled snapshot, a reference: ``--steps`` uninterrupted `fuelpipe run`s, each a minute later
on its ``--now`` (a one-second retry base delay: each step re-downloads what the one before
left PENDING, so the retries and quarantines run too) and a catch-up run (:data:`CATCH_UP`).
Then for each seed a fresh store goes through the same runs, each but the catch-up first killed
(SIGKILL to the run's whole process group, helpers included) zero to ``--kills`` times at
seeded instants within the reference run's wall time, then run to its end. With ``--faults
SPEC`` (a replay fault spec, e.g. ``all:0.3``) the killed runs talk to a replay that answers
with those faults, the completed runs to the clean one. The store must end equal to the
reference record for record (date, value, status, retry_count, reason, attrs and each history
entry's kind and values: a revision counted once), and the queue must be empty: nothing
visible, held or dead-lettered.

The instants are wall-clock ones, so a seed does not replay the same kill twice: this is a
soak for finding defects, not a test (the crash tests kill at failpoints, deterministically).
It prints one line per seed and exits 1 when any seed ended different.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.chaos.harness import snapshot_series
from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.replay import FaultPlan, ReplayServer

NOW = datetime(2022, 5, 7, 23, 0)
SINCE = "2021-05-19"
CATCH_UP = timedelta(days=10)
"""After the steps, one run this much later (reference and seeds alike): a date a fault left
PENDING inside its publication window (FRED's weekly batch, say) is retried only once the
window is over, and this run is past every window of the snapshot's dates."""

Dump = dict[str, list[tuple[Any, ...]]]


def run_args(series: Sequence[str], workers: int, step: int | None) -> list[str]:
    """The `fuelpipe` arguments of the soak's run at one step (a minute a step; None: the
    catch-up run, :data:`CATCH_UP` later)."""
    now = (NOW + (CATCH_UP if step is None else timedelta(minutes=step))).isoformat()
    args = ["--now", now, "run", "--since", SINCE, "--workers", str(workers)]
    for key in series:
        args += ["--series", key]
    return args


def environment(replay: ReplayServer, db: Path) -> dict[str, str]:
    """The run's environment: the replay's URLs, the store, a short visibility timeout."""
    env = {f"FUELPIPE_SOURCE_{k.upper()}_URL": v for k, v in replay.source_urls().items()}
    env["FUELPIPE_DB"] = str(db)
    env["FUELPIPE_VISIBILITY_TIMEOUT_S"] = "2"
    env["FUELPIPE_RETRY_BASE_DELAY_S"] = "1"
    return {**os.environ, **env}


def dump(db: Path, keys: Sequence[str]) -> Dump:
    """Every record of the keys, with what the soak compares."""
    store = SqliteStore(db)
    try:
        return {
            key: [
                (
                    r.date,
                    r.value,
                    r.status,
                    r.retry_count,
                    r.reason,
                    r.attrs,
                    tuple((h.kind, h.previous, h.new, h.previous_attrs) for h in r.revisions),
                )
                for r in store.query(key)
            ]
            for key in keys
        }
    finally:
        store.close()


def queue_left(db: Path) -> tuple[int, int, int]:
    """Visible, held and dead-lettered messages of the store's queue."""
    queue_file = db.with_name(db.stem + "-queue.sqlite")
    with SqliteQueue(queue_file, SystemClock(), timedelta(seconds=2)) as queue:
        depth = queue.depth()
        return depth.visible, queue.held().count, queue.dead_letter_count()


def start(args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`fuelpipe ARGS` in a process group of its own (so kill -9 reaches its helpers too)."""
    command = [sys.executable, "-m", "fuelpipe.cli", *args]
    with open(log, "ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=out, start_new_session=True)


def finish(args: Sequence[str], env: dict[str, str], log: Path) -> int:
    """Run to the end; its exit code."""
    return start(args, env, log).wait()


def diff(got: Dump, want: Dump) -> list[str]:
    """A line per (key, date) that differs, at most ten."""
    lines = []
    for key, rows in want.items():
        mine = {r[0]: r for r in got.get(key, [])}
        theirs = {r[0]: r for r in rows}
        if len(got.get(key, [])) != len(mine):
            lines.append(f"{key}: a date returned twice")
        for day in sorted(set(mine) | set(theirs)):
            if mine.get(day) != theirs.get(day):
                lines.append(f"{key} {day}: {mine.get(day)} != {theirs.get(day)}")
    return lines[:10]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak; exit 1 when a seed's store or queue differs."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1, help="runs a store goes through")
    parser.add_argument("--kills", type=int, default=2, help="most kills a step (0 to this)")
    parser.add_argument("--faults", default="", help="replay fault spec of the killed runs")
    parser.add_argument("--series", action="append", help="default: every snapshot series")
    opts = parser.parse_args(argv)
    series = opts.series or snapshot_series()
    steps = [run_args(series, opts.workers, step) for step in range(opts.steps)]
    steps.append(run_args(series, opts.workers, None))
    plan = FaultPlan.parse(opts.faults, 0) if opts.faults else None
    bad = 0
    with (
        tempfile.TemporaryDirectory() as tmp,
        ReplayServer(quiet=True) as replay,
        ReplayServer(quiet=True, faults=plan) as faulty,
    ):
        folder = Path(tmp)
        ref = folder / "ref.sqlite"
        walls = []
        for args in steps:
            began = time.monotonic()
            code = finish(args, environment(replay, ref), folder / "ref.log")
            walls.append(time.monotonic() - began)
            if code != 0:
                print((folder / "ref.log").read_text()[-3000:], file=sys.stderr)
                return 2
        want = dump(ref, series)
        said = ", ".join(f"{w:.1f}" for w in walls)
        print(f"reference: {len(series)} series, {len(steps)} step(s) of {said} s", flush=True)
        for seed in range(opts.first_seed, opts.first_seed + opts.seeds):
            rng = random.Random(seed)
            db = folder / f"s{seed}.sqlite"
            log = folder / f"s{seed}.log"
            env, killed_env = environment(replay, db), environment(faulty, db)
            kills: list[str] = []
            codes = set()
            for step, (args, wall) in enumerate(zip(steps, walls, strict=True)):
                last = step == len(steps) - 1  # the catch-up: a run after faults, unkilled
                for _ in range(0 if last else rng.randint(0, opts.kills)):
                    at = rng.uniform(0.2, wall)
                    proc = start(args, killed_env, log)
                    try:
                        proc.wait(timeout=at)
                        kills.append(f"{step}:ended")
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        kills.append(f"{step}:{at:.2f}s")
                codes.add(finish(args, env, log))
            got = dump(db, series)
            left = queue_left(db)
            problems = diff(got, want)
            ok = codes == {0} and not problems and left == (0, 0, 0)
            bad += not ok
            print(
                f"seed {seed}: killed at {', '.join(kills) or 'none'}; exits {sorted(codes)}; "
                f"queue (visible, held, dead) {left}: {'ok' if ok else 'DIFFERENT'}",
                flush=True,
            )
            for line in problems:
                print("   ", line, flush=True)
            if codes != {0}:
                print(log.read_text()[-3000:], flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
