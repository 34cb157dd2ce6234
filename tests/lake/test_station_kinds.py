"""A rolling file is known by what it holds, not by its name.

A rolling "últimas 4 semanas" file's record never displaces a consolidated file's (next
week's rolling file would revert the monthly correction). The rule used to know a rolling file
by ANP's name, so the same file saved under another name was taken for a consolidated one and
reverted the correction. The real files: ANP's three 2025 rolling files (2025-03-24 … 04-19,
over two months: rolling by their days) and the December 2023 diesel/CNG one (12-04 … 12-28,
one month: its days cannot tell it from a monthly file, so its name decides, and under another
name it is undecided). Every edit is synthetic and named where it is made."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.lake.conftest import BOM, NOW, real_file, set_cell
from typer.testing import CliRunner

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake, file_kinds, held_kind
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.cli.main import cli
from fuelpipe.domain.station_files import file_kind, kind_by_days

SALE, DAY = 12, 11  # "Valor de Venda", "Data da Coleta"
DEC_2023 = (
    Path(__file__).resolve().parents[2]
    / "datasets/anp/stations"
    / "samuelfideles1__anp_revenda_ultimas-4-semanas-diesel-gnv_2023-12-04_2023-12-28.csv"
)


def _lines(data: bytes) -> list[str]:
    return data[len(BOM) :].decode("utf-8").split("\r\n")


def _file(lines: list[str]) -> bytes:
    return BOM + "\r\n".join(lines).encode()


def _day(line: str) -> date:
    (cells,) = csv.reader([line], delimiter=";")  # (some fields are quoted, holding a ";")
    return date(*map(int, reversed(cells[DAY].split("/"))))


def _days(lines: list[str]) -> set[date]:
    return {_day(ln) for ln in lines[1:] if ln}


def _price(lake: StationLake, line: str) -> float:
    cnpj = "".join(c for c in line.split(";")[4] if c.isdigit())
    day = _day(line)
    with lake.reader() as con:
        (price,) = con.execute(
            "SELECT price FROM stations WHERE cnpj = ? AND collected = ?", [cnpj, day]
        ).fetchone() or (None,)
    return float(price)


# --- what the real files' days say ---------------------------------------------------------
@pytest.mark.parametrize("group", ["gasolina-etanol", "diesel-gnv", "glp"])
def test_anp_s_2025_rolling_files_are_rolling_by_their_days_under_any_name(group: str) -> None:
    days = _days(_lines(real_file(group)))
    assert (min(days), max(days)) in {
        (date(2025, 3, 24), date(2025, 4, 18)),
        (date(2025, 3, 24), date(2025, 4, 19)),
    }
    for name in (f"ultimas-4-semanas-{group}.csv", f"{group}-saved.csv", "precos-glp-04.csv"):
        found = file_kind(days, name)
        assert found.kind == "rolling", found
        assert found.why.startswith("by its content")
        assert "4 survey week(s) across two months" in found.why


def test_the_december_2023_rolling_file_lies_in_one_month_so_only_its_name_tells() -> None:
    lines = DEC_2023.read_bytes().decode("utf-8-sig").split("\r\n")
    days = _days(lines)
    assert (min(days), max(days)) == (date(2023, 12, 4), date(2023, 12, 28))
    assert kind_by_days(days)[0] is None  # a December monthly file unsurveyed on 1 and 29-31
    named = file_kind(days, "ultimas-4-semanas-diesel-gnv.csv")
    assert named.kind == "rolling" and named.why.startswith("by ANP's name for a rolling file")
    renamed = file_kind(days, "diesel-gnv-dez-2023.csv")
    assert renamed.kind == "undecided"
    assert "(2023-12-04 … 2023-12-28) span 4 survey week(s) of one month" in renamed.why
    given = file_kind(days, "diesel-gnv-dez-2023.csv", "rolling")
    assert (given.kind, given.why) == ("rolling", "given (--kind rolling)")


# synthetic: day sets for the spans no real file here shows
SUNDAY = date(2025, 6, 1)


def _span(first: date, last: date) -> set[date]:
    """Synthetic: every Monday to Saturday from ``first`` to ``last``."""
    n = (last - first).days
    return {d for d in (first + timedelta(i) for i in range(n + 1)) if d.weekday() != 6}


def test_synthetic_spans_decide_as_the_survey_weeks_say() -> None:
    may = _span(date(2025, 5, 1), date(2025, 5, 31))  # a monthly file: 5 survey weeks
    assert kind_by_days(may)[0] == "consolidated"
    assert file_kind(may, "ultimas-4-semanas-glp.csv").why.startswith(
        "by its content (its name is a rolling file's)"
    )
    half = _span(date(2021, 1, 4), date(2021, 6, 30))  # a semiannual file
    assert kind_by_days(half)[0] == "consolidated"
    june = _span(date(2024, 6, 3), date(2024, 6, 29))  # June 2024, Mon 3 to Sat 29: 4 weeks
    assert kind_by_days(june)[0] is None
    assert file_kind(june, "precos-glp-06.csv").kind == "consolidated"  # ANP's monthly name
    stray = _span(date(2025, 3, 24), date(2025, 4, 19)) | {date(2024, 3, 25)}  # a typo's day
    assert kind_by_days(stray)[0] is None
    assert "without a collection day" in kind_by_days(stray)[1]
    assert file_kind(set(), "x.csv").kind == "undecided"


# --- what the lake does with them ----------------------------------------------------------
def test_a_renamed_rolling_file_does_not_revert_a_monthly_correction(tmp_path: Path) -> None:
    """The defect: ANP's 2025 LPG rolling file, saved under another name, ingested after the
    April monthly file corrected a day. Its days (two months in 4 weeks) make it rolling: the
    correction stays, and the value it would have reverted is listed as not kept."""
    lines = _lines(real_file("glp"))
    monthly = [lines[0], *(ln for ln in lines[1:] if ln and _day(ln).month == 4)]
    fixed = set_cell(monthly[1], SALE, "99,99")  # synthetic: the monthly file's correction
    monthly[1] = fixed
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    (dsan,) = lake.ingest_path(_write(tmp_path / "dsan/precos-glp-04.csv", _file(monthly)))
    assert dsan.kind == "consolidated"  # (April alone cannot tell: ANP's name does)
    saved = _write(tmp_path / "backup/glp-2025-04-19.csv", real_file("glp"))
    (rolling,) = lake.ingest_path(saved)
    assert rolling.kind == "rolling", rolling.kind_why
    assert (rolling.replaced, rolling.not_kept) == (0, 1)
    assert _price(lake, fixed) == pytest.approx(99.99)
    (line,) = rolling.differing
    at = lines.index(next(ln for ln in lines[1:] if ln and _day(ln).month == 4)) + 1
    assert (  # the rolling file's line that holds it, as a rejected row's is named
        f"not kept (glp-2025-04-19.csv line {at}; a provisional rolling file; the lake keeps "
        "the consolidated " in line
    ), line
    assert line.endswith("precos-glp-04.csv)")


def test_a_renamed_rolling_file_s_record_gives_way_to_next_week_s_rolling_file(
    tmp_path: Path,
) -> None:
    """The other side of it: the records of the renamed rolling file are a rolling file's, so
    next week's rolling file (ANP's name) still corrects them."""
    lines = _lines(real_file("glp"))
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    lake.ingest_path(_write(tmp_path / "backup/glp-2025-04-19.csv", real_file("glp")))
    later = list(lines)
    later[5] = set_cell(later[5], SALE, "88,88")  # synthetic: next week's correction
    (report,) = lake.ingest_path(_write(tmp_path / "ultimas-4-semanas-glp.csv", _file(later)))
    assert (report.kind, report.replaced, report.not_kept) == ("rolling", 1, 0)
    assert _price(lake, later[5]) == pytest.approx(88.88)


def test_a_file_whose_kind_cannot_be_told_is_said_so_and_reverts_nothing(
    tmp_path: Path,
) -> None:
    """The December 2023 rolling file saved as ``diesel-gnv-dez-2023.csv``: one month's days
    and a name none of ANP's. It is reported undecided, with why and how to decide, and
    treated so that nothing is lost either way: the December monthly file's correction stays.
    Given ``--kind rolling`` (with ``--force``) it is rolling."""
    data = DEC_2023.read_bytes()
    lines = _lines(data)
    monthly = list(lines)
    monthly[3] = set_cell(monthly[3], SALE, "9,99")  # synthetic: the monthly correction
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    dsan = _write(tmp_path / "dsan/precos-diesel-gnv-12.csv", _file(monthly))
    saved = _write(tmp_path / "diesel-gnv-dez-2023.csv", data)
    runner = CliRunner()
    first = runner.invoke(cli, ["stations", "ingest", "--json", str(dsan)], env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["files"][0]["parts"][0]["kind"] == "consolidated"
    done = runner.invoke(cli, ["stations", "ingest", str(saved)], env=env)
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "warning diesel-gnv-dez-2023.csv: rolling or consolidated file, undecided:" in said
    assert "span 4 survey week(s) of one month" in said
    assert "ingest it again with --kind rolling or --kind consolidated, and --force" in said
    assert "1 record(s) of a rolling file, or of a file of undecided kind, differ" in said
    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    assert _price(lake, monthly[3]) == pytest.approx(9.99)
    given = runner.invoke(
        cli, ["stations", "ingest", "--json", "--force", "--kind", "rolling", str(saved)], env=env
    )
    assert given.exit_code == 0, given.output
    (part,) = json.loads(given.stdout)["files"][0]["parts"]
    assert (part["kind"], part["kind_why"], part["not_kept"]) == (
        "rolling",
        "given (--kind rolling)",
        1,
    )
    assert _price(lake, monthly[3]) == pytest.approx(9.99)
    wrong = runner.invoke(cli, ["stations", "ingest", "--kind", "monthly", str(saved)], env=env)
    assert wrong.exit_code == 2 and "--kind is auto, rolling or consolidated" in wrong.output


def test_kinds_recorded_before_are_read_from_the_manifest_else_by_name() -> None:
    files = {
        "/a": {"parts": [{"name": "glp-saved.csv", "kind": "rolling"}]},
        "/b": {"parts": [{"name": "x.csv", "kind": "rolling"}]},
        "/c": {"parts": [{"name": "x.csv", "kind": "undecided"}]},
        "/d": {"parts": [{"name": "ultimas-4-semanas-glp.csv"}]},  # recorded before kinds
    }
    kinds = file_kinds(files)
    assert kinds == {"glp-saved.csv": "rolling", "x.csv": "undecided"}
    assert held_kind(kinds, "glp-saved.csv") == "rolling"
    assert held_kind(kinds, "ultimas-4-semanas-glp.csv") == "rolling"  # the rule of that time
    assert held_kind(kinds, "precos-glp-04.csv") == "consolidated"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
