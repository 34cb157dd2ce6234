"""The store's attribute JSON is exactly what the json encoder writes, Decimals kept exact."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from fuelpipe.adapters.sqlite_store import dump_attrs, load_attrs

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
        {k: {"$d": str(v)} if isinstance(v, Decimal) else v for k, v in attrs.items()},
        separators=(",", ":"),
        sort_keys=True,
    )


@given(st.dictionaries(st.text(), VALUES, max_size=12))
def test_dump_attrs_writes_the_encoders_bytes(attrs: dict) -> None:  # type: ignore[type-arg]
    assert dump_attrs(attrs) == _encoder(attrs)


@given(st.dictionaries(st.text(), VALUES.filter(lambda v: not isinstance(v, bool)), max_size=12))
def test_dump_attrs_reads_back(attrs: dict) -> None:  # type: ignore[type-arg]
    back = load_attrs(dump_attrs(attrs))
    assert back.keys() == attrs.keys()
    for key, value in attrs.items():
        if isinstance(value, Decimal):
            assert str(back[key]) == str(value)  # exact text, NaN included
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
        assert dump_attrs(attrs) == _encoder(attrs)
