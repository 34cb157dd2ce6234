"""A --series that names no series said "no series matches FOO" and stopped there, where an
unknown `export` KEY adds where to look (`fuelpipe status --all`): a first-time user guessing
at key names was left guessing. Each command taking --series says it, before any store."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.conftest import fuelpipe


@pytest.mark.parametrize("command", [["status"], ["run"], ["revise"], ["watch", "--ticks", "1"]])
@pytest.mark.parametrize("given", [["GASOLINA"], ["currency#z*", "CURRENCY#USD"]])
def test_a_series_that_matches_nothing_says_where_the_keys_are_listed(
    command: list[str], given: list[str], tmp_path: Path
) -> None:
    """A glob (taken since --series takes one) that matches nothing is named as a key is."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    args = [a for pattern in given for a in ("--series", pattern)]
    done = fuelpipe(*command, *args, env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"error: no series matches {given[0].upper()} (`fuelpipe status --all` lists every "
        "key; a prefix such as FUEL#GASOLINE or CURRENCY picks a group, a glob such as "
        "'FUEL#GASOLINE#S?' those it matches)"
    ]
    assert list(tmp_path.iterdir()) == []  # refused before a store was created
