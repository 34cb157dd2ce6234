"""A data version a run owes in its run log (``version_owed``: the AWS scraper's, when the
``META`` partition refused its debt's entry along with the version): the outlook function's
daily run pays each such run once, reading only the run logs since its last check. On a real
SQLite store; the runs' instants are synthetic."""

from __future__ import annotations

from datetime import datetime, timedelta

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.ports.store import RunLog
from fuelpipe.stages.data_version import (
    INITIAL,
    LONGEST_RUN,
    RUN_VERSION_OWED,
    data_version,
    owed_runs,
    pay_runs_owed,
)

NOW = datetime(2025, 3, 31, 20, 0, tzinfo=SAO_PAULO)


def _run(store: SqliteStore, started: datetime, minutes: int, owed: bool) -> None:
    counts = {"records_written": 1} | ({RUN_VERSION_OWED: 1} if owed else {})
    store.put_run(RunLog("scraper", started, started + timedelta(minutes=minutes), counts))


def test_runs_owed_reads_page_after_page_back_to_the_runs_that_could_have_finished_since(
    tmp_path,
) -> None:
    """Newest first, a page at a time: every owed run that finished from ``since`` is
    counted, whatever the page size; one that finished before it is not, though read."""
    store = SqliteStore(tmp_path / "store.sqlite")
    since = NOW - timedelta(hours=1)
    _run(store, since - LONGEST_RUN - timedelta(minutes=30), 1, owed=True)  # past the window
    _run(store, since - LONGEST_RUN, 14, owed=True)  # finished before ``since``
    _run(store, since - timedelta(minutes=5), 10, owed=True)  # under way at ``since``
    for minute in range(0, 50, 10):
        _run(store, since + timedelta(minutes=minute), 1, owed=minute in (20, 40))
    _run(store, NOW + timedelta(minutes=1), 1, owed=True)  # after ``through``
    store.put_run(RunLog("recheck", since, since, {RUN_VERSION_OWED: 1}))  # another stage

    assert [len(owed_runs(store, "scraper", since, NOW, page)) for page in (1, 2, 3, 500)] == [
        3
    ] * 4
    store.close()


def test_the_daily_check_writes_the_version_once_and_pays_a_run_finished_after_it(
    tmp_path,
) -> None:
    store = SqliteStore(tmp_path / "store.sqlite")
    assert pay_runs_owed(store, "scraper", NOW, "daily") == 0  # no run: nothing written
    assert data_version(store) == INITIAL

    _run(store, NOW + timedelta(hours=2), 1, owed=True)
    check = NOW + timedelta(days=1)
    assert pay_runs_owed(store, "scraper", check, "daily") == 1
    paid = data_version(store)
    assert paid != INITIAL

    # A run under way at the check logs its debt after it: the next day's check pays it,
    # and not the run the last check paid.
    _run(store, check - timedelta(minutes=5), 10, owed=True)
    assert pay_runs_owed(store, "scraper", check + timedelta(days=1), "daily") == 1
    assert data_version(store) not in (INITIAL, paid)
    paid = data_version(store)
    assert pay_runs_owed(store, "scraper", check + timedelta(days=2), "daily") == 0
    assert data_version(store) == paid
    store.close()


def test_a_run_log_written_minutes_after_its_finish_is_paid_at_the_next_check(tmp_path) -> None:
    """A scraper batch stamps its finish, then writes its log: one PutItem through botocore's
    6 attempts of up to 5 s connecting and 20 s reading, with backoff between them, about three
    minutes at worst. A check inside those minutes does not see the log; the next one must
    read back past its finish, or the debt is recorded nowhere. (Reading back 2 minutes, it
    was missed.)"""
    store = SqliteStore(tmp_path / "store.sqlite")
    check = NOW
    assert pay_runs_owed(store, "scraper", check, "daily") == 0  # the log is not written yet
    _run(store, check - timedelta(minutes=4), 1, owed=True)  # finished 3 minutes before it
    assert pay_runs_owed(store, "scraper", check + timedelta(days=1), "daily") == 1
    assert data_version(store) != INITIAL
    store.close()


def test_a_run_paid_and_read_again_by_the_next_check_is_not_paid_twice(tmp_path) -> None:
    """The next check reads back over the LOG_LAG before the last one: a run it paid then,
    read again, is remembered as paid (its start in ``runs_owed_checked``), so no second
    version is written for it; a run owed that only the second check sees is still paid."""
    store = SqliteStore(tmp_path / "store.sqlite")
    check = NOW
    _run(store, check - timedelta(minutes=6), 1, owed=True)  # finished 5 minutes before
    assert pay_runs_owed(store, "scraper", check, "daily") == 1
    paid = data_version(store)
    assert pay_runs_owed(store, "scraper", check + timedelta(minutes=10), "daily") == 0
    assert data_version(store) == paid
    _run(store, check - timedelta(minutes=4), 1, owed=True)  # its log landed late
    assert pay_runs_owed(store, "scraper", check + timedelta(minutes=20), "daily") == 1
    assert data_version(store) != paid
    store.close()
