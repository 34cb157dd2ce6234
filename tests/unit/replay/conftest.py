"""Fixtures: a fault-free replay server, an HTTP client, the real source files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from devtools.datasets import dataset

from fuelpipe.replay import ReplayServer


@pytest.fixture(scope="session")
def real_data() -> Callable[[str], Path]:
    """Look up a real file the snapshot was cut from, in datasets/; a missing one fails."""
    return dataset


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
