"""A station lake holding the bundled real gasoline/ethanol and LPG files (ANP's last-4-weeks
sample, 2025-03-24..2025-04-19), for the stations API and browser tests."""

from __future__ import annotations

import lzma
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

if TYPE_CHECKING:
    from fuelpipe.adapters.lake.engine import StationLake


def real_sample_lake(tmp: Path, now: datetime) -> StationLake:
    """Ingest the real gasoline/ethanol and LPG files into a fresh lake under ``tmp``."""
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import LocalLakeStorage

    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(now))
    for group in ("gasolina-etanol", "glp"):
        path = tmp / f"ultimas-4-semanas-{group}.csv"
        path.write_bytes(lzma.decompress((SNAPSHOT_DIR / f"shpc/qus/{path.name}.xz").read_bytes()))
        lake.ingest_path(path)
    return lake
