"""`fuelpipe export KEY --other-figures`: the other figures a source published for a date, as
rows of their own beside the stored value.

A record keeps them in one exact text: PTAX's earlier closing bulletins of a day (a corrected
PTAX) in ``other_closings``, ANP's other rows of one state, fuel and month in ``other_rows``.
Each is read back by its adapter's reader and written as a row with the record's columns: its
``value`` (the bulletin's sell rate, the row's price) and the attributes it has (``buy``,
``parity_buy``, ``parity_sell`` and its instant as ``bulletin_at``; ``stations``, ``std``,
``min``, ...). A row's ``figure`` says which it is: ``value`` for the stored record, else the
attribute it was read from; an other figure has no ``status`` nor ``retry_count`` (it is no
record: nothing retries it).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fuelpipe.adapters.sources.anp import OTHER_ROWS, read_other_rows
from fuelpipe.adapters.sources.bcb import OTHER_CLOSINGS, read_other_closings

FIGURE = "figure"
"""The column naming what a row is: :data:`STORED`, or the attribute it was read from."""
STORED = "value"


def _text(value: object) -> object:
    """A figure as export writes an attribute: a Decimal as its exact text."""
    return str(value) if isinstance(value, Decimal) else value


def _closings(text: str) -> list[dict[str, Any]]:
    return [
        {
            "value": str(b.sell),
            "bulletin_at": b.at,
            "buy": str(b.buy),
            "parity_buy": str(b.parity_buy),
            "parity_sell": str(b.parity_sell),
        }
        for b in read_other_closings(text)
    ]


def _rows(text: str) -> list[dict[str, Any]]:
    return [
        {"value": str(price), **{k: _text(v) for k, v in sorted(attrs.items()) if v is not None}}
        for price, attrs in read_other_rows(text)
    ]


_READERS: tuple[tuple[str, Callable[[str], list[dict[str, Any]]]], ...] = (
    (OTHER_CLOSINGS, _closings),
    (OTHER_ROWS, _rows),
)


def with_other_figures(key: str, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """``rows`` (one per record, as export writes them) each followed by a row for each other
    figure its record keeps, every row with its :data:`FIGURE`; and how many other figures
    there are. A ValueError naming the key, the date and the part of the text that does not
    read (the reader's own words)."""
    out: list[dict[str, Any]] = []
    others = 0
    for row in rows:
        out.append({**row, FIGURE: STORED})
        for name, read in _READERS:
            text = row.get(name)
            if not isinstance(text, str):
                continue
            try:
                figures = read(text)
            except (ValueError, ArithmeticError) as exc:  # decimal.InvalidOperation too
                raise ValueError(f"{key} {row['date']}: {exc}") from None
            out.extend({"date": row["date"], **figure, FIGURE: name} for figure in figures)
            others += len(figures)
    return out, others
