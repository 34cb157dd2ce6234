"""Carry out a plan's function updates: upload each zip, wait, and check what Lambda stored."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from fuelpipe.deploy.package import code_sha256
from fuelpipe.deploy.plan import DeployPlan, deploy_order

# UpdateFunctionCode takes a zip of at most 50 MB inline; bigger ones must come from S3.
MAX_INLINE_ZIP_BYTES = 50_000_000


class DeployError(RuntimeError):
    """A function update did not end with the code we sent."""


class LambdaClient(Protocol):
    """The part of a boto3 Lambda client that apply uses (injected; tests pass moto's)."""

    def update_function_code(self, **kwargs: Any) -> Mapping[str, Any]:
        """Replace a function's code."""

    def get_waiter(self, waiter_name: str) -> Any:
        """A boto3 waiter by name."""


def update_function(
    client: LambdaClient,
    function_name: str,
    zip_bytes: bytes,
    *,
    poll_delay_s: int = 2,
    max_polls: int = 150,
) -> str:
    """Upload one zip, wait until the update settles, and return the stored CodeSha256."""
    if len(zip_bytes) > MAX_INLINE_ZIP_BYTES:
        raise DeployError(f"{function_name}: {len(zip_bytes):,} bytes is over the inline limit")
    response = client.update_function_code(FunctionName=function_name, ZipFile=zip_bytes)
    # The update is asynchronous: wait for LastUpdateStatus=Successful before the next step
    # (a second update or a stack deploy) so they never overlap on the same function.
    client.get_waiter("function_updated_v2").wait(
        FunctionName=function_name,
        WaiterConfig={"Delay": poll_delay_s, "MaxAttempts": max_polls},
    )
    stored = str(response["CodeSha256"])
    expected = code_sha256(zip_bytes)
    if stored != expected:
        raise DeployError(f"{function_name}: Lambda stored {stored}, the zip is {expected}")
    return stored


def apply_plan(
    client: LambdaClient,
    plan: DeployPlan,
    zip_dir: Path,
    *,
    function_prefix: str = "",
    poll_delay_s: int = 2,
) -> dict[str, str]:
    """Update every function in the plan from ``zip_dir/<name>.zip``, consumers first
    (:func:`~fuelpipe.deploy.plan.deploy_order`, whatever order the plan lists them in);
    CodeSha256 per function.

    ``function_prefix`` only keeps tests that share one Lambda endpoint apart: the deployed
    functions are named as their folders (the template and the deploy role fix those names)."""
    missing = [n for n in plan.functions if not (zip_dir / f"{n}.zip").is_file()]
    if missing:
        raise DeployError(f"no zip for {', '.join(missing)} in {zip_dir} (run make package)")
    too_big = [
        n for n in plan.functions if (zip_dir / f"{n}.zip").stat().st_size > MAX_INLINE_ZIP_BYTES
    ]
    if too_big:
        raise DeployError(f"over the 50 MB inline limit: {', '.join(too_big)}")
    return {
        name: update_function(
            client,
            f"{function_prefix}{name}",
            (zip_dir / f"{name}.zip").read_bytes(),
            poll_delay_s=poll_delay_s,
        )
        for name in deploy_order(plan.functions)
    }
