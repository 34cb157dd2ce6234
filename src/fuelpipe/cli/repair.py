"""`fuelpipe repair`: show records no correct run can leave (a clock typo's PENDING rows for
dates that have not happened, ...), and remove them with ``--apply``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from fuelpipe.cli.helpstyle import PlainHelpCommand
from fuelpipe.cli.main import cli, console, wired

SHOWN = 50
"""Rows of the table; the rest are counted by key."""


# Its own class, not left to main's use_plain_help: a process that imports this module first
# (before fuelpipe.cli.main) has main run that call before this command is registered.
@cli.command(cls=PlainHelpCommand)
def repair(
    ctx: typer.Context,
    apply: Annotated[
        bool, typer.Option("--apply", help="Remove what is shown (default: only show it).")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print a JSON object: "found" (the records, each with key, date, status and '
            'why) and "removed" (how many --apply removed).',
        ),
    ] = False,
) -> None:
    """Show retries no correct run can leave (e.g. dated after today); --apply removes them.

    Checked: PENDING and QUARANTINED records dated after the machine's clock, with a key the
    catalog does not know, before their series starts, or on a date their calendar never
    expects. Stored values are never touched.
    """
    from collections import Counter

    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.stages.repair import find_impossible, remove

    with wired(ctx, writes=apply) as context:
        found = find_impossible(context, SystemClock().now())
        removed = remove(context, found) if apply and found else 0
    if as_json:
        rows = [
            {
                "key": i.record.key,
                "date": i.record.date.isoformat(),
                "status": i.record.status.value,
                "why": i.why,
            }
            for i in found
        ]
        print(json.dumps({"found": rows, "removed": removed}, indent=2))
        return
    if not found:
        console.print("nothing to repair: no record is in an impossible state")
        return
    table = Table("key", "date", "status", "why", title=f"{len(found):,} impossible record(s)")
    for i in found[:SHOWN]:
        table.add_row(i.record.key, i.record.date.isoformat(), i.record.status.value, i.why)
    console.print(table)
    if len(found) > SHOWN:
        by_key = Counter(i.record.key for i in found[SHOWN:])
        console.print(
            f"... and {len(found) - SHOWN:,} more: "
            + ", ".join(f"{k} ({n:,})" for k, n in by_key.most_common(8))
        )
    if apply:
        # The gap scan asks only for dates a series publishes, and the watermark never stops
        # before a future date: removing these leaves nothing to rescan by hand.
        console.print(
            f"removed {removed:,} record(s); runs ask only for dates their series publish, so "
            "these are not asked for again (one dated in the future is, once it is published)"
        )
    else:
        console.print("nothing changed: rerun with --apply to remove them")
