"""`fuelpipe stations ingest|status|query|reconcile`: ANP's station survey in the Parquet lake."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.markup import escape
from rich.table import Column, Table

from fuelpipe.adapters.lake.queries import QUERIES
from fuelpipe.adapters.lake.storage import LAKE_LAYOUT, old_layout_notice
from fuelpipe.cli import display
from fuelpipe.domain.catalog import STATES
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.station_files import KINDS, ROLLING_WEEKS, UNDECIDED
from fuelpipe.domain.stations import (
    FUELS,
    RECONCILE_FUELS,
    RECONCILE_MEDIAN_PCT,
    RECONCILE_MIN_COVERAGE,
    RECONCILE_TOLERANCE_PCT,
    SEARCH_STATIONS,
    Reconciled,
    closest_names,
    figure,
    figure_text,
    first_stations,
    lake_window,
    query_params,
    span_answered,
    span_asked,
    week_start,
)
from fuelpipe.install_hint import install_hint

if TYPE_CHECKING:
    from fuelpipe.stages.station_reconcile import Reconciliation
    from fuelpipe.stages.stations import IngestInterrupted, IngestSummary

# Not imported from cli.main at module level: main registers this module (import cycle).
console, err = display.consoles()


def fail(message: str, code: int = 2) -> typer.Exit:
    from fuelpipe.cli.main import fail as main_fail

    return main_fail(message, code)


def settings(ctx: typer.Context) -> Any:
    from fuelpipe.cli.main import settings as main_settings

    return main_settings(ctx)


stations_app = typer.Typer(
    help="ANP's station-level survey (every pump, by municipality and brand) in the Parquet "
    "lake: FUELPIPE_LAKE (default ./data/lake), or S3 + Athena in the AWS home.",
    no_args_is_help=True,
)

_SHOWN_BAD_ROWS = 20


def _lake(ctx: typer.Context, *, existing: bool = False, writes: bool = False) -> Any:
    """The configured lake; ``existing``: a lake that is not there (a mistyped FUELPIPE_LAKE)
    is refused rather than created empty; ``writes``: the command writes to the lake, so a
    read-only one (or a folder it cannot be created in) is refused up front, in words, as a
    read-only store is."""
    from fuelpipe.adapters.lake.columns import LakeUnavailable

    try:
        import duckdb  # noqa: F401
    except ImportError:
        raise fail(
            f"the station lake needs DuckDB, which is not installed: {install_hint('lake')}"
        ) from None
    from fuelpipe.homes.lake import build_lake

    cfg = settings(ctx)
    problem = missing_lake(cfg) if existing else not_a_folder(cfg)
    if not problem and writes:
        problem = read_only_lake(cfg)
    if problem:
        raise fail(problem)
    try:
        return build_lake(cfg)
    except OSError as exc:
        raise fail(uncreatable_lake(cfg, exc) or f"cannot open the lake: {exc}") from None
    except LakeUnavailable as exc:
        raise fail(f"cannot open the lake: {exc}") from None


def uncreatable_lake(cfg: Any, error: OSError) -> str | None:
    """Why the local lake FUELPIPE_LAKE names could not be created (a folder that cannot be
    made there, as in /proc), in words naming the setting and the path rather than the
    system's alone ("[Errno 2] ..."); None for another error, or a lake that is there."""
    root = Path(cfg.lake).absolute()
    made = error.filename and Path(error.filename).absolute() in (root, *root.parents)
    if not made or root.exists():  # not a folder the lake is created in
        return None
    return (
        f"FUELPIPE_LAKE {_where(Path(cfg.lake))}: cannot create the lake: cannot create the "
        f"folder {error.filename} ({error.strerror or error}); point FUELPIPE_LAKE elsewhere"
    )


def missing_lake(cfg: Any) -> str | None:
    """Why the local lake FUELPIPE_LAKE names cannot be read, or None when it can (or when
    the lake is in S3). A folder is a lake once an ingest wrote its manifest or a partition."""
    from fuelpipe.adapters.lake.storage import MANIFEST

    if cfg.backend == "aws" and cfg.lake_bucket:
        return None
    root = Path(cfg.lake)
    todo = "run `fuelpipe stations ingest` (or `fuelpipe demo`) first, or check FUELPIPE_LAKE"
    if problem := not_a_folder(cfg):  # first: a path inside a file does not exist either
        return problem
    if not root.exists():
        return f"no station lake at {_where(root)}: {todo}"
    if not (root / MANIFEST).is_file() and not any(root.glob("product=*")):
        return f"no station lake at {_where(root)} (the folder holds no {MANIFEST}): {todo}"
    return None


def read_only_lake(cfg: Any) -> str | None:
    """Why a command that writes cannot write to the local lake FUELPIPE_LAKE names (it, or
    the folder it would be created in, is read-only to this process), or None when it can (or
    when the lake is in S3). Asked after ``not_a_folder``."""
    if cfg.backend == "aws" and cfg.lake_bucket:
        return None
    root = Path(cfg.lake)
    if root.exists():
        if os.access(root, os.W_OK | os.X_OK):
            return None
        return (
            f"the lake {_where(root)} is read-only; this command writes to it (commands that "
            "only read it, such as `fuelpipe stations status`, still work; to run this one, "
            "point FUELPIPE_LAKE at a copy you can write to)"
        )
    folder = next(p for p in root.absolute().parents if p.exists())
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    return (
        f"cannot create the lake {_where(root)}: the folder {folder} is read-only; point "
        "FUELPIPE_LAKE at a folder you can write to"
    )


def not_a_folder(cfg: Any) -> str | None:
    """Why the local lake FUELPIPE_LAKE names cannot be a lake at all (it, or a folder above
    it, is a file), or None: an ingest creates a lake that is not there yet."""
    if cfg.backend == "aws" and cfg.lake_bucket:
        return None
    root = Path(cfg.lake)
    for folder in (root, *root.parents):
        if folder.exists() and not folder.is_dir():
            what = "is a file" if folder == root else f"is inside {folder}, a file"
            return f"FUELPIPE_LAKE {_where(root)} {what}, not a lake folder"
    return None


def _where(root: Path) -> str:
    return str(root) if root.is_absolute() else f"{root} (in {Path.cwd()})"


def print_ingest(summary: dict[str, Any]) -> None:
    """One row per CSV ingested (no table when none is), then the rejected rows (the first few;
    all are in the lake's ``_reports/``), the notes on what a file changed or did not, then one
    line of totals."""
    table = _ingest_table(summary)
    if table.row_count:  # every file refused: its error lines, not an empty table above them
        natural = console.measure(table, options=console.options.update_width(10_000)).maximum
        console.print(table if natural <= console.width else _narrow_ingest_table(summary))
    shown = 0
    for f in summary["files"]:
        for p in f.get("parts", []):
            for line in p["bad_rows"][: _SHOWN_BAD_ROWS - shown]:
                err.print(f"[yellow]rejected[/] {escape(line)}", highlight=False)
                shown += 1
    parts = [p for f in summary["files"] for p in f.get("parts", [])]
    unshown = sum(p.get("rejected", 0) for p in parts) - shown
    if unshown > 0:  # (a part's bad_rows hold its first few only: its count says how many)
        reports = [r for p in parts for r in p.get("reports", []) if r.endswith(".rejected.txt")]
        err.print(
            f"[yellow]rejected[/] … {unshown:,} more not shown: every rejected row is listed "
            "with its file and line in the lake's "
            + ", ".join(f"_reports/{escape(r)}" for r in reports),
            highlight=False,
            soft_wrap=True,
        )
    _print_notes(summary)
    for e in summary["errors"]:
        err.print(
            f"[bold red]error:[/] {escape(' '.join(e.split()))}", highlight=False, soft_wrap=True
        )
    replaced = summary.get("replaced", 0)
    console.print(
        f"{summary['rows']:,} rows read, {summary['written']:,} new in the lake, "
        f"{summary['rejected']:,} rejected (each with file and line), "
        + (f"{replaced:,} replacing an older version's values, " if replaced else "")
        + f"{summary['unchanged']} file(s) unchanged (their content is in the lake already)"
    )


def _ingest_table(summary: dict[str, Any]) -> Table:
    """One row per CSV ingested (or file unchanged, or CSV skipped)."""
    table = Table(
        Column("file", overflow="fold"),  # a long name on two lines, never cut to `…`
        "format",
        "rows",
        "written",
        "dup. in file",
        "already in lake",
        "replaced",
        "rejected",
        "kind",
        title="station files",
    )
    for f in summary["files"]:
        if f.get("unchanged"):  # as a file on disk ingested before says it
            why = "skipped: unchanged since it was ingested (304: not downloaded)"
            table.add_row(escape(f["name"]), "-", why, "", "", "", "", "", "", end_section=False)
            continue
        for p in f["parts"]:
            if p["skipped"]:
                skipped = escape("skipped: " + p["skipped"])
                table.add_row(escape(p["name"]), p["format"], skipped, "", "", "", "", "", "")
                continue
            table.add_row(
                escape(p["name"]),
                p["format"],
                f"{p['rows']:,}",
                f"{p['written']:,}",
                f"{p['duplicates_in_file']:,}",
                f"{p['already_in_lake']:,}",
                f"{p.get('replaced', 0):,}",
                f"{p['rejected']:,}",
                p.get("kind") or "-",
            )
    return table


_LOOK_AT = (
    ("duplicates_in_file", "dup. in file"),
    ("already_in_lake", "already in lake"),
    ("replaced", "replaced"),
    ("rejected", "rejected"),
)
"""The narrow table's "to look at": a CSV's counts named when not 0."""


def _narrow_ingest_table(summary: dict[str, Any]) -> Table:
    """The ingest's table on a terminal narrower than the full one (about 110 columns): one
    row per CSV with its rows and those written, its format and kind under its name, and
    its other counts in one column, one a line, named when not 0; a skipped file's reason
    under its name. It fits 60 columns (a name longer than the column folds); ``--json`` has
    every count."""
    table = Table(
        Column("file", overflow="fold", ratio=3),
        *(Column(head, justify="right", no_wrap=True) for head in ("rows", "written")),
        Column("to look at", ratio=2),
        title="station files",
        caption="to look at: rows duplicated in the file, already in the lake, replacing the "
        "lake's value and rejected, when not 0; every column on a terminal wide enough for "
        "them (about 110 columns, more for a long name), or --json",
        caption_justify="left",
    )
    for f in summary["files"]:
        if f.get("unchanged"):
            why = "skipped: unchanged since it was ingested (304: not downloaded)"
            table.add_row(f"{escape(f['name'])}\n[dim]{why}[/]", "-", "-", "-")
            continue
        for p in f["parts"]:
            name = escape(p["name"])
            if p["skipped"]:
                skipped = escape("skipped: " + p["skipped"])
                table.add_row(f"{name}\n[dim]{skipped}[/]", "-", "-", "-")
                continue
            what = escape(", ".join([p["format"], p.get("kind") or "-"]))
            look = [f"{p.get(k, 0):,} {words}" for k, words in _LOOK_AT if p.get(k, 0)]
            table.add_row(
                f"{name}\n[dim]{what}[/]",
                f"{p['rows']:,}",
                f"{p['written']:,}",
                escape("\n".join(look)) or "-",
            )
    return table


_NOTES = (
    ("differing", "row(s) repeat a record of the file with other prices; the file's "
     "first wins, and each is listed in"),
    ("not_kept", "record(s) of a rolling file, or of a file of undecided kind, differ from a "
     "record the lake keeps from a consolidated (or undecided) file, which may have corrected "
     "it; each value not kept is listed in"),
    ("revised", "record(s) of the lake replaced by this newer version's other values; "
     "each value displaced is listed in"),
)  # fmt: skip


def _print_notes(summary: dict[str, Any]) -> None:
    """Per file: how many records it repeated, did not displace or displaced, and the lake's
    report listing them; per CSV whose kind is undecided and that holds a valid record, and
    per CSV that ends inside its last record (cut short: that record rejected), a warning."""
    for f in summary["files"]:
        parts = f.get("parts", [])
        reports = {r.rsplit(".", 2)[-2]: r for p in parts for r in p.get("reports", [])}
        for note, what in _NOTES:
            count = sum(_count(p, note) for p in parts)
            if count:
                report = reports.get("revised" if note == "revised" else "differing", "?")
                err.print(
                    f"[yellow]note[/] {escape(f['name'])}: {count:,} {what} the lake's "
                    f"_reports/{escape(report)}",
                    highlight=False,
                )
        for p in parts:
            # A CSV none of whose records is valid (a header alone, say) puts nothing in the
            # lake: its kind decides nothing, and "ingest it again with --kind" would mislead.
            if p.get("kind") == UNDECIDED and p.get("rows", 0) > p.get("rejected", 0):
                line = f"[yellow]warning[/] {escape(_undecided(p))}"
                err.print(line, highlight=False, soft_wrap=True)
            if p.get("cut_line"):
                line = f"[yellow]warning[/] {escape(_cut(p))}"
                err.print(line, highlight=False, soft_wrap=True)


def _count(part: dict[str, Any], note: str) -> int:
    """A CSV's count for one of ``_NOTES`` (its differing lines hold its values not kept)."""
    if note == "revised":
        return int(part.get("replaced", 0))
    if note == "differing":
        return int(part.get("differing", 0)) - int(part.get("not_kept", 0))
    return int(part.get(note, 0))


def _cut(part: dict[str, Any]) -> str:
    """The line saying a CSV ends inside its last record, which was not ingested."""
    return (
        f"{part['name']}: the file ends inside its last record, line {part['cut_line']} (no "
        "line end; a truncated download or copy?): that record is rejected, not ingested, "
        "and the file's other records are. Ingest the whole file to add it"
    )


def _undecided(part: dict[str, Any]) -> str:
    """The line saying a CSV's kind could not be decided, why, what the lake did about it,
    and how to decide it."""
    return (
        f"{part['name']}: rolling or consolidated file, undecided: {part.get('kind_why')}. "
        "Until it is decided its records displace only a rolling file's, and no rolling "
        "file's displace them (each value not kept is listed in a differing report); "
        "ingest it again with --kind rolling or --kind consolidated, and --force"
    )


KIND_HELP = (
    "What the files are, which decides what their records may displace: 'rolling' (ANP's "
    f'provisional "últimas 4 semanas" files, {ROLLING_WEEKS} survey weeks republished weekly: '
    "their records never displace a consolidated file's, which may have corrected them) or "
    "'consolidated' (monthly, semiannual: the newest version ingested wins). 'auto' decides "
    f"each CSV by its collection days: more than {ROLLING_WEEKS} survey weeks, none without a "
    f"collection day, is consolidated, at most {ROLLING_WEEKS} over two months rolling; when "
    f"they cannot tell (at most {ROLLING_WEEKS} weeks of one month, or a longer span with an "
    "empty week), ANP's name for the file does, and a file with "
    "neither is reported undecided (its records then displace only a rolling file's, and no "
    "rolling file's displace them). Give it with --force for a file ingested before. A file "
    "whose ingest was interrupted is completed by a rerun as the kind it was given then, "
    "unless the rerun gives rolling or consolidated ('auto', the default, keeps that kind)."
)


@stations_app.command("ingest")
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Station files on disk; without any, download from ANP's listing."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Only listed files whose name contains this text (any case; repeatable).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Download and ingest even files seen before.")
    ] = False,
    kind: Annotated[
        str, typer.Option("--kind", help=KIND_HELP, metavar="[auto|rolling|consolidated]")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Download (conditional GET) and ingest ANP station files: CSV (UTF-8 with or without a
    BOM, Latin-1, or lines of both), ZIP, or XLSX under a .csv name, recognised by content,
    into the lake FUELPIPE_LAKE (default ./data/lake; created if need be).

    A record that fails a check is a rejected row named by its file and line (the first 20
    are printed, every one is in the lake's _reports/), and the rest of its file is
    ingested. A file's last record is one too when the file ends inside it (no line end: a
    truncated download?). A file that cannot be read or is not ANP's station data is one
    error: line, the other files are ingested, and the exit code is 1.

    One ingest per lake at a time: a second one is refused before it reads or writes
    anything, naming the running one (its command, pid and since when), and exits 4.
    Queries and the dashboard are not held back."""
    from fuelpipe.stages.stations import IngestInterrupted, ingest_local, ingest_remote

    if kind.lower() not in ("auto", *KINDS):
        raise fail(f"--kind is auto, rolling or consolidated, not {kind!r}")
    given_kind = None if kind.lower() == "auto" else kind.lower()
    if paths and only:
        raise fail("--only picks files from ANP's listing; it does not apply to files given")
    if only and not all(o.strip() for o in only):
        raise fail(
            "--only is blank: it would match every listed file; give a part of a file's name, "
            "or leave --only out to ingest them all"
        )
    absent = [(p, _not_a_file(p)) for p in paths or [] if not p.is_file()]
    given = [p for p in paths or [] if p.is_file()]
    if paths and not given:  # nothing to ingest: a typo, not a batch
        raise fail("; ".join(f"{p}: {why}" for p, why in absent))
    lake = _lake(ctx, writes=True)
    try:
        with only_writer(lake), display.bar(console, disable=as_json) as progress:
            if given:
                summary = ingest_local(lake, given, force=force, progress=progress, kind=given_kind)
            else:
                from fuelpipe.homes.lake import build_station_source

                source = build_station_source(settings(ctx))
                try:
                    summary = ingest_remote(
                        lake,
                        source,
                        only=only or (),
                        force=force,
                        progress=progress,
                        kind=given_kind,
                    )
                finally:
                    source.close()
    except IngestInterrupted as stop:  # which file is left incomplete; then exit 130 as ever
        err.print(
            f"[bold red]error:[/] {escape(_interrupted(stop, lake.incomplete()))}",
            highlight=False,
            soft_wrap=True,
        )
        raise
    if lake.migrated is not None and not as_json:
        err.print(_migrated_line(lake.migrated), highlight=False, soft_wrap=True)
    _refused_to_errors(summary, given)
    # a path that is not a file is that path's error: the rest of the batch went on
    summary.errors[:0] = [f"{p}: {why}; not ingested" for p, why in absent]
    not_applied = _kind_not_applied(lake, summary, given_kind)
    if not_applied:
        from fuelpipe.cli.main import warn

        for line in not_applied:
            warn(line)
    _report_ingest(summary, as_json)
    if not_applied:
        raise typer.Exit(EXIT_INGEST_ERRORS)


def _kind_not_applied(lake: Any, summary: IngestSummary, kind: str | None) -> list[str]:
    """A line per file skipped as ingested before whose recorded kind is not the --kind
    given: without --force the kind is not applied, which said nothing before."""
    if kind is None:
        return []
    from fuelpipe.adapters.lake.engine import by_source, source_key

    recorded = by_source(lake.storage.read_manifest())["files"]
    lines = []
    for f in summary.files:
        parts = f.get("parts") or []
        if f.get("unchanged"):  # answered 304: not downloaded
            keys = {source_key(f["url"])}
        elif parts and all(p.get("already_ingested") for p in parts):
            keys = {p["already_ingested"] for p in parts}
        else:
            continue
        kinds = {p.get("kind") for k in keys for p in recorded.get(k, {}).get("parts", [])}
        kinds.discard(None)  # recorded before kinds were: which kind it holds is not known
        if kinds and kinds != {kind}:
            lines.append(
                f"{f['name']}: skipped as ingested before, as {', '.join(sorted(map(str, kinds)))}"
                f": --kind {kind} is not applied; add --force to ingest it again as {kind}"
            )
    return lines


def _report_ingest(summary: IngestSummary, as_json: bool) -> None:
    """The ingest's table, notes and totals (or its JSON); exit 1 after any error."""
    result = summary.as_dict()
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    elif summary.listing_unread:
        # An empty table and a line of zeros around it buried the one line that matters.
        (error,) = summary.errors
        raise fail(
            f"{' '.join(error.split())}; nothing was downloaded: check the network and "
            "FUELPIPE_SOURCE_SHPC_URL, or give the station files on disk "
            "(`fuelpipe stations ingest FILE…`)",
            code=EXIT_INGEST_ERRORS,
        )
    else:
        print_ingest(result)
    if summary.errors:
        raise typer.Exit(EXIT_INGEST_ERRORS)


def _interrupted(stop: IngestInterrupted, incomplete: dict[str, Any]) -> str:
    """The line an interrupted ingest ends with: the file it was on, whether some of it is in
    the lake already, and what completes it."""
    shown = stop.name if _is_url(stop.source) else stop.source
    state = (
        "some of its partitions are in the lake, but it is not recorded as ingested "
        "(`fuelpipe stations status` lists it as incomplete)"
        if stop.source in incomplete
        else "nothing of it was written"
    )
    return (
        f"interrupted while ingesting {shown}: {state}; {stop.done} file(s) before it were "
        "done; run the same `fuelpipe stations ingest` again to complete it (files already "
        "ingested are skipped)"
    )


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _not_a_file(path: Path) -> str:
    """Why a path given to `stations ingest` is not a file to read."""
    if path.is_dir():  # (its files are not taken: a folder may hold more than ANP's)
        return f"is a folder, not a file: give the files in it, e.g. {path / '*.csv'}"
    return "no such file" if not path.exists() else "is not a regular file"


EXIT_INGEST_ERRORS = 1
"""`stations ingest` exit code when a file could not be read or ingested (the others were)."""
EXIT_LAKE_BUSY = 4
"""`stations ingest` refused: another ingest writes the same lake (as `watch`'s 4)."""


@contextmanager
def only_writer(lake: Any, command: str = "fuelpipe stations ingest") -> Iterator[None]:
    """Hold the lake's write lock while inside (``command`` names this one to an ingest
    refused); another ingest holding it is one clear line and exit 4, before anything is read
    or downloaded. An S3 lock lost while inside (it expired) stops the ingest, exit 1."""
    from fuelpipe.cli.main import take_lock
    from fuelpipe.ports.lake import LakeBusy, LakeLockLost

    with ExitStack() as held:
        take_lock(
            lambda: held.enter_context(lake.writing(command)),
            f"the lake {lake.storage.describe()}",
            LakeBusy,
            lambda busy: f"{busy}: one ingest per lake at a time (run this one again when it ends)",
            EXIT_LAKE_BUSY,
        )
        try:
            yield
        except LakeLockLost as lost:
            raise fail(str(lost), code=EXIT_INGEST_ERRORS) from None


def _refused_to_errors(summary: Any, paths: list[Path]) -> None:
    """Files the lake refused as not ANP station data (nothing of them was written or
    recorded) leave the table and become one error line each, naming the file as given.
    A ZIP member that could not be read is an error line too (the file stays in the table:
    its other members were written), as the file was not recorded and is read again."""
    given: dict[str, Path] = {}
    for p in paths:
        given.setdefault(p.name, p)
    kept = []
    for f in summary.files:
        parts = f.get("parts") or []
        named = given.get(f["name"], f["name"])
        if parts and all(p.get("refused") for p in parts):
            what = "could not be read" if parts[0].get("unreadable") else "not ANP station data"
            summary.errors.append(f"{named}: {what}: {parts[0]['skipped']}")
            continue
        kept.append(f)
        summary.errors.extend(
            f"{named}: {p['name']}: {p['skipped']}; the other members were ingested and the "
            "file is read again on the next run"
            for p in parts
            if p.get("unreadable")
        )
    summary.files = kept


@stations_app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the files and partitions as JSON.")
    ] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="The files' table with every column (about 245 wide): each file's source "
            "(URL or path), the instant of its ingest to the microsecond (São Paulo time), the "
            "replaced and rejected rows, its reports and what its latest ingest was (--force, "
            "changed nothing) each in a column. --json always has them.",
        ),
    ] = False,
) -> None:
    """Files ingested (with their counts), an incomplete: line per interrupted ingest (the
    command that completes it, and the --kind it keeps), and rows per product and month.

    The files' table fits 100 columns: each file's name, when it was ingested (São Paulo time
    with its offset, to the minute, as the other commands show instants; --json: UTC, as the
    manifest keeps it), its rows and those written, the replaced and rejected rows when not 0,
    and a line below it per file that wrote reports in _reports/. The counts are the file's
    latest ingest's: when it was given --force, or changed nothing (no row written or
    replaced), the "to look at" column says so. --wide adds each file's source (the URL or
    path it was read from) and --json gives every field.
    """
    from fuelpipe.cli.main import refuse_wide

    refuse_wide(wide, "--json" if as_json else None, "every field")
    state = _lake(ctx, existing=True).status()
    if as_json:
        print(json.dumps(state, indent=2, default=str, ensure_ascii=False))
        return
    title = f"lake {state['lake']}"
    files = sorted(state["files"].items())
    if wide:
        _print_whole(_wide_files(files, title))
    else:
        console.print(_narrow_files(files, title))
        for key, entry in files:
            if reports := entry.get("reports"):
                line = f"{entry.get('name', key)}: reports in _reports/: {', '.join(reports)}"
                console.print(line, markup=False, highlight=False)
    if (layout := state["layout"]) < LAKE_LAYOUT:
        console.print(old_layout_notice(layout), style="red", highlight=False)
    for key, mark in sorted(state["incomplete"].items()):
        line = _incomplete_line(mark.get("name", key), mark)
        console.print(escape(line), style="red", highlight=False)
    parts = Table(
        "product",
        "month",
        *(Column(head, justify="right") for head in ("rows", "stations")),
        "first day",
        "last day",
    )
    for p in state["partitions"]:
        parts.add_row(
            p["product"],
            p["month"],
            f"{p['observations']:,}",
            f"{p['stations']:,}",
            str(p["first_day"]),
            str(p["last_day"]),
        )
    console.print(parts)


def _print_whole(table: Table) -> None:
    """A --wide table with every cell whole: wider than the terminal, or than the 150 columns
    of a pipe, if need be."""
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    before = console.width
    console.width = max(before, natural)  # print's width= can only narrow
    try:
        console.print(table)
    finally:
        console.width = before


def _file_counts(parts: list[dict[str, Any]]) -> dict[str, int]:
    """A file's rows, written, replaced and rejected: the sums over its parts."""
    return {
        "rows": sum(p["rows"] for p in parts),
        "written": sum(p["written"] for p in parts),
        "replaced": sum(p.get("replaced", 0) for p in parts),
        "rejected": sum(p["rejected"] for p in parts),
    }


def _latest(entry: dict[str, Any], n: dict[str, int]) -> str | None:
    """What a file's latest ingest (the one its counts are) was, when a reader would not tell
    from the counts: given --force (``forced``), and whether it changed nothing in the lake
    (no row written or replaced: every record was there, a duplicate or rejected); and each
    CSV that ended inside its last record (``cut_line``: that record rejected, not ingested)."""
    forced = "--force" if entry.get("forced") else None
    nothing = "changed nothing" if n["written"] == 0 and n["replaced"] == 0 else None
    cut = [
        f"cut short: {p['name']} ends inside line {p['cut_line']}, not ingested"
        for p in entry.get("parts", [])
        if p.get("cut_line")
    ]
    said = ": ".join(w for w in (forced, nothing) if w)
    return "; ".join(w for w in (said, *cut) if w) or None


def _sao_paulo(instant: str, timespec: str = "auto") -> str:
    """A manifest's instant (UTC, to the microsecond) in São Paulo time with its offset, as the
    other commands show instants (``2025-04-20T07:15-03:00`` to the minute)."""
    return sao_paulo_iso(datetime.fromisoformat(instant), timespec)


def _narrow_files(files: list[tuple[str, dict[str, Any]]], title: str) -> Table:
    """The default files table, under 100 columns for ANP's names: no source column (a name
    ingested from several folders gets its folder's name on a second line), the replaced and
    rejected rows named when not 0 (the reports are listed below it)."""
    table = Table(
        "file",
        "ingested",
        *(Column(head, justify="right") for head in ("rows", "written")),
        Column("to look at", max_width=display.LOOK_AT_WIDTH),
        title=title,
        caption="to look at: replaced and rejected rows when not 0, whether the latest "
        "ingest was given --force and whether it changed nothing (the counts are its own), "
        "a file that ends inside its last record (cut short: that record not ingested); "
        "each file's source: --wide or --json",
        caption_justify="left",
    )
    names = Counter(entry.get("name", key) for key, entry in files)
    for key, entry in files:
        n, name = _file_counts(entry["parts"]), entry.get("name", key)
        if names[name] > 1:  # ANP's year folders: say which folder each came from
            source = str(entry.get("source") or key)
            path = PurePosixPath(urlsplit(source).path) if _is_url(source) else Path(source)
            name += f"\nfrom …/{path.parent.name}/"
        table.add_row(
            escape(name),
            _sao_paulo(entry["ingested_at"], "minutes"),
            f"{n['rows']:,}",
            f"{n['written']:,}",
            ", ".join(
                [f"{n[k]:,} {k}" for k in ("replaced", "rejected") if n[k]]
                + [w for w in [_latest(entry, n)] if w]
            )
            or "-",
        )
    return table


def _wide_files(files: list[tuple[str, dict[str, Any]]], title: str) -> Table:
    """`--wide`: every column, the source as given and the instant to the microsecond."""
    table = Table(
        "file",
        "source",
        "ingested at",
        "rows",
        "written",
        "replaced",
        "rejected",
        "reports (_reports/)",
        "latest ingest",
        title=title,
    )
    for key, entry in files:
        n = _file_counts(entry["parts"])
        table.add_row(
            escape(entry.get("name", key)),
            escape(str(entry.get("source") or key)),
            _sao_paulo(entry["ingested_at"]),
            *(f"{n[k]:,}" for k in ("rows", "written", "replaced", "rejected")),
            escape("\n".join(entry.get("reports", []))),
            escape(_latest(entry, n) or "-"),
        )
    return table


@stations_app.command("migrate")
def migrate(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print what it did as JSON.")] = False,
) -> None:
    """Rewrite a lake written in an older layout in today's: every CNPJ as its 14 digits
    (partitions written before kept ANP's 12.345.678/0001-95), one row per station, fuel
    and day. Each partition is written whole, then swapped in; the manifest records the
    layout last, so a migration stopped anywhere is completed by running it again, and one
    on a lake of today's layout changes nothing. An ingest runs it first when needed."""
    lake = _lake(ctx, existing=True, writes=True)
    with (
        only_writer(lake, "fuelpipe stations migrate"),
        display.bar(console, disable=as_json) as progress,
    ):
        done = lake.migrate(lambda n, total: progress("migrate", n, total))
    if as_json:
        print(json.dumps(done.as_dict(), indent=2))
        return
    print(_migrated_line(done))


def _migrated_line(done: Any) -> str:
    from fuelpipe.adapters.lake.engine import MIGRATION_REPORT

    if done.layout_before >= LAKE_LAYOUT:
        return f"layout {done.layout_before}: nothing to migrate"
    line = (
        f"migrated to layout {done.layout}: {len(done.rewritten)} of {done.partitions} "
        f"partition(s) rewritten, {done.duplicates:,} duplicate row(s) dropped"
    )
    if done.differing:
        line += (
            f" ({len(done.differing):,} with other prices, listed in _reports/{MIGRATION_REPORT})"
        )
    return line


def _incomplete_line(name: str, mark: dict[str, Any]) -> str:
    """`stations status`'s line for a file whose ingest stopped part-way."""
    source = str(mark.get("source") or "")
    again = (
        f"fuelpipe stations ingest --only {name}"
        if _is_url(source)
        else f"fuelpipe stations ingest {source or name}"
    )
    given = mark.get("kind")
    as_given = f" (as --kind {given}, which the stopped ingest was given)" if given else ""
    started = mark.get("started_at")
    if started:  # in UTC in the manifest; shown as the table's instants (a naive one is UTC)
        at = datetime.fromisoformat(str(started))
        started = sao_paulo_iso(at if at.tzinfo else at.replace(tzinfo=UTC), "minutes")
    if mark.get("superseded"):
        return (
            f"incomplete: {name} (sha256 {str(mark.get('sha256'))[:12]}): its ingest started at "
            f"{started} and stopped part-way, and a later version from the same "
            "source was ingested since: some of this version's records may be in the lake, it "
            "is not recorded as ingested; ingest a copy of this version to complete it"
            f"{as_given}"
        )
    return (
        f"incomplete: {name}: its ingest started at {started} and stopped "
        "part-way: some of its partitions may be in the lake, it is not recorded as ingested; "
        f"run `{again}` to complete it{as_given}"
    )


def _output_format(given: str) -> str:
    """--format in any case, spaces around it dropped, as `fuelpipe export` and these
    commands' --fuel and --state take theirs."""
    fmt = given.strip().lower()
    if fmt not in ("table", "csv", "json"):
        raise fail(f"--format must be table, csv or json, not {given!r}")
    return fmt


def _refuse_wide(wide: bool, fmt: str, gives: str) -> None:
    """--wide is the table's: with -f csv or -f json (``fmt``), which always give ``gives``,
    it is refused rather than ignored."""
    from fuelpipe.cli.main import refuse_wide

    refuse_wide(wide, None if fmt == "table" else f"-f {fmt}", gives)


def _days(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    """--since and --until, checked before the lake or the store is opened: a bad date is
    refused as every command refuses one (`--since '2025-13-01' is not a date`), and so is a
    --since after --until."""
    from fuelpipe.cli.main import _date, _typed

    first, last = _date(since, "--since"), _date(until, "--until")
    if first is not None and last is not None and first > last:  # named as typed: --from, --to
        raise fail(f"{_typed('--since')} {first} is after {_typed('--until')} {last}")
    return first, last


def _span(
    lake: Any, first: date | None, last: date | None, fuel: str | None = None
) -> tuple[date, date]:
    """The collection days asked for (:func:`_days`); the lake's last 4 survey weeks by default
    (with ``fuel``, that fuel's last 4 when the lake holds it, as the page's views), the 4
    survey weeks up to --until without --since (:func:`~fuelpipe.domain.stations.span_asked`)."""
    if first is None or last is None:
        windows = lake.fuel_windows()
        window = windows.get(fuel) if fuel else None
        of = f"{fuel} " if window else ""
        window = window or lake_window(windows)
        if window is None:
            raise fail("the lake is empty: run `fuelpipe stations ingest` first")
        first, last = span_asked(window, first, last)
        if first > last:  # only a --since given can be: :func:`_days` checked both given
            raise fail(
                f"--since {first} is after the lake's last {of}collection day {last}, where the "
                f"query ends without --until: the lake holds {of}collection days {window[0]} to "
                f"{window[1]}"
            )
    return first, last


def _print_result(
    result: Any, fmt: str, title: str, *, wide: bool = False, span: dict[str, date] | None = None
) -> None:
    """The answer as ``fmt`` asks. csv and json give the figures as the API does (to
    FIGURE_DECIMALS places; the table shows three) and, after the query's columns, the
    ``span`` it covers on every row (:func:`~fuelpipe.domain.stations.span_answered`; a
    column of the query's own name is kept, as the API keeps it); the table says the span in
    its ``title``."""
    extra = {k: v.isoformat() for k, v in (span or {}).items() if k not in result.columns}
    columns = [*result.columns, *extra]
    if fmt == "json":
        records = [
            dict(zip(result.columns, [figure(v) for v in row], strict=True)) | extra
            for row in result.rows
        ]
        print(json.dumps(records, indent=2, default=str, ensure_ascii=False))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([*(figure_text(v) for v in row), *extra.values()] for row in result.rows)
        sys.stdout.write(buf.getvalue())
    elif wide:
        table = Table(*result.columns, title=title)
        for row in result.rows:
            table.add_row(*(_table_cell(v) for v in row))
        _print_whole(table)
    elif "cnpj" in result.columns:  # station_search: a row per station and fuel
        console.print(_narrow_stations(result.columns, result.rows, title))
    else:
        console.print(_narrow_result(result.columns, result.rows, title))


QUERY_HEADS = {"state": "UF", "observations": "obs", "p90_p10": "p90-p10"}
"""The default query table's shorter headers (CSV, JSON and --wide keep the columns' names)."""
QUERY_RANGES = {"p10": ("p90", "p10–p90"), "min_price": ("max_price", "min–max")}
"""Pairs of columns the default query table shows as one range, under one header."""
QUERY_DROPPED = ("street", "number", "neighbourhood")
"""Columns the default query table leaves out (station_search's address: --wide, CSV, JSON)."""


def _narrow_result(columns: list[str], rows: list[Any], title: str) -> Table:
    """A query's default table, to fit 100 columns: shorter headers, numbers right-aligned,
    p10 and p90 and the min and max prices as ranges, the address left out."""
    at = {c: i for i, c in enumerate(columns)}
    ranges = {lo: hi for lo, (hi, _) in QUERY_RANGES.items() if lo in at and hi in at}
    shown = [c for c in columns if c not in QUERY_DROPPED and c not in ranges.values()]
    numeric = {  # (a column with no value in some rows, the sd of one price, is still one)
        c
        for c in shown
        if any(r[at[c]] is not None for r in rows)
        and all(isinstance(r[at[c]], int | float) for r in rows if r[at[c]] is not None)
    }
    heads = [
        Column(
            QUERY_RANGES[c][1] if c in ranges else QUERY_HEADS.get(c, c),
            justify="right" if c in numeric else "left",
        )
        for c in shown
    ]
    dropped = [c for c in QUERY_DROPPED if c in at]
    table = Table(
        *heads,
        title=title,
        caption=f"{', '.join(dropped)}: --wide or -f csv|json" if dropped else None,
        caption_justify="left",
    )
    for r in rows:
        table.add_row(
            *(
                _table_cell(r[at[c]]) + (f"–{_table_cell(r[at[ranges[c]]])}" if c in ranges else "")
                for c in shown
            )
        )
    return table


STATION_WIDTHS = {"station": 24, "municipality": 15, "brand": 10}
"""The widths station_search's default table wraps the station's name (its CNPJ on the line
below), the municipality (its UF after a slash) and the brand to, for the table to fit 100
columns with a price of LPG (116.000/13kg): at spaces, a longer word (SUPERGASBRAS) folded,
never cut (--wide: every cell whole, on one line)."""
PRODUCT_WIDTH = 10
"""A fuel's name longer than this (GASOLINE_PREMIUM) breaks after its underscore."""


def _narrow_stations(columns: list[str], rows: list[Any], title: str) -> Table:
    """station_search's default table, to fit 100 columns with every figure and name: the
    CNPJ below the station's name, the UF after the municipality, the unit after the price
    (BRL/l as /l), long names wrapped, a station's name, town and brand on its first fuel's row
    only (a rule below its last); the address left out (--wide, CSV and JSON)."""
    at = {c: i for i, c in enumerate(columns)}
    table = Table(
        Column("station, CNPJ", max_width=STATION_WIDTHS["station"], overflow="fold"),
        Column("municipality/UF", max_width=STATION_WIDTHS["municipality"], overflow="fold"),
        Column("brand", max_width=STATION_WIDTHS["brand"], overflow="fold"),
        Column("product", no_wrap=True),
        Column("collected", no_wrap=True),
        Column("price (BRL)", justify="right", no_wrap=True),
        title=title,
        caption=f"{', '.join(c for c in QUERY_DROPPED if c in at)}: --wide or -f csv|json",
        caption_justify="left",
    )
    cnpjs = [r[at["cnpj"]] for r in rows]
    before: list[str] = []
    for i, r in enumerate(rows):
        product, unit = str(r[at["product"]]), str(r[at["unit"]])
        if len(product) > PRODUCT_WIDTH:
            product = product.replace("_", "_\n", 1)
        station = [
            f"{_table_cell(r[at['station']])}\n{_table_cell(r[at['cnpj']])}",
            f"{_table_cell(r[at['municipality']])}/{_table_cell(r[at['state']])}",
            _table_cell(r[at["brand"]]),
        ]
        # rows come grouped by station: a cell left blank is the one above (a fuel can be
        # sold under another brand than the station's others: that one is shown)
        shown = station
        if i and cnpjs[i - 1] == cnpjs[i]:
            shown = [c if c != b else "" for c, b in zip(station, before, strict=True)]
        before = station
        table.add_row(
            *shown,
            escape(product),
            _table_cell(r[at["collected"]]),
            _table_cell(r[at["price"]])
            + escape(unit.removeprefix("BRL") if unit.startswith("BRL/") else f" {unit}"),
            end_section=i + 1 < len(rows) and cnpjs[i + 1] != cnpjs[i],
        )
    return table


SinceOption = Annotated[
    str | None, typer.Option("--since", "--from", help="First day (YYYY-MM-DD).")
]
UntilOption = Annotated[str | None, typer.Option("--until", "--to", help="Last day (YYYY-MM-DD).")]
"""A window's options as every windowed command takes them: `outlook backtest`'s
--from/--to are aliases here, and --since/--until there."""


_WINDOW = frozenset({"month_from", "month_to", "week_from", "week_to"})
QUERY_OPTIONS: dict[str, frozenset[str]] = {
    "--fuel": frozenset({"product"}),
    "--since": _WINDOW,
    "--until": _WINDOW,
    "--state": frozenset({"state"}),
    "--municipality": frozenset({"municipality"}),
    "--text": frozenset({"text", "cnpj_text"}),
}
"""Each option of `stations query` and the query parameters it sets; a query takes the options
whose parameters it uses (--format and --athena go with every query)."""


LAKE_ENDS = frozenset({"window"})
"""Queries whose month parameters are the lake's own first and last month (found from its
partitions), not a span asked for: they take no --since/--until."""


STATE_KEPT = frozenset({"municipality_ranking"})
"""Queries whose rows --state keeps to one state's (the national ranking's order, the page's
/api/stations/ranking?state=), not a parameter of their SQL text."""


def options_of(name: str) -> list[str]:
    """The options a query takes, in the order of QUERY_OPTIONS."""
    params = set() if name in LAKE_ENDS else set(QUERIES[name].params)
    params |= {"state"} if name in STATE_KEPT else set()
    return [option for option, sets in QUERY_OPTIONS.items() if sets & params]


def _query_help() -> str:
    named = [f"{n} ({' '.join(options_of(n)) or 'no option'})" for n in QUERIES]
    return "One of: " + ", ".join(named) + "; in brackets, the options each one takes."


def _table_cell(value: Any) -> str:
    """A query's cell in a table: a figure to three places, a count (every integer column is
    one) with thousands separators as `stations status` writes them (CSV and JSON keep the
    bare number); ``-`` for no value (the standard deviation of one price: null in JSON,
    empty in CSV)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return escape(str(value))


@stations_app.command("query")
def query(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=_query_help())],
    fuel: Annotated[
        str | None, typer.Option(help=f"One of {', '.join(FUELS)} (default GASOLINE).")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    state: Annotated[
        str | None,
        typer.Option(help="UF (one of the 27), e.g. SP; municipality_ranking keeps its towns."),
    ] = None,
    municipality: Annotated[
        str | None, typer.Option(help="As ANP writes it; with --state.")
    ] = None,
    text: Annotated[str | None, typer.Option(help="Name, CNPJ or town to search for.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table, csv or json (any case).")
    ] = "table",
    athena: Annotated[
        bool,
        typer.Option(help="AWS home: run it on Athena (the stack's workgroup) instead of DuckDB."),
    ] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="The table with every column under its name, as CSV and JSON give them, "
            "every cell whole (the default table fits 100 columns).",
        ),
    ] = False,
) -> None:
    """Run one of the lake's queries (the same SQL text Athena runs in the AWS home).

    The window is the fuel's last 4 survey weeks in the lake (a search's: the lake's) unless
    --since/--until say otherwise, answered
    over the whole survey weeks holding them (Sunday to Saturday): the table's title says
    them, and -f csv or -f json end every row with start and end (the days asked for),
    covered_start and covered_end (the weeks answered).
    An option the query does not take is refused, not ignored.

    Figures are over prices (obs: one per station and collection day), not stations: a station
    surveyed each week counts each week. The median, p10 and p90 interpolate between ranks
    (DuckDB's quantile_cont). municipality_ranking lists every town with a price, cheapest
    median first, ties by state and then name, with no minimum: its stations and obs say how
    thin a town's figures are. brand_premium weighs each flag against unbranded (BRANCA)
    stations of the same town and week; brand_national does not match them.

    The table fits 100 columns: state is UF, observations obs, p10 and p90 one p10–p90 range,
    min_price and max_price one min–max range; station_search's gives each station's name
    (wrapped, its CNPJ below), municipality/UF and brand once above its fuels, each price with
    its unit (6.340/l is 6.340 BRL/l) and leaves out the street, number and neighbourhood;
    --wide shows every column under its name, every cell whole, and -f csv or -f json always
    give them.
    """
    given_name, name = name, name.strip().lower()  # in any case, as --fuel and --state
    if name not in QUERIES:
        raise fail(f"unknown query {given_name!r}; one of {', '.join(sorted(QUERIES))}")
    given = {
        "--fuel": fuel,
        "--since": since,
        "--until": until,
        "--state": state,
        "--municipality": municipality,
        "--text": text,
    }
    takes = options_of(name)
    unused = [
        option for option, value in given.items() if value is not None and option not in takes
    ]
    if unused:
        raise fail(
            f"{name} does not take {', '.join(unused)}; its options: "
            + ", ".join([*takes, "--format", "--athena"])
        )
    fuel = "GASOLINE" if fuel is None else fuel.strip().upper()
    if fuel not in FUELS:
        raise fail(f"--fuel must be one of {', '.join(FUELS)}, not {fuel!r}")
    fmt = _output_format(fmt)
    _refuse_wide(wide, fmt, "every column")
    if state is not None:
        state = state.strip().upper()
        if state not in STATES:
            raise fail(f"--state {state!r} is not a UF; one of {', '.join(sorted(STATES))}")
    municipality = municipality.strip() if municipality is not None else None  # blank: none
    if "--municipality" in takes and not (state and municipality):
        lacks = [o for o, v in (("--state", state), ("--municipality", municipality)) if not v]
        raise fail(
            f"{name} needs {' and '.join(lacks)} (it takes both), e.g. `fuelpipe stations query "
            f"{name} --state SP --municipality 'SAO PAULO'`"
        )
    if "--text" in takes:
        text = _check_search_text(name, text)
    if athena and settings(ctx).backend != "aws":
        raise fail(
            f"--athena needs the AWS home: FUELPIPE_BACKEND is {settings(ctx).backend!r}, "
            "set it to 'aws' (Athena's workgroup and database: FUELPIPE_ATHENA_WORKGROUP, "
            "FUELPIPE_GLUE_DATABASE); without --athena the query runs on the local lake "
            "(FUELPIPE_LAKE)"
        )
    windowed = "--since" in takes
    if athena and windowed and not (since and until):
        raise fail("--athena needs --since and --until")
    days = _days(since, until)  # none given unless the query takes them (refused above)
    lake = None if athena else _lake(ctx, existing=True)
    params: dict[str, Any] = {}
    title = name
    span: dict[str, date] = {}
    if windowed:
        first, last = _span(lake, *days, fuel if "--fuel" in takes else None)
        params = query_params(fuel, first, last, state, municipality, text or "")
        span = span_answered(first, last)
        weeks = f"{span['covered_start']}..{span['covered_end']}"  # the whole survey weeks
        title = f"{name} {fuel + ' ' if '--fuel' in takes else ''}{weeks}"
    result = _run_query(ctx, name, params, lake)
    if name in STATE_KEPT and state:
        at = result.columns.index("state")
        result = replace(result, rows=[r for r in result.rows if r[at] == state])
    _print_result(result, fmt, title, wide=wide, span=span)
    _explain(
        name,
        params,
        lake,
        title,
        empty=windowed and not result.rows,
        old=_old_layout(ctx, lake),
        unfilled=not windowed and all(v is None for row in result.rows for v in row),
        weeks={r[result.columns.index("week")] for r in result.rows}
        if "week" in result.columns
        else set(),
    )


def _old_layout(ctx: typer.Context, lake: Any) -> int | None:
    """The layout of the lake the query read when it is older than today's (one manifest
    read): the local lake's, or on Athena the lake bucket's (Athena reads its partitions as
    they are); None without a lake bucket, or when its manifest could not be read (said)."""
    if lake is not None:
        layout: int | None = lake.old_layout()
        return layout
    cfg = settings(ctx)
    if not cfg.lake_bucket:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    from fuelpipe.cli.main import warn
    from fuelpipe.homes.lake import build_storage

    storage = build_storage(cfg)
    try:
        return storage.old_layout()
    except (BotoCoreError, ClientError) as exc:
        warn(f"could not read {storage.describe()}'s manifest to check its layout: {exc}")
        return None


def _explain(
    name: str,
    params: dict[str, Any],
    lake: Any,
    title: str,
    *,
    empty: bool,
    old: int | None,
    unfilled: bool = False,
    weeks: set[date] | None = None,
) -> None:
    """On stderr (stdout stays the result): a lake of an older layout (``old``), whose answer
    may count one station twice; why a windowed query answered no row; the survey weeks a
    town's weekly rows (``weeks``, those answered) leave out within the fuel's days in the
    lake; and that a query without a window (``window``, ``coverage``) answered no value
    (``unfilled``) because the lake holds no record (its files had none: a header alone)."""
    from fuelpipe.cli.main import note, warn

    if old is not None:
        warn(old_layout_notice(old))
    if empty:
        note(_no_match(name, params, lake, title.removeprefix(f"{name} ")))
    elif name == "municipality_weekly" and lake is not None and weeks:
        held = lake.fuel_windows().get(params["product"])
        missing = _missing_weeks(params, weeks, held)
        if held and missing:
            note(
                f"{params['municipality']} ({params['state']}) has no {params['product']} price "
                f"in the lake in the survey week(s) of {', '.join(map(str, missing))}, inside "
                f"the lake's {params['product']} days ({held[0]} to {held[1]}): those weeks "
                "have no row"
            )
    elif unfilled and lake is not None and lake.window() is None:
        note("the lake holds no record yet: run `fuelpipe stations ingest`")


def _missing_weeks(
    params: dict[str, Any], weeks: set[date], held: tuple[date, date] | None
) -> list[date]:
    """The survey weeks (their Sundays) asked for and within ``held`` (the fuel's first and
    last collection day in the lake) that are not among ``weeks``."""
    if held is None:
        return []
    week = max(params["week_from"], week_start(held[0]))
    last = min(params["week_to"], week_start(held[1]))
    missing = []
    while week <= last:
        if week not in weeks:
            missing.append(week)
        week += timedelta(days=7)
    return missing


def _no_match(name: str, params: dict[str, Any], lake: Any, span: str) -> str:
    """Why a query over a window answered no row: what it asked, the lake's days (``lake`` is
    None on Athena) and, for a town that matched none, the closest names the state has."""
    takes = QUERIES[name].params
    asked = [span]
    state_given = "state" in takes or (name in STATE_KEPT and params["state"])
    asked += [f"--state {params['state']}"] if state_given else []
    asked += [f"--municipality {params['municipality']!r}"] if "municipality" in takes else []
    asked += [f"--text {params['text']!r}"] if "text" in takes else []
    out = f"no row: {name} found nothing for {' '.join(asked)}"
    if lake is None:
        return out
    window = lake.window()
    if window is None:
        return f"{out}; the lake is empty (run `fuelpipe stations ingest`)"
    first, last = window
    out += f"; the lake holds collection days {first} to {last}"
    if params["week_to"] + timedelta(days=6) < first or params["week_from"] > last:
        return f"{out}, none in the weeks asked"
    if "municipality" in takes:
        named = lake.towns_named(params["municipality"], params["month_from"], params["month_to"])
        towns = lake.municipalities(
            params["state"], params["product"], params["month_from"], params["month_to"]
        )
        close = closest_names(params["municipality"], towns)
        if named:
            out += _town_elsewhere(named, params["state"], params["product"])
        elif close:
            out += f"; the closest names in {params['state']}: {', '.join(close)}"
        elif towns:
            out += f"; none of the {len(towns)} municipalities of {params['state']} is close"
        out += " (`stations query station_search --text NAME` searches towns and stations)"
    elif name == "station_search":
        out += "; try a shorter part of the name, the town, or the CNPJ's first digits"
    return out


def _town_elsewhere(named: list[tuple[str, str, str]], state: str, fuel: str) -> str:
    """Why a town the lake holds (``named``: its state, name and fuel of each price, from
    ``towns_named``) answered no row: it is another state's, or has no price of ``fuel`` in
    those months (or has, in other weeks of them)."""
    here = sorted({p for s, _, p in named if s == state})
    if here:
        name = next(m for s, m, _ in named if s == state)
        if fuel in here:
            return f"; {name} ({state}) has {fuel} prices in those months, none in the weeks asked"
        others = ", ".join(here)
        return f"; {name} ({state}) has no {fuel} price in those months, only prices of {others}"
    states = sorted({s for s, _, p in named if p == fuel}) or sorted({s for s, _, _ in named})
    name = next(m for s, m, _ in named if s == states[0])
    where = states[0] if len(states) == 1 else f"{', '.join(states[:-1])} and {states[-1]}"
    give = f"give --state {states[0]}" if len(states) == 1 else "give one as --state"
    return f"; {name} is a municipality of {where}, not {state}: {give}"


SEARCH_TEXT_CHARS = (2, 60)
"""The length --text may have (stripped), as /api/stations/search allows for ``q``."""


def _check_search_text(name: str, text: str | None) -> str:
    """The text to search for, without its outer spaces (as the dashboard's ``q``). A search
    needs one: without one (or with one letter) it would list every station "best matches
    first", which matches nothing in particular."""
    shortest, longest = SEARCH_TEXT_CHARS
    what = "a station name, CNPJ or town"
    if text is None:
        raise fail(f"{name} needs --text: {what} of at least {shortest} characters")
    if not shortest <= len(text.strip()) <= longest:
        raise fail(
            f"--text {text!r}: give {what} of {shortest} to {longest} characters "
            f"(not {len(text.strip())})"
        )
    return text.strip()


def _run_query(ctx: typer.Context, name: str, params: dict[str, Any], lake: Any) -> Any:
    """The query's result from the lake, or from Athena when ``lake`` is None."""
    if name in LAKE_ENDS:
        return _lake_window(ctx, lake)
    if lake is None:
        from fuelpipe.homes.lake import build_athena

        try:
            result = build_athena(settings(ctx)).query(name, params)
        except Exception as exc:  # boto3 and Athena errors: one line
            raise fail(f"athena: {exc}", code=1) from None
    else:
        result = lake.query(name, params)
    return _first_stations(result) if name == "station_search" else result


def _lake_window(ctx: typer.Context, lake: Any) -> Any:
    """The lake's first and last collection day, as the page's default span finds it (the
    named query ``window`` over the first and last month that have partitions); on Athena
    (``lake`` is None) over the lake bucket's."""
    from fuelpipe.adapters.lake.engine import QueryResult

    if lake is None:
        from fuelpipe.homes.lake import build_athena_stations

        try:
            stations = build_athena_stations(settings(ctx))
            if stations is None:
                raise fail("window --athena needs the lake bucket (FUELPIPE_LAKE_BUCKET)")
            found = stations.window()
        except typer.Exit:
            raise
        except Exception as exc:  # boto3 and Athena errors: one line
            raise fail(f"athena: {exc}", code=1) from None
    else:
        found = lake.window()
    return QueryResult(["first_day", "last_day"], [found or (None, None)])


def _first_stations(result: Any) -> Any:
    """A search's first SEARCH_STATIONS stations (the query fetches one more, to tell), with a
    note when there were more."""
    rows, cut = first_stations(result.columns, result.rows, SEARCH_STATIONS)
    if cut:
        from fuelpipe.cli.main import note

        note(
            f"showing the first {SEARCH_STATIONS} stations, best matches first: there are "
            "more; refine --text (a longer name, the CNPJ or the town)"
        )
    return type(result)(result.columns, rows)


EXIT_NOTHING_TO_COMPARE = 1
"""`stations reconcile` exit code when no state-week of the lake has a published average."""
EXIT_OUTSIDE_TOLERANCE = 1
"""`stations reconcile` exit code when it compared and a state-week, or a fuel's median
absolute difference, is outside the documented tolerance (docs/CLI.md: 1, "could not do
all it was asked")."""

_WEIGHTING = (
    "differences are expected: ANP's state average weights each municipality's average by its "
    "stations in ANP's register (which the station files do not carry) and is rounded to the "
    "centavo"
)


RECONCILE_HELP = f"""Compare the lake's station-level weekly state means with ANP's published
weekly state averages in the store.

The published averages are the store's FUEL#GASOLINE#SP, FUEL#ETHANOL#SP, ... (`fuelpipe run`
or `fuelpipe demo` stores them). Per state and survey week (Sunday to Saturday): the mean of the
lake's prices, their count and the stations they come from, ANP's published average and station
count, the difference in % of the published average, and the coverage (the lake's distinct
stations over ANP's station count: a station surveyed twice in a week counts once). A
state-week is compared when the coverage is at least {RECONCILE_MIN_COVERAGE:.0%} (the rolling
4-week files cut weeks at their ends) and is within the tolerance when the difference is at
most {RECONCILE_TOLERANCE_PCT:g}%; each fuel's median absolute difference over its compared
state-weeks must be at most {RECONCILE_MEDIAN_PCT:g}% over all {len(STATES)} states (over a
--state subset it is given, not held to it: one state's own difference is its register's mix
of towns, which the per-week tolerance bounds). The last line counts them and gives the
medians; with CSV and JSON it goes to stderr.

The table shows, per fuel, state and week, the lake's station mean, ANP's published mean, the
difference, the coverage and whether it is within the tolerance ("-": not compared), to fit an
80-column terminal; --wide adds the week's end, the lake's price and station counts, ANP's
station count and the result in words, and -f csv or -f json always give every column.

Differences are expected: ANP's state average is a mean of municipal averages weighted by each
municipality's stations in ANP's register, which the station files do not carry, rounded to
the centavo (docs/STATIONS.md). The window is the lake's last 4 survey weeks unless --since/--until
say otherwise. Exit code {EXIT_NOTHING_TO_COMPARE} when there is nothing to compare, and
{EXIT_OUTSIDE_TOLERANCE} (after the rows and the last line, with one error line) when a
compared state-week or a fuel's median is outside the tolerance."""


@stations_app.command("reconcile", help=RECONCILE_HELP)
def reconcile(
    ctx: typer.Context,
    fuel: Annotated[
        str | None,
        typer.Option(help=f"{' or '.join(RECONCILE_FUELS)} (default both).", show_default=False),
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(help="UF, e.g. SP (repeatable, or comma-separated; default all 27)."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table, csv or json (any case).")
    ] = "table",
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="The table with every column (about 145 wide, every cell whole on a narrower "
            "terminal): the week's end, the lake's price and station counts, ANP's station "
            "count, the result in words. CSV and JSON always have them.",
        ),
    ] = False,
) -> None:
    from fuelpipe.stages.station_reconcile import reconcile_published

    fuels = list(RECONCILE_FUELS) if fuel is None else [fuel.strip().upper()]
    if fuels[0] not in RECONCILE_FUELS:
        raise fail(
            f"--fuel must be {' or '.join(RECONCILE_FUELS)}, not {fuel!r}: ANP's weekly state "
            "averages are compared for these two"
        )
    fmt = _output_format(fmt)
    _refuse_wide(wide, fmt, "every column")
    states = _states(state)
    days = _days(since, until)
    lake = _lake(ctx, existing=True)
    first, last = _span(lake, *days)
    from fuelpipe.cli.main import wired

    with wired(ctx) as context:
        done = [reconcile_published(lake, context.store, f, first, last, states) for f in fuels]
    empty = _nothing_to_compare([r for r in done if not r.rows], states)
    if not any(r.rows for r in done):
        raise fail("; ".join(empty), code=EXIT_NOTHING_TO_COMPARE)
    if empty:
        from fuelpipe.cli.main import note

        for why in empty:
            note(why)
    rows = [(r.fuel, row) for r in done for row in r.rows]
    weeks = f"{done[0].week_from}..{done[0].week_to + timedelta(days=6)}"
    _print_reconciled(rows, fmt, weeks, wide=wide)
    checked = [r for r in done if r.rows]
    summary = _reconcile_summary(
        [row for _, row in rows], sum(r.lake_weeks - len(r.rows) for r in done), checked
    )
    if fmt == "table":
        console.print(summary, soft_wrap=True, highlight=False, markup=False)
    else:
        err.print(summary, soft_wrap=True, highlight=False, markup=False)
    failed = _reconcile_failures(checked)
    if failed:
        raise fail(f"outside the tolerance: {'; '.join(failed)}", code=EXIT_OUTSIDE_TOLERANCE)


def _states(given: list[str] | None) -> list[str]:
    """The UFs asked for (every one by default), each checked, in the order given."""
    if not given:
        return sorted(STATES)
    out: list[str] = []
    for text in given:
        for part in text.split(","):
            uf = part.strip().upper()
            if uf not in STATES:
                raise fail(f"--state {part!r} is not a UF; one of {', '.join(sorted(STATES))}")
            if uf not in out:
                out.append(uf)
    return out


def _nothing_to_compare(empty: list[Reconciliation], states: list[str]) -> list[str]:
    """Why the fuels without a state-week to show have none: one sentence per reason, naming
    the fuels it holds for."""
    if not empty:
        return []
    first = empty[0]
    span = f"between {first.week_from} and {first.week_to + timedelta(days=6)}"
    if len(states) < len(STATES):
        span += f" for {', '.join(states)}"
    reasons: dict[str, list[str]] = {}
    for done in empty:
        kind = "lake" if not done.lake_weeks else "store" if not done.published_weeks else "none"
        reasons.setdefault(kind, []).append(done.fuel)
    out = []
    for kind, fuels in reasons.items():
        names = " or ".join(f.lower() for f in fuels)
        keys = ", ".join(f"FUEL#{f}#<UF>" for f in fuels)
        texts = {
            "lake": f"the lake has no {names} weeks {span} (`fuelpipe stations status` lists "
            "its months)",
            "store": f"the store has no published {names} state averages ({keys}) {span}: run "
            "`fuelpipe run` or `fuelpipe demo` to store ANP's weekly series",
            "none": f"no {names} state-week of the lake {span} has a published average in the "
            "store",
        }
        out.append(texts[kind])
    return out


RECONCILE_COLUMNS = (
    "fuel",
    "state",
    "week_start",
    "week_end",
    "station_mean",
    "observations",
    "stations",
    "published_mean",
    "published_stations",
    "diff_pct",
    "coverage",
    "result",
)


def _print_reconciled(
    rows: list[tuple[str, Reconciled]], fmt: str, span: str, *, wide: bool
) -> None:
    records = [
        dict(
            zip(
                RECONCILE_COLUMNS,
                (
                    fuel,
                    r.state,
                    (r.week_end - timedelta(days=6)).isoformat(),
                    r.week_end.isoformat(),
                    round(r.station_mean, 4),
                    r.observations,
                    r.stations,
                    r.published_mean,
                    r.published_stations,
                    round(r.diff_pct, 3),
                    round(r.coverage, 3),
                    r.result,
                ),
                strict=True,
            )
        )
        for fuel, r in rows
    ]
    if fmt == "json":
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=RECONCILE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        sys.stdout.write(buf.getvalue())
        return
    title = f"station means against ANP's published state averages, {span}"
    if wide:
        _print_whole(_wide_table(rows, title))
    else:
        console.print(_narrow_table(rows, title))


_RESULT_STYLE = {"within": "green", "outside": "bold red", "not compared": "dim"}


def _narrow_table(rows: list[tuple[str, Reconciled]], title: str) -> Table:
    """The default table: the figures that decide each state-week, under 80 columns wide (the
    counts behind the coverage are in --wide, CSV and JSON)."""
    table = Table(
        "fuel",
        "UF",
        "week of",
        *(
            Column(head, justify="right")
            for head in ("station\nmean", "ANP\nmean", "diff", "coverage")
        ),
        f"within\n±{RECONCILE_TOLERANCE_PCT:g}%",
        title=title,
        caption=f"-: not compared (coverage under {RECONCILE_MIN_COVERAGE:.0%}); --wide or "
        "-f csv|json for the counts",
        caption_justify="left",
    )
    verdict = {"within": "yes", "outside": "no", "not compared": "-"}
    for fuel, r in rows:
        table.add_row(
            fuel,
            r.state,
            f"{r.week_end - timedelta(days=6)}",
            f"{r.station_mean:.3f}",
            f"{r.published_mean:.3f}",
            f"{r.diff_pct:+.2f}%",
            f"{r.coverage:.0%}",
            verdict[r.result],
            style=_RESULT_STYLE[r.result] if r.result != "within" else None,
        )
    return table


def _wide_table(rows: list[tuple[str, Reconciled]], title: str) -> Table:
    """`--wide`: every column of the CSV and JSON (about 145 columns wide)."""
    table = Table(
        "fuel",
        "state",
        "week",
        "station mean",
        "observations",
        "stations",
        "published",
        "ANP stations",
        "diff",
        "coverage",
        "result",
        title=title,
    )
    for fuel, r in rows:
        table.add_row(
            fuel,
            r.state,
            f"{r.week_end - timedelta(days=6)}..{r.week_end:%m-%d}",
            f"{r.station_mean:.3f}",
            f"{r.observations:,}",
            f"{r.stations:,}",
            f"{r.published_mean:.3f}",
            f"{r.published_stations:,}",
            f"{r.diff_pct:+.2f}%",
            f"{r.coverage:.0%}",
            f"[{_RESULT_STYLE[r.result]}]{r.result}[/]",
        )
    return table


def _reconcile_summary(rows: list[Reconciled], unpublished: int, done: list[Reconciliation]) -> str:
    compared = [r for r in rows if r.compared]
    within = sum(r.within for r in compared)
    line = (
        f"{len(rows)} state-weeks: {len(compared)} compared (coverage at least "
        f"{RECONCILE_MIN_COVERAGE:.0%}), {within} within ±{RECONCILE_TOLERANCE_PCT:g}% of ANP's "
        f"published average, {len(compared) - within} outside, {len(rows) - len(compared)} not "
        f"compared (low coverage)"
    )
    if unpublished:
        line += f"; {unpublished} more in the lake have no published average in the store"
    medians = [
        f"{r.fuel} {r.check.median_pct:.2f}%" for r in done if r.check.median_pct is not None
    ]
    if medians and all(r.every_state for r in done):
        line += (
            f"; median absolute difference {', '.join(medians)} (at most {RECONCILE_MEDIAN_PCT:g}%)"
        )
    elif medians:  # (every fuel of one run is asked for the same states)
        line += (
            f"; median absolute difference over {', '.join(done[0].states)} "
            f"{', '.join(medians)} (held to at most {RECONCILE_MEDIAN_PCT:g}% only over all "
            f"{len(STATES)} states: a state's own difference is its register's mix of towns, "
            f"which ±{RECONCILE_TOLERANCE_PCT:g}% a week bounds)"
        )
    return f"{line}; {_WEIGHTING}."


def _reconcile_failures(done: list[Reconciliation]) -> list[str]:
    """What fails the documented tolerance, one phrase per fuel that fails it."""
    out = []
    for r in done:
        check = r.check
        why = []
        if check.outside:
            why.append(
                f"{check.outside} of {check.compared} compared state-weeks outside "
                f"±{RECONCILE_TOLERANCE_PCT:g}%"
            )
        if check.median_held and not check.median_within:
            why.append(
                f"median absolute difference {check.median_pct:.2f}% above "
                f"{RECONCILE_MEDIAN_PCT:g}%"
            )
        if why:
            out.append(f"{r.fuel} {' and '.join(why)}")
    return out


def optional_lake(cfg: Any) -> Any:
    """The station lake for the dashboard, or None without the lake extra or without a lake
    (one note then: the dashboard does not create an empty lake at a mistyped path)."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return None
    if problem := missing_lake(cfg):
        from fuelpipe.cli.main import note

        note(f"the Stations page stays empty: {problem}")
        return None
    from fuelpipe.homes.lake import build_lake

    return build_lake(cfg)


def demo_no_lake() -> str:
    """Console markup: the extra's brackets escaped, or rich reads [lake] as a style."""
    return (
        "\n[bold]station views[/]: skipped, DuckDB is not installed "
        f"({escape(install_hint('lake'))}, or `make setup`, which installs every extra)"
    )


def demo_sample_sources() -> frozenset[str]:
    """What a lake's manifest knows the demo's station sample by (``source_key``: a URL's
    path): the replay's "últimas 4 semanas" files, below its ``/shpc`` route."""
    from fuelpipe.replay import SNAPSHOT_DIR
    from fuelpipe.replay.routes import BASE_PATHS
    from fuelpipe.replay.routes.shpc import FILES_PREFIX

    folder = f"/shpc{BASE_PATHS['shpc']}{FILES_PREFIX}"
    files = (Path(SNAPSHOT_DIR) / "shpc" / "qus").glob("*.csv.xz")
    return frozenset(folder + f.name.removesuffix(".xz") for f in files)


def refuse_a_lake_it_did_not_fill(cfg: Any, fail: Callable[[str], typer.Exit]) -> None:
    """The demo ingests its station sample into the lake (FUELPIPE_LAKE, or the AWS home's
    bucket): a lake holding files the demo did not ingest (the operator's, at the same default
    ./data/lake) is refused, untouched; one holding the sample alone is the demo's to fill
    again. A lake it cannot write to (or a folder it cannot create one in) is refused as
    `stations ingest` refuses it, before the demo writes anything. Without the lake extra the
    demo leaves the lake alone, and so does this."""
    from importlib.util import find_spec

    if find_spec("duckdb") is None:
        return
    if problem := not_a_folder(cfg) or read_only_lake(cfg):
        raise fail(problem)
    local = not (cfg.backend == "aws" and cfg.lake_bucket)
    if local and not Path(cfg.lake).is_dir():
        return  # the demo's ingest makes it
    from fuelpipe.adapters.lake.engine import source_key
    from fuelpipe.homes.lake import build_storage

    storage, sample = build_storage(cfg), demo_sample_sources()
    files = storage.read_manifest().get("files", {})
    theirs = [
        str(entry.get("name") or key)
        for key, entry in files.items()
        if source_key(str(entry.get("source") or key)) not in sample
    ]
    if theirs:
        names = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
        fresh = (
            "point FUELPIPE_LAKE at a fresh folder, e.g. FUELPIPE_DB=data/demo.sqlite "
            "FUELPIPE_LAKE=data/demo-lake fuelpipe demo"
            if local
            else "point FUELPIPE_LAKE_BUCKET at a fresh bucket"
        )
        raise fail(
            f"the station lake {storage.describe()} already holds files `fuelpipe demo` did "
            f"not ingest ({names}): the demo would mix its station sample into them. Run the "
            f"demo on a fresh lake: {fresh}"
        )


def demo_stations(cfg: Any) -> Any:
    """`make demo`'s station step: ingest the bundled real sample from the replay into the lake
    (FUELPIPE_LAKE); without the lake extra, say how to get it and go on without it."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        console.print(demo_no_lake())
        return None
    from fuelpipe.homes.lake import build_lake, build_station_source
    from fuelpipe.stages.stations import ingest_remote

    try:
        lake = build_lake(cfg)
    except OSError as exc:
        if (problem := uncreatable_lake(cfg, exc)) is None:
            raise
        raise fail(problem) from None
    console.print(
        f"\n[bold]station sample[/]: ANP station files into the lake {lake.storage.describe()}"
    )
    source = build_station_source(cfg)
    try:
        with only_writer(lake, "fuelpipe demo"), display.bar(console) as progress:
            summary = ingest_remote(lake, source, progress=progress)
    finally:
        source.close()
    _refused_to_errors(summary, [])
    print_ingest(summary.as_dict())
    return lake
