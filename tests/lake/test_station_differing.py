"""A record sent again with other prices is not dropped without a word: within one file the first
wins and each repeat with other prices is listed; a later file's (a corrected version) replaces
the lake's, and each value displaced is listed in that version's revised report. Real records, one price changed (synthetic edit, named here)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.lake.conftest import real_lines, set_cell

from fuelpipe.adapters.lake.engine import StationLake

SALE = 12  # "Valor de Venda"


def _reports(lake: StationLake, tmp: Path) -> dict[str, str]:
    root = Path(lake.storage.describe())
    return {p.name: p.read_text() for p in (root / "_reports").glob("*.txt")}


def test_a_corrected_file_replaces_the_lake_s_value_and_lists_the_one_displaced(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """ANP republishes corrected values (the rolling file, then the monthly one): the newest
    version ingested wins, and the value it displaces is listed, never dropped silently. (Two
    versions of a consolidated file, given as such: 40 records of 4 days of one month, under
    names none of ANP's, cannot tell.)"""
    lines = real_lines("glp", 40)
    (first,) = lake.ingest_path(write("first.csv", "\n".join(lines).encode()), kind="consolidated")
    assert first.differing == [] and first.revised == []
    corrected = list(lines)
    old_price = corrected[7].split(";")[SALE]
    corrected[7] = set_cell(corrected[7], SALE, "123,45")  # the one synthetic edit
    (again,) = lake.ingest_path(
        write("corrected.csv", "\n".join(corrected).encode()), kind="consolidated"
    )
    assert (again.written, again.replaced, again.already_in_lake) == (0, 1, 39)
    assert again.accounted()
    (line,) = again.revised
    kept = float(old_price.replace(",", "."))
    assert f"price {kept} replaced by 123.45" in line and "came from first.csv" in line
    # the row's file and line, as a rejected row's (lines[7] is the file's 8th: a header first)
    assert line.endswith("(corrected.csv line 8; the lake's value came from first.csv)"), line
    assert again.as_dict()["replaced"] == 1 and again.as_dict()["revised"] == 1
    (report,) = again.reports
    assert report.startswith("corrected.csv.") and report.endswith(".revised.txt")
    assert _reports(lake, tmp_path)[report].splitlines()[1:] == [line]
    with lake.reader("LPG") as con:
        prices = con.execute(
            "SELECT price FROM stations WHERE price IN (?, 123.45)", [kept]
        ).fetchall()
    held = [p for (p,) in prices]
    assert (
        123.45 in held
        and held.count(kept)
        == sum(  # the old value only at other stations
            1 for ln in lines[1:] if ln.split(";")[SALE] == old_price
        )
        - 1
    )


def test_a_line_repeated_in_one_file_with_another_price_is_listed(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """Listed with its line and the kept row's line (real records, one price changed)."""
    lines = real_lines("glp", 20)
    repeated = set_cell(lines[3], SALE, "99,99")  # the same station, product and day, repriced
    same = lines[5]  # and one repeated unchanged: a plain duplicate, nothing to list
    (report,) = lake.ingest_path(write("twice.csv", "\n".join([*lines, repeated, same]).encode()))
    assert (report.rows, report.written, report.duplicates_in_file) == (22, 20, 2)
    (line,) = report.differing
    # both lines named, as a ZIP's members' are (it named neither: find them by CNPJ and day)
    kept = float(lines[3].split(";")[SALE].replace(",", "."))
    assert line.endswith(
        f"sale 99.99 purchase - not kept (twice.csv line 22); an earlier row of the file, "
        f"line 4, holds sale {kept} purchase -"
    ), line
    (name,) = report.reports
    assert name.startswith("twice.csv.") and name.endswith(".differing.txt")
    assert name in _reports(lake, tmp_path)


def test_the_cli_says_how_many_records_were_replaced_and_where_they_are_listed(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from fuelpipe.cli.main import cli

    lines = real_lines("glp", 10)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_bytes("\n".join(lines).encode())
    lines[2] = set_cell(lines[2], SALE, "77,70")  # synthetic edit
    second.write_bytes("\n".join(lines).encode())
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    ingest = ["stations", "ingest", "--kind", "consolidated"]  # (10 records cannot tell)
    assert CliRunner().invoke(cli, [*ingest, str(first)], env=env).exit_code == 0
    result = CliRunner().invoke(cli, [*ingest, str(second)], env=env)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "b.csv: 1 record(s) of the lake replaced by this newer version's other values" in said
    assert re.search(r"_reports/b\.csv\.[0-9a-f]{12}\.revised\.txt", said), said
    assert "1 replacing an older version's values" in said


def _synthetic_zip(members: dict[str, list[str]]) -> bytes:
    """A ZIP (synthetic) of CSVs given as their lines, in this order."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, lines in members.items():
            archive.writestr(member, "\r\n".join(lines) + "\r\n")
    return buf.getvalue()


def test_a_zip_is_one_file_its_first_member_wins_and_a_later_one_s_other_prices_are_listed(
    lake: StationLake, write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    """Two consolidated CSVs in one ZIP carry the same (CNPJ, product, day) with other prices.
    Before, the later member replaced the earlier one's record as a newer version would (one
    file's own members, ``replaced`` and a revised line). A ZIP is one file: as within one CSV,
    the first (in archive order) wins, and the later member's other prices are listed in
    ``differing`` naming both members and lines. Synthetic: real records, member b.csv holding
    records 6 to 15 of a.csv's 1 to 10 and more, its record 7 re-priced."""
    lines = real_lines("glp", 15)
    header, records = lines[0], lines[1:]
    repriced = set_cell(records[6], SALE, "99,99")  # a.csv's line 8, b.csv's line 3
    later = [header, records[5], repriced, *records[7:15]]
    zipped = write(
        "precos-glp.zip", _synthetic_zip({"a.csv": [header, *records[:10]], "b.csv": later})
    )
    first, second = lake.ingest_path(zipped, kind="consolidated")
    assert (first.name, first.written, first.differing) == ("precos-glp.zip!a.csv", 10, [])
    assert (second.rows, second.written, second.duplicates_in_file) == (10, 5, 5)
    assert (second.replaced, second.revised, second.already_in_lake) == (0, [], 0)
    assert second.accounted()
    (line,) = second.differing
    kept = float(records[6].split(";")[SALE].replace(",", "."))
    assert "sale 99.99" in line and f"holds sale {kept}" in line, line
    assert "precos-glp.zip!b.csv line 3" in line and "precos-glp.zip!a.csv line 8" in line, line
    (name,) = second.reports
    assert name.startswith("precos-glp.zip.") and name.endswith(".differing.txt")
    assert _reports(lake, tmp_path)[name].splitlines()[1:] == [line]
    with lake.reader("LPG") as con:
        held = con.execute("SELECT count(*), count(*) FILTER (price = 99.99) FROM stations")
        assert held.fetchone() == (15, 0)

    # The same ZIP again (--force): still one file, nothing replaced, the same line listed.
    first, second = lake.ingest_path(zipped, kind="consolidated", force=True)
    assert (first.already_in_lake, second.already_in_lake) == (10, 5)
    assert (second.duplicates_in_file, second.replaced, second.differing) == (5, 0, [line])


def test_a_later_member_s_line_is_its_file_line_when_a_record_spans_two(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """The line named is the member's file line, not its record number: a quoted line break
    in an earlier record (synthetic, a complement over two lines) puts the re-priced record
    on line 4, its third record."""
    lines = real_lines("glp", 12)
    header, records = lines[0], lines[1:]
    cells = records[10].split(";")
    cells[7] = '"LOJA\n2"'
    later = [header, ";".join(cells), set_cell(records[6], SALE, "99,99")]
    zipped = _synthetic_zip({"a.csv": [header, *records[:10]], "b.csv": later})
    _, second = lake.ingest_path(write("two.zip", zipped), kind="consolidated")
    assert (second.rows, second.written, second.duplicates_in_file) == (2, 1, 1)
    (line,) = second.differing
    assert "two.zip!b.csv line 4" in line and "two.zip!a.csv line 8" in line, line
