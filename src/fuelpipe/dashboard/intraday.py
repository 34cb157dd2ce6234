"""The "Hoje · Today" view: one series' PTAX bulletins or 15-minute bars of a day.

Read-only over the intraday store (``INTRADAY#<key>#<day>`` partitions, one Query), with the
series' previous daily close from the main store as the day's reference.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel

from fuelpipe.dashboard.app import (
    CSV_RESPONSES,
    answer,
    not_too_far_ahead,
    table_check,
    table_help,
)
from fuelpipe.dashboard.errors import InvalidRequestError
from fuelpipe.dashboard.formats import FormatQ
from fuelpipe.dashboard.params import DateParam
from fuelpipe.dashboard.schemas import IntradayPointOut, IntradayView, PreviousClose
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.intraday import INTRADAY_SERIES, RETENTION, IntradayPoint, trading_keys
from fuelpipe.domain.models import Status
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.store import Store

INTRADAY_PATH = "/api/intraday"
PREVIOUS_CLOSE_LOOKBACK = timedelta(days=31)
"""How far back the previous close is looked for: longer than any market's holiday silence."""


def collect_hint(series: Series) -> str:
    """How the day's points of ``series`` are collected, naming what they are: BCB's are PTAX
    bulletins, a share's or BZ=F's 15-minute bars."""
    what = "PTAX bulletins" if series.source == "bcb" else "15-minute bars"
    return (
        f"`fuelpipe watch` stores the day's {what} as they are published "
        f"(kept {RETENTION.days} days)"
    )


def check_intraday_series(value: str) -> str:
    """A series with intraday values, case-insensitive."""
    key = value.strip().upper()
    if key not in INTRADAY_SERIES:
        raise ValueError(f"{value!r} has no intraday values; one of {', '.join(INTRADAY_SERIES)}")
    return key


IntradaySeriesQ = Annotated[
    str,
    AfterValidator(check_intraday_series),
    Query(description=f"the series: one of {', '.join(INTRADAY_SERIES)}; case-insensitive"),
]


def closes(store: Store, key: str, day: date) -> tuple[PreviousClose | None, PreviousClose | None]:
    """The last stored daily value of ``key`` before ``day`` and the one of ``day`` itself, if
    any (the overview's card shows it: a day whose close is stored without intraday points is
    not a day with nothing); one Query."""
    records = store.query(key, day - PREVIOUS_CLOSE_LOOKBACK, day, ("value",))
    ok = [(r.date, r.value) for r in records if r.status is Status.OK and r.value is not None]
    before = [(d, v) for d, v in ok if d < day]
    own = [(d, v) for d, v in ok if d == day]
    return (
        PreviousClose(date=before[-1][0], value=float(before[-1][1])) if before else None,
        PreviousClose(date=day, value=float(own[-1][1])) if own else None,
    )


STALE_AFTER = timedelta(days=7)
"""A series whose newest stored daily value is older than this before the day shown is one
this store no longer receives: its panel says since when, not that points are still to come."""


def newest_daily(store: Store, key: str, day: date, prev: PreviousClose | None) -> date | None:
    """The date of ``key``'s newest stored daily value before ``day`` (None: none stored at
    all); ``prev``: the previous close :func:`closes` found, read again only when it found none
    (the day's own close is not asked for: a day with one is said by it)."""
    if prev is not None:
        return prev.date
    older = store.query(
        key, None, day - PREVIOUS_CLOSE_LOOKBACK, ("value",), limit=31, newest_first=True
    )
    return next((r.date for r in older if r.status is Status.OK and r.value is not None), None)


LAST_SESSION_LOOKBACK = 10
"""Days the panel looks back, on a day without a session, for the series' last one: longer
than any market's run of closed days (Carnival, Christmas to New Year with a weekend)."""


def shown_day(
    points_store: IntradayStore | None,
    catalog: Catalog,
    key: str,
    now: datetime,
    end: date | None = None,
) -> tuple[date, list[IntradayPoint] | None]:
    """The day the panel shows when none is asked for: São Paulo's today (or the End date
    ``end``, when it is before today), unless the series has no session that day (its
    calendar's weekend or holiday) and no point on it (BZ=F's Sunday evening bars are on one):
    then its last session day, as a market screen shows Friday on a Saturday. (A session day
    whose points are still to come stays that day: the panel says so.) With it, that day's
    points when choosing it read them (None: not read), so the view does not read them again."""
    today = now.astimezone(SAO_PAULO).date()
    if end is not None:
        today = min(today, end)
    if trading_keys(catalog, today, [key]):
        return today, None
    if points_store is not None and (
        points := points_store.sao_paulo_day(catalog[key], today, now)
    ):
        return today, points
    for back in range(1, LAST_SESSION_LOOKBACK + 1):
        day = today - timedelta(days=back)
        if trading_keys(catalog, day, [key]):
            return day, None
    return today, None


def intraday_view(
    store: Store,
    points_store: IntradayStore | None,
    catalog: Catalog,
    clock: Clock,
    key: str,
    day: date,
    read: list[IntradayPoint] | None = None,
) -> IntradayView:
    """The day's points of one series with their change from the previous close; ``read``:
    the day's points when already read (:func:`shown_day`)."""
    series = catalog[key]
    prev, close = closes(store, key, day)
    if read is not None:
        points = read
    elif points_store is not None:
        points = points_store.sao_paulo_day(series, day, clock.now())
    else:
        points = []
    out = [
        IntradayPointOut(
            at=p.at,
            time=p.at.astimezone(SAO_PAULO).strftime("%H:%M"),
            kind=p.kind,
            value=float(p.value),
            change_pct=(
                round((float(p.value) / prev.value - 1.0) * 100.0, 4)
                if prev is not None and prev.value
                else None
            ),
        )
        for p in points
    ]
    stored = f"its close of {day}, {close.value}, is stored; " if close else ""
    # With no point and no close: since when the store has had no value of the series (more
    # than STALE_AFTER: it no longer receives it), or that it holds none at all.
    newest = None if close or out else newest_daily(store, key, day, prev)
    since = newest if newest is not None and newest < day - STALE_AFTER else None
    no_daily = not (close or out) and newest is None
    none_at: datetime | None = None
    if points_store is None:
        message = f"this dashboard has no intraday store: {stored}{collect_hint(series)}"
    elif not out and not trading_keys(catalog, day, [key]):
        message = (
            f"{key} has no session on {day:%A} {day} (a weekend or holiday of its "
            f"{series.calendar} calendar): no bulletin or bar is published that day"
        )
    elif not out and (none_at := points_store.answered_none(series, day, clock.now())):
        message = (
            f"{stored}no intraday points stored for {key} on {day}: the source, asked at "
            f"{none_at.astimezone(SAO_PAULO):%H:%M} São Paulo time, answered with none"
        )
    elif since is not None:
        message = (
            f"no intraday points stored for {key} on {day}, and no value of it since {since}: "
            "this store no longer receives it"
        )
    elif not out:
        message = f"{stored}no intraday points stored for {key} on {day}: {collect_hint(series)}"
    else:
        message = None
    if no_daily and message:
        # nor a previous close to compare the points with
        message += (
            f"; no daily value of it is stored on or before {day} (`fuelpipe run` stores them)"
        )
    return IntradayView(
        key=key,
        label=series.label,
        unit=series.unit,
        day=day,
        today=clock.now().astimezone(SAO_PAULO).date(),
        as_of=out[-1].at if out else None,
        collected=points_store is not None,
        answered_none=none_at,
        stale_since=since,
        no_daily_value=no_daily,
        message=message,
        previous_close=prev,
        close=close,
        points=out,
        choices=[k for k in INTRADAY_SERIES if k in catalog],
    )


def intraday_router(
    store: Store, points_store: IntradayStore | None, catalog: Catalog, clock: Clock
) -> APIRouter:
    """``GET /api/intraday``."""
    router = APIRouter()

    @router.get(INTRADAY_PATH, response_model=IntradayView, responses=CSV_RESPONSES)
    def intraday(
        request: Request,
        series: IntradaySeriesQ = "CURRENCY#USD",
        day: Annotated[
            DateParam,
            Query(
                description="the day (ISO YYYY-MM-DD; default: today in São Paulo, or the "
                "series' last session day when it has none today and no point on it)"
            ),
        ] = None,
        end: Annotated[
            DateParam,
            Query(
                description="the page's End date (ISO YYYY-MM-DD), instead of `day`: the day "
                "shown is the End date (today when it is later), or the series' last session "
                "day before it when it has none that day, as the cards read it"
            ),
        ] = None,
        format: FormatQ = "json",
        table: Annotated[
            str | None, table_check(IntradayView), Query(description=table_help(IntradayView))
        ] = None,
    ) -> BaseModel | Response:
        """A day's PTAX bulletins or 15-minute bars of one series, and its previous close."""
        not_too_far_ahead(request, day, "day")
        not_too_far_ahead(request, end, "end")
        if day and end:
            raise InvalidRequestError("give day or end, not both: day is the day shown")
        chosen, read = (
            (day, None) if day else shown_day(points_store, catalog, series, clock.now(), end)
        )
        view = intraday_view(store, points_store, catalog, clock, series, chosen, read)
        return answer(view, format, "intraday", table, parts=[series, chosen])

    return router
