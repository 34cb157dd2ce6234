"""dashboard_api Lambda: the dashboard's read-only API and page behind a Function URL (Mangum)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from fuelpipe.homes.aws import (
    ContextProvider,
    build_alert_reader,
    build_intraday_store,
    json_kind,
    lazy_context,
)
from fuelpipe.homes.settings import Settings
from fuelpipe.ping import answers_ping
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.intraday import IntradayStore

if TYPE_CHECKING:  # the dashboard (FastAPI) is imported on first use, not at cold start
    from fuelpipe.dashboard.stations import StationQueries

SETTINGS = Settings()  # validated at cold start: a bad variable fails the init, loudly
logger = Logger(service="dashboard_api")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_handler(
    get_context: ContextProvider,
    get_stations: Callable[[], StationQueries | None] = lambda: None,
    get_intraday: Callable[[], IntradayStore | None] = lambda: None,
    get_alerts: Callable[[], AlertReader | None] = lambda: None,
) -> Handler:
    """The Lambda handler: builds the FastAPI app on first use and keeps it for the environment;
    ``get_stations`` gives the Stations page its queries (None: no lake bucket is set, the page
    says to set it)
    and ``get_intraday`` the Today panel its points (None: the panel says how to collect);
    ``get_alerts`` the health view its active alerts (the alert state's item)."""
    adapters: list[Callable[[dict[str, Any], Any], dict[str, Any]]] = []
    lock = threading.Lock()

    def adapter() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        with lock:
            if not adapters:
                # Imported here so a cold start pays for FastAPI and numpy only once, on use.
                from mangum import Mangum

                from fuelpipe.dashboard.app import create_app
                from fuelpipe.dashboard.stations import NO_LAKE_BUCKET

                home = get_context()
                api = create_app(
                    home.store,
                    home.catalog,
                    home.queue,
                    home.clock,
                    stations=get_stations(),
                    no_lake=NO_LAKE_BUCKET,  # here no lake is a bucket not configured
                    intraday=get_intraday(),
                    alerts=get_alerts(),
                )
                adapters.append(Mangum(api, lifespan="off"))
            return adapters[0]

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        check_http_request(event)  # before the app is built, which costs a second or more
        response: dict[str, Any] = adapter()(event, context)
        return response

    return handler


def check_http_request(event: Any) -> None:
    """A ValueError naming what makes ``event`` no Function URL request (payload format 2.0):
    Mangum's own error for any other event names nothing of it."""
    # Not Powertools' LambdaFunctionUrlModel: ~94 more modules (python -X importtime) to check
    # the one field this looks at, before the app is built.
    if not isinstance(event, dict):
        raise ValueError(f"not a Function URL request: the event is {json_kind(event)}, "
                         "not a JSON object")  # fmt: skip
    request = event.get("requestContext")
    http = request.get("http") if isinstance(request, dict) and "version" in event else None
    if not isinstance(http, dict) or not isinstance(http.get("method"), str):
        raise ValueError(
            "not a Function URL request: no requestContext.http.method "
            f"(the event's fields: {', '.join(sorted(map(str, event))) or 'none'})"
        )


def athena_stations() -> StationQueries | None:
    """The Stations page's queries: Athena over the lake bucket (built on first use)."""
    from fuelpipe.homes.lake import build_athena_stations

    return build_athena_stations(SETTINGS)


# The dashboard only reads: no HTTP source is built.
# The deploy's health check (fuelpipe/ping.py) is answered before any of this runs.
lambda_handler = answers_ping(
    "dashboard_api",
    make_handler(
        lazy_context(SETTINGS, sources={}),
        athena_stations,
        lambda: build_intraday_store(SETTINGS),
        lambda: build_alert_reader(SETTINGS),
    ),
)
