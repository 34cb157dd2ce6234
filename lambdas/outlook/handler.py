"""The outlook Lambda: keeps the pump-price outlook fresh in the AWS home.

On the embedded home the pipeline cycle refreshes the outlook after it stores new values
(stages/cycle.py). The AWS home has no cycle: the orchestrator, scraper and recheck run apart.
So a schedule calls this function every 10 minutes; it refreshes the outlook only when the data
version moved since its last refresh (a call with nothing new costs two small reads), and once a
day with ``detail.force`` (prices become known as time passes, too). It needs NumPy for the
model, which keeps it out of the lean pipeline functions.

Before that it writes a data version a scraper batch owes (lambdas/scraper/handler.py's
``write_version``): the one its debt in UNMARKED holds (one GetItem when none is), and on
the daily run the one a batch's run log holds (:func:`pay_runs_owed`), should the ``META``
partition have refused that debt's entry along with the version. Neither fails the run: a
store refusing a read or write there (a throttled Query, a ``META`` write past botocore's
retries) is logged and counted (``DebtCheckFailed``, alarmed in infra/template.yaml), the
refresh and the views go on, and what was not done is done by a later run: the debt stays in
UNMARKED for the next run, and a daily check that failed leaves its last-check instant where
it was, so the next day's reads the same runs again.

A refresh that stored or scored forecasts changed what the outlook's alert rules see (a move
of ±3% now expected, a published week outside its interval), so the function then evaluates
the alert rules and publishes what started or cleared, as the hourly retry_recheck does (the
same rules, time guard and alert state: :func:`fuelpipe.homes.aws_alerts.evaluate_alerts`),
instead of leaving those alerts up to an hour late. A run with too little time left after its
refresh skips them (``AlertsSkipped``) and the next retry_recheck evaluates.

Then it stores the dashboard's precomputed views for the current data version (the scraper's,
or the one its own refresh wrote), as the embedded home's cycle does after each change: no
other AWS function does, and without them every dashboard cache miss recomputed them from full
histories. It starts a view only while enough of the invocation's time is left; views stored
before the time ran out stay stored, and ``views_version`` keeps the version it could not
finish behind, so the next run (10 minutes later) stores the rest. A call finding them current
costs two more small reads, and the dashboard's modules are imported only when it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from fuelpipe.homes.aws import (
    ContextProvider,
    build_alert_reader,
    build_alerting,
    lazy_context,
    schedule_options,
)
from fuelpipe.homes.aws_alerts import AlertingProvider, evaluate_alerts
from fuelpipe.homes.settings import Settings
from fuelpipe.ping import answers_ping
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import mark_owed, pay_runs_owed, unmarked, views_behind
from fuelpipe.stages.outlook import refresh_when_changed

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="outlook")
metrics = Metrics(namespace="fuelpipe", service="outlook")

DEBT_CHECK_FAILED = "DebtCheckFailed"
"""The metric a run emits when its debt payment (UNMARKED) or its daily run-log check
(:func:`pay_runs_owed`) failed: logged and counted, never raised, so that day's refresh and
views still happen."""
ALARMED = (DEBT_CHECK_FAILED,)
"""The bookkeeping metrics infra/template.yaml alarms on: each fails nothing, so only its
alarm tells a person (tests/aws/test_aws_template.py reads them here)."""

Handler = Callable[[dict[str, Any], Any], dict[str, int]]


def store_views(
    home: StageContext,
    get_alerts: Callable[[], AlertReader | None],
    remaining_s: Callable[[], float],
) -> dict[str, int]:
    """Store the default dashboard views for the current data version, unless they are
    (nothing returned); ``get_alerts()`` (built only then) is the alert state the dashboard's
    health view reads."""
    if views_behind(home.store) is None:
        return {}
    from fuelpipe.dashboard.precomputed import refresh_views_when_changed

    store, queue = home.store, home.queue
    done = refresh_views_when_changed(
        store, home.catalog, queue, home.clock, alerts=get_alerts(), time_left=remaining_s
    )
    if done is None:  # stored meanwhile by another run
        return {}
    metrics.add_metric(name="ViewsStored", unit=MetricUnit.Count, value=done.computed)
    metrics.add_metric(name="ViewsPruned", unit=MetricUnit.Count, value=done.pruned)
    if not done.complete:
        logger.warning("views unfinished: too little time left; the next run stores the rest")
    return {"views_stored": done.computed, "views_unfinished": int(not done.complete)}


def make_handler(
    get_context: ContextProvider,
    get_alerting: AlertingProvider | None = None,
    get_alert_reader: Callable[[], AlertReader | None] = lambda: None,
) -> Handler:
    """The Lambda handler around a stage-context provider, the alert state and sinks (tests
    pass their own; without ``get_alerting`` it evaluates no alerts) and the alert state the
    health view reads (``get_alert_reader``, as the dashboard's)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        home = get_context()

        def remaining_s() -> float:
            return float(context.get_remaining_time_in_millis()) / 1000

        why = getattr(context, "aws_request_id", "outlook")
        pay_debts(home, why)
        force = schedule_options(event, home.catalog).force  # an odd event refused, named
        if force:
            pay_runs_owed_version(home, why)
        outlook = refresh_outlook(home, force, remaining_s)
        views = store_views(home, get_alert_reader, remaining_s)
        if views:
            logger.info("views stored", extra=views)
        return {**outlook, **views}

    def pay_debts(home: StageContext, why: str) -> None:
        """A version owed in UNMARKED (a scraper batch holding a message on its last delivery
        whose version write failed or was killed: lambdas/scraper/handler.py's
        ``write_version``) is written now, before the refresh and the views follow it: one
        GetItem when none is owed. A store refusing either is logged and counted
        (``DebtCheckFailed``): the debt stays in UNMARKED for the next run (10 minutes on)."""
        try:
            if unmarked(home.store):
                mark_owed(home.store, home.clock.now(), why)
                metrics.add_metric(name="VersionsOwedPaid", unit=MetricUnit.Count, value=1)
                logger.warning("wrote the data version a scraper batch owed")
        except Exception:
            logger.exception("a scraper batch's debt not paid: the next run tries again")
            metrics.add_metric(name=DEBT_CHECK_FAILED, unit=MetricUnit.Count, value=1)

    def pay_runs_owed_version(home: StageContext, why: str) -> None:
        """The daily run's backstop: a scraper batch whose version write failed after the
        ``META`` partition refused its debt's entry too (nothing in UNMARKED) logged the debt
        in its run log; a version is written when a run logged since the last check owes
        one (:func:`pay_runs_owed`: a GetItem, a PutItem, and a Query per 500 scraper runs
        since the last check). A store refusing one of those (a throttled Query, a ``META``
        write past botocore's retries) is logged and counted (``DebtCheckFailed``), not
        raised: the forced refresh goes on, and the last-check instant, written last, stays
        where it was, so the next day's check reads these runs again."""
        try:
            paid = pay_runs_owed(home.store, "scraper", home.clock.now(), why)
        except Exception:
            logger.exception("the daily run-log check failed: the next day's checks again")
            metrics.add_metric(name=DEBT_CHECK_FAILED, unit=MetricUnit.Count, value=1)
            return
        if paid:
            metrics.add_metric(name="VersionsOwedPaid", unit=MetricUnit.Count, value=1)
            logger.warning("wrote the data version a scraper batch's run log owed")

    def refresh_outlook(
        home: StageContext, force: bool, remaining_s: Callable[[], float]
    ) -> dict[str, int]:
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
            alerts = evaluate_alerts(home, get_alerting, remaining_s, logger, metrics)
        logger.info("outlook refreshed", extra={**report.as_dict(), **alerts})
        return {"refreshed": 1, **report.as_dict(), **alerts}

    return handler


# The outlook reads and writes the table and publishes alerts: no HTTP source is built or imported.
# The deploy's health check (fuelpipe/ping.py) is answered before any of this runs.
lambda_handler = answers_ping(
    "outlook",
    make_handler(
        lazy_context(SETTINGS, sources={}),
        lambda: build_alerting(SETTINGS),
        lambda: build_alert_reader(SETTINGS),
    ),
)
