"""The AWS region a boto3 session should use: the one place that reads it.

botocore reads ``AWS_DEFAULT_REGION`` and the config file, not ``AWS_REGION``, which Lambda,
GitHub Actions (``aws-actions/configure-aws-credentials``, the deploy workflow's ``env``) and
most people set: ``AWS_REGION`` is taken when nothing botocore reads names a region.
"""

from __future__ import annotations

import os
from typing import Any


def session_region(session: Any) -> str | None:
    """``session``'s own region (botocore's sources), else ``AWS_REGION``, else None (then
    botocore raises NoRegionError for a regional service, as without this)."""
    return session.region_name or os.environ.get("AWS_REGION") or None
