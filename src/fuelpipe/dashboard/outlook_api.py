"""The Outlook view's API routes: the stored nowcast of a fuel, its accuracy, and the state map
(:class:`~fuelpipe.dashboard.outlook_views.OutlookViews` builds them).

Accuracy is a walk-forward backtest of the same model on the history this store holds (the
last three years of forecast weeks), so the panel never shows a nowcast without saying whether
it beats the no-change forecast there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel

from fuelpipe.dashboard.app import (
    CSV_RESPONSES,
    AreaQ,
    FuelQ,
    answer,
    labelled,
    table_check,
    table_help,
)
from fuelpipe.dashboard.formats import FormatQ
from fuelpipe.dashboard.outlook_views import (
    MAP_HORIZON,
    OutlookMapView,
    OutlookView,
    OutlookViews,
)
from fuelpipe.dashboard.versions import SCOPE_KEY, DataVersion
from fuelpipe.domain.catalog import Catalog
from fuelpipe.ports.store import Store


def version_of(request: Request, versions: DataVersion) -> str:
    """The data version this request read (the middlewares keep it in its scope), or a read."""
    found = request.scope.get(SCOPE_KEY)
    return found if isinstance(found, str) else versions.get()


def outlook_router(
    store: Store,
    catalog: Catalog,
    versions: DataVersion | None = None,
    views: OutlookViews | None = None,
) -> APIRouter:
    """The /api/outlook routes over one store; the accuracy is computed once per data version
    (``versions``, the app's memoised read; ``views``: the stored views' builder, whose
    accuracy cache the routes then share)."""
    data = versions or DataVersion(store)
    router = APIRouter()
    built = views or OutlookViews(store, catalog)

    @router.get("/api/outlook", response_model=OutlookView, responses=CSV_RESPONSES)
    def outlook(
        request: Request,
        fuel: FuelQ,
        area: AreaQ = "BR",
        format: FormatQ = "json",
        table: Annotated[
            str | None, table_check(OutlookView), Query(description=table_help(OutlookView))
        ] = None,
    ) -> BaseModel | Response:
        """The latest stored nowcast (80/95% bands), the driver's move, and backtest accuracy."""
        view = built.area(fuel, area, version_of(request, data))
        parts = [fuel, area, labelled("from", view.last_week)]
        return answer(view, format, "outlook", table, parts=parts)

    @router.get("/api/outlook/map", response_model=OutlookMapView, responses=CSV_RESPONSES)
    def outlook_map(
        request: Request,
        fuel: FuelQ,
        horizon: Annotated[
            int,
            AfterValidator(_check_horizon),
            Query(description="weeks after the last published one (1 = the week in progress)"),
        ] = MAP_HORIZON,
        format: FormatQ = "json",
        table: Annotated[
            str | None,
            table_check(OutlookMapView),
            Query(description=table_help(OutlookMapView)),
        ] = None,
    ) -> BaseModel | Response:
        """Each state's expected change from its last published price at one horizon, with how
        its forecasts at that horizon scored (a state's history is short: few weeks decide
        nothing, and the verdict says so)."""
        view = built.state_map(fuel, horizon, version_of(request, data))
        newest = max((s.last_week for s in view.states), default=None)
        parts = [fuel, labelled("horizon", horizon), labelled("from", newest)]
        return answer(view, format, "outlook-map", table, parts=parts)

    return router


def _check_horizon(value: int) -> int:
    if not 1 <= value <= 5:
        raise ValueError(f"horizon {value} is outside 1–5")
    return value
