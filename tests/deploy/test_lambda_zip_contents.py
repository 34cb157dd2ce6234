"""Every Lambda zip `make package` builds holds the runtime and no dev tooling.

The zips are built by scripts/package_lambdas.py (what `make package` runs) without the
dependencies (no network); each is listed, checked against what a Lambda must never carry, and
its handler is imported from the unpacked zip alone, so nothing it needs was left out. Built for
the running Python's version, the zip carries the bytecode the handler imports from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from fuelpipe.deploy.plan import discover_functions

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = discover_functions(REPO_ROOT)

DEV_TOOLING = (
    "devtools/",  # snapshot builder, synthetic data, local AWS servers, chaos harness
    "tests/",
    "bench/",
    "scripts/",
    "fuelpipe/replay/",  # the demo's offline stand-in for the sources, and its data
    "fuelpipe/cli/",
    "fuelpipe/deploy/",  # packaging, planning and applying a deploy: git and pip, not a Lambda's
    "fuelpipe/__main__.py",  # `python -m fuelpipe`: the command line
)
RUNTIME = (
    "handler.py",
    "fuelpipe/domain/keys.py",
    "fuelpipe/ports/store.py",
    "fuelpipe/stages/context.py",
    "fuelpipe/adapters/dynamodb_store.py",
    "fuelpipe/homes/aws.py",
)


def package(out: Path, *args: str) -> dict[str, Path]:
    script = REPO_ROOT / "scripts" / "package_lambdas.py"
    subprocess.run(
        [sys.executable, str(script), "--no-deps", "--out", str(out), *args],
        check=True,
        capture_output=True,
    )
    return {name: out / f"{name}.zip" for name in FUNCTIONS}


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return package(tmp_path_factory.mktemp("lambdas"))


@pytest.fixture(scope="module")
def compiled_zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    return package(tmp_path_factory.mktemp("compiled"), "--python-version", running)


BYTECODE_VARIABLES = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
"""Where the child reads and writes bytecode: set by the test alone, never inherited."""


def listing(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return sorted(zf.namelist())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_zip_holds_the_runtime_and_no_dev_tooling(zips, function: str) -> None:
    names = listing(zips[function])
    assert [n for n in names if n.startswith(DEV_TOOLING)] == []
    assert [n for n in names if Path(n).stem in ("builder", "synthetic", "moto_serial")] == []
    assert [n for n in RUNTIME if n not in names] == []


def import_handler(folder: Path, *, write_bytecode: bool = False) -> dict[str, Any]:
    """Import the handler unpacked in ``folder`` in a fresh interpreter: fuelpipe's file, the
    modules loaded and whether it could write bytecode. It writes none unless
    ``write_bytecode``: then, as Python does by default, a module it compiles from a source
    leaves its pyc in the ``__pycache__`` beside that source (this machine's environment sets
    PYTHONDONTWRITEBYTECODE; a PYTHONPYCACHEPREFIX would make it ignore those of the zip)."""
    probe = (
        "import json, sys; import handler, fuelpipe; "
        "print(json.dumps({'fuelpipe': fuelpipe.__file__, 'modules': sorted(sys.modules), "
        "'writes': not sys.dont_write_bytecode, 'prefix': sys.pycache_prefix}))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in BYTECODE_VARIABLES},
        "PYTHONPATH": str(folder),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "fuelpipe",
    }
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_handler_imports_from_the_unpacked_zip_alone(zips, function: str, tmp_path) -> None:
    with zipfile.ZipFile(zips[function]) as zf:
        zf.extractall(tmp_path)
    loaded = import_handler(tmp_path)
    assert Path(loaded["fuelpipe"]).is_relative_to(tmp_path)
    assert [
        m for m in loaded["modules"] if m.startswith(("devtools", "tests", "fuelpipe.replay"))
    ] == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_handler_imports_the_bytecode_in_the_zip_without_reading_a_source(
    compiled_zips, function: str, tmp_path
) -> None:
    """Every source unpacked is replaced by a module that raises: the import succeeds only if
    each module of the zip it loads comes from its pyc, as the read-only /var/task needs. The
    interpreter may write bytecode, and writes none beside them: no module of the zip was
    compiled from its source, not even one whose ImportError some code would swallow."""
    with zipfile.ZipFile(compiled_zips[function]) as zf:
        zf.extractall(tmp_path)
        packed = sorted(zf.namelist())
    sources = sorted(tmp_path.rglob("*.py"))
    for source in sources:
        source.write_text(f"raise ImportError('compiled from source: {source.name}')\n")
    pycs = {pyc: pyc.read_bytes() for pyc in tmp_path.rglob("*.pyc")}

    loaded = import_handler(tmp_path, write_bytecode=True)

    assert (loaded["writes"], loaded["prefix"]) == (True, None)  # a compile would leave its pyc
    assert Path(loaded["fuelpipe"]).is_relative_to(tmp_path)
    assert {"handler", "fuelpipe.domain.keys", "fuelpipe.homes.aws"} <= set(loaded["modules"])
    assert len(sources) > 100
    unpacked = sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    )
    assert unpacked == packed  # nothing written beside them: every module came from its pyc
    assert [pyc for pyc, code in pycs.items() if pyc.read_bytes() != code] == []  # none rewritten
