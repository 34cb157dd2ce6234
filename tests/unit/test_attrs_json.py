"""The store's attribute JSON is exactly what the json encoder writes, Decimals kept exact (in
their canonical form, ``domain.numbers.canonical_text``)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuelpipe.adapters.sqlite_store import dump_attrs, load_attrs
from fuelpipe.domain.numbers import TooManyDigits, canonical_text

VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(),  # NaN, sNaN and infinities are Decimals too
)


def _encoder(attrs: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(
        {k: {"$d": canonical_text(v)} if isinstance(v, Decimal) else v for k, v in attrs.items()},
        separators=(",", ":"),
        sort_keys=True,
    )


def _same_bytes(attrs: dict) -> None:  # type: ignore[type-arg]
    """dump_attrs writes the encoder's bytes, or refuses what the encoder refuses."""
    try:
        expected = _encoder(attrs)
    except TooManyDigits:
        with pytest.raises(TooManyDigits):
            dump_attrs(attrs)
        return
    assert dump_attrs(attrs) == expected


@given(st.dictionaries(st.text(), VALUES, max_size=12))
def test_dump_attrs_writes_the_encoders_bytes(attrs: dict) -> None:  # type: ignore[type-arg]
    _same_bytes(attrs)


@given(st.dictionaries(st.text(), VALUES.filter(lambda v: not isinstance(v, bool)), max_size=12))
def test_dump_attrs_reads_back(attrs: dict) -> None:  # type: ignore[type-arg]
    try:
        back = load_attrs(dump_attrs(attrs))
    except TooManyDigits:
        return  # more digits than a store keeps: refused (see _same_bytes)
    assert back.keys() == attrs.keys()
    for key, value in attrs.items():
        if isinstance(value, Decimal):
            assert str(back[key]) == str(Decimal(canonical_text(value)))  # NaN included
            assert value.is_nan() or back[key] == value  # the same number
        else:
            assert back[key] == value


@given(
    st.lists(st.text(), min_size=1, max_size=9, unique=True).flatmap(
        lambda names: st.lists(
            st.fixed_dictionaries(dict.fromkeys(names, VALUES)), min_size=2, max_size=6
        )
    )
)
def test_records_of_one_shape_each_get_the_encoders_bytes(rows: list[dict]) -> None:  # type: ignore[type-arg]
    # The attribute names repeat from record to record (one source's records share them), so
    # the later records reuse the first one's template with their own values and types.
    for attrs in rows:
        _same_bytes(attrs)
