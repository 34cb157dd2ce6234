"""The API's answers to extreme and malformed input: 422 with a message and the security
headers, never a 500; a 500 from a real fault still carries the headers; /docs is offline."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.areas import DRIVERS, REGION_CODES, STATE_CODES
from fuelpipe.dashboard.security import CONTENT_SECURITY_POLICY
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status

EXTREMES = ["0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01"]
DATED = [
    "/api/series?key=CURRENCY%23USD&freq=weekly",
    "/api/indices?keys=CURRENCY%23USD,COMMODITY%23BRENT",
    "/api/correlations?keys=CURRENCY%23USD,COMMODITY%23BRENT",
    "/api/lags?fuel=GASOLINE",
]


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("view", DATED)
@pytest.mark.parametrize("param", ["start", "end"])
def test_extreme_dates_are_422_with_headers(
    client: httpx.Client, view: str, param: str, day: str
) -> None:
    r = client.get(f"{view}&{param}={day}")
    assert r.status_code == 422, r.text
    assert day in r.json()["detail"]
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("day", ["0.0", "86400", "2022-5-1", "20220501"])
@pytest.mark.parametrize("view", [*DATED, "/api/stations/ranking?fuel=GASOLINE"])
def test_a_date_not_written_yyyy_mm_dd_is_422(client: httpx.Client, view: str, day: str) -> None:
    # pydantic alone reads 0.0 or 86400 as seconds since 1970 (found by make chaos's fuzzing)
    r = client.get(f"{view}&start={day}")
    assert r.status_code == 422, r.text
    assert "YYYY-MM-DD" in r.text


@pytest.mark.parametrize(
    ("day", "why"),
    [("2021-13-01", "month must be in 1..12"), ("2021-02-30", "day is out of range for month")],
)
@pytest.mark.parametrize("param", ["start", "end", "until"])
def test_a_day_the_calendar_lacks_is_422_in_the_projects_words(
    client: httpx.Client, param: str, day: str, why: str
) -> None:
    # well-formed but impossible, it got pydantic's "month value is outside expected range of
    # 1-12" where `until=garbage` got the message below, naming the parameter likewise
    r = client.get(f"/api/series?key=CURRENCY%23USD&{param}={day}")
    assert r.status_code == 422, r.text
    message = f"{day!r} is not a date ({why}); write it YYYY-MM-DD"
    assert r.json()["detail"] == f"{param}: {message}"
    (error,) = r.json()["errors"]
    assert error["loc"] == ["query", param]
    assert error["msg"].endswith(message)


def test_a_date_over_a_year_ahead_of_the_clock_is_422(client: httpx.Client) -> None:
    later = date(NOW.year + 2, 1, 1).isoformat()
    r = client.get(f"/api/parity?week={later}")
    assert r.status_code == 422
    assert "more than a year after today" in r.json()["detail"]


def test_a_window_too_far_ahead_names_its_end(client: httpx.Client) -> None:
    # The page sends the end date picked and a start a window before it: the error named that
    # start (a date the analyst never typed) while the end is what is too far ahead.
    start, end = date(NOW.year + 3, 1, 2).isoformat(), date(NOW.year + 4, 1, 1).isoformat()
    r = client.get(f"/api/series?key=FUEL%23GASOLINE%23BR&start={start}&end={end}")
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"end {end} is more than a year after today")


# A message naming its choices lists them as text, never as a Python tuple, list, set or enum.
PYTHON_REPR = re.compile(
    r"\('[^']*',|\['[^']*'|\{'|<[A-Za-z]+\.[A-Z_]+: |\b[A-Z][a-z]+\.[A-Z_]{2,}\b"
)


@pytest.mark.parametrize(
    "url",
    [
        "/api/lags?fuel=GASOLINE&driver=FUEL%23ETHANOL%23BR",
        "/api/lags?fuel=GASOLINE&driver=XX",
        "/api/lags?fuel=XX",
        "/api/lags?fuel=GASOLINE&area=ZZ",
        "/api/series?key=FUEL%23GASOLINE",
        "/api/series?key=CURRENCY%23USD&how=median",
        "/api/regional?fuel=XX",
        "/api/overview?format=xml",
        "/api/intraday?series=FOO",
        "/api/outlook/map?fuel=GASOLINE&horizon=9",
        "/api/outlook?fuel=XX",
        "/api/stations/ranking?fuel=XX",
        "/api/stations/ranking?fuel=GASOLINE&state=XX",
    ],
)
def test_error_messages_list_their_choices_as_text(client: httpx.Client, url: str) -> None:
    r = client.get(url)
    assert r.status_code in (404, 422), r.text
    detail = r.json()["detail"]
    assert not PYTHON_REPR.search(detail), detail


def test_a_pump_price_as_driver_names_the_drivers_comma_separated(client: httpx.Client) -> None:
    r = client.get("/api/lags?fuel=GASOLINE&driver=FUEL%23ETHANOL%23BR")
    assert r.status_code == 422
    assert r.json()["detail"].endswith(
        "choose one of BRENT_BRL, CURRENCY#USD, STOCK#PETR4, "
        "COMMODITY#BRENT, COMMODITY#BRENT_FUTURES, STOCK#PETR3"
    )


DRIVER_CHOICES = ", ".join(DRIVERS)


@pytest.mark.parametrize(
    "driver",
    ["STOCK%23NOPE", "XX", "CURRENCY%23EUR", "FUEL_MONTHLY%23GASOLINE%23SP", "%23", "brent"],
)
def test_an_unknown_driver_is_422_naming_the_drivers(client: httpx.Client, driver: str) -> None:
    # It was a 404 saying only that the series is not in the catalog (or, for a catalog series
    # the page never offers as a driver, a 200): now a 422 like an unknown fuel or area.
    r = client.get(f"/api/lags?fuel=GASOLINE&driver={driver}")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("driver: unknown driver '") and detail.endswith(
        f"use one of {DRIVER_CHOICES}"
    ), detail
    assert r.json()["errors"][0]["loc"] == ["query", "driver"]


def test_a_driver_is_case_insensitive_and_each_one_offered_is_accepted(
    client: httpx.Client,
) -> None:
    meta = client.get("/api/meta").json()
    assert [d["code"] for d in meta["drivers"]] == list(DRIVERS)
    for code in DRIVERS:
        r = client.get("/api/lags", params={"fuel": "GASOLINE", "driver": code.lower()})
        assert r.status_code == 200, (code, r.text)
        assert r.json()["driver"] == code


def test_the_api_reference_names_the_drivers_and_the_422(client: httpx.Client) -> None:
    lags = client.get("/openapi.json").json()["paths"]["/api/lags"]["get"]
    (driver,) = [p for p in lags["parameters"] if p["name"] == "driver"]
    assert DRIVER_CHOICES in driver["description"]
    assert "case-insensitive" in driver["description"]
    assert "422" in driver["description"]
    answers = lags["responses"]["422"]["description"]
    assert "unknown fuel, area or driver names the valid values" in answers


@pytest.mark.parametrize("path", ["/api/lags", "/api/outlook"])
def test_an_area_is_read_as_a_fuel_is_with_its_spaces_trimmed(
    client: httpx.Client, path: str
) -> None:
    """A fuel, a driver, a key and a state are read trimmed of spaces; an area was not: " sp"
    was a 422 (unknown area ' sp'), while the same area on the page's stored lags request
    (its spaces trimmed before the lookup) was answered."""
    trimmed = client.get(path, params={"fuel": "GASOLINE", "area": "sp"})
    spaced = client.get(path, params={"fuel": " gasoline ", "area": " sp "})
    assert spaced.status_code == 200, spaced.text
    assert spaced.json() == trimmed.json()


def test_keys_are_case_insensitive(client: httpx.Client) -> None:
    upper = client.get("/api/series?key=CURRENCY%23USD&start=2022-04-01").json()
    lower = client.get("/api/series?key=currency%23usd&start=2022-04-01").json()
    assert upper == lower
    assert upper["points"]
    both = client.get("/api/indices?keys=currency%23usd,commodity%23brent").json()
    assert [s["key"] for s in both["series"]] == ["CURRENCY#USD", "COMMODITY#BRENT"]


@pytest.mark.parametrize(
    ("url", "unknown"),
    [
        ("/api/lags?fuel=GASOLINE&maxlag=2", "maxlag"),  # max_lag misspelt: was 12 lags, a 200
        ("/api/parity?fuel=DIESEL", "fuel"),
        ("/api/series?keys=CURRENCY%23USD", "keys"),  # key, not keys
        ("/api/outlook?fuel=GASOLINE&horizon=2", "horizon"),  # the map's, not the area's
        ("/api/stations/ranking?fuel=GASOLINE&uf=SP", "uf"),
        ("/api/live?_=1", "_"),
    ],
)
def test_a_parameter_a_route_does_not_take_is_422_naming_it(
    client: httpx.Client, url: str, unknown: str
) -> None:
    r = client.get(url)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    path = url.partition("?")[0]
    assert detail.startswith(f"{unknown}: unknown parameter: {path} takes ")
    assert r.json()["errors"][0]["loc"] == ["query", unknown]


def test_every_api_route_names_the_parameters_its_reference_lists(client: httpx.Client) -> None:
    """Each /api route's 422 for a parameter it does not take lists what /docs lists for it;
    the pages, whose own state is in their query (view, lang), take any."""
    paths = client.get("/openapi.json").json()["paths"]
    api = {p: op["get"] for p, op in paths.items() if p.startswith("/api/")}
    assert len(api) >= 15
    for path, op in api.items():
        r = client.get(f"{path}?bogus=1")
        assert r.status_code == 422, (path, r.text)
        taken = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        listed = r.json()["detail"].removeprefix(f"bogus: unknown parameter: {path} takes ")
        assert sorted(listed.split(", ")) == sorted(taken), path
    for page in ("/?view=lags&lang=pt-BR", "/stations?view=brands&lang=en", "/docs?x=1"):
        assert client.get(page).status_code == 200, page


def test_a_single_valued_parameter_given_twice_is_422_naming_it(client: httpx.Client) -> None:
    """FastAPI reads the last of a repeated single-valued parameter: ``format=json&format=csv``
    was a CSV and ``key=A&key=B`` B's series, a 200 for a request that asks two things. Every
    /api route's every such parameter refuses a second value; a list (``keys``) takes many."""
    paths = client.get("/openapi.json").json()["paths"]
    api = {p: op["get"] for p, op in paths.items() if p.startswith("/api/")}
    checked = 0
    for path, op in api.items():
        for param in op.get("parameters", []):
            if param["in"] != "query" or param["schema"].get("type") == "array":
                continue
            name = param["name"]
            r = client.get(path, params=[(name, "json"), (name, "csv")])
            assert r.status_code == 422, (path, name, r.text)
            assert f"{name}: given 2 times; give it once" in r.json()["detail"], (path, r.text)
            checked += 1
    assert checked >= 40
    r = client.get("/api/series?key=CURRENCY%23USD&format=json&format=csv")
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "format: given 2 times; give it once"
    assert r.json()["errors"][0]["loc"] == ["query", "format"]
    twice = client.get("/api/indices?keys=CURRENCY%23USD&keys=COMMODITY%23BRENT")
    assert twice.status_code == 200, twice.text
    assert [s["key"] for s in twice.json()["series"]] == ["CURRENCY#USD", "COMMODITY#BRENT"]


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/api/indices?keys=,", "keys: give at least one series key"),
        ("/api/correlations?keys=%20", "keys: give at least one series key"),
        (
            "/api/indices?keys=" + ",".join(f"K{i}" for i in range(13)),
            "keys: at most 12 series at once, got 13",
        ),
        # one key, or one twice: the message said neither the parameter nor what it got
        (
            "/api/correlations?keys=CURRENCY%23USD",
            "keys: a correlation matrix needs at least two series, got 1: CURRENCY#USD",
        ),
        (
            "/api/correlations?keys=currency%23usd&keys=CURRENCY%23USD",
            "keys: a correlation matrix needs at least two series, got 1: CURRENCY#USD",
        ),
    ],
)
def test_a_wrong_number_of_keys_is_422_naming_keys(
    client: httpx.Client, url: str, detail: str
) -> None:
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == detail


def test_area_docs_come_from_the_codes_the_code_checks(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    (area,) = [p for p in spec["paths"]["/api/lags"]["get"]["parameters"] if p["name"] == "area"]
    text = area["description"]
    assert all(code in text for code in (*REGION_CODES, *STATE_CODES))
    assert "(N, NE" not in text


def test_docs_are_this_origins_own_page(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith(("/", "#")) for s in sources), sources  # no CDN
    assert client.get("/static/docs.js").status_code == 200
    redoc = client.get("/redoc", follow_redirects=False)
    assert redoc.status_code == 308
    assert redoc.headers["location"] == "/docs"


def test_an_unhandled_error_is_a_500_with_the_security_headers(tmp_path) -> None:
    store = SqliteStore(tmp_path / "closed.sqlite")
    store.close()  # every read now fails: a fault of the server, not of the request
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/series?key=CURRENCY%23USD")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error; see the server log"}
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["x-frame-options"] == "DENY"


def test_weeks_stored_past_the_clock_can_be_asked_for(tmp_path: Path) -> None:
    """The demo keeps its first phase's clock (2022) while its state files run to 2026: a week
    up to a year after the newest stored fuel week is a fair question, one further is not."""
    clock = FixedClock(datetime(2022, 5, 7, 23, 59, tzinfo=UTC))
    newest = date(2026, 6, 21)
    with SqliteStore(tmp_path / "s.sqlite", clock=clock) as store:
        store.put_records(
            [Record("FUEL#GASOLINE#SP", newest, Decimal("6.29"), Status.OK, updated_at=clock.now())]
        )
        with TestClient(create_app(store, DEFAULT_CATALOG, clock=clock)) as client:
            fine = client.get("/api/series?key=FUEL%23GASOLINE%23SP&start=2025-06-15")
            assert fine.status_code == 200, fine.text
            assert [p["date"] for p in fine.json()["points"]] == [newest.isoformat()]
            far = client.get("/api/series?key=FUEL%23GASOLINE%23SP&start=2027-07-01")
            assert far.status_code == 422
            assert "newest stored week (2026-06-21)" in far.json()["detail"]


def test_a_year_ahead_counts_from_sao_paulos_day_in_its_evening(tmp_path: Path) -> None:
    """The clock answers in UTC: at 22:30 in São Paulo (01:30 UTC the next day) the bound was a
    year after tomorrow, a day more than the page's End date offers (its São Paulo day)."""
    clock = FixedClock(datetime(2022, 3, 17, 1, 30, tzinfo=UTC))
    with (
        SqliteStore(tmp_path / "s.sqlite", clock=clock) as store,
        TestClient(create_app(store, DEFAULT_CATALOG, clock=clock)) as client,
    ):
        assert client.get("/api/overview?end=2023-03-17").status_code == 200
        far = client.get("/api/overview?end=2023-03-18")
    assert far.status_code == 422
    assert far.json()["detail"] == "end 2023-03-18 is more than a year after today (2022-03-16)"


def test_health_counts_a_series_at_its_own_clock_when_given_one(tmp_path: Path) -> None:
    """A demo store's state series were filled at 2026's clock while the app runs at 2022's:
    with its own clock the series is complete, not 'expected 0' drawn as an empty bar."""
    clock = FixedClock(datetime(2022, 5, 7, 23, 59, tzinfo=UTC))
    key = "FUEL#GASOLINE#SP"
    weeks = [date(2026, 6, 7), date(2026, 6, 14), date(2026, 6, 21)]
    own = {key: datetime(2026, 6, 26, 21, 0, tzinfo=UTC)}
    with SqliteStore(tmp_path / "s.sqlite", clock=clock) as store:
        store.put_records([Record(key, d, Decimal("6.29"), Status.OK) for d in weeks])
        for clocks, expected in ((None, 0), (own, 3)):
            app = create_app(store, DEFAULT_CATALOG, clock=clock, series_clocks=clocks)
            with TestClient(app) as client:
                rows = client.get("/api/health").json()["series"]
            (sp,) = [r for r in rows if r["key"] == key]
            assert sp["expected"] == expected, clocks
        assert sp["completeness"] == 1.0


@pytest.mark.parametrize(
    ("view", "param"),
    [
        ("/api/series?key=FUEL_MONTHLY%23GASOLINE%23SP&freq=weekly", "key"),
        ("/api/indices?keys=FUEL%23GASOLINE%23SP,FUEL_MONTHLY%23GASOLINE%23SP", "keys"),
        ("/api/correlations?keys=CURRENCY%23USD,FUEL_MONTHLY%23GASOLINE%23SP", "keys"),
    ],
)
def test_a_monthly_series_on_survey_weeks_is_422(
    client: httpx.Client, view: str, param: str
) -> None:
    """ANP's June average put in a Sunday week was dated 2021-05-30 (mostly May), moved the
    indices' shared base week and correlated with nothing (r null, n 0) without a word. The
    422 names the parameter that gave the series in ``errors`` (it named none)."""
    r = client.get(view)
    assert r.status_code == 422, r.text
    detail = (
        "FUEL_MONTHLY#GASOLINE#SP is a monthly series: it has no survey weeks (read its months "
        "as stored: /api/series with freq=raw, or fp.series in Python)"
    )
    assert r.json() == {
        "detail": detail,
        "errors": [{"loc": ["query", param], "msg": detail, "type": "value_error"}],
    }
    raw = client.get("/api/series?key=FUEL_MONTHLY%23GASOLINE%23SP&freq=raw")
    assert raw.status_code == 200, raw.text


HEAD_PATHS = [
    "/",
    "/docs",
    "/openapi.json",
    "/api/meta",
    "/api/series?key=CURRENCY%23USD",
    "/api/health?format=csv",
    "/static/favicon.svg",
]


@pytest.mark.parametrize("path", HEAD_PATHS)
def test_head_answers_as_get_without_the_body(client: httpx.Client, path: str) -> None:
    """`curl -I`, a link checker or an uptime probe asks HEAD: every page and view answered 405
    Method Not Allowed, where HTTP has a server that answers GET answer HEAD too (RFC 9110
    9.1): the same status and headers, no body."""
    got = client.get(path)
    head = client.head(path)
    assert (head.status_code, got.status_code) == (200, 200), head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]


def test_head_of_a_bad_request_is_its_status_without_the_body(client: httpx.Client) -> None:
    head = client.head("/api/series?key=CURRENCY%23USD&freq=monthly")
    assert head.status_code == 422 and head.content == b""
    assert client.post("/api/meta").status_code == 405  # only HEAD is answered as GET


# What each route needs besides the parameter tried (the real store's series and fuels).
NEEDS = {
    "key": "CURRENCY#USD",
    "keys": "CURRENCY#USD,COMMODITY#BRENT",
    "fuel": "GASOLINE",
    "q": "posto",
    "state": "SP",
    "municipality": "SAO PAULO",
}


def _choices(client: httpx.Client) -> list[tuple[str, str, str, dict[str, str]]]:
    """Every query parameter of a fixed set of values, as (path, name, value, other params)."""
    found = []
    for path, ops in client.get("/openapi.json").json()["paths"].items():
        for param in ops.get("get", {}).get("parameters", []):
            needs = {
                p["name"]: NEEDS[p["name"]]
                for p in ops["get"]["parameters"]
                if p.get("required") and p["name"] != param["name"]
            }
            for value in param["schema"].get("enum", []):
                found.append((path, param["name"], value, needs))
    return found


def _same(a: httpx.Response, b: httpx.Response) -> bool:
    name = "content-disposition"
    return (a.status_code, a.content, a.headers.get(name)) == (
        b.status_code,
        b.content,
        b.headers.get(name),
    )


@pytest.mark.parametrize("spelt", [str.upper, str.title, lambda v: f" {v.upper()} "])
def test_every_parameter_of_fixed_values_takes_any_case(
    client: httpx.Client, spelt: object
) -> None:
    """``format=CSV`` (or ``freq=Weekly``, ``how=LAST``) was a 422 where keys, fuels and areas
    took any case: each such parameter of every route now reads as its canonical value."""
    choices = _choices(client)
    assert {(p, n) for p, n, _, _ in choices} >= {
        ("/api/series", "format"),
        ("/api/series", "freq"),
        ("/api/series", "how"),
        ("/api/live", "format"),
        ("/api/stations/search", "format"),
    }
    wrong = []
    for path, name, value, needs in choices:
        given = spelt(value)  # type: ignore[operator]
        canonical = client.get(path, params={**needs, name: value})
        other = client.get(path, params={**needs, name: given})
        if not _same(canonical, other):
            wrong.append(f"{path}?{name}={given!r}: {other.status_code} {other.text[:80]}")
    assert wrong == []


@pytest.mark.parametrize(
    ("path", "name", "given"),
    [
        ("/api/series?key=CURRENCY%23USD", "format", "xml"),
        ("/api/series?key=CURRENCY%23USD", "freq", "Monthly"),
        ("/api/series?key=CURRENCY%23USD&freq=weekly", "how", "median"),
        ("/api/live", "format", "XLSX"),
        ("/api/stations/meta", "format", "tsv"),
    ],
)
def test_an_unknown_fixed_value_is_still_a_422_naming_the_parameter(
    client: httpx.Client, path: str, name: str, given: str
) -> None:
    sep = "&" if "?" in path else "?"
    r = client.get(f"{path}{sep}{name}={given}")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert name in detail and given in detail, detail


def test_the_reference_lists_the_canonical_values(client: httpx.Client) -> None:
    """Read in any case, the values the reference offers are still the lower-case ones."""
    enums = {(p, n): v for p, n, v, _ in _choices(client)}
    series = client.get("/openapi.json").json()["paths"]["/api/series"]["get"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in series}
    assert by_name["format"]["enum"] == ["json", "csv"]
    assert by_name["freq"]["enum"] == ["raw", "weekly"]
    assert by_name["how"]["enum"] == ["mean", "last"]
    assert all(v == v.lower() for v in enums.values())


TABLES = re.compile(r"`(\w+)`")


@pytest.mark.parametrize(
    ("path", "needs"),
    [
        ("/api/meta", {}),
        ("/api/health", {}),
        ("/api/intraday", {}),
        ("/api/outlook", {"fuel": "GASOLINE"}),
        ("/api/outlook/map", {"fuel": "GASOLINE"}),
    ],
)
def test_a_table_is_named_in_any_case(
    client: httpx.Client, path: str, needs: dict[str, str]
) -> None:
    """``table=Products`` was a 422 ("not a table of this view"); an unknown one still is."""
    spec = client.get("/openapi.json").json()["paths"][path]["get"]["parameters"]
    (help_text,) = [p["schema"]["description"] for p in spec if p["name"] == "table"]
    names = [n for n in TABLES.findall(help_text) if n not in ("format", "other_tables")]
    assert len(names) >= 2, help_text
    for name in names:
        asked = {**needs, "format": "csv", "table": name}
        canonical = client.get(path, params=asked)
        for given in (name.upper(), name.title()):
            other = client.get(path, params={**asked, "table": given})
            assert _same(canonical, other), (given, other.status_code, other.text[:200])
    r = client.get(path, params={**needs, "format": "csv", "table": "nope"})
    assert r.status_code in (422, 404), r.text
    if r.status_code == 422:
        assert "'nope' is not a table of this view" in r.json()["detail"]
