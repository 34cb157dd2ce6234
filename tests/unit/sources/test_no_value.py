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
    # asked through 2020-05-20: the file's rows end on the 15th (not out yet is not "no value")
    result = source.fetch(
        FetchRequest(brent.fetch_unit, (brent,), date(2020, 3, 30), date(2020, 5, 20))
    )
    # Good Friday, Easter Monday and the moved May bank holiday of 2020: empty in the file.
    assert set(result.no_value) == {
        (brent.key, date(2020, 4, 10)),
        (brent.key, date(2020, 4, 13)),
        (brent.key, date(2020, 5, 8)),
    }
    # a day past the file's last row is not in the answer: no "no value" for it, nor a note
    assert not {d for _, d in (*result.no_value, *result.notes)} & {date(2020, 5, 18)}


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
    # each of those answers has no row for the key: a row ANP may still add to the workbook
    assert result.no_row == set(result.no_value)


def test_an_anp_dash_row_is_no_value_with_a_row(server, client, payload) -> None:
    """Synthetic rows (the malformed-rows workbook): CNG's row of the 2012-12-30 week has '-'
    in its price cell. That is ANP's "no value" for the week from a row of its own, not a
    key the workbook has no row for (FetchResult.no_row): watch does not ask for it again
    inside the window (stages/due.py, row_left_out)."""
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        payload("anp_semanal-brasil_malformed-rows-synthetic.xlsx"), content_type=XLSX
    )
    cng = DEFAULT_CATALOG["FUEL#CNG#BR"]
    source = AnpWorkbookSource(server.url_for("/shlp"), client, attempts=2, backoff_s=0.0)
    week = date(2012, 12, 30)
    for _ in range(2):  # the second answer is the one remembered for a 304
        result = source.fetch(FetchRequest(cng.fetch_unit, (cng,), week, week))
        assert list(result.observations) == []
        assert result.no_value[(cng.key, week)].endswith("ANP published no price ('-')")
        assert result.no_row == set()


def test_bcb_and_yahoo_never_answer_no_value_a_missing_day_is_not_out_yet(
    server, client, payload
) -> None:
    """A PTAX bulletin list without a day, or a chart without its timestamp (or with a null
    close), does not reach that day: never the source's "no value", so a due day stays
    polled inside its window (stages/due.py, answer_stands)."""
    from fuelpipe.adapters.sources.bcb import BcbPtaxSource
    from fuelpipe.adapters.sources.yahoo import YahooChartSource

    ptax = (
        "/olinda/servico/PTAX/versao/v1/odata/CotacaoMoedaPeriodo("
        "moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)"
    )
    server.expect_request(ptax).respond_with_data(
        payload("bcb_ptax_USD_2021-05-19_2021-06-01_intermediate-bulletins-synthetic.json"),
        content_type="application/json",
    )
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    bcb = BcbPtaxSource(server.url_for("/olinda/servico/PTAX/versao/v1/odata"), client)
    answer = bcb.fetch(FetchRequest(usd.fetch_unit, (usd,), date(2021, 5, 19), date(2021, 6, 3)))
    days = {o.date for o in answer.observations}
    assert date(2021, 6, 2) not in days and answer.no_value == {}

    petr4 = DEFAULT_CATALOG["STOCK#PETR4"]
    yahoo = YahooChartSource(server.url_for(""), client)
    charts = {  # asked past the chart's last bar; a bar with a null close
        "yahoo_chart_PETR4.SA_2017-11-09_2017-11-24.json": (date(2017, 11, 9), date(2017, 11, 28)),
        "yahoo_chart_PETR4.SA_2021-05-17_2021-05-21_nulls-synthetic.json": (
            date(2021, 5, 17),
            date(2021, 5, 21),
        ),
    }
    for fixture, (start, end) in charts.items():
        server.clear()
        server.expect_request("/v8/finance/chart/PETR4.SA").respond_with_data(
            payload(fixture), content_type="application/json"
        )
        chart = yahoo.fetch(FetchRequest(petr4.fetch_unit, (petr4,), start, end))
        list(chart.observations)
        assert chart.no_value == {}, fixture
