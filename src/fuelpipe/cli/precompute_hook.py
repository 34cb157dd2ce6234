"""The cycle's ``on_change`` for the CLI: recompute the dashboard's stored views after a change.

Only with the dashboard extra installed (the views need NumPy); without it the data version
still moves and the dashboard computes each stale view once, on its first request.
"""

from __future__ import annotations

from collections.abc import Callable

from fuelpipe.cli.extras import missing_dashboard_modules
from fuelpipe.stages.context import StageContext


def view_refresher(app: StageContext) -> Callable[[str], None] | None:
    """A callback that recomputes the default views for a new data version, or None."""
    if missing_dashboard_modules():
        return None

    def refresh(version: str) -> None:
        from fuelpipe.dashboard.precomputed import refresh_views

        refresh_views(app.store, app.catalog, app.queue, app.clock, version)

    return refresh
