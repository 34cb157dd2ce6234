"""`fuelpipe watch` from the command line: one tick, a heartbeat line, alerts on the console."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.e2e.conftest import fuelpipe, store_copy

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.replay.server import ReplayServer


def test_watch_runs_a_tick_prints_a_heartbeat_and_exits(tmp_path) -> None:
    with ReplayServer(quiet=True) as replay:
        env = {"FUELPIPE_DB": str(tmp_path / "w.sqlite"), **replay.env()}
        out = fuelpipe(
            "--now", "2022-05-06T14:00", "watch", "--series", "CURRENCY#USD", "--ticks", "1",
            env=env, timeout=600,
        )  # fmt: skip
        status = fuelpipe("--now", "2022-05-06T14:00", "status", "--json", env=env)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("watching")
    beat = next(line for line in lines if " due: 1 series (CURRENCY#USD)" in line)
    assert beat.startswith("2022-05-06T14:00:00-03:00")
    assert "next look at" in out.stdout
    assert '"last": "2022-05-06"' in status.stdout  # Friday's close, published at 13:10
    # history before the snapshot never comes: the backfill leaves PENDING dates, not an alert
    assert "[fuelpipe FIRING] stale_source" not in out.stdout


def test_watch_refuses_the_aws_home(tmp_path) -> None:
    out = fuelpipe(
        "watch", "--ticks", "1",
        env={"FUELPIPE_BACKEND": "aws", "FUELPIPE_DB": str(tmp_path / "x.sqlite")}, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert "watch runs the embedded home" in out.stderr


def _tick_at_15h(tmp_path, intraday_flag: str, now: str = "2022-05-06T15:00") -> str:
    """One tick of `watch --series CURRENCY#USD` on Friday 15:00 (or ``now``) against the
    replay: stdout."""
    with ReplayServer(quiet=True) as replay:
        env = {"FUELPIPE_DB": str(tmp_path / "w.sqlite"), **replay.env()}
        out = fuelpipe(
            "--now", now, "watch", "--series", "CURRENCY#USD", "--ticks", "1",
            intraday_flag, env=env, timeout=600,
        )  # fmt: skip
    return out.stdout


def test_watch_with_intraday_counts_its_points_on_the_tick_line(tmp_path) -> None:
    stdout = _tick_at_15h(tmp_path, "--intraday")
    beat = next(line for line in stdout.splitlines() if " due: 1 series" in line)
    assert "; intraday: " in beat and " new or changed point(s) for 1 series" in beat
    assert beat.index("intraday:") < beat.index("next look at")
    # not wrapped at 80 columns; the next look is the first retry of the history the replay
    # lacks (this tick left it PENDING, retried an hour later), before Monday's close
    assert beat.endswith("next look at 2022-05-06T16:00:00-03:00")


def test_watch_without_intraday_says_nothing_of_it(tmp_path) -> None:
    assert "intraday" not in _tick_at_15h(tmp_path, "--no-intraday")


def test_watch_says_nothing_of_intraday_on_a_tick_that_asked_no_series(tmp_path) -> None:
    """A Saturday's tick asks no series for bars or bulletins: its line said "intraday: 0
    point(s) for 0 series", every 6 hours of the weekend, words about nothing."""
    stdout = _tick_at_15h(tmp_path, "--intraday", now="2022-05-07T15:00")
    beat = next(line for line in stdout.splitlines() if "next look at" in line)
    assert "intraday" not in beat, beat


def test_watch_of_a_selection_alerts_only_about_the_selection(tmp_path) -> None:
    """`watch -s CURRENCY#USD` on a store where PRIO3 has a quarantined date and a dead
    letter, and Brent is days late: the alerts are about USD only. (USD's quarantined date is
    older than the daily revise's 35 days: one inside them the revise asks for again, and the
    replay's value for it resolves the quarantine.)"""
    db = tmp_path / "w.sqlite"
    with SqliteStore(db) as store:
        store.put_pendings(
            [
                Record("CURRENCY#USD", date(2022, 3, 3), None, Status.QUARANTINED, 5, reason="x"),
                Record("STOCK#PRIO3", date(2022, 5, 2), None, Status.QUARANTINED, 5, reason="y"),
            ]
        )
        store.put_records(
            [Record("COMMODITY#BRENT", date(2022, 4, 1), Decimal("104.2"), Status.OK)]
        )
    queue_file = db.with_name("w-queue.sqlite")
    with SqliteQueue(queue_file, SystemClock(), timedelta(seconds=30)) as queue:
        # 2022-05-09, after --now: no run stores it, so neither dead letter is settled (a
        # settled one is removed, not alerted: stages/dead_letter_settled.py)
        for key in ("CURRENCY#USD", "STOCK#PRIO3"):
            body = DownloadRequest(
                partition_key=key,
                dates_to_download=[date(2022, 5, 9)],
                fetch_unit=DEFAULT_CATALOG[key].fetch_unit,  # another unit's is settled
            ).to_body()
            queue.send([body])
            queue.dead_letter(queue.receive(1)[0], f"spent on {key}")
    with ReplayServer(quiet=True) as replay:
        env = {"FUELPIPE_DB": str(db), **replay.env()}
        out = fuelpipe(
            "--now", "2022-05-06T14:00", "watch", "-s", "CURRENCY#USD", "--ticks", "1",
            "--no-intraday", env=env, timeout=600,
        )  # fmt: skip
    alerts = [line for line in out.stdout.splitlines() if "[fuelpipe FIRING]" in line]
    # quarantined by the wall clock, after --now: told as of the clock, never later
    usd = "CURRENCY#USD: 1 date quarantined since 2022-05-06T14:00-03:00 (2022-03-03)"
    assert any(usd in line for line in alerts), out.stdout
    assert any("spent on CURRENCY#USD" in line for line in alerts), out.stdout
    assert "PRIO3" not in out.stdout and "fred" not in out.stdout, out.stdout


def test_watch_refuses_a_revise_time_that_is_not_hh_mm_or_off(tmp_path) -> None:
    db = tmp_path / "w.sqlite"
    out = fuelpipe("watch", "--revise-at", "11pm", "--ticks", "1", env={"FUELPIPE_DB": str(db)},
                   check=False)  # fmt: skip
    assert out.returncode == 2
    assert "--revise-at: '11pm' is not a São Paulo time HH:MM" in out.stderr
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_REVISE_AT": "25:00"}
    out = fuelpipe("watch", "--ticks", "1", env=env, check=False)
    assert out.returncode == 2
    assert "FUELPIPE_REVISE_AT" in out.stderr
    assert not db.exists()  # refused before a store was created


def test_watch_help_names_the_daily_revise() -> None:
    out = fuelpipe("watch", "--help", env={"COLUMNS": "200"}).stdout
    assert "--revise-at" in out and "23:00" in out and "off" in out


def test_watch_of_the_demo_store_raises_no_alert_for_series_it_never_filled(demo_store, tmp_path):
    """`watch` of every series on the demo's store, against the replay: the ~150 series the
    demo bundles no data for are due, fetched, and found nowhere (their dates PENDING). They
    were never collected: no stale_source alert (before, one each for anp's 135 and bcb's 9,
    ``latest_stored=None``). PETR3, collected up to the end of its file (March 2022), is late
    and still alerts; `status` lists the others with no first or last date, and says below
    its table how many were never collected."""
    store_env = store_copy(demo_store, tmp_path)
    with ReplayServer(quiet=True) as replay:
        env = {**store_env, **replay.env()}
        args = ("--now", "2022-05-07T23:59", "watch", "--ticks", "1", "--no-intraday")
        out = fuelpipe(*args, "--revise-at", "off", env=env, timeout=600).stdout
    status = fuelpipe("--now", "2022-05-07T23:59", "status", env=store_env).stdout
    fired = [line for line in out.splitlines() if line.startswith("[fuelpipe FIRING]")]
    assert [line.split(" is late")[0] for line in fired] == [
        "[fuelpipe FIRING] stale_source: yahoo"
    ], out
    assert "series=STOCK#PETR3, series_late=1" in out
    assert "alerts 1;" in out
    never = next(line for line in status.splitlines() if line.startswith("never collected"))
    # the 135 of anp and 9 of bcb the alerts named before
    assert never.startswith("never collected: 144 series with pending dates only"), status


def test_watch_keeps_a_retry_after_from_its_home(tmp_path) -> None:
    """The CLI's watch asks its home for rests: BCB's 429 with Retry-After 10 minutes is kept,
    and the tick's line says BCB is not asked until it ends (without rests it would not). The
    fetch itself (the default 4 attempts) sent that one request: 10 minutes is past its cap."""
    from fuelpipe.replay import FaultPlan

    faults = FaultPlan.parse("bcb:429=1,retry_after=600")
    with ReplayServer(quiet=True, faults=faults) as replay:
        env = {"FUELPIPE_DB": str(tmp_path / "w.sqlite"), **replay.env()}
        out = fuelpipe(
            "--now", "2022-05-06T14:00", "watch", "--series", "CURRENCY#USD", "--ticks", "1",
            "--no-intraday", "--revise-at", "off", env=env, timeout=600,
        )  # fmt: skip
        assert replay.request_counts["bcb"] == 1
    beat = next(line for line in out.stdout.splitlines() if " due: 1 series" in line)
    assert "not asked (Retry-After): bcb until 2022-05-06T14:" in beat  # 10 minutes, real time
