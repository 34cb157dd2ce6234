"""The LakeStorage port's contract, run against every adapter: a local directory and an S3
bucket on moto_server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from fuelpipe.adapters.lake.storage import LocalLakeStorage, S3LakeStorage, partition_path
from fuelpipe.ports.lake import LakeStorage


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
    assert not any(storage.query_root(tmp_path / "q").rglob("*.parquet"))


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
    root = storage.query_root(tmp_path / "q")
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
