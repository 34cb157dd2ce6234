"""Run every bench module, print one table and write docs/BENCHMARKS.md."""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from bench._common import BenchRow

ROOT = Path(__file__).resolve().parent.parent


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"{mem:.0f} GiB RAM, Python {platform.python_version()}"
    )


def main() -> int:
    only = set(sys.argv[1:])
    modules = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    rows: list[BenchRow] = []
    failed: list[str] = []
    for name in modules:
        if only and name not in only:
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            mod = importlib.import_module(f"bench.{name}")
            got = list(mod.run())
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        rows.extend(got)
        for r in got:
            print(f"   {r.metric}: {r.fmt_value()} {r.unit}  (goal {r.goal or '-'})", flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand.",
        "",
        f"Machine: {_machine()}.  ",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| area | metric | value | unit | goal | met |",
        "|---|---|---:|---|---|---|",
    ]
    for r in rows:
        met = "—" if r.ok is None else ("yes" if r.ok else "**no**")
        lines.append(f"| {r.area} | {r.metric} | {r.fmt_value()} | {r.unit} | {r.goal} | {met} |")
    if failed:
        lines += ["", f"Benchmarks that failed to run: {', '.join(failed)}."]
    notes = ROOT / "bench" / "NOTES.md"  # the hand-written reading, kept beside the numbers
    if notes.is_file():
        lines += ["", notes.read_text().rstrip()]
    out = ROOT / "docs" / "BENCHMARKS.md"
    if not only:
        out.parent.mkdir(exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[7:]))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
