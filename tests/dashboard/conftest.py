"""A session-wide SQLite store holding the real demo data, and a FastAPI test client on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from tests.dashboard.realdata import fill_store

# A fixed "now" just after the last state week in the data, so health figures are stable.
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """A SQLite store filled once from the real files."""
    path: Path = tmp_path_factory.mktemp("dashboard") / "real.sqlite"
    store = SqliteStore(path, clock=FixedClock(NOW))
    fill_store(store)
    yield store
    store.close()
