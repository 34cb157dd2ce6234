"""The last deployed commit of an environment, kept in an SSM parameter.

A deploy marks the parameter UNKNOWN before it changes anything and records its commit only
after every step succeeded. A deploy that fails part way leaves the environment running code of
no known commit (a failed stack update rolls every function back to the code the stack last
packaged, whatever was updated since), so the next plan must deploy everything, not a diff.

Within one deploy, the alias moves it made (:class:`~fuelpipe.deploy.apply.Release`: each
function's ``live`` version before and after) are kept in a file beside the plan, so a step
that fails later can move every alias back (``scripts/deploy.py rollback``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from fuelpipe.deploy.apply import Release


class SsmClient(Protocol):
    """The part of a boto3 SSM client used here (injected)."""

    def get_parameter(self, **kwargs: Any) -> Mapping[str, Any]:
        """Read one parameter."""

    def put_parameter(self, **kwargs: Any) -> Mapping[str, Any]:
        """Write one parameter."""


UNKNOWN = "unknown"
"""The parameter's value while a deploy is under way, and after one that failed: no base."""


def parameter_name(environment: str) -> str:
    """Where an environment's last deployed commit lives."""
    return f"/fuelpipe/{environment}/deployed-commit"


def _error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, "" for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def read_deployed_commit(client: SsmClient, name: str) -> str | None:
    """The recorded commit, or None (deploy everything) before the first deploy and after one
    that did not finish (UNKNOWN); other errors propagate."""
    try:
        response = client.get_parameter(Name=name)
    except Exception as exc:
        # Only "never recorded" means deploy everything; access errors must stop the deploy.
        if _error_code(exc) == "ParameterNotFound":
            return None
        raise
    value = str(response["Parameter"]["Value"]).strip()
    # Never handed to git: a branch or tag named like the marker would resolve as a base.
    return None if value in {"", UNKNOWN} else value


def forget_deployed_commit(client: SsmClient, name: str) -> None:
    """Mark what runs as unknown, before a deploy's first change (see UNKNOWN)."""
    client.put_parameter(Name=name, Value=UNKNOWN, Type="String", Overwrite=True)


def record_deployed_commit(client: SsmClient, name: str, commit: str) -> None:
    """Remember ``commit`` as deployed, after every step of the deploy succeeded."""
    client.put_parameter(Name=name, Value=commit, Type="String", Overwrite=True)


def write_releases(path: Path, releases: Iterable[Release]) -> None:
    """Keep what this deploy moved (each alias's version before and after), for ``rollback``:
    written after every alias move, so a deploy that fails part way can still be undone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps([r.to_dict() for r in releases], indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def read_releases(path: Path) -> list[Release]:
    """What :func:`write_releases` kept; none when the deploy moved no alias (no file)."""
    if not path.is_file():
        return []
    return [Release.from_dict(item) for item in json.loads(path.read_text(encoding="utf-8"))]
