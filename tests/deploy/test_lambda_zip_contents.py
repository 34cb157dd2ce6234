"""Every Lambda zip `make package` builds holds the runtime and no dev tooling.

The zips are built by scripts/package_lambdas.py (what `make package` runs) without the
dependencies (no network); each is listed, checked against what a Lambda must never carry, and
its handler is imported from the unpacked zip alone, so nothing it needs was left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

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
    "fuelpipe/__main__.py",
)
RUNTIME = (
    "handler.py",
    "fuelpipe/domain/keys.py",
    "fuelpipe/ports/store.py",
    "fuelpipe/stages/context.py",
    "fuelpipe/adapters/dynamodb_store.py",
    "fuelpipe/homes/aws.py",
)


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("lambdas")
    script = REPO_ROOT / "scripts" / "package_lambdas.py"
    subprocess.run(
        [sys.executable, str(script), "--no-deps", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return {name: out / f"{name}.zip" for name in FUNCTIONS}


def listing(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return sorted(zf.namelist())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_zip_holds_the_runtime_and_no_dev_tooling(zips, function: str) -> None:
    names = listing(zips[function])
    assert [n for n in names if n.startswith(DEV_TOOLING)] == []
    assert [n for n in names if Path(n).stem in ("builder", "synthetic", "moto_serial")] == []
    assert [n for n in RUNTIME if n not in names] == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_handler_imports_from_the_unpacked_zip_alone(zips, function: str, tmp_path) -> None:
    with zipfile.ZipFile(zips[function]) as zf:
        zf.extractall(tmp_path)
    probe = (
        "import json, sys; import handler, fuelpipe; "
        "print(json.dumps({'fuelpipe': fuelpipe.__file__, 'modules': sorted(sys.modules)}))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "fuelpipe",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert Path(loaded["fuelpipe"]).is_relative_to(tmp_path)
    assert [
        m for m in loaded["modules"] if m.startswith(("devtools", "tests", "fuelpipe.replay"))
    ] == []
