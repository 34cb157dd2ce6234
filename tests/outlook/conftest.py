"""The outlook's tests read the real history bundled in datasets/ (Brazil only: fast enough)."""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fuelpipe.adapters.history_files import (
    BRENT_FUTURES_KEY,
    BRENT_KEY,
    USD_KEY,
    History,
    load_history,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.series import Inputs, inputs_for, known_at
from fuelpipe.ports.store import Store

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


@pytest.fixture(scope="session")
def history() -> History:
    return load_history(DATASETS, with_areas=False)


@pytest.fixture(scope="module")
def areas() -> History:
    """The whole bundled history: Brazil, the regions and the states (slower to load)."""
    return load_history(DATASETS)


def bundled_inputs(history: History, key: str) -> Inputs:
    """The outlook's inputs of ``key`` in the bundled history, on its PTAX, Brent and BZ=F."""
    return inputs_for(
        history.series, key, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
    )


def store_known(
    store: Store,
    history: History,
    keys: Iterable[str],
    now: datetime,
    hold_back: date | None = None,
) -> None:
    """Store the real history of ``keys`` as it was known at ``now``, except the PTAX USD
    days from ``hold_back`` on (the ones a test then lands), if given. A series published in
    batches (FRED's Brent) is known by its schedule, as the outlook reads it."""
    for key in keys:
        store.put_records(
            [
                Record(key, d, Decimal(str(v)), Status.OK)
                for d, v in history.series[key]
                if known_then(key, d, now)
                and not (hold_back and key == "CURRENCY#USD" and d >= hold_back)
            ]
        )


def known_then(key: str, day: date, now: datetime) -> bool:
    """Whether the value of ``key`` dated ``day`` was published by ``now``, as the outlook
    reads it: by its one offset, or by its batch for FRED's Brent."""
    series = DEFAULT_CATALOG[key]
    if series.schedule.batch_through is not None:
        return series.schedule.published_at(day) <= now
    return known_at(day, series.available_after) <= now
