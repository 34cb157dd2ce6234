"""A forecast as one stored record, and back; and the scores added when ANP publishes.

One record per fuel, area and as-of day under ``OUTLOOK#<PRODUCT>#<AREA>`` (sort key: the
as-of day in São Paulo). A later update on the same day replaces it; its ``as_of`` attribute
keeps the exact instant. Attributes are flat (DynamoDB- and SQLite-friendly): for each horizon
``h`` the target week ``w{h}``, the point ``p{h}`` and the bands ``lo80_{h}`` … ``hi95_{h}``;
once the week is published, ``a{h}`` (the published price) joins them. ``stale`` names the
drivers too old at the as-of time with their last day, and ``drivers_dropped`` is 1 when the
forecast does not use Brent in BRL (fitted without it, or no change). ``driver_move`` is absent
when Brent in BRL has no market value (none known, or a stale driver froze it; read back as
NaN). ``no_change`` names why a
state's forecast is the no-change fallback (``national_ends_before``, with the national series'
last week in ``national_last_week``, …); absent or None: the model's forecast. ``loo_bands``
names the horizons whose bands are the leave-one-out residuals' (``3,4,5``; empty: none, every
band from the model's own walk-forward errors); absent from a forecast stored before it was
recorded (model version 9 or older), read back as None, not known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.models import AttrValue, Record, Status
from fuelpipe.outlook.forecast import Forecast, NoChange, StaleDriver, Step

BANDS = ("lo80", "hi80", "lo95", "hi95")


def stale_text(stale: tuple[StaleDriver, ...]) -> str | None:
    """Stale drivers as one flat attribute, ``brent=2024-12-31;futures=…`` (None: none)."""
    return ";".join(f"{s.name}={s.last_day.isoformat()}" for s in stale) or None


def parse_stale(text: str) -> tuple[StaleDriver, ...]:
    """The inverse of :func:`stale_text`."""
    pairs = (part.partition("=") for part in text.split(";") if part)
    return tuple(StaleDriver(name, date.fromisoformat(day)) for name, _, day in pairs)


def loo_text(horizons: tuple[int, ...] | None) -> str | None:
    """The leave-one-out horizons as one flat attribute, ``3,4,5`` ('': none; None: not
    known, so not stored)."""
    return None if horizons is None else ",".join(str(h) for h in horizons)


def parse_loo(text: AttrValue) -> tuple[int, ...] | None:
    """The inverse of :func:`loo_text` (None: absent, a forecast stored before it was)."""
    if not isinstance(text, str):
        return None
    return tuple(int(h) for h in text.split(",") if h)


def _dec(value: float, places: int = 4) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def to_record(key: str, forecast: Forecast, inputs: str | None = None) -> Record:
    """The stored form of a forecast (value = the nowcast of the survey week in progress).

    ``inputs`` names the last known day of each input and the fuel's last price
    (:func:`~fuelpipe.outlook.series.input_mark`).
    """
    attrs: dict[str, AttrValue] = {
        "as_of": forecast.as_of.isoformat(),
        "last_week": forecast.last_week.isoformat(),
        "last_price": _dec(forecast.last_price),
        # None (absent) when unknown: no driver value at all (a state's no-change fallback)
        "driver_move": (
            _dec(forecast.driver_move, 6) if math.isfinite(forecast.driver_move) else None
        ),
        "driver_day": forecast.driver_day.isoformat() if forecast.driver_day else None,
        "horizons": len(forecast.steps),
        "inputs": inputs,
        "stale": stale_text(forecast.stale),
        "drivers_dropped": int(forecast.drivers_dropped),
        "loo_bands": loo_text(forecast.loo_horizons),
    }
    if forecast.no_change is not None:
        last = forecast.no_change.national_last_week
        attrs["no_change"] = forecast.no_change.reason
        attrs["national_last_week"] = last.isoformat() if last else None
    for step in forecast.steps:
        h = step.horizon
        attrs[f"w{h}"] = step.week.isoformat()
        attrs[f"p{h}"] = _dec(step.point)
        for band in BANDS:
            attrs[f"{band}_{h}"] = _dec(getattr(step, band))
    return Record(
        key=key,
        date=forecast.as_of.astimezone(SAO_PAULO).date(),
        value=_dec(forecast.steps[0].point),
        status=Status.OK,
        attrs=attrs,
    )


@dataclass(frozen=True, slots=True)
class StoredForecast:
    """A forecast read back from the store, with the published prices known so far."""

    key: str
    forecast: Forecast
    actuals: dict[int, float]

    def unscored(self) -> list[Step]:
        """Steps whose week has no published price attached yet."""
        return [s for s in self.forecast.steps if s.horizon not in self.actuals]

    def to_score(self, prices: Mapping[date, float], since: date) -> dict[int, float]:
        """The published prices to attach, by horizon: each unscored step's whose week is in
        ``prices``, and each scored step's from week ``since`` on whose price in ``prices``
        differs, as stored, from the one attached (ANP revised it)."""
        found: dict[int, float] = {}
        for step in self.forecast.steps:
            price = prices.get(step.week)
            if price is None:
                continue
            had = self.actuals.get(step.horizon)
            if had is None or (step.week >= since and _dec(price) != _dec(had)):
                found[step.horizon] = price
        return found


def _f(attrs: dict[str, AttrValue], name: str) -> float:
    value = attrs[name]
    if not isinstance(value, Decimal | int):
        raise ValueError(f"attribute {name} is {value!r}, not a number")
    return float(value)


def _s(attrs: dict[str, AttrValue], name: str) -> str:
    value = attrs[name]
    if not isinstance(value, str):
        raise ValueError(f"attribute {name} is {value!r}, not text")
    return value


def from_record(record: Record) -> StoredForecast:
    """Parse a stored forecast; a record that is not one raises ValueError naming the attribute."""
    a = record.attrs
    try:
        steps = []
        actuals: dict[int, float] = {}
        count = a.get("horizons")
        for h in range(1, (count if isinstance(count, int) else 0) + 1):
            steps.append(
                Step(
                    horizon=h,
                    week=date.fromisoformat(_s(a, f"w{h}")),
                    point=_f(a, f"p{h}"),
                    **{band: _f(a, f"{band}_{h}") for band in BANDS},
                )
            )
            if a.get(f"a{h}") is not None:
                actuals[h] = _f(a, f"a{h}")
        driver_day = a.get("driver_day")
        stale = a.get("stale")  # both absent from records stored before the staleness check
        reason, national = a.get("no_change"), a.get("national_last_week")
        no_change = (
            NoChange(
                reason,
                date.fromisoformat(national) if isinstance(national, str) else None,
            )
            if isinstance(reason, str)
            else None
        )
        forecast = Forecast(
            as_of=datetime.fromisoformat(_s(a, "as_of")),
            last_week=date.fromisoformat(_s(a, "last_week")),
            last_price=_f(a, "last_price"),
            driver_move=math.nan if a.get("driver_move") is None else _f(a, "driver_move"),
            driver_day=date.fromisoformat(driver_day) if isinstance(driver_day, str) else None,
            steps=tuple(steps),
            stale=parse_stale(stale) if isinstance(stale, str) else (),
            drivers_dropped=bool(a.get("drivers_dropped")),
            no_change=no_change,
            loo_horizons=parse_loo(a.get("loo_bands")),
        )
    except KeyError as exc:
        raise ValueError(f"{record.key} {record.date}: no attribute {exc.args[0]}") from None
    except ValueError as exc:
        raise ValueError(f"{record.key} {record.date}: {exc}") from None
    if not steps:
        raise ValueError(f"{record.key} {record.date}: a forecast without steps")
    return StoredForecast(record.key, forecast, actuals)


def with_actuals(record: Record, actuals: dict[int, float]) -> Record:
    """The record with published prices attached to the horizons they score."""
    attrs = dict(record.attrs)
    for h, price in actuals.items():
        attrs[f"a{h}"] = _dec(price)
    return record.with_(attrs=attrs)
