"""The intraday store port: a day's points per series, expired after the retention."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from fuelpipe.domain.catalog import Series
from fuelpipe.domain.intraday import IntradayPoint


class IntradayStore(abc.ABC):
    """Idempotent storage of intraday points under ``INTRADAY#<key>#<day>`` partitions."""

    @abc.abstractmethod
    def put_points(self, points: Sequence[IntradayPoint]) -> int:
        """Upsert points (same series, day and time = the same point); returns how many."""

    @abc.abstractmethod
    def day(self, series_key: str, day: date, now: datetime) -> list[IntradayPoint]:
        """The unexpired points of one series and day, in time order (one Query)."""

    @abc.abstractmethod
    def purge_expired(self, now: datetime) -> int:
        """Delete what has expired (DynamoDB's TTL does it on its own; returns 0 there)."""


@runtime_checkable
class IntradaySource(Protocol):
    """A source that also has intraday values (BCB bulletins, Yahoo 15-minute bars)."""

    def fetch_intraday(self, series: Series, day: date) -> list[IntradayPoint]:
        """The day's points so far."""
        ...
