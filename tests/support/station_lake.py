"""A station lake holding the bundled real gasoline/ethanol and LPG files (ANP's last-4-weeks
sample, 2025-03-24..2025-04-19), for the stations API and browser tests; and the same lake read
as one of an older layout."""

from __future__ import annotations

import lzma
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.stations import cnpj_check_digit
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

if TYPE_CHECKING:
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.dashboard.stations import StationQueries


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


class OldLayoutLake:
    """A station lake read as one of layout 1, not yet migrated: the dashboard's answers name
    it (its queries are the lake's own)."""

    def __init__(self, lake: StationQueries) -> None:
        self.lake = lake

    def query(self, name: str, params: dict[str, Any]) -> Any:
        return self.lake.query(name, params)

    def window(self) -> tuple[date, date] | None:
        return self.lake.window()

    def old_layout(self) -> int | None:
        return 1
