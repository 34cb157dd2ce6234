"""The ingest validates column-wise (each distinct value once, Polars does the rows); the
rules are the domain's per-record ones. These tests hold the two to the same verdicts."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.adapters.lake.columns import validate
from fuelpipe.domain.stations import (
    LAKE_COLUMNS,
    PRODUCTS,
    UNITS,
    cnpj_key,
    parse_day,
    parse_price,
    reject_reason,
)

# Field values as ANP writes them, padded and cased as they are, and broken ones (synthetic).
_padded = st.sampled_from(["", " ", "  "])


def _pad(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(_padded, values, _padded).map("".join)


DAYS = st.one_of(
    st.none(),
    _pad(st.dates(date(2004, 1, 1), date(2026, 12, 31)).map(lambda d: d.strftime("%d/%m/%Y"))),
    st.sampled_from(["31/02/2025", "2025-03-30", "1/2/2025", "00/01/2025", "", "xx", "01/13/25"]),
    # typed years (synthetic): before ANP's station survey, or after the ingest's next day
    st.sampled_from(["05/12/2203", "05/12/0203", "31/12/2003", "24/04/2025", "23/04/2025"]),
)
TODAY = date(2025, 4, 22)  # the ingest clock's date
PRICES = st.one_of(
    st.none(),
    _pad(st.decimals(0, 500, places=2).map(lambda d: f"{d}".replace(".", ","))),
    st.sampled_from(["abc", "1.350,00", "9999", "0,1", "nan", "inf", "1e3", "", "6.29", ",5"]),
)
LABELS = st.one_of(
    st.none(),
    _pad(st.sampled_from([*PRODUCTS, "gasolina", "Etanol", "QUEROSENE", ""])),
)
UNIT_LABELS = st.one_of(
    st.none(),
    _pad(st.sampled_from([*UNITS, "r$ / litro", "R$ / galão", ""])),
)
CNPJS = st.one_of(
    st.none(),
    st.sampled_from(
        [" 01.492.748/0003-83", "02.000.000/0001-00", "01492748000383", " ", "1A", "9" * 15]
    ),
)
PURCHASES = st.one_of(st.none(), st.sampled_from(["", " ", "5,10", "x", "4.99"]))
RECORD = st.fixed_dictionaries(
    {
        "cnpj": CNPJS,
        "collected": DAYS,
        "price": PRICES,
        "purchase_price": PURCHASES,
        "product_label": LABELS,
        "unit_label": UNIT_LABELS,
        "brand": st.sampled_from(["RAIZEN", " BRANCA ", "IPIRANGA"]),
    }
)


def _frame(records: list[dict[str, str | None]]) -> pl.DataFrame:
    data = {c: [r.get(c, "X") for r in records] for c in LAKE_COLUMNS}
    frame = pl.DataFrame(data, schema=dict.fromkeys(LAKE_COLUMNS, pl.String))
    return frame.with_row_index("idx").with_columns(
        idx=pl.col("idx").cast(pl.Int64), line=pl.col("idx").cast(pl.Int64) + 2
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=30))
def test_column_wise_verdicts_are_the_domain_rule(records: list[dict[str, str | None]]) -> None:
    good, bad = validate(_frame(records), TODAY)
    fields = ("cnpj", "collected", "price", "purchase_price", "product_label", "unit_label")
    expected = {
        i + 2: reason
        for i, r in enumerate(records)
        if (reason := reject_reason(*(r[f] for f in fields), today=TODAY)) is not None
    }
    assert dict(bad) == expected
    assert good.get_column("idx").to_list() == [
        i for i in range(len(records)) if i + 2 not in expected
    ]
    for row in good.iter_rows(named=True):
        record = records[row["idx"]]
        assert row["collected"] == parse_day(record["collected"])
        assert row["price"] == parse_price(record["price"])
        assert row["brand"] == (record["brand"] or "").strip()


def test_cnpj_key_is_the_fourteen_digits() -> None:
    # the real sample's form, and synthetic bare, short and broken ones
    assert cnpj_key(" 00.003.188/0001-21") == "00003188000121"
    assert cnpj_key("00003188000121") == cnpj_key("3188000121") == "00003188000121"
    for text in (None, "", "  ", "./-", "12.345.678/0001-9X", "123.456.789/0001-00", "１２"):
        assert cnpj_key(text) is None, text


def test_field_parsers() -> None:
    assert parse_day(" 1/2/2025 ") == date(2025, 2, 1)
    assert parse_day("31/02/2025") is None
    assert parse_day("2025-02-01") is None
    assert parse_price(" 6,29 ") == 6.29
    assert parse_price("6.29") == 6.29
    for text in ("1.350,00", "nan", "inf", "1e3", "1_000", "", None, "abc"):
        assert parse_price(text) is None, text
    assert (
        reject_reason(" 1", "01/02/2025", "6,29", "", "gasolina", "r$ / litro", today=TODAY) is None
    )
    assert reject_reason(" 1", "01/02/2025", "600", "", "GASOLINA", "R$ / litro", today=TODAY) == (
        "sale price 600 is outside 0.5..30.0 BRL/l"
    )
    assert (
        reject_reason(" ", "01/02/2025", "6,29", "", "GASOLINA", "R$ / litro", today=TODAY)
        == "no CNPJ"
    )
    # synthetic typed years: out of ANP's station survey (2004 on) or after the next day
    for text in ("05/12/2203", "05/12/0203", "31/12/2003", "24/04/2025"):
        assert reject_reason(" 1", text, "6,29", "", "GASOLINA", "R$ / litro", today=TODAY) == (
            f"collection date {text} out of range (2004-01-01 to 2025-04-23)"
        )
    assert (
        reject_reason(" 1", "23/04/2025", "6,29", "", "GASOLINA", "R$ / litro", today=TODAY) is None
    )
