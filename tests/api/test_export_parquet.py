"""`fuelpipe export --format parquet` carries what CSV and JSON carry: the revision history,
the stored number exactly, and is written one key at a time."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.api import TIDY_COLUMNS
from fuelpipe.cli.main import cli
from fuelpipe.domain.models import Record, Revision, Status

USD, EUR, BRENT = "CURRENCY#USD", "CURRENCY#EUR", "COMMODITY#BRENT"
PRECISE = "5.12345678901234567891"  # 21 significant digits: a float keeps about 15


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An embedded store: a precise value, a revised one (with attributes), a pending date,
    and two more keys with a few records each."""
    path = tmp_path / "store.sqlite"
    store = SqliteStore(path)
    store.add_records(
        [
            Record(
                USD, date(2022, 1, 3), Decimal(PRECISE), Status.OK, attrs={"buy": Decimal("5.1")}
            ),
            Record(
                USD, date(2022, 1, 4), Decimal("5.6789"), Status.OK, attrs={"buy": Decimal("5.6")}
            ),
            *(Record(EUR, date(2022, 1, d), Decimal(f"6.{d}"), Status.OK) for d in (3, 4, 5)),
            *(Record(BRENT, date(2022, 1, d), Decimal(f"80.{d}"), Status.OK) for d in (3, 4)),
        ]
    )
    store.put_pending(Record(USD, date(2022, 1, 5), None, Status.PENDING, retry_count=2))
    seen = datetime(2022, 2, 1, tzinfo=UTC)
    revision = Revision(
        Decimal("5.6789"), Decimal("5.7"), seen, "revise bcb:USD", {"buy": Decimal("5.6")}
    )
    assert store.revise(USD, date(2022, 1, 4), revision, {"buy": Decimal("5.69")})
    store.close()
    return {"FUELPIPE_DB": str(path), "FUELPIPE_BACKEND": "embedded"}


def _export(env: dict[str, str], *args: str) -> str:
    done = CliRunner().invoke(cli, ["export", *args], env=env)
    assert done.exit_code == 0, done.output
    return done.output


def _both(env: dict[str, str], tmp_path: Path) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """USD's rows as Parquet and as CSV export them, date by date."""
    out = tmp_path / "usd.parquet"
    _export(env, USD, "-o", str(out))
    written = pq.read_table(out).to_pylist()
    rows = list(csv.DictReader(io.StringIO(_export(env, USD, "--format", "csv"))))
    assert [r["date"].isoformat() for r in written] == [r["date"] for r in rows]
    return list(zip(written, rows, strict=True))


def test_parquet_carries_the_revisions_csv_carries(env, tmp_path: Path) -> None:
    both = _both(env, tmp_path)
    for got, row in both:
        assert (got["revisions"] or "") == row["revisions"]  # the same JSON text
    history = json.loads(both[1][0]["revisions"])
    assert [(h["previous"], h["new"], h["previous_attrs"]) for h in history] == [
        ("5.6789", "5.7", {"buy": "5.6"})
    ]


def test_parquet_carries_the_stored_number_exactly(env, tmp_path: Path) -> None:
    both = _both(env, tmp_path)
    for got, row in both:
        assert (got["value_text"] or "") == row["value"]
    assert [got["value_text"] for got, _ in both] == [PRECISE, "5.7", None]  # pending: none
    assert both[0][0]["value"] == float(PRECISE)  # the float column stays, for arithmetic


def test_parquet_is_written_one_row_group_per_key(env, tmp_path: Path) -> None:
    """Each key's records are written (a row group of their own) before the next key is
    read, so an export holds one series at a time, not the whole store."""
    out = tmp_path / "all.parquet"
    _export(env, "-s", USD, "-s", "CURRENCY#GBP", "-s", EUR, "-s", BRENT, "-o", str(out))
    parquet = pq.ParquetFile(out)
    groups = [parquet.read_row_group(i) for i in range(parquet.num_row_groups)]
    assert [set(g.column("key").to_pylist()) for g in groups] == [{USD}, {EUR}, {BRENT}]
    assert [g.num_rows for g in groups] == [3, 3, 2]  # GBP has no record: no row group


def test_parquet_of_keys_without_records_is_an_empty_table(env, tmp_path: Path) -> None:
    out = tmp_path / "none.parquet"
    assert "wrote 0 records of 1 series" in _export(env, "-s", "CURRENCY#GBP", "-o", str(out))
    table = pq.read_table(out)
    assert table.num_rows == 0
    assert table.column_names == list(TIDY_COLUMNS)
