"""A session-wide SQLite store holding the real demo data, and the dashboard served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from devtools.dashboard.realdata import fill_store
from devtools.dashboard.serving import serving

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG

# A fixed "now" just after the last state week in the data, so health figures are stable.
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


class ManualTimer:
    """A monotonic timer the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """A SQLite store filled once from the real files."""
    path: Path = tmp_path_factory.mktemp("dashboard") / "real.sqlite"
    store = SqliteStore(path, clock=FixedClock(NOW))
    fill_store(store)
    yield store
    store.close()


@pytest.fixture(scope="session")
def api_url(real_store: SqliteStore) -> Iterator[str]:
    """The dashboard on the real data, served by uvicorn on 127.0.0.1."""
    with serving(create_app(real_store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as url:
        yield url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    """An HTTP client for the served dashboard."""
    with httpx.Client(base_url=api_url, timeout=30.0) as c:
        yield c
