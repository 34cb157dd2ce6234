"""The intraday Lambda: the day's PTAX bulletins and 15-minute bars, in the AWS home.

`fuelpipe watch --intraday` does this in the embedded home after each tick. Here schedules
call this function every 15 minutes inside the hours the intraday series publish on weekdays
(infra/template.yaml, derived from domain/intraday.py's ``collection_window``) and through
BZ=F's evening session, when only BZ=F is asked (``collection_days``). Each run re-reads the
day so far for every series in a session then (for its market's date) and upserts the
points under ``INTRADAY#<key>#<day>`` (the same series, day and time is the same item, so a
rerun or a redelivered event stores nothing twice); the table's TTL drops them after 35 days.

A source failing for one series, or the table refusing its points, is logged and returned
with the counts, and the other series go on; when every series failed the invocation raises,
so the Errors alarm notifies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.domain.intraday import INTRADAY_SERIES
from fuelpipe.homes.aws import IntradayProvider, lazy_intraday, schedule_options
from fuelpipe.homes.settings import Settings
from fuelpipe.ping import answers_ping
from fuelpipe.stages.intraday import refresh_today

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="intraday")
metrics = Metrics(namespace="fuelpipe", service="intraday")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class IntradayFailed(RuntimeError):
    """Every series asked for failed: the run is an error, for the Errors alarm."""


def make_handler(get_home: IntradayProvider) -> Handler:
    """The Lambda handler around an intraday-home provider (tests pass their own)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        home = get_home()
        options = schedule_options(event, home.catalog)  # detail.series narrows it
        chosen = {s.key for s in options.series} if options.series is not None else None
        wanted = [k for k in INTRADAY_SERIES if chosen is None or k in chosen]
        day, report = refresh_today(
            home.sources, home.store, home.catalog, home.clock.now(), keys=wanted
        )
        metrics.add_metric(name="IntradayPoints", unit=MetricUnit.Count,
                           value=report.points_written)  # fmt: skip
        metrics.add_metric(name="IntradayFailed", unit=MetricUnit.Count, value=report.failed)
        for problem in report.errors:
            logger.warning("intraday source failed", extra={"problem": problem})
        result: dict[str, Any] = {
            "day": day.isoformat(),
            **report.as_dict(),
            "problems": report.errors,
        }
        logger.info("intraday collected", extra=result)
        if report.series and report.failed == report.series:
            raise IntradayFailed(f"every intraday series failed: {'; '.join(report.errors)}")
        return result

    return handler


# Only BCB and Yahoo are built (the intraday series' sources), and no queue.
# The deploy's health check (fuelpipe/ping.py) is answered before any of this runs.
lambda_handler = answers_ping("intraday", make_handler(lazy_intraday(SETTINGS)))
