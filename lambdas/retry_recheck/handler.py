"""retry_recheck Lambda: a scheduled event in; due retries claimed and re-enqueued, spent ones
quarantined."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.domain.models import Record
from fuelpipe.homes.aws import ContextProvider, build_alerting, lazy_context, schedule_options
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.alerts import AlertContext, AlertSink, AlertState
from fuelpipe.stages.alert_rules import alert_rules
from fuelpipe.stages.alerting import evaluate
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import mark_after_error, mark_changed, recheck_changed
from fuelpipe.stages.recheck import RecheckReport, recheck

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="retry_recheck")
metrics = Metrics(namespace="fuelpipe", service="retry_recheck")

Handler = Callable[[dict[str, Any], Any], dict[str, int]]


AlertingProvider = Callable[[], tuple[AlertState, list[AlertSink]]]

ALERT_RESERVE_S = 30.0
"""Seconds before the timeout recheck's own budget ends at (on top of its TIME_MARGIN_S), kept
for the alert evaluation and delivery after it: a recheck that uses its whole budget on a
backlog still leaves the alerts time to run."""
ALERT_MIN_S = 20.0
"""Alert evaluation and delivery are skipped (a line, the ``AlertsSkipped`` metric) when less
than this is left: the rules read the pending index and ~440 series, and a timeout inside
them would fail the invocation; the next hourly run evaluates instead, the outbox waiting."""


def _alert(
    home: StageContext,
    get_alerting: AlertingProvider,
    remaining_s: Callable[[], float],
    quarantined: Sequence[Record],
) -> dict[str, int]:
    """Evaluate the alert rules and publish what started or cleared (SNS).

    ``quarantined``: the store's quarantined records, read once a run for the
    ``QuarantinedTotal`` metric and given to the ``quarantined`` rule (a backlog of quarantined
    dates is a paged read of the pending index: paid once, not twice).

    The alerts are saved with the alert state (its outbox) and then published: an SNS error
    part-way leaves the rest in the outbox for the next run, and never publishes one twice.
    Alerts the topic has kept failing for 7 days (from its first failed attempt), or the
    oldest ones past the alert item's size bound, are dropped, each drop logged as an "alert
    outbox" line (a cut also by the adapter, when the delivery starts).
    """
    state, sinks = get_alerting()
    if not sinks:
        return {}
    left = remaining_s()
    if left < ALERT_MIN_S:
        logger.warning(
            "alert evaluation skipped: too little time left; the next run evaluates",
            extra={"remaining_s": round(left, 1), "needs_s": ALERT_MIN_S},
        )
        metrics.add_metric(name="AlertsSkipped", unit=MetricUnit.Count, value=1)
        return {"alerts_skipped": 1}
    ctx = AlertContext(home.clock.now(), home.store, home.queue, home.catalog)
    rules = alert_rules(quarantined=quarantined)  # the same rules as the embedded home's watch
    report = evaluate(ctx, rules, state, [state.outbox(s.name for s in sinks)])
    for problem in report.failed_rules:
        logger.warning("alert rule failed", extra={"problem": problem})
    if report.folded:  # per-date quarantine alerts stored before they were per series
        logger.info("alerts folded", extra={"folded": report.folded})
    delivery = state.deliver(sinks)
    for problem in delivery.failed:
        logger.warning("alert delivery failed; kept for the next run", extra={"problem": problem})
    for notice in delivery.notices:  # alerts waiting for a sink no longer configured, or dropped
        logger.warning("alert outbox", extra={"notice": notice})
    metrics.add_metric(name="AlertsFiring", unit=MetricUnit.Count, value=report.firing)
    metrics.add_metric(
        name="AlertDeliveryFailed", unit=MetricUnit.Count, value=len(delivery.failed)
    )
    return {
        "alerts_firing": report.firing,
        "alerts_escalated": report.escalated,
        "alerts_cleared": report.cleared,
        "alert_deliveries_failed": len(delivery.failed),
        "alerts_dropped": sum(delivery.dropped.values()),
        "alerts_skipped": 0,
    }


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
        # Read once: the quarantined alert rule is given the same records.
        spent = home.store.quarantined()
        total = len(spent)
        metrics.add_metric(name="QuarantinedTotal", unit=MetricUnit.Count, value=total)
        alerts = _alert(home, get_alerting, remaining_s, spent) if get_alerting is not None else {}
        logger.info("rechecked", extra={**report.as_dict(), "quarantined_total": total, **alerts})
        return {**report.as_dict(), "quarantined_total": total, **alerts}

    return handler


# Recheck re-enqueues retries; it never fetches, so no HTTP source is built or imported.
lambda_handler = make_handler(lazy_context(SETTINGS, sources={}), lambda: build_alerting(SETTINGS))
