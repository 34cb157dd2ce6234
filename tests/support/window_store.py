"""A store whose Brazil fuel prices end years before its daily drivers (as the demo's: ANP's
national weeks stop in 2022-05, PTAX runs on to 2026): the page's "1 year" window must end with
the fuel's newest week for every series, not at the newest stored value."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from devtools.dashboard.serving import serving

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import mark_changed

FUELS = ("FUEL#GASOLINE#BR", "FUEL#ETHANOL#BR", "FUEL#DIESEL_S10#BR")
DAILY = ("CURRENCY#USD", "COMMODITY#BRENT", "STOCK#PETR4")
FIRST_WEEK = date(2021, 1, 3)
LAST_WEEK = date(2022, 5, 1)
"""The fuel's newest survey week (a Sunday; the week runs to Saturday 2022-05-07)."""
LAST_DAY = date(2023, 6, 30)
"""The daily drivers' last value, more than a year after the fuel's."""
NOW = datetime(2023, 7, 3, 12, 0, tzinfo=UTC)


def fill_window_store(store: Store) -> None:
    """Weekly fuel prices from FIRST_WEEK to LAST_WEEK, weekday drivers to LAST_DAY, every
    value moving (so changes correlate and lines differ)."""
    weeks = (LAST_WEEK - FIRST_WEEK).days // 7 + 1
    sundays = [FIRST_WEEK + timedelta(weeks=i) for i in range(weeks)]
    span = (LAST_DAY - FIRST_WEEK).days + 1
    days = [d for i in range(span) if (d := FIRST_WEEK + timedelta(days=i)).weekday() < 5]
    records = [
        Record(key, d, Decimal(f"{5 + n + (i % 5) / 100 + i / 1000:.4f}"), Status.OK)
        for n, key in enumerate(FUELS)
        for i, d in enumerate(sundays)
    ] + [
        Record(key, d, Decimal(f"{50 * (n + 1) + (i % 7) / 10 + i / 100:.4f}"), Status.OK)
        for n, key in enumerate(DAILY)
        for i, d in enumerate(days)
    ]
    store.put_records(records)


@contextmanager
def serving_window_store(folder: Path) -> Iterator[str]:
    """The dashboard on such a store in ``folder``, on 127.0.0.1, its page's default views
    precomputed; yields its base URL."""
    store = SqliteStore(folder / "window.sqlite", clock=FixedClock(NOW))
    fill_window_store(store)
    mark_changed(store, NOW, "fill")
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
    app.state.precomputer.refresh()
    try:
        with serving(app) as url:
            yield url
    finally:
        store.close()
