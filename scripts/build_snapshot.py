"""Build the replay snapshot (src/fuelpipe/replay/snapshot) from the real files in datasets/.

Another folder with the same layout (datasets/MANIFEST.md) can be given with ``--data``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # devtools, when run as `python scripts/build_snapshot.py`

from devtools.snapshot.builder import build_snapshot  # noqa: E402

from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "datasets"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build, print one line per file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of real source files (default: datasets/)",
    )
    parser.add_argument("--out", type=Path, default=SNAPSHOT_DIR, help="snapshot folder")
    args = parser.parse_args(argv)
    report = build_snapshot(args.data, args.out)
    for path, count in sorted(report.rows.items()):
        size = (args.out / path).stat().st_size
        print(f"{path:48} {count:6} rows {size / 1024:8.1f} KiB")
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"total {total / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
