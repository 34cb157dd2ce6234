"""The architecture's import rules, run by `make test` (here) and `make lint` (lint-imports).

The contracts live in pyproject.toml (``[tool.importlinter]``): stages never import a home, an
adapter or an entry point; the domain imports nothing else of fuelpipe; the runtime package never
imports dev tooling or tests; nothing outside tests/ imports tests. Two rules import-linter cannot
state are checked here: the domain's third-party imports are a short allow-list, and files that
are not in a package (the Lambda handlers, scripts run as files) do not import tests either.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]

DOMAIN_THIRD_PARTY = {
    "dateutil": "Easter, for PTAX's Ash Wednesday times (domain/publication.py)",
    "pydantic": "the download message schema, validated where it is defined (domain/messages.py)",
}
"""Beyond the standard library, what the pure domain may import, each with its reason."""

_IMPORTS_TESTS = re.compile(
    r"^\s*(from\s+tests[.\s]|import\s+tests\b)"  # an import statement
    r"|[\"']from tests\.|[\"']-m[\"'],\s*[\"']tests\.",  # code run in a subprocess
    re.MULTILINE,
)
_OUTSIDE_TESTS = ("src", "devtools", "scripts", "bench", "lambdas", "infra", "docs")


def test_import_linter_contracts_are_kept(tmp_path: Path) -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--cache-dir", str(tmp_path)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _domain_imports() -> dict[str, set[str]]:
    graph = grimp.build_graph("fuelpipe", include_external_packages=True)
    modules = {"fuelpipe.domain", *graph.find_descendants("fuelpipe.domain")}
    return {m: graph.find_modules_directly_imported_by(m) for m in modules}


def domain_violations(imports: dict[str, set[str]]) -> list[str]:
    """``importer -> imported`` for every domain import outside the domain and its allow-list."""
    bad = []
    for importer, imported in sorted(imports.items()):
        for name in sorted(imported):
            top = name.split(".")[0]
            inside = name == "fuelpipe.domain" or name.startswith("fuelpipe.domain.")
            if not (inside or top in sys.stdlib_module_names or top in DOMAIN_THIRD_PARTY):
                bad.append(f"{importer} -> {name}")
    return bad


def test_the_domain_imports_only_itself_the_stdlib_and_its_calendar_and_schema_libraries() -> None:
    assert domain_violations(_domain_imports()) == []


def test_the_domain_rule_catches_an_adapter_a_port_and_an_http_client() -> None:
    fake = {"fuelpipe.domain.gaps": {"fuelpipe.adapters", "fuelpipe.ports.store", "httpx", "re"}}
    assert domain_violations(fake) == [
        "fuelpipe.domain.gaps -> fuelpipe.adapters",
        "fuelpipe.domain.gaps -> fuelpipe.ports.store",
        "fuelpipe.domain.gaps -> httpx",
    ]


def files_importing_tests(root: Path) -> list[str]:
    """Python files under the given top-level folders that import tests.* (or run it)."""
    found = []
    for folder in _OUTSIDE_TESTS:
        for path in sorted((root / folder).rglob("*.py")):
            if _IMPORTS_TESTS.search(path.read_text(encoding="utf-8")):
                found.append(str(path.relative_to(root)))
    return sorted(found)


def test_nothing_outside_tests_imports_tests() -> None:
    assert files_importing_tests(ROOT) == []


def test_the_tests_rule_catches_imports_and_subprocess_modules(tmp_path: Path) -> None:
    (tmp_path / "lambdas" / "x").mkdir(parents=True)
    (tmp_path / "lambdas" / "x" / "handler.py").write_text("from tests.support import y\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.py").write_text('cmd = [python, "-m", "tests.reliability.p"]\n')
    (tmp_path / "scripts" / "ok.py").write_text("# the tests folder is not imported here\n")
    assert files_importing_tests(tmp_path) == ["lambdas/x/handler.py", "scripts/run.py"]
