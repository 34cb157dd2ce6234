"""`fuelpipe revise`: re-read each source's recent window and record what it revised."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fuelpipe.cli.helpstyle import SERIES_HELP


def revise_command(
    ctx: typer.Context,
    series: Annotated[
        list[str] | None,
        typer.Option("--series", "-s", help=SERIES_HELP),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Re-read the recent window of every fetch unit (one request each) and store revisions.

    The window per source is FUELPIPE_REVISION_WINDOW_DAYS, days by source as JSON, e.g.
    '{"anp": 84}' (default 35 days, ANP 56). A value that changed is kept with its history
    (previous value, new value, when, which request): see `fuelpipe export KEY`; `fuelpipe
    status` counts revised values per key. Dates the source said have no value (ABSENT) are
    asked again: a value published since is stored. A stock split in the window re-bases
    every earlier close: that ticker's whole history is re-read. `fuelpipe watch` runs this
    once a day (23:00 São Paulo time, FUELPIPE_REVISE_AT), as the AWS home's daily schedule
    does.

    Exits 3 when a source could not be used at all (every request to it failed): its stored
    values stand, and the next revise re-reads the window. A source every re-read of which
    failed does not count as revised (another message drained with them, left queued before,
    does not count for or against it): a `fuelpipe watch` re-reads its series at its next look.
    """
    from fuelpipe.cli import display
    from fuelpipe.cli.main import (
        _select,
        console,
        refuse_unreachable,
        say_held,
        sources_json,
        used_sources,
        wired,
    )
    from fuelpipe.stages.cycle import drain
    from fuelpipe.stages.daily_revise import OwnRequests, settle
    from fuelpipe.stages.revise import SELECTION, revise_run

    chosen = _select(series)  # refused before a store, or its queue, is created
    with wired(ctx, writes=True, creates=True, uses_queue=True) as context:
        say_held(context, "revise")  # else its bar stands still for minutes, unexplained
        asked, run, bodies = revise_run(context, series=chosen)
        own = OwnRequests(bodies)  # what else is queued is drained too, and not judged here
        # One request per fetch unit, against the real sources: a bar, as `run` draws
        with display.bar(console, disable=as_json) as progress:
            scraped = drain(context, progress=progress, handle=own.handle)
        used = used_sources(context)
        # a source not reached is owed: a watch does not count this as its revise of it
        unreached = own.unreached()
        if unreached:
            settle(context.store, run, run.counts.get(SELECTION), unreached)
    # A request that failed leaves its dates as they were: without this the summary alone
    # read as if the source had been re-read and had changed nothing (exit 0).
    unread = "the stored values stand, and the next revise re-reads the window"
    if as_json:
        counts = {"revise": asked.as_dict(), "scrape": scraped.as_dict()}
        print(json.dumps({**counts, "sources": sources_json(used)}, indent=2))
        refuse_unreachable(used, unread)
        return
    console.print(
        f"re-read {asked.keys} series ({asked.dates:,} dates) in {asked.messages_sent} "
        f"request(s): {scraped.revised} value(s) revised, {scraped.records_written} new, "
        f"{scraped.pending_written} pending"
        + (
            f", {scraped.adjusted} adjusted (derived attributes re-based, not revisions)"
            if scraped.adjusted
            else ""
        )
        + (
            f"; whole history re-read after a stock split: {scraped.split_rereads} series"
            if scraped.split_rereads
            else ""
        )
        + (
            f"; {scraped.split_rereads_failed} whole-history re-read(s) after a stock split "
            "failed (recorded as owed: the ticker's next message tries again; see `status`)"
            if scraped.split_rereads_failed
            else ""
        )
    )
    if any(st.failures for st in used.values()):
        display.print_sources(console, used)
    refuse_unreachable(used, unread)
