"""What the command line shows: progress bars, the cycle summary and the status table.

Public: `fuelpipe demo`, `status --summary` and scripts/demo_aws.py print the summary of the
status table with it (:func:`print_status_summary`).
"""

from __future__ import annotations

import errno
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.ports.alerts import AlertDelivery
from fuelpipe.ports.source import SourceStats
from fuelpipe.stages.cycle import Progress as ProgressFn
from fuelpipe.stages.set_aside import SetAside
from fuelpipe.stages.status import KeyStatus


class PipeConsole(Console):
    """A console whose reader going away (`fuelpipe status | head -1`) raises BrokenPipeError,
    for the command line to end quietly with 141 (rich itself would exit 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more to write
        raise BrokenPipeError(errno.EPIPE, "the reader of this output went away")


def consoles() -> tuple[PipeConsole, Console]:
    """A command module's consoles, standard output and error: a terminal's width, or a wide
    line when piped (CI logs, `make demo | tee`: rich's 80 columns otherwise). A stream Python
    has none of (`fuelpipe status >&-`: sys.stdout is None) is not a terminal; the command
    line stops naming it (cli.main's ``_output_unwritable_exits_2``)."""
    out, err = sys.stdout, sys.stderr
    return (
        PipeConsole(width=None if out is not None and out.isatty() else 150),
        Console(stderr=True, width=None if err is not None and err.isatty() else 300),
    )


_LABELS = {
    "resume": "resuming queued streams",
    "orchestrate": "scanning keys for gaps",
    "scrape": "downloading streams",
    "rows": "station records read",
    "download": "station files downloaded",
    "ingest": "station files read",
    "migrate": "lake partitions migrated",
    "file_bytes": "file being downloaded",
    "backtest": "fuel x area backtested",
    "release": "dates released",
    "accept": "dates accepted",
}
_BYTE_PHASES = frozenset({"file_bytes"})
"""Phases counted in bytes (shown as MB), not items."""


class _Done(ProgressColumn):
    """``done/total`` of a phase: items with thousands separators, as the summaries below
    count them (``13,310/13,310``), or bytes in kB/MB for a byte phase."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("in_bytes"):
            return self._bytes.render(task)
        total = "?" if task.total is None else f"{int(task.total):,}"
        done = f"{int(task.completed):,}"
        return Text(f"{done:>{len(total)}}/{total}", style="progress.download")


@contextmanager
def bar(console: Console, *, disable: bool = False) -> Iterator[ProgressFn]:
    """A progress callback drawing one bar per phase. Piped or redirected (a log, ``| cat``),
    rich prints the final frame only: there each phase is one plain line, its count and time
    (``downloading streams: 11/11 in 0:00:04``), no bar, which read as half-drawn when the
    phase stopped part-way or its total was not known; no line when no phase ran."""
    live = console.is_terminal and not console.is_dumb_terminal
    columns = (
        (TextColumn("[bold]{task.description:<24}"), BarColumn(), _Done())
        if live
        else (TextColumn("{task.description}:"), _Done(), TextColumn("in"))
    )
    progress = Progress(
        *columns,
        TimeElapsedColumn(),
        console=console,
        disable=disable,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            label, in_bytes = _LABELS.get(phase, phase), phase in _BYTE_PHASES
            tasks[phase] = progress.add_task(label, total=total or None, in_bytes=in_bytes)
        progress.update(tasks[phase], completed=done, total=max(total, done) or None)

    if live:
        with progress:
            yield update
        return
    try:
        yield update
    finally:  # the final state, once; nothing when no phase ran (rich printed a blank line)
        if tasks and not disable:
            console.print(progress.get_renderable())


CYCLE_SHAPE = frozenset(
    {
        ("orchestrate", "keys_scanned"),
        ("orchestrate", "gaps_found"),
        ("orchestrate", "messages_sent"),
        ("scrape", "records_written"),
        ("scrape", "source_requests"),
        ("recheck", "due"),
    }
)
"""The (stage, counter) pairs the cycle summary shows even at 0: they say what the run did
(nothing to fetch: 0 gaps found, 0 source requests). Every other counter is shown when it is
not 0 (a problem such as dead lettered or quarantined then in red)."""

CYCLE_PROBLEMS = frozenset(
    {
        ("scrape", "quarantined"),
        ("scrape", "dead_lettered"),
        ("scrape", "split_rereads_failed"),
        ("recheck", "quarantined"),
        ("recheck", "not_given_back"),
    }
)
"""Counters shown in red when not 0: dates or messages waiting for a person, or a re-read or
a re-download lost."""

ALL_COUNTERS = "--all-counters"
"""The option of `run` and `demo` that shows every counter of the cycle summary, 0 or not."""


def cycle_counters(
    report: Mapping[str, Mapping[str, int]], *, every: bool = False
) -> tuple[list[tuple[str, str, int]], int]:
    """The (stage, counter, value) rows the cycle summary shows, in the report's order, and
    how many counters at 0 it leaves out (none with ``every``)."""
    shown: list[tuple[str, str, int]] = []
    hidden = 0
    for stage, counters in report.items():
        for name, value in counters.items():
            if value or every or (stage, name) in CYCLE_SHAPE:
                shown.append((stage, name, value))
            else:
                hidden += 1
    return shown, hidden


def hidden_line(hidden: int) -> str:
    """Below a cycle summary: how many counters at 0 it leaves out and how to see them."""
    return f"{hidden:,} counters at 0 not shown ({ALL_COUNTERS} shows every counter)"


def print_cycle(
    console: Console, report: Mapping[str, Mapping[str, int]], *, every: bool = False
) -> None:
    """The summary of one cycle: the counters that are not 0 and those saying the run's shape
    (:data:`CYCLE_SHAPE`), then how many at 0 were left out; ``every``: every counter."""
    shown, hidden = cycle_counters(report, every=every)
    table = Table("stage", "counter", Column("value", justify="right"), title="cycle summary")
    for stage, name, value in shown:
        style = "red" if value and (stage, name) in CYCLE_PROBLEMS else ""
        table.add_row(stage, name.replace("_", " "), f"{value:,}", style=style)
    console.print(table)
    if hidden:
        console.print(hidden_line(hidden), markup=False, highlight=False)


def print_cycle_lines(
    console: Console, report: Mapping[str, Mapping[str, int]], *, every: bool = False
) -> int:
    """The cycle summary in a few lines, one a stage (``  scrape: records written 1,969; source
    requests 1``: name, then value, so that a count of 1 reads right), the same counters as
    :func:`print_cycle`'s table, for the demo, which runs a cycle for each of its windows; how
    many counters at 0 were left out. ``every``: :func:`print_cycle`'s full table instead (none
    left out)."""
    if every:
        print_cycle(console, report, every=True)
        return 0
    shown, hidden = cycle_counters(report)
    stages: dict[str, list[str]] = {}
    for stage, name, value in shown:
        stages.setdefault(stage, []).append(f"{name.replace('_', ' ')} {value:,}")
    for stage, said in stages.items():
        console.print(f"  {stage}: {'; '.join(said)}", markup=False, highlight=False)
    return hidden


STATUS_COLUMNS = (
    "key",
    "expected",
    "present",
    "missing",
    "pending",
    "quarantined",
    "absent",
    "unexpected",
    "revised",
    "first",
    "last",
)
"""The status table's columns, in order (`status --json` adds the freshness fields)."""


NEVER_SHOWN = 4
"""Keys of never-collected series `status` names below its table (the table has them all)."""


def _style(r: KeyStatus) -> str:
    """A row's colour: red for dates lost or waiting for a person, yellow for retries due."""
    return "red" if r.missing or r.quarantined else ("yellow" if r.pending else "")


LOOK_AT_WIDTH = 14
"""The width of a default table's "to look at" column (more wraps in its cell): `status`'s
fits 100 columns with the catalog's longest key (32), `stations status`'s with ANP's file
names."""


def print_status(console: Console, rows: Sequence[KeyStatus], *, wide: bool = False) -> None:
    """The status table, with problems highlighted: every count in its own column (`wide`), or
    by default expected and present, the counts that are not 0 in words, first and last."""
    console.print(_wide_status(rows) if wide else _narrow_status(rows))
    later = [r for r in rows if r.after_clock]
    if later:
        console.print(
            f"not counted above: {sum(r.after_clock for r in later):,} value(s) of "
            f"{len(later):,} series dated after the clock (the table stops at the clock; "
            "--json gives after_clock per key)",
            highlight=False,
        )
    _print_notes(console, rows)


def _problems(r: KeyStatus) -> str:
    """A series' counts beyond expected and present that are not 0, in words ("-": none)."""
    # after the clock is not in the table's counts: the line below the table says it
    counts = (
        (words.split(" (")[0], getattr(r, field))
        for field, words in LOOK_AT
        if field != "after_clock"
    )
    return ", ".join(f"{n:,} {words}" for words, n in counts if n) or "-"


def _narrow_status(rows: Sequence[KeyStatus]) -> Table:
    """The default table: the zero counts left out, to fit 100 columns (--wide: all)."""
    table = Table(
        "key",
        *(Column(head, justify="right") for head in ("expected", "present")),
        Column("to look at", max_width=LOOK_AT_WIDTH),
        "first",
        "last",
        title=f"{len(rows):,} series",
        caption="to look at: the counts that are not 0; --wide or --json for every count",
        caption_justify="left",
    )
    for r in rows:
        table.add_row(
            r.key,
            f"{r.expected:,}",
            f"{r.present:,}",
            _problems(r),
            r.first or "-",
            r.last or "-",
            style=_style(r),
        )
    return table


def _wide_status(rows: Sequence[KeyStatus]) -> Table:
    """`--wide`: every count in its own column (about 150 columns wide)."""
    table = Table(*STATUS_COLUMNS, title=f"{len(rows):,} series")
    for r in rows:
        style = _style(r)
        table.add_row(
            r.key,
            f"{r.expected:,}",
            f"{r.present:,}",
            f"{r.missing:,}",
            f"{r.pending:,}",
            f"{r.quarantined:,}",
            f"{r.absent:,}",
            f"{r.unexpected:,}",
            f"{r.revised:,}",
            r.first or "-",
            r.last or "-",
            style=style,
        )
    return table


def _print_notes(console: Console, rows: Sequence[KeyStatus]) -> None:
    """Below either status table: the series never collected, and the owed split re-reads."""
    never = [r.key for r in rows if r.pending and not (r.first or r.absent or r.quarantined)]
    if never:  # the source has not answered one of their dates yet
        shown = ", ".join(never[:NEVER_SHOWN]) + ("…" if len(never) > NEVER_SHOWN else "")
        console.print(
            f"never collected: {len(never):,} series with pending dates only, none answered "
            f"yet ({shown}); not late unless their requests fail (the health view's failing "
            "rows) or a date due since they were first asked for is past its window, their "
            "dates retried and quarantined once the retries are spent",
            markup=False,
            highlight=False,
        )
    for r in rows:
        if r.split_owed:
            console.print(
                f"{r.key}: whole-history re-read after a stock split owed ({r.split_owed}): "
                "it failed; closes before the split may be on the old basis until the key's "
                "next successful message re-reads them",
                style="red",
                markup=False,
                highlight=False,
            )


LOOK_AT = (
    ("missing", "missing (no record at all)"),
    ("pending", "pending (waiting for a retry)"),
    ("quarantined", "quarantined (`fuelpipe quarantine list`)"),
    ("absent", "absent (the source has no value)"),
    ("unexpected", "unexpected (on days their calendar skips)"),
    ("revised", "revised (corrected by the source, history kept)"),
    ("after_clock", "after the clock (not counted)"),
)
"""The counts a series is named for below the summary (field, words), in this order."""

_GROUPS = {"CURRENCY": "currencies", "STOCK": "shares", "COMMODITY": "Brent"}
_LEVELS = ("Brazil", "regions", "states")


def status_group(key: str) -> str:
    """The family a series is summed in: currencies, shares, Brent; fuels by their survey
    (weekly, monthly) and level (Brazil, regions, states); any other kind by its name."""
    kind, *rest = key.split("#")
    if kind not in ("FUEL", "FUEL_MONTHLY"):
        return _GROUPS.get(kind, kind.lower())
    area = rest[-1] if rest else ""
    level = _LEVELS[0] if area == "BR" else _LEVELS[1] if area.startswith("REGION_") else _LEVELS[2]
    return f"{'weekly' if kind == 'FUEL' else 'monthly'} fuels, {level}"


_GROUP_ORDER = [
    *_GROUPS.values(),
    *(f"{survey} fuels, {level}" for survey in ("weekly", "monthly") for level in _LEVELS),
]


def print_status_summary(console: Console, rows: Sequence[KeyStatus]) -> None:
    """The status in a terminal's screen: one row per family of series (:func:`status_group`)
    with their counts summed, then every series with anything to look at, by name."""
    groups: dict[str, list[KeyStatus]] = {}
    for r in rows:
        groups.setdefault(status_group(r.key), []).append(r)
    rank = {name: i for i, name in enumerate(_GROUP_ORDER)}
    table = Table(
        "group", "series", "expected", "present", "to look at", title=f"{len(rows):,} series"
    )
    for name in sorted(groups, key=lambda g: (rank.get(g, len(rank)), g)):
        members = groups[name]
        counts = [(words, sum(getattr(r, field) for r in members)) for field, words in LOOK_AT]
        table.add_row(
            name,
            f"{len(members):,}",
            f"{sum(r.expected for r in members):,}",
            f"{sum(r.present for r in members):,}",
            ", ".join(f"{n:,} {words.split(' (')[0]}" for words, n in counts if n) or "-",
            style=next((c for c in ("red", "yellow") if c in {_style(r) for r in members}), ""),
        )
    console.print(table)
    by_key = sorted(rows, key=lambda r: r.key)
    for field, words in LOOK_AT:
        # by key: the same lines whatever order the rows come in (the demo's, by its phases)
        named = [f"{r.key}\u00a0{n:,}" for r in by_key if (n := getattr(r, field))]
        if not named:
            continue
        # wrapped here, between names only (rich would part a key from its count)
        text = f"{words}: {', '.join(named)}"
        for line in textwrap.wrap(
            text, console.width, subsequent_indent="  ", break_long_words=False,
            break_on_hyphens=False,
        ):  # fmt: skip
            console.print(
                line.replace("\u00a0", " "), markup=False, highlight=False, soft_wrap=True
            )
    _print_notes(console, rows)


def print_set_aside(console: Console, count: int, newest: Sequence[SetAside]) -> None:
    """Below the status table: how many values were set aside where no record keeps them,
    the newest of them, and the command listing them all (nothing when there is none)."""
    if not count:
        return
    console.print(
        f"{count:,} value(s) published for a date stored already were set aside (no record "
        f"keeps them); the newest {len(newest):,}, by when first seen:",
        style="yellow",
        markup=False,
        highlight=False,
    )
    for e in newest:
        console.print(
            f"  {e.key} {e.date.isoformat()} {e.value} (first seen "
            f"{sao_paulo_iso(e.first_seen, 'seconds')}, last seen "
            f"{sao_paulo_iso(e.last_seen, 'seconds')}): {e.reason}",
            markup=False,
            highlight=False,
        )
    console.print("`fuelpipe quarantine set-aside` lists them all", markup=False, highlight=False)


ALERT_DROPS_SHOWN = 3
"""`status` shows the newest this many drops of alerts (`/api/health` the latest 20)."""


def print_alert_delivery(console: Console, delivery: AlertDelivery | str) -> None:
    """Below the status table: the alerts waiting for each sink (since when sending them
    fails) and the newest drops' lines; or why the alert state could not be read (a string);
    nothing when every alert was taken."""
    if isinstance(delivery, str):
        console.print(f"alert state not read: {delivery}", style="yellow", markup=False)
        return
    for b in delivery.backlog:
        failing = (
            f", sending them fails since {sao_paulo_iso(b.failing_since, 'seconds')}"
            if b.failing_since
            else ""
        )
        console.print(
            f"alerts waiting for {b.sink}: {b.waiting}, the oldest queued "
            f"{sao_paulo_iso(b.oldest, 'seconds')}{failing}",
            style="yellow",
            markup=False,
            highlight=False,
        )
    if not delivery.dropped:
        return
    shown = delivery.dropped[:ALERT_DROPS_SHOWN]
    console.print(
        f"alerts dropped, the newest {len(shown)} of the {len(delivery.dropped)} drops kept "
        "(`/api/health`'s alert_delivery lists them):",
        style="yellow",
        markup=False,
        highlight=False,
    )
    for d in shown:
        console.print(f"  {sao_paulo_iso(d.at, 'seconds')} {d.line}", markup=False, highlight=False)


def print_sources(console: Console, stats: Mapping[str, SourceStats]) -> None:
    """Per source: HTTP requests (retries included), failures, the requests its breaker
    refused unsent (not among the requests), and the last error in words."""
    table = Table("source", "requests", "failures", "not sent", "last error", title="sources")
    for name, st in sorted(stats.items()):
        style = "red" if st.unreachable else ("yellow" if st.failures else "")
        table.add_row(
            # (the error can quote a refused payload: its text as it is, never as markup)
            name,
            f"{st.requests:,}",
            f"{st.failures:,}",
            f"{st.not_sent:,}",
            escape(st.last_error or st.refusal or "-"),
            style=style,
        )
    console.print(table)
