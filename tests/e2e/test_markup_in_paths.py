"""Paths a user names are printed as they are: rich would read ``[/x]`` in them as markup and
stop the command with a MarkupError after its work was done (the export written, then exit 1
and a traceback), or swallow a ``[bold]``."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import fuelpipe


def test_a_parquet_export_names_a_path_with_brackets_as_it_is(demo_store, tmp_path: Path) -> None:
    env, _, _ = demo_store
    folder = tmp_path / "out[bold]["  # a folder whose name ends in "[", then "/x].parquet"
    folder.mkdir()
    target = folder / "x].parquet"

    done = fuelpipe("export", "-f", "parquet", "-s", "CURRENCY#USD", "-o", str(target), env=env,
                    check=False)  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert target.read_bytes().startswith(b"PAR1")
    assert f"series to {target}" in "".join(done.stderr.splitlines())
