"""A station lake holding the bundled real gasoline/ethanol and LPG files (ANP's last-4-weeks
sample, 2025-03-24..2025-04-19), for the stations API and browser tests."""

from __future__ import annotations

import lzma
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.stations import cnpj_check_digit
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


def synthetic_cnpj(first12: str) -> str:
    """A SYNTHETIC CNPJ, punctuated as ANP writes it, from its first 12 digits and the two
    check digits they give (the ingest rejects a CNPJ whose check digits fail)."""
    d = first12 + str(cnpj_check_digit(first12))
    d += str(cnpj_check_digit(d))
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"
