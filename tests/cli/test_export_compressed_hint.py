"""`fuelpipe export KEY -o usd.csv.xz` is refused (export writes no compressed file) with the
pipe to use instead; that pipe was `fuelpipe export KEY | gzip > usd.csv.xz` whatever the
extension: gzip's output under an .xz, .bz2, .zst or .zip name, the very mismatch (a file
whose name promises one format holding another, which `xzcat` or `unzip` then fails on) the
refusal is there to prevent. The hint now names the tool the extension names, and for an
archive (.zip, .7z), which no plain `| tool > file` makes, gzip to a .gz name. Refused before
any store is opened (none exists here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuelpipe.cli.main import cli


@pytest.mark.parametrize(
    ("name", "fmt", "pipe"),
    [
        ("usd.csv.gz", None, "gzip > usd.csv.gz"),
        ("usd.csv.xz", None, "xz > usd.csv.xz"),
        ("usd.json.bz2", None, "bzip2 > usd.json.bz2"),
        ("usd.csv.zst", None, "zstd > usd.csv.zst"),
        ("usd.zip", None, "gzip > usd.csv.gz"),
        ("usd.csv.zip", None, "gzip > usd.csv.gz"),
        ("usd.7z", "json", "gzip > usd.json.gz"),
    ],
)
def test_the_pipe_offered_for_a_compressed_name_writes_what_the_name_says(
    name: str, fmt: str | None, pipe: str, tmp_path: Path
) -> None:
    out = tmp_path / name
    args = ["export", "CURRENCY#USD", "-o", str(out), *(["-f", fmt] if fmt else [])]
    done = CliRunner().invoke(cli, args, env={"FUELPIPE_DB": str(tmp_path / "s.sqlite")})
    assert done.exit_code == 2, done.output
    extension = name.rsplit(".", 1)[1]
    assert " ".join(done.stderr.split()) == (
        f"error: --output {out} is named .{extension}, but export writes no compressed file: "
        f"pipe it, e.g. `fuelpipe export KEY | {pipe}`"
    ), done.stderr
    assert list(tmp_path.iterdir()) == []  # no store made, nothing written
