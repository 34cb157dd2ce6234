"""Intraday: PTAX bulletins and 15-minute bars under their own keys, with a retention.

Shapes are checked against the real files: the PTAX windows file (its four windows average to
the closing PTAX) and the real PETR4 15-minute bars."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.adapters.sources.bcb import BcbPtaxSource
from fuelpipe.adapters.sources.yahoo import YahooChartSource
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.intraday import stored_days
from fuelpipe.domain.keys import InvalidKeyError, intraday_key, parse_intraday_key, parse_key
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.intraday import refresh_intraday

SP = ZoneInfo("America/Sao_Paulo")
ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "datasets/intraday/netinhoklz__historico_ptax_janelas_2017-01-04_2023-09-28.xlsx"
USD = DEFAULT_CATALOG["CURRENCY#USD"]
PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
BRENT = DEFAULT_CATALOG["COMMODITY#BRENT_FUTURES"]


def test_intraday_keys_never_collide_with_daily_keys_and_split_by_day() -> None:
    key = intraday_key("STOCK#PETR4", date(2022, 5, 6))
    assert key == "INTRADAY#STOCK#PETR4#2022-05-06"
    assert parse_intraday_key(key) == ("STOCK#PETR4", date(2022, 5, 6))
    with pytest.raises(InvalidKeyError):
        parse_key(key)  # not a daily series key
    assert key not in DEFAULT_CATALOG
    assert intraday_key("STOCK#PETR4", date(2022, 5, 9)) != key  # a new partition each day
    with pytest.raises(InvalidKeyError):
        parse_intraday_key("STOCK#PETR4#2022-05-06")


def test_a_sao_paulo_day_spans_the_stored_days_of_its_series_zone() -> None:
    """Points are filed under their market's date; São Paulo's day reads those it overlaps."""
    day = date(2026, 3, 17)
    assert stored_days("America/Sao_Paulo", day) == [day]
    # New York an hour behind (daylight time) or two (winter): its evening is our next day
    assert stored_days("America/New_York", day) == [date(2026, 3, 16), day]
    assert stored_days("America/New_York", date(2026, 1, 5)) == [date(2026, 1, 4), date(2026, 1, 5)]
    # London ahead: our late evening is its next day
    assert stored_days("Europe/London", day) == [day, date(2026, 3, 18)]


@pytest.fixture(scope="module")
def replay():
    with ReplayServer(quiet=True) as server:
        yield server


def _real_windows(day: date) -> list[Decimal]:
    wb = openpyxl.load_workbook(WINDOWS, read_only=True)
    try:
        rows = [
            (stamp, value)
            for stamp, value in wb.active.iter_rows(min_row=2, values_only=True)
            if isinstance(stamp, datetime) and stamp.date() == day
        ]
    finally:
        wb.close()
    return [Decimal(str(v)) for _, v in sorted(rows)]


def test_ash_wednesday_bulletins_are_the_windows_of_the_real_file() -> None:
    """The windows file has exactly two windows, 14:30 and 15:30, on every Ash Wednesday it
    covers and on no other day; the schedule's bulletins that day are those windows plus the
    ten minutes every bulletin comes after its window (10:00 -> 10:10 on a usual day)."""
    from fuelpipe.domain.publication import is_ash_wednesday

    wb = openpyxl.load_workbook(WINDOWS, read_only=True)
    try:
        days: dict[date, list[datetime]] = {}
        for stamp, _ in wb.active.iter_rows(min_row=2, values_only=True):
            if isinstance(stamp, datetime):
                days.setdefault(stamp.date(), []).append(stamp)
    finally:
        wb.close()
    two_afternoon = sorted(d for d, s in days.items() if _times(s) == [time(14, 30), time(15, 30)])
    span = [min(days) + timedelta(days=n) for n in range((max(days) - min(days)).days + 1)]
    assert two_afternoon == [d for d in span if is_ash_wednesday(d)]
    assert len(two_afternoon) == 7  # 2017..2023
    for day in two_afternoon:
        bulletins = [(t + timedelta(minutes=10)).time() for t in sorted(days[day])]
        assert list(USD.schedule.intraday_on(day)) == bulletins, day
        assert USD.schedule.published_at(day).time() == bulletins[-1]  # the closing
    usual = next(
        d for d, s in sorted(days.items()) if [t.hour for t in _times(s)] == [10, 11, 12, 13]
    )
    bulletins = [(t + timedelta(minutes=10)).time() for t in sorted(days[usual])]
    assert list(USD.schedule.intraday_on(usual)) == bulletins


def _times(stamps: list[datetime]) -> list[time]:
    return sorted(t.time() for t in stamps)


def test_ptax_bulletins_of_a_day_match_the_real_windows_file(replay) -> None:
    day = date(2022, 3, 16)  # a day the real file has with exactly the four windows
    source = BcbPtaxSource(replay.source_urls()["bcb"])
    try:
        points = source.fetch_bulletins(USD, day)
    finally:
        source.close()
    assert [p.kind for p in points] == [
        "Abertura", "Intermediário", "Intermediário", "Intermediário", "Fechamento",
    ]  # fmt: skip
    windows = _real_windows(day)
    assert [p.value for p in points[:4]] == windows
    assert [p.at.hour for p in points] == [10, 11, 12, 13, 13]
    mean = sum(windows, Decimal(0)) / 4
    assert abs(points[4].value - mean) <= Decimal("0.0001")  # the closing is their mean
    assert points[4].value == Decimal("5.1287")  # the daily file's closing PTAX of the day
    assert points[4].attrs["buy"] == Decimal("5.1281")
    assert all(p.partition == "INTRADAY#CURRENCY#USD#2022-03-16" for p in points)


def test_15_minute_bars_rebuild_the_real_session(replay) -> None:
    source = YahooChartSource(replay.source_urls()["yahoo"], min_interval_s=0)
    try:
        bars = source.fetch_bars(PETR4, date(2020, 6, 22))
    finally:
        source.close()
    assert bars[0].at == datetime(2020, 6, 22, 10, 0, tzinfo=SP)
    assert all((b.at - a.at) >= timedelta(minutes=15) for a, b in zip(bars, bars[1:], strict=False))
    session = [b for b in bars if b.at.hour < 17 or (b.at.hour == 17 and b.at.minute == 0)]
    # B3's official daily bar (COTAHIST) of 2020-06-22: O 21.60 H 21.60 L 20.90 C 20.95
    assert session[0].attrs["open"] == Decimal("21.6")
    assert max(b.attrs["high"] for b in session) == Decimal("21.6")
    assert min(b.attrs["low"] for b in session) == Decimal("20.9")
    assert session[-1].value == Decimal("20.95")
    assert {b.kind for b in bars} == {"15m"}


def test_refresh_stores_the_days_bulletins_beside_the_unchanged_daily_series(replay, tmp_path):
    from fuelpipe.adapters.sqlite_store import SqliteStore

    daily = SqliteStore(tmp_path / "d.sqlite")
    store = SqliteIntradayStore(tmp_path / "d.sqlite")  # the same file, its own table
    sources = {
        "bcb": BcbPtaxSource(replay.source_urls()["bcb"]),
        "yahoo": YahooChartSource(replay.source_urls()["yahoo"], min_interval_s=0),
    }
    now = datetime(2022, 3, 16, 18, 0, tzinfo=SP)
    try:
        report = refresh_intraday(
            sources, store, DEFAULT_CATALOG, date(2022, 3, 16), now,
            keys=("CURRENCY#USD", "STOCK#PETR4"),
        )  # fmt: skip
        assert report.series == 2 and report.failed == 0
        assert report.points_written == 5  # no 15-minute bars for PETR4 on that day
        assert len(store.day("CURRENCY#USD", date(2022, 3, 16), now)) == 5
        assert daily.present("CURRENCY#USD") == []  # the daily series is untouched
    finally:
        for s in sources.values():
            s.close()
        store.close()
        daily.close()


def test_a_refresh_of_the_same_bulletins_says_nothing_new_and_one_changed_says_1(replay, tmp_path):
    """`watch`'s heartbeat said "1 point(s) for 1 series" on every tick that re-read the day's
    bulletins, new or not: the real 2022-03-16 bulletins re-read from the real SQLite file
    are nothing new, and one stored with another rate (synthetic: a rate the source has
    since changed) is the one changed point."""
    store = SqliteIntradayStore(tmp_path / "i.sqlite")
    source = BcbPtaxSource(replay.source_urls()["bcb"])
    day, now = date(2022, 3, 16), datetime(2022, 3, 16, 18, 0, tzinfo=SP)

    def refresh() -> str:
        report = refresh_intraday(
            {"bcb": source}, store, DEFAULT_CATALOG, day, now, keys=("CURRENCY#USD",)
        )
        assert report.points_written == 5 and not report.errors
        return report.summary()

    try:
        assert refresh() == "intraday: 5 new or changed point(s) for 1 series"
        assert refresh() == "intraday: nothing new for 1 series"
        opening = source.fetch_intraday(USD, day)[0]
        store.put_points([replace(opening, value=opening.value + Decimal("0.0001"))])
        assert refresh() == "intraday: 1 new or changed point(s) for 1 series"
        stored = store.day("CURRENCY#USD", day, now)
        assert len(stored) == 5 and stored[0].value == opening.value  # the source's rate again
    finally:
        source.close()
        store.close()


class _Recording:
    """An intraday source that records which series it was asked for (no points)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def fetch_intraday(self, series, day):  # type: ignore[no-untyped-def]
        self.asked.append(series.key)
        return []


def test_today_asks_only_the_series_whose_own_market_is_open(tmp_path):
    """2020-10-12, Nossa Senhora Aparecida: B3 and PTAX are closed, New York is not. What
    `watch --intraday` and the intraday Lambda both run."""
    from fuelpipe.stages.intraday import refresh_today

    recording = _Recording()
    store = SqliteIntradayStore(tmp_path / "i.sqlite")
    try:
        day, report = refresh_today(
            {"bcb": recording, "yahoo": recording}, store, DEFAULT_CATALOG,
            datetime(2020, 10, 12, 12, 0, tzinfo=SP),
        )  # fmt: skip
    finally:
        store.close()
    assert day == date(2020, 10, 12)
    assert sorted(recording.asked) == sorted(
        ["STOCK#XOM", "STOCK#CVX", "STOCK#SHEL", "STOCK#BP", "STOCK#TTE",
         "COMMODITY#BRENT_FUTURES"]
    )  # fmt: skip
    assert (report.series, report.no_session) == (6, 4)


def test_the_report_summary_counts_new_points_series_and_failures() -> None:
    from fuelpipe.stages.intraday import IntradayReport

    assert IntradayReport(series=2, points_written=26, points_changed=3).summary() == (
        "intraday: 3 new or changed point(s) for 2 series"
    )
    assert IntradayReport(series=2, points_written=26).summary() == (
        "intraday: nothing new for 2 series"
    )
    assert IntradayReport(series=3, points_written=0, failed=1).summary() == (
        "intraday: nothing new for 3 series (1 failed)"
    )


class _GlobexBars:
    """BZ=F's 15-minute bars as Yahoo serves them for a New York day: the CME Globex session,
    00:00-16:45 and 18:00-23:45 New York time, each bar's close final once it has ended and
    provisional (``0.01`` less) while it runs; nothing after ``now``. Records each request."""

    def __init__(self) -> None:
        self.now = datetime(2000, 1, 1, tzinfo=SP)
        self.asked: list[tuple[str, date]] = []

    def fetch_intraday(self, series, day):  # type: ignore[no-untyped-def]
        from fuelpipe.domain.intraday import IntradayPoint

        self.asked.append((series.key, day))
        if series.key != "COMMODITY#BRENT_FUTURES":
            return []
        ny = ZoneInfo("America/New_York")
        starts = [datetime.combine(day, time(), ny) + timedelta(minutes=15 * n) for n in range(96)]
        return [
            IntradayPoint(series.key, at, "15m", _close(at) - (0 if at + timedelta(minutes=15)
                          <= self.now else Decimal("0.01")))
            for at in starts
            if at < self.now and not (17 <= at.hour < 18)
        ]  # fmt: skip


def _close(at: datetime) -> Decimal:
    return Decimal(60) + Decimal(at.hour * 60 + at.minute) / 1000


def test_brent_futures_evening_bars_are_collected_once_and_shown_on_sao_paulos_day(tmp_path):
    """Every wake of `watch --intraday` from a Tuesday's 10:15 to Wednesday's 03:00 here (the
    intraday Lambda runs the same refresh), New York's winter: BZ=F's evening bars (18:00
    to midnight there, 20:00-02:00 here) are all stored under New York's Tuesday with their
    final closes, those after our midnight show on Wednesday's panel, and the evening runs
    ask BZ=F alone. Before, the runs after 19:45 asked nothing and the next morning's asked
    New York's Wednesday: Tuesday's bars from 17:45 on were never stored."""
    from fuelpipe.domain.intraday import collection_days, next_collection
    from fuelpipe.stages.intraday import refresh_today

    source = _GlobexBars()
    store = SqliteIntradayStore(tmp_path / "i.sqlite")
    tuesday, wednesday = date(2025, 12, 9), date(2025, 12, 10)
    runs = []
    at: datetime | None = datetime(2025, 12, 9, 10, 15, tzinfo=SP)
    while at is not None and at < datetime(2025, 12, 10, 3, 0, tzinfo=SP):  # watch's wakes
        runs.append(at)
        at = next_collection(DEFAULT_CATALOG, at)
    evening = [r for r in runs if r.hour >= 20 or r.date() == wednesday]
    assert runs[-1] < datetime(2025, 12, 10, 3, 0, tzinfo=SP)
    assert evening[0] == datetime(2025, 12, 9, 20, 15, tzinfo=SP)
    assert evening[-1] == datetime(2025, 12, 10, 2, 0, tzinfo=SP)  # New York's midnight
    try:
        for now in runs:
            source.now = now
            asked = len(source.asked)
            refresh_today({"bcb": source, "yahoo": source}, store, DEFAULT_CATALOG, now)
            if now in evening:
                assert source.asked[asked:] == [("COMMODITY#BRENT_FUTURES", tuesday)]
        assert collection_days(DEFAULT_CATALOG, runs[-1] + timedelta(minutes=15)) == {}
        now = runs[-1]
        stored = store.day("COMMODITY#BRENT_FUTURES", tuesday, now)
        on_tuesday = store.sao_paulo_day(BRENT, tuesday, now)
        on_wednesday = store.sao_paulo_day(BRENT, wednesday, now)
    finally:
        store.close()
    ny = ZoneInfo("America/New_York")
    evening_bars = [p for p in stored if p.at.astimezone(ny).hour >= 18]
    assert len(evening_bars) == 24  # 18:00 to 23:45 New York, each once
    assert len(stored) == len({p.at for p in stored}) == 68 + 24
    assert all(p.value == _close(p.at) for p in stored)  # every close final
    assert on_tuesday[-1].at == datetime(2025, 12, 9, 23, 45, tzinfo=SP)  # 21:45 New York
    assert [p.at.astimezone(SP).time() for p in on_wednesday] == [
        time(h, m) for h in (0, 1) for m in (0, 15, 30, 45)
    ]  # New York's Tuesday 22:00-23:45, Wednesday's own bars not collected yet


def test_a_point_read_back_from_the_store_keeps_its_key(replay, tmp_path):
    """A point read from the SQLite file carries a fixed -03:00 offset, not São Paulo's zone;
    its sort key was ``10:01:13-03:00`` then, so writing it back stored a second row beside
    the source's ``10:01:13``. The key is the time on the point's own clock, whatever the
    zone object."""
    store = SqliteIntradayStore(tmp_path / "i.sqlite")
    source = BcbPtaxSource(replay.source_urls()["bcb"])
    day, now = date(2022, 3, 16), datetime(2022, 3, 16, 18, 0, tzinfo=SP)
    try:
        fetched = source.fetch_intraday(USD, day)
        store.put_points(fetched)
        read_back = store.day("CURRENCY#USD", day, now)
        assert [p.sort_key for p in read_back] == [p.sort_key for p in fetched]
        assert store.put_points(read_back).changed == 0
        assert len(store.day("CURRENCY#USD", day, now)) == len(fetched)
    finally:
        source.close()
        store.close()


def test_a_day_the_source_answered_with_no_bar_is_said_so_on_the_panel(replay, tmp_path):
    """`demo --live` asks for PETR4's and BZ=F's bars of April 2022 every quarter hour, and the
    bundle holds none then (its 15-minute file is 2020-H2's): the Today panel said "no
    intraday points stored ... `fuelpipe watch --intraday` stores the day's 15-minute bars",
    a collection left undone, though the loop had asked. It now says the source answered
    with none, and when (São Paulo time), and the API gives that instant for the page."""
    from fastapi.testclient import TestClient

    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.dashboard.app import create_app

    day = date(2022, 4, 26)
    asked = datetime(2022, 4, 26, 14, 15, tzinfo=SP)
    later = asked + timedelta(hours=2)
    daily = SqliteStore(tmp_path / "d.sqlite")
    store = SqliteIntradayStore(tmp_path / "d.sqlite")
    yahoo = YahooChartSource(replay.source_urls()["yahoo"], min_interval_s=0)
    try:
        report = refresh_intraday(
            {"yahoo": yahoo}, store, DEFAULT_CATALOG, day, asked, keys=("STOCK#PETR4",)
        )
        assert report.series == 1 and report.failed == 0 and report.points_written == 0
        with TestClient(
            create_app(daily, DEFAULT_CATALOG, clock=FixedClock(later), intraday=store)
        ) as http:
            view = http.get("/api/intraday", params={"series": "STOCK#PETR4"}).json()
            other = http.get(
                "/api/intraday", params={"series": "STOCK#PETR4", "day": "2022-04-25"}
            ).json()
        assert view["day"] == day.isoformat() and view["points"] == []
        assert datetime.fromisoformat(view["answered_none"]) == asked
        assert "asked at 14:15 São Paulo time, answered with none" in view["message"]
        assert "fuelpipe watch" not in view["message"]
        # a day not asked about still says how its bars are collected
        assert other["answered_none"] is None
        assert "`fuelpipe watch` stores the day's 15-minute bars" in other["message"]
    finally:
        yahoo.close()
        store.close()
        daily.close()
