"""The outlook Lambda: keeps the pump-price outlook fresh in the AWS home.

On the embedded home the pipeline cycle refreshes the outlook after it stores new values
(stages/cycle.py). The AWS home has no cycle: the orchestrator, scraper and recheck run apart.
So a schedule calls this function every 10 minutes; it refreshes the outlook only when the data
version moved since its last refresh (a call with nothing new costs two small reads), and once a
day with ``detail.force`` (prices become known as time passes, too). It needs NumPy for the
model, which keeps it out of the lean pipeline functions.

A refresh that stored or scored forecasts changed what the outlook's alert rules see (a move
of ±3% now expected, a published week outside its interval), so the function then evaluates
the alert rules and publishes what started or cleared, as the hourly retry_recheck does (the
same rules, time guard and alert state: :func:`fuelpipe.homes.aws_alerts.evaluate_alerts`),
instead of leaving those alerts up to an hour late. A run with too little time left after its
refresh skips them (``AlertsSkipped``) and the next retry_recheck evaluates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.homes.aws import ContextProvider, build_alerting, lazy_context
from fuelpipe.homes.aws_alerts import AlertingProvider, evaluate_alerts
from fuelpipe.homes.settings import Settings
from fuelpipe.ping import answers_ping
from fuelpipe.stages.outlook import refresh_when_changed

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="outlook")
metrics = Metrics(namespace="fuelpipe", service="outlook")

Handler = Callable[[dict[str, Any], Any], dict[str, int]]


def make_handler(
    get_context: ContextProvider, get_alerting: AlertingProvider | None = None
) -> Handler:
    """The Lambda handler around a stage-context provider and the alert state and sinks
    (tests pass their own; without ``get_alerting`` it only refreshes)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        home = get_context()
        force = bool((event.get("detail") or {}).get("force"))
        report = refresh_when_changed(home.store, home.catalog, home.clock.now(), force=force)
        metrics.add_metric(
            name="OutlookRefreshed", unit=MetricUnit.Count, value=0 if report is None else 1
        )
        if report is None:
            logger.info("outlook current: the data version has not moved")
            return {"refreshed": 0}
        metrics.add_metric(name="OutlooksMade", unit=MetricUnit.Count, value=report.made)
        metrics.add_metric(name="OutlooksScored", unit=MetricUnit.Count, value=report.scored)
        for problem in report.problems:
            logger.warning("outlook problem", extra={"problem": problem})
        alerts: dict[str, int] = {}
        if get_alerting is not None and (report.made or report.scored):
            # The outlook changed: its alerts go out now, not at the next hourly recheck.
            def remaining_s() -> float:
                return float(context.get_remaining_time_in_millis()) / 1000

            alerts = evaluate_alerts(home, get_alerting, remaining_s, logger, metrics)
        logger.info("outlook refreshed", extra={**report.as_dict(), **alerts})
        return {"refreshed": 1, **report.as_dict(), **alerts}

    return handler


# The outlook reads and writes the table and publishes alerts: no HTTP source is built or imported.
# The deploy's health check (fuelpipe/ping.py) is answered before any of this runs.
lambda_handler = answers_ping(
    "outlook", make_handler(lazy_context(SETTINGS, sources={}), lambda: build_alerting(SETTINGS))
)
