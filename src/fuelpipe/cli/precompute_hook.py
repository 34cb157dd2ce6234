"""The cycle's ``on_change`` for the CLI: recompute the dashboard's stored views after a change.

Only with the dashboard extra installed (the views need NumPy); without it the data version
still moves and the dashboard computes each stale view once, on its first request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from fuelpipe.cli.extras import missing_dashboard_modules
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext


@dataclass(frozen=True)
class HealthReads:
    """What the dashboard's health view reads beside the store and the queue: the alert state
    (its active alerts), a demo store's clock per series, and the clock it is served at (None:
    the run's own). The stored health view's version follows them
    (:func:`fuelpipe.dashboard.precomputed.health_inputs`), so the precompute must read the
    same ones the dashboard on that store serves with, or the dashboard never finds the view
    the run stored and computes health again after every run."""

    alerts: AlertReader | None = None
    series_clocks: Mapping[str, datetime] = field(default_factory=dict)
    clock: Clock | None = None


def health_reads(settings: Settings, store: Store) -> HealthReads:
    """What `fuelpipe dashboard` serves the health view with on this home, and so what `run`
    stores it with: the home's alert state and a demo store's clocks (none when --now or
    FUELPIPE_NOW puts every series at one), at the newest of them on a demo store
    (:func:`~fuelpipe.cli.demo.demo_panel_clock`), else at the command's own clock. A demo
    store's clocks are read from it again at each look (:class:`~fuelpipe.cli.demo.
    StoredDemoClocks`), so a dashboard serving a store `demo --live` is filling follows the
    replayed clock the demo stamps there each tick."""
    from fuelpipe.cli.demo import (  # here: demo imports this module
        DEMO_CLOCK,
        StoredDemoClocks,
        demo_series_clocks,
    )
    from fuelpipe.homes import alert_reader, stored_clock

    clocks = demo_series_clocks(store) if settings.now is None else {}
    window = stored_clock(store, DEMO_CLOCK) if clocks else None
    if window is None:
        return HealthReads(alert_reader(settings), clocks, None)
    # read again at each look: `demo --live` stamps its replayed clock in the store each tick
    followed = StoredDemoClocks(store, window.now())
    return HealthReads(alert_reader(settings), followed, followed)


def view_refresher(
    app: StageContext, reads: HealthReads | None = None
) -> Callable[[str], None] | None:
    """A callback that recomputes the default views for a new data version, or None; health
    with ``reads`` (as the dashboard serving this store reads them)."""
    if missing_dashboard_modules():
        return None
    given = reads or HealthReads()

    def refresh(version: str) -> None:
        from fuelpipe.dashboard.precomputed import refresh_views

        refresh_views(
            app.store,
            app.catalog,
            app.queue,
            given.clock or app.clock,
            version,
            alerts=given.alerts,
            series_clocks=given.series_clocks,
        )

    return refresh
