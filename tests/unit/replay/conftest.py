"""Fixtures: a fault-free replay server, an HTTP client, the real source files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fuelpipe.replay import ReplayServer

REPO = Path(__file__).resolve().parents[3]


def shared_data_dir() -> Path | None:
    """``shared/data`` beside the repository (or FUELPIPE_SHARED_DATA), when present."""
    configured = os.environ.get("FUELPIPE_SHARED_DATA")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    return path if (path / "MANIFEST.md").is_file() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real files the snapshot was cut from; tests comparing against them skip without."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared/data (the real source files) is not beside the repository")
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    """A replay server without faults, for the whole module."""
    with ReplayServer(quiet=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One HTTP client, short timeout."""
    with httpx.Client(timeout=10) as c:
        yield c
