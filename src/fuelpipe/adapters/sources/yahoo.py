"""Yahoo Finance chart API v8: daily bars for shares and Brent futures."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fuelpipe.adapters.sources._http import (
    HttpSource,
    json_decimal,
    parse_json,
    single_series,
    snippet,
)
from fuelpipe.adapters.sources._unsure import unsure_days
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.intraday import IntradayPoint
from fuelpipe.domain.models import LACKING_ATTR, AttrValue, Observation, Split, lacking_text
from fuelpipe.ports.source import (
    FetchRequest,
    FetchResult,
    InvalidPayload,
    NotFound,
    PermanentSourceError,
)

DEFAULT_BASE_URL = "https://query1.finance.yahoo.com"
# Yahoo's answer (HTTP 400) to a window before the first bar: no data there, not a failure.
_NO_DATA_PREFIX = "Data doesn't exist for startDate"
_FIELDS = ("open", "high", "low", "close", "volume")
_SIDE_FIGURES = ("open", "high", "low", "adj_close", "volume")
"""The figures a daily bar carries beside its close: one the answer lacks (a null in the bar,
a missing or short array) is named in the observation's ``lacking`` attribute."""

Notes = dict[tuple[str, date], str]

logger = logging.getLogger(__name__)


def _periods(start: date, end: date, tz: str) -> tuple[int, int]:
    """Epoch seconds of midnight of ``start`` and of the midnight after ``end``, in ``tz``."""
    zone = ZoneInfo(tz)
    period1 = int(datetime.combine(start, time(0), zone).timestamp())
    period2 = int(datetime.combine(end + timedelta(days=1), time(0), zone).timestamp())
    return period1, period2


EARLY_STAMP = timedelta(hours=2)
"""Yahoo stamps some daily bars an hour or two before the session's local midnight (the
evening before: B3 around 2021-22, yfinance's ``fix_Yahoo_dst_issue``); the window opens that
much earlier so such a bar for ``start`` is not left out, and ``bar_day`` moves it back."""


def bar_day(stamp: int, zone: ZoneInfo) -> date:
    """The session date of a daily bar: its local date, or the next day for a bar stamped on
    the hour at 22:00 or 23:00 (a midnight stamp an hour or two early)."""
    local = datetime.fromtimestamp(stamp, zone)
    if local.hour >= 22 and local.minute == 0 and local.second == 0:
        return local.date() + timedelta(days=1)
    return local.date()


def chart_url(base_url: str, symbol: str, start: date, end: date, tz: str) -> str:
    """The chart URL for ``[start, end]``: from midnight of start (less EARLY_STAMP) to
    midnight after end."""
    period1, period2 = _periods(start, end, tz)
    period1 -= int(EARLY_STAMP.total_seconds())
    return (
        f"{base_url.rstrip('/')}/v8/finance/chart/{quote(symbol, safe='=')}"
        f"?period1={period1}&period2={period2}&interval=1d&events=div,splits"
        "&includeAdjustedClose=true"
    )


def bars_url(base_url: str, symbol: str, day: date, tz: str, interval: str = "15m") -> str:
    """The chart URL for one day's intraday bars (``15m``: Yahoo keeps the last 60 days)."""
    period1, period2 = _periods(day, day, tz)
    return (
        f"{base_url.rstrip('/')}/v8/finance/chart/{quote(symbol, safe='=')}"
        f"?period1={period1}&period2={period2}&interval={interval}&includePrePost=false"
    )


def parse_bars(
    payload: object, key: str, tz: str, day: date, interval: str, where: str = "yahoo"
) -> list[IntradayPoint]:
    """The day's intraday bars (bar start in the exchange's zone). A bar without a close is
    skipped (Yahoo leaves a bar with no trade as nulls: missing, not zero); one with a close is
    kept, as a daily bar is, with the figures it has: a null open, high, low or volume is left
    out of its attrs, and a volume that is not whole is kept as the exact number published. A
    body that is not such an answer is an InvalidPayload. A bar whose timestamp is out of range
    (no instant, so no day's) is logged and skipped, the others kept; an answer with such a bar
    and no bar of the day is an InvalidPayload naming it. Yahoo's live row of an open bar (the
    last row, less than an interval after the bar before it) is merged into that bar."""
    arrays = _arrays(payload, tz, where)
    if arrays is None:
        return []
    arrays.say_lacking(key)
    points = []
    undated: list[int] = []
    for i, stamp in enumerate(arrays.stamps):
        try:
            at = datetime.fromtimestamp(stamp, arrays.zone)
        except (OverflowError, OSError, ValueError):
            undated.append(stamp)
            continue
        if at.date() != day:
            continue
        close = json_decimal(arrays.columns["close"][i])
        if close is None:
            continue
        attrs: dict[str, Decimal | int | str] = {}
        for name in ("open", "high", "low", "volume"):
            value = json_decimal(arrays.columns[name][i])
            if value is not None:
                whole = name == "volume" and value == value.to_integral_value()
                attrs[name] = int(value) if whole else value
        points.append(IntradayPoint(key, at, interval, close, attrs))
    if undated:
        why = f"{where}: timestamp {undated[0]} is out of range"
        if not points:
            raise InvalidPayload(why)
        more = f" (and {len(undated) - 1} more such bars)" if len(undated) > 1 else ""
        logger.warning("%s%s; bar skipped, %s's other bars of %s kept", why, more, key, day)
    return _live_merged(points, interval, where)


_INTERVAL = re.compile(r"^(\d+)([mh])$")


def _live_merged(points: list[IntradayPoint], interval: str, where: str) -> list[IntradayPoint]:
    """``points`` with Yahoo's live row, when the last one is that, merged into its bar.

    While a bar is open Yahoo answers with its row (stamped at the bar's start) and then one
    more row, stamped when the price was read (10:37:12 in the 10:30 bar): that row is no bar
    of its own, and kept as one it would stay in the day as a bar starting 10:37:12 that no
    later answer replaces. As yfinance merges it (``fix_Yahoo_returning_live_separate``,
    docs/SOURCE_FORMATS.md): the bar keeps its open (the live row's if it has none), its high
    and low take the live row's if beyond them, the close is the live row's, and the volumes
    add up (left out if either is missing: the bar's total is then unknown).

    A live row that comes without its bar's own row (more than an interval after the bar
    before it, off the grid those bars are on: the open bar's row had no close, or was not
    sent) is put on that grid, at the start of the bar it was read in (10:37:12 after a 10:15
    bar: 10:30), with its close only (the bar's open, high, low and volume are not known from
    it); kept at 10:37:12 it stayed beside the 10:30 bar a later answer stores. The grid is
    the answer's own bars' (their spacing, whole intervals from one to the next); a live row
    with no bar before it in the answer is kept as it is: ``meta.currentTradingPeriod`` is
    the session current when asked (after a close, the next day's: not the asked day's), and
    no real answer here shows ``tradingPeriods``' session start as the bars' grid."""
    found = _INTERVAL.match(interval)
    if len(points) < 2 or found is None:  # a bar and a live row at least
        return points
    length = timedelta(minutes=int(found[1]) * (60 if found[2] == "h" else 1))
    bar, live = points[-2], points[-1]
    gap = live.at - bar.at
    if gap > length and gap % length and _on_grid(points[:-1], length):
        start = bar.at + (gap // length) * length
        logger.info(
            "%s: the row at %s is the live price of the bar at %s, sent without the bar's "
            "row: stored as that bar, its close only",
            where, live.at.time().isoformat(), start.time().isoformat(),
        )  # fmt: skip
        return [*points[:-1], replace(live, at=start, attrs={})]
    if not timedelta(0) < gap < length:
        return points
    attrs = dict(bar.attrs)
    if "open" not in attrs and "open" in live.attrs:
        attrs["open"] = live.attrs["open"]
    for name, pick in (("high", max), ("low", min)):
        if name in live.attrs:
            attrs[name] = pick(v for v in (attrs.get(name), live.attrs[name]) if v is not None)
    if "volume" in attrs and "volume" in live.attrs:
        attrs["volume"] = attrs["volume"] + live.attrs["volume"]  # type: ignore[operator]
    else:
        attrs.pop("volume", None)
    logger.info(
        "%s: the row at %s is the live price of the bar at %s: merged into it",
        where, live.at.time().isoformat(), bar.at.time().isoformat(),
    )  # fmt: skip
    return [*points[:-2], replace(bar, value=live.value, attrs=attrs)]


def _on_grid(bars: list[IntradayPoint], length: timedelta) -> bool:
    """Whether ``bars`` start whole intervals apart, one after another."""
    return all(b.at > a.at and not (b.at - a.at) % length for a, b in pairwise(bars))


def _chart_error(payload: object) -> tuple[str, str] | None:
    """``(code, description)`` of ``chart.error`` when the body carries one."""
    if isinstance(payload, dict) and isinstance(payload.get("chart"), dict):
        error = payload["chart"].get("error")
        if isinstance(error, dict):
            return str(error.get("code", "")), str(error.get("description", ""))
    return None


def _zone(name: object, fallback: str) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(fallback)


def _column(block: object, name: str, length: int, where: str) -> list[object]:
    if not isinstance(block, dict):
        raise InvalidPayload(f"{where}: indicators block is not an object")
    values = block.get(name)
    if not isinstance(values, list) or len(values) != length:
        got = f"{len(values)} long" if isinstance(values, list) else "missing"
        raise InvalidPayload(f"{where}: indicators.{name} is {got}, not {length} long (the bars)")
    return values


def _first(container: object, name: str, where: str, *, required: bool = True) -> object:
    """``container[name][0]``, the shape Yahoo uses for indicator blocks."""
    items = container.get(name) if isinstance(container, dict) else None
    if isinstance(items, list) and items:
        return items[0]
    if required:
        raise InvalidPayload(f"{where}: indicators.{name}[0] missing")
    return None


@dataclass(frozen=True, slots=True)
class _Arrays:
    """The parallel arrays of one chart result, checked for shape."""

    zone: ZoneInfo
    stamps: list[int]
    columns: dict[str, list[object]]
    adjclose: list[object] | None
    lacking: tuple[str, ...] = ()
    """What of the answer could not be read beside the closes (a quote block with no ``volume``
    array, an ``adjclose`` array of another length), each in words: those figures are None in
    every bar, and the closes are still read."""

    def say_lacking(self, key: str) -> None:
        """Log each array the bars are read without, naming the series."""
        for why in self.lacking:
            logger.warning("%s; %s's bars are kept without it", why, key)


def _arrays(payload: object, fallback_tz: str, where: str) -> _Arrays | None:
    """The result's arrays; None when the window holds no bar; NotFound for unknown symbols."""
    error = _chart_error(payload)
    if error is not None:
        code, description = error
        if code == "Not Found":
            raise NotFound(f"{where}: Yahoo does not know the symbol: {description}")
        if description.startswith(_NO_DATA_PREFIX):
            return None
        raise InvalidPayload(f"{where}: chart.error {code}: {description}")
    chart = payload.get("chart") if isinstance(payload, dict) else None
    results = chart.get("result") if isinstance(chart, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise InvalidPayload(f"{where}: expected chart.result[0]")
    result = results[0]
    meta = result.get("meta")
    zone = _zone(meta.get("exchangeTimezoneName") if isinstance(meta, dict) else None, fallback_tz)
    stamps = result.get("timestamp")
    if stamps is None:  # Yahoo omits timestamp and the arrays when the window has no bar
        return None
    if not isinstance(stamps, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in stamps
    ):
        raise InvalidPayload(f"{where}: chart.result[0].timestamp is not a list of integers")
    indicators = result.get("indicators")
    quote_block = _first(indicators, "quote", where)
    # The close is the value: without it no bar can be read. Another array missing or of
    # another length costs its own figure only (every bar's close is still readable).
    columns = {"close": _column(quote_block, "close", len(stamps), where)}
    lacking: list[str] = []
    for name in _FIELDS:
        if name != "close":
            columns[name] = _optional_column(quote_block, name, len(stamps), where, lacking)
    adj_block = _first(indicators, "adjclose", where, required=False)
    adjclose = None
    if adj_block:
        adjclose = _optional_column(adj_block, "adjclose", len(stamps), where, lacking)
    return _Arrays(zone, stamps, columns, adjclose, tuple(lacking))


def _optional_column(
    block: object, name: str, length: int, where: str, lacking: list[str]
) -> list[object]:
    """``block[name]``, or as many Nones as there are bars when it is missing or of another
    length, said in ``lacking``."""
    try:
        return _column(block, name, length, where)
    except InvalidPayload as exc:
        lacking.append(str(exc))
        return [None] * length


def _bar(
    arrays: _Arrays, i: int, raw: tuple[object, ...], key: str, day: date, where: str
) -> Observation | str:
    """Bar ``i`` (``raw``: its _FIELDS values) as an observation, or the reason it is not one."""
    o, h, low, c, v = values = [json_decimal(x) for x in raw]
    if c is None:  # the close is the value: without it the date stays a retry
        nulls = ", ".join(name for name, x in zip(_FIELDS, values, strict=True) if x is None)
        return f"yahoo: null {nulls} in the bar: missing, not zero"
    if v is not None and v == 0 and o == h == low == c:
        # Not a published value: Yahoo emits such a bar on days B3 was closed, repeating the
        # last close with no trade behind it. In the real PETR4 history every one falls on a
        # closed day (2017-11-15, 2017-11-20, 2017-12-25, 2017-12-29, 2018-01-25), and PRIO3's
        # one (2022-09-26) repeats Friday's close on a day it had no trade in Yahoo's data
        # (tests/calendars/test_calendar_history.py): storing one would invent a session.
        return "yahoo: stale bar (open=high=low=close, volume 0): no trading"
    if v is not None and v != v.to_integral_value():  # a bad cell: this bar's, not the answer's
        return f"{where}: volume {v} on {day} is not whole; the day is retried"
    adj = json_decimal(arrays.adjclose[i]) if arrays.adjclose is not None else None
    attrs: dict[str, AttrValue] = {
        "open": o,
        "high": h,
        "low": low,
        "close": c,
        "adj_close": adj,
        "volume": None if v is None else int(v),  # a null volume: a close is still a close
    }
    # Every Yahoo series (shares, BZ=F) carries these: one the answer lacks is named, so the
    # date is asked again until it comes (the close stored OK meanwhile).
    lacking = lacking_text(name for name in _SIDE_FIGURES if attrs[name] is None)
    if lacking is not None:
        attrs[LACKING_ATTR] = lacking
    return Observation(key=key, date=day, value=c, attrs=attrs)


def parse_chart(
    payload: object, key: str, fallback_tz: str, start: date, end: date, where: str = "yahoo"
) -> tuple[list[Observation], Notes]:
    """Daily bars in ``[start, end]`` from a chart JSON body (already parsed with Decimals).

    A body that is not such an answer is an InvalidPayload; a bar that cannot be read is a note
    for its day (a null close, a volume that is not whole), and the other bars are kept. A day
    is its latest bar's: an earlier bar of that day is neither its value nor its note; two
    different bars of that latest instant are a note (which is the day's cannot be told), the
    same bar twice one bar. A bar
    whose timestamp is out of range has no knowable day: it is logged, and each day of the
    window no bar answers gets a note naming it (it may be that day's), so none is lost quietly.
    An array beside the closes that is missing or of another length (no ``volume``, a short
    ``adjclose``) is logged naming the series and the array, and the bars are kept without it.
    A bar kept without a figure it normally carries (a null open, high, low or volume, or such
    an array) names the figures in ``attrs["lacking"]`` (``"adj_close,volume"``): the close is
    stored OK, and recheck asks for the date again until they come.
    """
    arrays = _arrays(payload, fallback_tz, where)
    if arrays is None:
        return [], {}
    arrays.say_lacking(key)
    latest: dict[date, tuple[int, Observation | str]] = {}  # each day's last bar, read or not
    undated: list[int] = []  # the timestamps that are no day's
    columns = [arrays.columns[name] for name in _FIELDS]
    for i, (stamp, *raw) in enumerate(zip(arrays.stamps, *columns, strict=True)):
        try:
            day = bar_day(stamp, arrays.zone)
        except (OverflowError, OSError, ValueError):
            undated.append(stamp)
            continue
        if not start <= day <= end:
            continue
        kept = latest.get(day)
        # Two bars for one day happen around a live session; the later one is the day's, so a
        # later bad bar makes the day a retry rather than keep an earlier snapshot as its value.
        if kept is None or stamp > kept[0]:
            latest[day] = (stamp, _bar(arrays, i, tuple(raw), key, day, where))
        elif stamp == kept[0] and (bar := _bar(arrays, i, tuple(raw), key, day, where)) != kept[1]:
            # Two bars of one instant: neither is later, so which is the day's is unknown (BCB's
            # and FRED's rule for a day given twice with two values); the same bar twice is one.
            latest[day] = (stamp, _tie(stamp, kept[1], bar, where))
    bars = {day: obs for day, (_, obs) in latest.items() if not isinstance(obs, str)}
    notes: Notes = {(key, day): why for day, (_, why) in latest.items() if isinstance(why, str)}
    if undated:
        why = f"{where}: timestamp {undated[0]} is out of range, its bar is no day's"
        more = f" (and {len(undated) - 1} more such bars)" if len(undated) > 1 else ""
        logger.warning("%s%s; %s's bars of other days are kept", why, more, key)
        answered = bars.keys() | {day for _, day in notes}
        notes.update(unsure_days(key, (start, end), answered, why))
    return [obs for _, obs in sorted(bars.items())], notes


def _tie(stamp: int, first: Observation | str, second: Observation | str, where: str) -> str:
    """The retry note for two different bars stamped ``stamp``: their closes, or, when those
    are equal (or a bar could not be read), that the bars differ."""
    closes = [b.value if isinstance(b, Observation) else None for b in (first, second)]
    if isinstance(first, str) and first.startswith(f"{where}: two bars at"):
        return first  # a third bar of a tied instant: the tie stands
    if None not in closes and closes[0] != closes[1]:
        said = f"closes {closes[0]} and {closes[1]}"
    else:
        said = "different figures"
    return (
        f"{where}: two bars at {stamp} with {said}: which one is the day's close is unknown; "
        "the day is retried"
    )


def parse_splits(
    payload: object, key: str, fallback_tz: str, where: str = "yahoo"
) -> tuple[Split, ...]:
    """The stock splits a chart answer reports, oldest first.

    Asked for with ``events=div,splits``, Yahoo lists the events dated inside the window
    under ``chart.result[0].events``, each keyed by its timestamp (the ex-date's session,
    as a bar is stamped): ``"splits": {"1650891600": {"date": 1650891600, "numerator": 2,
    "denominator": 1, "splitRatio": "2:1"}}`` (``dividends`` beside it: not splits, not read
    here). Most answers carry no ``events`` at all. A split entry that is not that shape is
    an InvalidPayload: a split read wrong would leave the history on two bases.
    """
    chart = payload.get("chart") if isinstance(payload, dict) else None
    results = chart.get("result") if isinstance(chart, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return ()  # an error body: parse_chart has said what it is
    result = results[0]
    events = result.get("events")
    if events is not None and not isinstance(events, dict):
        raise InvalidPayload(f"{where}: chart.result[0].events is not an object")
    splits = events.get("splits") if events is not None else None
    if splits is None:
        return ()
    if not isinstance(splits, dict):
        raise InvalidPayload(f"{where}: chart.result[0].events.splits is not an object")
    meta = result.get("meta")
    zone = _zone(meta.get("exchangeTimezoneName") if isinstance(meta, dict) else None, fallback_tz)
    found = {
        _split(event, key, zone, f"{where}: events.splits[{name!r}]")
        for name, event in splits.items()
    }
    return tuple(sorted(found, key=lambda split: split.date))


def _split(event: object, key: str, zone: ZoneInfo, where: str) -> Split:
    """One ``events.splits`` entry; its ratio from numerator and denominator, or from
    ``splitRatio`` ("2:1", older answers "2/1") when the numbers are missing."""
    if not isinstance(event, dict):
        raise InvalidPayload(f"{where}: not an object")
    stamp = event.get("date")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise InvalidPayload(f"{where}: date {stamp!r} is not a timestamp")
    numerator = json_decimal(event.get("numerator"))
    denominator = json_decimal(event.get("denominator"))
    if numerator is None or denominator is None:
        numerator, denominator = _ratio_text(event.get("splitRatio"), where)
    if numerator <= 0 or denominator <= 0:
        raise InvalidPayload(f"{where}: ratio {numerator}:{denominator} is not positive")
    try:
        day = bar_day(stamp, zone)
    except (OverflowError, OSError, ValueError):
        raise InvalidPayload(f"{where}: timestamp {stamp} is out of range") from None
    return Split(key, day, numerator, denominator)


def _ratio_text(text: object, where: str) -> tuple[Decimal, Decimal]:
    """``splitRatio``'s numerator and denominator."""
    parts = text.replace("/", ":").split(":") if isinstance(text, str) else []
    try:
        numerator, denominator = (Decimal(part) for part in parts)
    except (ValueError, InvalidOperation):
        raise InvalidPayload(
            f"{where}: no numerator and denominator, splitRatio {text!r}"
        ) from None
    if not (numerator.is_finite() and denominator.is_finite()):
        raise InvalidPayload(f"{where}: splitRatio {text!r} is not a ratio")
    return numerator, denominator


class YahooChartSource(HttpSource):
    """Daily bars for one symbol per request, politely spaced.

    Former symbols: when Yahoo answers "not found" for the current symbol (TTE, SHEL), each
    former symbol (TOT, RDS-A) is asked in turn for the same window, and its bars are stored
    under the current series key with ``attrs["symbol"]`` naming the symbol that served them.
    """

    name = "yahoo"
    default_base_url = DEFAULT_BASE_URL

    def fetch(self, request: FetchRequest) -> FetchResult:
        """Daily bars of ``request``'s one series between its start and end."""
        series = single_series(request, self.name)
        tried: list[str] = []
        for symbol in (series.symbol, *series.former_symbols):
            try:
                observations, notes, splits = self._fetch_symbol(symbol, series, request)
            except NotFound as exc:
                tried.append(f"{symbol} ({exc})")
                continue
            if symbol != series.symbol:
                observations = [
                    replace(obs, attrs={**obs.attrs, "symbol": symbol}) for obs in observations
                ]
            return FetchResult(observations, notes, requests=1, splits=splits)
        raise NotFound(f"yahoo: no symbol of {series.key} is known: {'; '.join(tried)}")

    def _fetch_symbol(
        self, symbol: str, series: Series, request: FetchRequest
    ) -> tuple[list[Observation], Notes, tuple[Split, ...]]:
        url = chart_url(self.base_url, symbol, request.start, request.end, series.exchange_tz)
        where = f"{self.name}: {url}"
        # 400 and 404 carry a chart.error body that says what happened; read it before failing.
        response = self.get(url, pass_statuses=(400, 404))
        if response.status_code in (400, 404):
            return (*self._refusal(response.status_code, response.content, url), ())
        payload = parse_json(response.content, self.name, url)
        observations, notes = parse_chart(
            payload, series.key, series.exchange_tz, request.start, request.end, where
        )
        return observations, notes, parse_splits(payload, series.key, series.exchange_tz, where)

    def fetch_intraday(self, series: Series, day: date) -> list[IntradayPoint]:
        """The intraday points of a day: its 15-minute bars."""
        return self.fetch_bars(series, day)

    def fetch_bars(self, series: Series, day: date, interval: str = "15m") -> list[IntradayPoint]:
        """One day's intraday bars of a series (B3 quotes come 15 minutes late)."""
        url = bars_url(self.base_url, series.symbol, day, series.exchange_tz, interval)
        response = self.get(url, pass_statuses=(400, 404))
        if response.status_code in (400, 404):
            self._refusal(response.status_code, response.content, url)
            return []
        payload = parse_json(response.content, self.name, url)
        where = f"{self.name}: {url}"
        return parse_bars(payload, series.key, series.exchange_tz, day, interval, where)

    def _refusal(self, status: int, content: bytes, url: str) -> tuple[list[Observation], Notes]:
        """A 400/404: unknown symbol (NotFound), no bars in the window (empty), or a bad request."""
        try:
            error = _chart_error(parse_json(content, self.name, url))
        except InvalidPayload:
            error = None
        code, description = error or ("", snippet(content))
        where = f"{self.name}: {url}"
        if status == 404 or code == "Not Found":
            raise NotFound(f"{where}: HTTP {status}: unknown symbol: {description!r}")
        if description.startswith(_NO_DATA_PREFIX):
            return [], {}
        raise PermanentSourceError(f"{where}: HTTP {status}: {code} {description!r}")
