"""Read-only access to stored series for the dashboard, over the Store port and the catalog."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fuelpipe.dashboard.analysis import (
    TimeSeries,
    WeeklyHow,
    product_at_latest,
    to_weekly,
    week_start,
    without_unfinished_week,
)
from fuelpipe.dashboard.errors import InvalidRequestError, NotFoundError
from fuelpipe.domain.calendars import get_calendar, known_by_end_of
from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import InvalidKeyError, Kind, commodity_key, currency_key, parse_key
from fuelpipe.domain.models import Status
from fuelpipe.ports.store import Store

BRENT_BRL = "BRENT_BRL"
"""The derived series: Brent spot (USD/bbl) on its dates × the PTAX USD sell (BRL/USD) in force
that day, the latest on or before it (:data:`PTAX_MAX_AGE`)."""
BRENT = commodity_key("BRENT")
USD = currency_key("USD")
DERIVED_LABELS = {BRENT_BRL: ("Brent spot in BRL (Brent × PTAX USD)", "BRL/bbl")}
PTAX_MAX_AGE = timedelta(days=7)
"""How far back a Brent day takes its PTAX: the longest gap between PTAX days from 1994-07 to
2024-03 (``datasets/fx/lucagpgirardi__ptax_sgs1.csv``) is 5 days, Carnival's Friday to Wednesday;
an older rate is a PTAX series stored behind Brent's, and the day gets no value, not a stale one."""
_READ_FIELDS = ("value",)


class SeriesReader:
    """Reads OK values of catalog series (and derived ones) from a store."""

    def __init__(self, store: Store, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog

    def check_key(self, key: str) -> None:
        """Raise NotFoundError unless the key is a catalog series or a derived one."""
        if key in DERIVED_LABELS or key in self.catalog:
            return
        group = [s.key for s in self.catalog if s.key.startswith(key.rstrip("#") + "#")]
        if group:  # a prefix, as --series takes one: name the keys to give instead
            shown = ", ".join(group[:2]) + (", …" if len(group) > 2 else "")
            raise NotFoundError(
                f"{key!r} names {len(group)} series ({shown}), not one: give one key, "
                f"e.g. {group[0]}"
            )
        try:
            parse_key(key)
        except InvalidKeyError as exc:
            raise NotFoundError(f"unknown series {key!r}: {exc}") from None
        raise NotFoundError(f"series {key!r} is not in the catalog")

    def label(self, key: str) -> tuple[str, str]:
        """(label, unit) of a series."""
        self.check_key(key)
        if key in DERIVED_LABELS:
            return DERIVED_LABELS[key]
        series = self.catalog[key]
        return series.label, series.unit

    def is_weekly(self, key: str) -> bool:
        """True for ANP weekly series, already keyed by survey week."""
        return key not in DERIVED_LABELS and self.catalog[key].kind is Kind.FUEL

    def raw(self, key: str, start: date | None = None, end: date | None = None) -> TimeSeries:
        """The OK values of one series in ``[start, end]``."""
        self.check_key(key)
        if key == BRENT_BRL:
            rates = self.raw(USD, start - PTAX_MAX_AGE if start else None, end)
            return product_at_latest(BRENT_BRL, self.raw(BRENT, start, end), rates, PTAX_MAX_AGE)
        records = self.store.query(key, start, end, fields=_READ_FIELDS)
        return TimeSeries.of(
            key,
            (
                (r.date, float(r.value))
                for r in records
                if r.status is Status.OK and r.value is not None
            ),
        )

    def known_through(self, key: str, end: date) -> date:
        """The latest date of ``key`` whose value was published by the end of ``end`` (São Paulo),
        by its catalog schedule: an ANP week from its Friday 18:00, PTAX on its day, FRED Brent
        with its weekly batch (through a Monday, out the Friday after). Brent in BRL is known
        where both Brent and PTAX are."""
        self.check_key(key)
        if key == BRENT_BRL:
            return min(self.known_through(BRENT, end), self.known_through(USD, end))
        schedule = self.catalog[key].schedule
        if schedule.batch_through is not None:
            return schedule.published_through(datetime.combine(end, time.max, SAO_PAULO))
        return known_by_end_of(end, self.catalog[key].available_after)

    def as_of(self, key: str, end: date | None) -> date | None:
        """The last date to read of ``key`` for an End date: None (no End date) reads every
        stored value; see :meth:`known_through`."""
        return None if end is None else self.known_through(key, end)

    def check_has_weeks(self, key: str, param: str | None = None) -> None:
        """Raise InvalidRequestError for a monthly series, which has no survey weeks (a month
        in a Sunday week would be dated before it began, and correlate with nothing), naming
        ``param`` when the route knows the query parameter that gave ``key``."""
        self.check_key(key)
        if key not in DERIVED_LABELS and self.catalog[key].kind is Kind.FUEL_MONTHLY:
            raise InvalidRequestError(
                f"{key} is a monthly series: it has no survey weeks (read its months as "
                "stored: /api/series with freq=raw, or fp.series in Python)",
                params=(param,) if param else (),
            )

    def weekly(
        self,
        key: str,
        start: date | None = None,
        end: date | None = None,
        how: WeeklyHow = "mean",
        *,
        whole: bool = False,
    ) -> TimeSeries:
        """The series on ANP survey weeks from ``start``: fuel as stored, daily resampled.

        Daily values are read from the Sunday of ``start``'s week, so the first week is whole,
        and never past ``end``: a week holding ``end`` averages (or ends at) its values up to it,
        as a week still under way was known then. The views pass :meth:`as_of` as ``end``.
        With ``whole`` (the correlations and pass-through) a daily series' last week enters
        only when whole as published: when its calendar expects no later day in it than the
        last one read (:func:`~fuelpipe.dashboard.analysis.without_unfinished_week`), so FRED's
        Brent read to a batch's Monday, or PTAX to a Wednesday, ends a week earlier.
        """
        if self.is_weekly(key):
            return self.raw(key, start, end)
        self.check_has_weeks(key)
        first = week_start(start) if start else None
        daily = self.raw(key, first, end)
        weekly = to_weekly(daily, how)
        if not whole or not daily.dates:
            return weekly
        last = daily.dates[-1]
        # Brent in BRL is dated by Brent's days (PTAX's in force on each): Brent's calendar
        dated_by = BRENT if key == BRENT_BRL else key
        calendar = get_calendar(self.catalog[dated_by].calendar)
        return without_unfinished_week(weekly, last, calendar.next_expected(last))
