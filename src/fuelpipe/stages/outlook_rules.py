"""Alert rules on the outlook, in the shape of the pipeline's alerting (issue #15).

Each rule has a ``name`` and ``evaluate(context)`` returning the conditions that hold now,
like ``fuelpipe.ports.alerts.AlertRule``; the context needs only ``now``, ``store`` and
``catalog`` (``fuelpipe.ports.alerts.AlertContext`` has them). ``OutlookCondition`` carries the
same fields as ``fuelpipe.domain.alerts.Condition`` (rule, subject, summary, evidence,
severity, id); once that module is on main these rules can return it directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from fuelpipe.domain.alerts import Condition, Severity
from fuelpipe.domain.calendars import last_available_date
from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.models import Record
from fuelpipe.ports.store import Store
from fuelpipe.stages.outlook import fuel_series, newest_after, outlook_key_for

# The alerting's own condition type (#15), now that it is on main.
OutlookCondition = Condition


def _br(value: float, spec: str) -> str:
    """``value`` formatted by ``spec`` with a decimal comma, as a Brazilian reader writes it
    (the dashboard's pt-BR numbers: ``3,4%``, ``5,492``)."""
    return format(value, spec).replace(".", ",")


class RuleContext(Protocol):
    """What the outlook rules read (a subset of the alerting's AlertContext)."""

    @property
    def now(self) -> datetime: ...
    @property
    def store(self) -> Store: ...
    @property
    def catalog(self) -> Catalog: ...


def _forecast_records(context: RuleContext, key: str, days: int) -> list[object]:
    """The readable stored forecasts of an outlook key made in the ``days`` days up to ``now``.
    One made after ``now`` is left out, as :func:`_latest_forecast` leaves it out: the demo's
    store holds forecasts made in 2026 while its clock reads 2022, and ``outlook_miss`` judged
    them at that clock."""
    start = context.now.date() - timedelta(days=days)
    return list(_made_by_now(context, context.store.query(key, start, context.now.date())))


def _made_by_now(context: RuleContext, records: Iterable[Record]) -> Iterator[object]:
    """The readable forecasts among ``records`` made by ``now``, in their order (a damaged
    record is passed over)."""
    from fuelpipe.outlook.records import from_record

    for record in records:
        try:
            stored = from_record(record)
        except ValueError:
            continue
        if stored.forecast.as_of <= context.now:
            yield stored


LATEST_READ = 4
"""Newest forecast records :class:`OutlookMove` reads of a key: the first readable one is the
outlook (a damaged newest record is passed over for the one before it, as the 14-day read
it replaces passed over any damaged record)."""


def _latest_forecast(context: RuleContext, key: str) -> object | None:
    """The newest readable stored forecast of an outlook key made by ``now``, however old (a
    few small records, read newest first). One made after ``now`` is not the outlook yet: the
    demo's store holds forecasts made in 2026 while its clock reads 2022, and a move they
    expect in 2026 fired at that clock."""
    records = context.store.query(key, end=context.now.date(), limit=LATEST_READ, newest_first=True)
    return next(_made_by_now(context, records), None)


@dataclass(frozen=True)
class OutlookMove:
    """The latest outlook expects a move of at least ``threshold`` by ``weeks`` weeks ahead
    (its step of that horizon, against the last published price; a shorter step is not
    checked on its own).

    The latest stored forecast however old: the refresh stores a forecast only when it makes
    another (a new survey week, revised inputs), so while ANP publishes no new week (a holiday
    pause, a late release) the newest one stays the outlook the dashboard serves, and the move
    it expects still holds; a look-back of 14 days lost it after two quiet weeks and the alert
    cleared, to fire again at the next survey. Until the week it expects the move by is over:
    a forecast whose weeks have all gone by without a survey (a pause of months) says nothing
    of the weeks to come. A forecast behind its series (a newer week stored, from which the
    refresh made none) is not the outlook: its weeks are already being published, so it raises
    nothing."""

    threshold: float = 0.03
    weeks: int = 2
    name: str = "outlook_move"

    def evaluate(self, context: RuleContext) -> Sequence[OutlookCondition]:
        from fuelpipe.outlook.records import StoredForecast

        out: list[OutlookCondition] = []
        for series in fuel_series(context.catalog):
            latest = _latest_forecast(context, outlook_key_for(series))
            if latest is None:
                continue
            assert isinstance(latest, StoredForecast)
            fc = latest.forecast
            step = next((s for s in fc.steps if s.horizon == self.weeks), None)
            if step is None:
                continue
            if step.week + timedelta(days=7) <= context.now.date():
                continue  # the week it expected the move by has gone by: it expects nothing now
            change = step.point / fc.last_price - 1.0
            # "the threshold or more": a move of exactly 3% (5.19 to 5.3457) divides to
            # 0.029999999999999805 in floats, so the edge is compared with a tolerance
            if abs(change) < self.threshold and not math.isclose(
                abs(change), self.threshold, rel_tol=1e-9
            ):
                continue
            if newest_after(context.store, series.key, fc.last_week) is not None:
                continue  # out of date: the API marks it stale, the alert says nothing
            way = "rise" if change > 0 else "fall"
            out.append(
                OutlookCondition(
                    rule=self.name,
                    # The series and the way, not the week: a move still expected after the next
                    # survey week (the forecast's weeks move on) is the same condition, not a
                    # CLEARED and a new FIRING every Friday.
                    subject=f"{series.key}:{way}",
                    summary=(
                        f"{series.key} expected to {way} {abs(change):.1%} within "
                        f"{self.weeks} weeks, by the week of {step.week.isoformat()} "
                        f"({fc.last_price:.3f} → {step.point:.3f} {series.unit}; "
                        f"alert at ±{self.threshold:.1%})"
                    ),
                    summary_pt_br=(
                        f"{series.key} deve {'subir' if way == 'rise' else 'cair'} "
                        f"{_br(abs(change), '.1%')} em até {self.weeks} semanas, até a semana de "
                        f"{step.week.isoformat()} ({_br(fc.last_price, '.3f')} → "
                        f"{_br(step.point, '.3f')} {series.unit}; alerta em "
                        f"±{_br(self.threshold, '.1%')})"
                    ),
                    evidence={
                        "key": series.key,
                        "weeks": self.weeks,
                        "last_week": fc.last_week.isoformat(),
                        "last_price": round(fc.last_price, 4),
                        "week": step.week.isoformat(),
                        "point": round(step.point, 4),
                        "lo95": round(step.lo95, 4),
                        "hi95": round(step.hi95, 4),
                        "change": round(change, 4),
                        "threshold": self.threshold,
                        "as_of": sao_paulo_iso(fc.as_of),
                    },
                    severity=Severity.INFO,
                )
            )
        return out


@dataclass(frozen=True)
class OutsideInterval:
    """A published week fell outside the 95% interval of its last forecast before publication.

    Looks at weeks published by ``now``, within ``days`` days; the forecast judged is the latest
    stored one for that week at the shortest horizon (the survey week in progress when it was
    made).
    """

    days: int = 21
    name: str = "outlook_miss"

    def evaluate(self, context: RuleContext) -> Sequence[OutlookCondition]:
        from fuelpipe.outlook.records import StoredForecast

        out: list[OutlookCondition] = []
        for series in fuel_series(context.catalog):
            key = outlook_key_for(series)
            judged: dict[date, tuple[int, StoredForecast]] = {}
            for stored in _forecast_records(context, key, self.days + 42):
                assert isinstance(stored, StoredForecast)
                for step in stored.forecast.steps:
                    if step.horizon not in stored.actuals:
                        continue
                    best = judged.get(step.week)
                    # shortest horizon wins; among equals the later forecast (records are dated)
                    if best is None or step.horizon <= best[0]:
                        judged[step.week] = (step.horizon, stored)
            horizon_cut = context.now.date() - timedelta(days=self.days)
            # a week ANP had not published by ``now`` has missed nothing yet, though a later
            # scoring wrote its actual into a forecast made by then (a store read at an
            # earlier clock than its newest run: the demo's at its 2022 window)
            published = last_available_date(context.now, series.available_after)
            for week, (h, stored) in sorted(judged.items()):
                if week < horizon_cut or week > published:
                    continue
                step = stored.forecast.steps[h - 1]
                actual = stored.actuals[h]
                if step.lo95 <= actual <= step.hi95:
                    continue
                side = "above" if actual > step.hi95 else "below"
                out.append(
                    OutlookCondition(
                        rule=self.name,
                        subject=f"{series.key}@{week.isoformat()}",
                        summary=(
                            f"{series.key} published {actual:.3f} for {week.isoformat()}, "
                            f"{side} its forecast's 95% interval "
                            f"[{step.lo95:.3f}, {step.hi95:.3f}]"
                        ),
                        summary_pt_br=(
                            f"{series.key} publicou {_br(actual, '.3f')} para "
                            f"{week.isoformat()}, {'acima' if side == 'above' else 'abaixo'} "
                            f"do intervalo de 95% da sua previsão "
                            f"[{_br(step.lo95, '.3f')}; {_br(step.hi95, '.3f')}]"
                        ),
                        evidence={
                            "key": series.key,
                            "week": week.isoformat(),
                            "actual": round(actual, 4),
                            "point": round(step.point, 4),
                            "lo95": round(step.lo95, 4),
                            "hi95": round(step.hi95, 4),
                            "horizon": h,
                            "as_of": sao_paulo_iso(stored.forecast.as_of),
                        },
                    )
                )
        return out


def outlook_rules() -> list[OutlookMove | OutsideInterval]:
    """The outlook's rules with their default thresholds (±3% by two weeks ahead; 95% band)."""
    return [OutlookMove(), OutsideInterval()]
