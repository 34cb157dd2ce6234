"""GET /api/intraday: a day's PTAX bulletins with the previous close, on SQLite and on DynamoDB.

The bulletins come from the replay's real PTAX windows file through the real BCB client; the
previous close is the real daily PTAX of the day before."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import csv_misses

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.dynamodb_store import DynamoDbStore, create_table
from fuelpipe.adapters.intraday_store import DynamoIntradayStore, SqliteIntradayStore
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.intraday import IntradayPoint
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.intraday import IntradayStore, Upserted
from fuelpipe.ports.store import Store
from fuelpipe.replay.server import ReplayServer
from fuelpipe.replay.snapshot_data import Snapshot

SP = ZoneInfo("America/Sao_Paulo")
DAY = date(2022, 3, 16)  # the real windows file has its four windows
PREVIOUS = date(2022, 3, 15)
# 22:30 in São Paulo is already the next day in UTC: "today" must be São Paulo's.
NOW = datetime(2022, 3, 16, 22, 30, tzinfo=SP)
USD = DEFAULT_CATALOG["CURRENCY#USD"]


@pytest.fixture(scope="module")
def bulletins() -> list[IntradayPoint]:
    """The day's five real bulletins, fetched by the real client from the replay."""
    with ReplayServer(quiet=True) as replay:
        source = BcbPtaxSource(replay.source_urls()["bcb"])
        try:
            return source.fetch_bulletins(USD, DAY)
        finally:
            source.close()


def _previous_close() -> Decimal:
    quote = next(q for q in Snapshot().ptax["USD"] if q.day == PREVIOUS)
    return Decimal(quote.sell)


@pytest.fixture(params=["sqlite", "dynalite"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, IntradayStore]]:
    """The daily store and the intraday store of one home, the daily close of the day before in it."""
    clock = FixedClock(NOW)
    store: Any
    points: Any
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "s.sqlite", clock=clock)
        points = SqliteIntradayStore(tmp_path / "s.sqlite")  # beside the records, as watch does
    else:
        client = request.getfixturevalue("dynalite_server").client("dynamodb")
        name = f"panel-{tmp_path.name[-20:]}".replace("_", "-")
        create_table(client, name, delay_s=0.05)
        store = DynamoDbStore(client, name, clock=clock)
        points = DynamoIntradayStore(client, name)
    store.put_records([Record("CURRENCY#USD", PREVIOUS, _previous_close(), Status.OK)])
    yield store, points
    for closable in (store, points):
        close = getattr(closable, "close", None)
        if callable(close):
            close()


def _client(store: Store, points: IntradayStore | None, **kw: Any) -> TestClient:
    return TestClient(
        create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), intraday=points, **kw)
    )


def test_the_days_bulletins_with_their_times_kinds_and_the_previous_close(
    stores: tuple[Store, IntradayStore], bulletins: list[IntradayPoint]
) -> None:
    store, points = stores
    points.put_points(bulletins)
    with _client(store, points, cache_ttl_s=0) as http:
        answer = http.get("/api/intraday", params={"series": "currency#usd"})  # default: today
    assert answer.status_code == 200
    body = answer.json()
    assert body["key"] == "CURRENCY#USD" and body["day"] == DAY.isoformat()
    assert body["unit"] == "BRL/USD" and body["collected"] is True and body["message"] is None
    assert [p["kind"] for p in body["points"]] == [
        "Abertura", "Intermediário", "Intermediário", "Intermediário", "Fechamento",
    ]  # fmt: skip
    assert [p["time"][:2] for p in body["points"]] == ["10", "11", "12", "13", "13"]
    assert [p["value"] for p in body["points"]] == [float(b.value) for b in bulletins]
    assert all(isinstance(p["value"], float) for p in body["points"])
    assert datetime.fromisoformat(body["as_of"]) == bulletins[-1].at
    prev = float(_previous_close())
    assert body["previous_close"] == {"date": PREVIOUS.isoformat(), "value": prev}
    first = body["points"][0]
    assert first["change_pct"] == pytest.approx((first["value"] / prev - 1) * 100, abs=1e-4)
    assert "CURRENCY#USD" in body["choices"] and "STOCK#PETR4" in body["choices"]


def test_a_day_whose_close_is_stored_says_so_and_names_what_collects_its_points(
    stores: tuple[Store, IntradayStore],
) -> None:
    """The panel said "no point of US dollar (PTAX) stored for the day" under the dollar's card
    showing that day's close, and offered a share "the day's PTAX bulletins". The day's stored
    close is in the answer (``close``, and the CSV's ``close_*``) and its message; each series'
    hint names its own points (real closes of 2022-03-15 and 16)."""
    store, points = stores
    quote = next(q for q in Snapshot().ptax["USD"] if q.day == DAY)
    store.put_records([Record("CURRENCY#USD", DAY, Decimal(quote.sell), Status.OK)])
    with _client(store, points, cache_ttl_s=0) as http:
        usd = http.get("/api/intraday").json()
        petr4 = http.get("/api/intraday", params={"series": "STOCK#PETR4"}).json()
        rows = list(csv.DictReader(io.StringIO(http.get("/api/intraday?format=csv").text)))
    close = float(quote.sell)
    assert usd["day"] == DAY.isoformat() and usd["points"] == []
    assert usd["close"] == {"date": DAY.isoformat(), "value": close}
    assert usd["previous_close"]["date"] == PREVIOUS.isoformat()
    assert usd["message"].startswith(f"its close of 2022-03-16, {close}, is stored; no intraday")
    assert "PTAX bulletins" in usd["message"] and "15-minute bars" not in usd["message"]
    assert petr4["close"] is None and "PTAX" not in petr4["message"]
    assert "stores the day's 15-minute bars" in petr4["message"]
    assert (rows[0]["close_value"], rows[0]["close_date"]) == (str(close), DAY.isoformat())


def test_the_end_date_picks_the_day_as_the_cards_read_it(
    stores: tuple[Store, IntradayStore], bulletins: list[IntradayPoint]
) -> None:
    """``end=`` (the page's End date) shows that day, or the series' last session before it
    (Sunday the 13th: Friday the 11th), as the overview's cards read the dollar then; an End
    date after today shows today; it and ``day`` together are a 422."""
    store, points = stores
    points.put_points(bulletins)
    with _client(store, points, cache_ttl_s=0) as http:

        def shown(end: str) -> str:
            day: str = http.get("/api/intraday", params={"end": end}).json()["day"]
            return day

        assert shown(PREVIOUS.isoformat()) == PREVIOUS.isoformat()
        assert shown("2022-03-13") == "2022-03-11"
        later = http.get("/api/intraday", params={"end": "2022-03-20"}).json()
        assert later["day"] == DAY.isoformat() and len(later["points"]) == len(bulletins)
        both = http.get("/api/intraday", params={"end": "2022-03-15", "day": "2022-03-15"})
        assert both.status_code == 422 and "not both" in both.json()["detail"]


def test_a_second_instance_serves_the_new_points_after_the_first_saw_them(
    stores: tuple[Store, IntradayStore], bulletins: list[IntradayPoint]
) -> None:
    """Two dashboard processes (two Lambda environments) with their answer caches on: the page
    learns of a new bulletin from one (``/api/live``) and redraws from the other. An intraday
    write moves no data version, so the other served its cached old points, and the page's next
    live poll (304) never redrew again."""
    store, points = stores
    points.put_points(bulletins[:1])
    query = {"series": "CURRENCY#USD", "day": DAY.isoformat()}
    with _client(store, points) as first, _client(store, points) as second:
        seen = first.get("/api/live").headers["etag"]
        assert len(second.get("/api/intraday", params=query).json()["points"]) == 1
        points.put_points(bulletins[1:2])
        live = first.get("/api/live", headers={"If-None-Match": seen})
        assert live.status_code == 200 and live.headers["etag"] != seen
        assert len(second.get("/api/intraday", params=query).json()["points"]) == 2


def test_csv_export_has_one_row_per_point(
    stores: tuple[Store, IntradayStore], bulletins: list[IntradayPoint]
) -> None:
    store, points = stores
    points.put_points(bulletins)
    with _client(store, points, cache_ttl_s=0) as http:
        answer = http.get("/api/intraday", params={"day": DAY.isoformat(), "format": "csv"})
        body = http.get("/api/intraday", params={"day": DAY.isoformat()}).json()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert (
        'filename="intraday-CURRENCY_USD-2022-03-16.csv"' in answer.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["kind"] for r in rows][-1] == "Fechamento" and len(rows) == len(bulletins)
    assert {r["previous_close"] for r in rows} == {str(float(_previous_close()))}
    assert rows[0]["day"] == DAY.isoformat() and rows[0]["key"] == "CURRENCY#USD"
    # The JSON's label, unit, as_of and the previous close's date were not in it
    skip = ["previous_close_value"]  # the value: `previous_close`
    assert csv_misses(body, answer.text, skip) == []
    assert {(r["collected"], r["message"]) for r in rows} == {("True", "")}
    assert {r["previous_close_date"] for r in rows} == {PREVIOUS.isoformat()}


def test_an_empty_day_and_a_dashboard_without_intraday_say_how_to_collect(
    stores: tuple[Store, IntradayStore],
) -> None:
    store, points = stores
    with _client(store, points, cache_ttl_s=0) as http:
        empty = http.get("/api/intraday", params={"series": "STOCK#PETR4"}).json()
    assert empty["points"] == [] and empty["as_of"] is None and empty["collected"] is True
    # plain `watch` collects them (its --intraday is the default): no option to name
    assert "`fuelpipe watch` stores the day's 15-minute bars" in empty["message"]
    assert "--intraday" not in empty["message"]
    with _client(store, None, cache_ttl_s=0) as http:
        none = http.get("/api/intraday").json()
    assert none["collected"] is False and none["points"] == []
    assert "no intraday store" in none["message"] and "`fuelpipe watch` stores" in none["message"]
    assert none["previous_close"]["date"] == PREVIOUS.isoformat()  # the context is still there


def test_a_csv_of_a_day_with_no_point_says_why(stores: tuple[Store, IntradayStore]) -> None:
    """The CSV of an empty day was its header alone: the JSON's ``message`` (why there is no
    point, how to collect them) was lost. It is one row of it, with no time or value."""
    store, points = stores
    for app_points, collected in ((points, "True"), (None, "False")):
        with _client(store, app_points, cache_ttl_s=0) as http:
            query = {"series": "STOCK#PETR4", "day": DAY.isoformat()}
            body = http.get("/api/intraday", params=query).json()
            text = http.get("/api/intraday", params={**query, "format": "csv"}).text
        (row,) = csv.DictReader(io.StringIO(text))
        assert (row["key"], row["day"], row["collected"]) == (
            "STOCK#PETR4",
            "2022-03-16",
            collected,
        )
        assert row["message"] == body["message"] and "`fuelpipe watch` stores" in row["message"]
        assert row["at"] == row["time"] == row["value"] == ""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"series": "FUEL#GASOLINE#SP"}, "'FUEL#GASOLINE#SP' has no intraday values"),
        ({"series": "NOPE"}, "series: 'NOPE' has no intraday values; one of CURRENCY#USD"),
        ({"day": "2022-13-01"}, "day:"),
        ({"day": "16/03/2022"}, "is not a date written YYYY-MM-DD"),
        ({"day": "2024-03-16"}, "day 2024-03-16 is more than a year after today"),
        ({"format": "xml"}, "format:"),
    ],
)
def test_bad_parameters_are_a_422_naming_what_was_wrong(
    stores: tuple[Store, IntradayStore], query: dict[str, str], message: str
) -> None:
    store, points = stores
    with _client(store, points, cache_ttl_s=0) as http:
        answer = http.get("/api/intraday", params=query)
    assert answer.status_code == 422
    assert message in answer.json()["detail"]


def test_storing_points_moves_the_live_version_and_the_cached_answer_follows(
    stores: tuple[Store, IntradayStore], bulletins: list[IntradayPoint]
) -> None:
    store, points = stores
    points.put_points(bulletins[:2])
    with _client(store, points) as http:  # the response cache on, as served
        live = http.get("/api/live")
        etag = live.headers["ETag"]
        assert len(http.get("/api/intraday").json()["points"]) == 2
        assert http.get("/api/live", headers={"If-None-Match": etag}).status_code == 304
        points.put_points(bulletins[2:])  # the next bulletins land; no daily record changes
        moved = http.get("/api/live", headers={"If-None-Match": etag})
        assert moved.status_code == 200 and moved.headers["ETag"] != etag
        assert len(http.get("/api/intraday").json()["points"]) == len(bulletins)
        # a point of another day (yesterday's, stored late) is not today's change
        again = moved.headers["ETag"]
        stale = [
            IntradayPoint(
                "CURRENCY#USD", bulletins[0].at - timedelta(days=1), "Abertura", Decimal("5")
            )
        ]
        points.put_points(stale)
        assert http.get("/api/live", headers={"If-None-Match": again}).status_code == 304


def test_the_endpoint_is_in_the_openapi_with_its_parameters(
    stores: tuple[Store, IntradayStore],
) -> None:
    store, points = stores
    with _client(store, points, cache_ttl_s=0) as http:
        spec = http.get("/openapi.json").json()
    op = spec["paths"]["/api/intraday"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"series", "day", "end", "format", "table"}
    assert "text/csv" in op["responses"]["200"]["content"]
    assert "422" in op["responses"]
    assert "IntradayView" in spec["components"]["schemas"]


NY = ZoneInfo("America/New_York")
BRENT = "COMMODITY#BRENT_FUTURES"


def _synthetic_bar(at: datetime, close: str) -> IntradayPoint:
    """A synthetic BZ=F 15-minute bar, in New York's zone as the Yahoo client gives it (so
    filed under New York's date, as bars already stored are)."""
    return IntradayPoint(BRENT, at, "15m", Decimal(close))


def test_a_new_york_bar_shows_on_its_sao_paulo_day_at_its_sao_paulo_time(
    stores: tuple[Store, IntradayStore],
) -> None:
    """BZ=F trades into New York's evening: in March (New York on daylight time, an hour
    behind São Paulo) its 23:45 bar of the 16th is 00:45 of the 17th in São Paulo. It showed
    on the 16th's panel as "00:45" after 23:45, and the 17th's panel, read in the first hour
    of São Paulo's day, had none of the bars of New York's last hour. Synthetic bars around
    both midnights, read through the app."""
    store, points = stores
    bars = [
        _synthetic_bar(datetime(2026, 3, 15, 23, 30, tzinfo=NY), "70.10"),  # SP 16th 00:30
        _synthetic_bar(datetime(2026, 3, 16, 10, 0, tzinfo=NY), "70.20"),  # SP 16th 11:00
        _synthetic_bar(datetime(2026, 3, 16, 22, 45, tzinfo=NY), "70.30"),  # SP 16th 23:45
        _synthetic_bar(datetime(2026, 3, 16, 23, 45, tzinfo=NY), "70.40"),  # SP 17th 00:45
        _synthetic_bar(datetime(2026, 3, 17, 0, 15, tzinfo=NY), "70.50"),  # SP 17th 01:15
    ]
    points.put_points(bars[:3] + bars[4:])
    # 00:50 in São Paulo on the 17th: still 23:50 of the 16th in New York
    now = datetime(2026, 3, 17, 0, 50, tzinfo=SP)
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(now), intraday=points)
    with TestClient(app) as http:
        day16 = http.get("/api/intraday", params={"series": BRENT, "day": "2026-03-16"}).json()
        assert [p["time"] for p in day16["points"]] == ["00:30", "11:00", "23:45"]
        assert [p["value"] for p in day16["points"]] == [70.10, 70.20, 70.30]
        etag = http.get("/api/live").headers["ETag"]
        points.put_points(bars[3:4])  # New York's 23:45 bar lands in São Paulo's 17th
        moved = http.get("/api/live", headers={"If-None-Match": etag})
        assert moved.status_code == 200 and moved.headers["ETag"] != etag
        today = http.get("/api/intraday", params={"series": BRENT}).json()  # default: today
        assert today["day"] == "2026-03-17"
        assert [p["time"] for p in today["points"]] == ["00:45", "01:15"]
        assert datetime.fromisoformat(today["as_of"]) == bars[4].at
        day16 = http.get("/api/intraday", params={"series": BRENT, "day": "2026-03-16"}).json()
        assert [p["time"] for p in day16["points"]] == ["00:30", "11:00", "23:45"]


def test_on_a_day_without_a_session_the_panel_shows_the_last_session(
    stores: tuple[Store, IntradayStore], bulletins: list[IntradayPoint]
) -> None:
    """On a Saturday the Today panel said "no point of US dollar (PTAX) stored for Saturday
    yet, `fuelpipe watch --intraday` stores the day's bulletins...": none will come, PTAX is
    not published on a weekend, and the last session's points were a click away only by URL.
    Without a day asked, a series with no session today and no point on it shows its last
    session day (Friday's bulletins on Saturday), and its ``today`` says the day shown is not
    today; a day without a session asked for says why it is empty. BZ=F's Sunday evening bars (synthetic) keep Sunday as the day it shows."""
    store, points = stores
    points.put_points(bulletins)  # Wednesday the 16th's real bulletins
    thursday, saturday = date(2022, 3, 17), date(2022, 3, 19)  # Friday the 18th: a session
    sunday = datetime(2022, 3, 20, 21, 0, tzinfo=SP)

    def app_at(now: datetime) -> TestClient:
        clock = FixedClock(now)
        return TestClient(
            create_app(store, DEFAULT_CATALOG, clock=clock, intraday=points, cache_ttl_s=0)
        )

    with app_at(
        datetime(2022, 3, 17, 23, 0, tzinfo=SP)
    ) as http:  # a session day stays today, points or not
        body = http.get("/api/intraday").json()
        assert body["day"] == body["today"] == thursday.isoformat() and body["points"] == []
        assert "`fuelpipe watch` stores" in body["message"]
    with app_at(datetime(2022, 3, 19, 12, 0, tzinfo=SP)) as http:
        body = http.get("/api/intraday", params={"series": "CURRENCY#USD"}).json()
        assert body["day"] == "2022-03-18"  # Friday, the last PTAX day
        assert body["today"] == saturday.isoformat()  # the page names Friday, not "Today"
        asked = http.get("/api/intraday", params={"day": saturday.isoformat()}).json()
        assert asked["day"] == saturday.isoformat() and asked["points"] == []
        assert asked["message"].startswith("CURRENCY#USD has no session on Saturday 2022-03-19")
        assert "fuelpipe watch" not in asked["message"]
        wednesday = http.get("/api/intraday", params={"day": DAY.isoformat()}).json()
        assert len(wednesday["points"]) == len(bulletins)  # an asked day is that day
    with app_at(sunday) as http:
        before = http.get("/api/intraday", params={"series": BRENT}).json()
        assert before["day"] == "2022-03-18"  # no bar yet this Sunday: Friday's session
        # 19:15 New York on Sunday is 20:15 in São Paulo: Sunday's first evening bar
        points.put_points([_synthetic_bar(datetime(2022, 3, 20, 19, 15, tzinfo=NY), "98.10")])
        after = http.get("/api/intraday", params={"series": BRENT}).json()
        assert after["day"] == "2022-03-20" and [p["value"] for p in after["points"]] == [98.1]


class ReadCounting(IntradayStore):
    """A real intraday store that counts the stored days read (one Query each on DynamoDB)."""

    def __init__(self, store: IntradayStore) -> None:
        self._store = store
        self.read: list[date] = []

    def put_points(self, points: Sequence[IntradayPoint]) -> Upserted:
        return self._store.put_points(points)

    def day(self, series_key: str, day: date, now: datetime) -> list[IntradayPoint]:
        self.read.append(day)
        return self._store.day(series_key, day, now)

    def purge_expired(self, now: datetime) -> int:
        return self._store.purge_expired(now)


def test_the_default_day_reads_the_points_it_chose_by_once(
    stores: tuple[Store, IntradayStore],
) -> None:
    """On a day without a session the default day depends on whether a point is stored on it
    (BZ=F's Sunday evening): the panel read Sunday's stored days to choose it, then read them
    again to show them, two Queries more per request while a Sunday evening's panel polls.
    Asked for Sunday by name, or defaulting to it, it now reads them once."""
    store, points = stores
    counting = ReadCounting(points)
    counting.put_points([_synthetic_bar(datetime(2022, 3, 20, 19, 15, tzinfo=NY), "98.10")])
    sunday = datetime(2022, 3, 20, 21, 0, tzinfo=SP)
    app = create_app(
        store, DEFAULT_CATALOG, clock=FixedClock(sunday), intraday=counting, cache_ttl_s=0
    )
    with TestClient(app) as http:
        asked = http.get("/api/intraday", params={"series": BRENT, "day": "2022-03-20"}).json()
        once = list(counting.read)
        assert once == [date(2022, 3, 19), date(2022, 3, 20)]  # New York's two dates
        counting.read.clear()
        shown = http.get("/api/intraday", params={"series": BRENT}).json()
    assert shown == asked and [p["value"] for p in shown["points"]] == [98.1]
    assert counting.read == once


def test_a_day_the_source_answered_with_no_point_says_so_and_has_no_point(
    stores: tuple[Store, IntradayStore],
) -> None:
    """Both stores remember the source's empty answer for a day (DynamoDB as an item of the
    day's partition, which is never read back as a point), and the panel says it, not how to
    collect the day's bars; a point stored later makes it a day with points."""
    store, points = stores
    # PETR4's real closes of the week before: a series the store receives
    store.put_records(
        [
            Record("STOCK#PETR4", b.day, Decimal(str(b.close)), Status.OK)
            for b in Snapshot().bars["PETR4.SA"]
            if DAY - timedelta(days=7) <= b.day < DAY
        ]
    )
    asked = NOW - timedelta(hours=4)  # 18:30 on São Paulo's day
    points.note_none("STOCK#PETR4", DAY, asked)
    assert points.day("STOCK#PETR4", DAY, NOW) == []
    with _client(store, points, cache_ttl_s=0) as http:
        view = http.get("/api/intraday", params={"series": "STOCK#PETR4"}).json()
        usd = http.get("/api/intraday", params={"series": "CURRENCY#USD"}).json()
    assert view["points"] == [] and datetime.fromisoformat(view["answered_none"]) == asked
    assert view["message"] == (
        f"no intraday points stored for STOCK#PETR4 on {DAY}: the source, asked at 18:30 "
        "São Paulo time, answered with none"
    )
    assert usd["answered_none"] is None and "`fuelpipe watch` stores" in usd["message"]
    # expired with the points it stands for
    assert (
        points.answered_none(DEFAULT_CATALOG["STOCK#PETR4"], DAY, asked + timedelta(days=36))
        is None
    )
    bar = IntradayPoint("STOCK#PETR4", asked, "15m", Decimal("30.5"))
    points.put_points([bar])
    with _client(store, points, cache_ttl_s=0) as http:
        filled = http.get("/api/intraday", params={"series": "STOCK#PETR4"}).json()
    assert len(filled["points"]) == 1 and filled["message"] is None
    assert filled["answered_none"] is None


def _petr3_closes() -> list[Record]:
    """PETR3's real daily closes in the bundle (2021-05-19 to 2022-03-14: the store stops
    receiving it there)."""
    return [
        Record("STOCK#PETR3", b.day, Decimal(str(b.close)), Status.OK)
        for b in Snapshot().bars["PETR3.SA"]
    ]


def _petr3_day(
    stores: tuple[Store, IntradayStore], day: str
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """PETR3's /api/intraday view of ``day``: its JSON and its CSV's rows."""
    params = {"series": "STOCK#PETR3", "day": day}
    with _client(*stores, cache_ttl_s=0) as http:
        view: dict[str, Any] = http.get("/api/intraday", params=params).json()
        text = http.get("/api/intraday", params={**params, "format": "csv"}).text
    return view, list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("day", "since"),
    [
        ("2022-03-16", None),  # two days after its last close: its points may still come
        ("2022-03-21", None),  # a week after its last close: not yet stale
        ("2022-03-22", "2022-03-14"),  # eight days, more than a week after the last close
        ("2022-05-02", "2022-03-14"),  # beyond the previous close's 31 days
    ],
)
def test_a_series_this_store_no_longer_receives_says_since_when(
    stores: tuple[Store, IntradayStore], day: str, since: str | None
) -> None:
    """The panel said "No intraday point of Petrobras ON (PETR3) stored for Jun 26, 2026 yet"
    for a series whose newest stored daily value is of 2022: no point is ever coming. A day
    more than a week after the series' newest daily value says since when (``stale_since``,
    in the JSON, the CSV and the message); a day within the week says how to collect them."""
    store, points = stores
    store.put_records(_petr3_closes())
    view, rows = _petr3_day(stores, day)
    assert view["points"] == [] and view["stale_since"] == since
    assert view["no_daily_value"] is False  # it has one, if old
    assert rows[0]["stale_since"] == (since or "")
    if since:
        assert view["message"] == (
            f"no intraday points stored for STOCK#PETR3 on {day}, and no value of it since "
            f"{since}: this store no longer receives it"
        )
    else:
        assert "`fuelpipe watch` stores the day's 15-minute bars" in view["message"]


@pytest.mark.parametrize(
    ("stored", "day"),
    [
        (False, "2022-03-16"),  # the store holds no daily value of PETR3 at all
        (True, "2021-05-17"),  # it does, from 2021-05-19 on: none on or before the day
    ],
)
def test_a_series_with_no_daily_value_stored_says_so(
    stores: tuple[Store, IntradayStore], stored: bool, day: str
) -> None:
    """A series with no stored daily value at all had ``stale_since`` null, as one the store
    receives has, and nothing said the store holds none (nor a previous close to compare
    with). ``no_daily_value`` says so (JSON and CSV), and the message adds it and how daily
    values are stored; a day after a stored daily value has it false."""
    if stored:
        stores[0].put_records(_petr3_closes())
    view, rows = _petr3_day(stores, day)
    known, _ = _petr3_day(stores, "2022-03-16")
    assert (view["points"], view["stale_since"], view["no_daily_value"]) == ([], None, True)
    assert rows[0]["no_daily_value"] == "True"
    assert view["message"] == (
        f"no intraday points stored for STOCK#PETR3 on {day}: `fuelpipe watch` stores the "
        "day's 15-minute bars as they are published (kept 35 days); no daily value of it is "
        f"stored on or before {day} (`fuelpipe run` stores them)"
    )
    # a day after its stored closes (2022-03-14 the last) is not one
    assert known["no_daily_value"] is (not stored)
