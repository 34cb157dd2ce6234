"""One tiny real request per source, over the internet (off by default: ``pytest -m live``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.adapters.sources.fred import FredCsvSource
from fuelpipe.adapters.sources.yahoo import YahooChartSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import FetchRequest

pytestmark = pytest.mark.live


def _request(key: str, start: date, end: date) -> FetchRequest:
    series = DEFAULT_CATALOG[key]
    return FetchRequest(series.fetch_unit, (series,), start, end)


def test_bcb_ptax_live() -> None:
    source = BcbPtaxSource(client=make_client(30.0), attempts=3, backoff_s=2.0)
    try:
        result = source.fetch(_request("CURRENCY#USD", date(2021, 5, 19), date(2021, 5, 21)))
    finally:
        source.close()
    values = {o.date: o.value for o in result.observations}
    assert values[date(2021, 5, 19)] == Decimal("5.2822")  # as in strongylis__ptax.csv


def test_yahoo_chart_live() -> None:
    source = YahooChartSource(
        client=make_client(30.0), attempts=3, backoff_s=2.0, min_interval_s=1.0
    )
    try:
        result = source.fetch(_request("STOCK#PETR4", date(2021, 5, 17), date(2021, 5, 21)))
    finally:
        source.close()
    assert [o.date.day for o in result.observations] == [17, 18, 19, 20, 21]
    assert all(isinstance(o.attrs["volume"], int) for o in result.observations)


def test_fred_csv_live() -> None:
    source = FredCsvSource(client=make_client(30.0), attempts=3, backoff_s=2.0)
    try:
        result = source.fetch(_request("COMMODITY#BRENT", date(2020, 4, 20), date(2020, 4, 22)))
    finally:
        source.close()
    values = {o.date: o.value for o in result.observations}
    assert values[date(2020, 4, 21)] == Decimal("9.12")


def test_anp_workbook_live() -> None:
    source = AnpWorkbookSource(client=make_client(60.0), attempts=3, backoff_s=2.0)
    try:
        result = source.fetch(_request("FUEL#GASOLINE#BR", date(2021, 5, 16), date(2021, 5, 16)))
    finally:
        source.close()
    assert [o.value for o in result.observations] == [Decimal("5.641")]
