"""Faults as clients see them over HTTP: each kind happens, at its rate, repeatably."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import openpyxl
import pytest
from tests.unit.replay.replay_helpers import PTAX_PATH, chart_params, ptax_params

from fuelpipe.replay import FaultKind, FaultPlan, ReplayServer
from fuelpipe.replay.anp_workbook import find_header_row, read_sheet

FRED_QUERY = {"id": "DCOILBRENTEU", "cosd": "2021-08-02", "coed": "2021-08-31"}
FRED_START, FRED_END = date(2021, 8, 2), date(2021, 8, 31)
ROW_KINDS = (FaultKind.SHAPE, FaultKind.DUP, FaultKind.REORDER, FaultKind.OUTSIDE)


def _serve(spec: str, seed: int = 7) -> ReplayServer:
    return ReplayServer(faults=FaultPlan.parse(spec, seed), quiet=True).start()


def _fred(srv: ReplayServer, client: httpx.Client) -> httpx.Response | Exception:
    try:
        return client.get(srv.source_urls()["fred"] + "/graph/fredgraph.csv", params=FRED_QUERY)
    except httpx.TransportError as exc:
        return exc


@pytest.fixture(scope="module")
def normal_fred(server: ReplayServer, client: httpx.Client) -> bytes:
    """The fault-free FRED body for FRED_QUERY."""
    resp = _fred(server, client)
    assert isinstance(resp, httpx.Response)
    return resp.content


@pytest.fixture(scope="module")
def real_brent(server: ReplayServer) -> dict[str, str]:
    """Every real (date, value) of the snapshot."""
    return {o.day.isoformat(): o.value for o in server.snapshot.fred["DCOILBRENTEU"]}


def classify_fred(  # noqa: PLR0911 - one return per fault kind reads best
    result: httpx.Response | Exception, normal: bytes, real: dict[str, str]
) -> FaultKind | None:
    """Which fault a FRED answer shows, judged only from what the client received."""
    if isinstance(result, httpx.TimeoutException):
        return FaultKind.SLOW
    if isinstance(result, httpx.RemoteProtocolError):
        return FaultKind.DROP
    assert isinstance(result, httpx.Response), result
    if result.status_code >= 500:
        return FaultKind.SERVER_ERROR
    if result.status_code == 429:
        has_header = "retry-after" in result.headers
        return FaultKind.RATE_LIMITED if has_header else FaultKind.RATE_LIMITED_BARE
    assert result.status_code == 200
    if result.headers["content-type"].startswith("text/html"):
        return FaultKind.HTML
    body = result.content
    if body != normal and normal.startswith(body):
        return FaultKind.TRUNCATE
    header, *lines = body.decode().splitlines()
    if header != "observation_date,DCOILBRENTEU":
        return FaultKind.SHAPE
    rows = [ln.split(",") for ln in lines]
    assert all(real[d] == v for d, v in rows)  # every row served is a real row
    days = [date.fromisoformat(d) for d, _ in rows]
    if any(not FRED_START <= d <= FRED_END for d in days):
        return FaultKind.OUTSIDE
    if len(set(days)) < len(days):
        return FaultKind.DUP
    if days != sorted(days):
        return FaultKind.REORDER
    assert body == normal
    return None


@pytest.mark.parametrize("kind", [k for k in FaultKind if k is not FaultKind.SLOW])
def test_each_kind_happens_when_its_rate_is_one(
    kind: FaultKind, normal_fred: bytes, real_brent: dict[str, str]
) -> None:
    srv = _serve(f"fred:{kind.value}=1,retry_after=3")
    try:
        with httpx.Client(timeout=5) as client:
            seen = [classify_fred(_fred(srv, client), normal_fred, real_brent) for _ in range(4)]
            if kind is FaultKind.RATE_LIMITED:
                resp = client.get(srv.source_urls()["fred"] + "/graph/fredgraph.csv")
                assert resp.headers["retry-after"] == "3"
        assert seen == [kind] * 4
        assert srv.fault_counts == {kind.value: 5 if kind is FaultKind.RATE_LIMITED else 4}
    finally:
        srv.stop()


def test_slow_sleeps_past_the_client_timeout_then_answers(normal_fred: bytes) -> None:
    srv = _serve("fred:slow=1,slow_s=0.6")
    try:
        with httpx.Client(timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
            impatient.get(srv.source_urls()["fred"] + "/graph/fredgraph.csv", params=FRED_QUERY)
        with httpx.Client(timeout=10) as patient:
            late = _fred(srv, patient)
        assert isinstance(late, httpx.Response)
        assert late.content == normal_fred
        assert srv.fault_counts == {"slow": 2}
    finally:
        srv.stop()


RATE_SPEC = (
    "fred:5xx=0.08,429=0.06,429bare=0.04,drop=0.05,truncate=0.07,html=0.05,"
    "shape=0.06,dup=0.06,reorder=0.06,outside=0.06"
)


def _observe(seed: int, n: int, normal: bytes, real: dict[str, str]) -> list[FaultKind | None]:
    srv = _serve(RATE_SPEC, seed)
    try:
        with httpx.Client(timeout=5) as client:
            return [classify_fred(_fred(srv, client), normal, real) for _ in range(n)]
    finally:
        srv.stop()


def test_kinds_happen_at_their_rates_and_repeat_with_the_seed(
    normal_fred: bytes, real_brent: dict[str, str]
) -> None:
    n = 300
    first = _observe(11, n, normal_fred, real_brent)
    plan = FaultPlan.parse(RATE_SPEC, 11)
    assert first == [plan.decide("fred", i).kind for i in range(1, n + 1)]
    assert first == _observe(11, n, normal_fred, real_brent)  # same seed, same sequence
    assert first != _observe(12, n, normal_fred, real_brent)
    counts = Counter(first)
    for kind in FaultKind:
        rate = plan.rate("fred", kind)
        sd = (n * rate * (1 - rate)) ** 0.5
        assert abs(counts[kind] - n * rate) <= 4 * sd + 1, (kind, counts[kind])
    quiet = 1 - sum(plan.rate("fred", k) for k in FaultKind)
    assert abs(counts[None] - n * quiet) <= 4 * (n * quiet * (1 - quiet)) ** 0.5


# --- row faults on the other sources ----------------------------------------------------------
@pytest.fixture
def row_server(request: pytest.FixtureRequest) -> Iterator[ReplayServer]:
    """A server with rate 1 for one row kind on every source."""
    srv = _serve(f"*:{request.param}=1")
    yield srv
    srv.stop()


def _ptax_rows(srv: ReplayServer, client: httpx.Client) -> list[dict[str, object]]:
    params = ptax_params("USD", date(2021, 8, 2), date(2021, 8, 31))
    rows: list[dict[str, object]] = client.get(
        srv.source_urls()["bcb"] + PTAX_PATH, params=params
    ).json()["value"]
    return rows


@pytest.mark.parametrize("row_server", [k.value for k in ROW_KINDS], indirect=True)
def test_ptax_row_faults(row_server: ReplayServer, client: httpx.Client) -> None:
    kind = FaultKind(row_server.faults.spec.split(":")[1].split("=")[0])
    rows = _ptax_rows(row_server, client)
    if kind is FaultKind.SHAPE:
        assert rows
        assert all("cotacaoVenda" not in r for r in rows)
        return
    real = {q.day.isoformat(): float(q.sell) for q in row_server.snapshot.ptax["USD"]}
    days = [str(r["dataHoraCotacao"])[:10] for r in rows]
    assert all(real[str(r["dataHoraCotacao"])[:10]] == r["cotacaoVenda"] for r in rows)
    if kind is FaultKind.DUP:
        assert len(set(days)) < len(days)
    elif kind is FaultKind.REORDER:
        assert days != sorted(days)
        assert len(set(days)) == len(days)
    else:
        assert any(not "2021-08-02" <= d <= "2021-08-31" for d in days)


SHAPED_REQUESTS = {
    "bcb": (PTAX_PATH, ptax_params("USD", date(2021, 8, 2), date(2021, 8, 31))),
    "yahoo": ("/v8/finance/chart/PETR4.SA", chart_params(date(2021, 8, 2), date(2021, 8, 31))),
    "fred": ("/graph/fredgraph.csv", FRED_QUERY),
    "anp": ("/semanal/semanal-brasil-desde-2013.xlsx", {}),
}


@pytest.mark.parametrize("source", sorted(SHAPED_REQUESTS))
def test_a_wrong_shape_is_counted_and_carries_no_etag(source: str, client: httpx.Client) -> None:
    srv = _serve(f"{source}:shape=1")
    try:
        path, params = SHAPED_REQUESTS[source]
        resp = client.get(srv.source_urls()[source] + path, params=params)
        assert resp.status_code == 200
        assert "etag" not in resp.headers  # a faulty body is never validated as the clean one
        assert client.get(f"{srv.url}/_replay/stats").json()["faults"] == {"shape": 1}
    finally:
        srv.stop()


@pytest.mark.parametrize("row_server", [k.value for k in ROW_KINDS], indirect=True)
def test_yahoo_row_faults(row_server: ReplayServer, client: httpx.Client) -> None:
    kind = FaultKind(row_server.faults.spec.split(":")[1].split("=")[0])
    url = f"{row_server.source_urls()['yahoo']}/v8/finance/chart/PETR4.SA"
    result = client.get(url, params=chart_params(date(2021, 8, 2), date(2021, 8, 31))).json()
    body = result["chart"]["result"][0]
    stamps = body["timestamp"]
    quote = body["indicators"]["quote"][0]
    if kind is FaultKind.SHAPE:
        assert len(quote["close"]) < len(stamps)
        return
    days = [datetime.fromtimestamp(t, UTC).date() for t in stamps]
    real = {b.day: b.close for b in row_server.snapshot.bars["PETR4.SA"]}
    assert [real[d] for d in days] == quote["close"]
    if kind is FaultKind.DUP:
        assert len(set(days)) < len(days)
    elif kind is FaultKind.REORDER:
        assert days != sorted(days)
    else:
        assert any(not date(2021, 8, 2) <= d <= date(2021, 8, 31) for d in days)


@pytest.mark.parametrize(
    "row_server",
    [FaultKind.SHAPE.value, FaultKind.DUP.value, FaultKind.REORDER.value],
    indirect=True,
)
def test_anp_row_faults(row_server: ReplayServer, client: httpx.Client) -> None:
    kind = FaultKind(row_server.faults.spec.split(":")[1].split("=")[0])
    route = "semanal/semanal-brasil-desde-2013.xlsx"
    data = client.get(f"{row_server.source_urls()['anp']}/{route}").content
    normal = row_server.snapshot.sheet(route)
    ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    if kind is FaultKind.SHAPE:
        with pytest.raises(ValueError, match="no header row"):
            find_header_row(ws)
        return
    served = read_sheet(data)
    assert served.header_row == normal.header_row
    assert set(served.rows) == set(normal.rows)
    if kind is FaultKind.DUP:
        assert len(served.rows) > len(normal.rows)
    else:
        assert served.rows != normal.rows
        assert sorted(map(repr, served.rows)) == sorted(map(repr, normal.rows))


def test_outside_does_not_apply_to_workbooks(client: httpx.Client) -> None:
    srv = _serve("anp:outside=1")
    try:
        route = "semanal/semanal-brasil-desde-2013.xlsx"
        data = client.get(f"{srv.source_urls()['anp']}/{route}").content
        assert data == srv.snapshot.workbook_bytes(route)
        assert srv.fault_counts == {}
    finally:
        srv.stop()


# --- absent dates -----------------------------------------------------------------------------
ABSENT = (
    "*:absent=2021-06-01..2021-06-04;STOCK#PETR4:absent=2021-07-01..2021-07-09;"
    "FUEL#GASOLINE#SP:absent=2025-07-06;FUEL_MONTHLY#GASOLINE#SP:absent=2021-07-01;"
    "*:outside=0.4,dup=0.2,reorder=0.2"
)


def test_absent_dates_are_never_served(client: httpx.Client) -> None:
    srv = _serve(ABSENT, seed=3)
    gone = {date(2021, 6, d) for d in range(1, 5)}
    petr4_gone = {date(2021, 7, d) for d in range(1, 10)}
    try:
        urls = srv.source_urls()
        for _ in range(15):
            for start, end in (
                (date(2021, 5, 25), date(2021, 6, 10)),
                (date(2021, 6, 5), date(2021, 6, 20)),
            ):
                ptax = client.get(urls["bcb"] + PTAX_PATH, params=ptax_params("USD", start, end))
                assert (
                    not {
                        date.fromisoformat(r["dataHoraCotacao"][:10]) for r in ptax.json()["value"]
                    }
                    & gone
                )
            for symbol, banned in (("PETR4.SA", gone | petr4_gone), ("XOM", gone)):
                chart = client.get(
                    f"{urls['yahoo']}/v8/finance/chart/{symbol}",
                    params=chart_params(date(2021, 6, 5), date(2021, 7, 31)),
                ).json()["chart"]["result"][0]
                days = {datetime.fromtimestamp(t, UTC).date() for t in chart["timestamp"]}
                assert not days & banned
            fred = client.get(
                urls["fred"] + "/graph/fredgraph.csv",
                params={"id": "DCOILBRENTEU", "cosd": "2021-06-05", "coed": "2021-06-30"},
            )
            assert not {date.fromisoformat(ln[:10]) for ln in fred.text.splitlines()[1:]} & gone
        xom = client.get(
            f"{urls['yahoo']}/v8/finance/chart/XOM",
            params=chart_params(date(2021, 7, 1), date(2021, 7, 1)),
        ).json()["chart"]["result"][0]
        assert len(xom["timestamp"]) == 1  # PETR4's absent days do not touch XOM

        weekly = read_sheet(
            client.get(f"{urls['anp']}/semanal/semanal-estados-desde-2013.xlsx").content
        )
        sp = {(r[4], r[0].date()) for r in weekly.rows if r[3] == "SAO PAULO"}
        assert ("GASOLINA COMUM", date(2025, 7, 6)) not in sp
        assert ("ETANOL HIDRATADO", date(2025, 7, 6)) in sp
        assert ("GASOLINA COMUM", date(2025, 7, 13)) in sp
        monthly = read_sheet(
            client.get(f"{urls['anp']}/mensal/mensal-estados-desde-jan2013.xlsx").content
        )
        july = {(r[1], r[3]) for r in monthly.rows if r[0].date() == date(2021, 7, 1)}
        assert ("GASOLINA COMUM", "SAO PAULO") not in july
        assert ("GASOLINA COMUM", "RIO DE JANEIRO") in july
        stats = client.get(f"{srv.url}/_replay/stats").json()
        assert stats["faults"]["outside"] > 0
        assert stats["requests"]["bcb"] == 30
    finally:
        srv.stop()
