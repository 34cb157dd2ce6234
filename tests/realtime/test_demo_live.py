"""`demo --live`'s loop on a manual clock: values arrive only after their publication instants."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.cli.demo_live import live_window, replay_live
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.replay.live import PublishedPlan
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.cycle import run_cycle

SP = ZoneInfo("America/Sao_Paulo")
LOOK = re.compile(r"2022-\d\d-\d\dT")
"""A heartbeat's start: the instant of its look."""
KEYS = ("CURRENCY#USD", "STOCK#PETR4", "FUEL#GASOLINE#BR")


def test_live_replay_delivers_closes_and_the_anp_week_after_they_are_published(tmp_path) -> None:
    start, end = live_window({"window": {"start": "2021-05-19", "end": "2022-05-07"}})
    assert start == datetime(2022, 4, 23, 0, 0, tzinfo=SP)
    assert end == datetime(2022, 5, 7, 23, 59, tzinfo=SP)
    catalog = Catalog(replace(DEFAULT_CATALOG[k], default_start=date(2022, 4, 1)) for k in KEYS)
    clock = ManualClock(start)
    arrivals: dict[tuple[str, date], datetime] = {}
    with ReplayServer(faults=PublishedPlan(clock, catalog=catalog), quiet=True) as replay:
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        cfg = Settings(db=tmp_path / "l.sqlite", yahoo_min_interval_s=0, **urls)
        backfill = build_context(cfg, clock=FixedClock(start), catalog=catalog)
        try:
            run_cycle(backfill)
        finally:
            backfill.close()
        app = build_context(cfg, clock=clock, catalog=catalog)

        def heartbeat(_line: str) -> None:
            for key in KEYS:
                for p in app.store.present(key):
                    if p.status is Status.OK:
                        arrivals.setdefault((key, p.date), clock.now())

        try:
            before = dict.fromkeys(arrivals)
            heartbeat("")
            backfilled = set(arrivals)
            ticks = replay_live(
                app,
                clock,
                end,
                sleep=lambda s: clock.advance(timedelta(seconds=s)) and None,
                heartbeat=heartbeat,
                since=date(2022, 4, 1),
            )
            leftovers = (app.store.pending(), app.store.quarantined())
        finally:
            app.close()
    assert before == {}
    assert leftovers == ([], [])
    assert ticks > 14
    live = {k: at for k, at in arrivals.items() if k not in backfilled}
    assert ("FUEL#GASOLINE#BR", date(2022, 4, 24)) in live
    assert ("FUEL#GASOLINE#BR", date(2022, 5, 1)) in live
    assert ("CURRENCY#USD", date(2022, 5, 6)) in live
    for (key, day), at in live.items():
        published = catalog[key].schedule.published_at(day)
        assert published <= at <= published + timedelta(minutes=15), (key, day, at)


def _replay_usd_with_intraday(
    tmp_path: Path,
    start: datetime,
    end: datetime,
    heartbeat: Callable[[ManualClock, IntradayStore, str], None],
) -> None:
    """`demo --live`'s loop over PTAX alone (from the first of ``start``'s month), its intraday
    points stored, from ``start`` to ``end`` on a manual clock; ``heartbeat`` gets the clock,
    the intraday store and each line."""
    since = start.date().replace(day=1)
    catalog = Catalog([replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=since)])
    clock = ManualClock(start)
    with ReplayServer(faults=PublishedPlan(clock, catalog=catalog), quiet=True) as replay:
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        cfg = Settings(db=tmp_path / "i.sqlite", yahoo_min_interval_s=0, **urls)
        app = build_context(cfg, clock=clock, catalog=catalog)
        points = SqliteIntradayStore(cfg.db)
        try:
            replay_live(
                app,
                clock,
                end,
                sleep=lambda s: clock.advance(timedelta(seconds=s)) and None,
                heartbeat=lambda line: heartbeat(clock, points, line),
                since=since,
                intraday=points,
            )
        finally:
            points.close()
            app.close()


def test_live_replay_fills_the_days_bulletins_one_by_one(tmp_path) -> None:
    """`demo --live` stores intraday points each tick, and the replay serves each real PTAX
    window bulletin only from its own instant, so the panel fills during the day."""
    day = date(2022, 3, 16)  # the real windows file has its four windows
    start = datetime.combine(day, datetime.min.time(), SP)
    seen: list[tuple[datetime, list[datetime]]] = []

    def look(clock: ManualClock, points: IntradayStore, _line: str) -> None:
        seen.append((clock.now(), [p.at for p in points.day("CURRENCY#USD", day, clock.now())]))

    _replay_usd_with_intraday(tmp_path, start, datetime(2022, 3, 16, 18, 0, tzinfo=SP), look)
    counts = [len(ats) for _, ats in seen]
    assert counts[-1] == 5  # four windows and the closing
    assert len(set(counts)) >= 4, counts  # not all at once: the day fills tick by tick
    assert counts == sorted(counts)
    for now, ats in seen:
        assert all(at <= now for at in ats), (now, ats)  # nothing before its instant


def test_a_day_the_windows_file_lacks_still_has_its_real_closing_bulletin() -> None:
    """The live demo's two weeks fall in the windows file's gap (2022-03-17..05-11): there the
    replay serves the daily file's closing alone, from its publication on."""
    from fuelpipe.adapters.sources.bcb import BcbPtaxSource
    from fuelpipe.replay.snapshot_data import Snapshot

    day = date(2022, 5, 5)
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    real = next(q for q in Snapshot().ptax["USD"] if q.day == day)
    clock = ManualClock(datetime(2022, 5, 5, 12, 0, tzinfo=SP))
    with ReplayServer(faults=PublishedPlan(clock), quiet=True) as replay:
        source = BcbPtaxSource(replay.source_urls()["bcb"])
        try:
            before = source.fetch_bulletins(usd, day)
            clock.advance(timedelta(hours=2))  # past the 13:10 publication
            after = source.fetch_bulletins(usd, day)
        finally:
            source.close()
    assert before == []
    assert [(p.kind, str(p.value)) for p in after] == [("Fechamento", real.sell)]


def test_live_replay_evaluates_the_alerts_each_tick_as_watch_does(tmp_path, capsys) -> None:
    """`demo --live` printed "alerts 0" on every due line without evaluating any rule: with
    `watch`'s alert hook a quarantined date fires once, and the heartbeat counts it."""
    from fuelpipe.cli.watch import alerter
    from fuelpipe.domain.models import Record

    start = datetime(2022, 5, 6, 12, 0, tzinfo=SP)
    end = datetime(2022, 5, 6, 14, 0, tzinfo=SP)
    catalog = Catalog([replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))])
    clock = ManualClock(start)
    lines: list[str] = []
    with ReplayServer(faults=PublishedPlan(clock, catalog=catalog), quiet=True) as replay:
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        cfg = Settings(db=tmp_path / "a.sqlite", yahoo_min_interval_s=0, **urls)
        app = build_context(cfg, clock=clock, catalog=catalog)
        app.store.put_pendings(
            [Record("CURRENCY#USD", date(2022, 5, 2), None, Status.QUARANTINED, 5, reason="x")]
        )
        hook, closers = alerter(cfg.db, None, clock=clock)
        try:
            ticks = replay_live(
                app,
                clock,
                end,
                sleep=lambda s: clock.advance(timedelta(seconds=s)) and None,
                heartbeat=lines.append,
                since=date(2022, 5, 2),
                alerts=hook,
            )
        finally:
            closers[0].close()  # the alert state (the console sink holds nothing)
            app.close()
    assert ticks == len(lines) >= 2
    assert "alerts 1" in lines[0]  # the quarantine fires on the first tick...
    assert all("alerts 1" not in line for line in lines[1:])  # ... once
    out = capsys.readouterr().out.replace("\n", "")
    assert out.count("[fuelpipe FIRING] quarantined:") == 1


def test_live_replay_runs_the_daily_revise_at_its_time_as_watch_does(tmp_path) -> None:
    """`demo --live` ran no daily revise: a value the source revised after it was stored
    stayed as first published for the whole replay. Its loop now runs `watch`'s daily revise
    (FUELPIPE_REVISE_AT, 23:00 São Paulo time): at 23:00 the recent window is re-read and the
    revised value stored with its history, and not before (today's revise was run already)."""
    from fuelpipe.replay.revisions import parse_revision
    from fuelpipe.stages.cycle import drain
    from fuelpipe.stages.revise import revise

    start = datetime(2022, 5, 5, 12, 0, tzinfo=SP)
    end = datetime(2022, 5, 6, 12, 0, tzinfo=SP)
    at_23 = datetime(2022, 5, 5, 23, 0, tzinfo=SP)
    day = date(2022, 5, 4)
    catalog = Catalog([replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))])
    clock = ManualClock(start)

    def settings(replay: ReplayServer) -> Settings:
        urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
        return Settings(db=tmp_path / "r.sqlite", yahoo_min_interval_s=0, **urls)

    def value(app) -> object:
        (rec,) = app.store.query("CURRENCY#USD", day, day)
        return rec.value

    with ReplayServer(faults=PublishedPlan(clock, catalog=catalog), quiet=True) as replay:
        backfill = build_context(settings(replay), clock=FixedClock(start), catalog=catalog)
        try:
            run_cycle(backfill)
            revise(backfill)  # the revise of 2022-05-04 23:00 is done: the next is at 23:00
            drain(backfill)
            first = value(backfill)
        finally:
            backfill.close()
    revised = dict([parse_revision(f"CURRENCY#USD@{day}=4.9999")])
    seen: list[tuple[datetime, str, object]] = []
    with ReplayServer(
        faults=PublishedPlan(clock, catalog=catalog), quiet=True, revisions=revised
    ) as replay:
        app = build_context(settings(replay), clock=clock, catalog=catalog)
        try:
            replay_live(
                app,
                clock,
                end,
                sleep=lambda s: clock.advance(timedelta(seconds=s)) and None,
                heartbeat=lambda line: seen.append((clock.now(), line, value(app))),
                since=date(2022, 5, 2),
                revise_at=time(23, 0),
            )
            (rec,) = app.store.query("CURRENCY#USD", day, day)
        finally:
            app.close()
    assert first != revised["CURRENCY#USD", day]
    revising = [(at, line) for at, line, _ in seen if "daily revise" in line]
    assert [at for at, _ in revising] == [at_23]  # once, at its time
    assert "1 value(s) revised" in revising[0][1]
    assert {v for at, _, v in seen if at < at_23} == {first}
    assert {v for at, _, v in seen if at >= at_23} == {revised["CURRENCY#USD", day]}
    (revision,) = rec.revisions
    assert (revision.previous, revision.new, revision.seen_at) == (first, rec.value, at_23)


def test_live_replay_says_what_the_intraday_refresh_stored(tmp_path) -> None:
    """`demo --live` stored the day's bulletins and bars on every tick but its heartbeat said
    "nothing due" alone, so a tick that stored Friday's closing bulletin, or BZ=F's evening
    bars, read as one that did nothing: it names them now, as `watch`'s does, and says
    nothing of it on a tick that asked no series (a night's)."""
    lines: list[tuple[datetime, str]] = []
    _replay_usd_with_intraday(
        tmp_path,
        datetime(2022, 5, 5, 0, 0, tzinfo=SP),
        datetime(2022, 5, 5, 14, 0, tzinfo=SP),
        lambda clock, _points, line: lines.append((clock.now(), line)),
    )
    night = [line for at, line in lines if at.hour < 10]
    day = [line for at, line in lines if at.hour >= 10]
    assert night and all("intraday" not in line for line in night), night
    assert day and all("; intraday: " in line for line in day), day
    # the day's real closing bulletin, released at 13:10, is named on the line that stored it,
    # the only one that stored something new
    (closing,) = [at for at, line in lines if "intraday: 1 new or changed point(s)" in line]
    # the ticks before it stored nothing (the day's file has no windows): they say so
    morning = [line for at, line in lines if at.hour >= 10 and at < closing]
    assert morning and all("intraday: nothing new for 1 series" in line for line in morning)


def test_ctrl_c_stops_the_live_demo_with_a_sentence_and_one_line_heartbeats(tmp_path) -> None:
    """Ctrl+C printed "stopped" and then "live replay over: -1 ticks", and each heartbeat went
    through rich's wrapping at the console's width (and its markup): now each is one line as
    `watch` prints it, and the stop says where the replay's clock stopped and after how many
    ticks, the store stamped there for `status`."""
    import io
    import json

    import pytest
    from rich.console import Console

    from fuelpipe.cli.demo import DEMO_CLOCK
    from fuelpipe.cli.demo_live import run_live_demo
    from fuelpipe.cli.demo_parts import DemoPhase, snapshot_dir
    from fuelpipe.homes.embedded import build_context as open_store

    class StopsAtTheThirdLook(Console):
        """A console whose reader presses Ctrl+C once it has read three heartbeats."""

        looks = 0

        def print(self, *objects: object, **kwargs: object) -> None:  # type: ignore[override]
            super().print(*objects, **kwargs)  # type: ignore[arg-type]
            if LOOK.match(str(objects[0])):
                self.looks += 1
                if self.looks == 3:
                    raise KeyboardInterrupt

    out = io.StringIO()
    console = StopsAtTheThirdLook(file=out, width=60)
    coverage = json.loads((snapshot_dir() / "coverage.json").read_text())
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    phase = DemoPhase("usd", [usd], date(2022, 4, 1), datetime(2022, 5, 7, 23, 59, tzinfo=SP))
    cfg = Settings(db=tmp_path / "c.sqlite", lake=tmp_path / "lake")
    with pytest.raises(KeyboardInterrupt):
        run_live_demo(
            console, cfg, Catalog([usd]), speed=100_000, serve=False, port=1,
            snapshot_coverage=coverage, phases=[phase],
        )  # fmt: skip
    lines = out.getvalue().splitlines()
    looks = [line for line in lines if LOOK.match(line)]
    assert len(looks) == 3
    assert all(line.endswith(("-03:00", ")")) for line in looks), lines  # not wrapped at 60
    assert "-1" not in out.getvalue()
    (said,) = [line for line in lines if line.startswith("stopped")]
    app = open_store(cfg)
    try:
        stamped = datetime.fromisoformat(str(app.store.get_meta(DEMO_CLOCK)))
    finally:
        app.close()
    assert said.startswith(
        f"stopped: the live replay ended at {stamped:%Y-%m-%d %H:%M} São Paulo time of its "
        "clock, after 3 tick(s); what it stored is kept"
    ), said


def test_the_live_demo_stamps_the_clock_each_tick_reaches_in_the_store(tmp_path) -> None:
    """The store kept the live replay's clock only at its start and where it stopped, so a
    `fuelpipe dashboard` started apart on it showed the start as "as of" while the replay
    moved on: each tick now stamps the clock it reached (and each live series' own) before
    its heartbeat."""
    import io
    import json

    import pytest
    from rich.console import Console

    from fuelpipe.cli.demo import DEMO_CLOCK, demo_series_clocks
    from fuelpipe.cli.demo_live import run_live_demo
    from fuelpipe.cli.demo_parts import DemoPhase, snapshot_dir
    from fuelpipe.homes.embedded import build_context as open_store

    cfg = Settings(db=tmp_path / "s.sqlite", lake=tmp_path / "lake")
    seen: list[tuple[datetime, datetime, dict[str, datetime]]] = []

    class ReadsTheStoreAtEachLook(Console):
        """A console that reads the store's demo clocks at each heartbeat, Ctrl+C at the third."""

        def print(self, *objects: object, **kwargs: object) -> None:  # type: ignore[override]
            super().print(*objects, **kwargs)  # type: ignore[arg-type]
            line = str(objects[0])
            if LOOK.match(line):
                app = open_store(cfg)
                try:
                    stamped = datetime.fromisoformat(str(app.store.get_meta(DEMO_CLOCK)))
                    clocks = demo_series_clocks(app.store)
                finally:
                    app.close()
                seen.append((datetime.fromisoformat(line.split(maxsplit=1)[0]), stamped, clocks))
                if len(seen) == 3:
                    raise KeyboardInterrupt

    coverage = json.loads((snapshot_dir() / "coverage.json").read_text())
    start, _ = live_window(coverage)
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    phase = DemoPhase("usd", [usd], date(2022, 4, 1), datetime(2022, 5, 7, 23, 59, tzinfo=SP))
    with pytest.raises(KeyboardInterrupt):
        run_live_demo(
            ReadsTheStoreAtEachLook(file=io.StringIO()), cfg, Catalog([usd]), speed=100_000,
            serve=False, port=1, snapshot_coverage=coverage, phases=[phase],
        )  # fmt: skip
    assert len(seen) == 3
    for look, stamped, clocks in seen:
        assert stamped >= look  # the tick's own instant, not the replay's start
        assert clocks == {"CURRENCY#USD": stamped}
    assert seen[2][1] > seen[0][0] >= start
