"""Station-level weekly state means from the lake, paired with the weekly state averages ANP
published (``FUEL#<fuel>#<UF>`` in the store, dated by the week's Sunday, with ANP's station
count in ``attrs["stations"]``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from fuelpipe.domain.catalog import STATES
from fuelpipe.domain.keys import fuel_key
from fuelpipe.domain.models import Status
from fuelpipe.domain.stations import (
    ReconcileCheck,
    Reconciled,
    query_params,
    reconcile,
    reconcile_check,
)
from fuelpipe.ports.store import Store

STATE_MEANS_QUERY = "state_weekly"
"""The lake query giving each state's weekly mean, prices (observations) and distinct
stations."""


class QueryAnswer(Protocol):
    def records(self) -> list[dict[str, Any]]: ...


class StationQueries(Protocol):
    """The lake's named queries (DuckDB's StationLake)."""

    def query(self, name: str, params: dict[str, Any]) -> QueryAnswer: ...


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One fuel over whole survey weeks ``week_from``..``week_to`` (Sundays)."""

    fuel: str
    week_from: date
    week_to: date
    rows: list[Reconciled]
    lake_weeks: int
    """State-weeks the lake holds."""
    published_weeks: int
    """State-weeks with a published average in the store."""
    states: tuple[str, ...]
    """The states asked for."""

    @property
    def every_state(self) -> bool:
        return set(STATES) <= set(self.states)

    @property
    def check(self) -> ReconcileCheck:
        """The tolerance applied: every compared week within ±5%, and over every state the
        median within 1% (over a subset its median is given, not held to it:
        ``ReconcileCheck``)."""
        return reconcile_check(self.rows, median_held=self.every_state)


def reconcile_published(
    lake: StationQueries,
    store: Store,
    fuel: str,
    first: date,
    last: date,
    states: Sequence[str],
) -> Reconciliation:
    """The lake's state-week means of ``fuel`` in the survey weeks holding ``first`` and
    ``last``, for ``states``, against the store's published averages of those weeks. A
    published average without a station count gets 0 stations (coverage 0: not compared)."""
    params = query_params(fuel, first, last, None, None, "")
    week_from, week_to = params["week_from"], params["week_to"]
    wanted = set(states)
    weeks = [
        (r["state"], r["week"], r["mean"], r["observations"], r["stations"])
        for r in lake.query(STATE_MEANS_QUERY, params).records()
        if r["state"] in wanted
    ]
    published: dict[tuple[str, date], tuple[float, int]] = {}
    for state in states:
        for rec in store.query(fuel_key(fuel, state), week_from, week_to, ("value", "attrs")):
            if rec.status is not Status.OK or rec.value is None:
                continue
            count = rec.attrs.get("stations")
            stations = count if isinstance(count, int) and not isinstance(count, bool) else 0
            published[(state, rec.date + timedelta(days=6))] = (float(rec.value), stations)
    return Reconciliation(
        fuel,
        week_from,
        week_to,
        reconcile(weeks, published),
        len(weeks),
        len(published),
        tuple(states),
    )
