"""bench_firstchart's skip message said "no /usr/bin/chromium" whatever FUELPIPE_CHROMIUM
named: it names the path it looked for. A child process, as the path is read at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_skip_names_the_chromium_path_it_looked_for(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-chromium"
    done = subprocess.run(
        [sys.executable, "-c", "from bench.bench_firstchart import run; print(run())"],
        env={**os.environ, "FUELPIPE_CHROMIUM": str(missing)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    skip, rows = done.stdout.splitlines()
    assert f"Chromium not found at {missing}" in skip and "/usr/bin/chromium" not in skip
    assert skip.rstrip().endswith("skipping)") and rows == "[]"
