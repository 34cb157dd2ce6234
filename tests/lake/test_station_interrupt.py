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
from tests.lake.conftest import NOW, ingested_names, real_file, real_lines, set_cell
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


DEC_2023 = (
    Path(__file__).resolve().parents[2]
    / "datasets/anp/stations"
    / "samuelfideles1__anp_revenda_ultimas-4-semanas-diesel-gnv_2023-12-04_2023-12-28.csv"
)


@pytest.fixture
def excerpt(write: Callable[[str, bytes], Path]) -> Path:
    """A small excerpt of ANP's December 2023 diesel/CNG rolling file under a made-up name:
    its first 40 records of each product (3 partitions), one month's days and a name none
    of ANP's, so that its kind is undecided unless given."""
    lines = DEC_2023.read_bytes().decode("utf-8-sig").split("\r\n")
    taken: dict[str, list[str]] = {}
    for line in lines[1:]:
        if line:
            product = line.split(";")[10]
            if product in ("DIESEL", "DIESEL S10", "GNV") and len(taken.get(product, [])) < 40:
                taken.setdefault(product, []).append(line)
    records = [line for group in taken.values() for line in group]
    return write("excerpt-dez.csv", ("\ufeff" + "\r\n".join([lines[0], *records])).encode())


def test_a_rerun_completes_an_interrupted_file_as_the_kind_it_was_given(
    tmp_path: Path, excerpt: Path
) -> None:
    """The mark records the --kind the stopped ingest was given; the rerun without one
    completes the file as that kind (its days and its name could not tell: undecided)."""
    root = tmp_path / "lake"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(root, "stations.after_partition:1"), [excerpt], kind="rolling")
    source = str(excerpt.resolve())
    assert _lake(root).incomplete()[source]["kind"] == "rolling"
    again = _lake(root)
    summary = ingest_local(again, [excerpt])
    assert not summary.errors and again.incomplete() == {}
    (part,) = summary.files[0]["parts"]
    assert part["kind"] == "rolling"
    assert (
        part["kind_why"] == "given (--kind rolling, to the interrupted ingest this one completes)"
    )
    (recorded,) = again.storage.read_manifest()["files"][source]["parts"]
    assert recorded["kind"] == "rolling"


def test_a_rerun_given_a_kind_uses_it_and_an_old_mark_without_one_decides_as_before(
    tmp_path: Path, excerpt: Path
) -> None:
    root = tmp_path / "lake"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(root, "stations.after_partition:1"), [excerpt], kind="rolling")
    given = ingest_local(_lake(root), [excerpt], kind="consolidated")  # said now: it wins
    assert given.files[0]["parts"][0]["kind"] == "consolidated"

    old = tmp_path / "old"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(old, "stations.after_partition:1"), [excerpt], kind="rolling")
    storage = LocalLakeStorage(old)
    manifest = storage.read_manifest()
    for mark in manifest["incomplete"].values():
        del mark["kind"], mark["decided"]  # a mark written before marks carried the kind
    storage.write_manifest(manifest)
    decided = ingest_local(_lake(old), [excerpt])
    assert decided.files[0]["parts"][0]["kind"] == "undecided"
    assert _lake(old).incomplete() == {}


def test_status_says_an_incomplete_file_is_completed_as_the_kind_it_was_given() -> None:
    mark = {"source": "/st/x.csv", "started_at": "2025-04-22T12:00:00", "kind": "rolling"}
    assert _incomplete_line("x.csv", mark).endswith(
        "run `fuelpipe stations ingest /st/x.csv` to complete it "
        "(as --kind rolling, which the stopped ingest was given)"
    )
    assert _incomplete_line("x.csv", {**mark, "kind": None}).endswith("to complete it")


def test_a_rerun_completes_an_interrupted_file_as_the_kind_its_name_decided(
    tmp_path: Path, excerpt: Path, write: Callable[[str, bytes], Path]
) -> None:
    """Given no --kind, the stopped ingest decided the kind itself (by ANP's name: the days
    cannot tell); the mark records it apart from a given kind, and the same content run again
    under a name none of ANP's is completed as that kind, not decided anew (undecided)."""
    named = write("ultimas-4-semanas-diesel-gnv.csv", excerpt.read_bytes())
    root = tmp_path / "lake"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(root, "stations.after_partition:1"), [named])
    mark = _lake(root).incomplete()[str(named.resolve())]
    assert mark["kind"] is None  # nothing was given
    (decided,) = mark["decided"].values()  # by the CSV's place in the file: the first
    assert mark["decided"] == {"0": decided}
    assert (decided["name"], decided["kind"]) == (named.name, "rolling")
    assert "which the stopped ingest was given" not in _incomplete_line(named.name, mark)

    again = _lake(root)
    summary = ingest_local(again, [excerpt])  # the same content, from another source
    assert not summary.errors and again.incomplete() == {}
    (part,) = summary.files[0]["parts"]
    assert part["kind"] == "rolling"
    assert part["kind_why"].startswith(
        "decided by the interrupted ingest this one completes (by ANP's name for a rolling file"
    )
    (recorded,) = again.storage.read_manifest()["files"][str(excerpt.resolve())]["parts"]
    assert recorded["kind"] == "rolling"

    # The same file run again: its days and name say what the stopped ingest decided, and
    # its report is an uninterrupted ingest's (no word of the mark).
    (reference,) = ingest_local(_lake(tmp_path / "reference"), [named]).files[0]["parts"]
    other = tmp_path / "other"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(other, "stations.after_partition:1"), [named])
    (same,) = ingest_local(_lake(other), [named]).files[0]["parts"]
    assert (same["kind"], same["kind_why"]) == ("rolling", reference["kind_why"])


def test_a_rerun_still_lists_the_values_the_stopped_ingest_displaced(
    tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    """A correction written before the stop is in the lake when the rerun compares, so the
    rerun alone sees no difference: the values it displaced were listed nowhere."""
    lines = real_lines("gasolina-etanol", 12)
    first = write("a.csv", ("\n".join(lines) + "\n").encode())
    corrected = [
        lines[0],
        set_cell(lines[1], 12, "6,00"),
        set_cell(lines[2], 12, "4,00"),
        *lines[3:],
    ]
    second = write("b.csv", ("\n".join(corrected) + "\n").encode())  # GASOLINE and ETHANOL

    reference = tmp_path / "reference"
    ingest_local(_lake(reference), [first], kind="consolidated")
    ingest_local(_lake(reference), [second], kind="consolidated")
    (stem,) = (p.name for p in (reference / "_reports").glob("b.csv.*.revised.txt"))
    listed = (reference / "_reports" / stem).read_text().splitlines()[1:]
    assert len(listed) == 2  # one line per displaced record

    root = tmp_path / "lake"
    ingest_local(_lake(root), [first], kind="consolidated")
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(root, "stations.after_partition:1"), [second], kind="consolidated")
    again = _lake(root)
    summary = ingest_local(again, [second], kind="consolidated")
    assert not summary.errors and again.incomplete() == {}
    assert (root / "_reports" / stem).read_text().splitlines()[1:] == listed
    (entry,) = (e for e in again.storage.read_manifest()["files"].values() if e["name"] == "b.csv")
    assert entry["reports"] == [stem]


def test_a_stopped_version_stays_marked_when_a_later_version_of_its_source_is_ingested(
    tmp_path: Path, write: Callable[[str, bytes], Path]
) -> None:
    """ANP republishes the rolling file under one name: the version stopped part-way left some
    of its records in the lake, and the next version's ingest took its mark (and cleared it),
    so nothing said that a version no manifest entry holds had records in the lake."""
    lines = real_lines("gasolina-etanol", 30)
    path = write("rolling.csv", ("\n".join(lines) + "\n").encode())
    first = hashlib.sha256(path.read_bytes()).hexdigest()
    root = tmp_path / "lake"
    with pytest.raises(IngestInterrupted):
        ingest_local(_lake(root, "stations.after_partition:1"), [path])
    ethanol = [line for line in lines[1:] if ";ETANOL;" in line]
    path.write_bytes(("\n".join([lines[0], *ethanol]) + "\n").encode())  # the next version

    lake = _lake(root)
    summary = ingest_local(lake, [path])
    assert not summary.errors
    (mark,) = lake.incomplete().values()
    assert (mark["name"], mark["sha256"]) == ("rolling.csv", first)
    line = _incomplete_line(mark["name"], mark)
    assert "a later version from the same source was ingested since" in line
    assert f"fuelpipe stations ingest {path.resolve()}" not in line  # that is the later one now

    path.write_bytes(("\n".join(lines) + "\n").encode())  # the stopped version again
    done = _lake(root)
    assert not ingest_local(done, [path]).errors
    assert done.incomplete() == {}


@pytest.mark.parametrize("superseded", [False, True])
def test_status_gives_when_an_incomplete_ingest_started_as_it_gives_every_instant(
    superseded: bool,
) -> None:
    """The manifest keeps the instant in UTC to the microsecond; `stations status` printed it
    so in its `incomplete:` line, while its table (and every command) shows São Paulo time
    with its offset, to the minute."""
    mark = {
        "source": "/st/x.csv",
        "started_at": "2026-12-06T21:44:14.400272+00:00",
        "sha256": "ab" * 32,
        "superseded": superseded,
    }
    line = _incomplete_line("x.csv", mark)
    assert "its ingest started at 2026-12-06T18:44-03:00 and stopped part-way" in line, line
    assert "+00:00" not in line, line
