"""`fuelpipe revise`: re-read each source's recent window and record what it revised."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from fuelpipe.cli.helpstyle import SERIES_HELP, split_series

if TYPE_CHECKING:
    from fuelpipe.ports.source import SourceStats


def revise_command(
    ctx: typer.Context,
    series: Annotated[
        list[str] | None,
        typer.Option("--series", "-s", help=SERIES_HELP, callback=split_series),
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
    values stand, and the next revise re-reads the window; exits 1, with a warning line naming
    the sources, when some requests failed (what they asked was not re-read). A source every
    re-read of which failed does not count as revised (another message drained with them, left
    queued before, does not count for or against it): a `fuelpipe watch` re-reads its series at
    its next look.
    """
    from fuelpipe.cli import display
    from fuelpipe.cli.main import (
        _select,
        console,
        say_held,
        sources_json,
        used_sources,
        wired,
    )
    from fuelpipe.stages.cycle import drain
    from fuelpipe.stages.daily_revise import OwnRequests, settle
    from fuelpipe.stages.revise import (
        DEFAULT_WINDOW_DAYS,
        DEFAULT_WINDOWS,
        SELECTION,
        revise_run,
    )

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
    # a request refused unsent (the source's breaker open) re-read nothing either
    sent = sum(st.requests + st.not_sent for st in used.values())
    failed = sum(st.failures + st.not_sent for st in used.values())
    if as_json:
        counts = {"revise": asked.as_dict(), "scrape": scraped.as_dict()}
        print(json.dumps({**counts, "sources": sources_json(used)}, indent=2))
        _refuse_failed(used, unread, failed, sent)
        return
    if not asked.messages_sent and not sent:
        # it printed "re-read 0 series (0 dates) in 0 request(s): 0 value(s) revised, ..."
        whose = "the chosen series have" if chosen is not None else "this store has"
        other = [f"{k.upper()} {v}" for k, v in DEFAULT_WINDOWS.items() if v != DEFAULT_WINDOW_DAYS]
        days = ", ".join([f"{DEFAULT_WINDOW_DAYS} days", *other])
        console.print(
            f"nothing to re-read: {whose} no date answered (a stored value, ABSENT or "
            "QUARANTINED) in the revise window up to the clock (FUELPIPE_REVISION_WINDOW_DAYS, "
            f"by default {days}); `fuelpipe run` fetches what is missing"
        )
        return
    if sent and failed >= sent:
        console.print(
            f"{failed:,} request(s) failed, nothing re-read: {asked.keys:,} series "
            f"({asked.dates:,} dates) keep their stored values"
        )
        display.print_sources(console, used)
        _refuse_failed(used, unread, failed, sent)
        return
    # some failed: what they asked was not re-read, so not "re-read N series"
    head = (
        f"asked to re-read {asked.keys:,} series ({asked.dates:,} dates) in "
        f"{asked.messages_sent:,} request(s), {failed:,} of the {sent:,} sent failed (not re-read)"
        if failed
        else f"re-read {asked.keys:,} series ({asked.dates:,} dates) in {asked.messages_sent:,} "
        "request(s)"
    )
    console.print(
        f"{head}: {scraped.revised:,} value(s) revised, {scraped.records_written:,} new, "
        f"{scraped.pending_written:,} pending"
        + (
            f", {scraped.adjusted:,} adjusted (derived attributes re-based, not revisions)"
            if scraped.adjusted
            else ""
        )
        + (
            f"; whole history re-read after a stock split: {scraped.split_rereads:,} series"
            if scraped.split_rereads
            else ""
        )
        + (
            f"; {scraped.split_rereads_failed:,} whole-history re-read(s) after a stock split "
            "failed (recorded as owed: the ticker's next message tries again; see `status`)"
            if scraped.split_rereads_failed
            else ""
        )
    )
    if failed:
        display.print_sources(console, used)
    _refuse_failed(used, unread, failed, sent)


def _refuse_failed(used: dict[str, SourceStats], unread: str, failed: int, sent: int) -> None:
    """Exit 3 when a source could not be used at all, as `run` does; exit 1, with one warning
    line, when some requests failed: what they asked was not re-read (a revise is not
    retried as `run`'s pending dates are; the next revise re-reads the window)."""
    from fuelpipe.cli.main import EXIT_INCOMPLETE, refuse_unreachable, warn

    refuse_unreachable(used, unread)
    if failed:
        why = "; ".join(
            f"{name}: {st.failures + st.not_sent:,} of {st.requests + st.not_sent:,}, "
            f"{st.last_error or st.refusal}"
            for name, st in sorted(used.items())
            if st.failures or st.not_sent
        )
        warn(
            f"{failed:,} of the {sent:,} request(s) failed ({why}): what they asked was not "
            f"re-read; {unread}"
        )
        raise typer.Exit(EXIT_INCOMPLETE)
