"""A missing object read by a role that may list only under the lake's prefix: S3 answers such
a caller 403 instead of 404 (it may not list the whole bucket), so a first ingest (no manifest,
no partition of a new month yet) and the dashboard's layout check on a never-ingested bucket
would fail. A listing of that one key tells a missing object from a real denial, which still
fails. botocore's Stubber answers in S3's own shapes on a real client (moto enforces no IAM)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from fuelpipe.adapters.lake.storage import S3LakeStorage

BUCKET = "lake"
MANIFEST_KEY = "stations/_manifest.json"


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _denied(stub: Stubber, method: str, status: int = 403, code: str = "AccessDenied") -> None:
    stub.add_client_error(method, service_error_code=code, http_status_code=status)


def _listing(stub: Stubber, key: str, present: bool) -> None:
    contents = [{"Key": key, "Size": 2}] if present else []
    stub.add_response(
        "list_objects_v2",
        {"Contents": contents, "KeyCount": len(contents), "IsTruncated": False},
        {"Bucket": BUCKET, "Prefix": key, "MaxKeys": 1},
    )


def test_a_manifest_denied_because_it_is_missing_reads_as_an_empty_lake(s3) -> None:
    client, stub = s3
    _denied(stub, "get_object")
    _listing(stub, MANIFEST_KEY, present=False)
    assert S3LakeStorage(client, BUCKET).read_manifest()["files"] == {}


def test_a_manifest_denied_that_exists_is_still_an_error(s3) -> None:
    client, stub = s3
    _denied(stub, "get_object")
    _listing(stub, MANIFEST_KEY, present=True)
    with pytest.raises(ClientError, match="AccessDenied"):
        S3LakeStorage(client, BUCKET).read_manifest()


def test_a_missing_partition_denied_is_none_and_a_report_too(s3, tmp_path: Path) -> None:
    client, stub = s3
    part = "stations/product=GASOLINE/month=2025-07/part-0.parquet"
    _denied(stub, "head_object", code="403")  # download_file asks HeadObject first
    _listing(stub, part, present=False)
    storage = S3LakeStorage(client, BUCKET)
    assert storage.fetch_partition("GASOLINE", "2025-07", tmp_path) is None
    _denied(stub, "get_object")
    _listing(stub, "stations/_reports/bad.csv", present=False)
    assert storage.get_text("bad.csv") is None


def test_other_errors_are_not_read_as_missing(s3) -> None:
    client, stub = s3
    _denied(stub, "get_object", status=500, code="InternalError")
    with pytest.raises(ClientError, match="InternalError"):
        S3LakeStorage(client, BUCKET).read_manifest()


def test_a_lock_released_while_a_contender_reads_it_is_taken(s3) -> None:
    """The contender's conditional write finds the lock held (412); the holder releases it
    before the contender reads it, and S3 answers that read of a missing key 403: the listing
    says it is gone, so the contender writes its lock again and holds it (before, it failed
    with AccessDenied)."""
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.lake.storage import WRITE_LOCK

    client, stub = s3
    lock = f"stations/{WRITE_LOCK}"
    create = {"Bucket": BUCKET, "Key": lock, "Body": ANY, "IfNoneMatch": "*"}
    _denied(stub, "put_object", status=412, code="PreconditionFailed")
    _denied(stub, "get_object")
    _listing(stub, lock, present=False)
    stub.add_response("put_object", {"ETag": '"mine"'}, create)  # written again, as new
    # held: its release deletes exactly the version it wrote (the fixture checks each call
    # above and this one were made, with these parameters)
    stub.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": lock, "IfMatch": '"mine"'})
    clock = FixedClock(datetime(2025, 4, 22, 12, 0, tzinfo=UTC))
    held = S3LakeStorage(client, BUCKET).write_lock(clock, "fuelpipe stations ingest")
    held.acquire()
    held.release()


def test_a_lock_denied_that_exists_is_still_an_error(s3) -> None:
    from fuelpipe.adapters.clock import FixedClock

    client, stub = s3
    _denied(stub, "put_object", status=412, code="PreconditionFailed")
    _denied(stub, "get_object")
    _listing(stub, "stations/_ingest.lock", present=True)
    clock = FixedClock(datetime(2025, 4, 22, 12, 0, tzinfo=UTC))
    with pytest.raises(ClientError, match="AccessDenied"):
        S3LakeStorage(client, BUCKET).write_lock(clock, "fuelpipe stations ingest").acquire()
