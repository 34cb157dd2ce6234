"""Shared fixtures of the real-time tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore


@pytest.fixture
def home(
    tmp_path: Path,
) -> Iterator[tuple[ManualClock, SqliteStore, SqliteQueue, SqliteAlertState]]:
    """A clock (Wednesday 2022-05-04 13:30, São Paulo), a store, its queue and the alert
    state, in real SQLite files."""
    clock = ManualClock(datetime(2022, 5, 4, 13, 30, tzinfo=ZoneInfo("America/Sao_Paulo")))
    store = SqliteStore(tmp_path / "a.sqlite")
    queue = SqliteQueue(tmp_path / "q.sqlite", clock=clock, visibility_timeout=timedelta(1))
    state = SqliteAlertState(tmp_path / "a.sqlite", clock=clock)
    yield clock, store, queue, state
    state.close()
    store.close()
    queue.close()
