"""`fuelpipe stations ingest` given paths that are not files, a blank --only, or a lake path
that is a file: what is wrong is said in one line naming it, and the rest of a batch goes on."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
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


CUT = (
    "file ends inside this record: truncated download? (the file's last line has no line end "
    "and {why}); not ingested: ingest the whole file (its other records change nothing then), "
    "or, if this file is whole, end its last line with a line break"
)
NEITHER = "no other record's in the file, nor a flag ANP is known for"


def _run(tmp_path: Path, *args: str) -> tuple[str, str]:
    done = CliRunner().invoke(cli, ["stations", *args], env=_env(tmp_path))
    assert done.exit_code == 0, done.output
    return done.stdout, " ".join(done.stderr.split())


def _flags(tmp_path: Path) -> list[str]:
    """Every flag in the lake, by CNPJ and day (the lake's files read back with Polars)."""
    files = sorted((tmp_path / "lake").glob("product=*/month=*/*.parquet"))
    rows = pl.concat([pl.read_parquet(f) for f in files]).sort("cnpj", "collected")
    return rows.get_column("brand").to_list()


def test_a_file_cut_inside_its_last_flag_rejects_that_record_and_the_whole_file_adds_it(
    tmp_path: Path,
) -> None:
    """Synthetic: 20 real GLP records (ANP ends every line, the last too, with CRLF), cut in
    the last record's flag, as an interrupted copy or download leaves a file. The cut record
    still has its 16 fields, and was written with the flag 'LIQUI' for 'LIQUIGÁS', with only a
    warning: now it is a rejected row naming its file and line, the other 19 are written,
    ingest and status say so, and the whole file ingested later adds the record, whole."""
    lines = real_lines("glp", 20)
    path = tmp_path / "cut.csv"
    whole = BOM + "\r\n".join(lines).encode() + b"\r\n"
    assert lines[-1].endswith(";LIQUIGÁS")  # the flag the cut shortens
    path.write_bytes(whole[: whole.rindex("GÁS".encode())])

    said = _run(tmp_path, "ingest", str(path))[1]
    reason = CUT.format(why=f"its flag 'LIQUI' is {NEITHER}")
    assert f"rejected cut.csv:21: {reason}" in said
    assert (
        "warning cut.csv: the file ends inside its last record, line 21 (no line end; a "
        "truncated download or copy?): that record is rejected, not ingested, and the file's "
        "other records are. Ingest the whole file to add it"
    ) in said
    assert "LIQUI" not in _flags(tmp_path) and len(_flags(tmp_path)) == 19
    (report,) = (tmp_path / "lake" / "_reports").glob("cut.csv.*.rejected.txt")
    assert report.read_text().splitlines()[1] == f"cut.csv:21: {reason}"
    (entry,) = json.loads(_run(tmp_path, "status", "--json")[0])["files"].values()
    (part,) = entry["parts"]
    assert (part["written"], part["rejected"], part["cut_line"]) == (19, 1, 21)
    assert part["bad_rows"] == [f"cut.csv:21: {reason}"]
    wide = " ".join(_run(tmp_path, "status", "--wide")[0].split())
    assert "cut short: cut.csv ends inside line 21, not ingested" in wide

    path.write_bytes(whole)  # the whole file: another version of the same source
    out, said = _run(tmp_path, "ingest", "--json", str(path))
    (part,) = json.loads(out)["files"][0]["parts"]
    assert (part["written"], part["already_in_lake"], part["rejected"]) == (1, 19, 0)
    assert part["cut_line"] is None and "ends inside" not in said
    assert sorted(_flags(tmp_path)) == sorted(line.split(";")[-1] for line in lines[1:])
    (entry,) = json.loads(_run(tmp_path, "status", "--json")[0])["files"].values()
    assert entry["parts"][0]["cut_line"] is None
    assert "cut short" not in _run(tmp_path, "status", "--wide")[0]


@pytest.mark.parametrize("end", ["", "\r"])
def test_a_whole_last_record_without_a_line_end_is_ingested(tmp_path: Path, end: str) -> None:
    """Synthetic: 20 real GLP records whose last line has no line end (or a CR and no LF: a
    CRLF file cut between the two), as a file saved by many tools ends. Its last record has
    16 fields and a flag (LIQUIGÁS) that other records of the file carry: it is written, and
    nothing is rejected or warned."""
    path = tmp_path / "glp.csv"
    path.write_bytes(BOM + ("\r\n".join(real_lines("glp", 20)) + end).encode())
    said = _run(tmp_path, "ingest", "--kind", "rolling", str(path))[1]
    assert "warning" not in said and "rejected" not in said  # (it warned: no line end)
    (entry,) = json.loads(_run(tmp_path, "status", "--json")[0])["files"].values()
    (part,) = entry["parts"]
    assert (part["written"], part["rejected"], part["cut_line"]) == (20, 0, None)


def test_a_file_cut_before_its_last_field_names_the_cut(tmp_path: Path) -> None:
    """Synthetic: the real GLP file cut inside the last record's sale price ('82,' of
    '82,00'): 13 fields. It was rejected as "malformed record (Expected Number of Columns:
    16 Found: 13 ...)", which hides that the file, not the record, is short."""
    lines = real_lines("glp", 20)
    cells = lines[-1].split(";")
    lines[-1] = ";".join([*cells[:12], cells[12][:-2]])
    path = tmp_path / "cut.csv"
    path.write_bytes(BOM + "\r\n".join(lines).encode())
    out, _ = _run(tmp_path, "ingest", "--json", str(path))
    (part,) = json.loads(out)["files"][0]["parts"]
    why = "it has 13 of ANP's 16 fields"
    assert part["bad_rows"] == [f"cut.csv:21: {CUT.format(why=why)}"]
    assert (part["written"], part["rejected"], part["cut_line"]) == (19, 1, 21)


def test_a_file_with_trailing_separators_cut_in_its_last_flag_is_rejected_too(
    tmp_path: Path,
) -> None:
    """Synthetic: the real GLP records with a trailing ';' on every line (a header with an
    empty 17th cell, which the ingest drops in a scratch copy), cut inside the last flag. The
    copy ended with a line end, so the cut record was written without even a warning."""
    lines = [f"{line};" for line in real_lines("glp", 20)]
    path = tmp_path / "cut.csv"
    path.write_bytes(BOM + "\r\n".join(lines)[: -len("GÁS;")].encode())
    out, _ = _run(tmp_path, "ingest", "--json", str(path))
    (part,) = json.loads(out)["files"][0]["parts"]
    assert (part["written"], part["rejected"], part["cut_line"]) == (19, 1, 21)
    path.write_bytes(BOM + "\r\n".join(lines).encode())  # whole: its flag ends with ';'
    out, _ = _run(tmp_path, "ingest", "--json", str(path))
    (part,) = json.loads(out)["files"][0]["parts"]
    assert (part["written"], part["already_in_lake"], part["cut_line"]) == (1, 19, None)


def test_ingest_help_says_where_the_lake_is_and_what_becomes_of_bad_input() -> None:
    """A new user's questions that `stations ingest --help` did not answer: where the files
    go, what a bad record or a bad file does to the rest, and the exit code of the latter."""
    done = CliRunner().invoke(cli, ["stations", "ingest", "--help"], env={"COLUMNS": "200"})
    text = " ".join(done.stdout.split())
    assert "into the lake FUELPIPE_LAKE (default ./data/lake; created if need be)" in text
    assert "a rejected row named by its file and line" in text
    assert "every one is in the lake's _reports/), and the rest of its file is ingested" in text
    assert "the file ends inside it (no line end: a truncated download?)" in text
    assert "the other files are ingested, and the exit code is 1" in text
