"""Every CSV download is named by the choices that shaped it (fuel, area, series, window,
week...), the defaults by the value the view used, in safe characters only: two downloads of
different fuels or windows no longer overwrite each other as ``lags.csv``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import NOW, OUTLOOK_NOW, lpg_outlook_store

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.schemas import FILENAME_CHARS, download_name, file_part
from fuelpipe.domain.catalog import DEFAULT_CATALOG

Q = "%23"
SAFE_HEADER = re.compile(rf'attachment; filename="[A-Za-z0-9._-]{{1,{FILENAME_CHARS}}}"')

# (request, file name) on the real demo data (its fuel weeks end 2022-05-01, PTAX 2022-05-06;
# the states' weeks 2026-06-21), the app's clock at NOW (2026-07-01)
REAL = [
    ("/api/meta", "meta.csv"),
    ("/api/meta?table=products", "meta-products.csv"),
    # default End date: the newest value shown
    ("/api/overview", "overview-latest-2022-05-06.csv"),
    ("/api/overview?end=2022-01-12", "overview-end-2022-01-12.csv"),
    # default window: the first and last point drawn; `how` only for weekly
    (
        f"/api/series?key=FUEL{Q}GASOLINE{Q}BR",
        "series-FUEL_GASOLINE_BR-raw-2021-05-16..2022-05-01.csv",
    ),
    (
        "/api/series?key=brent_brl&freq=weekly&how=last&start=2021-01-01&end=2021-06-30"
        "&until=2021-06-20",
        "series-BRENT_BRL-weekly-last-2021-01-01..2021-06-30-until-2021-06-20.csv",
    ),
    # default base: the first week every series has, as the view resolved it
    (
        f"/api/indices?keys=FUEL{Q}GASOLINE{Q}BR,CURRENCY{Q}USD",
        "indices-FUEL_GASOLINE_BR-CURRENCY_USD-base-2021-05-16-mean-2021-05-16..2022-05-01.csv",
    ),
    (
        f"/api/indices?keys=FUEL{Q}GASOLINE{Q}BR,CURRENCY{Q}USD&base=2021-06-06&start=2021-06-01"
        "&end=2022-01-31&how=last",
        "indices-FUEL_GASOLINE_BR-CURRENCY_USD-base-2021-06-06-last-2021-06-01..2022-01-31.csv",
    ),
    # default window: the first and last survey weeks the changes use
    (
        f"/api/correlations?keys=FUEL{Q}DIESEL{Q}BR,CURRENCY{Q}USD",
        "correlations-FUEL_DIESEL_BR-CURRENCY_USD-mean-2021-05-16..2022-05-01.csv",
    ),
    (
        f"/api/correlations?keys=FUEL{Q}DIESEL{Q}BR,CURRENCY{Q}USD&start=2021-01-01"
        "&until=2021-12-31",
        "correlations-FUEL_DIESEL_BR-CURRENCY_USD-mean-2021-01-01..2021-12-26-until-2021-12-31.csv",
    ),
    # default start unknown to the view: left out; default end: the pump's newest week used
    (
        "/api/lags?fuel=GASOLINE",
        "lags-GASOLINE-BR-driver-BRENT_BRL-maxlag-12-reglags-4-mean-to-2022-05-01.csv",
    ),
    (
        f"/api/lags?fuel=diesel&area=sp&driver=CURRENCY{Q}USD&max_lag=3&reg_lags=2&how=last"
        "&start=2021-05-16&end=2022-05-07",
        "lags-DIESEL-SP-driver-CURRENCY_USD-maxlag-3-reglags-2-last-2021-05-16..2022-05-07.csv",
    ),
    ("/api/regional?fuel=GASOLINE", "regional-GASOLINE-week-2026-06-21.csv"),
    ("/api/regional?fuel=ethanol&week=2022-01-02", "regional-ETHANOL-week-2022-01-02.csv"),
    ("/api/parity", "parity-week-2026-06-21.csv"),
    ("/api/parity?week=2022-01-02", "parity-week-2022-01-02.csv"),
    ("/api/health", "health.csv"),
    ("/api/health?table=problems", "health-problems.csv"),
    ("/api/live", "live.csv"),
    # default day: today in São Paulo (a Wednesday, a session day)
    ("/api/intraday", "intraday-CURRENCY_USD-2026-07-01.csv"),
    (
        f"/api/intraday?series=STOCK{Q}PETR4&day=2022-03-16&table=choices",
        "intraday-choices-STOCK_PETR4-2022-03-16.csv",
    ),
]

# The LPG outlook made at OUTLOOK_NOW from the real history: its last published week
OUTLOOK = [
    ("/api/outlook?fuel=LPG", "outlook-LPG-BR-from-2025-06-08.csv"),
    ("/api/outlook?fuel=lpg&area=BR&table=accuracy", "outlook-accuracy-LPG-BR-from-2025-06-08.csv"),
    ("/api/outlook?fuel=LPG&area=SP", "outlook-LPG-SP.csv"),  # no outlook stored: no week
    ("/api/outlook/map?fuel=LPG", "outlook-map-LPG-horizon-2.csv"),  # no state stored
    ("/api/outlook/map?fuel=LPG&horizon=4&table=behind", "outlook-map-behind-LPG-horizon-4.csv"),
]


@pytest.fixture(scope="module")
def clients(
    real_store: SqliteStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, TestClient]]:
    """The dashboard on the real demo data (``real``, an empty intraday store beside it), and
    on a store holding the real LPG history and its outlook (``outlook``)."""
    tmp = tmp_path_factory.mktemp("csv-names")
    points = SqliteIntradayStore(tmp / "points.sqlite")
    outlook = lpg_outlook_store(tmp / "outlook.sqlite")
    real = create_app(real_store, DEFAULT_CATALOG, clock=FixedClock(NOW), intraday=points)
    forecast = create_app(outlook, DEFAULT_CATALOG, clock=FixedClock(OUTLOOK_NOW))
    with TestClient(real) as on_real, TestClient(forecast) as on_outlook:
        yield {"real": on_real, "outlook": on_outlook}
    points.close()
    outlook.close()


def _named(http: TestClient, path: str) -> str:
    resp = http.get(path + ("&" if "?" in path else "?") + "format=csv")
    assert resp.status_code == 200, resp.text
    disposition = resp.headers["content-disposition"]
    assert SAFE_HEADER.fullmatch(disposition), disposition
    return disposition.removeprefix('attachment; filename="').removesuffix('"')


@pytest.mark.parametrize(("path", "name"), REAL, ids=[p for p, _ in REAL])
def test_a_download_is_named_by_its_choices(
    clients: dict[str, TestClient], path: str, name: str
) -> None:
    assert _named(clients["real"], path) == name


@pytest.mark.parametrize(("path", "name"), OUTLOOK, ids=[p for p, _ in OUTLOOK])
def test_an_outlook_download_is_named_by_fuel_area_horizon_and_week(
    clients: dict[str, TestClient], path: str, name: str
) -> None:
    assert _named(clients["outlook"], path) == name


def test_two_windows_or_fuels_get_two_names(clients: dict[str, TestClient]) -> None:
    http = clients["real"]
    lags = [
        _named(http, f"/api/lags?fuel={fuel}&start={start}")
        for fuel in ("GASOLINE", "DIESEL")
        for start in ("2021-06-06", "2021-09-05")
    ]
    assert len(set(lags)) == 4


def test_a_name_holds_only_safe_characters() -> None:
    hostile = 'a"b\\c/d\r\nX-Evil: 1;\x00 e'
    name = download_name("stations", hostile, "../../etc/passwd")
    assert name == "stations-a_b_c_d_X-Evil_1_e-.._.._etc_passwd.csv"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    assert file_part("São Paulo") == "Sao_Paulo"  # accents dropped, not replaced
    assert file_part("圣保罗") == ""  # nothing safe left: the part is left out
    assert download_name("x", None, "圣保罗", "y") == "x-y.csv"


def test_a_long_name_is_cut_and_keeps_the_choices_apart() -> None:
    keys = [f"FUEL#GASOLINE#REGION_{n}" for n in range(12)]
    first = download_name("indices", *keys, "mean")
    second = download_name("indices", *keys, "last")
    assert FILENAME_CHARS - 1 <= len(first) <= FILENAME_CHARS  # a cut "_" at its end dropped
    assert FILENAME_CHARS - 1 <= len(second) <= FILENAME_CHARS
    assert first.startswith("indices-FUEL_GASOLINE_REGION_0-") and first.endswith(".csv")
    assert first != second  # the same first characters, a different hash of the whole
    assert re.fullmatch(r"[A-Za-z0-9._-]+", first)
    assert download_name("indices", *keys[:2]) == (
        "indices-FUEL_GASOLINE_REGION_0-FUEL_GASOLINE_REGION_1.csv"
    )  # under the cap: whole, no hash
