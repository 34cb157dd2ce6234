"""The embedded queue: SQS semantics (visibility timeout, receipts, max receives) on SQLite.

One thing SQS cannot know and this queue can: whether the process that received a message is
still alive. A received message records its holder (:mod:`fuelpipe.adapters.queue_holders`),
and one whose holder process is gone (killed, crashed, ended without deleting it) is visible
again at once rather than after its visibility timeout; taking it back counts as a receive, so
max receives and the dead letters apply as before. A message deferred on purpose (``defer``)
is hidden until its delay ends whoever held it, and is held by no one (:data:`_DEFERRED`):
``held`` tells the three apart (held by a live process, deferred, its holder gone).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from fuelpipe.adapters.queue_holders import (
    holder_gone,
    holder_pid,
    holders_folder,
    token_of_this_process,
)
from fuelpipe.adapters.sqlite_store import ProcessConnection, write_transaction
from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import (
    DeadLetter,
    HeldMessages,
    Message,
    Queue,
    QueueDepth,
    purge_ids,
    too_many_receives,
)

MAX_BODY_BYTES = 256 * 1024
"""SQS's message size limit, enforced here too so the embedded home cannot accept more."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at TEXT NOT NULL,
    receipt TEXT,
    sent_at TEXT NOT NULL,
    holder TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    dead_at TEXT NOT NULL
);
"""
_HOLDER = "holder"
"""The column naming the holder process of a received message (its token): added to a queue
file made by an older fuelpipe; NULL: not received, given back, or received by an older
fuelpipe (hidden until its timeout ends, as before); :data:`_DEFERRED`: deferred."""
_DEFERRED = "deferred"
"""The holder of a deferred message: no process (not a token, so never taken for a gone
holder's: it is hidden until its delay ends). A fuelpipe of before this mark (NULL then) read
it as held by a process not known to be gone, which it hides the same."""

_HIDDEN = (
    "SELECT holder, COUNT(*), MAX(visible_at) FROM messages WHERE visible_at > ? GROUP BY holder"
)
_HIDDEN_NO_HOLDER = (
    "SELECT NULL, COUNT(*), MAX(visible_at) FROM messages WHERE visible_at > ? HAVING COUNT(*) > 0"
)
"""The hidden messages by holder (by none, in a file without the column: a read-only look at
one an older fuelpipe made): each one's count and when the last is visible again."""


@dataclass
class _Hidden:
    """The hidden messages, told apart (``_held_alive``)."""

    held: int = 0
    held_until: str | None = None
    deferred: int = 0
    deferred_until: str | None = None
    gone: int = 0
    gone_pids: list[int] = field(default_factory=list)


def _instant(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


class SqliteQueue(Queue):
    """The Queue port on a SQLite file (the store's file or its own), shared by processes."""

    def __init__(
        self,
        path: Path | str,
        clock: Clock,
        visibility_timeout: timedelta,
        max_receives: int = 5,
        *,
        read_only: bool = False,
    ) -> None:
        """``read_only``: only look (`dlq list`); a queue file that is not there reads as
        empty and is not created."""
        if visibility_timeout <= timedelta(0):
            raise ValueError("the visibility timeout must be positive")
        if max_receives < 1:
            raise ValueError("max_receives must be at least 1")
        self.path = Path(path)
        self.clock = clock
        self.visibility_timeout = visibility_timeout
        self.max_receives = max_receives
        self._lock = threading.RLock()
        self._holders = holders_folder(self.path)
        self._conn = ProcessConnection(self.path, _SCHEMA, read_only=read_only)
        self._has_holder = False
        if not read_only:
            self._add_holder_column()

    def _add_holder_column(self) -> None:
        """A queue file made before holders were kept gets their column (in flight in it:
        messages with no holder, hidden until their timeout ends)."""
        conn = self._db()
        if not self._holder_kept(conn):
            with write_transaction(conn):
                if not self._holder_kept(conn):
                    conn.execute(f"ALTER TABLE messages ADD COLUMN {_HOLDER} TEXT")  # a constant
        self._has_holder = True

    def _holder_kept(self, conn: sqlite3.Connection) -> bool:
        """Whether the queue file has the holder column (a read-only look at an older file
        may not: no message of it has a holder then)."""
        if not self._has_holder:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
            self._has_holder = _HOLDER in columns
        return self._has_holder

    def _db(self) -> sqlite3.Connection:
        return self._conn.get()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, bodies: Sequence[str]) -> int:
        """Send every body in one transaction; returns how many were sent."""
        if isinstance(bodies, str):
            raise TypeError("send takes a sequence of bodies, not one string")
        for body in bodies:
            if len(body.encode()) > MAX_BODY_BYTES:
                raise ValueError(f"a message body is over {MAX_BODY_BYTES} bytes")
        now = iso_utc(self.clock.now())
        rows = [(str(uuid.uuid4()), body, now, now) for body in bodies]
        self._write_many(
            "INSERT INTO messages (id, body, receive_count, visible_at, receipt, sent_at) "
            "VALUES (?, ?, 0, ?, NULL, ?)",
            rows,
        )
        return len(rows)

    def _write_many(self, sql: str, rows: Sequence[tuple[str, ...]]) -> None:
        """``sql`` once per row, in one write transaction."""
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                conn.executemany(sql, rows)

    def receive(self, max_messages: int = 10, *, wait_s: float = 0) -> list[Message]:
        """Receive up to ``max_messages`` visible messages and hide them for the timeout.

        A message already received ``max_receives`` times goes to the dead letters instead.
        ``wait_s`` is not waited: one read sees every visible message (see the port).
        Messages whose holder process is gone are visible (see the module's docstring); what
        this receives is held by this process.
        """
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        if not wait_s >= 0:
            raise ValueError("wait_s must be 0 or more")
        now = self.clock.now()
        now_s = iso_utc(now)
        hidden_until = iso_utc(now + self.visibility_timeout)
        got: list[Message] = []
        with self._lock:
            mine = token_of_this_process(self._holders)
            conn = self._db()
            # BEGIN IMMEDIATE: the pick and the hide happen under the write lock, so two
            # receivers (threads or processes) can never get the same message.
            with write_transaction(conn):
                for gone in self._gone_holders(conn, now_s, clean=True):
                    conn.execute(
                        "UPDATE messages SET visible_at = ?, receipt = NULL, holder = NULL "
                        "WHERE holder = ? AND visible_at > ?",
                        (now_s, gone, now_s),
                    )
                while len(got) < max_messages:
                    rows = conn.execute(
                        "SELECT id, body, receive_count FROM messages WHERE visible_at <= ? "
                        "ORDER BY visible_at, rowid LIMIT ?",
                        (now_s, max_messages - len(got)),
                    ).fetchall()
                    if not rows:
                        break
                    for message_id, body, count in rows:
                        if count >= self.max_receives:
                            self._move_to_dead(
                                conn, message_id, body, too_many_receives(count), count, now_s
                            )
                            continue
                        # The id in the receipt lets delete() find the row by primary key.
                        receipt = f"{message_id}.{uuid.uuid4().hex}"
                        conn.execute(
                            "UPDATE messages SET receive_count = ?, receipt = ?, visible_at = ?, "
                            "holder = ? WHERE id = ?",
                            (count + 1, receipt, hidden_until, mine, message_id),
                        )
                        got.append(Message(message_id, receipt, body, count + 1))
        return got

    def _gone_holders(self, conn: sqlite3.Connection, now: str, *, clean: bool) -> list[str]:
        """The holders of hidden messages whose processes are gone (``clean``: their files
        are removed as they are found so)."""
        return [
            token
            for token, _count, _until in self._hidden(conn, now)
            if token is not None and holder_gone(self._holders, token, clean=clean)
        ]

    def _hidden(self, conn: sqlite3.Connection, now: str) -> list[tuple[str | None, int, str]]:
        """The hidden messages by holder (None: deferred, or no holder kept): each holder's
        count of them and when the last is visible again."""
        sql = _HIDDEN if self._holder_kept(conn) else _HIDDEN_NO_HOLDER
        return [(token, int(count), until) for token, count, until in conn.execute(sql, (now,))]

    def _held_alive(self, conn: sqlite3.Connection, now: str) -> _Hidden:
        """The hidden messages told apart: held by a live holder (or none known), deferred,
        and those whose holder is gone (visible, as the next receive takes them)."""
        hidden = _Hidden()
        for token, count, last in self._hidden(conn, now):
            if token == _DEFERRED:
                hidden.deferred += count
                hidden.deferred_until = max(hidden.deferred_until or last, last)
            elif token is not None and holder_gone(self._holders, token, clean=False):
                hidden.gone += count
                pid = holder_pid(self._holders, token)
                if pid is not None:
                    hidden.gone_pids.append(pid)
            else:
                hidden.held += count
                hidden.held_until = max(hidden.held_until or last, last)
        return hidden

    def delete(self, receipts: Sequence[str]) -> None:
        """Delete messages whose receipt is still the latest; stale receipts do nothing."""
        rows = [(r.partition(".")[0], r) for r in receipts]
        if not rows:
            return
        self._write_many("DELETE FROM messages WHERE id = ? AND receipt = ?", rows)

    def release(self, receipts: Sequence[str]) -> None:
        """Make messages visible now, if their receipt is still the latest."""
        rows = [(iso_utc(self.clock.now()), r.partition(".")[0], r) for r in receipts]
        if not rows:
            return
        self._write_many(
            "UPDATE messages SET visible_at = ?, receipt = NULL, holder = NULL "
            "WHERE id = ? AND receipt = ?",
            rows,
        )

    def defer(self, receipts: Sequence[str], delay: timedelta) -> None:
        """Hide messages until ``delay`` from now, if their receipt is still the latest (it
        stays theirs: the holder may still delete them). Hidden on purpose, held by no one
        (:data:`_DEFERRED`), they no longer come back sooner when their holder's process is
        gone."""
        until = iso_utc(self.clock.now() + max(delay, timedelta(0)))
        rows = [(until, _DEFERRED, r.partition(".")[0], r) for r in receipts]
        if not rows:
            return
        self._write_many(
            "UPDATE messages SET visible_at = ?, holder = ? WHERE id = ? AND receipt = ?", rows
        )

    @staticmethod
    def _move_to_dead(
        conn: sqlite3.Connection, message_id: str, body: str, reason: str, count: int, now: str
    ) -> None:
        conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
        conn.execute(
            "INSERT OR REPLACE INTO dead_letters (id, body, reason, receive_count, dead_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (message_id, body, reason, count, now),
        )

    def dead_letter(self, message: Message, reason: str) -> None:
        """Move a received message to the dead letters with its reason."""
        now = iso_utc(self.clock.now())
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                self._move_to_dead(
                    conn, message.message_id, message.body, reason, message.receive_count, now
                )

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Every dead letter, oldest first (the ``limit`` oldest)."""
        with self._lock:
            rows = (
                self._db()
                .execute(
                    "SELECT id, body, reason, receive_count, dead_at FROM dead_letters "
                    "ORDER BY dead_at, id LIMIT ?",
                    (-1 if limit is None else limit,),
                )
                .fetchall()
            )
        return [
            DeadLetter(message_id, body, reason, count, parse_iso(dead_at))
            for message_id, body, reason, count, dead_at in rows
        ]

    def redrive(self) -> int:
        """Move every dead letter back to the queue, visible now, with a fresh receive count."""
        now = iso_utc(self.clock.now())
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                moved = conn.execute(
                    "INSERT OR REPLACE INTO messages "
                    "(id, body, receive_count, visible_at, receipt, sent_at) "
                    "SELECT id, body, 0, ?, NULL, ? FROM dead_letters ORDER BY dead_at, id",
                    (now, now),
                ).rowcount
                conn.execute("DELETE FROM dead_letters")
        return moved

    def depth(self) -> QueueDepth:
        """Visible, in-flight (received, still hidden) and dead-lettered message counts; those
        whose holder process is gone are visible."""
        now = iso_utc(self.clock.now())
        with self._lock:
            conn = self._db()
            (visible,) = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE visible_at <= ?", (now,)
            ).fetchone()
            hidden = self._held_alive(conn, now)
            (dead,) = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
        return QueueDepth(
            visible=visible + hidden.gone, in_flight=hidden.held + hidden.deferred, dead=dead
        )

    def dead_letter_count(self) -> int:
        """The dead letters' count (one COUNT)."""
        with self._lock:
            (dead,) = self._db().execute("SELECT COUNT(*) FROM dead_letters").fetchone()
        return int(dead)

    def held(self) -> HeldMessages:
        """Messages received and not deleted, and when the last one is visible again, apart
        from those deferred (and when the last of them is); those whose holder process is
        gone are visible (the next receive takes them back): counted apart, with the pids
        their holders had."""
        now = iso_utc(self.clock.now())
        with self._lock:
            hidden = self._held_alive(self._db(), now)
        return HeldMessages(
            hidden.held,
            _instant(hidden.held_until),
            deferred=hidden.deferred,
            deferred_until=_instant(hidden.deferred_until),
            orphaned=hidden.gone,
            orphaned_pids=tuple(sorted(set(hidden.gone_pids))),
        )

    def purge_dead_letters(self, *, ids: Collection[str] | None = None) -> int:
        """Delete every dead letter for good, or those whose id is in ``ids``, in one
        transaction: one of ``ids`` not there is gone already (redriven or purged since it was
        read), and is not counted."""
        named = purge_ids(ids)
        with self._lock:
            conn = self._db()
            with write_transaction(conn):
                if named is None:
                    return int(conn.execute("DELETE FROM dead_letters").rowcount)
                deleted = conn.executemany(
                    "DELETE FROM dead_letters WHERE id = ?", [(i,) for i in sorted(named)]
                ).rowcount
        return int(deleted)
