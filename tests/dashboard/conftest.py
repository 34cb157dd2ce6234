"""A session-wide SQLite store holding the real demo data, and the dashboard served over HTTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from devtools.dashboard.realdata import fill_store
from devtools.dashboard.serving import serving

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.series import known_at
from fuelpipe.stages.outlook import refresh_outlook

# A fixed "now" just after the last state week in the data, so health figures are stable.
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
DATASETS = Path(__file__).resolve().parents[2] / "datasets"
OUTLOOK_NOW = datetime(2025, 6, 18, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
"""The outlook tests' clock: FRED's Brent ends before it, so the answer has a stale driver."""


def lpg_outlook_store(path: Path, *, brent_until: date | None = None) -> SqliteStore:
    """A store holding the real LPG (Brazil) history and its drivers as known at OUTLOOK_NOW,
    with the outlook refreshed from them; ``brent_until``: FRED's Brent spot stored up to that
    day alone (2024-12-31: as far as the datasets' FRED copies ran before the 2015-2026 one, so
    the outlook names Brent stale and keeps it while the futures carry it)."""
    store = SqliteStore(path, clock=FixedClock(OUTLOOK_NOW))
    history = load_history(DATASETS, with_areas=False)
    for key in ("FUEL#LPG#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES"):
        lag = DEFAULT_CATALOG[key].available_after
        until = brent_until if key == "COMMODITY#BRENT" and brent_until else date.max
        known = [
            (d, v) for d, v in history.series[key] if known_at(d, lag) <= OUTLOOK_NOW and d <= until
        ]
        store.put_records([Record(key, d, Decimal(str(v)), Status.OK) for d, v in known])
    assert refresh_outlook(store, DEFAULT_CATALOG, OUTLOOK_NOW, keys=["FUEL#LPG#BR"]).made == 1
    return store


def cell_says(cell: str, value: object) -> bool:
    """Whether a CSV cell gives a JSON value: a number to the CSV's 6 decimals, a time as
    the same instant, None as an empty cell."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and cell != value and "T" in value:
            return cell != "" and datetime.fromisoformat(cell) == datetime.fromisoformat(value)
        return cell == ("" if value is None else str(value))
    assert isinstance(value, int | float)
    return cell != "" and abs(float(cell) - value) <= 0.5e-6 + 1e-9


def csv_misses(body: dict[str, object], csv_text: str, skip: Collection[str] = ()) -> list[str]:
    """The fields of a view's JSON ``body`` beside its rows (not its lists; an object's field as
    ``object_field``, as the map's ``spread_range``, a null one's all empty) that its CSV does not give on every row as
    the JSON does, but those in ``skip``."""
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows, "a CSV of a header alone"
    fields: dict[str, object] = {}
    for name, value in body.items():
        if isinstance(value, dict):
            fields.update({f"{name}_{k}": v for k, v in value.items() if not isinstance(v, list)})
        elif not isinstance(value, list):
            fields[name] = value

    def null_object(name: str) -> bool:  # a null object's ``object_field`` columns, empty
        columns = [c for c in rows[0] if c.startswith(name + "_")]
        return bool(columns) and all(r[c] == "" for r in rows for c in columns)

    return [
        name
        for name, value in fields.items()
        if name not in skip
        and (name not in rows[0] or not all(cell_says(r[name], value) for r in rows))
        and not (value is None and name not in rows[0] and null_object(name))
    ]


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
