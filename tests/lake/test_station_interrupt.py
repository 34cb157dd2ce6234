"""An ingest stopped after a file's first partition (Ctrl+C, kill -9), driven by the
``stations.after_partition`` failpoint with an injected interrupt (no timing): the file is
marked incomplete in the manifest before its first partition is written, the interrupt names
it, `stations status` lists it, and the same ingest run again completes it and clears the
mark, leaving the lake as an uninterrupted ingest does."""

from __future__ import annotations

import hashlib
import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.lake.conftest import NOW, ingested_names, real_file
from typer.testing import CliRunner

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage
from fuelpipe.cli.main import cli
from fuelpipe.cli.stations import _incomplete_line, _interrupted
from fuelpipe.failpoints import Failpoints
from fuelpipe.stages.stations import IngestInterrupted, ingest_local


def _interrupt(_signum: signal.Signals) -> None:
    raise KeyboardInterrupt  # what SIGINT raises in the main thread, without a signal


def _lake(root: Path, spec: str = "") -> StationLake:
    """A one-thread lake (partitions written one after the other) with failpoints."""
    failpoints = Failpoints(spec, kill=_interrupt)
    return StationLake(LocalLakeStorage(root), FixedClock(NOW), threads=1, failpoints=failpoints)


def _state(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


@pytest.fixture
def files(write: Callable[[str, bytes], Path]) -> list[Path]:
    """Two real files: LPG (2 partitions: 2025-03, 2025-04) and gasoline-ethanol (6)."""
    return [write("glp.csv", real_file("glp")), write("ge.csv", real_file("gasolina-etanol"))]


def test_an_ingest_stopped_after_a_partition_is_marked_and_a_rerun_completes_it(
    tmp_path: Path, files: list[Path]
) -> None:
    reference = tmp_path / "reference"
    ingest_local(_lake(reference), files)
    glp_parts = 2
    assert len(_state(reference)) == glp_parts + 6

    root = tmp_path / "lake"
    stopped = _lake(root, f"stations.after_partition:{glp_parts + 1}")  # ge.csv's first
    with pytest.raises(IngestInterrupted) as raised:
        ingest_local(stopped, files)
    assert (raised.value.name, raised.value.source, raised.value.done) == (
        "ge.csv",
        str(files[1].resolve()),
        1,
    )
    manifest = stopped.storage.read_manifest()
    assert list(manifest["files"]) == [str(files[0].resolve())]  # ge.csv is not recorded
    written = set(_state(root))
    assert glp_parts < len(written) < len(_state(reference))  # some of ge.csv's, not all
    mark = stopped.incomplete()[str(files[1].resolve())]  # by its source, as the manifest
    assert mark["source"] == str(files[1].resolve()) and mark["name"] == "ge.csv"
    assert mark["sha256"] == hashlib.sha256(files[1].read_bytes()).hexdigest()
    assert stopped.status()["incomplete"] == {str(files[1].resolve()): mark}

    again = _lake(root)
    summary = ingest_local(again, files)
    assert not summary.errors and summary.unchanged == 1  # glp.csv: already in the lake
    assert again.incomplete() == {}
    assert "incomplete" not in again.storage.read_manifest()  # as a lake never stopped
    assert ingested_names(again) == ["ge.csv", "glp.csv"]
    with again.reader() as con:
        got = con.execute("SELECT * FROM stations ORDER BY ALL").fetchall()
    with _lake(reference).reader() as con:
        assert got == con.execute("SELECT * FROM stations ORDER BY ALL").fetchall()


def test_the_same_content_under_another_name_clears_the_mark(
    tmp_path: Path, files: list[Path], write: Callable[[str, bytes], Path]
) -> None:
    root = tmp_path / "lake"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(root, "stations.after_partition:1"), files[1:])
    renamed = write("renamed.csv", files[1].read_bytes())
    lake = _lake(root)
    ingest_local(lake, [renamed])
    assert lake.incomplete() == {}


def test_a_file_stopped_before_any_partition_is_not_marked(
    tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    """Nothing of a file is written before the mark, so a stop while reading leaves none."""
    lake = _lake(tmp_path / "lake")

    def stop(_name: str, _rows: int) -> None:
        raise KeyboardInterrupt

    glp = write("glp.csv", real_file("glp"))
    with pytest.raises(KeyboardInterrupt):
        lake.ingest_path(glp, progress=stop)
    assert lake.incomplete() == {} and lake.storage.partitions() == []


def test_the_interrupt_line_names_the_file_and_says_to_run_again() -> None:
    stop = IngestInterrupted("b.csv", "st/b.csv", 1)
    line = _interrupted(stop, {"st/b.csv": {}})  # (marks are keyed by source)
    assert line.startswith("interrupted while ingesting st/b.csv: some of its partitions are in")
    assert "1 file(s) before it were done" in line
    assert "run the same `fuelpipe stations ingest` again to complete it" in line
    assert "nothing of it was written" in _interrupted(stop, {})
    remote = IngestInterrupted("x.zip", "https://anp.example/arquivos/shpc/x.zip", 0)
    assert _interrupted(remote, {}).startswith("interrupted while ingesting x.zip: nothing")


def test_status_lists_an_incomplete_ingest(tmp_path: Path, files: list[Path]) -> None:
    root = tmp_path / "lake"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(root, "stations.after_partition:3"), files)
    env = {"FUELPIPE_LAKE": str(root), "FUELPIPE_DB": str(tmp_path / "x.sqlite"), "COLUMNS": "400"}
    shown = CliRunner().invoke(cli, ["stations", "status"], env=env)
    assert shown.exit_code == 0, shown.output
    mark = _lake(root).incomplete()[str(files[1].resolve())]
    assert _incomplete_line("ge.csv", mark) in " ".join(shown.stdout.split())
    assert f"run `fuelpipe stations ingest {files[1]}` to complete it" in _incomplete_line(
        "ge.csv", mark
    )
    as_json = CliRunner().invoke(cli, ["stations", "status", "--json"], env=env)
    assert json.loads(as_json.stdout)["incomplete"] == {str(files[1].resolve()): mark}


def test_a_remote_source_is_rerun_with_only() -> None:
    mark = {"source": "https://anp.example/shpc/ge.csv", "started_at": "2025-04-22T12:00:00"}
    assert "run `fuelpipe stations ingest --only ge.csv`" in _incomplete_line("ge.csv", mark)
