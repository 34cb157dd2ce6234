"""A command on the AWS home with no region configured: one `error:` line, exit 2, that says
what to set, as `aws create-resources` says it (it said "cannot start the aws home: You must
specify a region." and no more). A real subprocess, with no AWS setting inherited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("botocore", reason="the AWS home needs boto3")

HINT = (
    "(set AWS_REGION or AWS_DEFAULT_REGION and boto3's usual credentials, or "
    "AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS for local servers)"
)


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        (["status"], "error: cannot start the aws home: You must specify a region. "),
        (["dlq", "list"], "error: cannot start the aws home: You must specify a region. "),
        (["aws", "create-resources"], "error: could not create resources: You must specify a "),
    ],
    ids=["status", "dlq list", "aws create-resources"],
)
def test_no_region_says_what_to_set(args: list[str], starts: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FUELPIPE_"))}
    env |= {
        "FUELPIPE_BACKEND": "aws",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "HOME": str(tmp_path),
        "COLUMNS": "400",
    }
    done = subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(starts) and line.endswith(HINT), line
