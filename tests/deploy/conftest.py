"""Fixtures for the deploy tests: throwaway git repositories and a moto_server on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "fuelpipe tests",
    "GIT_AUTHOR_EMAIL": "tests@fuelpipe.invalid",
    "GIT_COMMITTER_NAME": "fuelpipe tests",
    "GIT_COMMITTER_EMAIL": "tests@fuelpipe.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


class GitRepo:
    """A git repository in a temporary folder, written to and committed by the tests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        """Run git in the repository and return its output."""
        done = subprocess.run(
            ["git", "-C", str(self.root), "-c", "commit.gpgsign=false", *args],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **GIT_ENV},
        )
        return done.stdout.strip()

    def write(self, path: str, text: str) -> Path:
        """Create or overwrite one file."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def commit(self, message: str) -> str:
        """Commit everything in the tree; return the new commit's SHA."""
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def write_fake_project(repo: GitRepo, functions: tuple[str, ...]) -> None:
    """A small tree shaped like fuelpipe: lambdas/<name>/, src/fuelpipe, infra, docs."""
    for name in functions:
        repo.write(
            f"lambdas/{name}/handler.py", f"def handler(event, context):\n    return {name!r}\n"
        )
    repo.write("src/fuelpipe/__init__.py", '"""fake core."""\n')
    repo.write("src/fuelpipe/domain/keys.py", "PARTITION = 'info_type'\n")
    repo.write("src/fuelpipe/replay/snapshot/bcb.json", "{}\n")
    repo.write("src/fuelpipe/dashboard/static/app.js", "console.log('panel');\n")
    repo.write("src/fuelpipe/dashboard/app.py", "TITLE = 'panel'\n")
    repo.write("src/fuelpipe/tests/helpers.py", "HELPER = 1\n")
    repo.write("src/fuelpipe/domain/__pycache__/keys.cpython-311.pyc", "bytecode")
    repo.write("infra/template.yaml", "Resources: {}\n")
    repo.write("docs/DEPLOY.md", "# deploy\n")
    repo.write("README.md", "# fake\n")
    repo.write("tests/test_keys.py", "def test_nothing():\n    assert True\n")
    repo.write("pyproject.toml", "[project]\nname = 'fake'\n")
    repo.write("requirements/lambda-core.txt", "# empty lock\n")
    repo.write(".gitignore", "__pycache__/\n")


FUNCTIONS = ("dashboard_api", "data_clustering", "retry_recheck", "scraper")


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty git repository."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def project(git_repo: GitRepo) -> tuple[GitRepo, str]:
    """A fake project with four functions, committed once; returns it and that commit."""
    write_fake_project(git_repo, FUNCTIONS)
    return git_repo, git_repo.commit("first deploy")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_answers(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer {url} within {timeout_s} s")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto_server on 127.0.0.1 and a free port for the whole session; its URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        # as devtools/aws/servers.py start_moto: its imports alone take seconds under load
        _wait_until_answers(f"{url}/moto-api/", process, timeout_s=60)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
