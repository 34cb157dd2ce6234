"""A revision scenario: the replay serves a different value for a date it served before.

Real sources revise: Yahoo corrects bars, FRED and ANP re-publish. ``apply_revisions`` changes
the snapshot in memory so that, from then on, the replay answers with the revised value for
one series and date (the snapshot files are never touched). ``fuelpipe replay --revise
COMMODITY#BRENT@2022-03-08=128.1`` and tests/stages/test_revisions.py use it.

A dividend is not a revision: ``apply_dividends`` re-bases Yahoo's adjusted close of every bar
before the ex-date by the dividend's factor, the closes unchanged, as Yahoo does
(``fuelpipe replay --dividend STOCK#PETR4@2022-04-25=0.97``), and reports the dividend in the
chart's ``events.dividends``: the pipeline stores that as an adjustment, not a revision.

A split re-bases the close itself: ``apply_splits`` divides every price of the bars before
the ex-date by the split's ratio (and multiplies their volume by it), as Yahoo's
split-adjusted chart does, and reports the split in ``events.splits``
(``fuelpipe replay --split STOCK#PETR4@2022-04-25=2:1``): the pipeline re-reads the ticker's
whole stored history and stores each changed close as a revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from fuelpipe.domain.keys import parse_date_key
from fuelpipe.replay.snapshot_data import (
    FRED_KEYS,
    YAHOO_KEYS,
    Bar,
    DividendEvent,
    Snapshot,
    SplitEvent,
)

Revisions = Mapping[tuple[str, date], Decimal]
Dividends = Mapping[tuple[str, date], Decimal]
"""(Yahoo key, ex-date) -> the factor every earlier adjusted close is multiplied by."""
Splits = Mapping[tuple[str, date], tuple[int, int]]
"""(Yahoo key, ex-date) -> (numerator, denominator): 2:1 is (2, 1), a 1:10 reverse split (1, 10)."""


def parse_revision(spec: str, what: str = "revision") -> tuple[tuple[str, date], Decimal]:
    """``KEY@YYYY-MM-DD=VALUE`` → ``((key, date), value)``; ValueError with one clear line
    naming the ``what`` (``--revise``'s revision, ``--dividend``'s dividend)."""
    form = "KEY@YYYY-MM-DD=VALUE" if what == "revision" else "KEY@EX-DATE=FACTOR"
    try:
        target, value = spec.rsplit("=", 1)
        key, day = target.rsplit("@", 1)
        number = Decimal(value)
    except (ValueError, InvalidOperation):
        raise ValueError(f"{what} {spec!r} is not {form}") from None
    if not number.is_finite():
        raise ValueError(f"{what} {spec!r}: {value!r} is not a number")
    try:
        day_ = parse_date_key(day)
    except ValueError:
        raise ValueError(f"{what} {spec!r}: {day!r} is not a date (YYYY-MM-DD)") from None
    return (key.upper(), day_), number


def apply_revisions(snapshot: Snapshot, revisions: Revisions) -> None:
    """Serve each revised value instead of the snapshot's; KeyError for a date never served."""
    symbols = {key: sym for sym, key in YAHOO_KEYS.items()}
    series_ids = {key: sid for sid, key in FRED_KEYS.items()}
    for (key, day), value in revisions.items():
        if key.startswith("CURRENCY#") and key.split("#", 1)[1] in snapshot.ptax:
            quotes = snapshot.ptax[key.split("#", 1)[1]]
            i = _index([q.day for q in quotes], key, day)
            quotes[i] = replace(quotes[i], sell=str(value))
        elif key in symbols and symbols[key] in snapshot.bars:
            bars = snapshot.bars[symbols[key]]
            i = _index([b.day for b in bars], key, day)
            bars[i] = replace(bars[i], close=float(value))
        elif key in series_ids and series_ids[key] in snapshot.fred:
            rows = snapshot.fred[series_ids[key]]
            i = _index([o.day for o in rows], key, day)
            rows[i] = replace(rows[i], value=str(value))
        elif key.startswith("CURRENCY#"):
            raise KeyError(
                f"the replay cannot revise {key}: its snapshot serves PTAX for "
                f"{', '.join(sorted(snapshot.ptax))} only"
            )
        else:
            raise KeyError(f"the replay cannot revise {key}: not a PTAX, Yahoo or FRED series")


def parse_dividend(spec: str) -> tuple[tuple[str, date], Decimal]:
    """``KEY@EX-DATE=FACTOR`` (0 < factor <= 1) → ``((key, ex_date), factor)``."""
    slot, factor = parse_revision(spec, "dividend")
    if not 0 < factor <= 1:
        raise ValueError(f"dividend {spec!r}: the factor must be above 0 and at most 1")
    return slot, factor


def apply_dividends(snapshot: Snapshot, dividends: Dividends) -> None:
    """Re-base the adjusted close of each Yahoo series' bars before the ex-date (to Yahoo's 6
    decimals); the closes stay. The dividend is reported as an event, its amount the one the
    factor stands for (``1 - amount / last close before the ex-date``). KeyError for a series
    that is not served from Yahoo bars."""
    symbols = {key: sym for sym, key in YAHOO_KEYS.items()}
    for (key, ex_date), factor in dividends.items():
        if key not in symbols or symbols[key] not in snapshot.bars:
            raise KeyError(f"the replay cannot pay a dividend on {key}: not a Yahoo series")
        bars = snapshot.bars[symbols[key]]
        before = [b for b in bars if b.day < ex_date]
        if before:
            amount = round(before[-1].close * (1 - float(factor)), 6)
            snapshot.dividends.setdefault(symbols[key], []).append(DividendEvent(ex_date, amount))
        bars[:] = [
            replace(b, adj_close=round(b.adj_close * float(factor), 6)) if b.day < ex_date else b
            for b in bars
        ]


def parse_split(spec: str) -> tuple[tuple[str, date], tuple[int, int]]:
    """``KEY@EX-DATE=N:D`` (``2:1``; a bare ``N`` is ``N:1``) → ``((key, ex_date), (N, D))``."""
    try:
        target, ratio = spec.rsplit("=", 1)
        key, day = target.rsplit("@", 1)
        numerator, _, denominator = ratio.partition(":")
        parts = (int(numerator), int(denominator or "1"))
        ex_date = parse_date_key(day)
    except ValueError:
        raise ValueError(f"split {spec!r} is not KEY@EX-DATE=N:D (e.g. =2:1)") from None
    if min(parts) < 1 or parts[0] == parts[1]:
        raise ValueError(f"split {spec!r}: N and D must be whole numbers from 1, not equal")
    return (key.upper(), ex_date), parts


def apply_splits(snapshot: Snapshot, splits: Splits) -> None:
    """Divide the prices of each Yahoo series' bars before the ex-date by the split's ratio
    (to Yahoo's 6 decimals) and multiply their volume by it, and report the split as an
    event. KeyError for a series not served from Yahoo bars, or an ex-date with no bar."""
    symbols = {key: sym for sym, key in YAHOO_KEYS.items()}
    for (key, ex_date), (numerator, denominator) in splits.items():
        if key not in symbols or symbols[key] not in snapshot.bars:
            raise KeyError(f"the replay cannot split {key}: not a Yahoo series")
        bars = snapshot.bars[symbols[key]]
        if ex_date not in {b.day for b in bars}:  # the event is stamped as that day's bar
            raise KeyError(f"the replay serves no {key} bar on {ex_date} to split from")
        ratio = numerator / denominator
        bars[:] = [_split_bar(b, ratio) if b.day < ex_date else b for b in bars]
        events = snapshot.splits.setdefault(symbols[key], [])
        events.append(SplitEvent(ex_date, numerator, denominator))


def _split_bar(bar: Bar, ratio: float) -> Bar:
    """A bar on the basis after a split of ``ratio`` new shares per old one."""
    return replace(
        bar,
        open=round(bar.open / ratio, 6),
        high=round(bar.high / ratio, 6),
        low=round(bar.low / ratio, 6),
        close=round(bar.close / ratio, 6),
        adj_close=round(bar.adj_close / ratio, 6),
        volume=round(bar.volume * ratio),
    )


def _index(days: list[date], key: str, day: date) -> int:
    try:
        return days.index(day)
    except ValueError:
        raise KeyError(f"the replay never served {key} on {day}: nothing to revise") from None
