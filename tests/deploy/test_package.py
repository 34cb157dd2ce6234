"""Reproducible Lambda zips: layout, exclusions, fixed metadata, locked dependencies."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fuelpipe.deploy.package import (
    MAX_UNZIPPED_BYTES,
    ZIP_LIST,
    _check_lean,
    build_all,
    build_function_zip,
    bytecode_choice,
    check_unzipped,
    check_zips,
    code_sha256,
    fuelpipe_files,
    handler_files,
    installed,
    runtime_only,
    write_zip_list,
)
from fuelpipe.deploy.plan import discover_functions
from fuelpipe.deploy.target import LambdaTarget, PackagingError, read_target, requirements_for

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
OTHER = f"{sys.version_info.major}.{sys.version_info.minor + 1}"
TAG = sys.implementation.cache_tag


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def wheel(name: str, module: str) -> dict[str, str]:
    """What pip installs for one distribution: its module and a dist-info with METADATA (the
    one installed in this environment, so the real Requires-Dist) and RECORD."""
    info = f"{name.replace('-', '_')}-1.0.dist-info"
    text = importlib.metadata.distribution(name).read_text("METADATA") or ""
    record = f"{module},sha256=x,1\n{info}/METADATA,,\n{info}/RECORD,,\n"
    return {module: "", f"{info}/METADATA": text, f"{info}/RECORD": record}


# The AWS SDK's packages and those that share its dependencies in the real locks.
SDK_AND_NEIGHBOURS = {
    **wheel("boto3", "boto3/__init__.py"),
    **wheel("botocore", "botocore/__init__.py"),
    **wheel("s3transfer", "s3transfer/__init__.py"),
    **wheel("urllib3", "urllib3/__init__.py"),
    **wheel("jmespath", "jmespath/__init__.py"),
    **wheel("python-dateutil", "dateutil/__init__.py"),
    **wheel("six", "six.py"),
    **wheel("aws-lambda-powertools", "aws_lambda_powertools/__init__.py"),
    **wheel("holidays", "holidays/__init__.py"),
}


class FakePip:
    """Stands in for ``pip install --target``: records the command, writes the given files."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.commands: list[list[str]] = []

    def __call__(self, command) -> None:
        self.commands.append(list(command))
        target = Path(command[command.index("--target") + 1])
        for rel, text in self.files.items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_text(text)


def test_a_lean_zip_holds_the_handler_and_fuelpipe_without_data_static_tests_or_bytecode(
    project, tmp_path
) -> None:
    repo, _ = project

    built = build_function_zip(repo.root, "scraper", tmp_path / "out")

    listed = names(built.path)
    assert "handler.py" in listed  # the folder's files sit at the root: Handler handler.<fn>
    assert {"fuelpipe/__init__.py", "fuelpipe/domain/keys.py", "fuelpipe/dashboard/app.py"} <= set(
        listed
    )
    assert not [n for n in listed if n.startswith("fuelpipe/replay/snapshot/")]
    assert not [n for n in listed if n.startswith("fuelpipe/dashboard/static/")]
    assert not [n for n in listed if n.startswith("fuelpipe/tests/")]
    assert not [n for n in listed if "__pycache__" in n or n.endswith(".pyc")]
    assert built.entries == len(listed)


def test_the_dashboard_zip_also_ships_the_static_files(project, tmp_path) -> None:
    repo, _ = project

    listed = names(build_function_zip(repo.root, "dashboard_api", tmp_path).path)

    assert "fuelpipe/dashboard/static/app.js" in listed
    assert "fuelpipe/replay/snapshot/bcb.json" not in listed


def test_entries_are_sorted_dated_1980_and_rw_r__r__(project, tmp_path) -> None:
    repo, _ = project

    built = build_function_zip(repo.root, "scraper", tmp_path)

    with zipfile.ZipFile(built.path) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_packaging_twice_gives_byte_identical_zips_whatever_the_mtimes_and_modes(
    project, tmp_path
) -> None:
    repo, _ = project
    first = build_function_zip(repo.root, "scraper", tmp_path / "first")
    for path in repo.root.rglob("*.py"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
        path.chmod(0o755)

    second = build_function_zip(repo.root, "scraper", tmp_path / "second")

    data = first.path.read_bytes()
    assert data == second.path.read_bytes()
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert first.code_sha256 == second.code_sha256 == expected


def test_a_change_in_the_handler_changes_the_zip(project, tmp_path) -> None:
    repo, _ = project
    before = build_function_zip(repo.root, "scraper", tmp_path / "a")
    repo.write("lambdas/scraper/handler.py", "def handler(event, context):\n    return 'v2'\n")

    after = build_function_zip(repo.root, "scraper", tmp_path / "b")

    assert after.code_sha256 != before.code_sha256


def test_dependencies_come_from_the_lock_for_the_templates_runtime(project, tmp_path) -> None:
    repo, _ = project
    repo.write(
        "infra/template.yaml",
        "Globals:\n  Function:\n    Runtime: python3.12\n    Architectures: [arm64]\n",
    )
    pip = FakePip(
        {
            "bizdays/__init__.py": "CAL = 'ANBIMA'\n",
            "bizdays-1.0.19.dist-info/METADATA": "Name: bizdays\n",
            "bin/some-console-script": "#!/bin/sh\n",
            "share/jupyter/labextensions/x.json": "{}",
            **SDK_AND_NEIGHBOURS,
            "bizdays/__pycache__/x.cpython-312.pyc": "bytecode",
        }
    )

    [built] = build_all(repo.root, tmp_path / "out", ["scraper"], run=pip)

    [command] = pip.commands
    lock = str(repo.root / "requirements" / "lambda-core.txt")
    assert command[command.index("-r") + 1] == lock
    assert {"--no-deps", "--require-hashes", "--no-compile", "--only-binary=:all:"} <= set(command)
    assert command[command.index("--python-version") + 1] == "3.12"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == ["manylinux2014_aarch64", "manylinux_2_28_aarch64"]
    listed = names(built.path)
    assert {"bizdays/__init__.py", "bizdays-1.0.19.dist-info/METADATA"} <= set(listed)
    assert not [n for n in listed if n.startswith(("bin/", "share/"))]
    assert "bizdays/__pycache__/x.cpython-312.pyc" not in listed  # pip's bytecode, none of ours
    # the Lambda runtime provides the AWS SDK, and with it what only the SDK needs
    assert not [n for n in listed if n.startswith(("boto3", "botocore", "s3transfer", "urllib3"))]
    # what another shipped package needs stays, by its metadata: powertools needs jmespath,
    # holidays python-dateutil, which needs six
    assert {"jmespath/__init__.py", "dateutil/__init__.py", "six.py"} <= set(listed)
    assert {"aws_lambda_powertools/__init__.py", "holidays/__init__.py"} <= set(listed)


def test_only_what_nothing_shipped_needs_is_left_out_with_the_sdk(tmp_path) -> None:
    FakePip(SDK_AND_NEIGHBOURS)(["pip", "--target", str(tmp_path)])
    dists = installed(tmp_path)
    assert runtime_only(dists) == {"boto3", "botocore", "s3transfer", "urllib3"}
    del dists["aws-lambda-powertools"], dists["holidays"]  # a lock without them
    assert runtime_only(dists) == {
        "boto3", "botocore", "s3transfer", "urllib3", "jmespath", "python-dateutil", "six",
    }  # fmt: skip
    assert "urllib3" not in runtime_only(dists, ["urllib3"])  # the function asks for it itself


def test_a_shipped_package_that_needs_a_left_out_one_is_refused(tmp_path) -> None:
    FakePip(SDK_AND_NEIGHBOURS)(["pip", "--target", str(tmp_path)])
    dists = installed(tmp_path)
    with pytest.raises(PackagingError, match="holidays needs python-dateutil, left out"):
        _check_lean("scraper", [], set(), dists, {"boto3", "botocore", "python-dateutil"})
    _check_lean("scraper", [], set(), dists, runtime_only(dists))


def test_a_function_that_lists_an_sdk_dependency_keeps_it(project, tmp_path) -> None:
    repo, _ = project
    repo.write("lambdas/scraper/requirements.txt", "urllib3==2.8.0\n")
    repo.write("requirements/lambda-scraper.txt", "urllib3==2.8.0 \\\n    --hash=sha256:00\n")

    [built] = build_all(repo.root, tmp_path, ["scraper"], run=FakePip(SDK_AND_NEIGHBOURS))

    listed = names(built.path)
    assert "urllib3/__init__.py" in listed
    assert not [n for n in listed if n.startswith(("boto3", "botocore", "s3transfer"))]


def test_each_lock_is_installed_once_and_a_function_lock_wins(project, tmp_path) -> None:
    repo, _ = project
    repo.write("requirements/lambda-dashboard_api.txt", "# dashboard lock\n")
    pip = FakePip({"six.py": "# six\n"})

    built = build_all(
        repo.root,
        tmp_path,
        ["dashboard_api", "data_clustering", "retry_recheck", "scraper"],
        lambda_target=LambdaTarget("3.11", "x86_64"),
        run=pip,
    )

    locks = [Path(c[c.index("-r") + 1]).name for c in pip.commands]
    assert locks == ["lambda-dashboard_api.txt", "lambda-core.txt"]
    assert all("six.py" in names(b.path) for b in built)
    assert pip.commands[0].count("--platform") == 1  # python3.11 runs on Amazon Linux 2


def test_a_lean_function_refuses_pandas_and_numpy(project, tmp_path) -> None:
    repo, _ = project
    pip = FakePip({"pandas/__init__.py": "", "numpy/__init__.py": ""})

    with pytest.raises(PackagingError, match="numpy, pandas"):
        build_all(repo.root, tmp_path, ["retry_recheck"], run=pip)


@pytest.mark.parametrize("function", ["data_clustering", "retry_recheck"])
def test_a_lean_function_refuses_the_lake_and_frames_packages(project, tmp_path, function) -> None:
    """polars, DuckDB and pyarrow (the `lake` and `frames` extras) are tens of MB each and no
    Lambda imports them: a lock that pulled one in is refused like pandas, not shipped."""
    repo, _ = project
    pip = FakePip({"polars/__init__.py": "", "duckdb/__init__.py": "", "pyarrow/__init__.py": ""})

    with pytest.raises(PackagingError, match="duckdb, polars, pyarrow"):
        build_all(repo.root, tmp_path, [function], run=pip)


class SparsePip(FakePip):
    """``FakePip`` that also installs sparse files of given sizes: Lambda's 250 MiB without
    the disk or the memory (packaging must refuse them before it reads any)."""

    def __init__(self, files: dict[str, str], sparse: dict[str, int]) -> None:
        super().__init__(files)
        self.sparse = sparse

    def __call__(self, command) -> None:
        super().__call__(command)
        target = Path(command[command.index("--target") + 1])
        for rel, size in self.sparse.items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            with (target / rel).open("wb") as f:
                f.truncate(size)


def sparse_file(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def test_code_over_lambdas_250_mib_unzipped_is_refused_before_a_zip_is_written(
    project, tmp_path
) -> None:
    """A zip over Lambda's unzipped limit deploys nowhere: packaging names the function, the
    size and what takes the room (polars' runtime and DuckDB are ~230 MB of it for arm64)."""
    repo, _ = project
    pip = SparsePip(
        {"six.py": "# six\n"},
        {"_polars_runtime_32/polars.abi3.so": 180_000_000, "_duckdb.abi3.so": 90_000_000},
    )

    with pytest.raises(PackagingError) as refused:
        build_all(repo.root, tmp_path, ["scraper"], run=pip, bytecode=False)

    assert str(refused.value).startswith("scraper: 270.0 MB unzipped, over Lambda's 262.1 MB")
    assert "biggest: _polars_runtime_32 180.0 MB, _duckdb.abi3.so 90.0 MB, " in str(refused.value)
    assert not (tmp_path / "scraper.zip").exists()


def test_the_unzipped_limit_is_lambdas_250_mib_to_the_byte(tmp_path) -> None:
    at_limit = {"big.so": sparse_file(tmp_path / "a.so", MAX_UNZIPPED_BYTES)}
    over = {**at_limit, "handler.py": sparse_file(tmp_path / "handler.py", 1)}

    assert MAX_UNZIPPED_BYTES == 250 * 1024 * 1024
    check_unzipped("outlook", at_limit)  # at the limit: packed
    with pytest.raises(PackagingError, match=r"^outlook: 262\.1 MB unzipped"):
        check_unzipped("outlook", over)


def test_bytecode_counts_towards_the_unzipped_limit(project, tmp_path) -> None:
    """Code that fits as sources alone but not with its pycs is refused when bytecode is
    compiled (the deploy workflow compiles it): what Lambda unpacks holds both."""
    repo, _ = project
    own = handler_files(repo.root / "lambdas" / "scraper")
    own |= fuelpipe_files(repo.root / "src" / "fuelpipe", "scraper")
    room = MAX_UNZIPPED_BYTES - sum(p.stat().st_size for p in own.values()) - len("# six\n")
    pip = SparsePip({"six.py": "# six\n"}, {"_runtime/lib.so": room})

    with pytest.raises(PackagingError, match=r"^scraper: 262\.1 MB unzipped, over"):
        build_all(
            repo.root, tmp_path, ["scraper"], run=pip, bytecode=True,
            lambda_target=LambdaTarget(RUNNING, "arm64"),
        )  # fmt: skip
    assert not (tmp_path / "scraper.zip").exists()


def test_a_function_that_asks_for_numpy_may_bring_numpy_but_not_pandas(project, tmp_path) -> None:
    repo, _ = project
    repo.write("lambdas/dashboard_api/requirements.txt", "numpy==2.4.6\nplotly==7.1.0\n")
    repo.write(
        "requirements/lambda-dashboard_api.txt",
        "numpy==2.4.6 \\\n    --hash=sha256:00\nplotly==7.1.0 \\\n    --hash=sha256:11\n",
    )

    [built] = build_all(repo.root, tmp_path, ["dashboard_api"], run=FakePip({"numpy/x.py": ""}))

    assert "numpy/x.py" in names(built.path)
    with pytest.raises(PackagingError, match="pandas"):
        build_all(repo.root, tmp_path, ["dashboard_api"], run=FakePip({"pandas/x.py": ""}))


def test_a_function_list_uses_its_own_lock(project, tmp_path) -> None:
    repo, _ = project
    repo.write("lambdas/scraper/requirements.txt", "# scraper needs\nhttpx==0.28.1\n")
    repo.write("requirements/lambda-scraper.txt", "httpx==0.28.1 \\\n    --hash=sha256:00\n")
    pip = FakePip({"httpx/__init__.py": ""})

    build_all(repo.root, tmp_path, ["scraper", "retry_recheck"], run=pip)

    locks = [Path(c[c.index("-r") + 1]).name for c in pip.commands]
    assert locks == ["lambda-scraper.txt", "lambda-core.txt"]


def test_a_function_list_without_its_lock_or_with_a_stale_one_is_an_error(
    project, tmp_path
) -> None:
    repo, _ = project
    repo.write("lambdas/scraper/requirements.txt", "httpx==0.28.1\nstamina==26.1.0\n")

    with pytest.raises(PackagingError, match=r"run scripts/lock\.sh"):
        build_all(repo.root, tmp_path, ["scraper"], run=FakePip({}))
    repo.write("requirements/lambda-scraper.txt", "httpx==0.28.0 \\\n    --hash=sha256:00\n")
    with pytest.raises(PackagingError, match=re.escape("httpx==0.28.1, stamina==26.1.0")):
        build_all(repo.root, tmp_path, ["scraper"], run=FakePip({}))


def test_the_real_function_lists_are_locked() -> None:
    for name in discover_functions(REPO_ROOT):
        lock = requirements_for(REPO_ROOT, name)
        assert lock.is_file(), name
        if (REPO_ROOT / "lambdas" / name / "requirements.txt").is_file():
            assert lock.name == f"lambda-{name}.txt"


def test_the_real_locks_pin_no_heavy_package_their_function_does_not_ask_for() -> None:
    """What `make package` would refuse, caught offline: the real locks (data_clustering's,
    retry_recheck's, ...) pin none of pandas, numpy, polars, DuckDB or pyarrow unless the
    function's own list asks for it (numpy: dashboard_api and outlook)."""
    from fuelpipe.deploy.target import LEAN_FORBIDDEN, forbidden_for, pins

    assert {"polars", "duckdb", "pyarrow"} <= set(LEAN_FORBIDDEN)
    heavy = {
        name: sorted(set(pins(requirements_for(REPO_ROOT, name).read_text())) & forbidden)
        for name in discover_functions(REPO_ROOT)
        if (forbidden := forbidden_for(REPO_ROOT, name))
    }
    assert {"data_clustering", "retry_recheck"} <= heavy.keys()
    assert not any(heavy.values()), heavy


def test_a_missing_function_folder_is_an_error(project, tmp_path) -> None:
    repo, _ = project

    with pytest.raises(PackagingError, match="no folder"):
        build_function_zip(repo.root, "nonexistent", tmp_path)


def test_the_target_defaults_without_a_template(tmp_path) -> None:
    assert read_target(tmp_path) == LambdaTarget("3.11", "x86_64")
    assert LambdaTarget("3.11", "x86_64").platforms == ["manylinux2014_x86_64"]


def test_the_real_fuelpipe_package_packs_reproducibly(tmp_path) -> None:
    root = tmp_path / "root"
    (root / "lambdas" / "probe").mkdir(parents=True)
    (root / "lambdas" / "probe" / "handler.py").write_text("def handler(e, c):\n    return 1\n")
    (root / "src").symlink_to(REPO_ROOT / "src")

    first = build_function_zip(root, "probe", tmp_path / "a")
    second = build_function_zip(root, "probe", tmp_path / "b")

    assert first.path.read_bytes() == second.path.read_bytes()
    listed = names(first.path)
    assert "fuelpipe/__init__.py" in listed
    assert "fuelpipe/domain/keys.py" in listed
    assert not [n for n in listed if n.startswith("fuelpipe/deploy/")]  # git and pip tooling
    assert not [n for n in listed if n.startswith("fuelpipe/replay/snapshot/")]
    assert not [n for n in listed if n.startswith("fuelpipe/dashboard/static/")]


def test_make_package_without_deps_packs_every_real_function_reproducibly(tmp_path) -> None:
    script = REPO_ROOT / "scripts" / "package_lambdas.py"
    for out in ("a", "b"):
        subprocess.run(
            [sys.executable, str(script), "--no-deps", "--out", str(tmp_path / out)],
            check=True,
            capture_output=True,
        )

    functions = discover_functions(REPO_ROOT)
    assert sorted(p.stem for p in (tmp_path / "a").glob("*.zip")) == sorted(functions)
    for name in functions:
        assert (tmp_path / "a" / f"{name}.zip").read_bytes() == (
            tmp_path / "b" / f"{name}.zip"
        ).read_bytes()
    # beside the zips, their CodeSha256 list, the same for the same build
    digest, found = check_zips(tmp_path / "a", functions)
    assert check_zips(tmp_path / "b", functions, digest) == (digest, found)
    assert found == {n: code_sha256((tmp_path / "a" / f"{n}.zip").read_bytes()) for n in functions}


def test_a_deploy_takes_only_the_zips_that_were_built(project, tmp_path) -> None:
    repo, _ = project
    functions = ["scraper", "retry_recheck"]
    out = tmp_path / "out"
    built = build_all(repo.root, out, functions, with_deps=False)
    write_zip_list(built, out)

    digest, found = check_zips(out, functions)
    assert digest == hashlib.sha256((out / ZIP_LIST).read_bytes()).hexdigest()
    assert found == {b.function: b.code_sha256 for b in built}
    assert check_zips(out, functions, digest) == (digest, found)
    with pytest.raises(PackagingError, match="the build listed " + "0" * 64):
        check_zips(out, functions, "0" * 64)  # another build's list
    with pytest.raises(PackagingError, match="outlook: no zip"):
        check_zips(out, [*functions, "outlook"], digest)
    (out / "scraper.zip").write_bytes((out / "retry_recheck.zip").read_bytes())
    with pytest.raises(PackagingError, match=r"scraper\.zip has CodeSha256 .*, built as "):
        check_zips(out, functions, digest)  # a zip that is not the one built
    (out / ZIP_LIST).unlink()
    with pytest.raises(PackagingError, match=f"no {ZIP_LIST}"):
        check_zips(out, functions)


def pyc_of(listed: list[str], source: str) -> str:
    """Where the runtime looks for ``source``'s bytecode: the normal cache layout."""
    parent, _, stem = source.rpartition("/")
    return f"{parent}/__pycache__/{stem[:-3]}.{TAG}.pyc".lstrip("/")


def test_a_build_for_the_running_python_carries_an_unchecked_hash_pyc_for_every_module(
    project, tmp_path
) -> None:
    repo, _ = project
    pip = FakePip({"bizdays/__init__.py": "CAL = 'ANBIMA'\n", "six.py": "# six\n"})

    [built] = build_all(
        repo.root, tmp_path, ["scraper"], lambda_target=LambdaTarget(RUNNING, "arm64"), run=pip
    )

    with zipfile.ZipFile(built.path) as zf:
        listed = zf.namelist()
        sources = [n for n in listed if n.endswith(".py")]
        assert {"handler.py", "fuelpipe/domain/keys.py", "bizdays/__init__.py", "six.py"} <= set(
            sources
        )
        assert sorted(n for n in listed if n.endswith(".pyc")) == sorted(
            pyc_of(listed, s) for s in sources
        )
        for source in sources:
            pyc = zf.read(pyc_of(listed, source))
            assert pyc[:4] == importlib.util.MAGIC_NUMBER  # this interpreter's bytecode
            assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source not checked
            assert pyc[8:16] == importlib.util.source_hash(zf.read(source))  # of that source
    assert built.bytecode == len(sources) and built.entries == len(listed)
    assert "__pycache__/handler." + TAG + ".pyc" in listed  # beside the handler, at the root


def test_bytecode_is_byte_identical_across_builds_in_processes_with_other_hash_seeds(
    project, tmp_path
) -> None:
    """Separate processes, other hash seeds, other folders: the same zip, a frozenset constant
    (whose order follows the hashes) and every pyc included."""
    repo, _ = project
    words = ", ".join(repr(f"word{i}") for i in range(40))
    repo.write("lambdas/scraper/known.py", f"def known(w):\n    return w in {{{words}}}\n")
    script = (
        "import sys; from pathlib import Path; from fuelpipe.deploy.package import "
        "build_function_zip as b; b(Path(sys.argv[1]), 'scraper', Path(sys.argv[2]), bytecode=True)"
    )
    for out, seed in (("a", "1"), ("b", "2")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script, str(repo.root), str(tmp_path / out)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    first, second = (tmp_path / "a" / "scraper.zip"), (tmp_path / "b" / "scraper.zip")
    assert pyc_of([], "known.py") in names(first)
    assert first.read_bytes() == second.read_bytes()


def test_a_module_that_does_not_compile_ships_as_its_source_and_is_named(project, tmp_path) -> None:
    repo, _ = project
    repo.write("lambdas/scraper/py2.py", "print 'old'\n")

    built = build_function_zip(repo.root, "scraper", tmp_path, bytecode=True)

    listed = names(built.path)
    assert "py2.py" in listed and pyc_of(listed, "py2.py") not in listed
    assert pyc_of(listed, "handler.py") in listed
    assert built.uncompiled == ("py2.py",)


def test_another_runtime_version_gets_no_bytecode_and_the_reason(project, tmp_path) -> None:
    repo, _ = project

    [built] = build_all(
        repo.root, tmp_path, ["scraper"], with_deps=False, lambda_target=LambdaTarget(OTHER)
    )

    assert not [n for n in names(built.path) if n.endswith(".pyc")]
    assert built.bytecode == 0
    choice = bytecode_choice(LambdaTarget(OTHER))
    assert not choice.enabled
    assert choice.note.startswith(
        f"bytecode: skipped, packaging runs python{RUNNING}, the runtime is python{OTHER}"
    )
    with pytest.raises(PackagingError, match=f"runtime is python{OTHER}"):
        build_all(
            repo.root,
            tmp_path,
            ["scraper"],
            with_deps=False,
            lambda_target=LambdaTarget(OTHER),
            bytecode=True,
        )
    assert not bytecode_choice(LambdaTarget(RUNNING), wanted=False).enabled


def package_script(*args: str) -> subprocess.CompletedProcess[str]:
    script = REPO_ROOT / "scripts" / "package_lambdas.py"
    command = [sys.executable, str(script), "--no-deps", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True)


def test_make_package_says_why_it_ships_no_bytecode_and_refuses_bytecode_it_cannot_make(
    tmp_path,
) -> None:
    skipped = package_script("scraper", "--python-version", OTHER, "--out", str(tmp_path / "a"))
    refused = package_script(
        "scraper", "--python-version", OTHER, "--bytecode", "--out", str(tmp_path / "b")
    )
    unwanted = package_script(
        "scraper", "--python-version", RUNNING, "--no-bytecode", "--out", str(tmp_path / "c")
    )

    assert skipped.returncode == 0, skipped.stderr
    expected = f"bytecode: skipped, packaging runs python{RUNNING}, the runtime is python{OTHER}"
    assert skipped.stdout.splitlines()[0].startswith(expected)
    assert not [n for n in names(tmp_path / "a" / "scraper.zip") if n.endswith(".pyc")]
    assert refused.returncode == 2 and f"the runtime is python{OTHER}" in refused.stderr
    assert not (tmp_path / "b").exists()
    assert unwanted.stdout.splitlines()[0] == "bytecode: skipped (--no-bytecode)"
    assert not [n for n in names(tmp_path / "c" / "scraper.zip") if n.endswith(".pyc")]


def test_make_package_for_the_running_python_packs_every_real_function_reproducibly_with_pycs(
    tmp_path,
) -> None:
    for out in ("a", "b"):
        done = package_script("--python-version", RUNNING, "--out", str(tmp_path / out))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"bytecode: {TAG} .pyc")

    functions = discover_functions(REPO_ROOT)
    digest, found = check_zips(tmp_path / "a", functions)
    assert check_zips(tmp_path / "b", functions, digest) == (digest, found)  # same CodeSha256
    for name in functions:
        assert (tmp_path / "a" / f"{name}.zip").read_bytes() == (
            tmp_path / "b" / f"{name}.zip"
        ).read_bytes()
        listed = names(tmp_path / "a" / f"{name}.zip")
        sources = [n for n in listed if n.endswith(".py")]
        assert [s for s in sources if pyc_of(listed, s) not in listed] == []
