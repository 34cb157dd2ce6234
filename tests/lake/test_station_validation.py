"""The ingest validates column-wise (each distinct value once, Polars does the rows); the
rules are the domain's per-record ones. These tests hold the two to the same verdicts."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.lake.conftest import real_file, real_lines, set_cell

from fuelpipe.adapters.lake.columns import plausible_cnpjs, validate
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.domain.stations import (
    ANP_FLAGS,
    CUT_SHORT,
    LAKE_COLUMNS,
    PRODUCTS,
    UNITS,
    brand_of,
    cnpj_check_digit,
    cnpj_key,
    cnpj_plausible,
    cut_short,
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
STATE, TOWN = 1, 2  # "Estado - Sigla", "Municipio"
WHERE = {"state": "SP", "municipality": "SAO PAULO"}  # a record's place, when not the test's
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
UFS = st.one_of(st.none(), st.sampled_from(["SP", " RJ ", "DF", "XX", "sp", "", " "]))
TOWNS = st.one_of(st.none(), st.sampled_from(["SAO PAULO", " JI-PARANA ", "", "  "]))
RECORD = st.fixed_dictionaries(
    {
        "cnpj": CNPJS,
        "collected": DAYS,
        "price": PRICES,
        "purchase_price": PURCHASES,
        "product_label": LABELS,
        "unit_label": UNIT_LABELS,
        "state": UFS,
        "municipality": TOWNS,
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
    good, bad, _ = validate(_frame(records), TODAY)
    fields = ("cnpj", "collected", "price", "purchase_price", "product_label", "unit_label")
    expected = {
        i + 2: reason
        for i, r in enumerate(records)
        if (
            reason := reject_reason(
                *(r[f] for f in fields),
                state=r["state"],
                municipality=r["municipality"],
                today=TODAY,
            )
        )
        is not None
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


def test_a_cnpj_must_have_its_check_digits() -> None:
    """Every CNPJ of the real files passes (11,592 distinct, tested in
    test_every_real_cnpj_is_plausible); synthetic faults do not: a check digit off by one,
    two digits swapped, all zeros, and a short value that padding does not make a CNPJ."""
    assert cnpj_check_digit("000031880001") == 2 and cnpj_check_digit("0000318800012") == 1
    assert cnpj_plausible("00003188000121")
    for key in ("00003188000122", "00003188000112", "00031880000121", "0" * 14, "1".zfill(14)):
        assert not cnpj_plausible(key), key
    for text in ("00.003.188/0001-22", "00000000000000", "1"):
        assert reject_reason(
            text, "01/02/2025", "6,29", "", "GASOLINA", "R$ / litro", **WHERE, today=TODAY
        ) == (f"not a valid CNPJ (all zeros or wrong check digits): '{text}'")


_DIGITS = st.text(alphabet="0123456789", min_size=12, max_size=12)


def _with_check_digits(first: str) -> str:
    thirteenth = str(cnpj_check_digit(first))
    return first + thirteenth + str(cnpj_check_digit(first + thirteenth))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            _DIGITS.map(_with_check_digits),  # plausible
            st.tuples(_DIGITS.map(_with_check_digits), st.integers(0, 13), st.integers(1, 9)).map(
                lambda t: t[0][: t[1]] + str((int(t[0][t[1]]) + t[2]) % 10) + t[0][t[1] + 1 :]
            ),  # one digit mistyped
            st.text(alphabet="0123456789", max_size=16),  # any length, all zeros among them
            st.text(alphabet="0123456789 ./-x١", min_size=14, max_size=14),
            st.none(),
        ),
        max_size=40,
    )
)
def test_the_vectorised_cnpj_check_is_the_domain_rule(values: list[str | None]) -> None:
    """``plausible_cnpjs`` (the ingest's check, over a column's distinct values in native code)
    gives ``cnpj_plausible``'s verdict on every 14-ASCII-digit value, and False on the rest."""
    got = plausible_cnpjs(pl.Series("cnpj", values, dtype=pl.String)).to_list()
    assert got == [
        v is not None and re.fullmatch("[0-9]{14}", v) is not None and cnpj_plausible(v)
        for v in values
    ]


def test_cnpj_key_is_the_fourteen_digits() -> None:
    # the real sample's form, and synthetic bare, short and broken ones
    assert cnpj_key(" 00.003.188/0001-21") == "00003188000121"
    assert cnpj_key("00003188000121") == cnpj_key("3188000121") == "00003188000121"
    for text in (None, "", "  ", "./-", "12.345.678/0001-9X", "123.456.789/0001-00", "１２"):
        assert cnpj_key(text) is None, text


OK = " 3188000121"  # a real CNPJ (00.003.188/0001-21) without its leading zeros


def test_field_parsers() -> None:
    assert parse_day(" 1/2/2025 ") == date(2025, 2, 1)
    assert parse_day("31/02/2025") is None
    assert parse_day("2025-02-01") is None
    assert parse_price(" 6,29 ") == 6.29
    assert parse_price("6.29") == 6.29
    for text in ("1.350,00", "nan", "inf", "1e3", "1_000", "", None, "abc"):
        assert parse_price(text) is None, text
    assert (
        reject_reason(OK, "01/02/2025", "6,29", "", "gasolina", "r$ / litro", **WHERE, today=TODAY)
        is None
    )
    assert reject_reason(
        OK, "01/02/2025", "600", "", "GASOLINA", "R$ / litro", **WHERE, today=TODAY
    ) == ("sale price 600 is outside 0.5..30.0 BRL/l")
    assert (
        reject_reason(" ", "01/02/2025", "6,29", "", "GASOLINA", "R$ / litro", **WHERE, today=TODAY)
        == "no CNPJ"
    )
    # synthetic typed years: out of ANP's station survey (2004 on) or after the next day
    for text in ("05/12/2203", "05/12/0203", "31/12/2003", "24/04/2025"):
        assert reject_reason(
            OK, text, "6,29", "", "GASOLINA", "R$ / litro", **WHERE, today=TODAY
        ) == (f"collection date {text} out of range (2004-01-01 to 2025-04-23)")
    assert (
        reject_reason(OK, "23/04/2025", "6,29", "", "GASOLINA", "R$ / litro", **WHERE, today=TODAY)
        is None
    )


DATASETS = Path(__file__).resolve().parents[2] / "datasets"
REAL_2023 = "samuelfideles1__anp_revenda_ultimas-4-semanas-diesel-gnv_2023-12-04_2023-12-28.csv"
EXPECTED = 11_592  # distinct CNPJs in the four files


def test_every_real_cnpj_is_plausible() -> None:
    """The rule against the real files: ANP's three 2025 "últimas 4 semanas" files and the
    December 2023 diesel/CNG file write every CNPJ punctuated, 14 digits, none short, and
    every one has its check digits, so the check rejects no real value (the zero-padding is
    kept for a value that lost its leading zeros: padded, it passes the same check)."""
    texts = [real_file(g).decode("utf-8-sig") for g in ("gasolina-etanol", "diesel-gnv", "glp")]
    texts.append((DATASETS / "anp/stations" / REAL_2023).read_bytes().decode("utf-8-sig"))
    values = {
        row[4] for text in texts for row in list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    }
    keys = {cnpj_key(v) for v in values}
    assert all(re.fullmatch(r"\d\d\.\d{3}\.\d{3}/\d{4}-\d\d", v.strip()) for v in values)
    assert None not in keys and all(cnpj_plausible(k) for k in keys if k)
    assert (len(values), len(keys)) == (EXPECTED, EXPECTED)


def test_a_record_with_no_state_or_town_is_a_bad_row_not_a_nameless_town(
    lake: StationLake, write: Callable[[str, bytes], Path]
) -> None:
    """A record whose state is blank or not one of the 27 UFs, or whose town is blank, was
    written: the national ranking then listed a town with no state and a town with no name,
    and no state's view could ever show them. Real GLP records, three fields blanked or
    mistyped (synthetic faults): each is rejected with its line, the rest is written."""
    lines = real_lines("glp", 12)
    lines[2] = set_cell(lines[2], STATE, "")
    lines[5] = set_cell(lines[5], STATE, "XX")
    lines[9] = set_cell(lines[9], TOWN, "  ")
    (report,) = lake.ingest_path(write("places.csv", "\n".join(lines).encode()))
    assert [(b.line, b.reason) for b in report.bad] == [
        (3, "unknown state (empty)"),
        (6, "unknown state 'XX'"),
        (10, "no municipality"),
    ]
    assert (report.rows, report.written, report.rejected) == (12, 9, 3)
    assert reject_reason(
        OK, "01/02/2025", "6,29", "", "GASOLINA", "R$ / litro", state=" DF ",
        municipality="BRASILIA", today=TODAY,
    ) is None  # fmt: skip


def test_a_last_record_without_a_line_end_is_whole_only_when_its_flag_proves_it() -> None:
    """``cut_short``: the record on a file's last line, when the file ends there without a
    line end. Its flag is whole when another record of the file carries it or it is one of
    ANP's known flags; 'LIQUI' (LIQUIGÁS cut short) is neither."""
    record = real_lines("glp", 1)[1].split(";")
    flags = {"LIQUIGÁS": 1, "LIQUI": 1, "MY TOWN GAS": 2}

    def why(last: str, fields: list[str] | None = None) -> str | None:
        reason = cut_short(fields or [*record[:-1], last], flags)
        assert reason is None or reason.startswith(f"{CUT_SHORT} (the file's last line ")
        return reason and reason.split(" and ", 1)[1].split(");")[0]

    assert why("LIQUIGÁS") is None  # one of ANP's flags, though no other record's
    assert why("My Town Gas ") is None  # another record's (the lake's flag: upper case)
    assert why("LIQUI") == (
        "its flag 'LIQUI' is no other record's in the file, nor a flag ANP is known for"
    )
    assert why("") == "its flag, the last field, is empty"
    assert why("", record[:13]) == "it has 13 of ANP's 16 fields"
    assert why("", [*record, ""]) is None  # a 17th field: the flag ended with a separator
    unclosed = cut_short(record, flags, unclosed=True) or ""  # (the file ends inside quotes)
    assert "and a quoted field of it is not closed);" in unclosed


def test_anp_flags_are_the_real_files_flags() -> None:
    """``ANP_FLAGS`` is every flag of the real station files in the repository: the three
    2025 files and the December 2023 file (78,901 + 23,367 records, 60 flags)."""
    texts = [real_file(g).decode("utf-8-sig") for g in ("gasolina-etanol", "diesel-gnv", "glp")]
    texts.append((DATASETS / "anp/stations" / REAL_2023).read_bytes().decode("utf-8-sig"))
    rows = [row for text in texts for row in list(csv.reader(io.StringIO(text), delimiter=";"))[1:]]
    assert len(rows) == 78_901 + 23_367
    assert {brand_of(row[15]) for row in rows} == ANP_FLAGS
    # every real record, as the last of its file with no line end, is proven whole
    for text in texts:
        records = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
        counts = Counter(brand_of(row[15]) for row in records)
        assert min(counts.values()) > 1
        assert {cut_short(row, counts) for row in records} == {None}
        assert {cut_short(row, {}) for row in records} == {None}  # by ANP_FLAGS alone too
