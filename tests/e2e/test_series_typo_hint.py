"""A --series that names no series said "no series matches FOO" and stopped there, where an
unknown `export` KEY adds where to look (`fuelpipe status --all`): a first-time user guessing
at key names was left guessing. Each command taking --series says it, before any store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.conftest import fuelpipe

from fuelpipe.domain.catalog import DEFAULT_CATALOG


@pytest.mark.parametrize("command", [["status"], ["run"], ["revise"], ["watch", "--ticks", "1"]])
@pytest.mark.parametrize("given", [["NAFTA"], ["currency#z*", "CURRENCY#USD"]])
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


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        (["GASOLINA"], "FUEL#GASOLINE"),  # the Portuguese name, a prefix of 33 series
        (["fuel#gasolne"], "FUEL#GASOLINE"),
        (["USD", "FUEL#ETANOL#SP"], "CURRENCY#USD or FUEL#ETHANOL#SP"),  # one per pattern
        (["FUEL#DIESEL#BRR"], "FUEL#DIESEL#BR or FUEL#DIESEL#RR"),  # as alike: both
        # a state alone: the glob of its weekly fuels, not the two shortest keys (LPG, CNG)
        (["SP"], "'FUEL#*#SP'"),
        (["region_n"], "'FUEL#*#REGION_N'"),
        (["PETR4"], "STOCK#PETR4"),  # a glob naming one key is that key
    ],
)
def test_a_misspelt_series_names_the_closest(given: list[str], meant: str, tmp_path: Path) -> None:
    """A misspelt key or prefix said only "no series matches": now the closest names too."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    args = [a for pattern in given for a in ("--series", pattern)]
    done = fuelpipe("status", *args, env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    typed = ", ".join(p.upper() for p in given)
    assert line.startswith(f"error: no series matches {typed}; did you mean {meant}? ("), line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("FUEL#GASOLINEE#BR", "; did you mean FUEL#GASOLINE#BR?"),
        ("petr4", "; did you mean STOCK#PETR4?"),  # a key's last part alone
        ("FUEL#GASOLINE#XX", ""),  # 27 states as alike: none guessed (export takes no prefix)
        ("NOPE#XYZ", ""),
    ],
)
def test_an_unknown_export_key_names_the_closest_key(key: str, meant: str, tmp_path: Path) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    done = fuelpipe("export", key, env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"error: {key.upper()!r} is not in the series catalog{meant} (try `fuelpipe status --all`)"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("typed", ["SP", "region_n"])
def test_a_state_alone_to_export_is_pointed_to_the_parquet_export_of_its_glob(
    typed: str, tmp_path: Path
) -> None:
    """`export SP` suggested FUEL#LPG#SP or FUEL#CNG#SP, two of its seven keys picked for being
    shortest: it names the glob of them all, for the Parquet export, which takes many."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    done = fuelpipe("export", typed, env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    area = typed.upper()
    keys = [
        s.key for s in DEFAULT_CATALOG if s.key.startswith("FUEL#") and s.key.endswith(f"#{area}")
    ]
    assert len(keys) == 7
    assert done.stderr.splitlines() == [
        f"error: {typed!r} is no key; 'FUEL#*#{area}' names 7 series ({keys[0]}, {keys[1]}, …): "
        f"csv and json export one key, e.g. `fuelpipe export {keys[0]}`; --format parquet "
        f"exports many: `fuelpipe export --format parquet --series 'FUEL#*#{area}' "
        "-o FILE.parquet`"
    ]
    assert list(tmp_path.iterdir()) == []


def test_closest_guesses_nothing_for_a_glob_a_blank_or_a_key_it_knows() -> None:
    assert DEFAULT_CATALOG.closest("FUEL#GASOL*") == []
    assert DEFAULT_CATALOG.closest("  ") == []
    assert "CURRENCY#USD" not in DEFAULT_CATALOG.closest("CURRENCY#USD")
    assert DEFAULT_CATALOG.closest(" currency#usdd ") == ["CURRENCY#USD"]


def test_a_parquet_export_names_the_closest_for_the_pattern_that_matched_nothing(
    tmp_path: Path,
) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    out = str(tmp_path / "x.parquet")
    args = ("--format", "parquet", "--series", "FUEL#ETHANOL#SP", "--series", "GASOLINA")
    done = fuelpipe("export", *args, "-o", out, env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "error: 'GASOLINA' matches no series in the catalog; did you mean FUEL#GASOLINE? "
        "(try `fuelpipe status --all`)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_the_glob_a_state_alone_is_pointed_to_names_its_fuels(tmp_path: Path) -> None:
    """`--series SP` suggested FUEL#LPG#SP or FUEL#CNG#SP (the shortest of its 14 keys); the
    glob it suggests now works as typed and names every weekly fuel of the state."""
    (meant,) = DEFAULT_CATALOG.closest("SP")
    assert meant == "FUEL#*#SP"
    env = {"FUELPIPE_DB": str(tmp_path / "none.sqlite")}  # `status --all` needs no store
    done = fuelpipe("status", "-s", meant, "--all", "--json", env=env)
    keys = [row["key"] for row in json.loads(done.stdout)]
    assert keys == [
        s.key for s in DEFAULT_CATALOG if s.key.startswith("FUEL#") and s.key.endswith("#SP")
    ]
    assert len(keys) == 7


def _weekly(pattern: str) -> list[str]:
    """The catalog's keys ``pattern`` (a glob or a prefix) names, in catalog order."""
    return [s.key for s in DEFAULT_CATALOG.select([pattern])]


@pytest.mark.parametrize(
    ("typed", "pattern"),
    [
        ("SP", "FUEL#*#SP"),  # a state alone: it holds 14 keys (7 weekly, 7 monthly)
        ("region_n", "FUEL#*#REGION_N"),
        ("gasoline", "FUEL#GASOLINE"),  # a fuel's name alone: one per area (33)
        ("GASOLINA", "FUEL#GASOLINE"),  # and in Portuguese
    ],
)
def test_release_given_a_state_or_a_fuel_alone_names_their_pattern_and_the_list(
    typed: str, pattern: str, tmp_path: Path
) -> None:
    """`quarantine release SP DATE` suggested FUEL#LPG#SP or FUEL#CNG#SP, two of the state's
    14 keys picked for being shortest, and `release GASOLINE DATE` nothing at all: both name
    the pattern of the keys meant, and the list that has the quarantined ones."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    done = fuelpipe("quarantine", "release", typed, "2024-01-01", env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    keys = _weekly(pattern)
    assert len(keys) == (7 if "*" in pattern else 33)
    assert done.stderr.splitlines() == [
        f"error: {typed!r} is no key; {pattern!r} names {len(keys)} series ({keys[0]}, "
        f"{keys[1]}, …): release takes one key, e.g. `fuelpipe quarantine release {keys[0]} "
        "2024-01-01`; `fuelpipe quarantine list` lists the quarantined records"
    ]
    assert list(tmp_path.iterdir()) == []  # refused before a store was created


@pytest.mark.parametrize("typed", ["FUEL#GASOLINE", "fuel#*#sp"])
def test_release_given_a_prefix_or_a_glob_names_how_many_it_names(
    typed: str, tmp_path: Path
) -> None:
    """A prefix or glob naming many keys was "not in the series catalog", though it names them."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    done = fuelpipe("quarantine", "release", typed, "not-a-date", env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    keys = _weekly(typed.upper())
    assert done.stderr.splitlines() == [
        f"error: {typed!r} names {len(keys)} series ({keys[0]}, {keys[1]}, …): release takes "
        f"one key, e.g. `fuelpipe quarantine release {keys[0]} DATE`; `fuelpipe quarantine "
        "list` lists the quarantined records"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("usd", "; did you mean CURRENCY#USD?"),  # one key close: named as before
        ("FUEL#GASOLINE#XX", ""),  # 27 states as alike: none guessed
    ],
)
def test_release_of_an_unknown_key_names_the_closest_key_as_export_does(
    key: str, meant: str, tmp_path: Path
) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    done = fuelpipe("quarantine", "release", key, "2024-01-01", env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"error: {key.upper()!r} is not in the series catalog{meant} (try `fuelpipe status --all`)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_fuel_alone_to_export_is_pointed_to_the_parquet_export_of_its_prefix(
    tmp_path: Path,
) -> None:
    """`export GASOLINE` said only "not in the series catalog": it names the fuel's prefix."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    done = fuelpipe("export", "gasoline", env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    keys = _weekly("FUEL#GASOLINE")
    assert done.stderr.splitlines() == [
        f"error: 'gasoline' is no key; 'FUEL#GASOLINE' names 33 series ({keys[0]}, {keys[1]}, "
        f"…): csv and json export one key, e.g. `fuelpipe export {keys[0]}`; --format parquet "
        "exports many: `fuelpipe export --format parquet --series 'FUEL#GASOLINE' "
        "-o FILE.parquet`"
    ]
    assert list(tmp_path.iterdir()) == []
