"""Alert evaluation and delivery in the AWS home's Lambdas: one function for every evaluator.

The retry_recheck Lambda evaluates every hour and the outlook Lambda right after a refresh that
stored or scored forecasts (so an outlook alert is not an hour late). Both run
:func:`evaluate_alerts`: the same rules (:func:`fuelpipe.stages.alert_rules.alert_rules`), the
same time guard and the same alert state. Two evaluators at once never send an alert twice: a
save checks the active set's version (the second to save evaluates again against what the
first saved, so a condition both saw start is queued once) and each queued alert is claimed
before it is sent (:class:`fuelpipe.adapters.alerts.DynamoAlertState`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.ports.alerts import AlertContext, AlertSink, AlertState
from fuelpipe.ports.store import StatusSummary
from fuelpipe.stages.alert_rules import RETIRED_RULES, alert_rules
from fuelpipe.stages.alerting import evaluate
from fuelpipe.stages.context import StageContext

AlertingProvider = Callable[[], tuple[AlertState, list[AlertSink]]]
"""The alert state and its sinks (:func:`fuelpipe.homes.aws.build_alerting`; tests pass theirs)."""

ALERT_MIN_S = 20.0
"""Alert evaluation and delivery are skipped (a line, the ``AlertsSkipped`` metric) when less
than this is left: the rules read ~440 series' status summaries and newest records, and a
timeout inside them would fail the invocation; the next hourly retry_recheck evaluates instead,
the outbox waiting."""


def evaluate_alerts(
    home: StageContext,
    get_alerting: AlertingProvider,
    remaining_s: Callable[[], float],
    logger: Logger,
    metrics: Metrics,
    quarantined: Sequence[StatusSummary] | None = None,
) -> dict[str, int]:
    """Evaluate the alert rules and publish what started, escalated or cleared (SNS); the
    counts for the handler's answer and log line (empty when no sink is configured).

    ``quarantined``: the store's per-series summaries of its quarantined records when the
    caller read them already (retry_recheck, for its ``QuarantinedTotal`` metric: the status
    index is then paged once a run, not twice); None: the quarantine rule reads them.

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
            "alert evaluation skipped: too little time left; the next retry_recheck evaluates",
            extra={"remaining_s": round(left, 1), "needs_s": ALERT_MIN_S},
        )
        metrics.add_metric(name="AlertsSkipped", unit=MetricUnit.Count, value=1)
        return {"alerts_skipped": 1}
    ctx = AlertContext(home.clock.now(), home.store, home.queue, home.catalog)
    rules = alert_rules(quarantined=quarantined)  # the same rules as the embedded home's watch
    outbox = [state.outbox(s.name for s in sinks)]
    report = evaluate(ctx, rules, state, outbox, retired=RETIRED_RULES)
    for problem in report.failed_rules:
        logger.warning("alert rule failed", extra={"problem": problem})
    for rule, count in report.unknown_rules.items():  # a newer release's, or one not retired
        logger.warning(
            "active alerts of a rule this release does not evaluate, kept as they are",
            extra={"rule": rule, "alerts": count},
        )
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
