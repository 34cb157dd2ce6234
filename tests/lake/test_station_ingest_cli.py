"""`fuelpipe stations ingest` given paths that are not files, a blank --only, or a lake path
that is a file: what is wrong is said in one line naming it, and the rest of a batch goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.lake.conftest import BOM, real_lines, set_cell
from typer.testing import CliRunner

from fuelpipe.cli.main import cli


@pytest.fixture
def glp(tmp_path: Path) -> Path:
    path = tmp_path / "glp.csv"
    path.write_bytes(BOM + "\r\n".join(real_lines("glp", 20)).encode() + b"\r\n")
    return path


def _env(tmp_path: Path, lake: Path | None = None) -> dict[str, str]:
    return {
        "FUELPIPE_LAKE": str(lake or tmp_path / "lake"),
        "FUELPIPE_DB": str(tmp_path / "x.sqlite"),
        "FUELPIPE_BACKEND": "embedded",
    }


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_path_that_is_not_a_file_is_its_error_and_the_rest_is_ingested(
    tmp_path: Path, glp: Path
) -> None:
    """`ingest st/binary.csv st/glp.csv st/nonexist.csv` refused the whole batch, exit 2."""
    missing, folder = tmp_path / "nonexist.csv", tmp_path / "afolder"
    folder.mkdir()
    args = ["stations", "ingest", str(missing), str(glp), str(folder), "--json"]
    done = CliRunner().invoke(cli, args, env=_env(tmp_path))
    assert done.exit_code == 1, done.output
    summary = json.loads(done.stdout)
    assert [f["name"] for f in summary["files"]] == ["glp.csv"]
    assert summary["written"] == 20
    assert summary["errors"] == [
        f"{missing}: no such file; not ingested",
        # (the shell's glob is named: a folder given was refused without a word of what to do)
        f"{folder}: is a folder, not a file: give the files in it, e.g. {folder}/*.csv; "
        "not ingested",
    ]
    manifest = json.loads((tmp_path / "lake" / "_manifest.json").read_text())
    assert list(manifest["files"]) == [str(glp.resolve())]  # keyed by its path, not its name
    assert manifest["files"][str(glp.resolve())]["name"] == "glp.csv"


def test_only_paths_that_are_not_files_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nonexist.csv"
    done = CliRunner().invoke(cli, ["stations", "ingest", str(missing)], env=_env(tmp_path))
    assert done.exit_code == 2, done.output
    assert _errors(done.stderr) == [f"error: {missing}: no such file"]
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("only", ["", "  "])
def test_a_blank_only_is_refused_naming_the_option(tmp_path: Path, only: str) -> None:
    """`--only ""` matched every name, so it ingested every listed file."""
    done = CliRunner().invoke(cli, ["stations", "ingest", "--only", only], env=_env(tmp_path))
    assert done.exit_code == 2, done.output
    (line,) = _errors(done.stderr)
    assert line.startswith("error: --only is blank: it would match every listed file")
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("below", [False, True])
def test_a_lake_path_that_is_a_file_is_said_so_when_ingesting(
    tmp_path: Path, glp: Path, below: bool
) -> None:
    """`FUELPIPE_LAKE=<a file>` gave `cannot open the lake: [Errno 17] File exists`."""
    afile = tmp_path / "not-a-lake"
    afile.write_text("x")
    lake = afile / "lake" if below else afile
    done = CliRunner().invoke(cli, ["stations", "ingest", str(glp)], env=_env(tmp_path, lake))
    assert done.exit_code == 2, done.output
    (line,) = _errors(done.stderr)
    what = f"is inside {afile}, a file" if below else "is a file"
    assert line == f"error: FUELPIPE_LAKE {lake} {what}, not a lake folder"
    assert afile.read_text() == "x"


@pytest.mark.parametrize("command", [["status"], ["query", "state_weekly"]])
def test_a_lake_path_inside_a_file_is_said_so_when_reading(
    tmp_path: Path, command: list[str]
) -> None:
    """`FUELPIPE_LAKE=<a file>/lake` made `stations status` say "no station lake ... run
    `fuelpipe stations ingest`", an ingest that is refused for that path."""
    afile = tmp_path / "not-a-lake"
    afile.write_text("x")
    lake = afile / "lake"
    done = CliRunner().invoke(cli, ["stations", *command], env=_env(tmp_path, lake))
    assert done.exit_code != 0, done.output
    (line,) = _errors(done.stderr)
    assert line == f"error: FUELPIPE_LAKE {lake} is inside {afile}, a file, not a lake folder"


@pytest.mark.parametrize("records", ["none", "all rejected"])
def test_a_file_with_no_valid_record_gets_no_undecided_kind_warning(
    records: str, tmp_path: Path
) -> None:
    """Synthetic: the real GLP header alone, or with records whose sale price is not a number.
    Nothing of it enters the lake, so its kind decides nothing: it was warned "undecided ...
    ingest it again with --kind rolling or --kind consolidated, and --force", which would
    change nothing. The file and its rows (and each rejected line) are still reported."""
    lines = real_lines("glp", 3)
    if records == "none":
        lines = lines[:1]
    else:
        lines = [lines[0], *(";".join([*ln.split(";")[:12], "abc", *ln.split(";")[13:]])
                             for ln in lines[1:])]  # fmt: skip
    path = tmp_path / "no-records.csv"
    path.write_bytes(BOM + "\r\n".join(lines).encode() + b"\r\n")
    done = CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=_env(tmp_path))
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "undecided:" not in said
    assert "no-records.csv" in said
    if records == "all rejected":
        assert "no-records.csv:2: sale price is not a number: 'abc'" in said


def test_rejected_rows_past_those_shown_are_counted_and_their_report_named(
    tmp_path: Path,
) -> None:
    """The first 20 rejected rows are printed; the rest went unsaid (the totals line counts
    them, but nothing said where they are). 30 real GLP records, 25 with a mistyped date
    (synthetic fault)."""
    lines = real_lines("glp", 30)
    broken = [lines[0], *(set_cell(ln, 11, "31/02/2025") for ln in lines[1:26]), *lines[26:]]
    path = tmp_path / "dates.csv"
    path.write_bytes(BOM + "\r\n".join(broken).encode() + b"\r\n")
    done = CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=_env(tmp_path))
    assert done.exit_code == 0, done.output
    said = [ln for ln in done.stderr.splitlines() if ln.startswith("rejected")]
    assert said[:20] == [
        f"rejected dates.csv:{n}: bad collection date '31/02/2025'" for n in range(2, 22)
    ]
    (report,) = (tmp_path / "lake" / "_reports").glob("dates.csv.*.rejected.txt")
    assert said[20:] == [
        "rejected … 5 more not shown: every rejected row is listed with its file and line in "
        f"the lake's _reports/{report.name}"
    ]
    assert len(report.read_text().splitlines()) == 1 + 25  # its header line and each row


def test_a_file_whose_last_line_has_no_line_end_is_warned_as_perhaps_cut_short(
    tmp_path: Path,
) -> None:
    """Synthetic: 20 real GLP records (ANP ends every line, the last too, with CRLF), cut in
    the last record's flag, as an interrupted copy leaves a file. The cut record still has its
    16 fields, so it was written without a word with the flag 'LIQUI' for 'LIQUIGÁS' (a price
    cut the same way, 6,5 for 6,58, is a valid price too): now a warning names the file and its
    line, and the same file whole warns of nothing."""
    lines = real_lines("glp", 20)
    path = tmp_path / "cut.csv"
    whole = BOM + "\r\n".join(lines).encode() + b"\r\n"
    assert lines[-1].endswith(";LIQUIGÁS")  # the flag the cut shortens
    path.write_bytes(whole[: whole.rindex("GÁS".encode())])

    def ingest(lake: str, *json_out: str) -> tuple[str, str]:
        args = ["stations", "ingest", *json_out, str(path)]
        done = CliRunner().invoke(cli, args, env=_env(tmp_path, tmp_path / lake))
        assert done.exit_code == 0, done.output
        return done.stdout, " ".join(done.stderr.split())

    (part,) = json.loads(ingest("a", "--json")[0])["files"][0]["parts"]
    assert (part["written"], part["rejected"], part["unended_line"]) == (20, 0, 21)
    assert (
        "warning cut.csv: its last line, 21, has no line end: a file cut short (an interrupted "
        "copy or download) ends so, and its last record may be cut too (a flag or price "
        "shortened is still a valid record, written as it reads). ANP ends every line of its "
        "files; if this one is whole, nothing is wrong, else ingest the whole file"
    ) in ingest("b")[1]
    path.write_bytes(whole)
    assert json.loads(ingest("c", "--json")[0])["files"][0]["parts"][0]["unended_line"] is None
    assert "no line end" not in ingest("d")[1]
