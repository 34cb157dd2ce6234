"""The station lake's S3 writes when S3 fails part-way, and keys with accents (moto_server).

An ingest writes a file's partitions one object each, after marking the file incomplete in the
manifest and before recording it there (the manifest is written first and last). Athena reads
the partition objects through the Glue table's projection, not the manifest, so the partitions
written before a failure are visible to queries at once: each is a whole object (the old rows
merged with the new), never half a file. A rerun writes what is missing and nothing twice.
"""

from __future__ import annotations

import lzma
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from devtools.aws.servers import LocalServer

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.lake.storage import INCOMPLETE, S3LakeStorage
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

duckdb = pytest.importorskip("duckdb")

from fuelpipe.adapters.lake.engine import StationLake  # noqa: E402

pytestmark = pytest.mark.aws

NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
QUS = SNAPSHOT_DIR / "shpc" / "qus"


@pytest.fixture
def s3(moto_server: LocalServer) -> Any:
    return moto_server.client("s3")


def new_bucket(s3: Any) -> str:
    name = f"fuelpipe-lake-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    return name


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def refuse_partition_put(after: int) -> tuple[list[str], Any]:
    """A ``before-send`` hook on S3 that lets ``after`` partition uploads through, then answers
    every further one AccessDenied (not retried); and the partition keys it saw refused."""
    from botocore.awsrequest import AWSResponse

    passed: list[str] = []
    refused: list[str] = []

    def hook(request: Any, **_: Any) -> Any:
        if request.method != "PUT" or not request.url.endswith("/part-0.parquet"):
            return None
        if len(passed) < after:
            passed.append(request.url)
            return None
        refused.append(request.url)
        body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, _Raw(body))

    return refused, hook


def partition_tags(s3: Any, bucket: str) -> dict[str, str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="stations/product=").get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


def test_an_upload_refused_part_way_leaves_whole_partitions_and_a_rerun_completes_it(
    s3: Any, tmp_path: Path
) -> None:
    path = tmp_path / "ultimas-4-semanas-gasolina-etanol.csv"
    path.write_bytes(lzma.decompress((QUS / f"{path.name}.xz").read_bytes()))
    reference = StationLake(S3LakeStorage(s3, new_bucket(s3)), FixedClock(NOW))
    reference.ingest_path(path)
    whole = reference.query("coverage", {})
    assert len(whole.rows) == 6  # three fuels, two months

    bucket = new_bucket(s3)
    storage = S3LakeStorage(s3, bucket)
    refused, hook = refuse_partition_put(after=2)
    s3.meta.events.register("before-send.s3", hook)
    try:
        with pytest.raises(Exception, match="AccessDenied"):
            StationLake(storage, FixedClock(NOW)).ingest_path(path)
    finally:
        s3.meta.events.unregister("before-send.s3", hook)
    assert refused
    written = partition_tags(s3, bucket)
    assert 2 <= len(written) < 6  # (uploads may run side by side: a few, never all)
    # the file is marked incomplete and not recorded: the manifest was not written last
    manifest = S3LakeStorage(s3, bucket).read_manifest()
    assert manifest["files"] == {}
    assert list(manifest[INCOMPLETE]) == [str(path.resolve())]
    # each partition written is a whole Parquet file the engine reads (Athena reads them so)
    partial = StationLake(S3LakeStorage(s3, bucket), FixedClock(NOW))
    got = {row[:2]: row for row in partial.query("coverage", {}).rows}
    assert {f"stations/product={p}/month={m}/part-0.parquet" for p, m in got} == set(written)
    assert all(row == got[row[:2]] for row in whole.rows if row[:2] in got)

    (again,) = partial.ingest_path(path)  # the rerun
    assert again.already_in_lake > 0 and again.written > 0
    assert partial.query("coverage", {}) == whole
    after = S3LakeStorage(s3, bucket).read_manifest()
    assert INCOMPLETE not in after and list(after["files"]) == [str(path.resolve())]
    # the partitions the failed run wrote whole were not written again
    assert {k: v for k, v in partition_tags(s3, bucket).items() if k in written} == written
    (third,) = partial.ingest_path(path, "same-file-again.csv", force=True)
    assert third.written == 0  # and a further run writes nothing
    for lake in (reference, partial):
        lake.close()


def test_keys_with_accents_round_trip(s3: Any, tmp_path: Path) -> None:
    """A source file named with accents gives a report key with accents under ``_reports/``:
    written, listed and read back as named. (No other key holds a name: partitions are keyed
    by fuel and month only, so a municipality's accents never reach a key.)"""
    bucket = new_bucket(s3)
    text = lzma.decompress((QUS / "ultimas-4-semanas-glp.csv.xz").read_bytes()).decode("utf-8-sig")
    lines = text.split("\r\n")[:21]
    bad = lines[5].split(";")
    bad[14] = "R$ / galão"  # SYNTHETIC: a bad unit at line 6
    path = tmp_path / "preços-glp-março.csv"
    rows = [lines[0], *lines[1:5], ";".join(bad), *lines[6:]]
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8-sig")
    lake = StationLake(S3LakeStorage(s3, bucket), FixedClock(NOW))
    (report,) = lake.ingest_path(path)
    assert report.rejected == 1
    (name,) = report.reports
    assert name.startswith("preços-glp-março.csv.")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="stations/_reports/")["Contents"]
    assert [o["Key"] for o in listed] == [f"stations/_reports/{name}"]
    assert "preços-glp-março.csv:6: " in (lake.storage.get_text(name) or "")
    assert list(lake.storage.read_manifest()["files"]) == [str(path.resolve())]
    lake.close()
