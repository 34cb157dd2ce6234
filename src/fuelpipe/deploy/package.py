"""Reproducible Lambda zips: the handler folder, the fuelpipe package and locked dependencies.

The same sources give byte-identical zips: entries sorted, timestamps fixed at 1980-01-01,
permissions fixed, no bytecode from the source tree or pip. Identical zips give identical
CodeSha256 values, so a redeploy of unchanged code is visible as such.

/var/task is read-only, so a module without bytecode in the zip is compiled from source at every
cold start. When the interpreter packaging is the runtime's version (``bytecode_choice``), every
``.py`` is compiled into the zip, in the runtime's ``__pycache__/<mod>.cpython-3XY.pyc`` layout,
as unchecked hash-based pycs: no mtime inside, and the runtime uses them without reading the
source (right for an immutable zip).

Layout of ``build/lambdas/<name>.zip``: the files of ``lambdas/<name>/`` at the root (so a
handler ``lambdas/<name>/handler.py`` is ``handler.lambda_handler``), ``fuelpipe/``, then the
dependencies installed by ``pip install --target`` from the function's lock file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from fuelpipe.deploy.target import (
    LambdaTarget,
    PackagingError,
    forbidden_for,
    normalise,
    pins,
    read_target,
    requirements_for,
)

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Regular file, rw-r--r--: the Lambda runtime only reads these files.
FILE_ATTR = (0o100644 & 0xFFFF) << 16
UNIX_SYSTEM = 3
BYTECODE = frozenset({"__pycache__"})
# Inside fuelpipe: a Lambda never runs the offline replay (the demo's stand-in for the sources,
# with its bundled data), the command line (`cli`, `python -m fuelpipe`) nor the deploy tooling
# (`deploy`: it runs git and pip on the deploying machine), so none of them is packed.
FUELPIPE_EXCLUDED = (
    PurePosixPath("replay"),
    PurePosixPath("cli"),
    PurePosixPath("deploy"),
    PurePosixPath("__main__.py"),  # `python -m fuelpipe`: the CLI, not in a Lambda
    PurePosixPath("tests"),
)
DASHBOARD_STATIC = PurePosixPath("dashboard/static")
# The Lambda Python runtime ships the AWS SDK; bundling it would triple a lean zip (and push the
# dashboard's past the 50 MB direct-upload limit). The locks keep it, so pip-audit still sees it.
# What only the SDK needs (s3transfer, urllib3) is left out with it, found from the installed
# packages' own metadata (runtime_only); what another shipped package also needs stays.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})
# pip --target also writes console scripts (bin/) and data files (share/: Jupyter extensions).
INSTALL_EXTRAS = frozenset({"bin", "share"})
Runner = Callable[[Sequence[str]], None]
# Run by the packaging interpreter in a child with the environment's PYTHON* settings dropped
# (PYTHONOPTIMIZE would strip asserts under the plain pyc name) and PYTHONHASHSEED fixed: a
# frozenset constant (`x in {"a", "b"}`) follows the strings' hashes, and while marshal sorts them
# since 3.11, nothing hash-ordered should reach a pyc. Unchecked hash-based pycs hold no mtime:
# the same source, the same bytes. Reads [source, pyc, name in the zip] triples; prints the
# names that did not compile.
COMPILE_PROGRAM = """\
import json, py_compile, sys
failed = []
for source, cfile, dfile in json.load(sys.stdin):
    try:
        py_compile.compile(source, cfile, dfile, doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        failed.append(dfile)
json.dump(failed, sys.stdout)
"""
MAX_UNZIPPED_BYTES = 262_144_000
"""Lambda's limit on a function's code unzipped (layers included): 250 MiB. A zip over it
deploys nowhere (CloudFormation and UpdateFunctionCode refuse it), so packaging refuses it,
naming what takes the room: polars (its runtime ~167 MB unzipped for arm64) and DuckDB (~63 MB)
together with the pipeline's dependencies and their bytecode come to ~274 MB (measured
2026-12-06, python3.12 on arm64; docs/DEPLOY.md, step 3 after the first deploy)."""
ZIP_LIST = "code-sha256.json"
"""Written beside the zips: each one's CodeSha256 and size as built. The deploy workflow builds
the zips once and every environment checks the zips it is given against this list, and the
list against the digest the build reported, before it uploads any (check_zips)."""


@dataclass(frozen=True)
class BuiltPackage:
    """One zip on disk and the CodeSha256 Lambda will report for it."""

    function: str
    path: Path
    code_sha256: str
    size: int
    entries: int
    bytecode: int = 0
    """How many ``.pyc`` it holds (none when packaging skipped bytecode)."""
    uncompiled: tuple[str, ...] = ()
    """Its ``.py`` files that did not compile (shipped as they are, without bytecode)."""


@dataclass(frozen=True)
class Bytecode:
    """Whether the zips carry bytecode, and the line that says so (or why not)."""

    enabled: bool
    note: str


def _running_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _interpreter() -> str:
    name = sys.implementation.name
    return f"python{_running_version()}" if name == "cpython" else f"{name} {_running_version()}"


def bytecode_choice(target: LambdaTarget, wanted: bool | None = None) -> Bytecode:
    """Compile only for the version that runs the packaging: a pyc of another version is ignored
    by the runtime. ``wanted``: None decides by the versions, False never, True requires them
    to match (PackagingError otherwise)."""
    running, runtime = _running_version(), target.python_version
    if wanted is False:
        return Bytecode(False, "bytecode: skipped (--no-bytecode)")
    if running != runtime or sys.implementation.name != "cpython":
        why = (
            f"packaging runs {_interpreter()}, the runtime is python{runtime}"
            f" (package with python{runtime}, e.g. make package PACKAGE_PYTHON=python{runtime})"
        )
        if wanted:
            raise PackagingError(f"bytecode: cannot compile, {why}")
        return Bytecode(False, f"bytecode: skipped, {why}")
    tag = sys.implementation.cache_tag
    return Bytecode(True, f"bytecode: {tag} .pyc (unchecked hash) for the python{runtime} runtime")


def pyc_name(name: str) -> str:
    """Where the runtime looks for the bytecode of the module at ``name`` in the zip."""
    source = PurePosixPath(name)
    return str(source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc")


def compile_bytecode(entries: dict[str, Path], staging: Path) -> tuple[dict[str, Path], list[str]]:
    """Compile every ``.py`` entry under ``staging``: the pycs by name in the zip, and the names
    of the sources that did not compile. The name in the zip is the code's file name, so the
    pycs do not depend on where the sources sit."""
    jobs = [
        (str(path), str(staging / pyc_name(name)), name)
        for name, path in sorted(entries.items())
        if name.endswith(".py")
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    done = subprocess.run(
        [sys.executable, "-S", "-W", "ignore", "-c", COMPILE_PROGRAM],
        input=json.dumps(jobs),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PackagingError(f"compiling bytecode failed: {done.stderr.strip()}")
    failed = set(json.loads(done.stdout))
    pycs = {pyc_name(name): Path(cfile) for _, cfile, name in jobs if name not in failed}
    return pycs, sorted(failed)


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: base64 of the SHA-256 digest of the zip bytes."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def uses_dashboard(function: str) -> bool:
    """Only the dashboard function ships the dashboard's static files."""
    return function.startswith("dashboard")


def _is_bytecode(rel: PurePosixPath) -> bool:
    return bool(BYTECODE.intersection(rel.parts)) or rel.suffix in {".pyc", ".pyo"}


def collect(base: Path, prefix: str, skip: Callable[[PurePosixPath], bool]) -> dict[str, Path]:
    """Every file under ``base`` as ``{archive name: path}``, minus bytecode and ``skip``."""
    found: dict[str, Path] = {}
    for path in base.rglob("*"):
        if not path.is_file():
            continue
        rel = PurePosixPath(path.relative_to(base).as_posix())
        if _is_bytecode(rel) or skip(rel):
            continue
        found[f"{prefix}{rel}"] = path
    return found


def _under(rel: PurePosixPath, folders: Iterable[PurePosixPath]) -> bool:
    return any(rel == f or rel.is_relative_to(f) for f in folders)


def fuelpipe_files(src: Path, function: str) -> dict[str, Path]:
    """The fuelpipe package as one function needs it."""
    excluded = list(FUELPIPE_EXCLUDED)
    if not uses_dashboard(function):
        excluded.append(DASHBOARD_STATIC)
    return collect(src, "fuelpipe/", lambda rel: _under(rel, excluded))


def handler_files(folder: Path) -> dict[str, Path]:
    """The function's own folder, its tests left out."""
    return collect(folder, "", lambda rel: rel.parts[0] == "tests")


def pip_install(
    requirements: Path,
    target: Path,
    *,
    lambda_target: LambdaTarget,
    run: Runner | None = None,
) -> None:
    """Install a hashed lock into ``target`` for Lambda's platform, each package as pinned."""
    # --no-deps: the lock lists every package already (and leaves out what --excludes names).
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(target), "--no-deps", "--require-hashes", "--no-compile",
        "--only-binary=:all:", "--python-version", lambda_target.python_version,
        "--implementation", "cp", "-r", str(requirements),
    ]  # fmt: skip
    for tag in lambda_target.platforms:
        command += ["--platform", tag]
    (run or _run_checked)(command)


def _run_checked(command: Sequence[str]) -> None:
    subprocess.run(list(command), check=True)


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Distribution:
    """One package ``pip install --target`` installed, from its ``*.dist-info``."""

    name: str
    requires: frozenset[str]
    """The distributions it needs (Requires-Dist, names normalised), those of extras aside."""
    files: frozenset[str]
    """Its files (RECORD) and its dist-info folder's, relative to the target."""


def installed(target: Path) -> dict[str, Distribution]:
    """Every distribution in ``target`` by normalised name, from its METADATA and RECORD."""
    found: dict[str, Distribution] = {}
    for info in sorted(target.glob("*.dist-info")):
        meta = HeaderParser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        requires = set()
        for line in meta.get_all("Requires-Dist") or []:
            requirement, _, marker = line.partition(";")
            match = _REQUIREMENT.match(requirement)
            if match and "extra" not in marker:  # another marker may hold: kept, to be safe
                requires.add(normalise(match.group(1)))
        record = info / "RECORD"
        files = {f"{info.name}/{p.relative_to(info).as_posix()}" for p in info.rglob("*")}
        if record.is_file():
            with record.open(encoding="utf-8", newline="") as rows:
                files.update(PurePosixPath(row[0]).as_posix() for row in csv.reader(rows) if row)
        name = normalise(str(meta["Name"]))
        found[name] = Distribution(name, frozenset(requires), frozenset(files))
    return found


def _needed(start: Iterable[str], dists: dict[str, Distribution], stop: Iterable[str]) -> set[str]:
    """``start`` and everything it needs, transitively, not following into ``stop``."""
    stopped, seen = set(stop), set()
    todo = [n for n in start if n in dists]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in stopped:
            todo.extend(r for r in dists[name].requires if r in dists)
    return seen


def runtime_only(dists: dict[str, Distribution], asked: Iterable[str] = ()) -> set[str]:
    """The distributions to leave out: the runtime's SDK and what only it needs. A package
    another shipped package needs (by its Requires-Dist), or the function asks for, stays."""
    sdk = _needed(RUNTIME_PROVIDED, dists, ())
    others = set(dists) - sdk | {normalise(a) for a in asked}
    kept = _needed(others - RUNTIME_PROVIDED, dists, RUNTIME_PROVIDED)
    return sdk - kept


def dependency_files(target: Path, left_out: Iterable[Distribution] = ()) -> dict[str, Path]:
    """What ``pip install --target`` left, minus scripts, data files and the files of the
    ``left_out`` distributions."""
    dropped = {f for dist in left_out for f in dist.files}

    def skip(rel: PurePosixPath) -> bool:
        return rel.parts[0] in INSTALL_EXTRAS or rel.as_posix() in dropped

    return collect(target, "", skip)


def _check_lean(
    function: str,
    names: Iterable[str],
    forbidden: set[str],
    dists: dict[str, Distribution] | None = None,
    left_out: Iterable[str] = (),
) -> None:
    """Refuse heavy packages the function did not ask for, and a shipped distribution that
    needs a left-out one other than the runtime's SDK itself (which the runtime provides)."""
    tops = {name.split("/", 1)[0] for name in names}
    heavy = sorted(tops & forbidden)
    if heavy:
        raise PackagingError(f"{function}: its lock must not bring in {', '.join(heavy)}")
    dists, out = dists or {}, set(left_out)
    for name in sorted(set(dists) - out):
        lost = sorted(dists[name].requires & out - RUNTIME_PROVIDED)
        if lost:
            raise PackagingError(f"{function}: {name} needs {', '.join(lost)}, left out")


def check_unzipped(
    function: str, entries: dict[str, Path], limit: int = MAX_UNZIPPED_BYTES
) -> None:
    """Refuse, before a zip is written, code whose unzipped size is over Lambda's ``limit``,
    naming the size and the three biggest top-level entries (a package's folder, a module)."""
    sizes = {name: path.stat().st_size for name, path in entries.items()}
    total = sum(sizes.values())
    if total <= limit:
        return
    tops: Counter[str] = Counter()
    for name, size in sizes.items():
        tops[name.split("/", 1)[0]] += size
    biggest = sorted(tops.items(), key=lambda item: (-item[1], item[0]))[:3]
    raise PackagingError(
        f"{function}: {total / 1e6:.1f} MB unzipped, over Lambda's {limit / 1e6:.1f} MB "
        f"({limit / 2**20:g} MiB) for a function's code; biggest: "
        + ", ".join(f"{top} {size / 1e6:.1f} MB" for top, size in biggest)
    )


def write_zip(entries: dict[str, Path], out: Path) -> None:
    """Write a deterministic zip: sorted names, fixed times and modes, written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = UNIX_SYSTEM
                info.external_attr = FILE_ATTR
                zf.writestr(info, entries[name].read_bytes())
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def build_function_zip(
    root: Path,
    function: str,
    out_dir: Path,
    *,
    deps_dir: Path | None = None,
    bytecode: bool = False,
) -> BuiltPackage:
    """Build ``out_dir/<function>.zip`` from its folder, fuelpipe and an installed ``deps_dir``.

    Without ``deps_dir`` only our own code is packed (offline, for tests and quick checks).
    ``bytecode``: with the running interpreter's pycs of every module (``bytecode_choice``).
    """
    folder = root / "lambdas" / function
    if not folder.is_dir():
        raise PackagingError(f"no folder {folder}")
    parts = [handler_files(folder), fuelpipe_files(root / "src" / "fuelpipe", function)]
    if deps_dir is not None:
        dists = installed(deps_dir)
        wanted = folder / "requirements.txt"
        asked = pins(wanted.read_text(encoding="utf-8")) if wanted.is_file() else {}
        left_out = runtime_only(dists, asked)
        deps = dependency_files(deps_dir, [dists[n] for n in left_out])
        _check_lean(function, deps, forbidden_for(root, function), dists, left_out)
        parts.append(deps)
    entries: dict[str, Path] = {}
    for part in parts:
        clash = sorted(entries.keys() & part.keys())
        if clash:
            raise PackagingError(f"{function}: {clash[0]} would be packed twice")
        entries.update(part)
    out = out_dir / f"{function}.zip"
    staging = Path(tempfile.mkdtemp(prefix=f"fuelpipe-pyc-{function}-"))
    try:
        pycs, failed = compile_bytecode(entries, staging) if bytecode else ({}, [])
        check_unzipped(function, entries | pycs)
        write_zip(entries | pycs, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    data = out.read_bytes()
    return BuiltPackage(
        function,
        out,
        code_sha256(data),
        len(data),
        len(entries) + len(pycs),
        len(pycs),
        tuple(failed),
    )


def build_all(
    root: Path,
    out_dir: Path,
    functions: Sequence[str],
    *,
    with_deps: bool = True,
    lambda_target: LambdaTarget | None = None,
    run: Runner | None = None,
    bytecode: bool | None = None,
) -> list[BuiltPackage]:
    """One zip per function, in the order given; each lock is installed once and shared.
    ``bytecode``: as ``bytecode_choice`` decides for the target (None: when the versions match).
    """
    target = lambda_target or read_target(root)
    compiled = bytecode_choice(target, bytecode).enabled
    with tempfile.TemporaryDirectory(prefix="fuelpipe-deps-") as tmp:
        installed: dict[Path, Path] = {}
        built = []
        for name in functions:
            deps_dir = None
            if with_deps:
                lock = requirements_for(root, name)
                if lock not in installed:
                    installed[lock] = Path(tmp) / f"{len(installed)}-{lock.stem}"
                    pip_install(lock, installed[lock], lambda_target=target, run=run)
                deps_dir = installed[lock]
            built.append(
                build_function_zip(root, name, out_dir, deps_dir=deps_dir, bytecode=compiled)
            )
        return built


def write_zip_list(built: Sequence[BuiltPackage], out_dir: Path) -> Path:
    """Write ``out_dir/code-sha256.json``: the built zips' CodeSha256 and size, by function."""
    listed = {b.function: {"code_sha256": b.code_sha256, "size": b.size} for b in built}
    out = out_dir / ZIP_LIST
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(listed, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


def check_zips(
    zip_dir: Path, functions: Iterable[str], list_sha256: str | None = None
) -> tuple[str, dict[str, str]]:
    """Check that ``zip_dir`` holds a zip for each function whose CodeSha256 is the one the
    list beside them gives, and (``list_sha256``) that the list is the one whose SHA-256 (hex)
    the build reported. The list's SHA-256 and each function's CodeSha256; PackagingError for
    a zip missing, unlisted or not as built."""
    path = zip_dir / ZIP_LIST
    if not path.is_file():
        raise PackagingError(f"no {ZIP_LIST} in {zip_dir} (make package writes it)")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if list_sha256 is not None and digest != list_sha256:
        raise PackagingError(f"{path} has SHA-256 {digest}, the build listed {list_sha256}")
    listed = json.loads(data)
    found: dict[str, str] = {}
    for name in functions:
        zip_path = zip_dir / f"{name}.zip"
        if name not in listed or not zip_path.is_file():
            raise PackagingError(f"{name}: no zip in {zip_dir} or none in its {ZIP_LIST}")
        actual, expected = code_sha256(zip_path.read_bytes()), str(listed[name]["code_sha256"])
        if actual != expected:
            raise PackagingError(f"{name}.zip has CodeSha256 {actual}, built as {expected}")
        found[name] = actual
    return digest, found
