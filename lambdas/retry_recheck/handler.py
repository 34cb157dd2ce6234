"""retry_recheck Lambda: a scheduled event in; due retries claimed and re-enqueued, spent ones
quarantined. The retries of a source resting after a Retry-After one scraper environment
heard (shared through the table: homes/aws.py's ``share_rests``) are not claimed until it
ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.domain.models import Status
from fuelpipe.homes.aws import ContextProvider, build_alerting, lazy_context, schedule_options
from fuelpipe.homes.aws_alerts import AlertingProvider, evaluate_alerts
from fuelpipe.homes.settings import Settings
from fuelpipe.ping import answers_ping
from fuelpipe.stages.data_version import mark_after_error, mark_changed, recheck_changed
from fuelpipe.stages.recheck import RecheckReport, recheck

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="retry_recheck")
metrics = Metrics(namespace="fuelpipe", service="retry_recheck")

Handler = Callable[[dict[str, Any], Any], dict[str, int]]


ALERT_RESERVE_S = 30.0
"""Seconds before the timeout recheck's own budget ends at (on top of its TIME_MARGIN_S), kept
for the alert evaluation and delivery after it: a recheck that uses its whole budget on a
backlog still leaves the alerts time to run (``homes.aws_alerts.ALERT_MIN_S``)."""


def make_handler(
    get_context: ContextProvider, get_alerting: AlertingProvider | None = None
) -> Handler:
    """The Lambda handler around a stage-context provider (tests and the demo pass their own)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        home = get_context()
        options = schedule_options(event, home.catalog)  # detail.series narrows it, like --series
        keys = None if options.series is None else {s.key for s in options.series}

        def remaining_s() -> float:
            return float(context.get_remaining_time_in_millis()) / 1000

        request_id = getattr(context, "aws_request_id", "retry_recheck")
        # A timeout stops the process with no signal: recheck stops claiming before it instead,
        # leaving the alerts their own reserve.
        report = RecheckReport()  # filled as it goes: read when the recheck raises
        try:
            recheck(home, keys, lambda: remaining_s() - ALERT_RESERVE_S, report=report)
        except Exception:  # the queue refusing a send: the quarantines before it still show
            mark_after_error(home.store, home.clock.now(), request_id, report)
            raise
        metrics.add_metric(name="Retries", unit=MetricUnit.Count, value=report.retried)
        metrics.add_metric(name="RetriesDeferred", unit=MetricUnit.Count, value=report.deferred)
        metrics.add_metric(name="Quarantined", unit=MetricUnit.Count, value=report.quarantined)
        metrics.add_metric(name="MessagesSent", unit=MetricUnit.Count, value=report.messages_sent)
        if recheck_changed(report):  # a quarantine changes what the health view shows
            mark_changed(home.store, home.clock.now(), request_id)
        # The standing count (a gauge) for the dashboard; the alarm watches new quarantines.
        # Read once: the quarantined alert rule is given the same per-series summaries (the
        # slim status index's entries, never the records whole).
        spent = home.store.status_summaries(Status.QUARANTINED)
        total = sum(s.count for s in spent)
        metrics.add_metric(name="QuarantinedTotal", unit=MetricUnit.Count, value=total)
        alerts = (
            evaluate_alerts(home, get_alerting, remaining_s, logger, metrics, quarantined=spent)
            if get_alerting is not None
            else {}
        )
        logger.info("rechecked", extra={**report.as_dict(), "quarantined_total": total, **alerts})
        return {**report.as_dict(), "quarantined_total": total, **alerts}

    return handler


# Recheck re-enqueues retries; it never fetches, so no HTTP source is built or imported.
# The deploy's health check (fuelpipe/ping.py) is answered before any of this runs.
lambda_handler = answers_ping(
    "retry_recheck",
    make_handler(
        lazy_context(SETTINGS, sources={}, shares_rests=True), lambda: build_alerting(SETTINGS)
    ),
)
