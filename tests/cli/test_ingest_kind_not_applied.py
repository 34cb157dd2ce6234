"""`stations ingest FILE --kind rolling` on a file ingested before as another kind, without
--force: the file was skipped as unchanged and the --kind dropped without a word (exit 0), so
the lake kept the old kind while the user believed it changed. Now a warning names the file,
the kind the lake keeps and the --force that applies it, exit 1. The file is the first 200
records of a real ANP station file (datasets/anp/stations), under a name ANP does not use."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fuelpipe.cli.main import cli

REAL = (
    Path(__file__).resolve().parents[2]
    / "datasets/anp/stations"
    / "samuelfideles1__anp_revenda_ultimas-4-semanas-diesel-gnv_2023-12-04_2023-12-28.csv"
)


def _ingest(lake: Path, *args: str) -> tuple[int, str]:
    done = CliRunner().invoke(
        cli, ["stations", "ingest", *args, "--json"], env={"FUELPIPE_LAKE": str(lake)}
    )
    return done.exit_code, done.stderr


def test_a_kind_the_skipped_file_was_not_ingested_as_is_a_warning_exit_1(tmp_path: Path) -> None:
    head = REAL.read_bytes().splitlines(keepends=True)[:201]  # header and 200 records
    given = tmp_path / "slice.csv"
    given.write_bytes(b"".join(head))
    lake = tmp_path / "lake"
    assert _ingest(lake, str(given)) == (0, "")  # one week of one month: undecided

    code, err = _ingest(lake, str(given), "--kind", "rolling")
    assert code == 1, err
    assert " ".join(err.split()) == (
        "warning: slice.csv: skipped as ingested before, as undecided: --kind rolling is "
        "not applied; add --force to ingest it again as rolling"
    )

    assert _ingest(lake, str(given), "--kind", "rolling", "--force") == (0, "")
    assert _ingest(lake, str(given), "--kind", "rolling") == (0, "")  # the kind it has


def test_a_file_recorded_before_kinds_were_is_not_warned_about(tmp_path: Path) -> None:
    """A lake's manifest from before kinds were recorded (no part has a ``kind``) cannot say
    the file was ingested as another kind: no "as None" warning, exit 0."""
    import json

    from fuelpipe.adapters.lake.storage import MANIFEST

    head = REAL.read_bytes().splitlines(keepends=True)[:201]
    given = tmp_path / "slice.csv"
    given.write_bytes(b"".join(head))
    lake = tmp_path / "lake"
    assert _ingest(lake, str(given)) == (0, "")
    manifest = json.loads((lake / MANIFEST).read_text())
    for entry in manifest["files"].values():
        for part in entry["parts"]:
            part.pop("kind")
    (lake / MANIFEST).write_text(json.dumps(manifest))
    assert _ingest(lake, str(given), "--kind", "rolling") == (0, "")
