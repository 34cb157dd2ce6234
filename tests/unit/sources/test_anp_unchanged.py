"""An ANP workbook answered 304 (unchanged since the last poll) is not parsed again for the
same request: the watch polls a due week every few minutes inside ANP's window, and the state
workbook since 2013 is ~12 MB of XLSX to read each time. The answer is the one the first parse
gave, value for value."""

from __future__ import annotations

from datetime import date

import pytest

from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import FetchRequest
from fuelpipe.replay.server import ReplayServer


@pytest.fixture
def replay():
    with ReplayServer(quiet=True) as server:
        yield server


def _request(*keys: str, start: date, end: date) -> FetchRequest:
    series = tuple(DEFAULT_CATALOG[k] for k in keys)
    return FetchRequest(series[0].fetch_unit, series, start, end)


def _read(source: AnpWorkbookSource, request: FetchRequest):  # type: ignore[no-untyped-def]
    got = source.fetch(request)
    observations = [(o.key, o.date, o.value, dict(o.attrs or {})) for o in got.observations]
    return observations, dict(got.notes), dict(got.no_value), set(got.no_row)


def test_a_304_for_the_same_request_gives_the_first_answer_without_a_second_parse(replay) -> None:
    source = AnpWorkbookSource(replay.source_urls()["anp"])
    request = _request(
        "FUEL#GASOLINE#SP", "FUEL#ETHANOL#SP", start=date(2025, 3, 1), end=date(2025, 4, 4)
    )
    try:
        first = _read(source, request)
        second = _read(source, request)
    finally:
        source.close()
    assert source.not_modified == 1  # the second poll was a 304
    assert source.workbooks_read == 1  # ... and the workbook was not read again
    assert second == first
    assert len(first[0]) == 10  # 5 weeks of two fuels, with their attributes


def test_another_request_on_the_unchanged_workbook_reads_it(replay) -> None:
    source = AnpWorkbookSource(replay.source_urls()["anp"])
    sp = _request("FUEL#GASOLINE#SP", start=date(2025, 3, 1), end=date(2025, 4, 4))
    rj = _request("FUEL#GASOLINE#RJ", start=date(2025, 3, 1), end=date(2025, 4, 4))
    try:
        first_sp = _read(source, sp)
        first_rj = _read(source, rj)
        again_sp = _read(source, sp)
    finally:
        source.close()
    assert source.not_modified == 2
    assert source.workbooks_read == 2  # SP's answer is remembered; RJ's workbook was read
    assert again_sp == first_sp
    assert {k for k, *_ in first_rj[0]} == {"FUEL#GASOLINE#RJ"}


def test_answers_from_two_workbooks_are_both_remembered(replay) -> None:
    source = AnpWorkbookSource(replay.source_urls()["anp"])
    sp = _request("FUEL#GASOLINE#SP", start=date(2025, 3, 1), end=date(2025, 4, 4))
    monthly = _request("FUEL_MONTHLY#GASOLINE#SP", start=date(2021, 1, 1), end=date(2021, 6, 1))
    try:
        first = [_read(source, sp), _read(source, monthly)]
        again = [_read(source, sp), _read(source, monthly)]
    finally:
        source.close()
    assert source.not_modified == 2 and source.workbooks_read == 2
    assert again == first


def test_a_304_keeps_which_no_value_answers_had_no_row(replay) -> None:
    """The real regions workbook has no row for CNG in the North in the week of 2022-04-24:
    the remembered answer says so too (FetchResult.no_row), so a poll answered 304 still
    asks again for a row left out (stages/due.py, row_left_out)."""
    source = AnpWorkbookSource(replay.source_urls()["anp"])
    week = date(2022, 4, 24)
    request = _request("FUEL#CNG#REGION_N", start=week, end=week)
    try:
        first = _read(source, request)
        second = _read(source, request)
    finally:
        source.close()
    assert source.not_modified == 1 and source.workbooks_read == 1
    assert first[3] == second[3] == {("FUEL#CNG#REGION_N", week)}
    assert "no row for FUEL#CNG#REGION_N" in second[2][("FUEL#CNG#REGION_N", week)]
