"""Station-lake fixtures: the real ANP sample from the replay snapshot, and synthetic variants
of it (named synthetic) for the formats and faults the real sample does not show."""

from __future__ import annotations

import lzma
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

pytest.importorskip("duckdb", reason="the station lake needs the lake extra (duckdb)")

from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage

QUS = SNAPSHOT_DIR / "shpc" / "qus"
NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
BOM = b"\xef\xbb\xbf"


def real_file(group: str) -> bytes:
    """A real "últimas 4 semanas" file as ANP serves it (group: gasolina-etanol, diesel-gnv,
    glp)."""
    return lzma.decompress((QUS / f"ultimas-4-semanas-{group}.csv.xz").read_bytes())


def set_cell(line: str, column: int, value: str) -> str:
    """One ANP CSV line with one field replaced (the synthetic fault of a test)."""
    cells = line.split(";")
    cells[column] = value
    return ";".join(cells)


def real_lines(group: str, rows: int) -> list[str]:
    """The header and the first ``rows`` records of a real file, as text lines (no BOM)."""
    text = real_file(group)[len(BOM) :].decode("utf-8")
    return text.split("\r\n")[: rows + 1]


def ingested_names(lake: StationLake) -> list[str]:
    """The names of the files the lake's manifest records as ingested (it keys them by their
    source: URL or resolved path), sorted."""
    return sorted(e["name"] for e in lake.storage.read_manifest()["files"].values())


@pytest.fixture
def lake(tmp_path: Path) -> StationLake:
    """An empty local lake."""
    return StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write bytes to a file named ``name`` under a fresh folder."""
    folder = tmp_path / "files"
    folder.mkdir()

    def _write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return _write


@pytest.fixture(scope="module")
def real_lake(tmp_path_factory: pytest.TempPathFactory) -> StationLake:
    """The real gasoline/ethanol and LPG samples ingested."""
    tmp = tmp_path_factory.mktemp("real-lake")
    lake = StationLake(LocalLakeStorage(tmp / "lake"), FixedClock(NOW))
    for group in ("gasolina-etanol", "glp"):
        path = tmp / f"ultimas-4-semanas-{group}.csv"
        path.write_bytes(real_file(group))
        lake.ingest_path(path)
    return lake


def acre_gasoline_surveyed_twice() -> bytes:
    """SYNTHETIC: the real file's Acre gasoline of its first two survey weeks (ANP published 9
    and 13 stations; the file holds those 9 on 27/03 and 13 on 03/04) with the first week cut to
    5 stations, 3 of them surveyed again on 28/03 at the same price: 8 prices of 5 stations
    against ANP's 9, the second week left real."""
    header, *lines = real_file("gasolina-etanol")[len(BOM) :].decode("utf-8").split("\r\n")
    state, product, collected = 1, 10, 11
    acre = [
        cells
        for cells in (line.split(";") for line in lines if line)
        if (cells[state], cells[product]) == ("AC", "GASOLINA")
    ]
    first = [c for c in acre if c[collected] == "27/03/2025"]
    second = [c for c in acre if c[collected] == "03/04/2025"]
    assert (len(first), len(second)) == (9, 13)  # the real weeks, as ANP counted them
    kept = first[:5]
    again = [[*c[:collected], "28/03/2025", *c[collected + 1 :]] for c in kept[:3]]
    rows = [header, *(";".join(c) for c in (*kept, *again, *second))]
    return BOM + "\r\n".join(rows).encode("utf-8")
