"""The embedded store: one SQLite file in WAL mode that every local process shares."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import chain
from operator import add, attrgetter, itemgetter
from pathlib import Path
from typing import Any

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.domain.models import (
    AttrValue,
    HistoryKind,
    PresentDate,
    Record,
    Revision,
    Status,
    no_value_seen_at,
)
from fuelpipe.domain.numbers import MAX_DIGITS, TooManyDigits, canonical_text
from fuelpipe.domain.retry import accepted_reason, released_reason
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.store import (
    LATEST_FIELDS,
    PENDING_SINCE,
    RECORD_ATTRIBUTES,
    RUN_START_WIDTH,
    RUNS_THROUGH_MARK,
    AnsweredBefore,
    Journal,
    PendingMarks,
    RunLog,
    Settled,
    SettleVerb,
    Slot,
    StatusStamp,
    StatusSummary,
    Store,
    Watermark,
    earliest_by_key,
    indexed_only,
    meta_family,
    ranked_family,
    refuse_histories,
    run_id_of,
    run_sort_key,
    written_since,
)

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's write lock before giving up."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    info_type TEXT NOT NULL,
    date TEXT NOT NULL,
    value TEXT,
    status TEXT NOT NULL,
    retry_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    reason TEXT,
    attrs TEXT,
    updated_at TEXT NOT NULL,
    revisions TEXT,
    written_at TEXT,
    pending_since TEXT,
    PRIMARY KEY (info_type, date)
) WITHOUT ROWID;
-- Only PENDING and QUARANTINED records are indexed: the sparse GSI of the DynamoDB home.
CREATE INDEX IF NOT EXISTS items_not_ok ON items (status, next_attempt_at) WHERE status != 'OK';
-- The same records by their last write: the newest ones, and the newest stamp, without a sort.
CREATE INDEX IF NOT EXISTS items_not_ok_updated ON items (status, updated_at, info_type, date)
    WHERE status != 'OK';
CREATE TABLE IF NOT EXISTS runs (
    stage TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (stage, started_at)
) WITHOUT ROWID;
-- One row per key: the gap scan's watermark (see fuelpipe.ports.store.Watermark).
CREATE TABLE IF NOT EXISTS watermarks (
    info_type TEXT PRIMARY KEY,
    through TEXT,
    version INTEGER NOT NULL,
    audited_at TEXT,
    calendar TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    ranked TEXT
) WITHOUT ROWID;
"""
"""The store's tables and indexes, as :func:`connect` creates them (bench/bench_store.py opens
its raw baseline's file with it)."""

RUNS_KEPT_PER_STAGE = 500

_COLUMNS = RECORD_ATTRIBUTES
_ALWAYS_READ = ("key", "date", "status")
_ALL_FIELDS = tuple(_COLUMNS)
_STATUS = {s.value: s for s in Status}
PRESENT_DATES_KEPT = 1 << 13
"""How many PresentDates a store keeps to give again (see SqliteStore._present_dates): the
dates of 22 years of daily values, ~3.7 MB when full (the demo store needs 408)."""
# `status != 'OK'` repeats the partial index's WHERE so SQLite's planner can prove it may use it.
_NOT_OK = "status != 'OK'"

_UPSERT_OK_HEAD = """
INSERT INTO items (info_type, date, value, status, retry_count, next_attempt_at, reason, attrs,
                   updated_at, written_at)
VALUES """
_UPSERT_OK_ROW = "(?, ?, ?, 'OK', ?, ?, ?, ?, ?, ?)"
_UPSERT_OK_WIDTH = 7
"""Bound parameters per row of the multi-row OK upsert: the two stamps, the same for every row
of a call, are bound once per statement (``?1`` and ``?2``), not once per row."""
_SET_OK = """
ON CONFLICT (info_type, date) DO UPDATE SET
    value = excluded.value, status = 'OK', retry_count = excluded.retry_count,
    next_attempt_at = excluded.next_attempt_at, reason = excluded.reason,
    attrs = excluded.attrs, updated_at = excluded.updated_at, written_at = excluded.written_at,
    pending_since = NULL"""
# put_records writes each record whole, as DynamoDB's Put does: no history is kept over it.
_UPSERT_OK_TAIL = _SET_OK + ", revisions = NULL\n"
# add_records: the same rows, but an OK record is left alone (and a record it writes keeps its
# history). RETURNING, which names the rows written, costs a third of the write rate, so it
# runs only for a statement that left some row alone (rowcount short), after a rollback to
# before it.
_ADD_OK_TAIL = _SET_OK + "\nWHERE items.status != 'OK'\n"
_RETURNING = "RETURNING info_type, date\n"
UPSERT_OK_ONE = _UPSERT_OK_HEAD + _UPSERT_OK_ROW + _UPSERT_OK_TAIL
"""The OK upsert of one row, each parameter bound in column order (key, date, value,
retry_count, next_attempt_at, reason, attrs, updated_at, written_at): the same columns and
ON CONFLICT clause as the multi-row statements below (bench/bench_store.py's raw baseline)."""
UPSERT_ROWS_PER_STATEMENT = 100
"""Rows per multi-row OK upsert. Not BATCH_LIMIT: every statement of a put_records call shares
one transaction, so the statement's size is invisible; 100 rows measured ~1.5x faster than 25
(bench/bench_store.py); 100 and 300 alike by CPU time, 1,000 slower (2026-12-04). Far below
SQLite's 32,766-parameter limit."""


def _run_log(stage: str, sort_key: str, finished: str, counts: str) -> RunLog:
    """A ``runs`` row as the entry it keeps (its id from the sort key)."""
    started = parse_iso(sort_key[:RUN_START_WIDTH])
    return RunLog(stage, started, parse_iso(finished), json.loads(counts), run_id_of(sort_key))


def _ok_row(n: int) -> str:
    """Row ``n`` (from 0) of a multi-row OK upsert: its own 7 parameters from ``?3`` on, then
    the call's two stamps, ``?1`` (updated_at) and ``?2`` (written_at)."""
    at = 3 + _UPSERT_OK_WIDTH * n
    own = [f"?{at + i}" for i in range(_UPSERT_OK_WIDTH)]
    return f"({own[0]}, {own[1]}, {own[2]}, 'OK', {', '.join(own[3:])}, ?1, ?2)"


# One multi-row INSERT per chunk (index = rows in the chunk): it binds far faster than
# executemany.
_UPSERT_OK = [
    _UPSERT_OK_HEAD + ", ".join(map(_ok_row, range(n))) + _UPSERT_OK_TAIL
    for n in range(UPSERT_ROWS_PER_STATEMENT + 1)
]
_ADD_OK = [
    _UPSERT_OK_HEAD + ", ".join(map(_ok_row, range(n))) + _ADD_OK_TAIL
    for n in range(UPSERT_ROWS_PER_STATEMENT + 1)
]
_KEY, _DATE, _VALUE, _STATUS_OF, _RETRIES, _NEXT, _REASON, _ATTRS = map(
    attrgetter,
    ("key", "date", "value", "status", "retry_count", "next_attempt_at", "reason", "attrs"),
)

_OK_VALUES = (
    "SELECT date, value FROM items WHERE info_type = ? AND date >= ? AND date <= ? "
    "AND status = 'OK' AND value IS NOT NULL ORDER BY date"
)
"""Store.compared's first read: the OK values of one key's date range."""

_INSERT_ROW = """
INSERT INTO items (info_type, date, value, status, retry_count, next_attempt_at, reason, attrs,
                   updated_at, pending_since)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_NOT_OK = _INSERT_ROW + (
    "ON CONFLICT (info_type, date) DO UPDATE SET {updates}\nWHERE items.status = 'PENDING'\n"
)
# A refreshed PENDING record keeps its retry state (only recheck's conditional claims move it)
# and when it first became PENDING (ports.store.PENDING_SINCE): a new PENDING record is
# stamped with its write time, one leaving PENDING drops the stamp.
_PUT_PENDING = _INSERT_NOT_OK.format(
    updates="reason = excluded.reason, attrs = excluded.attrs, updated_at = excluded.updated_at"
)
# A message's last delivery creates the PENDING record of a date holding none, never more.
_CREATE_PENDING = _INSERT_ROW + "ON CONFLICT (info_type, date) DO NOTHING"
# The scraper quarantines a record whose last retry failed: PENDING -> QUARANTINED only.
_PUT_QUARANTINED = _INSERT_NOT_OK.format(
    updates=(
        "status = 'QUARANTINED', next_attempt_at = NULL, reason = excluded.reason, "
        "attrs = excluded.attrs, updated_at = excluded.updated_at, pending_since = NULL"
    )
)
# The source said it has no value for the date: PENDING -> ABSENT only (never retried).
_PUT_ABSENT = _INSERT_NOT_OK.format(
    updates=(
        "status = 'ABSENT', next_attempt_at = NULL, reason = excluded.reason, "
        "attrs = excluded.attrs, updated_at = excluded.updated_at, pending_since = NULL"
    )
)


_ATTRS_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
"""One encoder for every record (``json.dumps`` with options builds a new one per call)."""
_JSON_TEXT = json.encoder.encode_basestring_ascii  # the encoder's own string escaping (C)
_NONE = type(None)
_Template = tuple[
    str, Callable[[tuple[AttrValue, ...]], tuple[AttrValue, ...]], tuple[int, ...], tuple[int, ...]
]
_TEMPLATES_KEPT = 256
"""Attribute shapes remembered (a source has one or two: an ANP row's 7 names and types)."""


def _page_position(record: Record) -> tuple[str, ...]:
    """Where :meth:`SqliteStore.due_pending_pages` resumes after ``record``: its next attempt
    as iso_utc stores it (when set), key and date."""
    where = (record.key, record.date.isoformat())
    nxt = record.next_attempt_at
    return where if nxt is None else (iso_utc(nxt), *where)


def dump_attrs(attrs: dict[str, AttrValue]) -> str:
    """JSON for record attributes; a Decimal becomes ``{"$d": "<exact text>"}`` to stay exact
    (its canonical text, ``domain.numbers.canonical_text``: ``27.0`` is kept as ``27``, still
    a Decimal).

    Attributes are flat (text keys; Decimal, int, text or null values) and the records of one
    source share their names and value types, so each such shape is turned once into a
    %-template with the names sorted and escaped: a record fills it with its values (the same
    bytes the encoder writes, tests/unit/test_attrs_json.py) at a fraction of the encoder's
    cost; any other shape (a bool, a float, a non-text name) goes through the encoder.
    """
    values = tuple(attrs.values())
    template = _template(tuple(attrs), tuple(map(type, values)))
    if template is None:
        return _dump_attrs_slow(attrs)
    text, pick, escape, numbers = template
    holes = pick(values)
    if escape or numbers:
        filled: list[Any] = list(holes)  # text at the escaped places, numbers canonical
        for i in escape:
            filled[i] = _JSON_TEXT(filled[i])
        for i in numbers:
            number = str(filled[i])
            # canonical already unless it ends in 0, has an exponent or may be too long
            filled[i] = (
                canonical_text(filled[i])
                if number[-1] == "0" or "E" in number or len(number) > MAX_DIGITS
                else number
            )
        holes = tuple(filled)
    return text % holes


@lru_cache(maxsize=_TEMPLATES_KEPT)
def _template(names: tuple[str, ...], types: tuple[type, ...]) -> _Template | None:
    """The %-template of one attribute shape, what fills its holes, which hold text and which
    Decimals; None for a shape the template does not cover (remembered: a source's records
    share it)."""
    if not all(type(name) is str for name in names):
        return None
    parts: list[str] = []
    picked: list[int] = []
    escape: list[int] = []
    numbers: list[int] = []
    for i in sorted(range(len(names)), key=names.__getitem__):
        head = _JSON_TEXT(names[i]).replace("%", "%%") + ":"
        kind = types[i]
        if kind is _NONE:
            parts.append(head + "null")
            continue
        if kind is Decimal:  # its text is digits, sign, point, NaN or Infinity
            numbers.append(len(picked))
            parts.append(head + '{"$d":"%s"}')
        elif kind is int:  # not bool: the encoder writes true/false
            parts.append(head + "%s")
        elif kind is str:
            escape.append(len(picked))
            parts.append(head + "%s")
        else:
            return None
        picked.append(i)
    return "{" + ",".join(parts) + "}", _picker(picked), tuple(escape), tuple(numbers)


def _picker(indices: list[int]) -> Callable[[tuple[AttrValue, ...]], tuple[AttrValue, ...]]:
    """A function taking the values at ``indices`` as a tuple (itemgetter returns a bare value
    for one index)."""
    if len(indices) > 1:
        return itemgetter(*indices)
    if indices:
        only = indices[0]
        return lambda values: (values[only],)
    return lambda values: ()


_Columns = tuple[
    Sequence[str], Sequence[date], Sequence[Decimal | None], Sequence[dict[str, AttrValue]]
]
"""OK rows a column at a time: keys, dates, values and attributes."""


def _column_params(
    columns: _Columns,
    retries: Iterable[int] | None,
    nexts: Sequence[datetime | None] | None,
    reasons: Iterable[str | None] | None,
) -> list[object] | None:
    """The bound parameters of OK rows given a column at a time (:meth:`SqliteStore.
    _ok_params`; retries 0, next attempts and reasons None when not given); None when a value
    is missing or two rows share their (key, date)."""
    keys, dates, values, attrs = columns
    n = len(keys)
    texts = list(map(str, values))
    if "None" in texts:  # no Decimal's text
        return None
    iso_days = {day: day.isoformat() for day in set(dates)}  # many keys share their dates
    days = list(map(iso_days.__getitem__, dates))
    # equal (key, date) pairs make equal texts (a collision only means the slow way)
    if len(set(map(add, keys, days))) != n:
        return None
    # A number's text is canonical unless it ends in 0, has an exponent or may be too long
    # (canonical_text); the text of most is, and a joined text tells at once.
    joined = "\n" + "\n".join(texts) + "\n"
    if "0\n" in joined or "E" in joined or "\n\n" in joined or max(map(len, texts)) > MAX_DIGITS:
        texts = [
            canonical_text(value)  # type: ignore[arg-type]
            if text[-1] == "0" or "E" in text or len(text) > MAX_DIGITS
            else text
            for text, value in zip(texts, values, strict=True)
        ]
    params: list[object] = [None] * (_UPSERT_OK_WIDTH * n)
    params[0::_UPSERT_OK_WIDTH] = keys
    params[1::_UPSERT_OK_WIDTH] = days
    params[2::_UPSERT_OK_WIDTH] = texts
    params[3::_UPSERT_OK_WIDTH] = [0] * n if retries is None else retries
    if nexts is not None:
        params[4::_UPSERT_OK_WIDTH] = [None if at is None else iso_utc(at) for at in nexts]
    if reasons is not None:
        params[5::_UPSERT_OK_WIDTH] = reasons
    if any(attrs):
        params[6::_UPSERT_OK_WIDTH] = [dump_attrs(a) if a else None for a in attrs]
    return params


def _dump_attrs_slow(attrs: dict[str, AttrValue]) -> str:
    return _ATTRS_JSON(
        {k: {"$d": canonical_text(v)} if isinstance(v, Decimal) else v for k, v in attrs.items()}
    )


def load_attrs(text: str | None) -> dict[str, AttrValue]:
    """The inverse of :func:`dump_attrs` (attribute values are flat, so a dict is a Decimal)."""
    if not text:
        return {}
    return _attrs_of(json.loads(text))


def _attrs_of(raw: dict[str, Any]) -> dict[str, AttrValue]:
    return {k: Decimal(v["$d"]) if isinstance(v, dict) else v for k, v in raw.items()}


def dump_revisions(revisions: Sequence[Revision]) -> str:
    """JSON for a revision history; values as exact decimal text."""
    out = []
    for r in revisions:
        entry: dict[str, Any] = {
            "previous": canonical_text(r.previous),
            "new": canonical_text(r.new),
            "seen_at": iso_utc(r.seen_at),
            "request": r.request,
        }
        if r.previous_attrs is not None:
            entry["previous_attrs"] = json.loads(dump_attrs(r.previous_attrs) or "{}")
        if r.kind is not HistoryKind.REVISION:  # no kind: a revision (as every older entry)
            entry["kind"] = r.kind.value
        out.append(entry)
    return json.dumps(out, separators=(",", ":"))


def load_revisions(text: str | None) -> tuple[Revision, ...]:
    """The inverse of :func:`dump_revisions`."""
    if not text:
        return ()
    return tuple(
        Revision(
            previous=Decimal(r["previous"]),
            new=Decimal(r["new"]),
            seen_at=datetime.fromisoformat(r["seen_at"]),
            request=r["request"],
            previous_attrs=(None if "previous_attrs" not in r else _attrs_of(r["previous_attrs"])),
            kind=HistoryKind(r.get("kind", HistoryKind.REVISION)),
        )
        for r in json.loads(text)
    )


_REVISED = (
    "(CASE WHEN revisions IS NULL THEN 0 ELSE EXISTS (SELECT 1 FROM json_each(revisions) AS entry "
    "WHERE IFNULL(json_extract(entry.value, '$.kind'), 'revision') = 'revision') END)"
)
"""SQL: the record's history holds a revision (HistoryKind.REVISION, written as no ``kind``);
a history of adjustments only does not. The CASE skips the subquery for a record with no
history (nearly all): with ``IS NOT NULL AND EXISTS (...)`` the SQL of a present() read
took ~1.3x as long."""

_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))


_NAMED = "name >= ? AND name < ? AND substr(name, 1, ?) = ?"
"""The meta settings whose names start with a prefix (:func:`_prefix_args`)."""


def _prefix_args(prefix: str) -> tuple[str, str, int, str]:
    """SQL arguments of :data:`_NAMED` for ``prefix``: a range of the primary key (up to
    ``prefix`` + the highest code point, no LIKE and its ``_`` and ``%``), then the prefix
    itself (a name past that code point would be in the range)."""
    return prefix, prefix + "\U0010ffff", len(prefix), prefix


_OURS = {
    "items": {"info_type", "date", "status"},
    "alert_state": {"id", "body"},
    "alert_outbox": {"seq", "sink", "body"},
    "alert_meta": {"name", "value"},
    "intraday": {"info_type", "sort", "series"},
}
"""Tables only a fuelpipe store file holds (``items`` since the first release; the alert state
and intraday tables share the file), each with columns every release gave it: one of them,
with those columns, says the file is fuelpipe's. The name alone does not: ``items`` is a
common name in other applications' databases."""


def _ours(conn: sqlite3.Connection, tables: set[str]) -> bool:
    """Whether one of ``tables`` is a fuelpipe table (:data:`_OURS`: its name and columns)."""
    for table in tables & _OURS.keys():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # constant
        if _OURS[table] <= columns:
            return True
    return False


def _outdated(path: Path) -> bool:
    """Whether an existing store file lacks a table of the schema or the revisions column
    (made by an older fuelpipe). A missing or empty file is not outdated: it is refused or read
    as empty elsewhere. A SQLite database of something else is refused (ForeignDatabase): no
    fuelpipe table is ever added to it."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = connect(path, SCHEMA, read_only=True)  # refuses a file that is not SQLite
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = _missing_columns(conn)
        ours = _ours(conn, tables)
    finally:
        conn.close()
    if tables and not ours:
        shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        raise ForeignDatabase(
            f"{path} is a SQLite database but not a fuelpipe store (its tables: {shown}): "
            "nothing was written to it; point FUELPIPE_DB at a fuelpipe store or a new file"
        )
    return not _TABLES.issubset(tables) or bool(missing)


class ForeignDatabase(sqlite3.DatabaseError):
    """The store file is another application's SQLite database."""


_ADDED_COLUMNS = (
    ("items", "revisions"),
    ("items", "written_at"),
    ("watermarks", "calendar"),
    ("items", PENDING_SINCE),
    ("meta", "ranked"),
)
"""Columns later releases added to a table: ``items.revisions`` (NULL: never revised),
``items.written_at`` (NULL: written before writes were stamped on the wall clock, so ordered
against no answer: ``ports.store.WRITTEN_AT``), ``watermarks.calendar`` (NULL: the
calendar fingerprint was not kept, so the next gap scan of the key is a full audit) and
``items.pending_since`` (NULL: PENDING since before first-failure instants were kept:
``ports.store.PENDING_SINCE``) and ``meta.ranked`` (NULL: written without a rank, in no
``latest_meta`` order)."""


def _missing_columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """The added columns an existing table lacks (a table not there yet is created whole)."""
    missing = []
    for table, column in _ADDED_COLUMNS:
        pragma = f"PRAGMA table_info({table})"  # a constant table name
        columns = {row[1] for row in conn.execute(pragma)}
        if columns and column not in columns:
            missing.append((table, column))
    return missing


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Files created by an older release get the columns added since (see _ADDED_COLUMNS)."""
    if _missing_columns(conn):
        with write_transaction(conn):
            for table, column in _missing_columns(conn):
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")  # constants


def connect(path: Path, schema: str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open a WAL-mode connection several processes can share, creating the file and schema.

    ``read_only``: create nothing and write nothing (no folder, file, schema or journal-mode
    change); the connection refuses writes (``query_only``). It is not opened with
    ``mode=ro``, which would leave the -wal and -shm files behind on close, unless the folder
    cannot take them (see :func:`_connect_read_only`). A file that does not exist reads as
    empty: an in-memory database with the schema stands for it.

    A file SQLite cannot open (locked, a read-only folder, ...) raises ``OperationalError``
    naming the path with SQLite's reason.
    """
    try:
        return _connect_read_only(path, schema) if read_only else _connect_writable(path, schema)
    except StoreUnreadable:
        raise  # already names the path and what to do
    except sqlite3.OperationalError as exc:  # locked, read-only, ...: SQLite's words, and where
        raise sqlite3.OperationalError(f"cannot open {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:  # not SQLite at all, or a damaged file: say which
        raise sqlite3.DatabaseError(
            f"{path} is not a usable SQLite file (a fuelpipe store or queue): {exc}"
        ) from exc


def damage(path: Path) -> str | None:
    """SQLite's first finding on the pages of the database at ``path`` (``PRAGMA
    quick_check``, read only): None when it finds none, or there is no file. It reads the
    whole file, so it is asked only once a read has failed with "database disk image is
    malformed", which names neither the file nor what is wrong with it."""
    if not path.is_file():
        return None
    try:
        conn = connect(path, "", read_only=True)
        try:
            row = conn.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc.__cause__ or exc)
    finding = str(row[0]) if row else "no answer"
    return None if finding == "ok" else finding


class StoreUnreadable(sqlite3.OperationalError):
    """A file in a folder this process cannot write to, whose -wal holds writes SQLite cannot
    read without creating its -shm there."""


def _connect_writable(path: Path, schema: str) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the write lock
    # up front (waiting on busy_timeout) instead of failing on a read-to-write upgrade.
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    mode = _enable_wal(conn)
    if mode.lower() != "wal":
        conn.close()
        raise RuntimeError(f"{path}: SQLite refused WAL mode (got {mode!r})")
    # NORMAL in WAL mode: a power cut may lose the last commits but never corrupts the file;
    # every write here is idempotent and the queue redelivers, so that loss is recovered.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32000")
    with write_transaction(conn):
        for statement in schema.split(";"):
            if statement.strip():
                conn.execute(statement)
    return conn


def _connect_read_only(path: Path, schema: str) -> sqlite3.Connection:
    exists = path.exists()
    conn = sqlite3.connect(
        path if exists else ":memory:",
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    if not exists:  # the in-memory stand-in: no transaction to keep, executescript will do
        conn.executescript(schema)
    else:  # the header is read now: a file that is not SQLite is refused here, by its path
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            if _folder_writable(path):
                raise  # not the folder: SQLite's own reason is the one to give
            conn = _connect_in_read_only_folder(path)
    conn.execute("PRAGMA query_only = ON")
    return conn


def _folder_writable(path: Path) -> bool:
    return os.access(path.parent, os.W_OK | os.X_OK)


def _connect_in_read_only_folder(path: Path) -> sqlite3.Connection:
    """A WAL-mode file in a folder this process cannot write to (a read-only mount, a folder
    of another user, ``chattr +i``): SQLite cannot create the -shm index beside it, which its
    plain open needs.

    A -wal file beside it (a writer is connected, or one stopped before merging its writes):
    ``mode=ro``, with SQLite's locks, reads the file and the WAL through the -shm that writer
    made; without a -shm it cannot, and that is refused in words. No -wal: the file alone is
    the whole database, and no writer can be at work (a writer in WAL mode first creates the
    -wal), so it is read as ``immutable``: no -shm, no lock.
    """
    uri = path.resolve().as_uri()
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        conn = sqlite3.connect(
            f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            raise StoreUnreadable(
                f"cannot read {path}: its folder is read-only and {wal.name} beside it holds "
                f"writes not merged into it yet, which SQLite cannot read without creating "
                f"{path.name}-shm there ({exc}); run any fuelpipe command on it once where the "
                "folder is writable (that merges them), then it reads here"
            ) from exc
        return conn
    conn = sqlite3.connect(
        f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False
    )
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # refuses a non-SQLite file
    return conn


def _enable_wal(conn: sqlite3.Connection) -> str:
    """Switch to WAL, waiting (up to the busy timeout) for processes doing the same at once.

    On a new file, the journal-mode change can fail with "database is locked" at once, without
    the busy handler, while another process is switching it: seen with 5 processes starting on
    a fresh clone together (tests/reliability/test_concurrency.py).
    """
    # Not stamina: it would warn of each retry (the CLI's retry hook) over a switch another
    # process ends within milliseconds; this polls every 10 ms up to the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class ProcessConnection:
    """This process's connection to one SQLite file: a connection must not cross fork().

    After a fork the child opens its own; the inherited one is kept referenced (never closed)
    so the child does not disturb the parent's locks.
    """

    def __init__(self, path: Path, schema: str, *, read_only: bool = False) -> None:
        self._path, self._schema, self._read_only = path, schema, read_only
        self._pid = os.getpid()
        self._absent = read_only and not path.exists()
        """Read-only on a file not there yet: an empty stand-in until a writer creates it."""
        self._conn = connect(path, schema, read_only=read_only)
        self._forked: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        """The connection for the calling process (a read-only one opens the file once a writer
        has created it: a dashboard started before the first `run` sees its queue)."""
        if self._absent and self._path.exists():
            self._absent = False
            self._conn.close()
            self._conn = connect(self._path, self._schema, read_only=True)
        if os.getpid() != self._pid:
            self._forked.append(self._conn)
            self._conn = connect(self._path, self._schema, read_only=self._read_only)
            self._pid = os.getpid()
        return self._conn

    def close(self) -> None:
        """Close this process's connection."""
        self._conn.close()


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _instant_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _identity(value: Any) -> Any:
    return value


_READERS: dict[str, Callable[[Any], Any]] = {
    "key": _identity,
    "date": date.fromisoformat,
    "value": _decimal_or_none,
    "status": _STATUS.__getitem__,
    "retry_count": _identity,
    "next_attempt_at": _instant_or_none,
    "reason": _identity,
    "attrs": load_attrs,
    "updated_at": _instant_or_none,
    "revisions": load_revisions,
}


class SqliteStore(Store):
    """The Store port on one SQLite file; safe for several processes and threads at once."""

    def __init__(
        self,
        path: Path | str,
        clock: Clock | None = None,
        *,
        read_only: bool = False,
        wall: Clock | None = None,
    ) -> None:
        """``read_only``: a command that only reads; the file is neither created nor written
        (see :func:`connect`)."""
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        """The business clock that stamps ``updated_at``: the stages' clock. A home sets it
        once it has read the clock the store itself keeps (the one a demo filled it at)."""
        self.wall: Clock = wall or SystemClock()
        """The real clock that stamps ``written_at`` (``ports.store.WRITTEN_AT``), however
        the business clock is set."""
        self._lock = threading.RLock()
        self._made: dict[tuple[str, str, int], PresentDate] = {}
        """:meth:`_present_dates`' PresentDates by the row they were made of."""
        outdated = _outdated(self.path)  # ForeignDatabase: someone else's database, untouched
        if read_only and outdated:
            # A file from an older fuelpipe cannot be read without its missing tables or
            # column: upgraded once, as any writing command would (no record changes).
            upgrade = connect(self.path, SCHEMA)
            _add_missing_columns(upgrade)
            upgrade.close()
        self._conn = ProcessConnection(self.path, SCHEMA, read_only=read_only)
        if not read_only:
            _add_missing_columns(self._conn.get())

    # --- plumbing ------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        return self._conn.get()

    def _present_dates(self, rows: list[tuple[str, str, int]]) -> list[PresentDate]:
        """PresentDates of ``(date, status, revised)`` rows. A PresentDate is immutable and
        many keys share their dates, so one made before for the same row is given again:
        making a (frozen) PresentDate was about half of a present() read of the demo store's
        99 series (8,515 dates), which the health view makes on every call. At most
        :data:`PRESENT_DATES_KEPT` are kept, the first ones made."""
        if not rows:
            return []
        made = self._made

        def make(row: tuple[str, str, int]) -> PresentDate:
            d, s, r = row
            item = PresentDate(date.fromisoformat(d), _STATUS[s], bool(r))
            if len(made) < PRESENT_DATES_KEPT:
                made[row] = item
            return item

        known = made.get
        return [known(row) or make(row) for row in rows]

    @property
    def connection(self) -> sqlite3.Connection:
        """This process's connection, for diagnostics and SQLite-specific tests."""
        return self._db()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> str:
        return iso_utc(self.clock.now())

    def wall_now(self) -> datetime:
        """Now on the wall clock that stamps ``written_at``."""
        return self.wall.now()

    def _select(self, fields: Sequence[str], where: str, params: Sequence[object]) -> list[Record]:
        columns = ", ".join(_COLUMNS[f] for f in fields)
        readers = [_READERS[f] for f in fields]
        with self._lock:
            rows = self._db().execute(f"SELECT {columns} FROM items WHERE {where}", params)  # noqa: S608 - columns come from a fixed map
            fetched = rows.fetchall()
        out: list[Record] = []
        append = out.append
        for row in fetched:
            values = {f: read(v) for f, read, v in zip(fields, readers, row, strict=True)}
            values.setdefault("value", None)
            append(Record(**values))
        return out

    # --- writes --------------------------------------------------------------------------

    def put_records(self, records: Sequence[Record]) -> int:
        """Upsert OK records in one transaction, each whole (no history kept over it); the last
        of duplicate keys wins."""
        if not records:
            return 0
        refuse_histories(records)
        stamps = self._ok_stamps()
        params = self._ok_params(records)
        self._write_ok(stamps, params, conditional=False)
        return len(params) // _UPSERT_OK_WIDTH

    def add_records(self, records: Sequence[Record]) -> list[tuple[str, date]]:
        """As put_records, in one transaction, but a date already OK is left alone (the
        upsert's WHERE) and returned."""
        if not records:
            return []
        stamps = self._ok_stamps()
        refused = self._write_ok(stamps, self._ok_params(records), conditional=True)
        return [(key, date.fromisoformat(day)) for key, day in refused]

    def _ok_stamps(self) -> list[object]:
        """The stamps of the rows written now: updated_at (business clock) and written_at
        (wall clock), bound once per statement as ``?1`` and ``?2``."""
        return [self._now(), iso_utc(self.wall.now())]

    def _ok_params(self, records: Sequence[Record]) -> list[object]:
        """The bound parameters of the records' rows, one flat list (:data:`_UPSERT_OK_WIDTH`
        per row, the stamps apart); one row per (key, ISO date), the last duplicate's.

        Built a column at a time (:meth:`_ok_params_at_once`) unless the records hold a
        duplicate (key, date) or something is refused: then record by record
        (:meth:`_ok_params_each`), which raises the same error for the same record."""
        # Rows are built before the write lock is taken, so other processes wait only on SQLite.
        try:
            params = self._ok_params_at_once(records)
        except Exception:  # raised again below, by the first record it is about
            params = None
        return self._ok_params_each(records) if params is None else params

    def _ok_params_at_once(self, records: Sequence[Record]) -> list[object] | None:
        """:meth:`_ok_params` a column at a time, at C speed but for the numbers to make
        canonical, the next attempts and the attributes, which only some records have; None
        when a record is not OK, has no value or shares its (key, date) with another."""
        n = len(records)
        statuses = list(map(_STATUS_OF, records))
        if statuses.count(Status.OK) != n:  # identity first: one OK member
            return None
        nexts = list(map(_NEXT, records))
        return _column_params(
            (
                list(map(_KEY, records)),
                list(map(_DATE, records)),
                list(map(_VALUE, records)),
                list(map(_ATTRS, records)),
            ),
            map(_RETRIES, records),
            None if nexts.count(None) == n else nexts,
            map(_REASON, records),
        )

    def add_values(
        self,
        keys: Sequence[str],
        days: Sequence[date],
        values: Sequence[Decimal],
        attrs: Sequence[dict[str, AttrValue]],
    ) -> list[tuple[str, date]]:
        """:meth:`add_records` of OK records given a column at a time, their rows made from
        the columns without a Record each; as records (the port's way: the same errors) when
        the columns hold a duplicate (key, date), a missing value or a number refused."""
        if not keys:
            return []
        try:
            params = _column_params((keys, days, values, attrs), None, None, None)
        except Exception:  # raised again by the record-by-record way, naming its record
            params = None
        if params is None:
            return super().add_values(keys, days, values, attrs)
        refused = self._write_ok(self._ok_stamps(), params, conditional=True)
        return [(key, date.fromisoformat(day)) for key, day in refused]

    def _ok_params_each(self, records: Sequence[Record]) -> list[object]:
        """:meth:`_ok_params` record by record: the last duplicate (key, date) wins; the first
        record refused raises."""
        ok = Status.OK
        rows: dict[tuple[str, str], tuple[object, ...]] = {}
        iso_days: dict[date, str] = {}
        for r in records:
            status = r.status
            value = r.value
            if (status is not ok and status != ok) or value is None:
                raise ValueError(
                    f"put_records takes OK records with a value; {r.key} {r.date} is {status}"
                )
            key = r.key
            day = iso_days.get(r.date)
            if day is None:
                day = iso_days[r.date] = r.date.isoformat()
            nxt = r.next_attempt_at
            attrs = r.attrs
            text = str(value)
            try:
                if text[-1] == "0" or "E" in text or len(text) > MAX_DIGITS:  # else canonical
                    text = canonical_text(value)
                attrs_text = dump_attrs(attrs) if attrs else None
            except TooManyDigits as exc:
                raise exc.at(key, day) from None
            rows[key, day] = (
                key,
                day,
                text,
                r.retry_count,
                None if nxt is None else iso_utc(nxt),
                r.reason,
                attrs_text,
            )
        return list(chain.from_iterable(rows.values()))

    def _write_ok(
        self, stamps: list[object], params: list[object], *, conditional: bool
    ) -> list[tuple[str, str]]:
        """Upsert the rows of ``params`` (:meth:`_ok_params`) with ``stamps``
        (:meth:`_ok_stamps`) in one transaction; with ``conditional`` (add_records) an OK row
        is left alone, and the (key, date) of each row left alone is returned, in order."""
        statements = _ADD_OK if conditional else _UPSERT_OK
        step = UPSERT_ROWS_PER_STATEMENT * _UPSERT_OK_WIDTH
        # The statements of one call share one transaction: committing every 25 rows (the unit
        # of a DynamoDB BatchWriteItem) would pay one WAL commit per 25 rows (a fraction of the
        # throughput; bench/bench_store.py measures both). A crash loses this call's writes, all
        # or nothing, and that is safe: each write is an idempotent upsert, and the queue
        # message that caused it is deleted only after put_records returns, so it is
        # redelivered and the call redone.
        refused: list[tuple[str, str]] = []
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                for start in range(0, len(params), step):
                    chunk: list[Any] = params[start : start + step]
                    count = len(chunk) // _UPSERT_OK_WIDTH
                    if not conditional:
                        conn.execute(statements[count], stamps + chunk)
                        continue
                    conn.execute("SAVEPOINT add_ok")
                    if conn.execute(statements[count], stamps + chunk).rowcount < count:
                        # Some date was OK already: redo the statement saying which it wrote.
                        conn.execute("ROLLBACK TO add_ok")
                        cursor = conn.execute(statements[count] + _RETURNING, stamps + chunk)
                        written = set(cursor.fetchall())
                        slots = zip(
                            chunk[0::_UPSERT_OK_WIDTH], chunk[1::_UPSERT_OK_WIDTH], strict=True
                        )
                        refused += [slot for slot in slots if slot not in written]
                    conn.execute("RELEASE add_ok")
        return refused

    def revise(
        self,
        key: str,
        day: date,
        revision: Revision,
        attrs: dict[str, AttrValue],
        *,
        history: int | None = None,
        answered_at: datetime | None = None,
    ) -> bool:
        """Replace an OK value still equal to ``revision.previous`` (and still with ``history``
        revisions, when given); its history grows by one. AnsweredBefore when it was written
        after ``answered_at``."""
        iso = day.isoformat()
        try:
            new = canonical_text(revision.new)
            new_attrs = dump_attrs(attrs) if attrs else None
            dump_revisions([revision])  # its numbers too, before the write lock is taken
        except TooManyDigits as exc:
            raise exc.at(key, iso) from None
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                row = conn.execute(
                    "SELECT value, revisions, written_at FROM items WHERE info_type = ? "
                    "AND date = ? AND status = 'OK'",
                    (key, iso),
                ).fetchone()
                if row is None or row[0] is None:
                    return False
                wall = self.wall.now()
                written_at = None if row[2] is None else parse_iso(row[2])
                if written_since(written_at, answered_at, wall):
                    raise AnsweredBefore(
                        f"{key} {iso} was written at {row[2]}, after {answered_at}"
                    )
                if Decimal(row[0]) != revision.previous:
                    return False
                seen = load_revisions(row[1])
                if history is not None and len(seen) != history:
                    return False  # revised meanwhile (perhaps its attributes only)
                grown = (*seen, revision)
                conn.execute(
                    "UPDATE items SET value = ?, attrs = ?, revisions = ?, updated_at = ?, "
                    "written_at = ? WHERE info_type = ? AND date = ?",
                    (
                        new,
                        new_attrs,
                        dump_revisions(grown),
                        self._now(),
                        iso_utc(wall),
                        key,
                        iso,
                    ),
                )
        return True

    def revised(self, key: str) -> list[Record]:
        """Every revised record of one key (not those only adjusted), in date order."""
        return self._select(_ALL_FIELDS, f"info_type = ? AND {_REVISED} ORDER BY date", (key,))

    def put_pending(self, record: Record) -> bool:
        """Create or refresh a PENDING record (or quarantine a PENDING one); never touches OK."""
        sql, row = self._not_ok_row(record)
        with self._lock:
            return self._db().execute(sql, row).rowcount == 1

    def put_pendings(self, records: Sequence[Record]) -> list[bool]:
        """``put_pending`` of each record, in one transaction (one commit, not one each)."""
        if not records:
            return []  # no write lock for nothing
        rows = [self._not_ok_row(r) for r in records]
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                return [conn.execute(sql, row).rowcount == 1 for sql, row in rows]

    def create_pendings(self, records: Sequence[Record]) -> list[bool]:
        """Each PENDING record inserted where its date has no row (``DO NOTHING`` on a
        conflict), in one transaction."""
        if any(r.status is not Status.PENDING for r in records):
            raise ValueError("create_pendings takes PENDING records only")
        if not records:
            return []
        rows = [self._not_ok_row(r)[1] for r in records]
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                return [conn.execute(_CREATE_PENDING, row).rowcount == 1 for row in rows]

    def _not_ok_row(self, record: Record) -> tuple[str, tuple[object, ...]]:
        """The statement and parameters that put one PENDING, QUARANTINED or ABSENT record."""
        if record.status == Status.PENDING:
            sql = _PUT_PENDING
        elif record.status == Status.QUARANTINED:
            sql = _PUT_QUARANTINED
        elif record.status == Status.ABSENT:
            sql = _PUT_ABSENT
        else:
            raise ValueError(
                f"put_pending takes PENDING, QUARANTINED or ABSENT records, not {record.status}"
            )
        nxt = record.next_attempt_at
        try:
            value = None if record.value is None else canonical_text(record.value)
            attrs = dump_attrs(record.attrs) if record.attrs else None
        except TooManyDigits as exc:
            raise exc.at(record.key, record.date) from None
        stamp = self._now()
        pending = record.status == Status.PENDING
        row = (
            record.key,
            record.date.isoformat(),
            value,
            record.status.value,
            record.retry_count,
            None if nxt is None or not pending else iso_utc(nxt),
            record.reason,
            attrs,
            stamp,
            stamp if pending else None,  # used by a new record only: a refresh keeps its own
        )
        return sql, row

    def claim_retry(
        self, key: str, day: date, expected_count: int, new_count: int, next_attempt_at: datetime
    ) -> bool:
        """Move a PENDING record's retry count from expected to new; False if someone else did."""
        sql = (
            "UPDATE items SET retry_count = ?, next_attempt_at = ?, updated_at = ? "
            "WHERE info_type = ? AND date = ? AND status = 'PENDING' AND retry_count = ?"
        )
        params = (new_count, iso_utc(next_attempt_at), self._now(), key, day.isoformat())
        with self._lock:
            return self._db().execute(sql, (*params, expected_count)).rowcount == 1

    def give_back_retry(
        self,
        key: str,
        day: date,
        claimed_count: int,
        claimed_next: datetime,
        count: int,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Undo a claim whose re-download was never sent, only while the record holds what the
        claim wrote; False if it changed meanwhile."""
        sql = (
            "UPDATE items SET retry_count = ?, next_attempt_at = ?, updated_at = ? "
            "WHERE info_type = ? AND date = ? AND status = 'PENDING' AND retry_count = ? "
            "AND next_attempt_at = ?"
        )
        previous = None if next_attempt_at is None else iso_utc(next_attempt_at)
        params = (count, previous, self._now(), key, day.isoformat(), claimed_count)
        with self._lock:
            return self._db().execute(sql, (*params, iso_utc(claimed_next))).rowcount == 1

    def quarantine(self, key: str, day: date, expected_count: int, reason: str) -> bool:
        """Quarantine a PENDING record whose retries are spent; False if it changed meanwhile."""
        sql = (
            "UPDATE items SET status = 'QUARANTINED', next_attempt_at = NULL, reason = ?, "
            "updated_at = ?, pending_since = NULL WHERE info_type = ? AND date = ? "
            "AND status = 'PENDING' AND retry_count = ?"
        )
        params = (reason, self._now(), key, day.isoformat(), expected_count)
        with self._lock:
            return self._db().execute(sql, params).rowcount == 1

    def release(self, key: str, day: date, now: datetime) -> bool:
        """Put a QUARANTINED record back to PENDING with a fresh retry budget, due now; its
        reason says it was released by hand and why it was quarantined."""
        return bool(self.settle_many("release", [(key, day)], now))

    def accept(self, key: str, day: date, now: datetime) -> bool:
        """Make a QUARANTINED record ABSENT, its retry count kept, its reason saying it was
        accepted by hand and why it was quarantined; False unless it is QUARANTINED. The
        watermark stays: an ABSENT date is as complete for the gap scan as a quarantined one."""
        return bool(self.settle_many("accept", [(key, day)], now))

    def settle_many(
        self, verb: SettleVerb, slots: Sequence[Slot], now: datetime, journal: Journal | None = None
    ) -> list[Settled]:
        """One write transaction: each slot's QUARANTINED record read and changed, its
        ``journal`` entry written, then each released key's watermark moved once."""
        stamp = iso_utc(now)
        settled: list[Settled] = []
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                for key, day in dict.fromkeys(slots):
                    slot = (key, day.isoformat())
                    row = conn.execute(
                        "SELECT retry_count, reason FROM items "
                        "WHERE info_type = ? AND date = ? AND status = 'QUARANTINED'",
                        slot,
                    ).fetchone()
                    if row is None:
                        continue
                    was = Settled(key, day, int(row[0]), row[1])
                    if verb == "release":
                        sql = (
                            "UPDATE items SET status = 'PENDING', retry_count = 0, "
                            "next_attempt_at = :stamp, updated_at = :stamp, "
                            "pending_since = :stamp, reason = :reason "
                            "WHERE info_type = :key AND date = :day"
                        )
                        reason = released_reason(was.reason, now)
                    else:
                        sql = (
                            "UPDATE items SET status = 'ABSENT', next_attempt_at = NULL, "
                            "pending_since = NULL, updated_at = :stamp, reason = :reason "
                            "WHERE info_type = :key AND date = :day"
                        )
                        reason = accepted_reason(was.reason, now)
                    args = {"stamp": stamp, "reason": reason, "key": key, "day": slot[1]}
                    conn.execute(sql, args)
                    if journal is not None:
                        self._journal(conn, journal, was)
                    settled.append(was)
                if verb == "release":
                    for key, day in earliest_by_key(settled).items():
                        self._lower_watermark(conn, key, day)
        return settled

    @staticmethod
    def _journal(conn: sqlite3.Connection, journal: Journal, was: Settled) -> None:
        """Add ``was`` to its journal entry, in the caller's transaction."""
        name = journal.name(was.key, was.date)
        kept = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        conn.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, journal.add(None if kept is None else str(kept[0]), was)),
        )

    # --- watermarks ----------------------------------------------------------------------

    def present_after(self, key: str, after: date | None) -> list[PresentDate]:
        """Stored dates of one key later than ``after`` (all if None), with status."""
        if after is None:
            return self.present(key)
        with self._lock:
            fetched = (
                self._db()
                .execute(
                    f"SELECT date, status, {_REVISED} FROM items "  # noqa: S608 - a constant
                    "WHERE info_type = ? AND date > ? ORDER BY date",
                    (key, after.isoformat()),
                )
                .fetchall()
            )
        return self._present_dates(fetched)

    def watermarks(self) -> dict[str, Watermark]:
        """Every key's watermark."""
        with self._lock:
            fetched = (
                self._db()
                .execute("SELECT info_type, through, version, audited_at, calendar FROM watermarks")
                .fetchall()
            )
        return {
            key: Watermark(
                key,
                None if through is None else date.fromisoformat(through),
                version,
                _instant_or_none(audited),
                calendar,
            )
            for key, through, version, audited, calendar in fetched
        }

    def set_watermark(
        self,
        key: str,
        through: date | None,
        expected_version: int,
        audited_at: datetime | None,
        calendar: str | None = None,
    ) -> bool:
        """Compare-and-set on the version; the version grows by one."""
        params = (
            None if through is None else through.isoformat(),
            None if audited_at is None else iso_utc(audited_at),
            calendar,
        )
        with self._lock:
            conn = self._db()
            if expected_version == 0:
                sql = (
                    "INSERT INTO watermarks (info_type, through, audited_at, calendar, version) "
                    "VALUES (?, ?, ?, ?, 1) ON CONFLICT (info_type) DO NOTHING"
                )
                return conn.execute(sql, (key, *params)).rowcount == 1
            sql = (
                "UPDATE watermarks SET through = ?, audited_at = ?, calendar = ?, "
                "version = version + 1 WHERE info_type = ? AND version = ?"
            )
            return conn.execute(sql, (*params, key, expected_version)).rowcount == 1

    def lower_watermark(self, key: str, day: date) -> None:
        """Move the watermark below ``day`` and bump its version (creating it if absent)."""
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                self._lower_watermark(conn, key, day)

    @staticmethod
    def _lower_watermark(conn: sqlite3.Connection, key: str, day: date) -> None:
        below = (day - timedelta(days=1)).isoformat()
        conn.execute(
            "INSERT INTO watermarks (info_type, through, version) VALUES (?, NULL, 1) "
            "ON CONFLICT (info_type) DO UPDATE "
            "SET version = version + 1, through = CASE WHEN through IS NOT NULL AND through > ? "
            "THEN ? ELSE through END",
            (key, below, below),
        )

    def put_run(self, run: RunLog) -> None:
        """Remember what a stage did; only the latest few hundred runs per stage are kept.
        The ``started_at`` column holds the entry's sort key (:func:`run_sort_key`: its start,
        then its id), so runs starting at the same instant are each a row."""
        started = run_sort_key(run)
        counts = json.dumps(run.counts, sort_keys=True)
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                conn.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)",
                    (run.stage, started, iso_utc(run.finished_at), counts),
                )
                conn.execute(
                    "DELETE FROM runs WHERE stage = ? AND started_at < (SELECT started_at FROM "
                    "runs WHERE stage = ? ORDER BY started_at DESC LIMIT 1 OFFSET ?)",
                    (run.stage, run.stage, RUNS_KEPT_PER_STAGE - 1),
                )

    def delete_not_ok(self, key: str, day: date) -> bool:
        """Delete a PENDING or QUARANTINED record; an OK one is never touched."""
        sql = (
            "DELETE FROM items WHERE info_type = ? AND date = ? "
            "AND status IN ('PENDING', 'QUARANTINED')"
        )
        with self._lock:
            return self._db().execute(sql, (key, day.isoformat())).rowcount == 1

    def put_meta(self, name: str, value: str) -> None:
        """Remember one named setting of this store."""
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value)
            )

    def replace_meta(
        self, name: str, expected: str | None, value: str, ranked: datetime | None = None
    ) -> bool:
        """Write a setting only while it holds ``expected`` (None: unset), with its rank
        (``meta.ranked``, fixed-width UTC text): one statement."""
        rank = None if ranked is None else iso_utc(ranked)
        if rank is not None:
            meta_family(name)  # ValueError: in no family, so in no order
        with self._lock:
            if expected is None:
                sql = (
                    "INSERT OR IGNORE INTO meta (name, value, ranked) "
                    "VALUES (:name, :value, :ranked)"
                )
            else:
                sql = (
                    "UPDATE meta SET value = :value, ranked = :ranked "
                    "WHERE name = :name AND value = :expected"
                )
            args = {"name": name, "value": value, "expected": expected, "ranked": rank}
            return self._db().execute(sql, args).rowcount == 1

    def get_meta(self, name: str) -> str | None:
        """A remembered setting, or None."""
        with self._lock:
            row = self._db().execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        """The settings named ``prefix``..., in name order (a range of the primary key)."""
        if not prefix:
            raise ValueError("a meta prefix must not be empty")
        sql = f"SELECT name, value FROM meta WHERE {_NAMED} ORDER BY name"  # noqa: S608 - a constant
        with self._lock:
            rows = self._db().execute(sql, _prefix_args(prefix)).fetchall()
        return [(str(n), str(v)) for n, v in rows]

    def meta_names(self, prefix: str) -> list[str]:
        """The names of the settings named ``prefix``..., in name order (a range of the
        primary key, its index alone read)."""
        if not prefix:
            raise ValueError("a meta prefix must not be empty")
        sql = f"SELECT name FROM meta WHERE {_NAMED} ORDER BY name"  # noqa: S608 - a constant
        with self._lock:
            rows = self._db().execute(sql, _prefix_args(prefix)).fetchall()
        return [str(n) for (n,) in rows]

    def count_meta(self, prefix: str) -> int:
        """A COUNT of the settings named ``prefix``... (a range of the primary key)."""
        if not prefix:
            raise ValueError("a meta prefix must not be empty")
        sql = f"SELECT count(*) FROM meta WHERE {_NAMED}"  # noqa: S608 - a constant
        with self._lock:
            row = self._db().execute(sql, _prefix_args(prefix)).fetchone()
        return int(row[0])

    def latest_meta(self, family: str, limit: int) -> list[tuple[str, str]]:
        """The family's ranked settings, latest rank first (then by name), ``limit`` of them:
        SQLite walks the family's range of the primary key and sorts it, and only those
        rows come back (a local file: the few thousand entries at most a family holds)."""
        ranked_family(family)
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        sql = (
            f"SELECT name, value FROM meta WHERE {_NAMED} AND ranked IS NOT NULL "  # noqa: S608 - a constant
            "ORDER BY ranked DESC, name LIMIT ?"
        )
        with self._lock:
            rows = self._db().execute(sql, (*_prefix_args(family), limit)).fetchall()
        return [(str(n), str(v)) for n, v in rows]

    def delete_meta(self, name: str, expected_start: str, *, whole: bool = False) -> bool:
        """Delete a setting while its value starts with ``expected_start`` (``whole``: is
        it): one statement."""
        args: tuple[object, ...]
        if whole:
            sql, args = "DELETE FROM meta WHERE name = ? AND value = ?", (name, expected_start)
        elif expected_start:
            sql = "DELETE FROM meta WHERE name = ? AND substr(value, 1, ?) = ?"
            args = (name, len(expected_start), expected_start)
        else:
            raise ValueError("delete_meta needs the start of the value it deletes")
        with self._lock:
            return self._db().execute(sql, args).rowcount == 1

    # --- reads ---------------------------------------------------------------------------

    def present(self, key: str) -> list[PresentDate]:
        """Every stored date of one key with its status, in date order."""
        with self._lock:
            rows = self._db().execute(
                f"SELECT date, status, {_REVISED} FROM items WHERE info_type = ? ORDER BY date",  # noqa: S608 - a constant
                (key,),
            )
            fetched = rows.fetchall()
        return self._present_dates(fetched)

    def pending_marks(
        self, slots: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], PendingMarks]:
        """One statement over the slots (a JSON array of [key, date] pairs), each a primary
        key lookup."""
        if not slots:
            return {}
        pairs = json.dumps(sorted({(key, day.isoformat()) for key, day in slots}))
        with self._lock:
            rows = self._db().execute(
                "SELECT items.info_type, items.date, items.pending_since, items.attrs "
                "FROM json_each(?) AS s "
                "JOIN items ON items.info_type = json_extract(s.value, '$[0]') "
                "AND items.date = json_extract(s.value, '$[1]') "
                "WHERE items.status = 'PENDING'",
                (pairs,),
            )
            fetched = rows.fetchall()
        return {
            (key, date.fromisoformat(day)): PendingMarks(
                parse_iso(at) if at is not None else None, no_value_seen_at(load_attrs(attrs))
            )
            for key, day, at, attrs in fetched
        }

    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """One statement: for each key asked, whether the primary key has a first row (a seek,
        not a read of the key's dates)."""
        if not keys:
            return set()
        with self._lock:
            rows = self._db().execute(
                "SELECT s.value FROM json_each(?) AS s WHERE EXISTS "
                "(SELECT 1 FROM items WHERE items.info_type = s.value)",
                (json.dumps(sorted(set(keys))),),
            )
            fetched = rows.fetchall()
        return {str(key) for (key,) in fetched}

    def query(
        self,
        key: str,
        start: date | None = None,
        end: date | None = None,
        fields: Sequence[str] | None = None,
        *,
        consistent: bool = False,  # one SQLite file: every read is consistent already
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Record]:
        """Records of one key in ``[start, end]`` in date order (``newest_first``: reversed),
        at most ``limit``; key, date, status always read."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if fields is None:
            wanted: Sequence[str] = _ALL_FIELDS
        else:
            unknown = set(fields) - set(_COLUMNS)
            if unknown:
                raise ValueError(f"unknown record fields {sorted(unknown)}")
            wanted = [f for f in _ALL_FIELDS if f in _ALWAYS_READ or f in fields]
        where = "info_type = ?"
        params: list[object] = [key]
        if start is not None:
            where += " AND date >= ?"
            params.append(start.isoformat())
        if end is not None:
            where += " AND date <= ?"
            params.append(end.isoformat())
        order = " ORDER BY date DESC" if newest_first else " ORDER BY date"
        if limit is not None:
            order += " LIMIT ?"
            params.append(limit)
        return self._select(wanted, where + order, params)

    def compared(
        self,
        key: str,
        start: date,
        end: date,
        days: Collection[date],
        fields: Sequence[str],
    ) -> tuple[dict[date, Decimal], dict[date, Record]]:
        """As the port's, in two reads: the range's OK values alone (no Record, attributes or
        history made), then whole records only over the ``days`` that hold one."""
        with self._lock:
            rows = (
                self._db().execute(_OK_VALUES, (key, start.isoformat(), end.isoformat())).fetchall()
            )
        values: dict[date, Decimal] = {}
        hits: list[date] = []
        for text, number in rows:
            day = date.fromisoformat(text)
            values[day] = Decimal(number)
            if day in days:
                hits.append(day)
        if not hits:
            return values, {}
        ok = Status.OK
        return values, {
            r.date: r
            for r in self.query(key, hits[0], hits[-1], (*fields, "value"))
            if r.date in days and r.status is ok and r.value is not None
        }

    def due_pending(self, now: datetime, set_after: datetime | None = None) -> list[Record]:
        """PENDING records due at ``now`` (none set means due), and with ``set_after`` those
        whose next attempt is later than it (set by a clock ahead), from the partial index."""
        later = iso_utc(max(set_after, now)) if set_after is not None else None
        where = (
            f"{_NOT_OK} AND status = 'PENDING' AND (next_attempt_at IS NULL OR "
            "next_attempt_at <= ? OR next_attempt_at > ?) ORDER BY info_type, date"
        )
        return self._select(_ALL_FIELDS, where, (iso_utc(now), later))

    def due_pending_pages(
        self, now: datetime, set_after: datetime | None = None, page_size: int = 1000
    ) -> Iterator[list[Record]]:
        """:meth:`due_pending` a page at a time from the partial index, oldest next attempt
        first (a next attempt set by a clock ahead before every other, then none set), each
        query walking the index in its order from after the last row given, for no more rows
        than the page still lacks (no sort, no lock held between pages)."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        ranges: list[tuple[str, tuple[str, ...]]] = []
        if set_after is not None:
            ranges.append(("next_attempt_at > ?", (iso_utc(max(set_after, now)),)))
        ranges += [("next_attempt_at IS NULL", ()), ("next_attempt_at <= ?", (iso_utc(now),))]
        page: list[Record] = []
        for due, bound in ranges:
            after, params = "", bound
            reached: tuple[str, ...] = ()
            while True:
                # the partial index's own order (a WITHOUT ROWID table's index holds the key)
                want = page_size - len(page)
                got = self._select(
                    _ALL_FIELDS,
                    f"{_NOT_OK} AND status = 'PENDING' AND {due}{after} "
                    "ORDER BY next_attempt_at, info_type, date LIMIT ?",
                    (*params, want),
                )
                # An instant stored in text iso_utc did not write (a file edited by hand) can
                # sort after its own resume position: such a row, given already, ends the range.
                fresh = [r for r in got if _page_position(r) > reached]
                page += fresh
                if len(page) == page_size:
                    yield sorted(page, key=lambda r: (r.key, r.date))
                    page = []
                if len(got) < want or len(fresh) < len(got):
                    break
                reached = _page_position(got[-1])
                after = (
                    " AND (next_attempt_at, info_type, date) > (?, ?, ?)"
                    if len(reached) == 3
                    else " AND (info_type, date) > (?, ?)"
                )
                params = (*bound, *reached)
        if page:
            yield sorted(page, key=lambda r: (r.key, r.date))

    def count_status(self, status: Status) -> int:
        """How many PENDING or QUARANTINED records there are (a COUNT over the partial index)."""
        indexed_only(status)
        where = f"{_NOT_OK} AND status = ?"
        with self._lock:
            row = self._db().execute(f"SELECT COUNT(*) FROM items WHERE {where}", (status.value,))  # noqa: S608 - a constant condition
            return int(row.fetchone()[0])

    def status_stamp(self, status: Status) -> StatusStamp:
        """A COUNT and a MAX over the partial index by stamp."""
        indexed_only(status)
        with self._lock:
            row = self._db().execute(
                f"SELECT COUNT(*), MAX(updated_at) FROM items WHERE {_NOT_OK} AND status = ?",  # noqa: S608 - a constant condition
                (status.value,),
            )
            count, latest = row.fetchone()
        return StatusStamp(int(count), _instant_or_none(latest))

    def latest_status(self, status: Status, limit: int) -> list[Record]:
        """The newest ``limit`` records of the status, read in the index's order."""
        indexed_only(status)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        where = f"{_NOT_OK} AND status = ? ORDER BY updated_at DESC, info_type, date LIMIT ?"
        return self._select(LATEST_FIELDS, where, (status.value, limit))

    def status_summaries(self, status: Status) -> list[StatusSummary]:
        """Two GROUP BY queries over the partial index: per key, then per key and reason."""
        indexed_only(status)
        where = f"FROM items WHERE {_NOT_OK} AND status = ?"
        with self._lock:
            conn = self._db()
            totals = conn.execute(
                "SELECT info_type, COUNT(*), MIN(date), MAX(date), MAX(updated_at), "
                f"MIN(updated_at), MAX(retry_count) {where} GROUP BY info_type ORDER BY info_type",
                (status.value,),
            ).fetchall()
            by_reason = conn.execute(
                f"SELECT info_type, reason, COUNT(*) {where} "
                "GROUP BY info_type, reason ORDER BY info_type, MIN(date)",
                (status.value,),
            ).fetchall()
        reasons: dict[str, dict[str | None, int]] = {}
        for key, reason, n in by_reason:
            reasons.setdefault(key, {})[reason] = int(n)
        fromiso = date.fromisoformat
        return [
            StatusSummary(
                key=key,
                count=int(n),
                first=fromiso(first),
                last=fromiso(last),
                latest=_instant_or_none(latest),
                earliest=_instant_or_none(earliest),
                max_retry_count=int(retries),
                reasons=reasons[key],
            )
            for key, n, first, last, latest, earliest, retries in totals
        ]

    def quarantined(self) -> list[Record]:
        """Every QUARANTINED record, by key and date."""
        where = f"{_NOT_OK} AND status = 'QUARANTINED' ORDER BY info_type, date"
        return self._select(_ALL_FIELDS, where, ())

    def pending(self) -> list[Record]:
        """Every PENDING record, due or not, by key and date."""
        where = f"{_NOT_OK} AND status = 'PENDING' ORDER BY info_type, date"
        return self._select(_ALL_FIELDS, where, ())

    def stage_runs(self, stage: str, through: datetime, limit: int) -> list[RunLog]:
        """The stage's runs started by ``through``, newest first (the primary key's order)."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        with self._lock:
            fetched = (
                self._db()
                .execute(
                    "SELECT started_at, finished_at, counts FROM runs WHERE stage = ? "
                    "AND started_at <= ? ORDER BY started_at DESC LIMIT ?",
                    (stage, iso_utc(through) + RUNS_THROUGH_MARK, limit),
                )
                .fetchall()
            )
        return [_run_log(stage, *row) for row in fetched]

    def last_runs(self) -> list[RunLog]:
        """The latest run of each stage, by stage name."""
        with self._lock:
            # the start is the sort key's fixed-width head; among equal starts, the latest end
            fetched = (
                self._db()
                .execute(
                    "SELECT stage, started_at, finished_at, counts FROM (SELECT *, ROW_NUMBER() "
                    "OVER (PARTITION BY stage ORDER BY substr(started_at, 1, ?) DESC, "
                    "finished_at DESC, started_at DESC) AS n FROM runs) WHERE n = 1 ORDER BY stage",
                    (RUN_START_WIDTH,),
                )
                .fetchall()
            )
        return [_run_log(*row) for row in fetched]
