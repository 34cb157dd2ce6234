"""bench/synthetic_stations.py's history as ANP splits it: one ANP-format file per half-year."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")

from bench.synthetic_stations import BOM, REAL_ROWS, write_anp_semesters  # noqa: E402

from fuelpipe.domain.stations import ANP_COLUMNS  # noqa: E402


def test_the_synthetic_history_is_one_anp_file_per_half_year(tmp_path: Path) -> None:
    """Five copies of the real 2025-03-24..04-19 sample, each 28 days further back, reach
    2024-11-04: the second half of 2024 and the first of 2025, every row in its file's half."""
    files = write_anp_semesters(tmp_path / "history", 5)

    assert [f.name for f in files] == ["synthetic-ca-2024-02.csv", "synthetic-ca-2025-01.csv"]
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == [f.name for f in files]
    total = 0
    for path, (first, last) in zip(
        files,
        [(date(2024, 7, 1), date(2024, 12, 31)), (date(2025, 1, 1), date(2025, 6, 30))],
        strict=True,
    ):
        with path.open("rb") as f:
            assert f.read(3) == BOM
            assert f.readline().decode().rstrip("\r\n") == ";".join(ANP_COLUMNS)
        query = (
            'SELECT count(*), min(d), max(d) FROM (SELECT strptime("Data da Coleta", '
            f"'%d/%m/%Y')::DATE AS d FROM read_csv('{path}', delim=';', header=true, "
            "all_varchar=true))"
        )
        rows, low, high = duckdb.connect().execute(query).fetchone()  # type: ignore[misc]
        assert first <= low <= high <= last, (path.name, low, high)
        total += rows
    assert total == 5 * REAL_ROWS
