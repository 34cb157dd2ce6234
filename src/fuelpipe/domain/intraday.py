"""Intraday values: the PTAX bulletins of a day and 15-minute bars, kept for a short retention.

The daily closing series stay as they are; intraday points live under their own keys
(:func:`fuelpipe.domain.keys.intraday_key`) with a sort key of the time of day, and expire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from fuelpipe.domain.keys import intraday_key

RETENTION = timedelta(days=35)
"""Intraday points are kept five weeks: enough for the live panel and for comparing a day with
the same weekday a month back; the daily closes keep the history."""

INTRADAY_SERIES = (
    "CURRENCY#USD",
    "STOCK#PETR3",
    "STOCK#PETR4",
    "STOCK#PRIO3",
    "STOCK#XOM",
    "STOCK#CVX",
    "STOCK#SHEL",
    "STOCK#BP",
    "STOCK#TTE",
    "COMMODITY#BRENT_FUTURES",
)
"""Daily series whose sources also publish during the day: PTAX bulletins, oil shares, BZ=F."""

PTAX_BULLETIN_KINDS = ("Abertura", "Intermediário", "Fechamento")
"""BCB's tipoBoletim values, in the order of the day (the closing is "Fechamento PTAX" too)."""


@dataclass(frozen=True, slots=True)
class IntradayPoint:
    """One bulletin or bar of one series at one instant."""

    series_key: str
    at: datetime
    """The bulletin's time or the bar's start, timezone-aware."""
    kind: str
    """``Abertura`` / ``Intermediário`` / ``Fechamento`` for PTAX, ``15m`` for bars."""
    value: Decimal
    """Sell rate for PTAX, close for a bar."""
    attrs: dict[str, Decimal | int | str] = field(default_factory=dict)

    @property
    def day(self) -> date:
        """The local trading day (the instant's own date in its zone)."""
        return self.at.date()

    @property
    def partition(self) -> str:
        """Its partition key."""
        return intraday_key(self.series_key, self.day)

    @property
    def sort_key(self) -> str:
        """Time of day with its offset, so a day's points sort by time: ``10:05:00-03:00``."""
        return self.at.timetz().isoformat()

    def expires_at(self) -> datetime:
        """When the store may drop it."""
        return self.at + RETENTION


def bulletin_kind(tipo: str) -> str:
    """Normalise BCB's tipoBoletim (``Fechamento PTAX`` and ``Fechamento`` both close)."""
    for kind in PTAX_BULLETIN_KINDS:
        if tipo.startswith(kind):
            return kind
    raise ValueError(f"unknown PTAX bulletin type {tipo!r}")
