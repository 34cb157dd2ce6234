"""Scripts (scripts/), benchmarks (bench/), developer tools (devtools/) and the Lambda handlers
(lambdas/) use fuelpipe's public API only: no name or module with a leading underscore, whose
callers inside the package may change it without looking outside."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _private_imports(path: Path) -> list[str]:
    """The private fuelpipe names ``path`` imports, as ``module.name``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fuelpipe"):
            module = node.module or ""
            private_module = any(part.startswith("_") for part in module.split("."))
            found += [
                f"{module}.{alias.name}"
                for alias in node.names
                if private_module or alias.name.startswith("_")
            ]
        elif isinstance(node, ast.Import):
            found += [
                a.name
                for a in node.names
                if a.name.startswith("fuelpipe")
                and any(p.startswith("_") for p in a.name.split("."))
            ]
    return found


@pytest.mark.parametrize("folder", ["scripts", "bench", "devtools", "lambdas"])
def test_scripts_import_no_private_name_of_fuelpipe(folder: str) -> None:
    scripts = sorted((ROOT / folder).rglob("*.py"))
    assert scripts
    private = {str(p.relative_to(ROOT)): _private_imports(p) for p in scripts}
    assert {p: names for p, names in private.items() if names} == {}
