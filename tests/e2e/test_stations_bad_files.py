"""`fuelpipe stations ingest` given files that are not ANP station data, beside a real one, as a
real subprocess: one printable `error:` line per bad file naming it and why, exit 1 (the code of
ingest errors), nothing of them in the lake's manifest (so a rerun says the same, not "already
ingested"), and the good file of the same command ingested all the same.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("duckdb", reason="the station lake needs the lake extra (duckdb)")

from tests.lake.conftest import BOM, real_lines

ROOT = Path(__file__).resolve().parents[2]
GOOD_ROWS = 50

BAD = {
    "plain.csv": b"a,b,c\n1,2,3\n",
    "README.md": (ROOT / "README.md").read_bytes(),
    "random.bin": random.Random(3).randbytes(8192),
    "empty.csv": b"",
    "broken.zip": b"PK\x03\x04\x14\x00not really an archive",
}


def _ingest(lake: Path, *paths: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", "stations", "ingest", *map(str, paths)],
        env={**os.environ, "FUELPIPE_LAKE": str(lake), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "files"
    folder.mkdir()
    out = {}
    for name, data in BAD.items():
        out[name] = folder / name
        out[name].write_bytes(data)
    good = folder / "glp.csv"
    good.write_bytes(BOM + "\r\n".join(real_lines("glp", GOOD_ROWS)).encode() + b"\r\n")
    out["glp.csv"] = good
    return out


def _printable(text: str) -> bool:
    return all(line.isprintable() for line in text.splitlines())


def test_files_that_are_not_station_data_are_errors_and_the_rest_is_ingested(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    lake = tmp_path / "lake"
    order = ["plain.csv", "README.md", "glp.csv", "random.bin", "empty.csv", "broken.zip"]
    done = _ingest(lake, *(files[n] for n in order))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    assert _printable(done.stdout) and _printable(done.stderr), done.stdout + done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == len(BAD), done.stderr
    for name, line in zip([n for n in order if n in BAD], errors, strict=True):
        assert line.startswith(f"error: {files[name]}: not ANP station data: "), line
        assert len(line) < 300, line
    assert "header is not ANP's 16 station columns: 'a,b,c'" in errors[0]
    assert "'# fuelpipe'" in errors[1]
    assert "binary content" in errors[2]
    assert "the file is empty" in errors[3]
    assert "starts like a ZIP archive but is not one" in errors[4]
    assert f"{GOOD_ROWS} new in the lake" in done.stdout
    assert "skipped" not in done.stdout  # the bad files are errors, not table rows
    manifest = json.loads((lake / "_manifest.json").read_text())
    assert {e["name"] for e in manifest["files"].values()} == {"glp.csv"}

    # Not recorded, so the same files are refused again for the same reasons.
    again = _ingest(lake, *(files[n] for n in BAD))
    assert again.returncode == 1
    assert "already ingested" not in again.stdout + again.stderr
    assert [ln for ln in again.stderr.splitlines() if ln.startswith("error:")] == errors
    assert {
        e["name"] for e in json.loads((lake / "_manifest.json").read_text())["files"].values()
    } == {"glp.csv"}


def test_the_json_summary_lists_them_as_errors(tmp_path: Path, files: dict[str, Path]) -> None:
    lake = tmp_path / "lake"
    done = subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", "stations", "ingest", "--json",
         str(files["random.bin"]), str(files["glp.csv"])],
        env={**os.environ, "FUELPIPE_LAKE": str(lake)},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert [f["name"] for f in summary["files"]] == ["glp.csv"]
    (error,) = summary["errors"]
    assert error.startswith(f"{files['random.bin']}: not ANP station data: binary content")
    assert summary["written"] == GOOD_ROWS


def test_a_bad_file_alone_leaves_no_manifest(tmp_path: Path, files: dict[str, Path]) -> None:
    lake = tmp_path / "lake"
    done = _ingest(lake, files["plain.csv"])
    assert done.returncode == 1
    assert not (lake / "_manifest.json").exists()
    # no empty "station files" table above the error (it printed its header and no row)
    assert "┃ file" not in done.stdout and "┏" not in done.stdout, done.stdout
    assert "0 rows read, 0 new in the lake" in done.stdout, done.stdout
