"""Serve the dashboard on this machine with uvicorn (`fuelpipe dashboard`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from fuelpipe.dashboard.errors import FaultNamer
from fuelpipe.dashboard.stations import StationQueries
from fuelpipe.domain.catalog import Catalog
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store

if TYPE_CHECKING:
    from fastapi import FastAPI

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""The Host names a dashboard on a loopback address answers: the page itself and its API calls
use one of these; any other name reaching a loopback server is a rebound DNS name."""


def allowed_hosts(bind: str) -> tuple[str, ...] | None:
    """The Host header names to answer on ``bind``: LOOPBACK_NAMES on a loopback address
    (DNS rebinding), None (any) on an address others reach, under names only they know."""
    if bind == "localhost":
        return LOOPBACK_NAMES
    try:
        loopback = ipaddress.ip_address(bind.strip("[]")).is_loopback
    except ValueError:  # a host name: the operator's, with names this cannot know
        return None
    return LOOPBACK_NAMES if loopback else None


def dashboard_app(
    store: Store,
    catalog: Catalog,
    queue: Queue | None = None,
    host: str = "127.0.0.1",
    clock: Clock | None = None,
    stations: StationQueries | None = None,
    series_clocks: Mapping[str, datetime] | None = None,
    intraday: IntradayStore | None = None,
    *,
    store_views: bool = True,
    alerts: AlertReader | None = None,
    faults: FaultNamer | None = None,
) -> FastAPI:
    """The app `serve` runs on ``host``: on a loopback address it answers only
    LOOPBACK_NAMES (DNS rebinding). ``faults`` names the store's faults it answers 503
    (:class:`~fuelpipe.dashboard.errors.FaultNamer`)."""
    from fuelpipe.dashboard.app import create_app

    return create_app(
        store,
        catalog,
        queue,
        clock,
        stations=stations,
        series_clocks=series_clocks,
        intraday=intraday,
        store_views=store_views,
        alerts=alerts,
        allowed_hosts=allowed_hosts(host),
        faults=faults,
    )


def serve(
    store: Store,
    catalog: Catalog,
    queue: Queue | None = None,
    host: str = "127.0.0.1",
    port: int = 8050,
    clock: Clock | None = None,
    stations: StationQueries | None = None,
    series_clocks: Mapping[str, datetime] | None = None,
    intraday: IntradayStore | None = None,
    *,
    store_views: bool = True,
    alerts: AlertReader | None = None,
    faults: FaultNamer | None = None,
) -> None:
    """Run the dashboard until interrupted; ``store_views`` False on a read-only store;
    ``alerts`` the alert state the health view reads its active alerts from; ``faults``
    names the store's faults answered 503 (a damaged file)."""
    import uvicorn

    app = dashboard_app(
        store,
        catalog,
        queue,
        host,
        clock,
        stations,
        series_clocks,
        intraday,
        store_views=store_views,
        alerts=alerts,
        faults=faults,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
