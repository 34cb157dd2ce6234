"""A tick that fails unexpectedly (the queue refusing sends, a locked store, an alert state that
kept changing) does not end `watch`: the error is logged with its traceback and told on the
heartbeat, the loop waits a backoff that doubles up to a cap, and goes on; a good tick resets it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.failpoints import Failpoints
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.data_version import INITIAL, data_version, unmarked
from fuelpipe.stages.watch import Tick, error_backoff, tick, watch

SP = ZoneInfo("America/Sao_Paulo")
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))


def test_a_failing_tick_is_reported_and_the_loop_goes_on(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))  # Monday and Tuesday are due
    with ReplayServer(quiet=True) as replay:
        settings = Settings(db=tmp_path / "w.sqlite", source_bcb_url=replay.source_urls()["bcb"])
        app = build_context(settings, clock=clock, catalog=Catalog([USD]))
        working = app.queue
        assert isinstance(working, SqliteQueue)
        # the same queue file opened read-only: every send refused, as a queue that is down
        down = SqliteQueue(working.path, clock, working.visibility_timeout, read_only=True)
        beats: list[Tick] = []
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            clock.advance(timedelta(seconds=seconds))
            # down for the first two ticks, back for the third, down again for the fourth
            app.queue = {2: working, 3: down, 4: working}.get(len(beats), app.queue)

        app.queue = down
        caplog.set_level(logging.ERROR, logger="fuelpipe.stages.watch")
        try:
            assert watch(app, sleep=sleep, heartbeat=beats.append, max_ticks=5) == 5
            stored = [r.date for r in app.store.query(USD.key)]
        finally:
            down.close()
            app.close()
    lines = [b.heartbeat() for b in beats]
    assert lines[0] == (
        "2022-05-04T12:00:00-03:00 tick failed (1 in a row): OperationalError: attempt to "
        "write a readonly database; next look at 2022-05-04T12:00:30-03:00"
    )
    assert lines[1].startswith("2022-05-04T12:00:30-03:00 tick failed (2 in a row): ")
    assert lines[1].endswith("next look at 2022-05-04T12:01:30-03:00")
    assert lines[2].startswith("2022-05-04T12:01:30-03:00 due: 1 series")
    assert "stored 2 value(s)" in lines[2]  # back: Monday and Tuesday
    assert lines[3].startswith("2022-05-04T13:10:00-03:00 tick failed (1 in a row): ")
    assert lines[4].startswith("2022-05-04T13:10:30-03:00 due: 1 series")
    assert "stored 1 value(s)" in lines[4]
    # the backoff doubles while ticks fail and starts over after a good one
    assert slept[:2] == [30.0, 60.0] and slept[-1] == 30.0  # (the wait for 13:10 in slices)
    assert stored == [date(2022, 5, d) for d in (2, 3, 4)]
    records = [r for r in caplog.records if r.name == "fuelpipe.stages.watch"]
    assert len(records) == 3 and all(r.exc_info for r in records)
    assert "readonly database" in records[0].getMessage()


class _DrainFailed(RuntimeError):
    """An error in the drain after it stored and deleted a message (the store or queue failing
    on the next one): the tick's own error path runs, unlike a kill."""


def _fail(_signum: object) -> None:
    raise _DrainFailed("the queue failed after the first message")


def test_a_tick_failing_after_its_drain_stored_values_moves_the_data_version(tmp_path) -> None:
    """The tick's error path wrote a version only for the recheck's quarantines: values the
    drain stored before the error left the data version where it was, and the dashboard's
    stored views (and their ETags) showed the store before them as current until the next
    drain, a backoff or more later. The version the drain owed is written on the way out."""
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))  # Monday and Tuesday are due
    with ReplayServer(quiet=True) as replay:
        settings = Settings(db=tmp_path / "d.sqlite", source_bcb_url=replay.source_urls()["bcb"])
        app = build_context(settings, clock=clock, catalog=Catalog([USD]))
        app.failpoints = Failpoints("drain.after_delete:1", kill=_fail)
        try:
            with pytest.raises(_DrainFailed):
                tick(app)
            stored = [r.date for r in app.store.query(USD.key)]
            version, owed = data_version(app.store), unmarked(app.store)
        finally:
            app.close()
    assert stored == [date(2022, 5, 2), date(2022, 5, 3)]
    assert version != INITIAL
    assert not owed  # written: the next drain owes nothing


def test_the_error_backoff_doubles_up_to_five_minutes() -> None:
    assert [error_backoff(n) for n in range(1, 8)] == [30, 60, 120, 240, 300, 300, 300]


def test_ctrl_c_inside_a_tick_still_stops_the_loop(tmp_path) -> None:
    clock = ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=SP))
    app = build_context(Settings(db=tmp_path / "i.sqlite"), clock=clock, catalog=Catalog([USD]))

    def interrupted(_app: object) -> int:
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            watch(app, sleep=lambda _s: None, after_tick=interrupted, max_ticks=3)
    finally:
        app.close()
