"""The intraday store port: a day's points per series, expired after the retention."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from fuelpipe.domain.catalog import Series
from fuelpipe.domain.intraday import IntradayPoint, on_sao_paulo_day, stored_days


@dataclass(frozen=True)
class Upserted:
    """What one :meth:`IntradayStore.put_points` stored."""

    written: int
    """Points stored (each one upserted, whether or not it differed from the stored one)."""
    changed: int
    """Of those, the new ones and those whose stored value or attributes differed. A store
    that cannot tell without reading counts every point written: it may say a point changed
    that did not, never the reverse."""


class IntradayStore(abc.ABC):
    """Idempotent storage of intraday points under ``INTRADAY#<key>#<day>`` partitions."""

    @abc.abstractmethod
    def put_points(self, points: Sequence[IntradayPoint]) -> Upserted:
        """Upsert points (same series, day and time = the same point); how many were written
        and how many of them were new or changed."""

    @abc.abstractmethod
    def day(self, series_key: str, day: date, now: datetime) -> list[IntradayPoint]:
        """The unexpired points of one series and stored day (:attr:`IntradayPoint.day`: its
        market's date), in time order (one Query)."""

    def sao_paulo_day(self, series: Series, day: date, now: datetime) -> list[IntradayPoint]:
        """The unexpired points of ``series`` on São Paulo's ``day``, in time order: what the
        Today panel shows. Points are filed under their market's date, so this reads each
        stored day São Paulo's overlaps (one Query for a series of São Paulo's zone, two for
        New York's, whose evening bars are São Paulo's next day) and keeps that day's."""
        stored = stored_days(series.exchange_tz, day)
        return on_sao_paulo_day((p for d in stored for p in self.day(series.key, d, now)), day)

    def note_none(self, series_key: str, day: date, at: datetime) -> None:  # noqa: B027
        """Remember that the source, asked at ``at``, answered ``day`` (its market's date) of
        ``series_key`` with no point (kept as long as a point of ``at``): the Today panel then
        says so, not how to collect them. The default remembers nothing."""

    def answered_none(self, series: Series, day: date, now: datetime) -> datetime | None:
        """When the source last answered a stored day of ``series`` that São Paulo's ``day``
        overlaps with no point (:meth:`note_none`); None: no such answer remembered."""
        return None

    @abc.abstractmethod
    def purge_expired(self, now: datetime) -> int:
        """Delete what has expired (DynamoDB's TTL does it on its own; returns 0 there)."""


@runtime_checkable
class IntradaySource(Protocol):
    """A source that also has intraday values (BCB bulletins, Yahoo 15-minute bars)."""

    def fetch_intraday(self, series: Series, day: date) -> list[IntradayPoint]:
        """The day's points so far."""
        ...
