"""`fuelpipe export KEY -o FILE` in CSV or JSON wrote the file and said nothing, where the
Parquet export says "wrote N records of M series to FILE"; a key with no record in the store
printed a bare header (or `[]`) and nothing else, so a first-time user could not tell a key
never fetched from an export that failed. Each check is the real CLI in a subprocess."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as s:
        s.put_records(
            [
                Record("CURRENCY#USD", date(2022, 5, 5), Decimal("4.8"), Status.OK),
                Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK),
            ]
        )
    return {"FUELPIPE_DB": str(db)}


@pytest.mark.parametrize("name", ["usd.csv", "usd.json"])
def test_an_export_to_a_file_says_what_it_wrote(
    env: dict[str, str], tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    done = fuelpipe("export", "currency#usd", "-o", str(out), env=env)
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"wrote 2 records of CURRENCY#USD to {out}"]
    assert out.read_text().count("2022-05-0") == 2


def test_a_count_past_a_thousand_has_its_separator(tmp_path: Path) -> None:
    """It said "wrote 1234 records", where the rest of the CLI writes 1,234. Synthetic: 1,234
    made-up daily values, an edge case for the count's form alone; the file is unchanged."""
    db = tmp_path / "many.sqlite"
    start = date(2020, 1, 1).toordinal()
    with SqliteStore(db) as s:
        s.put_records(
            [
                Record("CURRENCY#USD", date.fromordinal(start + i), Decimal("5"), Status.OK)
                for i in range(1234)
            ]
        )
    out = tmp_path / "usd.csv"
    done = fuelpipe("export", "CURRENCY#USD", "-o", str(out), env={"FUELPIPE_DB": str(db)})
    assert done.stderr.splitlines() == [f"wrote 1,234 records of CURRENCY#USD to {out}"]
    assert len(out.read_text().splitlines()) == 1 + 1234


def test_a_key_with_no_record_says_so_beside_its_empty_export(env: dict[str, str]) -> None:
    done = fuelpipe("export", "CURRENCY#EUR", env=env)
    assert done.stdout == "date,value,status,retry_count\n"  # the file is still the export
    assert done.stderr.splitlines() == [
        "note: CURRENCY#EUR has no record in this store (`fuelpipe run --series CURRENCY#EUR` "
        "fetches it)"
    ]
    as_json = fuelpipe("export", "CURRENCY#EUR", "-f", "json", env=env)
    assert json.loads(as_json.stdout) == []
    assert "CURRENCY#EUR has no record in this store" in as_json.stderr


def test_an_export_to_stdout_prints_the_export_alone(env: dict[str, str]) -> None:
    done = fuelpipe("export", "CURRENCY#USD", env=env)
    assert done.stderr == "" and done.stdout.startswith("date,value,status,retry_count\n")


@pytest.mark.parametrize("pattern", ["FUEL#GASOLINE#*", "fuel#gasoline"])
def test_a_pattern_for_csv_names_the_parquet_export_that_takes_it(
    env: dict[str, str], pattern: str
) -> None:
    """`fuelpipe export 'FUEL#GASOLINE#*'` (a glob, or a prefix as `run --series` takes)
    said "'FUEL#GASOLINE#*' is not in the series catalog (try `fuelpipe status --all`)",
    though it names 33 series of it: CSV and JSON export one key, Parquet many."""
    done = fuelpipe("export", pattern, env=env, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {pattern!r} names 33 series (FUEL#GASOLINE#BR, FUEL#GASOLINE#REGION_N, …): "
        "csv and json export one key, e.g. `fuelpipe export FUEL#GASOLINE#BR`; "
        f"--format parquet exports many: `fuelpipe export --format parquet --series "
        f"'{pattern}' -o FILE.parquet`"
    ]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("usd.csv.gz", "writes no compressed file: pipe it, e.g. `fuelpipe export KEY | gzip >"),
        ("usd.zip", "writes no compressed file: pipe it, e.g. `fuelpipe export KEY | gzip >"),
        ("usd.xlsx", "writes csv, json or parquet, not xlsx: give a file ending .csv"),
        ("usd.tsv", "writes csv, json or parquet, not tsv: give a file ending .csv"),
    ],
)
def test_a_file_named_for_a_format_export_does_not_write_is_refused(
    env: dict[str, str], tmp_path: Path, name: str, says: str
) -> None:
    """`export KEY -o usd.csv.gz` (or .xlsx, .tsv) wrote plain comma-separated text under that
    name, exit 0, so `zcat` or a spreadsheet then failed on it: an extension naming a format
    (or a compression) export does not write is refused, before the store is read."""
    out = tmp_path / name
    done = fuelpipe("export", "CURRENCY#USD", "-o", str(out), env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    extension = name.rsplit(".", 1)[1]
    assert line.startswith(f"error: --output {out} is named .{extension}, but export "), line
    assert says in line, line
    assert not out.exists()


def test_a_parquet_export_of_series_with_no_record_says_so(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`export -f parquet -s KEY` of a series never fetched said only "wrote 0 records of 1
    series", where csv and json name the key and the command that fetches it."""
    pytest.importorskip("pyarrow")
    out = tmp_path / "eur.parquet"
    done = fuelpipe("export", "-f", "parquet", "-s", "CURRENCY#EUR", "-o", str(out), env=env)
    assert done.stderr.splitlines() == [
        "note: CURRENCY#EUR has no record in this store (`fuelpipe run --series CURRENCY#EUR` "
        "fetches it)",
        f"wrote 0 records of 1 series to {out}",
    ]
    many = fuelpipe("export", "-f", "parquet", "-s", "CURRENCY#EUR", "-s", "CURRENCY#GBP",
                    "-o", str(out), env=env)  # fmt: skip
    assert many.stderr.splitlines()[0] == (
        "note: none of the 2 series has a record in this store (`fuelpipe run --series "
        "CURRENCY#EUR` fetches one)"
    )
    some = fuelpipe("export", "-f", "parquet", "-s", "CURRENCY#EUR", "-s", "CURRENCY#USD",
                    "-o", str(out), env=env)  # fmt: skip
    assert some.stderr.splitlines() == [f"wrote 2 records of 2 series to {out}"]


@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_blank_output_is_named_blank(
    env: dict[str, str], blank: str, fmt: str, tmp_path: Path
) -> None:
    """`-o "$OUT"` with OUT unset was read as the folder `.`: "--output . is a directory; give
    a file name" named a path the user never typed."""
    there = sorted(tmp_path.iterdir())
    done = fuelpipe(
        "export", "CURRENCY#USD", "-f", fmt, "-o", blank, env=env, check=False, cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --output is blank: give a file name, or - for stdout"
    ]
    assert sorted(tmp_path.iterdir()) == there  # nothing written, under any name
