"""The AWS region a boto3 session should use: the one place that reads it.

botocore reads ``AWS_DEFAULT_REGION`` and the config file, not ``AWS_REGION``, which Lambda,
GitHub Actions (``aws-actions/configure-aws-credentials``, the deploy workflow's ``env``) and
most people set: ``AWS_REGION`` is taken when nothing botocore reads names a region.
"""

from __future__ import annotations

import os
from typing import Any


def session_region(session: Any) -> str:
    """``session``'s own region (botocore's sources), else ``AWS_REGION``; a blank one is no
    region. Raises botocore's NoRegionError when there is none, as botocore does when nothing
    names one: an ``AWS_DEFAULT_REGION`` set but empty (``export AWS_DEFAULT_REGION=``), left
    to botocore, made the endpoint ``https://dynamodb..amazonaws.com``, "Invalid endpoint"."""
    from botocore.exceptions import NoRegionError

    for region in (session.region_name, os.environ.get("AWS_REGION")):
        if region and region.strip():
            return str(region).strip()
    raise NoRegionError
