"""`fuelpipe stations ingest a.csv b.csv c.csv` stopped mid-file, as a real subprocess: by
SIGINT (Ctrl+C) and by SIGKILL, sent by the ``stations.after_partition`` failpoint after b's
first partition (no timing). The interrupt names b and says to run the same ingest again;
either way `stations status` lists b as incomplete; the same ingest run again completes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("duckdb", reason="the station lake needs the lake extra (duckdb)")

from tests.lake.conftest import real_file

GLP_PARTITIONS = 2  # the real LPG file: 2025-03 and 2025-04


def _fuelpipe(lake: Path, *args: str, failpoint: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FUELPIPE_LAKE": str(lake), "COLUMNS": "300"}
    env.pop("FUELPIPE_FAILPOINTS", None)
    if failpoint:
        env["FUELPIPE_FAILPOINTS"] = failpoint
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("signame", "code"), [("SIGINT", 130), ("SIGKILL", -signal.SIGKILL)], ids=["int", "kill"]
)
def test_an_interrupted_ingest_names_the_file_status_lists_it_and_a_rerun_completes_it(
    tmp_path: Path, signame: str, code: int
) -> None:
    files = []
    for name, group in (("a.csv", "glp"), ("b.csv", "gasolina-etanol"), ("c.csv", "diesel-gnv")):
        files.append(tmp_path / name)
        files[-1].write_bytes(real_file(group))
    lake = tmp_path / "lake"
    args = ["stations", "ingest", *map(str, files)]
    point = f"stations.after_partition:{GLP_PARTITIONS + 1}:{signame}"
    stopped = _fuelpipe(lake, *args, failpoint=point)
    assert stopped.returncode == code, stopped.stdout + stopped.stderr
    if signame == "SIGINT":
        errors = [ln for ln in stopped.stderr.splitlines() if ln.startswith("error:")]
        assert errors[-1] == "error: interrupted", stopped.stderr
        assert errors[0].startswith(f"error: interrupted while ingesting {files[1]}: some of its")
        assert "run the same `fuelpipe stations ingest` again to complete it" in errors[0]

    status = json.loads(_fuelpipe(lake, "stations", "status", "--json").stdout)
    assert [e["name"] for e in status["files"].values()] == ["a.csv"]
    assert [m["name"] for m in status["incomplete"].values()] == ["b.csv"]
    assert [m["source"] for m in status["incomplete"].values()] == [str(files[1].resolve())]
    shown = _fuelpipe(lake, "stations", "status")
    assert "incomplete: b.csv: its ingest started at " in shown.stdout

    rerun = _fuelpipe(lake, *args)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    status = json.loads(_fuelpipe(lake, "stations", "status", "--json").stdout)
    assert sorted(e["name"] for e in status["files"].values()) == ["a.csv", "b.csv", "c.csv"]
    assert status["incomplete"] == {}
    # every record of the three real files once: 13,310 LPG + 44,982 + 20,609
    assert sum(p["observations"] for p in status["partitions"]) == 78_901
