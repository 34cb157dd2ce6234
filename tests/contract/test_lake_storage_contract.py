"""The LakeStorage port's contract, run against every adapter: a local directory and an S3
bucket on moto_server."""

from __future__ import annotations

import lzma
import os
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.adapters.lake.engine import FileReport, StationLake
from fuelpipe.adapters.lake.storage import (
    LocalLakeStorage,
    ManifestChanged,
    S3LakeStorage,
    partition_path,
)
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.ports.lake import LakeBusy, LakeLockLost, LakeStorage
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> LakeStorage:
    return LocalLakeStorage(tmp_path / "lake")


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> LakeStorage:
    server = request.getfixturevalue("moto_server")
    client = server.client("s3")
    bucket = f"lake-contract-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    return S3LakeStorage(client, bucket, "stations")


FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Path], LakeStorage]] = {
    "local": _local,
    "s3": _s3,
}


@pytest.fixture(params=sorted(FACTORIES))
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> LakeStorage:
    return FACTORIES[request.param](request, tmp_path)


def test_a_new_lake_is_empty(storage: LakeStorage, tmp_path: Path) -> None:
    assert storage.partitions() == []
    assert storage.read_manifest() == {"files": {}, "http": {}}
    assert storage.fetch_partition("GASOLINE", "2025-03", tmp_path) is None
    assert not any(storage.query_root(lambda: tmp_path / "q").rglob("*.parquet"))


def test_partitions_are_replaced_and_listed(storage: LakeStorage, tmp_path: Path) -> None:
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    first.write_bytes(b"first version")
    second.write_bytes(b"second version")
    storage.put_partition("LPG", "2025-04", first)
    storage.put_partition("GASOLINE", "2025-03", first)
    storage.put_partition("LPG", "2025-04", second)
    assert storage.partitions() == [("GASOLINE", "2025-03"), ("LPG", "2025-04")]
    work = tmp_path / "work"
    work.mkdir()
    got = storage.fetch_partition("LPG", "2025-04", work)
    assert got is not None and got.read_bytes() == b"second version"
    root = storage.query_root(lambda: tmp_path / "q")
    assert (root / partition_path("LPG", "2025-04")).read_bytes() == b"second version"
    assert (root / partition_path("GASOLINE", "2025-03")).read_bytes() == b"first version"


def test_manifest_round_trips(storage: LakeStorage) -> None:
    manifest = {"files": {"x.csv": {"sha256": "ab", "parts": []}}, "http": {"u": {"etag": '"1"'}}}
    storage.write_manifest(manifest)
    assert storage.read_manifest() == manifest
    manifest["files"]["y.csv"] = {"sha256": "cd", "parts": []}
    storage.write_manifest(manifest)
    assert set(storage.read_manifest()["files"]) == {"x.csv", "y.csv"}


def test_reports_are_stored(storage: LakeStorage) -> None:
    assert storage.get_text("x.csv.rejected.txt") is None
    text = "x.csv:5: bad collection date '31/02/2025'\nx.csv:9: unknown product 'QUEROSENE'\n"
    storage.put_text("x.csv.rejected.txt", text)
    assert storage.get_text("x.csv.rejected.txt") == text


# --- one writer at a time ------------------------------------------------------------------

SINCE = datetime(2025, 4, 22, 9, 0, tzinfo=SAO_PAULO)
NOW = SINCE + timedelta(hours=3)  # after the LPG sample's last collection day
GLP = SNAPSHOT_DIR / "shpc" / "qus" / "ultimas-4-semanas-glp.csv.xz"


def _same_lake(storage: LakeStorage) -> LakeStorage:
    """A second adapter on the same lake, as another process would open it."""
    if isinstance(storage, S3LakeStorage):
        return S3LakeStorage(storage.client, storage.bucket, storage.prefix)
    assert isinstance(storage, LocalLakeStorage)
    return LocalLakeStorage(storage.root)


def test_a_second_writer_is_refused_until_the_first_lets_go(storage: LakeStorage) -> None:
    clock = ManualClock(SINCE)
    first = storage.write_lock(clock, "fuelpipe stations ingest")
    second = _same_lake(storage).write_lock(clock, "fuelpipe demo")
    first.acquire()
    first.refresh()
    with pytest.raises(LakeBusy) as refused:
        second.acquire()
    busy = refused.value
    assert (busy.pid, busy.since, busy.command) == (os.getpid(), "2025-04-22T09:00:00-03:00",
                                                    "fuelpipe stations ingest")  # fmt: skip
    assert "_ingest.lock" in busy.where
    assert f"(`fuelpipe stations ingest`, pid {os.getpid()}" in str(busy)
    # reads do not need it
    assert storage.read_manifest() == {"files": {}, "http": {}}
    first.release()
    second.acquire()
    with pytest.raises(LakeBusy) as now_second:
        storage.write_lock(clock, "fuelpipe stations ingest").acquire()
    assert now_second.value.command == "fuelpipe demo"
    second.release()
    first.acquire()
    first.release()


def _glp_halves(folder: Path) -> tuple[Path, Path]:
    """The real LPG sample's records in two files of disjoint records over the same
    (product, month) partitions."""
    header, *records = lzma.decompress(GLP.read_bytes()).split(b"\r\n")[:401]
    paths = []
    for n, part in enumerate((records[0::2], records[1::2])):
        path = folder / f"glp-half-{n}.csv"
        path.write_bytes(b"\r\n".join([header, *part]) + b"\r\n")
        paths.append(path)
    return paths[0], paths[1]


def _lake_rows(lake: StationLake) -> int:
    with lake.reader() as con:
        row = con.execute("SELECT count(*) FROM stations").fetchone()
    assert row is not None
    return int(row[0])


def test_an_ingest_beside_another_is_refused_whole_and_nothing_is_lost(
    storage: LakeStorage, tmp_path: Path
) -> None:
    """Two ingests of the same partitions at once: the one that finds the lake held is refused
    before it reads or writes anything; the holder's records are all kept, and the refused
    one run again adds all of its own."""
    pytest.importorskip("duckdb")
    folder = tmp_path / "files"
    folder.mkdir()
    a, b = _glp_halves(folder)
    first = StationLake(storage, FixedClock(NOW), workdir=tmp_path)
    second = StationLake(_same_lake(storage), FixedClock(NOW), workdir=tmp_path)
    holding, refused_done = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def while_held(name: str, rows: int) -> None:  # the first ingest's progress, lock held
        holding.set()
        assert refused_done.wait(60)

    def run_first() -> None:
        outcome["first"] = first.ingest_path(a, progress=while_held)

    def run_second() -> None:
        assert holding.wait(60)
        try:
            outcome["second"] = second.ingest_path(b)
        except LakeBusy as exc:
            outcome["second"] = exc
        finally:
            refused_done.set()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert isinstance(outcome["second"], LakeBusy), outcome["second"]
    (report,) = cast(list[FileReport], outcome["first"])
    assert report.written == 200 and report.accounted()
    assert set(storage.read_manifest()["files"]) == {str(a.resolve())}  # nothing of b recorded
    assert _lake_rows(first) == 200
    (again,) = second.ingest_path(b)  # the refused one, run again
    assert again.written == 200 and again.already_in_lake == 0
    assert set(storage.read_manifest()["files"]) == {str(a.resolve()), str(b.resolve())}
    first.close()
    assert _lake_rows(first) == 400


def test_two_ingests_started_together_lose_no_record(storage: LakeStorage, tmp_path: Path) -> None:
    """Two ingests of the same partitions started at the same instant, unsynchronised: each
    ends with all its records in the lake, or is refused with nothing of it written."""
    pytest.importorskip("duckdb")
    folder = tmp_path / "files"
    folder.mkdir()
    files = _glp_halves(folder)
    lakes = [StationLake(s, FixedClock(NOW), workdir=tmp_path)
             for s in (storage, _same_lake(storage))]  # fmt: skip
    start = threading.Barrier(2)
    outcome: list[object] = [None, None]

    def run(n: int) -> None:
        start.wait(30)
        try:
            outcome[n] = lakes[n].ingest_path(files[n])
        except LakeBusy as exc:
            outcome[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ingested = [str(files[n].resolve()) for n in range(2) if not isinstance(outcome[n], LakeBusy)]
    assert ingested, outcome  # at most one is refused
    assert sorted(storage.read_manifest()["files"]) == sorted(ingested)
    assert _lake_rows(lakes[0]) == 200 * len(ingested)


def test_an_expired_s3_lock_is_taken_over(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """An S3 lock whose holder stopped refreshing it (crashed) is taken over once it expires,
    by the injected clock; the old holder then finds it lost and leaves the new one alone."""
    storage = _s3(request, tmp_path)
    assert isinstance(storage, S3LakeStorage)
    storage.lock_ttl = timedelta(minutes=30)
    crashed = storage.write_lock(ManualClock(SINCE), "fuelpipe stations ingest")
    crashed.acquire()
    clock = ManualClock(SINCE + timedelta(minutes=29))
    later = _same_lake(storage).write_lock(clock, "fuelpipe demo")
    with pytest.raises(LakeBusy) as refused:
        later.acquire()
    assert refused.value.expires == "2025-04-22T09:30:00-03:00"
    assert "expiring at 2025-04-22T09:30:00-03:00" in str(refused.value)
    clock.set(SINCE + timedelta(minutes=30))
    later.acquire()  # expired: taken over
    with pytest.raises(LakeLockLost):
        crashed.refresh()
    crashed.release()  # the lock is no longer its own: left in place
    third = storage.write_lock(clock, "third")
    with pytest.raises(LakeBusy) as held:
        third.acquire()
    assert held.value.command == "fuelpipe demo"
    later.refresh()  # still its own
    later.release()
    third.acquire()
    third.release()


def test_a_stale_s3_manifest_is_not_written_over_another(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    storage = _s3(request, tmp_path)
    other = _same_lake(storage)
    mine = storage.read_manifest()
    theirs = other.read_manifest()
    theirs["files"]["theirs.csv"] = {"sha256": "ab", "parts": []}
    other.write_manifest(theirs)
    mine["files"]["mine.csv"] = {"sha256": "cd", "parts": []}
    with pytest.raises(ManifestChanged):
        storage.write_manifest(mine)  # it would drop theirs.csv
    assert set(storage.read_manifest()["files"]) == {"theirs.csv"}
    fresh = storage.read_manifest()
    fresh["files"]["mine.csv"] = {"sha256": "cd", "parts": []}
    storage.write_manifest(fresh)
    assert set(other.read_manifest()["files"]) == {"theirs.csv", "mine.csv"}


# --- the layout check (every stations answer asks it) --------------------------------------

INGESTED = {"x.csv": {"sha256": "ab", "parts": []}}


def test_the_layout_check_sees_every_manifest_write(storage: LakeStorage) -> None:
    """This adapter's writes and another's on the same lake (another process's ingest) are seen
    on the next call, however the adapter avoids reading an unchanged manifest again."""
    assert storage.old_layout() is None  # a new lake
    storage.write_manifest({"files": INGESTED, "http": {}})  # written before layouts: 1
    assert storage.old_layout() == storage.old_layout() == 1
    storage.write_manifest({"files": INGESTED, "http": {}, "layout": 2})  # migrated
    assert storage.old_layout() is None
    _same_lake(storage).write_manifest({"files": INGESTED, "http": {}, "layout": 1})
    assert storage.old_layout() == storage.old_layout() == 1
    _same_lake(storage).write_manifest({"files": {}, "http": {}})  # no files: no migration
    assert storage.old_layout() is None


def test_the_layout_check_reads_no_unchanged_local_manifest(tmp_path: Path) -> None:
    """A stat tells the manifest file unchanged: its bytes are not read again. Shown by an edit
    in place that keeps the file's inode, size and mtime (no writer of the lake does that:
    each manifest write replaces the file), which the check does not see; a write is seen."""
    storage = LocalLakeStorage(tmp_path / "lake")
    lake = StationLake(storage, FixedClock(NOW))
    storage.write_manifest({"files": INGESTED, "http": {}, "layout": 1})
    assert lake.old_layout() == 1
    path = storage.root / "_manifest.json"
    before = path.stat()
    text = path.read_bytes()
    with path.open("r+b") as file:
        file.write(text.replace(b'"layout": 1', b'"layout": 2'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.read_bytes() != text and path.stat().st_size == before.st_size
    assert lake.old_layout() == 1  # not read again
    storage.write_manifest({"files": INGESTED, "http": {}, "layout": 2})
    assert lake.old_layout() is None


def test_the_layout_check_gets_an_unchanged_s3_manifest_as_a_304(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """One GET a call: the first in full, then conditional (If-None-Match), which S3 answers
    304 without a body until the manifest is replaced. It leaves alone the version a manifest
    write replaces: a stale manifest read for an ingest is still refused."""
    storage = cast(S3LakeStorage, _s3(request, tmp_path))
    gets: list[tuple[str | None, int]] = []  # (If-None-Match sent, HTTP status) of each GET
    storage.client.meta.events.register(
        "before-call.s3.GetObject",
        lambda params, context, **_: context.update(tag=params["headers"].get("If-None-Match")),
    )
    storage.client.meta.events.register(
        "after-call.s3.GetObject",
        lambda http_response, context, **_: gets.append(
            (context.get("tag"), http_response.status_code)
        ),
    )
    other = _same_lake(storage)
    other.write_manifest({"files": INGESTED, "http": {}})
    mine = storage.read_manifest()  # as an ingest reads it, then another writes
    gets.clear()
    assert [storage.old_layout() for _ in range(3)] == [1, 1, 1]
    assert [status for _, status in gets] == [200, 304, 304]
    assert gets[0][0] is None and gets[1][0] is not None and gets[1][0] == gets[2][0]
    other.write_manifest({"files": INGESTED, "http": {}, "layout": 2})  # an ingest migrated it
    gets.clear()
    assert storage.old_layout() is None
    assert [status for _, status in gets] == [200]  # replaced: read in full
    with pytest.raises(ManifestChanged):
        storage.write_manifest(mine)
