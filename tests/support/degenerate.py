"""SYNTHETIC degenerate series for the analyses' not-estimable answers: a gasoline price in
Brazil that moves every week, a PTAX that never moves and a Brent that does."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store

FIRST_WEEK = date(2021, 1, 3)  # a Sunday: ANP weeks are keyed by Sunday
WEEKS = 52
CLOCK = FixedClock(datetime(2022, 1, 10, 12, 0, tzinfo=UTC))
START, END = date(2021, 1, 1), date(2021, 12, 31)


def sundays() -> list[date]:
    """The survey weeks of the SYNTHETIC gasoline price."""
    return [FIRST_WEEK + timedelta(weeks=i) for i in range(WEEKS)]


def _weekdays() -> list[date]:
    """Monday to Friday from 20 weeks before the first survey week (the lags reach back).
    From a Sunday, the days 1-5 of each week: ``i % 7 < 5`` took Sunday to Thursday, so the
    window's last week (to Friday 2021-12-31) missed a Friday its calendar expects, and a
    correlation takes a daily series' last week only when whole."""
    first = FIRST_WEEK - timedelta(weeks=20)
    return [first + timedelta(days=i) for i in range((WEEKS + 20) * 7) if 1 <= i % 7 <= 5]


def fill_degenerate(store: Store, *, brent: bool = True, ethanol: bool = False) -> None:
    """FUEL#GASOLINE#BR moving every week, CURRENCY#USD constant at 5.0000 over the whole
    window, (with ``brent``) COMMODITY#BRENT moving every day and (with ``ethanol``)
    FUEL#ETHANOL#BR at 68% of the gasoline price: Brazil's prices and no region's or state's."""
    gasoline = [5.0 + 0.3 * math.sin(i * 0.7) + 0.01 * i for i in range(WEEKS)]
    records = [
        Record("FUEL#GASOLINE#BR", d, Decimal(f"{gasoline[i]:.3f}"), Status.OK)
        for i, d in enumerate(sundays())
    ]
    if ethanol:
        records += [
            Record("FUEL#ETHANOL#BR", d, Decimal(f"{0.68 * gasoline[i]:.3f}"), Status.OK)
            for i, d in enumerate(sundays())
        ]
    days = _weekdays()
    records += [Record("CURRENCY#USD", d, Decimal("5.0000"), Status.OK) for d in days]
    records += (
        []
        if not brent
        else [
            Record("COMMODITY#BRENT", d, Decimal(f"{70 + 5 * math.cos(i * 0.3):.2f}"), Status.OK)
            for i, d in enumerate(days)
        ]
    )
    store.put_records(records)
