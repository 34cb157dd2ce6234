"""A station lake holding the bundled real gasoline/ethanol and LPG files (ANP's last-4-weeks
sample, 2025-03-24..2025-04-19), for the stations API and browser tests; one whose fuels end
apart (diesel and CNG in December 2023, LPG in 2025); one of LPG with weeks before the sample's;
and the same lake read as one of an older layout."""

from __future__ import annotations

import lzma
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.stations import cnpj_check_digit
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

if TYPE_CHECKING:
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.dashboard.stations import StationQueries


DIESEL_CNG_2023 = (
    Path(__file__).resolve().parents[2]
    / "datasets/anp/stations"
    / "samuelfideles1__anp_revenda_ultimas-4-semanas-diesel-gnv_2023-12-04_2023-12-28.csv"
)
"""ANP's real diesel, diesel S10 and CNG file of 2023-12-04..2023-12-28, bundled under datasets/anp/stations/."""


def real_sample_lake(
    tmp: Path, now: datetime, groups: tuple[str, ...] = ("gasolina-etanol", "glp")
) -> StationLake:
    """Ingest the real files of ``groups`` (gasoline/ethanol and LPG) into a fresh lake under
    ``tmp``."""
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import LocalLakeStorage

    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(now))
    for group in groups:
        path = tmp / f"ultimas-4-semanas-{group}.csv"
        path.write_bytes(lzma.decompress((SNAPSHOT_DIR / f"shpc/qus/{path.name}.xz").read_bytes()))
        lake.ingest_path(path)
    return lake


def fuels_apart_lake(tmp: Path, now: datetime) -> StationLake:
    """A lake of real files whose fuels end apart, and without gasoline: diesel, diesel S10 and
    CNG to 2023-12-28, LPG 2025-03-24..2025-04-18 (its last four weeks hold LPG alone)."""
    lake = real_sample_lake(tmp, now, ("glp",))
    lake.ingest_path(DIESEL_CNG_2023)
    return lake


def lpg_earlier_weeks_lake(tmp: Path, now: datetime) -> StationLake:
    """The real LPG file (2025-03-24..04-18: it ends on a Friday) and, named synthetic, each of
    its records again 28 days earlier, so the lake holds LPG from 2025-02-24, with prices in the
    survey week of 2025-03-16 (the fifth back from the last day's, 2025-04-13)."""
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.lake.storage import LocalLakeStorage

    raw = lzma.decompress((SNAPSHOT_DIR / "shpc/qus/ultimas-4-semanas-glp.csv.xz").read_bytes())
    bom, text = raw[:3], raw[3:].decode("utf-8")
    header, *records = [line for line in text.split("\r\n") if line]

    def earlier(day: re.Match[str]) -> str:  # Data da Coleta, a line's one date
        return f";{datetime.strptime(day[1], '%d/%m/%Y') - timedelta(days=28):%d/%m/%Y};"

    moved = [re.sub(r";(\d\d/\d\d/\d{4});", earlier, line, count=1) for line in records]
    path = tmp / "glp-and-earlier.csv"
    path.write_bytes(bom + "\r\n".join([header, *moved, *records, ""]).encode())
    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(now))
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

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        return self.lake.fuel_windows()

    def old_layout(self) -> int | None:
        return 1
