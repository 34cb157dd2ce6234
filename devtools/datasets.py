"""The real source files committed in ``datasets/`` (origins in datasets/MANIFEST.md).

Tests, benchmarks and scripts read real data only from here or from the replay snapshot, never
from a folder outside the checkout. A missing file is a failure, never a skip.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"


def dataset(relative: str) -> Path:
    """The path of ``datasets/<relative>``; raises FileNotFoundError when it is not committed."""
    path = DATASETS / relative
    if not path.is_file():
        raise FileNotFoundError(f"datasets/{relative} is missing (see datasets/MANIFEST.md)")
    return path
