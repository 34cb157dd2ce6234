"""``StationLake``: ingest ANP station files into partitioned Parquet and query them.

One ingest reads each CSV once (Polars' reader; DuckDB's, which reports malformed records by
line, when the file has any), validates every record column-wise with the domain's rules
(``columns.py``), keeps one record per (CNPJ, product, collection date), and writes each
touched (product, month) partition: a new one as it is, an existing one merged with what the
lake holds. The newest ingested version of a record wins (ANP republishes corrected values: the
rolling 4-week file, then the monthly one), and every value it displaces is listed in the
version's ``revised`` report, except that a rolling file's record never displaces a
consolidated file's (which kind a file is, its collection days say first:
``domain/station_files.py``); re-ingesting a file changes nothing, and a partition nobody adds
to or corrects is not rewritten. The manifest and the reports are keyed by the file's source
(its URL's path, or its resolved path), not its name: ANP's monthly files share names across year
folders. Queries run on DuckDB.
"""

# ruff: noqa: S608 - SQL is composed here from our own constants and quoted literals (_sql_str); user values are bound parameters

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fuelpipe.adapters.lake.columns import (
    TEXT_COLUMNS,
    Collected,
    LakeUnavailable,
    Malformed,
    Parsed,
    batches_fast,
    cnpj_digits,
    collect,
    count_lines,
    cut_last_record,
    file_lines,
    lines_merged,
    polars,
    read_exact,
    read_lines,
    sql_text,
    unended_tail,
    without_trailing_fields,
)
from fuelpipe.adapters.lake.formats import (
    BOM,
    MAX_UNPACKED,
    CsvInput,
    LineCount,
    UnreadableFile,
    csv_inputs,
)
from fuelpipe.adapters.lake.queries import (
    FOLDED_TOWN,
    QUERIES,
    fuel_windows,
    window_months,
    window_params,
)
from fuelpipe.adapters.lake.storage import (
    INCOMPLETE,
    LAKE_LAYOUT,
    LAYOUT,
    PART_FILE,
    layout_of,
)
from fuelpipe.domain.station_files import (
    CONSOLIDATED,
    KINDS,
    ROLLING,
    UNDECIDED,
    FileKind,
    file_kind,
    kind_by_name,
    resumed_kind,
)
from fuelpipe.domain.stations import (
    ANP_COLUMN_KEYS,
    ANP_COLUMNS,
    BadRow,
    column_key,
    lake_window,
)
from fuelpipe.domain.text import clip, folded
from fuelpipe.failpoints import Failpoints
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.lake import LakeStorage, LakeWriteLock

if TYPE_CHECKING:
    import duckdb
    import polars as pl

# The partition files' columns (product and month are the partition's path, not in the file).
FILE_COLUMNS = (
    *TEXT_COLUMNS,
    *("collected", "week", "price", "purchase_price", "unit", "brand", "source_file"),
)
_ROW_GROUP = 100_000
BATCH_ROWS = 250_000  # records read and validated at a time (the text is not kept whole)
Progress = Callable[[str, int], None]


def report_name(name: str) -> str:
    """A file's name fit for a report's name in the lake: anything but letters, digits and
    ``-_.`` as ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def report_stem(name: str, digest: str) -> str:
    """The stem of one ingested version's reports (``<stem>.rejected.txt``,
    ``<stem>.differing.txt``, ``<stem>.revised.txt``): the file's name and the first 12 hex
    digits of its content's SHA-256, so that two files of one name (ANP's year folders) and two
    versions of one file (the rolling file, republished weekly) each keep their own."""
    return f"{report_name(name)}.{digest[:12]}"


def _is_url(source: str) -> bool:
    return "://" in source


def source_key(source: str) -> str:
    """What the manifest knows a file from ``source`` by: a URL's path and query (the same
    path from another host or port is the same file: the demo's replay listens on a new port
    each run, and ANP has moved hosts before), or the file's resolved path."""
    if not _is_url(source):
        return source
    parts = urlsplit(source)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def by_source(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with its files keyed by their source (:func:`source_key`), each entry
    with its display ``name``. A manifest written before (files keyed by their bare name) is
    brought to it in place: an entry whose ``source`` is a URL or an absolute path is keyed by
    it; one given as a relative path (its folder unknown now) keeps its name as its key, and an
    ingest of a file of that name and content adopts it (``_ingest_path``). An entry already
    keyed by that source (written since) is newer and stays."""
    files: dict[str, Any] = manifest["files"]
    for key in [k for k, e in files.items() if "name" not in e]:
        entry = files.pop(key)
        source = entry.get("source") or ""
        new = source_key(source) if _is_url(source) or Path(source).is_absolute() else key
        files.setdefault(new, {**entry, "name": key})
    return manifest


_REVISED = ("price", "purchase_price", *(c for c in TEXT_COLUMNS if c != "cnpj"), "unit", "brand")
"""The columns of a record a later version may correct (the key, the week it implies and the
file it came from aside): when any differs, the newest version's record replaces the lake's."""


_PROTECTION = {ROLLING: 0, UNDECIDED: 1, CONSOLIDATED: 2}
"""How far a record from a file of each kind is kept from a rolling or undecided file's
(``_revised``): a rolling file's record not at all, the others wholly."""


def _more_protected(kind: str, other: str | None) -> str:
    return kind if other is None else max(kind, other, key=_PROTECTION.__getitem__)


def file_kinds(files: dict[str, Any]) -> dict[str, str]:
    """The kind of the files the lake's records came from, by the name they carry
    (``source_file``: a CSV's name), from the manifest's ``files`` (each part's ``kind``).
    A name ingested as two kinds (two sources, or two versions) has the one whose records are
    kept the most. Files recorded before kinds were (no ``kind``) are not listed: ``held_kind``
    gives them the kind of their name, the rule of that time."""
    kinds: dict[str, str] = {}
    for entry in files.values():
        for part in entry.get("parts", []):
            kind, name = part.get("kind"), part.get("name")
            if kind in _PROTECTION and name:
                kinds[name] = _more_protected(kind, kinds.get(name))
    return kinds


def _marks_of(marks: dict[str, Any], key: str, digest: str) -> list[dict[str, Any]]:
    """The incomplete marks of this content: the one of this source first, then other
    sources' of the same content."""
    mine = sorted(marks.values(), key=lambda m: m is not marks.get(key))
    return [m for m in mine if m.get("sha256") == digest]


def _resumed_kind(marks: dict[str, Any], key: str, digest: str) -> str | None:
    """The kind an interrupted ingest of this content was given (``--kind``), by its incomplete
    mark: the one of this source first, else another source's of the same content. None when
    none was given, or the mark is older than marks carrying it."""
    for mark in _marks_of(marks, key, digest):
        if mark.get("kind") in KINDS:
            return str(mark["kind"])
    return None


def _resumed_decision(marks: dict[str, Any], key: str, digest: str, at: int) -> FileKind | None:
    """The kind an interrupted ingest of this content, given none, decided for its CSV at
    ``at`` (its place in the file: a plain CSV's 0, a ZIP's members in order), by its incomplete
    mark (``decided``), as :func:`_resumed_kind` finds one. None when it decided none (it
    stopped before that CSV), or the mark is older than marks carrying what was decided."""
    for mark in _marks_of(marks, key, digest):
        decided = (mark.get("decided") or {}).get(str(at)) or {}
        if decided.get("kind") in _PROTECTION:
            return FileKind(str(decided["kind"]), str(decided.get("why") or ""))
    return None


def _decider(
    kind: str | None, marks: dict[str, Any], key: str, digest: Callable[[], str]
) -> Callable[[Collection[date], str, int], FileKind]:
    """What decides the kind of the file from ``key``'s CSV at ``at`` (``file_kind``): ``kind``
    when given, else the kind an interrupted ingest of this content (``digest``, asked for only
    when some mark may say) was given, else what its days say, except that what an interrupted
    ingest given no kind decided stands (``resumed_kind``)."""

    def decide(days: Collection[date], name: str, at: int) -> FileKind:
        if kind is not None or not marks:
            return file_kind(days, name, kind)
        left = _resumed_kind(marks, key, digest())
        fresh = file_kind(days, name, left, resumed=left is not None)
        decided = None if left is not None else _resumed_decision(marks, key, digest(), at)
        return fresh if decided is None else resumed_kind(fresh, decided)

    return decide


def held_kind(kinds: dict[str, str], name: str) -> str:
    """The kind of the file a record of the lake came from (its ``source_file``): as recorded
    (``file_kinds``), else by its name as before kinds were recorded (ANP's rolling name, or
    consolidated)."""
    return kinds.get(name) or (ROLLING if kind_by_name(name) == ROLLING else CONSOLIDATED)


def _revised(
    product: str,
    held: pl.DataFrame,
    offered: pl.DataFrame,
    *,
    kind: str = CONSOLIDATED,
    kinds: dict[str, str] | None = None,
    where: tuple[str, FileLines] | None = None,
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """The keys of the ``offered`` records whose key ``held`` holds with another value in a
    column of ``_REVISED``, and a line for each naming every value displaced (the lake's, and
    the file it came from), its replacement and the CSV's line holding it (``where``: the
    CSV's name and its file lines by record number, as a bad row is named): nothing a source
    published is dropped without a word. The offered file is of ``kind``: a rolling
    (provisional) one, or one of undecided kind, displaces only a record the lake holds from a
    rolling file (``held_kind`` by ``kinds``); its other differences come back as the third
    list, lines saying what the file published that the lake does not keep, and why (with the
    CSV's line too)."""
    plr = polars()
    key = ["cnpj", "collected"]
    as_text = [plr.col(c).cast(plr.String) for c in _REVISED]
    numbered = "line" in offered.columns and where is not None
    pairs = offered.select(*key, *as_text, *(["line"] if numbered else [])).join(
        held.select(*key, *as_text, plr.col("source_file").cast(plr.String)),
        on=key,
        suffix="_held",
    )
    differ = pairs.filter(
        plr.any_horizontal(plr.col(c).ne_missing(plr.col(f"{c}_held")) for c in _REVISED)
    )

    def on_line(rows: pl.DataFrame) -> Callable[[dict[str, Any]], str]:
        """Each row's ``<csv> line <n>; `` (nothing without ``where``), its lines mapped at
        once for all ``rows``."""
        if not numbered or where is None or rows.height == 0:
            return lambda _: ""
        name, lines_of = where
        mapped = lines_of(rows.get_column("line").to_list())
        return lambda r: f"{name} line {mapped[r['line']]}; "

    kept: list[str] = []
    if kind != CONSOLIDATED and differ.height:
        sources = differ.get_column("source_file").unique().to_list()
        of = {n: held_kind(kinds or {}, n) for n in sources}
        final = differ.filter(plr.col("source_file").is_in([n for n in of if of[n] != ROLLING]))
        differ = differ.join(final.select(key), on=key, how="anti")
        this = "a provisional rolling file" if kind == ROLLING else "a file of undecided kind"
        at = on_line(final)
        kept = [
            f"{product} {r['cnpj']} {r['collected']}: "
            + "; ".join(f"{c} {r[c]} not kept" for c in _REVISED if r[c] != r[f"{c}_held"])
            + f" ({at(r)}{this}; the lake keeps the {of[r['source_file']]} {r['source_file']})"
            for r in final.iter_rows(named=True)
        ]

    def shown(value: str | None) -> str:
        return "-" if value is None else repr(value) if value.strip() != value else value

    lines = []
    at = on_line(differ)
    for r in differ.iter_rows(named=True):
        changes = "; ".join(
            f"{c} {shown(r[f'{c}_held'])} replaced by {shown(r[c])}"
            for c in _REVISED
            if r[c] != r[f"{c}_held"]
        )
        lines.append(
            f"{product} {r['cnpj']} {r['collected']}: {changes} "
            f"({at(r)}the lake's value came from {r['source_file']})"
        )
    return differ.select(key), lines, kept


def _differing(product: str, offered: pl.DataFrame, kept: pl.DataFrame, where: str) -> list[str]:
    """One line per ``offered`` record whose key is in ``kept`` with other prices: what the
    source published that the lake does not keep (the kept record wins)."""
    plr = polars()
    prices = ["price", "purchase_price"]
    pairs = offered.select("cnpj", "collected", *prices).join(
        kept.select("cnpj", "collected", *prices), on=["cnpj", "collected"], suffix="_kept"
    )
    differ = pairs.filter(
        plr.any_horizontal(plr.col(p).ne_missing(plr.col(f"{p}_kept")) for p in prices)
    )

    return [
        f"{product} {r['cnpj']} {r['collected']}: sale {_price(r['price'])} purchase "
        f"{_price(r['purchase_price'])} not kept; {where} holds sale {_price(r['price_kept'])} "
        f"purchase {_price(r['purchase_price_kept'])}"
        for r in differ.iter_rows(named=True)
    ]


def _repeated(
    product: str, later: pl.DataFrame, kept: pl.DataFrame, name: str, lines: FileLines
) -> list[str]:
    """One line per ``later`` record of the CSV ``name`` whose key an earlier record of it
    (in ``kept``) holds with other prices, naming both file lines (``lines`` maps record
    numbers to them), as a ZIP member's repeat names both members' lines."""
    plr = polars()
    prices = ["price", "purchase_price"]
    pairs = later.select("cnpj", "collected", *prices, "line").join(
        kept.select("cnpj", "collected", *prices, "line"),
        on=["cnpj", "collected"],
        suffix="_kept",
    )
    rows = list(
        pairs.filter(
            plr.any_horizontal(plr.col(p).ne_missing(plr.col(f"{p}_kept")) for p in prices)
        ).iter_rows(named=True)
    )
    at = lines([r["line"] for r in rows] + [r["line_kept"] for r in rows]) if rows else {}
    return [
        f"{product} {r['cnpj']} {r['collected']}: sale {_price(r['price'])} purchase "
        f"{_price(r['purchase_price'])} not kept ({name} line {at[r['line']]}); an earlier row "
        f"of the file, line {at[r['line_kept']]}, holds sale {_price(r['price_kept'])} "
        f"purchase {_price(r['purchase_price_kept'])}"
        for r in rows
    ]


def _price(price: float | None) -> str:
    """A price in a differing line (``-``: none)."""
    return "-" if price is None else f"{price}"


FileLines = Callable[[Iterable[int]], dict[int, int]]
"""The file line each of a CSV's record numbers (its records' ``line``) starts on."""


@dataclass
class _Members:
    """The records each CSV of one file (a ZIP's members, in archive order) offered in this
    ingest, by partition: a ZIP is one file, so a later member's record of a key an earlier
    member offered is a duplicate inside the file, as a repeated line of one CSV is; the
    earlier member's wins, and other prices are listed (``differing``) naming both members and
    lines. ``csvs``: how many CSVs the file has (the last one's records are not held)."""

    csvs: int
    held: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict)
    lines: dict[str, FileLines] = field(default_factory=dict)
    """Each CSV's ``FileLines``, by its name (asked only for the lines listed)."""

    def split(
        self, product: str, month: str, offered: pl.DataFrame, name: str, at: int
    ) -> tuple[pl.DataFrame, int, list[str]]:
        """``offered`` (the file's ``at``-th CSV's records of the partition, one per key)
        without the keys an earlier CSV of the file offered, how many those were, and a line
        for each of them whose prices differ; the rest are held for the CSVs after it."""
        plr = polars()
        key = ["cnpj", "collected"]
        earlier = self.held.get((product, month))
        listed: list[str] = []
        repeats = 0
        if earlier is not None:
            repeated = offered.join(earlier.select(key), on=key, how="semi")
            repeats = repeated.height
            if repeats:
                offered = offered.join(earlier.select(key), on=key, how="anti")
                listed = self._differing(product, repeated, earlier, name)
        if at < self.csvs - 1:  # (a file of one CSV holds nothing)
            mine = offered.select(
                *key, "price", "purchase_price", "line", member=plr.lit(name, plr.Categorical)
            )
            self.held[(product, month)] = mine if earlier is None else plr.concat([earlier, mine])
        return offered, repeats, listed

    def _differing(
        self, product: str, repeated: pl.DataFrame, earlier: pl.DataFrame, name: str
    ) -> list[str]:
        plr = polars()
        prices = ["price", "purchase_price"]
        pairs = repeated.select("cnpj", "collected", *prices, "line").join(
            earlier, on=["cnpj", "collected"], suffix="_kept"
        )
        rows = list(
            pairs.filter(
                plr.any_horizontal(plr.col(p).ne_missing(plr.col(f"{p}_kept")) for p in prices)
            ).iter_rows(named=True)
        )
        mine = self.lines[name](r["line"] for r in rows) if rows else {}
        theirs = {
            member: self.lines[member](r["line_kept"] for r in rows if r["member"] == member)
            for member in {r["member"] for r in rows}
        }
        return [
            f"{product} {r['cnpj']} {r['collected']}: sale {_price(r['price'])} purchase "
            f"{_price(r['purchase_price'])} not kept ({name} line {mine[r['line']]}); an "
            f"earlier member of the archive, {r['member']} line "
            f"{theirs[r['member']][r['line_kept']]}, holds sale {_price(r['price_kept'])} "
            f"purchase {_price(r['purchase_price_kept'])}"
            for r in rows
        ]


def canonical(held: pl.DataFrame, product: str) -> tuple[pl.DataFrame, int, list[str]] | None:
    """A partition's rows as today's layout keeps them, or None when they are so already: each
    CNPJ its 14 digits (``cnpj_digits``, format only: a partition written before the CNPJ was
    normalised holds ANP's ``12.345.678/0001-95``; a value that is not 1 to 14 digits is kept
    as it was written, and so is one whose check digits fail: the lake drops no published
    value), and one row per (CNPJ, collection day), the first in the file winning as in an
    ingest (the old layout kept ``12.345.678/0001-95`` and ``12345678000195`` of one day as two
    rows). Also the rows dropped as duplicates, and a line for each whose prices differ."""
    plr = polars()
    key = ["cnpj", "collected"]
    text = plr.col("cnpj").cast(plr.String)
    fixed = held.with_columns(plr.coalesce(cnpj_digits(checked=False), text).alias("cnpj"))
    changed = fixed.select((text != held.get_column("cnpj").cast(plr.String)).any()).item()
    twice = fixed.select(plr.struct(key).is_duplicated().any()).item()
    if not changed and not twice:
        return None
    if not twice:
        return fixed, 0, []
    unique = fixed.unique(subset=key, keep="first", maintain_order=True)
    later = fixed.filter(plr.struct(key).is_first_distinct().not_())
    differing = _differing(product, later, unique, "an earlier row of the partition")
    return unique, fixed.height - unique.height, differing


@dataclass
class MigrationReport:
    """What one ``StationLake.migrate`` did: the lake's layout before and after, the partitions
    it looked at and those it rewrote, and the rows it dropped as duplicates (the same station
    and day under two spellings of its CNPJ) with a line for each whose prices differed."""

    layout_before: int
    layout: int
    partitions: int = 0
    rewritten: list[str] = field(default_factory=list)
    duplicates: int = 0
    differing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "differing": len(self.differing)}  # (the lines are in a report)


MIGRATION_REPORT = f"migrate-layout-{LAKE_LAYOUT}.differing.txt"
"""The lake's ``_reports/`` file listing the duplicates a migration dropped with other prices."""


def connect(
    threads: int = 2, memory_limit: str = "768MB", temp_directory: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded threads and memory; one clear error without the extra."""
    try:
        import duckdb
    except ImportError:
        from fuelpipe.install_hint import install_hint

        hint = install_hint("lake")
        raise LakeUnavailable(f"the station lake needs DuckDB: {hint}") from None
    config: dict[str, Any] = {"threads": threads, "memory_limit": memory_limit}
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)  # spill here past the memory limit
    con = duckdb.connect(config=config)
    con.execute("SET preserve_insertion_order = true")
    return con


@dataclass
class FileReport:
    """What one ingested CSV gave."""

    name: str
    fmt: str
    rows: int = 0
    written: int = 0
    duplicates_in_file: int = 0
    already_in_lake: int = 0
    """Records the lake holds already, the same in every column of ``_REVISED``."""
    replaced: int = 0
    """Records the lake held with another value (a corrected version): this file's replace
    them, and ``revised`` lists each displaced value."""
    rejected: int = 0
    differing: list[str] = field(default_factory=list)
    """Duplicates inside the file whose prices differ from the record kept (the first; a ZIP's
    members are one file, the first member's record kept): the kept one wins, and each of
    these is listed, never dropped without a word; and the records
    of a rolling or undecided file that differ from a record the lake keeps (``not_kept``)."""
    not_kept: int = 0
    """Of ``differing``, the records differing from one the lake keeps from a consolidated
    or undecided file, which this file (rolling, or undecided) does not displace."""
    revised: list[str] = field(default_factory=list)
    """One line per record of the lake this file's replaced: the values displaced."""
    reports: list[str] = field(default_factory=list)
    """The lake's ``_reports/`` files this version's ingest wrote (rejected, differing,
    revised; named by ``report_stem``)."""
    bad: list[BadRow] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)
    skipped: str | None = None
    already_ingested: str | None = None
    """The file's content was ingested before, under this name (its own, or another file's):
    nothing was read or written; ``skipped`` says so."""
    refused: bool = False
    """The file is not ANP station data (unreadable, empty, or no CSV in it has ANP's header;
    ``skipped`` says why): nothing of it is written or recorded in the manifest, so the same
    name is read afresh next time."""
    unreadable: bool = False
    """A ZIP member whose bytes could not be read (bad CRC, password, truncated): the file's
    other members are ingested, but the file is not recorded as ingested, so the next run
    reads it again (its good members then change nothing)."""
    kind: str | None = None
    """``rolling``, ``consolidated`` or ``undecided`` (``domain/station_files.py``), once
    read: what its records may displace, and whether a rolling file's may displace them."""
    kind_why: str | None = None
    """What decided ``kind``, in words (its collection days, ANP's name, or ``--kind``)."""
    cut_line: int | None = None
    """The line of the CSV's last record when the file ends inside it, with no line end, and
    it cannot be proven whole (``cut_short``: a download or copy cut short ends so, and a flag
    cut short is still a flag): that record is rejected with this line, not written. A later
    ingest of the whole file (another SHA-256: a new version) writes it."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.fmt,
            "rows": self.rows,
            "written": self.written,
            "duplicates_in_file": self.duplicates_in_file,
            "already_in_lake": self.already_in_lake,
            "replaced": self.replaced,
            "rejected": self.rejected,
            "differing": len(self.differing),
            "not_kept": self.not_kept,
            "revised": len(self.revised),
            "reports": self.reports,
            "partitions": self.partitions,
            "skipped": self.skipped,
            "already_ingested": self.already_ingested,
            "refused": self.refused,
            "unreadable": self.unreadable,
            "kind": self.kind,
            "kind_why": self.kind_why,
            "cut_line": self.cut_line,
            "bad_rows": [str(b) for b in self.bad[:20]],
        }

    def accounted(self) -> bool:
        """Every data row is written, a correction of a stored one, a duplicate, already stored
        or rejected."""
        return self.rows == (
            self.written
            + self.replaced
            + self.duplicates_in_file
            + self.already_in_lake
            + self.rejected
        )


class StationLake:
    """The station-level lake on a storage (local directory or S3), with DuckDB as engine."""

    def __init__(
        self,
        storage: LakeStorage,
        clock: Clock,
        *,
        threads: int = 2,
        memory_limit: str = "768MB",
        workdir: Path | None = None,
        batch_rows: int = BATCH_ROWS,
        max_unpacked: int = MAX_UNPACKED,
        failpoints: Failpoints | None = None,
    ) -> None:
        """``max_unpacked``: the bytes one file's archives may unpack in all (a ZIP bomb);
        ``failpoints``: the crash tests' (``stations.after_partition``,
        ``stations.after_migrate_partition``)."""
        self.storage = storage
        self.failpoints = failpoints or Failpoints()
        self.max_unpacked = max_unpacked
        self.clock = clock
        self.threads = threads
        self.memory_limit = memory_limit
        self.workdir = workdir
        self.batch_rows = batch_rows
        self._db: duckdb.DuckDBPyConnection | None = None
        self._mirror: Path | None = None
        self._drop_mirror: weakref.finalize[Any, Any] | None = None
        self._lock = threading.Lock()
        self._writer: LakeWriteLock | None = None
        self.migrated: MigrationReport | None = None
        """The migration an ingest ran first (the lake was of an older layout), if any."""

    @contextmanager
    def writing(self, command: str = "fuelpipe stations ingest") -> Iterator[None]:
        """Hold the lake's write lock while inside (``command`` names this holder to an ingest
        refused): LakeBusy, naming the holder, when another ingest holds it. Re-entrant: each
        ingest inside refreshes it (extends an S3 lock's expiry). Queries never take it."""
        if self._writer is not None:
            self._writer.refresh()
            yield
            return
        lock = self.storage.write_lock(self.clock, command)
        lock.acquire()
        self._writer = lock
        try:
            yield
        finally:
            self._writer = None
            lock.release()

    @contextmanager
    def _scratch(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="fuelpipe-lake-", dir=self.workdir) as tmp:
            yield Path(tmp)

    # --- ingest --------------------------------------------------------------------------
    def ingest_path(
        self,
        path: Path,
        name: str | None = None,
        *,
        source: str | None = None,
        force: bool = False,
        progress: Progress | None = None,
        kind: str | None = None,
        migrating: Callable[[int, int], None] | None = None,
    ) -> list[FileReport]:
        """Ingest one downloaded file (any format ANP has used); one report per CSV in it.

        Each CSV's kind (rolling or consolidated: what its records may displace) is ``kind``
        when given, else what its collection days say, else ANP's name for it, else undecided
        (``domain/station_files.py``; each report's ``kind`` and ``kind_why``).

        A file whose content was ingested before is skipped unless ``force``; ingesting it
        again would change nothing anyway. A file that is not ANP station data (unreadable,
        empty, or without one CSV carrying ANP's header) gives one report with ``refused`` set
        and is not recorded. A ZIP some of whose members are station data is ingested; the
        other members are reported as skipped. When one of them could not be read at all (a
        bad CRC, a password, a truncated member) the file is not recorded either (its rejected
        and differing lines still are), so that it is read again next time.

        It holds the lake's write lock throughout (see ``writing``): LakeBusy, before anything
        is read, when another ingest holds it. A lake of an older layout is migrated first
        (``migrate``), ``migrating`` told its progress as ``migrate``'s is.
        """
        with self.writing():
            self._migrate(migrating)  # a lake of an older layout is brought to today's first
            return self._ingest_path(
                path, name, source=source, force=force, progress=progress, kind=kind
            )

    def migrate(self, progress: Callable[[int, int], None] | None = None) -> MigrationReport:
        """Rewrite the partitions of a lake written in an older layout (``LAKE_LAYOUT``) in
        today's (``canonical``), then record the layout in the manifest: nothing to do in a lake
        of today's layout. Each partition is written whole to a new file that then replaces
        the old one (an atomic rename locally, one PUT in S3), and the manifest is written
        last, so a migration stopped anywhere loses and duplicates no row: a partition is
        either old or migrated, and the next migration (or ingest) finds the old ones by their
        content and rewrites only those. Holds the write lock (LakeBusy during an ingest).
        ``progress`` is told the partitions read and their number after each (the 20M-row
        synthetic lake's 1,645 took two minutes)."""
        with self.writing("fuelpipe stations migrate"):
            return self._migrate(progress)

    def _migrate(self, progress: Callable[[int, int], None] | None = None) -> MigrationReport:
        before = layout_of(self.storage.read_manifest())
        report = MigrationReport(before, max(before, LAKE_LAYOUT))
        if before >= LAKE_LAYOUT:
            return report
        plr = polars()
        with self._scratch() as scratch:
            partitions = self.storage.partitions()
            if not partitions:  # a new lake: its first manifest write records the layout
                return report
            for n, (product, month) in enumerate(partitions):
                if progress is not None:
                    progress(n, len(partitions))
                if self._writer is not None:
                    self._writer.refresh()  # (an S3 lock's expiry, as an ingest does per file)
                found = self.storage.fetch_partition(product, month, scratch)
                if found is None:
                    continue
                report.partitions += 1
                fixed = canonical(plr.read_parquet(found), product)
                if found.parent == scratch:  # a download (S3): the scratch holds one at a time
                    found.unlink()
                if fixed is None:  # today's layout already (written since, or migrated)
                    continue
                frame, duplicates, differing = fixed
                if differing:  # before the swap: a rerun finds them again, and adds none twice
                    listed = (self.storage.get_text(MIGRATION_REPORT) or "").splitlines()
                    new = [line for line in differing if line not in listed]
                    self.storage.put_text(MIGRATION_REPORT, "\n".join([*listed, *new]) + "\n")
                self._write_partition(product, month, frame, scratch)
                report.rewritten.append(f"{product}/{month}")
                report.duplicates += duplicates
                report.differing += differing
                self.failpoints.hit("stations.after_migrate_partition")
            if progress is not None:
                progress(len(partitions), len(partitions))
        manifest = self.storage.read_manifest()  # last: the layout holds once all is written
        manifest[LAYOUT] = LAKE_LAYOUT
        self.storage.write_manifest(manifest)
        self.migrated = report
        return report

    def _ingest_path(
        self,
        path: Path,
        name: str | None,
        *,
        source: str | None,
        force: bool,
        progress: Progress | None,
        kind: str | None = None,
    ) -> list[FileReport]:
        name = name or path.name
        # What the manifest and the reports know the file by: two files of one name (ANP's
        # year folders) are two files, and a new version of one replaces its entry.
        source = source or str(path.resolve())
        key = source_key(source)
        size = path.stat().st_size
        manifest = by_source(self.storage.read_manifest())  # what was ingested, read once
        files, marks = manifest["files"], manifest.get(INCOMPLETE, {})
        kinds = file_kinds(files)  # (and each CSV read adds its own: a ZIP's next meets it)
        # An entry of an older manifest keyed by the bare name (a file given by a relative
        # path): this file when it is of this name and content (then adopted, under ``key``).
        legacy = name if key not in files and files.get(name, {}).get("name") == name else None
        # The file is hashed while it is read (the hash is asked for before anything is
        # written), except when its name and size say it is likely a file ingested before:
        # then first, so that it is not read at all.
        with ThreadPoolExecutor(1) as hasher:
            hashing = hasher.submit(_fingerprint, path)

            def new_content() -> str:
                digest = hashing.result()[0]
                # The file itself when its own name holds this content, else the first other
                # file that does (not merely the first in the manifest).
                same = [n for n, e in files.items() if e.get("sha256") == digest]
                mine = key if key in same else legacy if legacy in same else None
                seen = mine or next(iter(same), None)
                if seen and not force:
                    raise _AlreadyIngested(seen)
                return digest

            mark: dict[str, Any] = {}
            revised = _Revised(
                name,
                marks,
                lambda: hashing.result()[0],
                self.storage.get_text,
                lambda digest, lines: self._put_report(name, digest, source, "revised", lines),
            )

            def before_writing(at: int, csv: str, decided: FileKind) -> str:
                """The content's digest, and the file marked incomplete in the manifest
                before its first partition is written (``_record`` clears the mark), with
                the kind it was given, if any (a ZIP's CSVs share it), and the kind decided
                for each CSV (its place in the file, ``at``) before its first partition."""
                digest = new_content()
                if not mark:
                    given = kind or _resumed_kind(marks, key, digest)
                    mark.update(self._incomplete_mark(name, digest, source, given))
                decision = {"name": csv, "kind": decided.kind, "why": decided.why}
                if mark["decided"].get(str(at)) != decision:
                    mark["decided"][str(at)] = decision
                    self._mark_incomplete(key, mark)
                return digest

            try:
                if files.get(legacy or key, {}).get("bytes") == size:
                    new_content()
                with self._scratch() as scratch:
                    try:
                        inputs = csv_inputs(path, name, scratch, max_unpacked=self.max_unpacked)
                    except UnreadableFile as exc:
                        return [_refused(name, "unreadable", shown(str(exc), 160))]
                    members = _Members(len(inputs))  # (a ZIP is one file: its first member wins)
                    reports = [
                        self._ingest_csv(
                            part,
                            at,
                            scratch,
                            progress,
                            before_writing,
                            revised.before_partitions,
                            kinds,
                            members,
                            _decider(kind, marks, key, lambda: hashing.result()[0]),
                            # the file's own lines, counted as it was hashed; a ZIP member's,
                            # as it was unpacked; a workbook's CSV (its lines joined back from
                            # their cells, stray quotes and all), counted now
                            lambda p: (
                                hashing.result()[1]
                                if p.path == path
                                else p.lines or count_lines(p.path)
                            ),
                        )
                        for at, part in enumerate(inputs)
                    ]
                if reports and all(r.refused for r in reports):  # no CSV is station data
                    # an unreadable member, if any, says why: it may hold station data
                    first = next((r for r in reports if r.unreadable), reports[0])
                    where = "" if first.name == name else f"{first.name}: "
                    refused = _refused(name, first.fmt, f"{where}{first.skipped}")
                    refused.unreadable = first.unreadable
                    return [refused]
                digest = new_content()  # (asked already, unless no part had a record to write)
            except _AlreadyIngested as exc:
                return [self._already_ingested(name, exc.args[0], key, legacy, source)]
        self._record(
            key,
            name,
            digest,
            size,
            reports,
            source=source,
            whole=not any(r.unreadable for r in reports),
            earlier=revised.earlier(),
            forced=force,
        )
        return reports

    def _already_ingested(
        self, name: str, seen: str, key: str, legacy: str | None, source: str
    ) -> FileReport:
        """The report of a file whose content the manifest holds under ``seen``: its own
        ``key``, another file's, or an older manifest's entry by bare name (``legacy``, then
        re-keyed by ``key``)."""
        if legacy is not None and seen == legacy:
            self._adopt(legacy, key, source)
            seen = key
        why = (
            "unchanged since it was ingested"
            if seen == key
            else f"same content as {seen}, already ingested"
        )
        return FileReport(name, "-", skipped=why, already_ingested=seen)

    def _adopt(self, legacy: str, key: str, source: str) -> None:
        """Key an older manifest's entry (by bare name) by the source it was found to be."""
        manifest = by_source(self.storage.read_manifest())
        files = manifest["files"]
        if legacy in files and key not in files:
            files[key] = {**files.pop(legacy), "source": source}
            self.storage.write_manifest(manifest)

    def _record(
        self,
        key: str,
        name: str,
        digest: str,
        size: int,
        reports: Sequence[FileReport],
        *,
        source: str,
        whole: bool = True,
        earlier: Sequence[str] = (),
        forced: bool = False,
    ) -> None:
        """This version's reports (its rejected, differing and revised lines, each its own
        file named by ``report_stem``: a later version neither replaces nor leaves them
        pointing at its own lines), then the file's entry in the manifest under ``key`` (only
        when ``whole``: every part was read), in the same write as its incomplete mark is
        cleared. The entry lists the reports of every version ingested from that source.
        ``earlier``: the revised lines of a stopped ingest of this version, kept first;
        ``forced``: the ingest was given ``--force`` (recorded as ``forced``: the entry's
        counts are that ingest's, which may have changed nothing)."""
        stem = report_stem(name, digest)
        written = []
        known = set(earlier)
        revised = [*earlier, *(line for r in reports for line in r.revised if line not in known)]
        for kind, lines in (
            ("rejected", [str(b) for r in reports for b in r.bad]),
            ("differing", [line for r in reports for line in r.differing]),
            ("revised", revised),
        ):
            if lines:
                self._put_report(name, digest, source, kind, lines)
                written.append(f"{stem}.{kind}.txt")
        for r in reports:
            r.reports = written
        manifest = by_source(self.storage.read_manifest())
        marks = manifest.get(INCOMPLETE, {})
        done = [n for n, m in marks.items() if n == key or m.get("sha256") == digest]
        for n in done:  # (the same content from another source is complete now too)
            del marks[n]
        if not marks:
            manifest.pop(INCOMPLETE, None)
        if whole:
            files = manifest["files"]
            before = files.get(key, {}).get("reports", [])
            files[key] = {
                "name": name,
                "sha256": digest,
                "source": source,
                "bytes": size,
                "ingested_at": self.clock.now().isoformat(),
                "parts": [r.as_dict() for r in reports],
                "reports": [*before, *(w for w in written if w not in before)],
                "forced": forced,
            }
        if whole or done:
            manifest[LAYOUT] = LAKE_LAYOUT  # (the ingest migrated the lake before it wrote)
            self.storage.write_manifest(manifest)

    def _put_report(self, name: str, digest: str, source: str, kind: str, lines: list[str]) -> None:
        """One of a version's reports (``report_stem``), opened by the line naming it."""
        header = f"# {source} sha256 {digest} ingested {self.clock.now().isoformat()}"
        self.storage.put_text(
            f"{report_stem(name, digest)}.{kind}.txt", "\n".join([header, *lines]) + "\n"
        )

    def _incomplete_mark(
        self, name: str, digest: str, source: str, kind: str | None
    ) -> dict[str, Any]:
        """A file's incomplete mark (``_mark_incomplete``), its ingest starting now. ``kind``:
        the one it was given (``--kind``; None: each CSV's decided), which an ingest of the same
        content that is given none then uses; ``decided`` (filled in as each CSV's kind is
        decided, by the CSV's place in the file): each CSV's kind, which such an ingest keeps
        when neither was given one (so that a CSV's records are all written as one kind)."""
        return {
            "name": name,
            "sha256": digest,
            "source": source,
            "started_at": self.clock.now().isoformat(),
            "kind": kind,
            "decided": {},
        }

    def _mark_incomplete(self, key: str, mark: dict[str, Any]) -> None:
        """Mark the file from ``key`` incomplete in the manifest (``mark``, its
        ``_incomplete_mark``), before its first partition is written (and again before each
        further CSV's, with its decided kind): an ingest stopped after (Ctrl+C, kill -9, a
        crash) leaves some of its partitions written and the file not recorded, and `stations
        status` says so until an ingest of it ends."""
        manifest = self.storage.read_manifest()
        marks = manifest.setdefault(INCOMPLETE, {})
        older = marks.get(key)
        if older and older.get("sha256") != mark["sha256"]:
            # Another version from this source stopped part-way (the rolling file, republished
            # under one name): its records written stay in the lake, so its mark stays too,
            # keyed by its version, until that content is ingested (``_record``).
            marks[f"{key}#{older.get('sha256', '')[:12]}"] = {**older, "superseded": True}
        marks[key] = mark
        manifest[LAYOUT] = LAKE_LAYOUT  # (the ingest migrated the lake before it wrote)
        self.storage.write_manifest(manifest)

    def _header_problem(self, part: CsvInput) -> tuple[str | None, int]:
        """Why the CSV is not ANP station data (None when it is), and how many empty cells
        end its header (a trailing ``;``: its records may end with as many empty fields)."""
        with part.path.open("rb") as fh:
            head = fh.read(_HEADER_BYTES)
        if not head.removeprefix(BOM):  # (a BOM alone was "the first line is blank")
            return "the file is empty" + (" (a UTF-8 BOM and nothing else)" if head else ""), 0
        first = head.partition(b"\n")[0].decode(part.encoding, errors="replace")
        # Not csv.reader: it keeps the quotes of a cell with spaces around them (` "Produto" `);
        # the header is only compared with ANP's here, and read leniently.
        cells = [c.strip().strip('"') for c in first.lstrip("\ufeff").rstrip("\r\n").split(";")]
        extra = 0
        while len(cells) > 1 and not cells[-1]:
            cells.pop()
            extra += 1
        # ANP's header first: a control byte in a record near the top is that record's, as
        # one further down is, not a reason to refuse the whole file as binary.
        if tuple(column_key(c) for c in cells) == ANP_COLUMN_KEYS:
            return None, extra
        if what := _not_csv(head) or _price_summary(head.decode(part.encoding, errors="replace")):
            return what, 0
        if _binary(head[:_SNIFF_BYTES]):
            return "binary content, not CSV text", 0
        line = first.lstrip("\ufeff").strip()
        if not line:
            return "the first line is blank, not ANP's 16 station columns", 0
        why = _header_form(line) or _other_table(line) or _wrong(cells)
        return f"header is not ANP's 16 station columns: {shown(line)!r} ({why})", 0

    def _ingest_csv(
        self,
        part: CsvInput,
        at: int,
        scratch: Path,
        progress: Progress | None,
        before_writing: Callable[[int, str, FileKind], object],
        before_partitions: Callable[[FileReport], object],
        kinds: dict[str, str],
        members: _Members,
        decide: Callable[[Collection[date], str, int], FileKind],
        lines_of: Callable[[CsvInput], LineCount],
    ) -> FileReport:
        """Read, validate and write one CSV, the file's ``at``-th; ``before_writing`` may still
        stop it (raising) before the first partition is written, and is told its decided kind;
        ``lines_of`` gives its line breaks; ``before_partitions`` is told the report, its
        displaced values known, before the first partition is written. Its kind is what
        ``decide`` says of its collection days and name (``file_kind``), and joins ``kinds``
        (the kinds of the files the lake's records came from, by name). ``members``: the
        records the file's CSVs before it offered, which its own do not displace."""
        report = FileReport(part.name, part.fmt.value)
        problem, extra = (part.problem, 0) if part.problem else self._header_problem(part)
        if problem:
            report.skipped = problem
            report.refused = True  # this CSV; the file is refused when every CSV in it is
            report.unreadable = part.unreadable
            return report
        today = self.clock.now().date()  # collection days after the next are typos
        # A file ending with no line end may be cut short inside its last record (read from
        # the file itself, before a trailing ";" is taken off below)
        unended = _unended(part, lines_of)
        if extra:  # a trailing ";": its records' empty last fields dropped, in a scratch copy
            part = without_trailing_fields(part, extra, scratch)
        structural: list[tuple[int, str]] = []
        read_by_line = False  # the lines are the file's own (no record numbers to map)

        def on_batch(rows: int) -> None:
            if progress:
                progress(part.name, rows)

        def read_with(parsed: Parsed) -> tuple[Collected, list[tuple[int, str]], bool]:
            found = collect(parsed.frame.iter_slices(self.batch_rows), part.name, today, on_batch)
            return found, parsed.structural, parsed.file_lines

        con: duckdb.DuckDBPyConnection | None = None
        try:
            try:
                batches = batches_fast(part.path, part.encoding, scratch, self.batch_rows)
                found = collect(batches, part.name, today, on_batch)
            except Malformed:  # some record is malformed: DuckDB's reader says which line
                con = connect(self.threads, self.memory_limit, scratch / "spill")
                found, structural, read_by_line = read_with(
                    read_exact(con, part.path, part.encoding, scratch)
                )
            lines = None if read_by_line else lines_of(part)
            if (
                lines is not None
                and lines.spans_lines(found.rows + len(structural))
                and lines_merged(part.path, part.encoding)
            ):
                # Stray quotes read lines as one record with 16 fields: a line at a time.
                con = con or connect(self.threads, self.memory_limit, scratch / "spill")
                found, structural, read_by_line = read_with(
                    read_lines(con, part.path, part.encoding, scratch)
                )
        finally:
            if con is not None:
                con.close()
        report.rows = found.rows + len(structural)
        bad = sorted([*structural, *found.bad], key=lambda b: b[0])
        # (``lines`` is None only when the lines are the file's own already)
        if bad and not read_by_line and lines is not None and lines.spans_lines(report.rows):
            # A record spans lines (a quoted line break), or blank lines: report file lines.
            where = file_lines(part.path, part.encoding, (line for line, _ in bad))
            bad = [(where.get(line, line), reason) for line, reason in bad]
        spans = not read_by_line and lines is not None and lines.spans_lines(report.rows)
        path, encoding = part.path, part.encoding

        def file_lines_of(numbers: Iterable[int]) -> dict[int, int]:
            wanted = list(numbers)
            return file_lines(path, encoding, wanted) if spans else {n: n for n in wanted}

        members.lines[part.name] = file_lines_of
        _rejections(report, found, bad, unended, file_lines_of)
        decided = decide(found.days, part.name, at)
        report.kind, report.kind_why = decided.kind, decided.why
        before_writing(at, part.name, decided)
        self._merge(found.parts, report, scratch, kinds, (members, at), before_partitions)
        kinds[part.name] = _more_protected(decided.kind, kinds.get(part.name))
        return report

    def _merge(
        self,
        parts: dict[tuple[str, str], pl.DataFrame],
        report: FileReport,
        scratch: Path,
        kinds: dict[str, str],
        members: tuple[_Members, int],
        before_partitions: Callable[[FileReport], object],
    ) -> None:
        """Write each (product, month) partition the file touches: a new one as it is, an
        existing one merged with the file's records (this newest version's record replaces
        one the lake holds with another value, each displaced value listed in ``revised``;
        a rolling or undecided file's only a rolling file's record: ``_revised``, by
        ``kinds``). One record per (CNPJ, product, collection day): the file's first
        occurrence wins, a ZIP's members read as one file (``members``, and this CSV's place in
        the file)."""
        plr = polars()
        key = ["cnpj", "collected"]  # the product is the partition's
        jobs: list[tuple[str, str, pl.DataFrame, int]] = []
        for (product, month), part in sorted(parts.items()):
            twice = part.select(plr.struct(key).is_duplicated().any()).item()
            unique = part.unique(subset=key, keep="first", maintain_order=True) if twice else part
            report.duplicates_in_file += part.height - unique.height
            if twice:
                later = part.filter(plr.struct(key).is_first_distinct().not_())
                report.differing += _repeated(
                    product, later, unique, report.name, members[0].lines[report.name]
                )
            unique, repeats, listed = members[0].split(
                product, month, unique, report.name, members[1]
            )
            report.duplicates_in_file += repeats
            report.differing += listed
            if unique.height == 0:
                continue  # every record is an earlier member's: nothing of this one to write
            found = self.storage.fetch_partition(product, month, scratch)
            if found is None:
                jobs.append((product, month, unique, unique.height))
                continue
            # (in today's layout: an ingest migrates an older lake before it reads a partition)
            held = plr.read_parquet(found)
            fresh = unique.join(held.select(key), on=key, how="anti")
            kept = [held]
            if fresh.height < unique.height:  # some records are in the lake: corrected?
                changed, lines, not_kept = _revised(
                    product,
                    held,
                    unique,
                    kind=report.kind or CONSOLIDATED,
                    kinds=kinds,
                    where=(report.name, members[0].lines[report.name]),
                )
                report.already_in_lake += unique.height - fresh.height - changed.height
                report.replaced += changed.height
                report.revised += lines
                report.differing += not_kept
                report.not_kept += len(not_kept)
                if changed.height:  # the newest version wins: its records replace the lake's
                    kept = [
                        held.join(changed, on=key, how="anti"),
                        unique.join(changed, on=key, how="semi"),
                    ]
            if fresh.height == 0 and len(kept) == 1:
                continue  # nothing new or corrected: the partition file is not rewritten
            merged = plr.concat(
                [f.select(FILE_COLUMNS) for f in [*kept, fresh]], how="vertical_relaxed"
            )
            jobs.append((product, month, merged, fresh.height))
        parts.clear()
        before_partitions(report)

        def write(job: tuple[str, str, pl.DataFrame, int]) -> str:
            product, month, frame, _ = job
            self._write_partition(product, month, frame, scratch)
            return f"{product}/{month}"

        # Partitions are independent files: write them on the ingest's threads.
        written: list[str] = []
        pool = ThreadPoolExecutor(max(1, self.threads))
        try:
            for done in pool.map(write, jobs):
                written.append(done)
                self.failpoints.hit("stations.after_partition")
        finally:  # stopped (Ctrl+C): the partitions being written end, the others wait
            pool.shutdown(wait=True, cancel_futures=True)
        report.partitions = sorted(written)
        report.written += sum(added for *_, added in jobs)

    def _write_partition(
        self, product: str, month: str, frame: pl.DataFrame, scratch: Path
    ) -> None:
        """Write a partition's file whole beside, then replace the lake's (atomically)."""
        target = scratch / f"{product}-{month}.parquet"
        # File order, not sorted: a month's partition is one or two row groups, so a sort
        # would buy no pruning, only 10% smaller files for a third of the ingest's time.
        frame.select(FILE_COLUMNS).write_parquet(
            target, compression="zstd", compression_level=1, row_group_size=_ROW_GROUP
        )
        self.storage.put_partition(product, month, target)
        target.unlink()

    # --- read ----------------------------------------------------------------------------
    def _root(self) -> Path:
        """The local directory DuckDB reads: the lake itself, or a mirror of the S3 lake kept
        for the lake object's life (files are fetched again only when their ETag changed)."""
        return self.storage.query_root(self._mirror_dir)

    def _mirror_dir(self) -> Path:
        """The S3 mirror's directory, made on first need and removed by close() or, for a
        lake never closed, when it is collected or the process ends (weakref.finalize)."""
        if self._mirror is None:
            self._mirror = Path(tempfile.mkdtemp(prefix="fuelpipe-lake-read-", dir=self.workdir))
            self._drop_mirror = weakref.finalize(
                self, shutil.rmtree, self._mirror, ignore_errors=True
            )
        return self._mirror

    def _files(
        self,
        root: Path,
        product: str | None,
        month_from: str | None,
        month_to: str | None,
        months: Collection[str] | None = None,
    ) -> list[Path]:
        """The partition files a query can need: its product's, in its month range or of the
        given months (the pruning Athena does with partition projection), so DuckDB never
        lists the rest."""
        products = [root / f"product={product}"] if product else sorted(root.glob("product=*"))
        files = []
        for folder in products:
            if not folder.is_dir():
                continue
            for month_dir in sorted(folder.glob("month=*")):
                month = month_dir.name.removeprefix("month=")
                if (month_from and month < month_from) or (month_to and month > month_to):
                    continue
                if months is not None and month not in months:
                    continue
                part = month_dir / PART_FILE
                if part.exists():
                    files.append(part)
        return files

    def _database(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            self._db = connect(self.threads, self.memory_limit)
        return self._db

    @contextmanager
    def reader(
        self,
        product: str | None = None,
        month_from: str | None = None,
        month_to: str | None = None,
        *,
        months: Collection[str] | None = None,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor with the view ``stations`` over the partition files (all of them, or one
        product's in a month range, or those of ``months``). Cursors are separate connections
        to one in-memory database, so threads may each hold one."""
        files = self._files(self._root(), product, month_from, month_to, months)
        with self._lock:
            cur = self._database().cursor()
        try:
            if files:
                listing = "[" + ", ".join(sql_text(str(f)) for f in files) + "]"
                cur.execute(
                    f"CREATE TEMP VIEW stations AS SELECT * FROM read_parquet({listing}, "
                    "hive_partitioning = true, "
                    "hive_types = {'product': VARCHAR, 'month': VARCHAR})"
                )
            else:
                cur.execute(_EMPTY_VIEW)
            yield cur
        finally:
            cur.close()

    def query(self, name: str, params: dict[str, Any]) -> QueryResult:
        """Run one of the named queries (queries.QUERIES) with its parameters."""
        q = QUERIES[name]
        with self.reader(
            params.get("product") if "product" in q.params else None,
            params.get("month_from"),
            params.get("month_to"),
        ) as con:
            cur = con.execute(q.sql, [params[p] for p in q.params])
            columns = [d[0] for d in cur.description or ()]
            return QueryResult(columns, [tuple(r) for r in cur.fetchall()])

    def municipalities(self, state: str, product: str, month_from: str, month_to: str) -> list[str]:
        """The municipalities of ``state`` with a price of ``product`` in those months, as ANP
        writes them, sorted (for the closest to a name that matched none)."""
        with self.reader(product, month_from, month_to) as con:
            rows = con.execute(
                "SELECT DISTINCT municipality FROM stations WHERE state = ? ORDER BY 1", [state]
            ).fetchall()
        return [str(r[0]) for r in rows if r[0]]

    def towns_named(
        self, municipality: str, month_from: str, month_to: str
    ) -> list[tuple[str, str, str]]:
        """(state, name as ANP writes it, fuel) of each town of that name (folded, as
        ``municipality_weekly`` compares it) with a price of any fuel in those months, sorted:
        for a town asked in the wrong state, or of a fuel it has no price of."""
        with self.reader(None, month_from, month_to) as con:
            rows = con.execute(
                "SELECT DISTINCT state, municipality, product FROM stations "
                f"WHERE {FOLDED_TOWN} = ? ORDER BY 1, 2, 3",
                [folded(municipality)],
            ).fetchall()
        return [(str(s), str(m), str(p)) for s, m, p in rows]

    def close(self) -> None:
        """Close the read database and drop the S3 mirror, if any."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._drop_mirror is not None:
            self._drop_mirror()
            self._drop_mirror, self._mirror = None, None

    def incomplete(self) -> dict[str, dict[str, Any]]:
        """The files whose ingest began writing partitions and did not end, by source (a mark
        of an older manifest: by name): their ``name``, ``source``, ``sha256`` and
        ``started_at``."""
        marks: dict[str, dict[str, Any]] = self.storage.read_manifest().get(INCOMPLETE, {})
        return marks

    def status(self) -> dict[str, Any]:
        """Files ingested (from the manifest, by source: each with its name and the reports of
        every version ingested), files whose ingest stopped part-way (by source: their name and
        when it started), rows per partition and the lake's layout (an
        older one than ``LAKE_LAYOUT`` wants ``migrate``)."""
        manifest = by_source(self.storage.read_manifest())
        coverage = self.query("coverage", {})
        return {
            "lake": self.storage.describe(),
            "files": manifest["files"],
            "incomplete": manifest.get(INCOMPLETE, {}),
            "partitions": [dict(zip(coverage.columns, r, strict=True)) for r in coverage.rows],
            "layout": layout_of(manifest) if manifest["files"] or coverage.rows else LAKE_LAYOUT,
        }

    def old_layout(self) -> int | None:
        """The lake's layout when it is older than today's, else None (``storage.old_layout``:
        the manifest is read again only when it changed)."""
        return self.storage.old_layout()

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        """Each fuel's first and last collection day, for the fuels the lake holds (FUELS
        order): the named query ``window`` over each fuel's first and last month's partitions
        only (every page view asks; Athena's engine in the AWS home runs the same query over
        the same months)."""
        root = self._root()
        partitions = [
            (f.parent.parent.name.removeprefix("product="), f.parent.name.removeprefix("month="))
            for f in self._files(root, None, None, None)
        ]
        if not partitions:
            return {}
        q = QUERIES["window"]
        params = window_params(partitions)
        months = {month for _, month in window_months(partitions)}
        with self.reader(months=months) as con:
            rows = con.execute(q.sql, [params[p] for p in q.params]).fetchall()
        return fuel_windows(rows)

    def window(self) -> tuple[date, date] | None:
        """First and last collection day in the lake (:func:`lake_window` of
        :meth:`fuel_windows`)."""
        return lake_window(self.fuel_windows())


_EMPTY_VIEW = (
    "CREATE TEMP VIEW stations AS SELECT * FROM (SELECT NULL::VARCHAR AS region, "
    "NULL::VARCHAR AS state, NULL::VARCHAR AS municipality, NULL::VARCHAR AS station, "
    "NULL::VARCHAR AS cnpj, NULL::VARCHAR AS street, NULL::VARCHAR AS number, "
    "NULL::VARCHAR AS complement, NULL::VARCHAR AS neighbourhood, NULL::VARCHAR AS cep, "
    "NULL::DATE AS collected, NULL::DATE AS week, NULL::DOUBLE AS price, "
    "NULL::DOUBLE AS purchase_price, NULL::VARCHAR AS unit, NULL::VARCHAR AS brand, "
    "NULL::VARCHAR AS source_file, NULL::VARCHAR AS product, NULL::VARCHAR AS month) WHERE false"
)


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of one query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


_HEADER_BYTES = 64 * 1024
"""At most this much of a file is read for its header line."""
_SNIFF_BYTES = 4096
"""The start of a file that tells text from binary content."""
_SHOWN_CHARS = 60


def shown(text: str, limit: int = _SHOWN_CHARS) -> str:
    """Text from a file or an error, fit to quote in one line: each character that does not
    print is a ``?``, and at most ``limit`` characters (then an ellipsis)."""
    flat = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return clip(flat, limit)


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def _not_csv(head: bytes) -> str | None:
    """What a text file that is no CSV at all is, when its first bytes say: a web server's
    (error) page saved as the file, named by its title rather than quoted back as a header
    (a compressed or UTF-16 file is told by ``formats.detect``)."""
    start = head.lstrip(BOM + b" \t\r\n")[:64].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        found = _TITLE.search(head)
        title = f" ({shown(found.group(1).decode('utf-8', 'replace'), 40)!r})" if found else ""
        return f"an HTML page{title}, not CSV: a web page (an error?) saved as the file"
    return None


_SUMMARY_SCAN_LINES = 100
"""The lines of a file searched for a price summary workbook's header (the weekly ANP
source searches as many rows: its title and notes come first, 17 rows in 2022)."""


def _price_summary(text: str) -> str | None:
    """ANP's price summary workbook (the survey's averages by country, region or state, which
    the weekly ANP source reads), told by a line naming PRODUTO and PREÇO MÉDIO REVENDA below
    its title and notes: said so, with where the station files are (before, its title was
    quoted back as "column 1 is 'AGÊNCIA NACIONAL DO PETRÓLEO,…'")."""
    for line in text.splitlines()[:_SUMMARY_SCAN_LINES]:
        for separator in (",", ";", "\t"):
            keys = {column_key(c.strip().strip('"')) for c in line.split(separator)}
            if {"produto", "preco medio revenda"} <= keys:
                often = "monthly" if "mes" in keys else "weekly"
                return (
                    f"ANP's {often} price summary workbook (averages by area), not the "
                    "station-level survey: `fuelpipe run` collects it; the station files are "
                    "the Série Histórica CSVs (`fuelpipe stations ingest` alone downloads them)"
                )
    return None


def _header_form(line: str) -> str | None:
    """How a first line that holds ANP's column names is not ANP's header: old Mac line
    ends (a bare CR: the whole file reads as one line) or another separator than ``;``."""
    if "\r" in line:
        return "lines end in a bare CR (old Mac line ends), not LF or CRLF"
    for separator in (",", "\t", "|"):
        cells = [column_key(c.strip('"')) for c in line.split(separator)]
        if tuple(cells) == ANP_COLUMN_KEYS:
            return f"ANP's 16 columns separated by {separator!r}, not ';'"
    return None


def _other_table(line: str) -> str | None:
    """A first line of three or more names separated by ``,``, a tab or ``|`` (and no ``;``):
    another table than ANP's station survey, said so with how many of its names are ANP's
    (before, the whole line was quoted as ANP's first column, 'column 1 is 'data,venda,…'')."""
    if ";" in line:
        return None
    for separator in (",", "\t", "|"):
        cells = [column_key(c.strip().strip('"')) for c in line.split(separator)]
        if len(cells) >= 3:  # (a title with a comma in it, a workbook's first row, is not)
            anp = sum(c in ANP_COLUMN_KEYS for c in cells)
            which = f"{anp} of them ANP's" if anp else "none of them ANP's"
            return (
                f"{len(cells)} columns separated by {separator!r}, {which}: not ANP's station "
                "file (16 columns separated by ';')"
            )
    return None


def _wrong(cells: Sequence[str]) -> str:
    """What differs first between a header's cells and ANP's columns, short (and that they
    are ANP's columns in another order, when they are: the readers take them by position)."""
    keys = [column_key(c) for c in cells]
    for number, (key, cell, expected) in enumerate(
        zip(keys, cells, ANP_COLUMNS, strict=False), start=1
    ):
        if key != ANP_COLUMN_KEYS[number - 1]:
            what = f"column {number} is {shown(cell, 30)!r}, not {expected!r}"
            if sorted(keys) == sorted(ANP_COLUMN_KEYS):
                return f"ANP's 16 columns in another order: {what}"
            return what
    return f"{len(cells)} columns"


def _binary(raw: bytes) -> bool:
    """A NUL byte, or more than one control byte in twenty (tabs and line ends aside): not
    text (ANP's CSVs, in any of their encodings, have none)."""
    controls = sum(1 for b in raw if b < 32 and b not in (9, 10, 13))
    return b"\0" in raw or controls * 20 > len(raw)


def _refused(name: str, fmt: str, why: str | None) -> FileReport:
    return FileReport(name, fmt, skipped=why, refused=True)


@dataclass
class _Revised:
    """A version's revised report, written as each CSV's displaced values are known and
    before the partitions holding their replacements are: a stop after one leaves the new
    values in the lake, where a rerun sees them equal to its own and no longer sees what they
    displaced. A rerun of that version (an incomplete mark of the same SHA-256 among
    ``marks``) keeps the lines it finds in the report first (``earlier``)."""

    name: str
    marks: dict[str, Any]
    digest: Callable[[], str]
    get: Callable[[str], str | None]
    put: Callable[[str, list[str]], None]
    lines: list[str] = field(default_factory=list)

    def earlier(self) -> list[str]:
        """What a stopped ingest of this version listed (none when it was not stopped)."""
        digest = self.digest()
        if not any(m.get("sha256") == digest for m in self.marks.values()):
            return []
        text = self.get(f"{report_stem(self.name, digest)}.revised.txt") or ""
        return [line for line in text.splitlines() if line and not line.startswith("# ")]

    def before_partitions(self, report: FileReport) -> None:
        if report.revised:
            self.lines.extend(report.revised)
            self.put(self.digest(), list(dict.fromkeys([*self.earlier(), *self.lines])))


class _AlreadyIngested(Exception):
    """The file's content was ingested before (under the name this holds)."""


def _rejections(
    report: FileReport,
    found: Collected,
    bad: list[tuple[int, str]],
    unended: tuple[str, int] | None,
    lines_of: Callable[[Iterable[int]], dict[int, int]],
) -> None:
    """A CSV's rejected records (``bad``: file lines and reasons) in its ``report``, its last
    record among them when the file ends inside it (``unended``: ``cut_last_record``, which
    takes that record out of ``found``)."""
    if unended and report.rows:
        report.cut_line = cut_last_record(found, bad, *unended, lines_of)
    report.bad = [BadRow(report.name, line, reason) for line, reason in bad]
    report.rejected = len(report.bad)


def _unended(part: CsvInput, lines_of: Callable[[CsvInput], LineCount]) -> tuple[str, int] | None:
    """A CSV's last bytes and its last line (from 1) when it does not end with a line end
    (``unended_tail``), else None."""
    tail = unended_tail(part.path, part.encoding)
    return None if tail is None else (tail, lines_of(part).newlines + 1)


def _fingerprint(path: Path) -> tuple[str, LineCount]:
    """The file's SHA-256 and its line breaks, in one pass."""
    digest, lines = hashlib.sha256(), LineCount()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            lines = lines.add(chunk)
    return digest.hexdigest(), lines
