"""Sources say which requested dates they have no value for (FetchResult.no_value)."""

from __future__ import annotations

from datetime import date

from fuelpipe.adapters.sources.anp import AnpWorkbookSource
from fuelpipe.adapters.sources.fred import FredCsvSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import FetchRequest

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_fred_empty_cells_are_the_sources_word_that_there_is_no_value(
    server, client, payload
) -> None:
    server.expect_request("/graph/fredgraph.csv").respond_with_data(
        payload("fred_DCOILBRENTEU_2020-03-30_2020-05-15_current-layout.csv"),
        content_type="text/csv",
    )
    brent = DEFAULT_CATALOG["COMMODITY#BRENT"]
    source = FredCsvSource(server.url_for(""), client, attempts=2, backoff_s=0.0)
    result = source.fetch(
        FetchRequest(brent.fetch_unit, (brent,), date(2020, 3, 30), date(2020, 5, 15))
    )
    # Good Friday, Easter Monday and the moved May bank holiday of 2020: empty in the file.
    assert set(result.no_value) == {
        (brent.key, date(2020, 4, 10)),
        (brent.key, date(2020, 4, 13)),
        (brent.key, date(2020, 5, 8)),
    }


def test_an_anp_week_without_a_row_for_a_key_is_no_value_but_a_missing_week_is_not(
    server, client, payload
) -> None:
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        payload("anp_semanal-brasil-desde-2013_cut.xlsx"), content_type=XLSX
    )
    keys = ("FUEL#GASOLINE#BR", "FUEL#GASOLINE_PREMIUM#BR")
    series = tuple(DEFAULT_CATALOG[k] for k in keys)
    source = AnpWorkbookSource(server.url_for("/shlp"), client, attempts=2, backoff_s=0.0)
    start, end = date(2012, 12, 1), date(2030, 1, 1)
    result = source.fetch(FetchRequest(series[0].fetch_unit, series, start, end))
    observations = list(result.observations)  # streamed: read once; no_value is then complete
    weeks = {o.date for o in observations}
    premium = {o.date for o in observations if o.key == keys[1]}
    # premium gasoline has no row in the 2012 week of the cut workbook: ANP's "no value"
    assert (keys[1], date(2012, 12, 30)) in result.no_value
    assert "no row" in result.no_value[(keys[1], date(2012, 12, 30))]
    assert {d for k, d in result.no_value if k == keys[1]} == weeks - premium
    # only weeks the workbook has are answered; a week it lacks stays a retry, not "no value"
    assert {d for _, d in result.no_value} <= weeks
    assert not any(k == keys[0] for k, _ in result.no_value)
