"""A record sent again with other prices (a corrected file, or a line repeated within one file)
is not dropped without a word: the record kept first wins, and each differing one is counted and
listed in the lake's reports. Real records, one price changed (synthetic edit, named here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.lake.conftest import real_lines, set_cell

from fuelpipe.adapters.lake.engine import StationLake

SALE = 12  # "Valor de Venda"


def _reports(lake: StationLake, tmp: Path) -> dict[str, str]:
    root = Path(lake.storage.describe())
    return {p.name: p.read_text() for p in (root / "_reports").glob("*.txt")}


def test_a_corrected_file_lists_the_prices_the_lake_does_not_take(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    lines = real_lines("glp", 40)
    (first,) = lake.ingest_path(write("first.csv", "\n".join(lines).encode()))
    assert first.differing == []
    corrected = list(lines)
    old_price = corrected[7].split(";")[SALE]
    corrected[7] = set_cell(corrected[7], SALE, "123,45")  # the one synthetic edit
    (again,) = lake.ingest_path(write("corrected.csv", "\n".join(corrected).encode()))
    assert (again.written, again.already_in_lake) == (0, 40)  # its key is in the lake too
    assert again.accounted()
    (line,) = again.differing
    kept = float(old_price.replace(",", "."))
    assert "sale 123.45 purchase -" in line and f"the lake holds sale {kept} purchase -" in line
    assert again.as_dict()["differing"] == 1
    assert _reports(lake, tmp_path)["corrected.csv.differing.txt"] == line + "\n"


def test_a_line_repeated_in_one_file_with_another_price_is_listed(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    lines = real_lines("glp", 20)
    repeated = set_cell(lines[3], SALE, "99,99")  # the same station, product and day, repriced
    same = lines[5]  # and one repeated unchanged: a plain duplicate, nothing to list
    (report,) = lake.ingest_path(write("twice.csv", "\n".join([*lines, repeated, same]).encode()))
    assert (report.rows, report.written, report.duplicates_in_file) == (22, 20, 2)
    (line,) = report.differing
    assert "sale 99.99" in line and "an earlier row of the file holds" in line
    assert "twice.csv.differing.txt" in _reports(lake, tmp_path)


def test_the_cli_says_how_many_rows_differ_and_where_they_are_listed(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fuelpipe.cli.main import cli

    lines = real_lines("glp", 10)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_bytes("\n".join(lines).encode())
    lines[2] = set_cell(lines[2], SALE, "77,70")  # synthetic edit
    second.write_bytes("\n".join(lines).encode())
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    assert CliRunner().invoke(cli, ["stations", "ingest", str(first)], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["stations", "ingest", str(second)], env=env)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "b.csv: 1 row(s) repeat a record with other prices" in said
    assert "_reports/b.csv.differing.txt" in said
