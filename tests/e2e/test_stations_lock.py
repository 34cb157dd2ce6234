"""One `fuelpipe stations ingest` per lake: a second one, as a real subprocess, is refused
before it reads or writes anything (exit 4, naming the running one), while queries go on."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("duckdb", reason="the station lake needs the lake extra (duckdb)")

from tests.e2e.conftest import fuelpipe
from tests.lake.conftest import BOM, real_lines

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.domain.instants import SAO_PAULO

HELD_SINCE = datetime(2025, 4, 22, 9, 0, tzinfo=SAO_PAULO)


def test_an_ingest_beside_another_is_refused_naming_it(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    env = {"FUELPIPE_LAKE": str(lake), "COLUMNS": "200"}
    first, second = tmp_path / "glp-1.csv", tmp_path / "glp-2.csv"
    lines = real_lines("glp", 40)
    first.write_bytes(BOM + "\r\n".join(lines[:21]).encode() + b"\r\n")
    second.write_bytes(BOM + "\r\n".join([lines[0], *lines[21:]]).encode() + b"\r\n")
    assert fuelpipe("stations", "ingest", str(first), env=env).returncode == 0
    manifest = (lake / "_manifest.json").read_text()
    # held by this test process, as a running ingest holds it
    lock = LocalLakeStorage(lake).write_lock(FixedClock(HELD_SINCE), "fuelpipe stations ingest")
    lock.acquire()
    try:
        refused = fuelpipe("stations", "ingest", str(second), env=env, check=False)
        status = fuelpipe("stations", "status", "--json", env=env, check=False)
    finally:
        lock.release()
    assert refused.returncode == 4, refused.stdout + refused.stderr
    line = " ".join(refused.stderr.split())
    assert line.startswith(
        f"error: another ingest (`fuelpipe stations ingest`, pid {os.getpid()}, since "
        f"2025-04-22T09:00:00-03:00) is writing the lake: its lock is {lake / '_ingest.lock'}"
    ), line
    assert "one ingest per lake at a time" in line and "Traceback" not in refused.stderr
    assert refused.stdout == ""  # refused before anything was read
    assert (lake / "_manifest.json").read_text() == manifest  # nothing of it written
    assert status.returncode == 0, status.stderr  # reads do not need the lock
    # once let go, the same command ingests the file
    done = fuelpipe("stations", "ingest", str(second), env=env)
    assert "20 new in the lake" in done.stdout


def test_ingest_help_says_one_ingest_per_lake() -> None:
    out = fuelpipe("stations", "ingest", "--help", env={"COLUMNS": "200"})
    text = " ".join(out.stdout.split())
    assert "One ingest per lake at a time" in text and "exits 4" in text
