"""A publication later than its window is still polled, every ``grace_every`` for its
schedule's ``grace`` (PTAX: every 15 minutes until 18:00), so it is stored within minutes of
coming out, not at recheck's next retry (16:10 for a close out at 15:20); one that never comes
costs at most ``grace / grace_every`` polls a day, and a holiday asks nothing. The watch runs
on an injected clock against the publication-aware replay on 127.0.0.1 (synthetic lateness:
the plan releases each date a fixed time after its schedule)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.models import Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.replay.live import PublishedPlan
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.watch import Tick, watch

SP = ZoneInfo("America/Sao_Paulo")
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
WINDOW_END = timedelta(hours=14)  # the PTAX close's window: 13:10 to 14:00
EIGHTY_LATE = timedelta(minutes=50 + 80)  # released at 15:20, 80 minutes after the window
GRACE_EVERY = timedelta(minutes=15)  # PTAX's grace_every (the last test checks it)
BOUND = 16  # its grace (4 hours) over GRACE_EVERY


def _at(day: date, hours: int, minutes: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=SP)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(_at(date(2022, 5, 4), 12))


def _replay(clock: ManualClock, late: timedelta, usd: Series = USD) -> ReplayServer:
    """BCB's replay releasing every date ``late`` after its scheduled publication."""
    plan = PublishedPlan(clock, catalog=Catalog([usd]), jitter={"bcb": (late, late)})
    return ReplayServer(faults=plan, quiet=True)


def _run(
    tmp_path: Path, clock: ManualClock, replay: ReplayServer, until: datetime, usd: Series = USD
) -> Iterator[tuple[Tick, int, bool]]:
    """Each tick of a watch of ``usd`` until ``until``: the tick, the BCB requests it made
    and whether Wednesday 2022-05-04 is stored OK after it."""
    settings = Settings(db=tmp_path / "w.sqlite", source_bcb_url=replay.source_urls()["bcb"])
    app = build_context(settings, clock=clock, catalog=Catalog([usd]))
    wed = date(2022, 5, 4)
    seen: list[tuple[Tick, int, bool]] = []
    before = [0]

    def heartbeat(t: Tick) -> None:
        asked = replay.request_counts["bcb"] - before[0]
        before[0] = replay.request_counts["bcb"]
        rows = app.store.query(usd.key, wed, wed, fields=("status",))
        seen.append((t, asked, bool(rows) and rows[0].status is Status.OK))

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        if clock.now() >= until:
            raise _Done

    try:
        watch(app, sleep=sleep, heartbeat=heartbeat, max_ticks=200)
    except _Done:
        pass
    finally:
        app.close()
    return iter(seen)


class _Done(Exception):
    """The test's end instant passed: the watch stops there."""


def test_a_close_out_80_minutes_after_its_window_is_stored_within_the_grace_cadence(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Before the grace, the date left the polls at 14:00 and waited for recheck: retried at
    14:10 (not out yet), then 2 hours later, stored at 16:10."""
    wed = date(2022, 5, 4)
    released = _at(wed, 13, 10) + EIGHTY_LATE
    with _replay(clock, EIGHTY_LATE) as replay:
        ticks = list(_run(tmp_path, clock, replay, until=_at(wed, 17)))
    stored_at = next(t.at for t, _, ok in ticks if ok)
    assert released < stored_at <= released + GRACE_EVERY
    # polled in the grace (not only recheck's retry at 14:10), each 15 minutes after the last
    grace = [t.at for t, _, _ in ticks if t.polled and t.at > _at(wed, 14)]
    assert len(grace) >= 4
    assert all(b - a >= GRACE_EVERY for a, b in zip(grace, grace[1:], strict=False))


def test_a_close_that_never_comes_costs_at_most_the_grace_bound(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Wednesday's close is not out by Thursday noon: its window's polls, then at most
    ``grace / grace_every`` (16) polls in the grace to 18:00 and none after; recheck's retries
    (its backoff, unchanged) are the only requests from then on."""
    wed = date(2022, 5, 4)
    with _replay(clock, timedelta(days=3)) as replay:  # none of the week is out
        ticks = list(_run(tmp_path, clock, replay, until=_at(date(2022, 5, 5), 12)))
    in_grace = [t for t, _, _ in ticks if t.polled and _at(wed, 14) < t.at]
    assert 0 < len(in_grace) <= BOUND
    assert all(t.at <= _at(wed, 18) for t in in_grace)
    assert sum(t.polled for t in in_grace) == len(in_grace)  # one request each
    after = [(t, n) for t, n, _ in ticks if t.at > _at(wed, 18) and n]
    assert after and all(
        t.report is not None and t.report.recheck.messages_sent == n and not t.polled
        for t, n in after
    )  # only recheck's retries after the grace
    assert not any(ok for _, _, ok in ticks)
    schedule = USD.schedule
    assert (schedule.grace_every, schedule.grace // schedule.grace_every) == (GRACE_EVERY, BOUND)


def test_no_tick_at_the_windows_end_plans_a_poll_the_grace_does_not_make(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Wednesday's close is not out all afternoon: from its publication (13:10) every tick
    asks BCB, through the window's end (14:00) and into the grace. Before, the 14:00 poll
    planned the window's 5 minutes, and the 14:05 tick asked nothing (the grace's next poll
    is 15 minutes after the 14:00 answer)."""
    wed = date(2022, 5, 4)
    with _replay(clock, timedelta(days=3)) as replay:
        ticks = list(_run(tmp_path, clock, replay, until=_at(wed, 15, 30)))
    afternoon = [(t.at, n) for t, n, _ in ticks if t.at >= _at(wed, 13, 10)]
    assert [at for at, _ in afternoon[:2]] == [_at(wed, 13, 10), _at(wed, 13, 15)]
    assert any(at > _at(wed, 15) for at, _ in afternoon)
    assert [at for at, n in afternoon if not n] == []  # every tick asked


def test_a_first_ask_in_the_grace_says_not_out_yet_as_in_the_window(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A watch started at 14:30, in the grace of Wednesday's close (out at 15:20), asks for it
    a first time and the answer lacks it: its heartbeat says "asked: not out yet", as a first
    ask in the window does, not a bare "stored 0 value(s)" (before: the date, PENDING in its
    grace, is not due again until 14:45, so the tick counted it as not due)."""
    wed = date(2022, 5, 4)
    usd = replace(USD, default_start=wed)  # nothing stored before, Wednesday alone asked
    clock.set(_at(wed, 14, 30))
    with _replay(clock, EIGHTY_LATE, usd) as replay:
        ticks = list(_run(tmp_path, clock, replay, until=_at(wed, 14, 40), usd=usd))
    (first, asked, stored) = ticks[0]
    assert (first.at, asked, stored, first.polled) == (_at(wed, 14, 30), 1, False, 0)
    assert "stored 0 value(s) (asked: not out yet);" in first.heartbeat()


def test_a_holiday_asks_nothing(tmp_path: Path) -> None:
    """Tiradentes (Thursday 2022-04-21), no PTAX: Wednesday's close, late by 80 minutes after
    its window, is polled in its grace and stored; on the holiday nothing is due and nothing
    is asked, grace or not, until Friday's close."""
    wed, holiday, fri = date(2022, 4, 20), date(2022, 4, 21), date(2022, 4, 22)
    clock = ManualClock(_at(wed, 13, 5))
    usd = replace(USD, default_start=date(2022, 4, 18))
    plan = PublishedPlan(clock, catalog=Catalog([usd]), jitter={"bcb": (EIGHTY_LATE,) * 2})
    ticks: list[tuple[Tick, int]] = []
    with ReplayServer(faults=plan, quiet=True) as replay:
        settings = Settings(db=tmp_path / "w.sqlite", source_bcb_url=replay.source_urls()["bcb"])
        app = build_context(settings, clock=clock, catalog=Catalog([usd]))
        before = [0]

        def heartbeat(t: Tick) -> None:
            ticks.append((t, replay.request_counts["bcb"] - before[0]))
            before[0] = replay.request_counts["bcb"]

        def sleep(seconds: float) -> None:
            clock.advance(timedelta(seconds=seconds))
            if clock.now() >= _at(fri, 13, 5):
                raise _Done

        try:
            watch(app, sleep=sleep, heartbeat=heartbeat, max_ticks=200)
            stored = [r.date for r in app.store.query(usd.key) if r.status is Status.OK]
        except _Done:
            stored = [r.date for r in app.store.query(usd.key) if r.status is Status.OK]
        finally:
            app.close()
    assert stored == [date(2022, 4, d) for d in (18, 19, 20)]
    on_holiday = [(t, n) for t, n in ticks if t.at.astimezone(SP).date() == holiday]
    assert on_holiday  # the watch looked (its sleep is capped) ...
    assert all(n == 0 and not t.due for t, n in on_holiday)  # ... and asked nothing
    assert all(n == 0 for t, n in ticks if t.at > _at(wed, 15, 35))
