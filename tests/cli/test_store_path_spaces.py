"""`FUELPIPE_DB=' /srv/fp.sqlite'` (a stray space, as an env file or a copied line leaves one)
is a relative path under a folder named " " in the current one: `run` made a new store there
and filled it, and a reading command said "no fuelpipe store at  /srv/fp.sqlite (in ...)", the
space unseen. A store or lake path with spaces around it is now refused at start-up, quoted,
as every other bad setting is, and nothing is created. Synthetic paths, offline (a run at
midnight of its one day fetches nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.conftest import EMPTY_RUN, fuelpipe
from typer.testing import CliRunner

from fuelpipe.cli.main import cli


@pytest.mark.parametrize(
    ("variable", "args"),
    [
        ("FUELPIPE_DB", EMPTY_RUN),
        ("FUELPIPE_DB", ("status",)),
        ("FUELPIPE_LAKE", ("stations", "status")),
    ],
    ids=["run", "status", "stations status"],
)
@pytest.mark.parametrize("pad", [" {}", "{}\t"], ids=["space before", "tab after"])
def test_a_store_or_lake_path_with_spaces_around_it_is_refused_quoted(
    variable: str, args: tuple[str, ...], pad: str, tmp_path: Path
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    env[variable] = pad.format(env[variable])
    done = fuelpipe(*args, env=env, check=False, timeout=120, cwd=here)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"error: invalid configuration: {variable}={env[variable]!r}: spaces around the "
        f"path: give {variable} without them"
    ), done.stderr
    assert list(here.iterdir()) == []  # no store, queue or lake under a folder named " "
    assert [p.name for p in tmp_path.iterdir()] == ["here"]


def test_a_path_with_spaces_inside_it_is_still_taken(tmp_path: Path) -> None:
    db = tmp_path / "my stores" / "fp.sqlite"
    done = CliRunner().invoke(cli, ["status"], env={"FUELPIPE_DB": str(db)})
    assert done.exit_code == 2, done.output
    assert " ".join(done.stderr.split()).startswith(f"error: no fuelpipe store at {db}:")
