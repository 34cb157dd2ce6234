"""The app stack's template as deployed: each function's CodeUri pointed at its built zip.

``infra/template.yaml`` names a function's folder (``CodeUri: ../lambdas/<name>/``), which
``aws cloudformation package`` would zip bare, without fuelpipe or the dependencies. The deploy
workflow packages this copy instead, so the stack and ``apply`` ship the very same zips.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

INFRA = PurePosixPath("infra")
CODE_URI = re.compile(r"^(?P<key>\s*CodeUri:\s*)(?P<value>[\"']?[^\s\"'#]+[\"']?)(?P<rest>.*)$")


class StackTemplateError(ValueError):
    """A function folder in the template has no zip to point at."""


def function_of(code_uri: str, template_dir: PurePosixPath) -> str | None:
    """The ``lambdas/<name>`` a CodeUri names, seen from the template's folder; else None."""
    value = code_uri.strip("\"'").rstrip("/")
    parts: list[str] = list(template_dir.parts)
    for part in PurePosixPath(value).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    if len(parts) == 2 and parts[0] == "lambdas":
        return parts[1]
    return None


def point_code_at_zips(template: str, zip_dir: Path, template_dir: PurePosixPath = INFRA) -> str:
    """Rewrite every ``CodeUri`` naming a ``lambdas/<name>`` folder to ``zip_dir/<name>.zip``."""
    lines = []
    for line in template.splitlines(keepends=True):
        match = CODE_URI.match(line.rstrip("\n"))
        name = function_of(match["value"], template_dir) if match else None
        if match is None or name is None:
            lines.append(line)
            continue
        zip_path = zip_dir.resolve() / f"{name}.zip"
        if not zip_path.is_file():
            raise StackTemplateError(f"CodeUri {match['value']}: no {zip_path} (make package)")
        newline = "\n" if line.endswith("\n") else ""
        lines.append(f"{match['key']}{zip_path}{match['rest']}{newline}")
    return "".join(lines)
