"""`fuelpipe demo --live` from the command line, as a user runs it: a short replay at a high
speed, then the store as `export`, `status` and the intraday panel find it."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.domain.calendars import SAO_PAULO

LIVE_START, LIVE_END = date(2022, 4, 23), date(2022, 5, 7)
"""The snapshot window's last two weeks, which the live demo replays."""
STOPPED = datetime(2022, 5, 7, 23, 59, tzinfo=SAO_PAULO)


@pytest.fixture(scope="module")
def live_store(tmp_path_factory):
    """One `demo --live --no-serve` at 100000x (about 12 s of replay) into a fresh store."""
    db = tmp_path_factory.mktemp("live") / "fuelpipe.sqlite"
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_LAKE": str(db.parent / "lake")}
    out = fuelpipe("demo", "--live", "--no-serve", "--speed", "100000", env=env, timeout=600)
    return env, db, out.stdout


def _export(env, key) -> dict[date, Decimal]:
    out = fuelpipe("export", key, "--format", "json", env=env).stdout
    return {date.fromisoformat(r["date"]): Decimal(r["value"]) for r in json.loads(out)}


def test_ptax_brent_and_the_shares_with_their_own_phases_are_collected(live_store) -> None:
    """PTAX, Brent spot, PETR3 and PRIO3 each have a phase of their own in `demo`; the live
    demo took phase 0 alone, so the pass-through view had no PTAX and no Brent."""
    env, _, stdout = live_store
    usd = _export(env, "CURRENCY#USD")
    assert date(2021, 5, 19) in usd  # the window's first day: the backfill
    assert date(2022, 5, 6) in usd  # Friday's closing, released at 13:10 during the replay
    brent = _export(env, "COMMODITY#BRENT")
    assert [d for d in brent if LIVE_START <= d <= LIVE_END]
    prio3 = _export(env, "STOCK#PRIO3")
    assert min(prio3) == date(2021, 10, 25)  # its real file's first day, nothing asked before
    assert [d for d in prio3 if LIVE_START <= d <= LIVE_END]
    petr3 = _export(env, "STOCK#PETR3")
    assert max(petr3) == date(2022, 3, 14)  # its real file ends there, before the two weeks
    assert "STOCK#PETR3: real data ends before the two weeks" in stdout


def test_the_intraday_store_gets_the_real_closing_ptax_bulletins(live_store) -> None:
    env, db, _ = live_store
    usd = _export(env, "CURRENCY#USD")
    points = SqliteIntradayStore(db)
    try:
        days = [LIVE_START + timedelta(days=i) for i in range((LIVE_END - LIVE_START).days + 1)]
        closings = {
            day: p.value
            for day in days
            for p in points.day("CURRENCY#USD", day, STOPPED)
            if p.kind == "Fechamento"
        }
    finally:
        points.close()
    # Ten PTAX days in the two weeks; at 100000x a slow machine's ticks may skip some.
    assert closings
    for day, value in closings.items():
        assert value == usd[day], day  # the daily file's closing PTAX of that day


def test_status_counts_to_the_clock_the_live_demo_stopped_at(live_store) -> None:
    """The live demo wrote no demo clock, so `status` counted to this machine's date: ~80%
    missing. Now it counts to where the replay stopped, each series to its own demo clock."""
    env, _, _ = live_store
    done = fuelpipe("status", "--json", env=env)
    assert f"filled by `fuelpipe demo`: using its clock {STOPPED.isoformat()}" in done.stderr
    rows = {r["key"]: r for r in json.loads(done.stdout)}
    assert sum(r["missing"] for r in rows.values()) == 0
    assert sum(r["pending"] + r["quarantined"] for r in rows.values()) == 0
    assert rows["CURRENCY#USD"]["present"] == rows["CURRENCY#USD"]["expected"] > 240
    assert rows["STOCK#PETR3"]["last"] == "2022-03-14"  # counted at its own clock, not May's


def test_the_live_demo_runs_the_daily_revise_as_watch_does(live_store) -> None:
    """`demo --live` ran no daily revise; now its loop runs `watch`'s at FUELPIPE_REVISE_AT
    (23:00 São Paulo time by default): at the first look (the store has none since the last
    23:00), then each replayed day's, its heartbeat saying what it re-read. (At 100000x a
    tick spans hours of the replay, so when each came is tests/realtime's to check.)"""
    _, _, stdout = live_store
    text = " ".join(stdout.split())  # (the console wraps its lines)
    assert "daily revise: 23:00 São Paulo time)" in text  # the header says when
    looks = re.findall(r"2022-[-\d]+T[\d:]+-03:00 (?:nothing due|due: ).*?next look at", text)
    revised = [look for look in looks if "; daily revise: " in look]
    assert looks and looks[0] in revised, stdout  # the first look's
    assert len(revised) >= 2, stdout  # and a replayed day's at least


def test_a_row_left_out_of_the_real_workbook_is_asked_again_as_one(live_store) -> None:
    """ANP's real regions workbook has the week of 2022-04-24 without a row for CNG in the
    North (the week before has one): through the real ANP source and the replay, that answer
    is marked as having no row, so the key is asked again while the window is open, each
    heartbeat saying the week is out and the row is not (a '-' row would be ANP's answer for
    the week, asked once: tests/realtime/test_watch_left_out_row.py)."""
    _, _, stdout = live_store
    text = " ".join(stdout.split())  # (the console wraps its lines)
    asks = re.findall(
        r"due: 1 series \(FUEL#CNG#REGION_N\); stored 0 value\(s\) "
        r"\(asked again: the week is out, this row is not\)",
        text,
    )
    assert len(asks) >= 10, stdout


@pytest.mark.parametrize("stop", ["SIGINT", "SIGKILL"])
def test_a_live_demo_stopped_in_its_backfill_leaves_a_store_the_next_demo_takes(
    tmp_path, stop
) -> None:
    """Ctrl+C (SIGINT) or a crash (SIGKILL) after the backfill's first message: the store
    already holds runs, so it must already carry the demo's stamp, or the next `demo` takes it
    for the operator's and refuses it. The next one gets past that check (and is stopped at the
    same place again: the failpoint is still set)."""
    db = tmp_path / "fuelpipe.sqlite"
    env = {
        "FUELPIPE_DB": str(db),
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_FAILPOINTS": f"drain.after_delete:1:{stop}",
    }
    args = ("demo", "--live", "--no-serve", "--speed", "100000")
    first = fuelpipe(*args, env=env, check=False, timeout=600)
    assert first.returncode != 0 and "live replay over" not in first.stdout, first.stdout
    assert db.stat().st_size > 0
    again = fuelpipe(*args, env=env, check=False, timeout=600)
    assert "did not put there" not in again.stderr, again.stderr
    assert again.returncode == first.returncode, again.stderr
    status = fuelpipe("status", env={"FUELPIPE_DB": str(db)})  # at the demo's clock
    assert "filled by `fuelpipe demo`" in status.stderr, status.stderr
