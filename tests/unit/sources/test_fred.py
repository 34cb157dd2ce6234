"""FRED CSV: both header layouts, missing markers, bad cells named by row, the date window."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fuelpipe.adapters.sources.fred import FredCsvSource, fred_url, parse_fred_csv
from fuelpipe.ports.source import FetchRequest, InvalidPayload

CURRENT = "fred_DCOILBRENTEU_2020-03-30_2020-05-15_current-layout.csv"
OLD = "fred_DCOILBRENTEU_1987-12-14_1988-01-08_old-layout.csv"
KEY = "COMMODITY#BRENT"
PATH = "/graph/fredgraph.csv"


@pytest.fixture
def brent(series):
    return series(KEY)


def _fetch(server, client, brent, start: date, end: date):
    source = FredCsvSource(server.url_for(""), client, attempts=2, backoff_s=0.0)
    return source.fetch(FetchRequest(brent.fetch_unit, (brent,), start, end))


def test_request_shape(server, client, payload, brent) -> None:
    server.expect_request(PATH).respond_with_data(payload(CURRENT), content_type="text/csv")
    _fetch(server, client, brent, date(2020, 3, 30), date(2020, 5, 15))
    request, _ = server.log[0]
    assert request.query_string.decode() == "id=DCOILBRENTEU&cosd=2020-03-30&coed=2020-05-15"


def test_current_layout_with_empty_holidays(server, client, payload, brent) -> None:
    server.expect_request(PATH).respond_with_data(payload(CURRENT), content_type="text/csv")
    result = _fetch(server, client, brent, date(2020, 3, 30), date(2020, 5, 15))
    values = {o.date: o.value for o in result.observations}
    assert values[date(2020, 4, 21)] == Decimal("9.12")  # the day WTI went negative
    assert values[date(2020, 4, 14)] == Decimal("21.74")
    # Good Friday, Easter Monday and the moved May bank holiday of 2020: empty in the file.
    assert set(result.notes) == {
        (KEY, date(2020, 4, 10)),
        (KEY, date(2020, 4, 13)),
        (KEY, date(2020, 5, 8)),
    }
    assert not set(values) & {d for _, d in result.notes}


def test_old_layout_with_dots(payload) -> None:
    obs, notes = parse_fred_csv(
        payload(OLD), "DCOILBRENTEU", KEY, date(1987, 12, 1), date(1988, 1, 31)
    )
    assert len(obs) == 17  # 20 weekdays, 3 of them "."
    assert {d for _, d in notes} == {date(1987, 12, 25), date(1988, 1, 1), date(1988, 1, 7)}
    assert "'.'" in notes[(KEY, date(1987, 12, 25))]
    assert obs[0].value == Decimal("16.80")
    assert str(obs[0].value) == "16.80"


def test_matches_the_real_file(payload, real_data) -> None:
    lines = real_data("brent/jackthompsondb__DCOILBRENTEU.csv").read_text().splitlines()
    real = {
        date.fromisoformat(d): Decimal(v)
        for d, v in (ln.split(",") for ln in lines[1:])
        if "2020-03-30" <= d <= "2020-05-15" and v
    }
    obs, _ = parse_fred_csv(
        payload(CURRENT), "DCOILBRENTEU", KEY, date(2020, 3, 30), date(2020, 5, 15)
    )
    assert {o.date: o.value for o in obs} == real


def test_drops_rows_outside_the_range(server, client, payload, brent) -> None:
    server.expect_request(PATH).respond_with_data(payload(CURRENT), content_type="text/csv")
    result = _fetch(server, client, brent, date(2020, 4, 20), date(2020, 4, 22))
    assert [(o.date.day, o.value) for o in result.observations] == [
        (20, Decimal("17.36")),
        (21, Decimal("9.12")),
        (22, Decimal("13.77")),
    ]
    assert result.notes == {}


def test_bad_numeric_cell_names_the_row(payload) -> None:
    # 2020-04-21 is on line 18 of the file (line 1 is the header).
    body = payload(CURRENT).replace(b"2020-04-21,9.12", b"2020-04-21,9,12")
    with pytest.raises(InvalidPayload, match=r"row 18 is not 'YYYY-MM-DD,value'"):
        parse_fred_csv(body, "DCOILBRENTEU", KEY, date(2020, 3, 30), date(2020, 5, 15))
    body = payload(CURRENT).replace(b"2020-04-21,9.12", b"2020-04-21,n/a")
    with pytest.raises(InvalidPayload, match=r"row 18: 'n/a' is not a number"):
        parse_fred_csv(body, "DCOILBRENTEU", KEY, date(2020, 3, 30), date(2020, 5, 15))
    body = payload(CURRENT).replace(b"2020-04-21,9.12", b"2020-04-31,9.12")
    with pytest.raises(InvalidPayload, match=r"row 18: bad date '2020-04-31'"):
        parse_fred_csv(body, "DCOILBRENTEU", KEY, date(2020, 3, 30), date(2020, 5, 15))


def test_a_bad_row_is_a_retry_for_its_day_and_the_other_days_are_stored_synthetic(
    server, client, payload, brent
) -> None:
    body = (
        payload(CURRENT)  # synthetic defects on lines 18 and 19 of the real file
        .replace(b"2020-04-21,9.12", b"2020-04-21,n/a")
        .replace(b"2020-04-22,13.77", b"2020-04-22,13,77")
    )
    server.expect_request(PATH).respond_with_data(body, content_type="text/csv")
    result = _fetch(server, client, brent, date(2020, 4, 20), date(2020, 4, 23))
    assert [(o.date.day, o.value) for o in result.observations] == [
        (20, Decimal("17.36")),
        (23, Decimal("15.06")),
    ]
    assert result.no_value == {}
    assert set(result.notes) == {(KEY, date(2020, 4, 21)), (KEY, date(2020, 4, 22))}
    assert "row 18: 'n/a' is not a number" in result.notes[(KEY, date(2020, 4, 21))]
    assert "row 19 is not 'YYYY-MM-DD,value'" in result.notes[(KEY, date(2020, 4, 22))]


def test_a_row_whose_date_cannot_be_read_leaves_each_unanswered_day_a_retry_synthetic(
    server, client, payload, brent
) -> None:
    body = payload(CURRENT).replace(b"2020-04-14,21.74", b"2020-04-32,21.74")  # synthetic
    server.expect_request(PATH).respond_with_data(body, content_type="text/csv")
    result = _fetch(server, client, brent, date(2020, 4, 9), date(2020, 4, 15))
    assert [o.date.day for o in result.observations] == [9, 15]
    # Good Friday and Easter Monday are empty in FRED's file: its word, whatever row 13 was.
    assert set(result.no_value) == {(KEY, date(2020, 4, 10)), (KEY, date(2020, 4, 13))}
    unsure = {d.day for (_, d), note in result.notes.items() if "row 13: bad date" in note}
    assert unsure == {11, 12, 14}
    assert set(result.notes) - set(result.no_value) == {(KEY, date(2020, 4, day)) for day in unsure}


def test_a_date_given_twice_with_two_values_is_retried_whatever_the_store_batch_synthetic(
    server, client, payload, brent
) -> None:
    """Which of two values for one date is FRED's cannot be told: neither is handed on (the
    scraper stored the later one, or within a store batch the first one and the later one as
    a revision, by FUELPIPE_STORE_BATCH); the date is a retry naming both. The same value
    again, or an empty cell again, is read once."""
    body = (
        payload(CURRENT)  # synthetic repeats of rows of the real file
        .replace(b"2020-04-21,9.12\n", b"2020-04-21,9.12\n2020-04-21,9.20\n")
        .replace(b"2020-04-22,13.77\n", b"2020-04-22,13.77\n2020-04-22,13.770\n")
        .replace(b"2020-04-23,15.06\n", b"2020-04-23,15.06\n2020-04-23,\n")
        .replace(b"2020-04-10,\n", b"2020-04-10,\n2020-04-10,\n")
    )
    server.expect_request(PATH).respond_with_data(body, content_type="text/csv")
    result = _fetch(server, client, brent, date(2020, 4, 9), date(2020, 4, 24))
    got = [(o.date.day, o.value) for o in result.observations]
    assert [(day, value) for day, value in got if day >= 20] == [
        (20, Decimal("17.36")),
        (22, Decimal("13.77")),
        (24, Decimal("15.87")),
    ]
    assert set(result.no_value) == {(KEY, date(2020, 4, 10)), (KEY, date(2020, 4, 13))}
    assert result.notes[(KEY, date(2020, 4, 21))].endswith(
        "2020-04-21 is given 2 times, with 9.12 and 9.20: which one is FRED's is unknown; "
        "the day is retried"
    )
    assert "with 15.06 and an empty cell" in result.notes[(KEY, date(2020, 4, 23))]
    assert (KEY, date(2020, 4, 23)) not in result.no_value
    with pytest.raises(InvalidPayload, match="2020-04-21 is given 2 times"):
        parse_fred_csv(body, "DCOILBRENTEU", KEY, date(2020, 4, 9), date(2020, 4, 24))


@pytest.mark.parametrize(
    "header",
    [b"date,DCOILBRENTEU", b"observation_date,DCOILWTICO", b"observation_date", b""],
)
def test_unexpected_header_is_invalid(payload, header) -> None:
    body = header + b"\n" + payload(CURRENT).split(b"\n", 1)[1]
    with pytest.raises(InvalidPayload, match="unexpected header"):
        parse_fred_csv(body, "DCOILBRENTEU", KEY, date(2020, 3, 30), date(2020, 5, 15))


def test_header_only_is_no_data() -> None:
    assert parse_fred_csv(
        b"observation_date,DCOILBRENTEU\n", "DCOILBRENTEU", KEY, date(2020, 1, 1), date(2020, 1, 2)
    ) == ([], {})


def test_byte_order_mark_is_tolerated(payload) -> None:
    obs, _ = parse_fred_csv(
        b"\xef\xbb\xbf" + payload(OLD), "DCOILBRENTEU", KEY, date(1987, 12, 1), date(1988, 1, 31)
    )
    assert len(obs) == 17  # 20 weekdays, 3 of them "."


def test_rejects_a_symbol_that_is_not_a_series_id() -> None:
    with pytest.raises(ValueError, match="not a FRED series id"):
        fred_url("http://x", "DCOIL&id=X", date(2020, 1, 1), date(2020, 1, 2))


def test_an_empty_body_is_named_empty_not_truncated(server, client, brent) -> None:
    """A 200 with no body at all was reported as "truncated body (no final newline)", a cut
    that never happened: FRED always sends at least its header row."""
    server.expect_request(PATH).respond_with_data(b"", content_type="text/csv")
    with pytest.raises(
        InvalidPayload, match=r"^fred: http://127\.0\.0\.1:\d+/graph/.*: empty body"
    ):
        _fetch(server, client, brent, date(2020, 4, 1), date(2020, 4, 3))
