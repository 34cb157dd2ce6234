"""A first whole-history ingest, measured by hand (not part of `make bench`: it takes minutes).

`python -m bench.history_ingest [folder]` writes the 20-million-row SYNTHETIC scale-up of the
real sample (bench/synthetic_stations.py, 254 copies) as ANP-format CSV files split the way ANP
splits its history, one per half-year (about 3.4 GB), then runs `fuelpipe stations ingest` on
all of them, oldest first, into a new local lake in a child process, and prints its wall time,
rows/s, CPU time, peak memory (the child's largest RSS) and the machine's load average before
and after. Everything it wrote is deleted at the end. `df -h` the folder's disk first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_stations import COPIES_20M, ROOT

_GENERATE = f"""
import sys
from pathlib import Path
from bench.synthetic_stations import write_anp_semesters
write_anp_semesters(Path(sys.argv[1]), {COPIES_20M})
"""


def main(folder: Path) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="history-ingest-", dir=folder))
    try:
        # Generated in a child of its own: DuckDB's ~1.5 GB would otherwise stay in this
        # process, and a child forked from it would count it in its peak RSS.
        t = time.perf_counter()
        paths = {"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        subprocess.run(
            [sys.executable, "-c", _GENERATE, str(work / "csv")],
            cwd=ROOT,
            env={**os.environ, **paths},
            check=True,
        )
        generated = time.perf_counter() - t
        files = sorted((work / "csv").glob("*.csv"))
        env = {**os.environ, **paths, "FUELPIPE_LAKE": str(work / "lake")}
        command = [sys.executable, "-m", "fuelpipe", "stations", "ingest", *map(str, files)]
        load_before = os.getloadavg()[0]
        t = time.perf_counter()
        child = subprocess.Popen(
            [*command, "--json"], env=env, cwd=work, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
        wall = time.perf_counter() - t
        load_after = os.getloadavg()[0]
        assert os.waitstatus_to_exitcode(status) == 0, out[-400:]
        child.returncode = 0  # reaped by wait4 above: Popen must not wait or warn on it again
        summary = json.loads(out)
        assert summary["written"] == summary["rows"], summary
        assert not summary["rejected"], summary
        return {
            "files": len(files),
            "csv_gb": sum(f.stat().st_size for f in files) / 1e9,
            "generated_s": generated,
            "rows": summary["rows"],
            "wall_s": wall,
            "rows_per_s": summary["rows"] / wall,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024,
            "load_1min_before": load_before,
            "load_1min_after": load_after,
            "lake_mb": sum(p.stat().st_size for p in (work / "lake").rglob("*.parquet")) / 1e6,
        }
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    where = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir())
    for name, value in main(where).items():
        print(f"{name}: {value:,.2f}" if isinstance(value, float) else f"{name}: {value:,}")
