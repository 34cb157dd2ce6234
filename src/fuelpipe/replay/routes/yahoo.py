"""Yahoo Finance chart API v8: ``/v8/finance/chart/{symbol}?period1=&period2=&interval=1d``.

Bars are stamped at the exchange's regular session open (B3 10:00 São Paulo = 13:00 UTC,
NYSE 09:30 New York); Brent futures (BZ=F) at midnight New York time, as the real export shows.
A range without bars gets ``indicators: {"quote": [{}]}`` and no ``timestamp``, the shape Yahoo
returned in yfinance issue #806. ``events`` lists the splits and dividends dated inside the
window, each keyed by its bar's timestamp, as Yahoo does for ``events=div,splits``; the real
snapshot has none, so only a scenario (``--split``, ``--dividend``) makes the replay send any.
In ``meta``, ``firstTradeDate`` is the snapshot's first bar and ``regularMarketPrice`` its last
close (the snapshot's "now"); other meta values follow the real layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fuelpipe.replay.reply import Reply, RouteContext, json_reply
from fuelpipe.replay.rowfaults import apply_row_fault
from fuelpipe.replay.snapshot_data import YAHOO_KEYS, Bar, Snapshot

PREFIX = "/v8/finance/chart/"
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
_RANGE_DAYS = {
    "1d": 1,
    "5d": 5,
    "1mo": 31,
    "3mo": 92,
    "6mo": 183,
    "1y": 366,
    "2y": 731,
    "5y": 1827,
    "10y": 3653,
}


@dataclass(frozen=True)
class Listing:
    """Where a symbol trades and when its daily bar is stamped."""

    currency: str
    exchange: str
    instrument: str
    tz: str
    bar_time: time
    session_hours: float


B3 = Listing("BRL", "SAO", "EQUITY", "America/Sao_Paulo", time(10, 0), 7.0)
NYSE = Listing("USD", "NYQ", "EQUITY", "America/New_York", time(9, 30), 6.5)
NYMEX = Listing("USD", "NYM", "FUTURE", "America/New_York", time(0, 0), 23.0)


def listing(symbol: str) -> Listing:
    """The listing of a snapshot symbol."""
    if symbol.endswith(".SA"):
        return B3
    return NYMEX if symbol.endswith("=F") else NYSE


@lru_cache(maxsize=1 << 16)
def bar_timestamp(symbol: str, day: date) -> int:
    """The Unix time Yahoo stamps a daily bar with."""
    lst = listing(symbol)
    return int(datetime.combine(day, lst.bar_time, tzinfo=ZoneInfo(lst.tz)).timestamp())


def _tz_name(lst: Listing, moment: datetime) -> str:
    if lst.tz == "America/Sao_Paulo":
        return "BRT"  # the IANA database spells it "-03"; Yahoo says BRT
    return moment.tzname() or "UTC"


def _error(status: int, code: str, description: str) -> Reply:
    return json_reply(
        status, {"chart": {"result": None, "error": {"code": code, "description": description}}}
    )


def _meta(symbol: str, bars: list[Bar], shown: list[Bar], first: int | None) -> dict[str, Any]:
    lst = listing(symbol)
    zone = ZoneInfo(lst.tz)
    last = bars[-1]
    last_ts = bar_timestamp(symbol, last.day)
    moment = datetime.fromtimestamp(last_ts, zone)
    offset = int((moment.utcoffset() or timedelta(0)).total_seconds())
    tzname = _tz_name(lst, moment)
    close_ts = last_ts + int(lst.session_hours * 3600)
    previous = [b for b in bars if first is not None and bar_timestamp(symbol, b.day) < first]
    period = {"timezone": tzname, "gmtoffset": offset}
    return {
        "currency": lst.currency,
        "symbol": symbol,
        "exchangeName": lst.exchange,
        "instrumentType": lst.instrument,
        "firstTradeDate": bar_timestamp(symbol, bars[0].day),
        "regularMarketTime": close_ts,
        "hasPrePostMarketData": lst is NYSE,
        "gmtoffset": offset,
        "timezone": tzname,
        "exchangeTimezoneName": lst.tz,
        "regularMarketPrice": last.close,
        "chartPreviousClose": previous[-1].close if previous else (shown or bars)[0].close,
        "priceHint": 2,
        "currentTradingPeriod": {
            "pre": {**period, "start": last_ts - 3600, "end": last_ts},
            "regular": {**period, "start": last_ts, "end": close_ts},
            "post": {**period, "start": close_ts, "end": close_ts + 3600},
        },
        "dataGranularity": "1d",
        "range": "",
        "validRanges": VALID_RANGES,
    }


_FOREVER = 2**40


def _range_start(rng: str, bars: list[Bar], symbol: str) -> int | None:
    """The first timestamp of a ``range=`` request relative to the last bar; None if invalid."""
    last = bars[-1].day
    if rng in ("", "max"):
        return 0
    if rng == "ytd":
        return bar_timestamp(symbol, date(last.year, 1, 1))
    if rng not in _RANGE_DAYS:
        return None
    return bar_timestamp(symbol, last - timedelta(days=_RANGE_DAYS[rng] - 1)) - 3600


def _window(ctx: RouteContext, bars: list[Bar], symbol: str) -> tuple[int, int] | Reply:
    p1, p2 = ctx.arg("period1"), ctx.arg("period2")
    if p1 is None and p2 is None:
        rng = ctx.arg("range") or ""
        start = _range_start(rng, bars, symbol)
        if start is None:
            return _error(400, "Bad Request", f"Invalid input - range={rng} is not valid")
        return start, _FOREVER
    try:
        start = int(p1) if p1 is not None else 0
        end = int(p2) if p2 is not None else _FOREVER
    except ValueError:
        return _error(400, "Bad Request", "Invalid input - period1/period2 must be integers")
    if start > end:
        return _error(
            400,
            "Bad Request",
            "Invalid input - start date cannot be after end date. "
            f"startDate = {start}, endDate = {end}",
        )
    return start, end


def _series(bars: list[Bar], symbol: str) -> dict[str, Any]:
    return {
        "timestamp": [bar_timestamp(symbol, b.day) for b in bars],
        "indicators": {
            "quote": [
                {
                    "open": [b.open for b in bars],
                    "high": [b.high for b in bars],
                    "low": [b.low for b in bars],
                    "close": [b.close for b in bars],
                    "volume": [b.volume for b in bars],
                }
            ],
            "adjclose": [{"adjclose": [b.adj_close for b in bars]}],
        },
    }


def _events(snapshot: Snapshot, symbol: str, start: int, end: int) -> dict[str, Any]:
    """The splits and dividends of ``symbol`` stamped in ``[start, end)``, in Yahoo's shape."""
    events: dict[str, Any] = {}
    dividends = {
        str(stamp): {"amount": d.amount, "date": stamp}
        for d in snapshot.dividends.get(symbol, [])
        if start <= (stamp := bar_timestamp(symbol, d.day)) < end
    }
    splits = {
        str(stamp): {
            "date": stamp,
            "numerator": float(s.numerator),
            "denominator": float(s.denominator),
            "splitRatio": f"{s.numerator}:{s.denominator}",
        }
        for s in snapshot.splits.get(symbol, [])
        if start <= (stamp := bar_timestamp(symbol, s.day)) < end
    }
    if dividends:
        events["dividends"] = dividends
    if splits:
        events["splits"] = splits
    return events


def _bars_15m(ctx: RouteContext, symbol: str, daily: list[Bar]) -> Reply:
    """15-minute bars from the real intraday file (PETR4 2020-H2; B3 local times), as the
    chart API gives them: bar starts as UTC epoch seconds, exchange zone in ``meta``."""
    window = _window(ctx, daily, symbol)
    if isinstance(window, Reply):
        return window
    start, end = window
    zone = ZoneInfo(listing(symbol).tz)
    bars = [
        (int(b.start.replace(tzinfo=zone).timestamp()), b) for b in ctx.snapshot.bars_15m(symbol)
    ]
    chosen = [(t, b) for t, b in bars if start <= t < end]
    result: dict[str, Any] = {"meta": {**_meta(symbol, daily, [], start), "dataGranularity": "15m"}}
    if chosen:
        result["timestamp"] = [t for t, _ in chosen]
        result["indicators"] = {
            "quote": [
                {
                    "open": [float(b.open) for _, b in chosen],
                    "high": [float(b.high) for _, b in chosen],
                    "low": [float(b.low) for _, b in chosen],
                    "close": [float(b.close) for _, b in chosen],
                    "volume": [b.volume for _, b in chosen],
                }
            ]
        }
    return json_reply(200, {"chart": {"result": [result], "error": None}})


def handle(ctx: RouteContext) -> Reply:
    """Answer one request below ``/yahoo``."""
    if not ctx.path.startswith(PREFIX):
        return _error(404, "Not Found", "HTTP 404 Not Found")
    symbol = ctx.path[len(PREFIX) :].strip("/").upper()
    bars = ctx.snapshot.bars.get(symbol)
    if not bars:
        return _error(404, "Not Found", "No data found, symbol may be delisted")
    interval = ctx.arg("interval") or "1d"
    if interval == "15m":
        return _bars_15m(ctx, symbol, bars)
    if interval != "1d":
        return _error(422, "Unprocessable Entity", f"interval={interval} is not served by replay")
    window = _window(ctx, bars, symbol)
    if isinstance(window, Reply):
        return window
    start, end = window
    absent = ctx.plan.absent_days("yahoo", YAHOO_KEYS.get(symbol))
    served = [b for b in bars if b.day not in absent] if absent.ranges else bars
    stamps = {b.day: bar_timestamp(symbol, b.day) for b in served}
    inside = [b for b in served if start <= stamps[b.day] < end]
    before = [b for b in served if stamps[b.day] < start]
    after = [b for b in served if stamps[b.day] >= end]
    chosen, fault = apply_row_fault(ctx.row_fault, inside, ctx.decision.rng, before, after)
    result: dict[str, Any] = {"meta": _meta(symbol, served or bars, inside, start)}
    if chosen:
        result.update(_series(chosen, symbol))
        events = _events(ctx.snapshot, symbol, start, end)
        if events:
            result["events"] = events
        if ctx.wants_shape and len(chosen) >= 2:
            quote = result["indicators"]["quote"][0]
            quote["close"] = quote["close"][: len(chosen) // 2]  # ragged arrays
            fault = ctx.decision.kind
    else:
        result["indicators"] = {"quote": [{}]}
    reply = json_reply(200, {"chart": {"result": [result], "error": None}})
    return reply.with_fault(fault)
