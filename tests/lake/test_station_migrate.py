"""A lake written before the CNPJ was kept as its 14 digits (layout 1: ANP's punctuated
``12.345.678/0001-95`` in every partition not rewritten since) split one station in two in
every query that counts or groups by CNPJ. `stations migrate` (and an ingest, first) rewrites
those partitions in layout 2, each written whole and swapped in, the manifest last: a
migration stopped anywhere loses and duplicates nothing, and a second changes nothing.

The old partitions are made here as the old code wrote them: the real files ingested, then
each partition's CNPJs written back as ANP punctuates them (the old ingest kept the trimmed
text) and the manifest's layout taken out; one old partition also holds a station-day twice
under two spellings of its CNPJ (a second file that wrote it bare: synthetic rows)."""

from __future__ import annotations

import hashlib
import json
import re
import signal
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tests.lake.conftest import NOW, real_file
from typer.testing import CliRunner

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import MIGRATION_REPORT, StationLake
from fuelpipe.adapters.lake.storage import (
    LAKE_LAYOUT,
    LAYOUT,
    MANIFEST,
    LocalLakeStorage,
    partition_path,
)
from fuelpipe.cli.main import cli
from fuelpipe.domain.stations import query_params
from fuelpipe.failpoints import Failpoints
from fuelpipe.stages.stations import ingest_local

NEW = ("LPG", "2025-04")  # written after the change: its CNPJs are digits already
OLD = [
    *(("ETHANOL", m) for m in ("2025-03", "2025-04")),
    *(("GASOLINE", m) for m in ("2025-03", "2025-04")),
    *(("GASOLINE_PREMIUM", m) for m in ("2025-03", "2025-04")),
    ("LPG", "2025-03"),
]
TWICE = ("LPG", "2025-03")


def _punctuated(key: str) -> str:
    return f"{key[:2]}.{key[2:5]}.{key[5:8]}/{key[8:12]}-{key[12:]}"


def _ingested(root: Path) -> StationLake:
    lake = StationLake(LocalLakeStorage(root), FixedClock(NOW), threads=1)
    for group in ("glp", "gasolina-etanol"):
        path = root.parent / f"{root.name}-{group}.csv"
        path.write_bytes(real_file(group))
        lake.ingest_path(path)
    return lake


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same real files ingested by today's code: what a migrated lake must equal."""
    root = tmp_path_factory.mktemp("reference") / "lake"
    _ingested(root).close()
    return root


def _frame(root: Path, part: tuple[str, str]) -> pl.DataFrame:
    """A partition's rows, its text as text (the ingest writes some columns categorical)."""
    frame = pl.read_parquet(root / partition_path(*part))
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


def _old_lake(root: Path, reference: Path) -> Path:
    """The reference lake as the old code left it: OLD partitions with punctuated CNPJs (in
    TWICE, the first two rows again with the CNPJ bare, the first at another price), NEW
    as it is, and a manifest without a layout."""
    for part in [*OLD, NEW]:
        frame = _frame(reference, part)
        if part in OLD:
            punctuated = pl.col("cnpj").map_elements(_punctuated, return_dtype=pl.String)
            frame = frame.with_columns(cnpj=punctuated)
        if part == TWICE:
            bare = _frame(reference, part).head(2).with_columns(source_file=pl.lit("b.csv"))
            bare = bare.with_columns(
                price=pl.Series([bare["price"][0] + 1, bare["price"][1]]),
            )
            frame = pl.concat([frame, bare])
        target = root / partition_path(*part)
        target.parent.mkdir(parents=True)
        frame.write_parquet(target, compression="zstd", compression_level=1)
    manifest = json.loads((reference / MANIFEST).read_text(encoding="utf-8"))
    del manifest[LAYOUT]
    (root / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return root


@pytest.fixture
def old(tmp_path: Path, reference: Path) -> Path:
    return _old_lake(tmp_path / "lake", reference)


def _lake(root: Path, storage: LocalLakeStorage | None = None, spec: str = "") -> StationLake:
    return StationLake(
        storage or LocalLakeStorage(root),
        FixedClock(NOW),
        threads=1,
        failpoints=Failpoints(spec, kill=_crash),
    )


class Crash(Exception):
    """What the injected failpoint raises: the process dying at that point."""


def _crash(_signum: signal.Signals) -> None:
    raise Crash


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def _layout(root: Path) -> int | None:
    value = json.loads((root / MANIFEST).read_text(encoding="utf-8")).get(LAYOUT)
    return None if value is None else int(value)


def _migrated(root: Path, reference: Path, parts: list[tuple[str, str]]) -> None:
    """Each of ``parts`` holds exactly the reference's rows, in the same order."""
    for part in parts:
        assert _frame(root, part).equals(_frame(reference, part)), part


START, END = date(2025, 3, 24), date(2025, 4, 19)  # the real files' span


def _untouched(root: Path, before: dict[str, str], parts: list[tuple[str, str]]) -> None:
    """Each of ``parts`` is the very file it was: every old row still there, once."""
    for part in parts:
        name = partition_path(*part)
        assert _hashes(root)[name] == before[name], part


LPG_WINDOW = query_params("LPG", START, END, None, None, "")
SPANNING = "00008501000114"  # a real LPG station priced in both months (2025-03 and 2025-04)


def _stations(lake: StationLake) -> tuple[Any, ...]:
    """What the queries say about LPG: rows and distinct CNPJs over both months, the spanning
    station's keys as a search finds them (typed punctuated), and brand_national's rows."""
    with lake.reader("LPG") as con:
        counts = con.execute("SELECT count(*), count(DISTINCT cnpj) FROM stations").fetchone()
    search = query_params("LPG", START, END, None, None, _punctuated(SPANNING))
    found = lake.query("station_search", search)
    keys = sorted({r["cnpj"] for r in found.records()})
    return counts, keys, lake.query("brand_national", LPG_WINDOW).rows


def test_old_partitions_split_a_station_until_migrated_then_queries_see_one(
    old: Path, reference: Path
) -> None:
    lake = _lake(old)
    expected = _stations(_lake(reference))
    assert expected[:2] == ((13310, 3653), [SPANNING])
    # the defect: one station under two keys, its older rows apart, and the twice-kept rows
    assert _stations(lake)[:2] == ((13312, 3653 + 3334), [SPANNING])

    done = lake.migrate()
    assert done.as_dict() == {
        "layout_before": 1,
        "layout": LAKE_LAYOUT,
        "partitions": 8,
        "rewritten": [f"{p}/{m}" for p, m in OLD],
        "duplicates": 2,
        "differing": 1,
    }
    first = _frame(reference, TWICE).row(0, named=True)
    assert done.differing == [
        f"LPG {first['cnpj']} {first['collected']}: sale {first['price'] + 1} purchase - not "
        f"kept; an earlier row of the partition holds sale {first['price']} purchase -"
    ]
    assert (old / "_reports" / MIGRATION_REPORT).read_text(encoding="utf-8") == (
        done.differing[0] + "\n"
    )
    assert _layout(old) == LAKE_LAYOUT
    _migrated(old, reference, [*OLD, NEW])
    lake.close()
    assert _stations(_lake(old)) == expected


def test_a_migration_tells_its_progress_partition_by_partition(old: Path) -> None:
    """A migration of the 20M-row synthetic lake took two minutes without a word."""
    told: list[tuple[int, int]] = []
    _lake(old).migrate(lambda n, total: told.append((n, total)))
    assert told == [(n, 8) for n in range(9)]
    told.clear()
    _lake(old).migrate(lambda n, total: told.append((n, total)))
    assert told == []  # nothing to migrate: no progress to tell


def test_a_second_migration_changes_nothing(old: Path) -> None:
    _lake(old).migrate()
    before = _hashes(old)
    again = _lake(old).migrate()
    assert again.as_dict() == {
        "layout_before": LAKE_LAYOUT,
        "layout": LAKE_LAYOUT,
        "partitions": 0,
        "rewritten": [],
        "duplicates": 0,
        "differing": 0,
    }
    assert _hashes(old) == before


def test_a_migration_stopped_after_a_partition_is_completed_by_the_next(
    old: Path, reference: Path
) -> None:
    before = _hashes(old)
    with pytest.raises(Crash):
        _lake(old, spec="stations.after_migrate_partition:3").migrate()
    assert _layout(old) is None  # the manifest is written last
    _migrated(old, reference, OLD[:3])
    _untouched(old, before, [*OLD[3:], NEW])
    done = _lake(old).migrate()
    assert done.rewritten == [f"{p}/{m}" for p, m in OLD[3:]]
    assert (done.duplicates, len(done.differing)) == (2, 1)
    assert _layout(old) == LAKE_LAYOUT
    _migrated(old, reference, [*OLD, NEW])
    assert not list(old.rglob(".tmp-*"))


class _FailingStorage(LocalLakeStorage):
    """A local lake whose ``put_partition`` fails at its ``put``-th call (before the swap: the
    new file written, the old one still in place) or whose manifest write fails."""

    def __init__(self, root: Path, *, put: int = 0, manifest: bool = False) -> None:
        super().__init__(root)
        self.put, self.manifest, self.puts = put, manifest, 0

    def put_partition(self, product: str, month: str, local: Path) -> None:
        self.puts += 1
        if self.puts == self.put:
            raise Crash
        super().put_partition(product, month, local)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        if self.manifest:
            raise Crash
        super().write_manifest(manifest)


@pytest.mark.parametrize(
    ("failing", "rewritten_after"),
    [({"put": 2}, 1), ({"manifest": True}, len(OLD))],
    ids=["before-the-second-swap", "before-the-manifest"],
)
def test_a_migration_that_fails_between_its_steps_loses_nothing(
    old: Path, reference: Path, failing: dict[str, Any], rewritten_after: int
) -> None:
    before = _hashes(old)
    with pytest.raises(Crash):
        _lake(old, _FailingStorage(old, **failing)).migrate()
    assert _layout(old) is None
    _migrated(old, reference, OLD[:rewritten_after])
    _untouched(old, before, [*OLD[rewritten_after:], NEW])
    assert not list(old.rglob(".tmp-*"))
    done = _lake(old).migrate()
    assert done.rewritten == [f"{p}/{m}" for p, m in OLD[rewritten_after:]]
    assert _layout(old) == LAKE_LAYOUT
    _migrated(old, reference, [*OLD, NEW])


def test_an_ingest_migrates_an_old_lake_first(old: Path, reference: Path, tmp_path: Path) -> None:
    """A new file (the first 50 real diesel/CNG records) into the old lake: the old
    partitions are migrated before it is read, and its own partitions are written."""
    path = tmp_path / "diesel.csv"
    path.write_bytes(b"\r\n".join(real_file("diesel-gnv").split(b"\r\n")[:51]))
    lake = _lake(old)
    (summary,) = [ingest_local(lake, [path])]
    assert summary.written == 50
    assert lake.migrated is not None and len(lake.migrated.rewritten) == len(OLD)
    assert _layout(old) == LAKE_LAYOUT
    _migrated(old, reference, [*OLD, NEW])


def test_a_new_lake_is_written_in_todays_layout(reference: Path) -> None:
    assert _layout(reference) == LAKE_LAYOUT


def test_the_cli_migrates_and_status_names_an_old_layout(old: Path) -> None:
    env = {"FUELPIPE_LAKE": str(old), "FUELPIPE_BACKEND": "embedded"}
    runner = CliRunner()
    status = runner.invoke(cli, ["stations", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert "old layout: the lake's partitions are in layout 1, not 2" in status.output
    asked = runner.invoke(cli, ["stations", "query", "brand_national", "-f", "csv"], env=env)
    assert asked.exit_code == 0, asked.output
    assert "warning: old layout: the lake's partitions are in layout 1, not 2" in asked.stderr
    done = runner.invoke(cli, ["stations", "migrate"], env=env)
    assert done.exit_code == 0, done.output
    # its progress first (piped: one line, the count and the time), as an ingest's
    shown, said = done.output.splitlines()
    assert shown.startswith("lake partitions migrated: 8/8 in "), shown
    assert said == (
        "migrated to layout 2: 7 of 8 partition(s) rewritten, 2 duplicate row(s) dropped "
        f"(1 with other prices, listed in _reports/{MIGRATION_REPORT})"
    )
    again = runner.invoke(cli, ["stations", "migrate"], env=env)
    assert (again.exit_code, again.output) == (0, "layout 2: nothing to migrate\n")
    status = runner.invoke(cli, ["stations", "status"], env=env)
    assert "old layout" not in status.output
    asked = runner.invoke(cli, ["stations", "query", "brand_national", "-f", "csv"], env=env)
    assert (asked.exit_code, asked.stderr) == (0, "")


def test_an_ingest_s_own_migration_shows_its_progress(old: Path, tmp_path: Path) -> None:
    """`stations ingest` into an old lake migrates it first; it drew no progress for that,
    where `stations migrate` does (piped: one line, the partitions and the time)."""
    path = tmp_path / "diesel.csv"
    path.write_bytes(b"\r\n".join(real_file("diesel-gnv").split(b"\r\n")[:51]))  # real, 50
    env = {"FUELPIPE_LAKE": str(old), "FUELPIPE_BACKEND": "embedded"}
    done = CliRunner().invoke(cli, ["stations", "ingest", "--kind", "rolling", str(path)], env=env)
    assert done.exit_code == 0, done.output
    shown = done.stdout.splitlines()
    # (aligned with the ingest's own phases below it)
    assert any(re.match(r"lake partitions migrated: +8/8 +in ", ln) for ln in shown), done.stdout
    assert "migrated to layout 2: 7 of 8 partition(s) rewritten" in done.stderr
    assert _layout(old) == LAKE_LAYOUT
