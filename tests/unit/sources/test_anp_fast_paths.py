"""The ANP row reader's fast paths give what the cell-at-a-time reading gives.

Rows are read with one ``itemgetter`` call per row and their number cells converted in one pass,
falling back to one cell at a time (with a note per bad cell) on anything unusual. Random rows,
short rows and headers lacking a column must give the same attributes, notes and cells as the
reference below: the reading before the fast paths, restated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.adapters.sources import anp
from fuelpipe.domain.catalog import ANP_WEEKLY_UNITS
from fuelpipe.domain.models import AttrValue

STATE = ANP_WEEKLY_UNITS["STATE"]
BR = ANP_WEEKLY_UNITS["BR"]


def _reference_decimal(value: object) -> Decimal | None:
    if isinstance(value, float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise anp._Bad(f"{value!r} is not a number")
        # memoised as the reader does: 0.0 and -0.0 are one key, whichever came first
        # (test_float_cells_convert_as_their_rounded_repr checks the conversion itself)
        return anp._float_decimal(value)
    return anp._other_decimal(value)


def _reference_count(value: object) -> int | None:
    """A station count: whole, a thousands separator allowed in text; None for a blank."""
    text = value.strip() if isinstance(value, str) else ""
    if re.fullmatch(r"\d{1,3}([.,])\d{3}(?:\1\d{3})*", text):
        return int(re.sub(r"[.,]", "", text))
    try:
        count = _reference_decimal(value)
    except anp._Bad:
        raise anp._Bad(f"{value!r} is not a whole number") from None
    if count is not None and count != int(count):
        raise anp._Bad(f"{value!r} is not a whole number")
    return None if count is None else int(count)


def _reference_attrs(
    reader: anp._RowReader, row: Sequence[object], notes: list[str], number: int
) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {}
    *values, stations, unit = reader.cells(row, anp._ATTR_ROLES)
    for role, value in zip(anp._DECIMAL_ATTRS, values, strict=True):
        try:
            attrs[role] = _reference_decimal(value)
        except anp._Bad as exc:
            attrs[role] = None
            notes.append(
                f"{reader.where(number)}: {anp._COLUMNS[role]} {exc}; kept the row without it"
            )
    try:
        attrs["stations"] = _reference_count(stations)
    except anp._Bad as exc:
        attrs["stations"] = None
        notes.append(
            f"{reader.where(number)}: {anp._COLUMNS['stations']} {exc}; kept the row without it"
        )
    raw_unit = unit.strip() if isinstance(unit, str) else None
    attrs["unit"] = (
        anp._UNITS.get(raw_unit.replace(" ", "").lower(), raw_unit) if raw_unit else None
    )
    return attrs


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 200).map(lambda v: round(v, 3)),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            "-",
            " - ",
            "",
            "5,25",
            " 4.1 ",
            "abc",
            "R$/l",
            "r$ / 13kg",
            "NaN",
            "1e3",
            "1.260",
            " 12,345 ",
            "1.26",
        ]
    ),
    st.just(datetime(2022, 1, 2)),
)


def _columns(draw: st.DrawFn, unit: str) -> dict[str, int]:
    roles = ["product", "week", "price", *anp._ATTR_ROLES]
    if unit == STATE:
        roles.append("state")
    dropped = draw(st.sets(st.sampled_from(anp._ATTR_ROLES), max_size=2))
    if draw(st.booleans()):
        dropped = set()  # most headers have every column
    roles = [r for r in roles if r not in dropped]
    order = draw(st.permutations(range(len(roles) + 2)))
    return {role: order[i] for i, role in enumerate(roles)}


@st.composite
def readers_and_rows(draw: st.DrawFn) -> tuple[anp._RowReader, list[tuple[object, ...]]]:
    unit = draw(st.sampled_from([STATE, BR]))
    columns = _columns(draw, unit)
    width = max(columns.values()) + 1
    rows = draw(
        st.lists(
            st.lists(cells, min_size=0, max_size=width + 1).map(tuple), min_size=1, max_size=20
        )
    )
    return anp._RowReader(unit, columns, "w.xlsx"), rows


@settings(max_examples=400, deadline=None)
@given(readers_and_rows())
def test_attrs_are_the_cell_at_a_time_attrs(case: tuple[anp._RowReader, list[tuple[object, ...]]]):
    reader, rows = case
    for number, row in enumerate(rows, start=10):
        mine: list[str] = []
        theirs: list[str] = []
        got = reader.attrs(row, mine.append, number)
        want = _reference_attrs(reader, row, theirs, number)
        assert list(got.items()) == list(want.items())
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]
        assert [str(v) for v in got.values()] == [str(v) for v in want.values()]
        assert mine == theirs


@settings(max_examples=200, deadline=None)
@given(readers_and_rows())
def test_head_is_the_cells_of_product_area_date_and_price(
    case: tuple[anp._RowReader, list[tuple[object, ...]]],
) -> None:
    reader, rows = case
    roles = ("product", reader.area_role or "", reader.date_role, "price")
    for row in rows:
        assert list(reader.head(row)) == reader.cells(row, roles)


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_cells_convert_as_their_rounded_repr(value: float) -> None:
    got = anp._rounded_decimal(value)
    want = Decimal(repr(round(value, anp.DECIMALS)))
    assert str(got) == str(want)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_float_cells_are_not_numbers(value: float) -> None:
    with pytest.raises(anp._Bad):
        anp._rounded_decimal(value)
