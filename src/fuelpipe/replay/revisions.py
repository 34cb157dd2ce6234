"""A revision scenario: the replay serves a different value for a date it served before.

Real sources revise: Yahoo corrects bars, FRED and ANP re-publish. ``apply_revisions`` changes
the snapshot in memory so that, from then on, the replay answers with the revised value for
one series and date (the snapshot files are never touched). ``fuelpipe replay --revise
COMMODITY#BRENT@2022-03-08=128.1`` and tests/stages/test_revisions.py use it.

A dividend is not a revision: ``apply_dividends`` re-bases Yahoo's adjusted close of every bar
before the ex-date by the dividend's factor, the closes unchanged, as Yahoo does
(``fuelpipe replay --dividend STOCK#PETR4@2022-04-25=0.97``): the pipeline stores that as an
adjustment, not a revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from fuelpipe.domain.keys import parse_date_key
from fuelpipe.replay.snapshot_data import FRED_KEYS, YAHOO_KEYS, Snapshot

Revisions = Mapping[tuple[str, date], Decimal]
Dividends = Mapping[tuple[str, date], Decimal]
"""(Yahoo key, ex-date) -> the factor every earlier adjusted close is multiplied by."""


def parse_revision(spec: str) -> tuple[tuple[str, date], Decimal]:
    """``KEY@YYYY-MM-DD=VALUE`` → ``((key, date), value)``; ValueError with one clear line."""
    try:
        target, value = spec.rsplit("=", 1)
        key, day = target.rsplit("@", 1)
        number = Decimal(value)
    except (ValueError, InvalidOperation):
        raise ValueError(f"revision {spec!r} is not KEY@YYYY-MM-DD=VALUE") from None
    if not number.is_finite():
        raise ValueError(f"revision {spec!r}: {value!r} is not a number")
    return (key.upper(), parse_date_key(day)), number


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
        else:
            raise KeyError(f"the replay cannot revise {key}: not a PTAX, Yahoo or FRED series")


def parse_dividend(spec: str) -> tuple[tuple[str, date], Decimal]:
    """``KEY@EX-DATE=FACTOR`` (0 < factor <= 1) → ``((key, ex_date), factor)``."""
    slot, factor = parse_revision(spec)
    if not 0 < factor <= 1:
        raise ValueError(f"dividend {spec!r}: the factor must be above 0 and at most 1")
    return slot, factor


def apply_dividends(snapshot: Snapshot, dividends: Dividends) -> None:
    """Re-base the adjusted close of each Yahoo series' bars before the ex-date (to Yahoo's 6
    decimals); the closes stay. KeyError for a series that is not served from Yahoo bars."""
    symbols = {key: sym for sym, key in YAHOO_KEYS.items()}
    for (key, ex_date), factor in dividends.items():
        if key not in symbols or symbols[key] not in snapshot.bars:
            raise KeyError(f"the replay cannot pay a dividend on {key}: not a Yahoo series")
        bars = snapshot.bars[symbols[key]]
        bars[:] = [
            replace(b, adj_close=round(b.adj_close * float(factor), 6)) if b.day < ex_date else b
            for b in bars
        ]


def _index(days: list[date], key: str, day: date) -> int:
    try:
        return days.index(day)
    except ValueError:
        raise KeyError(f"the replay never served {key} on {day}: nothing to revise") from None
