"""SYNTHETIC store for the index charts' edge cases: a gasoline price in Brazil from BASE on,
and daily drivers from two months before it, Brent with no value in BASE's week and PETR4 at
zero through it. Indexed at BASE (the first week every series has), the dollar is 100 there,
Brent in reais at its next week and PETR4 not at all (no index divides by a zero)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store

BASE = date(2021, 3, 7)
"""The fuel's first survey week (a Sunday): the index charts' base week."""
END = date(2021, 6, 5)
"""The Saturday of the fuel's last week (2021-05-30)."""
CLOCK = FixedClock(datetime(2021, 6, 10, 12, 0, tzinfo=UTC))


def fill_index_edges(store: Store) -> None:
    """FUEL#GASOLINE#BR weekly from BASE to END's week; CURRENCY#USD, COMMODITY#BRENT and
    STOCK#PETR4 every weekday from 2021-01-04 to END, Brent none and PETR4 0 in BASE's week."""
    weeks = [BASE + timedelta(weeks=i) for i in range((END - BASE).days // 7 + 1)]
    first = date(2021, 1, 4)
    days = [d for i in range((END - first).days) if (d := first + timedelta(days=i)).weekday() < 5]

    def in_base(day: date) -> bool:
        return BASE <= day < BASE + timedelta(days=7)

    records = [
        Record("FUEL#GASOLINE#BR", w, Decimal(f"{6 + i / 100:.3f}"), Status.OK)
        for i, w in enumerate(weeks)
    ]
    records += [
        Record("CURRENCY#USD", d, Decimal(f"{5 + i / 1000:.4f}"), Status.OK)
        for i, d in enumerate(days)
    ]
    records += [
        Record("COMMODITY#BRENT", d, Decimal(f"{60 + i / 10:.2f}"), Status.OK)
        for i, d in enumerate(days)
        if not in_base(d)
    ]
    records += [
        Record(
            "STOCK#PETR4", d, Decimal(0) if in_base(d) else Decimal(f"{25 + i / 50:.2f}"), Status.OK
        )
        for i, d in enumerate(days)
    ]
    store.put_records(records)
