"""`reconcile_published` on a lake and a store: a state-week's coverage of ANP's sample counts
distinct stations, not prices."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.lake.conftest import acre_gasoline_surveyed_twice

from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.keys import fuel_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.stations import RECONCILE_MIN_COVERAGE
from fuelpipe.stages.station_reconcile import reconcile_published

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "datasets" / "anp" / "strongylis__anp_shlp_estados.csv"


def _published(week_end: str) -> tuple[Decimal, int]:
    """ANP's published gasoline average and station count for Acre, week ending ``week_end``."""
    with PUBLISHED.open(newline="", encoding="utf-8") as fh:
        (row,) = (
            r
            for r in csv.DictReader(fh)
            if (r["data"], r["estado"], r["produto"]) == (week_end, "AC", "gasolina_c")
        )
    return Decimal(row["preco_medio"]), int(row["n_postos"])


def test_a_state_week_with_stations_surveyed_twice_is_covered_by_its_stations(
    lake: StationLake, tmp_path: Path
) -> None:
    """SYNTHETIC lake (``acre_gasoline_surveyed_twice``): in the week of 2025-03-23, 8 prices
    over ANP's 9 stations is 89% (at least 80%) but 5 stations over 9 is 56%: not compared. The
    next week is left real (13 of 13 stations) and is compared."""
    path = tmp_path / "ultimas-4-semanas-gasolina-etanol.csv"
    path.write_bytes(acre_gasoline_surveyed_twice())
    lake.ingest_path(path)
    store = SqliteStore(tmp_path / "store.sqlite")
    store.put_records(
        [
            Record(fuel_key("GASOLINE", "AC"), sunday, value, Status.OK, attrs={"stations": n})
            for sunday, (value, n) in (
                (date(2025, 3, 23), _published("2025-03-29")),
                (date(2025, 3, 30), _published("2025-04-05")),
            )
        ]
    )
    done = reconcile_published(lake, store, "GASOLINE", date(2025, 3, 24), date(2025, 4, 5), ["AC"])
    thin, full = done.rows
    assert (thin.week_end, thin.compared, thin.result) == (
        date(2025, 3, 29),
        False,
        "not compared",
    )
    assert (thin.observations, thin.stations, thin.published_stations) == (8, 5, 9)
    assert thin.observations / thin.published_stations >= RECONCILE_MIN_COVERAGE
    assert thin.coverage == 5 / 9
    assert (full.observations, full.stations, full.published_stations) == (13, 13, 13)
    assert (full.coverage, full.compared, full.result) == (1.0, True, "within")
    assert done.check.compared == 1
