"""Every replay route, over real HTTP, against the real source files."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest
from tests.unit.replay.replay_helpers import PTAX_PATH, chart_params, ptax_params

from fuelpipe.adapters.sources.bcb import bulletins_url
from fuelpipe.domain.publication import is_ash_wednesday
from fuelpipe.replay import ReplayServer
from fuelpipe.replay.anp_workbook import XLSX_CONTENT_TYPE, find_header_row


def _csv_row(path: Path, column: str, value: str) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(r for r in csv.DictReader(fh) if r[column].startswith(value))


# --- BCB PTAX ---------------------------------------------------------------------------------
def _ptax(server: ReplayServer, client: httpx.Client, **params: str) -> httpx.Response:
    return client.get(server.source_urls()["bcb"] + PTAX_PATH, params=params)


def test_ptax_spot_value_equals_the_real_closing_rates(
    server: ReplayServer, client: httpx.Client, real_data: Callable[[str], Path]
) -> None:
    real = _csv_row(real_data("fx/strongylis__ptax.csv"), "data", "2021-05-19")
    resp = _ptax(server, client, **ptax_params("USD", date(2021, 5, 19), date(2021, 5, 19)))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["@odata.context"].endswith("odata$metadata#_CotacaoMoedaPeriodo")
    (row,) = body["value"]
    assert row["cotacaoVenda"] == float(real["venda"]) == 5.2822
    assert row["cotacaoCompra"] == float(real["compra"])
    assert row["paridadeCompra"] == row["paridadeVenda"] == 1.0
    assert row["tipoBoletim"] == "Fechamento PTAX"
    assert row["dataHoraCotacao"].startswith("2021-05-19 13:")


def test_ptax_accepts_unpadded_dates_and_serves_no_weekend(
    server: ReplayServer, client: httpx.Client
) -> None:
    resp = _ptax(
        server,
        client,
        **{"@moeda": "'USD'", "@dataInicial": "'5/19/2021'", "@dataFinalCotacao": "'5/7/2022'"},
    )
    days = [date.fromisoformat(r["dataHoraCotacao"][:10]) for r in resp.json()["value"]]
    in_window = [q for q in server.snapshot.ptax["USD"] if q.day <= date(2022, 5, 7)]
    assert len(days) == len(set(days)) == len(in_window)
    assert days == sorted(days)
    assert all(d.weekday() < 5 for d in days)
    weekend = _ptax(server, client, **ptax_params("USD", date(2021, 5, 22), date(2021, 5, 23)))
    assert weekend.json()["value"] == []


def test_ptax_unknown_currency_or_other_bulletins_give_an_empty_value(
    server: ReplayServer, client: httpx.Client
) -> None:
    for currency in ("EUR", "XYZ"):
        resp = _ptax(server, client, **ptax_params(currency, date(2021, 6, 1), date(2021, 6, 30)))
        assert resp.status_code == 200
        assert resp.json()["value"] == []
    opening = _ptax(
        server,
        client,
        **ptax_params(
            "USD", date(2021, 6, 1), date(2021, 6, 30), **{"$filter": "tipoBoletim eq 'Abertura'"}
        ),
    )
    assert opening.json()["value"] == []


def test_ptax_filter_top_select_and_dollar_entity(
    server: ReplayServer, client: httpx.Client
) -> None:
    params = ptax_params(
        "USD",
        date(2021, 6, 1),
        date(2021, 6, 30),
        **{"$filter": "contains(tipoBoletim,'Fechamento')", "$top": "3", "$select": "cotacaoVenda"},
    )
    rows = _ptax(server, client, **params).json()["value"]
    assert len(rows) == 3
    assert all(set(r) == {"cotacaoVenda"} for r in rows)
    dollar = client.get(
        server.source_urls()["bcb"]
        + "/CotacaoDolarPeriodo(dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)",
        params={"@dataInicial": "'06-01-2021'", "@dataFinalCotacao": "'06-01-2021'"},
    ).json()["value"]
    assert [set(r) for r in dollar] == [{"cotacaoCompra", "cotacaoVenda", "dataHoraCotacao"}]


def test_every_days_closing_bulletin_comes_after_the_windows_it_averages(
    server: ReplayServer, client: httpx.Client
) -> None:
    """CotacaoMoedaDia on every day the real windows file covers: BCB publishes the closing
    PTAX after the last window's bulletin (13:05-13:11 in real Olinda answers; the last window
    is 15:30 on Ash Wednesday), so the day's stamps run in that order, closing last. It was
    once stamped 13:02-13:10 beside windows at 13:00-13:04, before it on 133 days."""
    base = server.source_urls()["bcb"]
    start, end = date(2017, 1, 1), date(2023, 9, 30)
    with_windows = closings = 0
    for day in (start + timedelta(days=n) for n in range((end - start).days + 1)):
        rows = client.get(bulletins_url(base, "USD", day)).json()["value"]
        if not rows:
            continue
        stamps = [datetime.fromisoformat(r["dataHoraCotacao"]) for r in rows]
        kinds = [r["tipoBoletim"] for r in rows]
        assert kinds[-1] == "Fechamento PTAX", (day, kinds)
        assert stamps == sorted(set(stamps)), (
            day,
            [f"{s:%H:%M:%S} {k}" for s, k in zip(stamps, kinds, strict=True)],
        )
        assert {s.date() for s in stamps} == {day}
        last = (15, 30) if is_ash_wednesday(day) else (13, 0)
        opens = datetime(day.year, day.month, day.day, *last)
        closing = stamps[-1]
        assert opens + timedelta(minutes=5) <= closing < opens + timedelta(minutes=11), (
            day,
            closing,
        )
        with_windows += len(rows) == 5
        closings += 1
    assert with_windows == len(server.snapshot.ptax_windows()) == 1_498  # every day of the file
    assert closings > with_windows  # and days with the closing alone


def test_ptax_missing_parameter_is_a_400(server: ReplayServer, client: httpx.Client) -> None:
    resp = client.get(
        server.source_urls()["bcb"] + PTAX_PATH, params={"@moeda": "'USD'", "$format": "json"}
    )
    assert resp.status_code == 400
    # OData's error body, naming the first alias the path uses and the query leaves out
    message = "parameter alias @dataInicial has no value in the query string"
    assert resp.json() == {"error": {"code": "", "message": message}}


def test_moedas_lists_the_ten_ptax_currencies(server: ReplayServer, client: httpx.Client) -> None:
    body = client.get(server.source_urls()["bcb"] + "/Moedas", params={"$format": "json"}).json()
    symbols = {r["simbolo"] for r in body["value"]}
    assert symbols == {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "DKK", "NOK", "SEK"}
    assert all(set(r) == {"simbolo", "nomeFormatado", "tipoMoeda"} for r in body["value"])


# --- Yahoo ------------------------------------------------------------------------------------
def _chart(
    server: ReplayServer, client: httpx.Client, symbol: str, **params: str
) -> httpx.Response:
    return client.get(f"{server.source_urls()['yahoo']}/v8/finance/chart/{symbol}", params=params)


def test_petr4_close_equals_the_real_export(
    server: ReplayServer, client: httpx.Client, real_data: Callable[[str], Path]
) -> None:
    """The window's PETR4 values are the classic export's (henriquebrnetto); the Adj Close is
    the one source the whole span comes from (sheep-farm, adjusted in 2025-08), six decimals."""
    real = _csv_row(real_data("stocks/henriquebrnetto__PETR4.SA.csv"), "Date", "2021-05-19")
    flat = real_data("stocks/sheep-farm__PETR4.SA_2021-05-19_2025-09-29.csv")
    adjusted = _csv_row(flat, "date", "2021-05-19")
    resp = _chart(server, client, "PETR4.SA", **chart_params(date(2021, 5, 19), date(2021, 5, 19)))
    result = resp.json()["chart"]["result"][0]
    meta = result["meta"]
    assert (meta["symbol"], meta["currency"], meta["exchangeTimezoneName"]) == (
        "PETR4.SA",
        "BRL",
        "America/Sao_Paulo",
    )
    assert meta["dataGranularity"] == "1d"
    (ts,) = result["timestamp"]
    assert datetime.fromtimestamp(ts, UTC) == datetime(2021, 5, 19, 13, 0, tzinfo=UTC)
    quote = result["indicators"]["quote"][0]
    assert quote["close"] == [float(real["Close"])]
    assert quote["open"] == [float(real["Open"])]
    assert quote["volume"] == [int(real["Volume"])]
    assert result["indicators"]["adjclose"][0]["adjclose"] == [
        round(float(adjusted["adjclose"]), 6)
    ]
    assert adjusted["adjclose"] == "8.007492065429688" != real["Adj Close"]


def test_petr4_runs_past_the_window_to_its_source_s_end(
    server: ReplayServer, client: httpx.Client, real_data: Callable[[str], Path]
) -> None:
    flat = real_data("stocks/sheep-farm__PETR4.SA_2021-05-19_2025-09-29.csv")
    last = _csv_row(flat, "date", "2025-09-29")
    resp = _chart(server, client, "PETR4.SA", **chart_params(date(2025, 9, 26), date(2025, 10, 3)))
    result = resp.json()["chart"]["result"][0]
    days = [datetime.fromtimestamp(ts, UTC).date() for ts in result["timestamp"]]
    assert days == [date(2025, 9, 26), date(2025, 9, 29)]
    assert result["indicators"]["quote"][0]["close"][-1] == round(float(last["close"]), 6)


def test_nyse_bars_open_at_0930_new_york(server: ReplayServer, client: httpx.Client) -> None:
    summer = _chart(server, client, "XOM", **chart_params(date(2021, 6, 1), date(2021, 6, 1)))
    winter = _chart(server, client, "XOM", **chart_params(date(2022, 1, 5), date(2022, 1, 5)))
    (s_ts,) = summer.json()["chart"]["result"][0]["timestamp"]
    (w_ts,) = winter.json()["chart"]["result"][0]["timestamp"]
    assert datetime.fromtimestamp(s_ts, UTC).time().isoformat() == "13:30:00"
    assert datetime.fromtimestamp(w_ts, UTC).time().isoformat() == "14:30:00"


def test_brent_futures_and_adjusted_nyse_closes(
    server: ReplayServer, client: httpx.Client, real_data: Callable[[str], Path]
) -> None:
    real = _csv_row(real_data("stocks/henriquebrnetto__BZ=F.csv"), "Date", "2022-03-08")
    result = _chart(server, client, "BZ=F", **chart_params(date(2022, 3, 8), date(2022, 3, 8)))
    body = result.json()["chart"]["result"][0]
    assert body["meta"]["instrumentType"] == "FUTURE"
    assert body["indicators"]["quote"][0]["close"] == [float(real["Close"])]
    xom = _csv_row(
        real_data("stocks/daily-2018-2023/XOM_daily_2018-01-04_2023-12-29.csv"),
        "Date",
        "2021-12-01",
    )
    res = _chart(server, client, "XOM", **chart_params(date(2021, 12, 1), date(2021, 12, 1)))
    ind = res.json()["chart"]["result"][0]["indicators"]
    assert ind["quote"][0]["close"] == ind["adjclose"][0]["adjclose"] == [float(xom["Close"])]


def test_unknown_symbol_is_a_404_like_yahoo(server: ReplayServer, client: httpx.Client) -> None:
    resp = _chart(server, client, "NOPE.SA", **chart_params(date(2021, 6, 1), date(2021, 6, 30)))
    assert resp.status_code == 404
    assert resp.json() == {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }


def test_range_without_bars_has_meta_and_an_empty_quote(
    server: ReplayServer, client: httpx.Client
) -> None:
    resp = _chart(server, client, "PETR4.SA", **chart_params(date(2021, 5, 22), date(2021, 5, 23)))
    result = resp.json()["chart"]["result"][0]
    assert resp.status_code == 200
    assert "timestamp" not in result
    assert result["indicators"] == {"quote": [{}]}
    assert result["meta"]["symbol"] == "PETR4.SA"


def test_arrays_line_up_over_the_whole_window(server: ReplayServer, client: httpx.Client) -> None:
    for symbol in server.snapshot.bars:
        result = _chart(server, client, symbol, period1="0", period2=str(2**33)).json()
        body = result["chart"]["result"][0]
        n = len(body["timestamp"])
        assert n == len(server.snapshot.bars[symbol])
        assert all(len(v) == n for v in body["indicators"]["quote"][0].values())
        assert body["timestamp"] == sorted(body["timestamp"])


def test_start_after_end_is_a_400(server: ReplayServer, client: httpx.Client) -> None:
    resp = _chart(server, client, "XOM", period1="1650000000", period2="1600000000")
    assert resp.status_code == 400
    assert resp.json()["chart"]["error"]["code"] == "Bad Request"


# --- FRED -------------------------------------------------------------------------------------
def test_fred_brent_csv_matches_the_real_download(
    server: ReplayServer, client: httpx.Client, real_data: Callable[[str], Path]
) -> None:
    resp = client.get(
        server.source_urls()["fred"] + "/graph/fredgraph.csv",
        params={"id": "DCOILBRENTEU", "cosd": "2021-05-28", "coed": "2021-06-03"},
    )
    assert resp.headers["content-type"].startswith("text/csv")
    lines = resp.text.splitlines()
    assert lines[0] == "observation_date,DCOILBRENTEU"
    real = real_data("brent/jackthompsondb__DCOILBRENTEU.csv")
    real_lines = real.read_text().splitlines()
    assert lines[1:] == [ln for ln in real_lines[1:] if "2021-05-28" <= ln[:10] <= "2021-06-03"]
    assert "2021-05-31," in lines  # UK bank holiday: empty value, as FRED writes it


def test_fred_without_range_serves_everything_and_unknown_id_is_404(
    server: ReplayServer, client: httpx.Client
) -> None:
    url = server.source_urls()["fred"] + "/graph/fredgraph.csv"
    everything = client.get(url, params={"id": "DCOILBRENTEU"}).text.splitlines()
    assert len(everything) == 1 + len(server.snapshot.fred["DCOILBRENTEU"])
    missing = client.get(url, params={"id": "NOTASERIES"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


# --- ANP --------------------------------------------------------------------------------------
WORKBOOKS = [
    ("semanal/semanal-brasil-desde-2013.xlsx", "BRASIL - DESDE 30.12.2012", 18),
    ("semanal/semanal-regioes-desde-2013.xlsx", "REGIÕES - DESDE 30.12.2012", 18),
    ("semanal/semanal-estados-desde-2013.xlsx", "ESTADOS - DESDE 30.12.2012", 18),
    ("mensal/mensal-estados-desde-jan2013.xlsx", "ESTADOS - DESDE JANEIRO DE 2013", 17),
]


@pytest.mark.parametrize(("route", "sheet", "header_row"), WORKBOOKS)
def test_workbooks_open_with_the_header_on_the_real_row(
    server: ReplayServer, client: httpx.Client, route: str, sheet: str, header_row: int
) -> None:
    resp = client.get(f"{server.source_urls()['anp']}/{route}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == XLSX_CONTENT_TYPE
    assert resp.content[:4] == b"PK\x03\x04"
    wb = openpyxl.load_workbook(io.BytesIO(resp.content), read_only=True)
    ws = wb.worksheets[0]
    assert ws.title == sheet
    assert find_header_row(ws) == header_row
    first = next(ws.iter_rows(min_row=header_row + 1, max_row=header_row + 1, values_only=True))
    assert isinstance(first[0], datetime)  # real Excel dates
    assert ws.cell(1, 1).value.startswith("AGÊNCIA NACIONAL DO PETRÓLEO")


def _rows_by_week(data: bytes, start: datetime) -> dict[str, tuple[object, ...]]:
    ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    header = find_header_row(ws)
    return {
        str(r[2]): tuple(r[:16])
        for r in ws.iter_rows(min_row=header + 1, values_only=True)
        if r[0] == start
    }


def test_brasil_gasoline_week_equals_the_real_workbook(
    server: ReplayServer, client: httpx.Client, real_data: Callable[[str], Path]
) -> None:
    served = client.get(f"{server.source_urls()['anp']}/semanal/semanal-brasil-desde-2013.xlsx")
    week = datetime(2021, 11, 7)
    real = _rows_by_week(
        real_data("anp/maikereis__semanal-brasil-desde-2013.xlsx").read_bytes(), week
    )
    mine = _rows_by_week(served.content, week)
    assert mine["GASOLINA COMUM"] == real["GASOLINA COMUM"]
    assert mine == real
    assert isinstance(mine["GASOLINA COMUM"][5], float)


def test_unknown_anp_path_is_a_404_page(server: ReplayServer, client: httpx.Client) -> None:
    resp = client.get(f"{server.source_urls()['anp']}/semanal/semanal-municipios-2022.xlsx")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")


# --- server plumbing --------------------------------------------------------------------------
def test_source_urls_stats_and_counts(server: ReplayServer, client: httpx.Client) -> None:
    urls = server.source_urls()
    assert urls["bcb"] == f"{server.url}/bcb/olinda/servico/PTAX/versao/v1/odata"
    assert {k: v.removeprefix(server.url) for k, v in urls.items() if k != "bcb"} == {
        "yahoo": "/yahoo",
        "fred": "/fred",
        "anp": "/anp",
        "shpc": "/shpc",  # ANP's station-level files (replay/routes/shpc.py)
    }
    assert set(server.env()) == {
        f"FUELPIPE_SOURCE_{s}_URL" for s in ("BCB", "YAHOO", "FRED", "ANP", "SHPC")
    }
    before = server.request_counts
    client.get(urls["fred"] + "/graph/fredgraph.csv", params={"id": "DCOILBRENTEU"})
    stats = client.get(f"{server.url}/_replay/stats").json()
    assert stats["requests"]["fred"] == before["fred"] + 1
    assert stats["requests"]["bcb"] == before["bcb"]
    assert stats["faults"] == {}


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("fred", "/graph/fredgraph.csv?id=DCOILBRENTEU"),
        ("shpc", "/arquivos/shpc/qus/ultimas-4-semanas-glp.csv"),
    ],
)
def test_if_none_match_compares_weakly_and_a_304_has_no_length(
    server: ReplayServer, client: httpx.Client, source: str, path: str
) -> None:
    url = server.source_urls()[source] + path
    first = client.get(url)
    etag = first.headers["etag"]
    for asked in (etag, f"W/{etag}", f'"other", W/{etag}', "*"):
        resp = client.get(url, headers={"If-None-Match": asked})  # the same kept-alive link
        assert (resp.status_code, resp.content, resp.headers["etag"]) == (304, b"", etag), asked
        assert "content-length" not in resp.headers  # 0 would not be the 200's length
    other = client.get(url, headers={"If-None-Match": '"other", W/"else"'})
    assert (other.status_code, other.content) == (200, first.content)
