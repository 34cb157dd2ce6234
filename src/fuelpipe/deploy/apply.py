"""Carry out a plan's function updates: upload each zip, wait, check what Lambda stored,
publish it as a version, check that version, and only then move the ``live`` alias to it.

Every invoker (schedules, the SQS event source, the function URL) names the ``live`` alias
(infra/template.yaml), so what runs changes only when the alias moves. A version that fails
its check never gets the alias; :func:`rollback` puts back what an earlier step moved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fuelpipe.deploy.package import code_sha256
from fuelpipe.deploy.plan import DeployPlan, deploy_order
from fuelpipe.ping import PING_EVENT, pong

ALIAS = "live"
"""The alias every invoker names; the template creates it, the deploy moves it."""

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

    def publish_version(self, **kwargs: Any) -> Mapping[str, Any]:
        """Publish $LATEST as a numbered version."""

    def get_alias(self, **kwargs: Any) -> Mapping[str, Any]:
        """Read one alias."""

    def update_alias(self, **kwargs: Any) -> Mapping[str, Any]:
        """Point an alias at another version."""

    def invoke(self, **kwargs: Any) -> Mapping[str, Any]:
        """Invoke a function, a version or an alias."""


Check = Callable[[LambdaClient, str, str, str], str | None]
"""``check(client, function, function_name, version)``: None when the new version is healthy,
else why not. ``function`` is the folder's name, ``function_name`` the deployed one."""


@dataclass(frozen=True)
class Release:
    """One function's alias move: the version published and the one ``live`` had before."""

    function: str
    code_sha256: str
    version: str
    previous: str

    def to_dict(self) -> dict[str, str]:
        """The form the deploy state keeps (:mod:`fuelpipe.deploy.state`)."""
        return {
            "function": self.function,
            "code_sha256": self.code_sha256,
            "version": self.version,
            "previous": self.previous,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Release:
        """Read back :meth:`to_dict`."""
        return cls(
            str(data["function"]),
            str(data["code_sha256"]),
            str(data["version"]),
            str(data["previous"]),
        )


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


def ping_check(client: LambdaClient, function: str, function_name: str, version: str) -> str | None:
    """Invoke ``version`` (synchronously, never the alias) with the ping every handler answers
    without touching data (:mod:`fuelpipe.ping`): a zip that cannot import, lacks a
    dependency or whose settings do not validate fails here, before any invoker sees it."""
    try:
        response = client.invoke(
            FunctionName=function_name,
            Qualifier=version,
            InvocationType="RequestResponse",
            Payload=json.dumps(PING_EVENT).encode(),
        )
    except Exception as exc:  # throttled behind a running invocation, denied, ...
        return f"the ping could not be invoked: {exc}"
    payload = response["Payload"].read().decode("utf-8", "replace")
    if response.get("FunctionError"):
        return f"the ping raised ({response['FunctionError']}): {payload[:500]}"
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = payload
    if answer != pong(function):
        return f"the ping answered {payload[:200]!r}, not {json.dumps(pong(function))}"
    return None


def release_function(
    client: LambdaClient,
    function: str,
    function_name: str,
    expected_sha256: str,
    check: Check,
    *,
    poll_delay_s: int = 2,
    max_polls: int = 150,
) -> Release:
    """Publish $LATEST (only if it is still ``expected_sha256``), check the new version, and
    move ``live`` to it. A failed check leaves ``live`` where it was and raises."""
    previous = str(client.get_alias(FunctionName=function_name, Name=ALIAS)["FunctionVersion"])
    # CodeSha256: Lambda refuses to publish if $LATEST changed since (a concurrent update).
    try:
        published = client.publish_version(FunctionName=function_name, CodeSha256=expected_sha256)
    except Exception as exc:  # PreconditionFailed: $LATEST is not the code we meant
        raise DeployError(
            f"{function_name}: could not publish {expected_sha256} ({exc}); "
            f"{ALIAS} stays on version {previous}"
        ) from exc
    version = str(published["Version"])
    if published["CodeSha256"] != expected_sha256:
        raise DeployError(
            f"{function_name}: version {version} holds {published['CodeSha256']}, "
            f"not {expected_sha256}; {ALIAS} stays on version {previous}"
        )
    client.get_waiter("published_version_active").wait(
        FunctionName=function_name,
        Qualifier=version,
        WaiterConfig={"Delay": poll_delay_s, "MaxAttempts": max_polls},
    )
    problem = check(client, function, function_name, version)
    if problem is not None:
        raise DeployError(
            f"{function_name}: version {version} failed its check ({problem}); "
            f"{ALIAS} stays on version {previous}"
        )
    client.update_alias(FunctionName=function_name, Name=ALIAS, FunctionVersion=version)
    return Release(function, expected_sha256, version, previous)


def rollback(
    client: LambdaClient, releases: Sequence[Release], *, function_prefix: str = ""
) -> list[str]:
    """Move each ``live`` alias back to the version it had before ``releases``, last first;
    an alias someone moved since (not on the released version) is left alone. What was done,
    one line per function."""
    done = []
    for release in reversed(releases):
        name = f"{function_prefix}{release.function}"
        now = str(client.get_alias(FunctionName=name, Name=ALIAS)["FunctionVersion"])
        if now != release.version:
            done.append(f"{name}: {ALIAS} is on version {now}, not {release.version}: left")
            continue
        client.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=release.previous)
        done.append(f"{name}: {ALIAS} back from version {release.version} to {release.previous}")
    return done


def apply_plan(
    client: LambdaClient,
    plan: DeployPlan,
    zip_dir: Path,
    *,
    check: Check = ping_check,
    every_function: Iterable[str] = (),
    on_release: Callable[[Release], None] = lambda release: None,
    function_prefix: str = "",
    poll_delay_s: int = 2,
) -> dict[str, Release]:
    """Update every function in the plan from ``zip_dir/<name>.zip``, consumers first
    (:func:`~fuelpipe.deploy.plan.deploy_order`, whatever order the plan lists them in), then
    publish, check and release each (:func:`release_function`); the releases by function.

    A plan that deployed the stack releases ``every_function`` too: the stack update put the
    built zips and the template's configuration in $LATEST, which runs only once published.
    ``on_release`` hears of each alias move as it happens, so a later failure can be rolled
    back. ``function_prefix`` only keeps tests that share one Lambda endpoint apart: the
    deployed functions are named as their folders (the template and the deploy role fix those
    names)."""
    released = deploy_order(
        set(plan.functions) | (set(every_function) if plan.deploy_stack else set())
    )
    missing = [n for n in released if not (zip_dir / f"{n}.zip").is_file()]
    if missing:
        raise DeployError(f"no zip for {', '.join(missing)} in {zip_dir} (run make package)")
    too_big = [n for n in released if (zip_dir / f"{n}.zip").stat().st_size > MAX_INLINE_ZIP_BYTES]
    if too_big:
        raise DeployError(f"over the 50 MB inline limit: {', '.join(too_big)}")
    releases = {}
    for name in released:
        zip_bytes = (zip_dir / f"{name}.zip").read_bytes()
        if name in plan.functions:
            sha = update_function(
                client, f"{function_prefix}{name}", zip_bytes, poll_delay_s=poll_delay_s
            )
        else:
            sha = code_sha256(zip_bytes)
        releases[name] = release_function(
            client, name, f"{function_prefix}{name}", sha, check, poll_delay_s=poll_delay_s
        )
        on_release(releases[name])
    return releases
