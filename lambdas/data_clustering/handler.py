"""The orchestrator Lambda: a scheduled event in, one orchestrator run (gaps → messages) out.

It is named ``data_clustering`` because the project it grew from gave the orchestrator that name:
the folder name is the function's name, and the template's schedules, alarms, log group and IAM
role are named after it, so renaming it would replace the deployed function and its history.
What it does is orchestrate: group each series' missing dates into streams and enqueue them.

``detail.mode = "revise"`` (the daily revision schedule) enqueues one re-read per fetch unit of
the recent window instead (stages/revise.py); the scraper stores what changed with its history.

A window poll (``detail.due_only``) holds the due series of a source resting after a
Retry-After one scraper environment heard (shared through the table: homes/aws.py
``share_rests``) when its rest ends before the window's last poll (``detail.last_poll``): the
scraper would put their messages off, storing nothing, so every poll of the rest sent them
again; a poll after the rest asks for them. A rest that outlasts the window has them sent
once, by its first poll, and the scraper fetches them at the rest's end (held from the first,
they would wait for the backstop's full scan, every 6 hours, which never holds); the polls
after it hold them until the rest ends (the store's ``rest_sent#<source>`` entries), so the
scraper does not fetch a burst of copies then. A poll after the rest sends them again if that
message was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.homes.aws import ContextProvider, lazy_context, schedule_options
from fuelpipe.homes.settings import Settings
from fuelpipe.ping import answers_ping
from fuelpipe.stages.due import (
    Due,
    due_status,
    hold_resting,
    note_sent_in_rest,
    poll_pending,
    poll_pending_in_window,
)
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.revise import revise

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="data_clustering")
metrics = Metrics(namespace="fuelpipe", service="data_clustering")

Handler = Callable[[dict[str, Any], Any], dict[str, int]]


def make_handler(get_context: ContextProvider) -> Handler:
    """The Lambda handler around a stage-context provider (tests and the demo pass their own)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        home = get_context()
        options = schedule_options(event, home.catalog)
        if options.mode == "revise":
            revised = revise(home, series=options.series, since=options.since)
            metrics.add_metric(
                name="RevisionReads", unit=MetricUnit.Count, value=revised.messages_sent
            )
            logger.info("revision re-reads sent", extra=revised.as_dict())
            return revised.as_dict()
        series = options.series
        due: list[Due] = []
        held: list[Due] = []
        sent_in_rest: dict[str, tuple[datetime, frozenset[str]]] = {}
        if options.due_only:
            # Inside a publication window: scan only series whose publication is out and not
            # stored, so the 5-minute polls cost a few reads when nothing new is due.
            now = home.clock.now()
            due = [d for d in due_status(home.store, series or list(home.catalog), now) if d.is_due]
            # A source resting after a Retry-After (the table's rest#, read only when something
            # is due) is not asked when a later poll of this window comes after its rest, nor
            # again when a poll of this rest sent it already: the scraper puts the messages
            # off until the rest ends, so every poll of the rest sent them again.
            hold = hold_resting(home, due, now, options.last_poll_at(now))
            due, held, sent_in_rest = hold.ask, hold.held, hold.sent_in_rest
            series = [d.series for d in due]
            metrics.add_metric(name="SeriesDue", unit=MetricUnit.Count, value=len(series))
            if held:
                metrics.add_metric(name="RestHeld", unit=MetricUnit.Count, value=len(held))
            elif not series:
                logger.info("nothing due")
                return {"keys_scanned": 0, "gaps_found": 0, "messages_sent": 0}
        report = orchestrate(home, series=series, since=options.since, rest_held=len(held))
        # A due date an earlier poll left PENDING (not out yet) is asked again, as `watch`
        # does: it is not a gap, and recheck's backoff would wait past the window. The
        # backstop asks for every PENDING date still inside its publication window or the
        # grace after it, so one published after the window schedule's hours is stored within
        # 6 hours, not at recheck's backoff (days later for ANP weeks and months).
        if options.due_only:
            polled = poll_pending(home, due) if due else 0
            note_sent_in_rest(home, sent_in_rest)  # after the sends: a failed one marks nothing
        else:
            polled = poll_pending_in_window(
                home, series or list(home.catalog), home.clock.now(), options.since
            )
        metrics.add_metric(name="GapsFound", unit=MetricUnit.Count, value=report.gaps_found)
        metrics.add_metric(
            name="MessagesSent", unit=MetricUnit.Count, value=report.messages_sent + polled
        )
        result = {**report.as_dict(), "pending_polled": polled}
        logger.info("orchestrated", extra=result)
        return result

    return handler


def context_provider(settings: Settings, **kwargs: Any) -> ContextProvider:
    """The orchestrator's composition root: no source (it never fetches), the sources' rests
    read from the table (homes/aws.py ``share_rests``), so a window poll holds a resting
    source's due series for a later poll. ``kwargs``: the clock and clients tests inject."""
    return lazy_context(settings, sources={}, shares_rests=True, **kwargs)


# The orchestrator never fetches, so no HTTP source (nor openpyxl) is built or imported.
# The deploy's health check (fuelpipe/ping.py) is answered before any of this runs.
lambda_handler = answers_ping("data_clustering", make_handler(context_provider(SETTINGS)))
