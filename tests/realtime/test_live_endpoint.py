"""`/api/live` over real HTTP: every change of the store's data version is a new live version,
so the page redraws and the API's response cache starts a new generation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from devtools.dashboard.serving import serving
from tests.support.read_counting import ReadCounting

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.live import LiveView, live_keys, live_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.intraday import IntradayPoint
from fuelpipe.domain.models import PresentDate, Record, Status
from fuelpipe.ports.store import RunLog
from fuelpipe.replay.snapshot_data import Snapshot
from fuelpipe.stages.data_version import mark_changed

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2022, 5, 6, 15, 0, tzinfo=SP)
BRENT, USD = "COMMODITY#BRENT", "CURRENCY#USD"


def test_a_new_data_version_without_a_new_run_is_a_new_live_version(tmp_path) -> None:
    """An outlook refresh (watch runs it after the drain's run is logged) and `repair --apply`
    write a new data version and no newer headline value: the panel must still see a change."""
    clock = FixedClock(NOW)
    store = SqliteStore(tmp_path / "l.sqlite", clock=clock)
    usd = "CURRENCY#USD"
    store.put_records(
        [Record(usd, date(2022, 5, d), Decimal("4.9"), Status.OK, updated_at=NOW) for d in (5, 6)]
    )
    try:
        with (
            serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url,
            httpx.Client(base_url=url, timeout=10.0) as client,
        ):
            first = client.get("/api/live")
            assert first.status_code == 200
            etag = first.headers["ETag"]
            assert client.get("/api/live", headers={"If-None-Match": etag}).status_code == 304
            mark_changed(store, NOW, "outlook")
            after = client.get("/api/live", headers={"If-None-Match": etag})
            assert after.status_code == 200
            assert after.headers["ETag"] != etag
    finally:
        store.close()


def test_stored_at_is_in_sao_paulo_time_as_published_at_beside_it(tmp_path) -> None:
    """The store keeps instants in UTC: the panel's two instants of a value read alike."""
    store = SqliteStore(tmp_path / "l.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    try:
        with serving(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))) as url:
            body = httpx.get(url + "/api/live", timeout=10.0).json()
    finally:
        store.close()
    (usd,) = [s for s in body["series"] if s["key"] == "CURRENCY#USD"]
    assert usd["published_at"].endswith("-03:00")
    assert usd["stored_at"] == "2022-05-06T15:00:00-03:00"


def test_a_value_published_after_the_clock_has_no_age(tmp_path) -> None:
    """The demo's store holds values published after the dashboard's clock: clamped to 0, such
    an age made the card say "published now". None instead; a past publication keeps its age."""
    clock = ManualClock(datetime(2022, 5, 6, 9, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "l.sqlite", clock=clock)
    usd = "CURRENCY#USD"
    store.put_records([Record(usd, date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    try:
        before = live_view(store, DEFAULT_CATALOG, clock)  # 9:00, before PTAX's 13:10
        clock.set(datetime(2022, 5, 6, 15, 0, tzinfo=SP))
        after = live_view(store, DEFAULT_CATALOG, clock)
    finally:
        store.close()
    (early,) = [s for s in before.series if s.key == usd]
    assert early.published_at == datetime(2022, 5, 6, 13, 10, tzinfo=SP)
    assert early.age_s is None
    (late,) = [s for s in after.series if s.key == usd]
    assert late.age_s == 110 * 60  # 13:10 to 15:00


class _CountsRowsRead(SqliteStore):
    """A SQLite store that counts the dates its present reads return."""

    def __init__(self, path: Path, clock: FixedClock) -> None:
        super().__init__(path, clock=clock)
        self.rows_read = 0

    def present(self, key: str) -> list[PresentDate]:
        found = super().present(key)
        self.rows_read += len(found)
        return found

    def present_after(self, key: str, after: date | None) -> list[PresentDate]:
        found = super().present_after(key, after)
        self.rows_read += len(found)
        return found


def test_a_live_poll_reads_only_the_recent_dates_of_a_long_history(tmp_path) -> None:
    """`/api/live` is polled every 3 s by each open tab, and a 304 costs the same read: the
    newest date of each headline series comes from its recent dates, not its whole history
    (three years of USD here), and a series with nothing recent is still found in full."""
    clock = FixedClock(NOW)
    store = _CountsRowsRead(tmp_path / "r.sqlite", clock)
    usd, brent = "CURRENCY#USD", "COMMODITY#BRENT"
    days = [
        date(2019, 5, 6) + timedelta(days=n) for n in range((NOW.date() - date(2019, 5, 6)).days)
    ]
    store.put_records([Record(usd, d, Decimal("5.0"), Status.OK) for d in days])
    store.put_records([Record(brent, date(2021, 1, 4), Decimal("51.0"), Status.OK)])  # long ago
    try:
        view = live_view(store, DEFAULT_CATALOG, clock)
    finally:
        store.close()
    newest = {s.key: s.date for s in view.series}
    assert newest[usd] == date(2022, 5, 5) and newest[brent] == date(2021, 1, 4)
    assert len(days) > 1000
    assert store.rows_read < 100  # USD's last ~70 days and Brent's one date (read in full)


def test_each_part_of_the_version_moves_alone(tmp_path) -> None:
    """The page redrew the open view for every intraday bar, whichever series it was: the
    answer now says which part moved, a bar its series' own and a stored value the store's."""
    store = SqliteStore(tmp_path / "l.sqlite", clock=FixedClock(NOW))
    bars = SqliteIntradayStore(tmp_path / "l.sqlite")
    clock = FixedClock(NOW)
    try:
        first = live_view(store, DEFAULT_CATALOG, clock, bars)
        bars.put_points([IntradayPoint("STOCK#PETR4", NOW, "15m", Decimal("33.1"))])
        second = live_view(store, DEFAULT_CATALOG, clock, bars)
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
        third = live_view(store, DEFAULT_CATALOG, clock, bars)
    finally:
        bars.close()
        store.close()
    assert "store" in first.parts and "CURRENCY#USD" in first.parts
    assert first.version != second.version != third.version

    def moved(a: LiveView, b: LiveView) -> set[str]:
        return {k for k in a.parts if a.parts[k] != b.parts[k]}

    assert moved(first, second) == {"STOCK#PETR4"}
    assert moved(second, third) == {"store"}


def test_a_run_that_stored_nothing_moves_only_the_runs_part(tmp_path) -> None:
    """Every `watch` tick logs its recheck's run: with the run in the `store` part every open
    view was redrawn each tick though nothing it shows landed. A run moves `runs` alone (the
    health view's), a stored value `store`."""
    clock = FixedClock(NOW)
    store = SqliteStore(tmp_path / "r.sqlite", clock=clock)
    try:
        first = live_view(store, DEFAULT_CATALOG, clock)
        store.put_run(RunLog("retry_recheck", NOW, NOW))
        second = live_view(store, DEFAULT_CATALOG, clock)
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
        mark_changed(store, NOW, "scrape")
        third = live_view(store, DEFAULT_CATALOG, clock)
    finally:
        store.close()
    assert {k for k in first.parts if first.parts[k] != second.parts[k]} == {"runs"}
    assert first.version != second.version  # the answer (and its ETag) still moves
    assert second.parts["store"] != third.parts["store"]


def test_every_change_of_the_runs_health_shows_moves_the_runs_part(tmp_path) -> None:
    """The `runs` part hashed only the newest finish: a run logged again at the same instants
    (a demo store's fixed clock: `INSERT OR REPLACE`) with other counters, or one whose finish
    is before another stage's newest (another process' clock), changed the health view's last
    runs and neither the part nor the ETag, so the page kept the old ones."""
    clock = FixedClock(NOW)
    store = SqliteStore(tmp_path / "r.sqlite", clock=clock)
    early = NOW - timedelta(minutes=30)
    try:
        store.put_run(RunLog("scraper", early, NOW, {"records_written": 3}))
        first = live_view(store, DEFAULT_CATALOG, clock)
        store.put_run(RunLog("scraper", early, NOW, {"records_written": 5}))
        second = live_view(store, DEFAULT_CATALOG, clock)
        store.put_run(RunLog("retry_recheck", early, NOW - timedelta(minutes=10)))
        third = live_view(store, DEFAULT_CATALOG, clock)
    finally:
        store.close()
    assert first.last_run_at == second.last_run_at == third.last_run_at == NOW
    assert first.parts["runs"] != second.parts["runs"] != third.parts["runs"]
    assert len({first.version, second.version, third.version}) == 3
    assert first.parts["store"] == second.parts["store"] == third.parts["store"]


def test_brent_in_reais_is_published_when_the_later_of_its_inputs_was(tmp_path) -> None:
    """The overview's "Brent in reais" card was the only one without a "published … ago" line:
    /api/live had no row for it (it is derived, in no catalog). Its row is dated as its card
    (Brent's newest day, at the latest PTAX on or before it: Carnival Tuesday 2022-03-01 at
    Friday 02-25's rate) and published when the later of its inputs was: FRED's Brent, days
    later, with its weekly batch through Monday 03-07, out on Friday 03-11 00:00 Chicago, not PTAX
    on its own (real values of both)."""
    snap = Snapshot()
    ptax = {q.day: q.sell for q in snap.ptax["USD"]}
    brent = {o.day: o.value for o in snap.fred["DCOILBRENTEU"]}
    days = [date(2022, 2, 24), date(2022, 2, 25), date(2022, 2, 28), date(2022, 3, 1)]
    records = [Record(BRENT, d, Decimal(brent[d]), Status.OK) for d in days]
    records += [Record(USD, d, Decimal(ptax[d]), Status.OK) for d in days if d in ptax]
    clock = FixedClock(datetime(2022, 3, 11, 15, 0, tzinfo=SP))
    store = SqliteStore(tmp_path / "l.sqlite", clock=clock)
    store.put_records(records)
    try:
        with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
            series = httpx.get(url + "/api/live", timeout=10.0).json()["series"]
            overview = httpx.get(url + "/api/overview", timeout=10.0).json()["items"]
    finally:
        store.close()
    rows = {s["key"]: s for s in series}
    card = next(i for i in overview if i["key"] == "BRENT_BRL")
    assert max(d for d in days if d in ptax) == date(2022, 2, 25)  # Carnival: no PTAX after
    assert rows["BRENT_BRL"]["date"] == card["date"] == "2022-03-01"
    assert rows["BRENT_BRL"]["published_at"] == rows[BRENT]["published_at"]
    assert rows["BRENT_BRL"]["published_at"] == "2022-03-11T03:00:00-03:00"
    assert rows["BRENT_BRL"]["age_s"] == rows[BRENT]["age_s"] < rows[USD]["age_s"]


class _CountsQueries(ReadCounting, SqliteStore):
    """A SQLite store counting its Queries (tests/support/read_counting.py)."""


def test_brent_in_reais_reads_each_input_once_per_poll(tmp_path) -> None:
    """The Brent-in-reais row read Brent and PTAX through the derived series, then read both
    again for their stamps: two Queries more on every poll (every 3 s per open tab). It reads
    each once, values and stamps together: a poll is one Query per headline series' newest
    record and one per input of the row. The row is unchanged: stored when the later of its
    inputs was (PTAX here, stored an hour after Brent; real values of both)."""
    snap = Snapshot()
    ptax = {q.day: q.sell for q in snap.ptax["USD"]}
    brent = {o.day: o.value for o in snap.fred["DCOILBRENTEU"]}
    days = [date(2022, 2, 24), date(2022, 2, 25), date(2022, 2, 28), date(2022, 3, 1)]
    clock = ManualClock(datetime(2022, 3, 11, 14, 0, tzinfo=SP))
    store = _CountsQueries(tmp_path / "q.sqlite", clock=clock)
    try:
        store.put_records([Record(BRENT, d, Decimal(brent[d]), Status.OK) for d in days])
        clock.advance(timedelta(hours=1))
        store.put_records([Record(USD, d, Decimal(ptax[d]), Status.OK) for d in days if d in ptax])
        store.reset_counts()
        view = live_view(store, DEFAULT_CATALOG, clock)
    finally:
        store.close()
    assert store.queries == len(live_keys(DEFAULT_CATALOG)) + 2
    (row,) = [s for s in view.series if s.key == "BRENT_BRL"]
    assert row.date == date(2022, 3, 1)  # Carnival Tuesday, at Friday's PTAX
    assert row.stored_at == datetime(2022, 3, 11, 15, 0, tzinfo=SP)  # PTAX's, the later
    assert row.published_at == datetime(2022, 3, 11, 3, 0, tzinfo=SP)  # FRED's batch
