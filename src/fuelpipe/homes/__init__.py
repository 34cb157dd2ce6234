"""Composition roots: the only place that reads settings and builds clients, one per home.

``FUELPIPE_BACKEND`` picks the home: ``embedded`` (SQLite store and queue on this machine,
`homes/embedded.py`) or ``aws`` (DynamoDB and SQS, `homes/aws.py`). Entry points ask
:func:`open_home` for a wired :class:`~fuelpipe.stages.context.StageContext` and never choose.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fuelpipe.homes.settings import Settings, parse_now
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.source_rest import SourceRests


def empty_store_message(db: Path) -> str:
    """Why a reader refuses an empty file as its store (a mistyped FUELPIPE_DB, a file a
    failed copy left): opening it would write a new, empty store's schema into it."""
    return (
        f"FUELPIPE_DB {db} is an empty file, not a fuelpipe store: run `fuelpipe run` or "
        "`fuelpipe demo` to fill it, or check FUELPIPE_DB"
    )


def uncreatable_message(settings: Settings, error: BaseException) -> str | None:
    """One line naming FUELPIPE_DB and why the embedded store it names could not be created
    (a folder that cannot be made, a file SQLite cannot create there, as in /proc), rather
    than the system's or SQLite's words alone ("[Errno 2] ...", "unable to open database
    file"). None when the store is there, or on the AWS home."""
    import sqlite3

    db = settings.db
    if settings.backend != "embedded" or db.exists():
        return None
    folders = db.absolute().parents
    if isinstance(error, OSError) and error.filename and Path(error.filename).absolute() in folders:
        why = f"cannot create the folder {error.filename} ({error.strerror or error})"
    elif isinstance(error, sqlite3.OperationalError) and "unable to open" in str(error):
        said = _one_line(error.__cause__ or error)
        why = f"SQLite cannot create the file in {db.absolute().parent} ({said})"
    else:
        return None
    return f"FUELPIPE_DB {db}: cannot create the store: {why}; point FUELPIPE_DB elsewhere"


def damage_message(settings: Settings, error: BaseException) -> str | None:
    """One line naming the damaged file behind ``error`` when it is SQLite's "database disk
    image is malformed" (or another sign of a damaged file) on the embedded home: which file
    (the store or its queue), and what SQLite's check of its pages finds. None otherwise: a
    locked or read-only file (OperationalError) is no damage, nor is anything of the AWS
    home."""
    if not _may_be_damage(settings, error):
        return None
    from fuelpipe.homes.embedded import damaged_files

    return _damage_line(error, damaged_files(settings))


def damage_namer(settings: Settings, *, reopen: str) -> Callable[[BaseException], str | None]:
    """:func:`damage_message` for a reader that keeps the files open (the dashboard, a
    :class:`fuelpipe.Fuelpipe`), which meets the same damage on every read, in several of its
    layers; built once it has opened them. ``reopen`` says how it reads the files anew
    (``restart `fuelpipe dashboard```): SQLite reads a file restored in place, but a backup
    moved over it is a new file, which an open connection never reads (it goes on reading
    the damaged one it opened), so the advice is to restore, then reopen; and once a file was
    replaced, its line says so rather than finding nothing wrong with the new one.

    SQLite's check of the files reads each whole file, so its findings are kept while neither
    file changes (the same inode, size and modification time) and checked again once one
    does (restored in place, or replaced)."""
    from fuelpipe.homes.embedded import damaged_files, home_files

    opened = {f: _file_stamp(f) for f in home_files(settings)}
    lock = threading.Lock()
    kept: dict[tuple[tuple[int, int, int] | None, ...], list[tuple[Path, str]]] = {}

    def name(error: BaseException) -> str | None:
        if not _may_be_damage(settings, error):
            return None
        files = home_files(settings)
        stamp = tuple(_file_stamp(f) for f in files)
        with lock:
            found = kept.get(stamp)
        if found is None:
            found = damaged_files(settings)
            with lock:
                kept.clear()
                kept[stamp] = found
        replaced = [f for f, now in zip(files, stamp, strict=True) if _replaced(opened[f], now)]
        return _damage_line(error, found, reopen) or _replaced_line(error, replaced, reopen)

    return name


def _may_be_damage(settings: Settings, error: BaseException) -> bool:
    import sqlite3

    return (
        settings.backend == "embedded"
        and isinstance(error, sqlite3.DatabaseError)
        and not isinstance(error, sqlite3.OperationalError)
    )


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


def _replaced(opened: tuple[int, int, int] | None, now: tuple[int, int, int] | None) -> bool:
    """Whether another file is at the path than the one there when the reader opened it."""
    return opened is not None and now is not None and opened[0] != now[0]


def _one_line(text: object) -> str:
    # one line for every reader (the CLI flattens its own; the dashboard's 503 and log line do
    # not): SQLite's finding may be several ("*** in database main ***\nPage 7: ...")
    return " ".join(str(text).split())


def _damage_line(
    error: BaseException, found: list[tuple[Path, str]], reopen: str | None = None
) -> str | None:
    if not found:
        return None
    path, finding = found[0]
    then = f", then {reopen}" if reopen else ""
    if not _has_sqlite_header(path):
        # most often a mistyped path (a CSV, a text file), so the path comes before the backup;
        # SQLite's own words ("file is not a database") add nothing to this
        return (
            f"{path} is not a SQLite file (it does not begin with SQLite's header, as a "
            "fuelpipe store and its queue file do): check the path, or restore the file from "
            f"a backup{then}"
        )
    import sqlite3

    # SQLite's words, not the adapter's wrapping of them, which names the path again
    cause = error.__cause__
    said = _one_line(cause if isinstance(cause, sqlite3.DatabaseError) else error)
    checked = _one_line(finding)
    # a file cut short fails its opening and its check alike: their words once, not twice
    check = f"SQLite's check of its pages: {checked}"
    words = check if checked == said else f"{said}; {check}"
    return f"{path} is damaged ({words}): restore it from a backup{then}"


SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file (sqlite.org/fileformat.html)."""


def _has_sqlite_header(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:  # gone or unreadable since: SQLite's own finding stands
        return True


def _replaced_line(error: BaseException, replaced: list[Path], reopen: str) -> str | None:
    import sqlite3

    # SQLite's own damage errors ("database disk image is malformed", "file is not a
    # database") are the base class; its subclasses (a closed connection's ProgrammingError)
    # are no damage of the file opened, replaced or not
    if not replaced or type(error) is not sqlite3.DatabaseError:
        return None
    return (
        f"{replaced[0]} was replaced since it was opened, and the file opened is damaged "
        f"({_one_line(error)}): {reopen} to read the file now there"
    )


def build_home(
    settings: Settings,
    *,
    read_only: bool = False,
    queue_on_demand: bool = False,
    keeps_rests: bool = False,
    **wiring: Any,
) -> StageContext:
    """The context of the configured home; ``wiring`` (clock, sources, clock_meta, rests)
    goes to its builder.

    ``read_only``: the caller only reads, so the embedded home creates and writes no file
    (the AWS home's table and queues are never created by opening them).
    ``clock_meta``: the name of a meta entry in which a store keeps the instant it was filled
    at (`fuelpipe demo`'s clock); with no clock given and no --now/FUELPIPE_NOW, a store that
    has one runs on it: the stages' clock and the one the store stamps ``updated_at`` with.
    ``queue_on_demand``: the caller may never use the queue, so the embedded home opens its
    file at its first use (a damaged queue file does not stop a command that only reads the
    store); the AWS home looks its queues up as it is built, on demand or not.
    ``keeps_rests``: the context keeps the sources' Retry-After across requests (`run`,
    `watch`, `demo --live`: :func:`source_rests`, unless ``rests`` is given); otherwise none
    is kept.
    """
    if keeps_rests:
        wiring.setdefault("rests", source_rests())
    if settings.backend == "aws":
        from fuelpipe.homes.aws import build_context as build_aws

        return build_aws(settings, **wiring)
    from fuelpipe.homes.embedded import build_context as build_embedded

    return build_embedded(settings, read_only=read_only, queue_on_demand=queue_on_demand, **wiring)


def source_rests() -> SourceRests:
    """New sources' rests (stages/source_rest.py), timed on this machine's monotonic clock:
    real elapsed time, which neither a fixed nor an accelerated business clock is."""
    import time

    return SourceRests(monotonic=time.monotonic)


def stored_clock(store: Store, name: str) -> Clock | None:
    """The fixed clock at the instant ``store`` keeps under meta entry ``name``; None when it
    keeps none, or text that is not an instant."""
    from fuelpipe.adapters.clock import FixedClock

    stored = store.get_meta(name)
    if not stored:
        return None
    try:
        return FixedClock(parse_now(stored))
    except ValueError:
        return None


@contextmanager
def open_home(
    settings: Settings,
    *,
    read_only: bool = False,
    queue_on_demand: bool = False,
    keeps_rests: bool = False,
    **wiring: Any,
) -> Iterator[StageContext]:
    """The configured home's context (see :func:`build_home`), closed (clients, connections)
    when the block ends."""
    context = build_home(
        settings,
        read_only=read_only,
        queue_on_demand=queue_on_demand,
        keeps_rests=keeps_rests,
        **wiring,
    )
    try:
        yield context
    finally:
        context.close()


@contextmanager
def open_intraday(
    settings: Settings, *, read_only: bool = False, **wiring: Any
) -> Iterator[IntradayStore]:
    """The configured home's intraday store (the one `watch --intraday` fills), closed after;
    ``read_only`` (the dashboard): the embedded home's table is neither created nor written."""
    if settings.backend == "aws":
        from fuelpipe.homes.aws import build_intraday_store

        yield build_intraday_store(settings, **wiring)
        return
    from fuelpipe.adapters.intraday_store import SqliteIntradayStore

    # beside the records, as cli/watch.py opens it
    store = SqliteIntradayStore(settings.db, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


def alert_reader(settings: Settings, **wiring: Any) -> AlertReader:
    """The configured home's alert state, for reading the active alerts (the dashboard): the
    AWS home's item of the table (one GetItem), the embedded file's table opened read-only."""
    if settings.backend == "aws":
        from fuelpipe.homes.aws import build_alert_reader

        return build_alert_reader(settings, **wiring)
    from fuelpipe.adapters.alerts import SqliteAlertReader

    return SqliteAlertReader(settings.db)  # the file `watch` keeps its alert state in


def prepare_home(settings: Settings) -> None:
    """Create what the home needs before its first run (the AWS table and queues; nothing else)."""
    if settings.backend == "aws":
        from fuelpipe.homes.aws import create_resources

        create_resources(settings)
