"""What only the SQLite adapters promise: the file, WAL, the partial index, several processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from fuelpipe.adapters.clock import FixedClock, ManualClock, SystemClock
from fuelpipe.adapters.sqlite_queue import MAX_BODY_BYTES, SqliteQueue
from fuelpipe.adapters.sqlite_store import (
    _REVISED,
    RUNS_KEPT_PER_STAGE,
    UPSERT_ROWS_PER_STATEMENT,
    SqliteStore,
)
from fuelpipe.domain.models import PresentDate, Record, Revision, Status
from fuelpipe.domain.numbers import MAX_DIGITS, TooManyDigits
from fuelpipe.ports.store import RunLog

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
KEY = "FUEL#GASOLINE#SP"
FORK = mp.get_context("fork")
PROCESSES = 3


def ok(day: date, value: str = "6.1234", key: str = KEY) -> Record:
    """An OK record."""
    return Record(key, day, Decimal(value), Status.OK)


def pending(day: date, key: str = KEY) -> Record:
    """A PENDING record due at NOW."""
    return Record(key, day, None, Status.PENDING, next_attempt_at=NOW, reason="missing")


def days(n: int) -> list[date]:
    """``n`` consecutive dates."""
    return [date(2024, 1, 1) + timedelta(days=i) for i in range(n)]


def run_in_processes(target: Any, args: tuple[Any, ...], n: int = PROCESSES) -> list[Any]:
    """Run ``target(barrier, out, *args)`` in ``n`` forked processes; collect what each puts."""
    barrier = FORK.Barrier(n)
    out = FORK.Queue()
    procs = [FORK.Process(target=target, args=(barrier, out, *args)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]  # hang guards: three processes' work at load
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    return results


# --- the file ------------------------------------------------------------------------------


def test_the_file_and_its_parent_dirs_are_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "fuelpipe.sqlite"
    with SqliteStore(path) as store:
        assert path.is_file()
        assert store.connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store.connection.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert store.connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # persistent
    other.close()


def test_store_and_queue_can_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "fuelpipe.sqlite"
    store = SqliteStore(path)
    queue = SqliteQueue(path, ManualClock(NOW), timedelta(seconds=60))
    store.put_records([ok(date(2025, 1, 6))])
    queue.send(["hello"])
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"items", "runs", "messages", "dead_letters"} <= tables
    conn.close()
    assert [m.body for m in queue.receive()] == ["hello"]
    assert len(store.query(KEY)) == 1


def test_values_are_stored_as_exact_text(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite") as store:
        store.put_records([ok(date(2025, 1, 6), "6.1230")])
        row = store.connection.execute("SELECT value, typeof(value) FROM items").fetchone()
        # exact text, in the canonical form both homes store (DynamoDB trims trailing zeros):
        # the same number the source published, read back alike from either home
        assert row == ("6.123", "text")
        assert store.query(KEY)[0].value.as_tuple() == Decimal("6.123").as_tuple()  # type: ignore[union-attr]


# --- batching and indexes ------------------------------------------------------------------


def test_put_records_writes_multi_row_statements_in_one_transaction(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite") as store:
        statements: list[str] = []
        store.connection.set_trace_callback(statements.append)
        n = 2 * UPSERT_ROWS_PER_STATEMENT + 10
        assert store.put_records([ok(d) for d in days(n)]) == n
        store.connection.set_trace_callback(None)
    inserts = [s for s in statements if s.lstrip().startswith("INSERT INTO items")]
    rows_per_insert = [s.count("('") for s in inserts]  # each bound row starts with its key text
    assert rows_per_insert == [UPSERT_ROWS_PER_STATEMENT, UPSERT_ROWS_PER_STATEMENT, 10]
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]


def test_a_bad_record_anywhere_means_nothing_is_written(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite") as store:
        records = [ok(d) for d in days(60)]
        records[47] = pending(records[47].date)
        with pytest.raises(ValueError, match="OK records"):
            store.put_records(records)
        assert store.present(KEY) == []


def _stored(path: Path, records: list[Record], *, add: bool = False) -> list[tuple[Any, ...]]:
    """Every column of every row after one put_records (or add_records) call on a new store."""
    with SqliteStore(path, clock=FixedClock(NOW), wall=FixedClock(NOW)) as store:
        (store.add_records if add else store.put_records)(records)
        return store.connection.execute("SELECT * FROM items ORDER BY info_type, date").fetchall()


def _varied(n: int) -> list[Record]:
    """OK records of two keys carrying what a row can hold: numbers canonical or not (a trailing
    zero, an exponent, 38 digits), retries, next attempts, reasons and attributes."""
    values = [
        "6.1230",
        "1E+2",
        "0.00",
        "-0",
        "7",
        "1E-7",
        "1234567890123456789.0123456789012345670",
    ]
    return [
        Record(
            KEY if i % 3 else "FUEL#DIESEL#S10",
            day,
            Decimal(values[i % len(values)]),
            Status.OK,
            retry_count=i % 2,
            next_attempt_at=NOW + timedelta(minutes=i) if i % 5 == 0 else None,
            reason="late" if i % 7 == 0 else None,
            attrs={"stations": i, "mean": Decimal("6.10"), "src": 'ANP "x"'} if i % 4 == 0 else {},
        )
        for i, day in enumerate(days(n))
    ]


@pytest.mark.parametrize("add", [False, True], ids=["put_records", "add_records"])
def test_a_call_with_a_duplicate_writes_what_the_same_call_without_it_writes(
    tmp_path: Path, add: bool
) -> None:
    # A call is built a column at a time unless it holds a duplicate (key, date); then record
    # by record. Either way the last duplicate wins and the rows are the same, byte for byte.
    records = _varied(2 * UPSERT_ROWS_PER_STATEMENT + 3)
    once = _stored(tmp_path / "once.sqlite", records, add=add)
    early = [records[-1].with_(value=Decimal("9"), attrs={}), records[5].with_(reason="old")]
    twice = _stored(tmp_path / "twice.sqlite", [*early, *records], add=add)
    assert once == twice
    assert len(once) == len(records)
    texts = [row[2] for row in once]
    assert {"6.123", "100", "0", "7", "0.0000001", "1234567890123456789.012345678901234567"} == set(
        texts
    )


def test_a_duplicate_in_one_call_counts_once_and_its_last_value_wins(tmp_path: Path) -> None:
    d0, d1 = days(2)
    with SqliteStore(tmp_path / "s.sqlite") as store:
        assert store.put_records([ok(d0, "1"), ok(d1, "2"), ok(d0, "3")]) == 2
        assert [(r.date, r.value) for r in store.query(KEY)] == [(d0, Decimal(3)), (d1, Decimal(2))]
        later = days(4)[2:]
        calls = [ok(later[0], "4"), ok(d1, "5"), ok(later[0], "6"), ok(later[1], "7")]
        assert store.add_records(calls) == [(KEY, d1)]  # d1 was OK already: left alone
        got = [(r.date, r.value) for r in store.query(KEY)]
        assert got == [(d0, 3), (d1, 2), (later[0], 6), (later[1], 7)]


def test_the_first_record_refused_is_the_one_named(tmp_path: Path) -> None:
    d0, d1, d2 = days(3)
    long = Decimal("1" * (MAX_DIGITS + 1))
    with SqliteStore(tmp_path / "s.sqlite") as store:
        for records, error in [
            ([ok(d0), Record(KEY, d1, long, Status.OK), pending(d2)], TooManyDigits),
            ([ok(d0), pending(d1), Record(KEY, d2, long, Status.OK)], ValueError),
            ([ok(d0), Record(KEY, d1, None, Status.OK), pending(d2)], ValueError),
            ([ok(d0), Record(KEY, d1, Decimal(1), Status.OK, attrs={"n": long})], TooManyDigits),
        ]:
            for write in (store.put_records, store.add_records):
                with pytest.raises(ValueError, match=f"{KEY} {d1}") as refused:
                    write(records)
                assert type(refused.value) is error
        assert store.query(KEY) == []


def test_present_gives_again_the_dates_it_made_for_the_same_rows(tmp_path: Path) -> None:
    """A PresentDate is immutable, so present() gives the one it made before for the same
    (date, status, revised) row, whichever key it is read for (the health view reads every
    series' dates on each call: making a new one each time was over half of that read); a
    date whose status changed gets its own, right one."""
    with SqliteStore(tmp_path / "s.sqlite", clock=FixedClock(NOW)) as store:
        first, second = days(2)
        store.put_records([ok(first), ok(second), ok(first, key="FUEL#GASOLINE#RJ")])
        store.put_pending(pending(date(2030, 1, 1)))
        a = store.present(KEY)
        b = store.present("FUEL#GASOLINE#RJ")
        assert a[0] is b[0] and a[0] is store.present(KEY)[0]
        assert store.present_after(KEY, first)[0] is a[1]
        store.put_records([ok(date(2030, 1, 1))])  # the PENDING date now has its value
        assert store.present(KEY) == [
            PresentDate(first, Status.OK),
            PresentDate(second, Status.OK),
            PresentDate(date(2030, 1, 1), Status.OK),
        ]
        change = Revision(Decimal("6.1234"), Decimal("6.5"), NOW, "revise test")
        assert store.revise(KEY, second, change, {})
        assert [p.revised for p in store.present(KEY)] == [False, True, False]


_REVISED_BEFORE = (
    "(revisions IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(revisions) AS entry "
    "WHERE IFNULL(json_extract(entry.value, '$.kind'), 'revision') = 'revision'))"
)


@pytest.mark.parametrize(
    "history",
    [
        None,
        "[]",
        '[{"kind": "adjustment"}]',
        '[{"kind": "adjustment"}, {"kind": "revision"}]',
        '[{"value": "1"}]',  # no kind: a revision, as written before kinds existed
        '[{"kind": null}]',
    ],
)
def test_the_revised_flag_reads_as_before_for_every_history(tmp_path: Path, history) -> None:
    """The SQL that says whether a record was revised skips its history when it has none
    (a CASE, not ``IS NOT NULL AND EXISTS``); every history answers as before."""
    with SqliteStore(tmp_path / "s.sqlite") as store:
        conn = store.connection
        new = conn.execute(f"SELECT {_REVISED}".replace("revisions", ":h"), {"h": history})
        old = conn.execute(f"SELECT {_REVISED_BEFORE}".replace("revisions", ":h"), {"h": history})
        assert new.fetchone() == old.fetchone()


def test_pending_views_read_the_partial_index_only(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite") as store:
        conn = store.connection
        (index_sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'items_not_ok'"
        ).fetchone()
        assert "WHERE status != 'OK'" in index_sql
        store.put_records([ok(d) for d in days(200)])
        store.put_pending(pending(date(2030, 1, 1)))
        in_index = conn.execute(
            "SELECT COUNT(*) FROM items INDEXED BY items_not_ok WHERE status != 'OK'"
        )
        assert in_index.fetchone() == (1,)  # the 200 OK records are not in it

        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        store.due_pending(NOW)
        store.pending()
        store.quarantined()
        conn.set_trace_callback(None)
        for sql in statements:
            plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
            assert "USING INDEX items_not_ok" in plan, (sql, plan)


def test_run_log_keeps_a_bounded_history(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite") as store:
        for i in range(RUNS_KEPT_PER_STAGE + 20):
            started = NOW + timedelta(minutes=i)
            store.put_run(RunLog("scrape", started, started + timedelta(seconds=5), {"i": i}))
        (count,) = store.connection.execute("SELECT COUNT(*) FROM runs").fetchone()
        assert count == RUNS_KEPT_PER_STAGE
        assert store.last_runs()[0].counts == {"i": RUNS_KEPT_PER_STAGE + 19}


def test_run_log_trims_runs_of_one_start_to_the_kept_count(tmp_path: Path) -> None:
    """Runs of a stage all starting at one instant (a fixed clock) are each kept, up to the
    kept count, then trimmed to it as runs of distinct starts are."""
    with SqliteStore(tmp_path / "s.sqlite") as store:
        for i in range(RUNS_KEPT_PER_STAGE + 20):
            store.put_run(RunLog("scrape", NOW, NOW + timedelta(seconds=i), {"i": i}))
        (count,) = store.connection.execute("SELECT COUNT(*) FROM runs").fetchone()
        assert count == RUNS_KEPT_PER_STAGE
        assert store.last_runs()[0].counts == {"i": RUNS_KEPT_PER_STAGE + 19}


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.sqlite") as store:
        store.put_pending(pending(date(2025, 1, 6)))
        with pytest.raises(ValueError, match="naive"):
            store.claim_retry(KEY, date(2025, 1, 6), 0, 1, datetime(2025, 1, 1))


def test_queue_refuses_bodies_over_the_sqs_limit(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite", SystemClock(), timedelta(seconds=30))
    with pytest.raises(ValueError, match="bytes"):
        queue.send(["x" * (MAX_BODY_BYTES + 1)])
    assert queue.depth().visible == 0


# --- threads and processes -----------------------------------------------------------------


def test_one_store_shared_by_threads(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite")
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(20):
                store.put_records(
                    [ok(d, f"{offset}.{i}", key=f"STOCK#T{offset}") for d in days(30)]
                )
                store.query(f"STOCK#T{offset}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(len(store.present(f"STOCK#T{i}")) == 30 for i in range(4))


def _open_both(barrier: Any, out: Any, path: Path) -> None:
    barrier.wait()
    SqliteStore(path).close()
    SqliteQueue(path, SystemClock(), timedelta(seconds=30)).close()
    out.put(True)


def test_processes_creating_the_file_at_once_all_succeed(tmp_path: Path) -> None:
    # `make demo` starts 2 orchestrators and 3 workers on a fresh clone at the same moment.
    path = tmp_path / "new" / "fuelpipe.sqlite"
    assert run_in_processes(_open_both, (path,), n=5) == [True] * 5


def _claim_everything(barrier: Any, out: Any, path: Path, keys: list[tuple[str, date]]) -> None:
    store = SqliteStore(path)
    barrier.wait()
    won = [(k, d) for k, d in keys if store.claim_retry(k, d, 0, 1, NOW + timedelta(hours=1))]
    out.put(won)


def test_processes_claiming_the_same_retries_claim_each_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path)
    keys = [(f"STOCK#P{i % 3}", d) for i, d in enumerate(days(90))]
    for k, d in keys:
        assert store.put_pending(pending(d, key=k))
    results = run_in_processes(_claim_everything, (path, keys))
    claimed = [item for won in results for item in won]
    assert sorted(claimed) == sorted(keys)  # every retry claimed, none twice
    assert {r.retry_count for r in store.pending()} == {1}


def _write_overlapping(barrier: Any, out: Any, path: Path) -> None:
    store = SqliteStore(path)
    barrier.wait()
    written = 0
    for round_ in range(10):
        written += store.put_records([ok(d, f"{os.getpid()}.{round_}") for d in days(300)])
    out.put(written)


def test_processes_writing_the_same_records_leave_one_each(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    SqliteStore(path).close()
    results = run_in_processes(_write_overlapping, (path,))
    assert results == [3000] * PROCESSES
    assert len(SqliteStore(path).present(KEY)) == 300


def _receive_until_empty(barrier: Any, out: Any, path: Path) -> None:
    queue = SqliteQueue(path, SystemClock(), timedelta(minutes=5))
    barrier.wait()
    ids: list[str] = []
    while batch := queue.receive(4):
        ids.extend(m.message_id for m in batch)
    # none ends before all have seen the queue empty: a process gone, what it held and did not
    # delete (none is deleted here) would be visible again at once to those still receiving
    barrier.wait()
    out.put(ids)


def test_processes_receiving_from_one_queue_never_share_a_message(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    queue = SqliteQueue(path, SystemClock(), timedelta(minutes=5))
    queue.send([f"job-{i}" for i in range(120)])
    results = run_in_processes(_receive_until_empty, (path,))
    ids = [i for got in results for i in got]
    assert len(ids) == len(set(ids)) == 120


def _receive_and_crash(barrier: Any, out: Any, path: Path) -> None:
    queue = SqliteQueue(path, FixedClock(NOW), timedelta(seconds=60))
    barrier.wait()
    out.put([m.message_id for m in queue.receive(10)])
    out.close()
    out.join_thread()  # flush the result; os._exit skips the usual cleanup
    os._exit(0)  # dies without deleting: a worker killed mid-message


def test_messages_of_a_crashed_worker_come_back_at_once(tmp_path: Path) -> None:
    """Its process is gone (no exit handler ran): the clock need not pass the timeout."""
    path = tmp_path / "q.sqlite"
    queue = SqliteQueue(path, ManualClock(NOW), timedelta(seconds=60))
    queue.send(["a", "b", "c"])
    (taken,) = run_in_processes(_receive_and_crash, (path,), n=1)
    assert len(taken) == 3
    again = queue.receive()
    assert sorted(m.message_id for m in again) == sorted(taken)
    assert {m.receive_count for m in again} == {2}


def test_a_store_made_before_fork_works_in_the_child(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite")
    store.put_records([ok(date(2025, 1, 6))])

    def child(barrier: Any, out: Any) -> None:
        barrier.wait()
        store.put_records([ok(date(2025, 1, 7))])
        out.put(len(store.present(KEY)))

    assert run_in_processes(child, (), n=1) == [2]
    assert len(store.present(KEY)) == 2


def test_due_pages_never_read_a_row_twice_when_stored_text_is_not_iso_utcs(
    tmp_path: Path,
) -> None:
    """Pages resume after the last row's (next attempt, key, date); an instant stored in
    another text form than iso_utc's (a file edited by hand) would otherwise resume before
    the row itself and give it again, page after page."""
    db = tmp_path / "s.sqlite"
    first, second = days(2)
    with SqliteStore(db, clock=FixedClock(NOW)) as store:
        assert store.put_pending(pending(first))
        assert store.put_pending(pending(second))
    with sqlite3.connect(db) as conn:  # 'Z' sorts after iso_utc's '.000000+00:00'
        conn.execute("UPDATE items SET next_attempt_at = '2020-01-01T00:00:00Z'")
    with SqliteStore(db, clock=FixedClock(NOW)) as store:
        pages = list(islice(store.due_pending_pages(NOW, page_size=1), 10))
    assert [[r.date for r in page] for page in pages] == [[first]]
