"""The committed repository reads nothing outside its checkout, nor cites a note kept there.

A fresh clone of the committed HEAD is searched, so an untracked file in the working tree can
neither hide nor cause a hit. Any path that leaves the checkout fails: the old data folder
beside it (one level up), or ``Path(__file__)...parents[N]`` / ``.parent`` chains climbing above the root.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Built from pieces, so this file does not match itself.
_OUTSIDE = re.compile(
    "|".join(
        re.escape(s)
        for s in ("../" + "shared", "shared" + "/data", "/work/" + "shared", "SHARED" + "_DATA")
    )
)
# The reference notes kept beside the checkout (not in it): a citation of one points a reader at
# a file a clone does not have; docs/SOURCE_FORMATS.md holds what the project relies on.
_NOTES = re.compile(
    "|".join(
        re.escape(s)
        for s in (
            "source" + "-formats",
            "publication" + "-and-stations",
            "local" + "-tooling",
            "calendars" + ".md",
            "style" + ".md",
        )
    )
)
# `NAME = Path(__file__).resolve().parent...` and uses of NAME further down the same file.
_ANCHOR = re.compile(
    r"(?:\b(?P<name>[A-Z_][A-Za-z0-9_]*)\s*(?::\s*Path)?\s*=\s*)?Path\(__file__\)"
    r"(?:\.resolve\(\)|\.absolute\(\))?(?P<chain>(?:\.parent\b|\.parents\[\d+\])*)"
    r"(?P<more>\s*/)?"  # `... / "scripts" / "x.py"` names a file, not a folder to climb from
)
_CHAIN = re.compile(r"\.parent\b|\.parents\[(\d+)\]")


def _climb(chain: str) -> int:
    """How many folders a `.parent` / `.parents[N]` chain goes up."""
    return sum(int(m.group(1)) + 1 if m.group(1) else 1 for m in _CHAIN.finditer(chain))


def leaks(rel: str, text: str) -> Iterator[str]:
    """Every place in one tracked file that names a path outside the checkout."""
    root = rel.count("/") + 1  # how many `.parent` steps lead from the file to the root
    for match in _OUTSIDE.finditer(text):
        yield f"{rel}: {match.group(0)!r}"
    for match in _NOTES.finditer(text):
        yield f"{rel}: cites {match.group(0)!r}, a note outside the checkout"
    for match in _ANCHOR.finditer(text):
        up = _climb(match.group("chain"))
        if up > root:
            yield f"{rel}: {match.group(0)!r} climbs {up - root} above the root"
        name = match.group("name")
        if name is None or match.group("more"):
            continue
        use = re.compile(rf"\b{re.escape(name)}(?P<chain>(?:\.parent\b|\.parents\[\d+\])+)")
        for again in use.finditer(text):
            total = up + _climb(again.group("chain"))
            if total > root:
                yield f"{rel}: {name}{again.group('chain')} climbs {total - root} above the root"


def test_the_checker_sees_each_way_out() -> None:
    assert list(leaks("tests/a/b.py", 'X = Path(__file__).resolve().parents[3]\nY = X / "d"'))
    assert list(leaks("tests/a/b.py", "HERE = Path(__file__).resolve().parent\nHERE.parents[2]"))
    assert list(leaks("tests/b.py", "ROOT = Path(__file__).parents[1]\nROOT.parent / 'x'"))
    assert list(leaks("Makefile", "DATA ?= " + ".." + "/sha" + "red/data"))
    assert list(leaks("README.md", "as quoted (" + "source-formats" + ".md §3a)"))
    assert list(leaks("src/a.py", "unconfirmed (" + "publication-and-stations" + " notes)"))
    assert not list(leaks("README.md", "see docs/SOURCE_FORMATS.md and docs/CALENDARS.md"))
    assert not list(leaks("tests/a/b.py", "ROOT = Path(__file__).resolve().parents[2]"))
    assert not list(leaks("tests/a/b.py", "HERE = Path(__file__).parent\nHERE.parents[1]"))
    assert not list(
        leaks("tests/b.py", 'F = Path(__file__).parents[1] / "s" / "f.py"\nF.parents[1]')
    )


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of the repository at the working checkout's committed HEAD."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    target = tmp_path_factory.mktemp("clone") / "repo"
    git = ["git", "-c", "advice.detachedHead=false"]
    subprocess.run([*git, "clone", "-q", "--no-checkout", str(ROOT), str(target)], check=True)
    # HEAD may be detached (CI checks out a merge commit, on no branch): fetch it by name.
    subprocess.run([*git, "-C", str(target), "fetch", "-q", str(ROOT), "HEAD"], check=True)
    subprocess.run([*git, "-C", str(target), "checkout", "-q", "FETCH_HEAD"], check=True)
    checked_out = subprocess.run(
        ["git", "-C", str(target), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert checked_out == head
    return target


def test_no_tracked_file_reads_outside_the_checkout(clone: Path) -> None:
    listed = subprocess.run(
        ["git", "-C", str(clone), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    found: list[str] = []
    for rel in filter(None, listed.split("\0")):
        if rel == SELF:
            continue  # this file spells the patterns out to test the checker
        raw = (clone / rel).read_bytes()
        if b"\0" in raw[:8192]:
            continue  # binary (workbooks, Parquet, images)
        found += leaks(rel, raw.decode("utf-8", errors="replace"))
    assert found == [], "\n".join(found)


def test_the_clone_has_the_real_data_the_tests_read(clone: Path) -> None:
    assert (clone / "datasets" / "MANIFEST.md").is_file()
    assert (clone / "src" / "fuelpipe" / "replay" / "snapshot" / "NOTICE.md").is_file()


def test_no_tracked_link_points_outside_the_checkout(clone: Path) -> None:
    # A helper's worktree once committed its `.venv` and `node_modules` links to another
    # checkout's folders: a fresh clone then had neither, and `make` built nothing there.
    staged = subprocess.run(
        ["git", "-C", str(clone), "ls-files", "-s", "-z"], capture_output=True, check=True
    ).stdout.decode()
    links = [entry.split("\t", 1)[1] for entry in staged.split("\0") if entry.startswith("120000")]
    outside = [rel for rel in links if not (clone / rel).resolve().is_relative_to(clone.resolve())]
    assert outside == [], outside
