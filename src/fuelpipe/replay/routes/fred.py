"""FRED graph CSV: ``/graph/fredgraph.csv?id=DCOILBRENTEU[&cosd=YYYY-MM-DD&coed=YYYY-MM-DD]``."""

from __future__ import annotations

from datetime import date

from fuelpipe.replay.reply import Reply, RouteContext, html_page
from fuelpipe.replay.rowfaults import apply_row_fault
from fuelpipe.replay.snapshot_data import FRED_KEYS, FredObs

PATH = "/graph/fredgraph.csv"
CSV = "text/csv; charset=UTF-8"


def _not_found() -> Reply:
    return html_page(
        404,
        "Error - 404 | FRED | St. Louis Fed",
        "Sorry, the page you requested could not be found.",
    )


def _day(text: str | None, default: date) -> date | None:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def handle(ctx: RouteContext) -> Reply:
    """Answer one request below ``/fred``."""
    series_id = (ctx.arg("id") or "").strip()
    if ctx.path != PATH or series_id not in ctx.snapshot.fred:
        return _not_found()
    start, end = _day(ctx.arg("cosd"), date.min), _day(ctx.arg("coed"), date.max)
    if start is None or end is None:
        return html_page(400, "Bad Request", "cosd/coed must be YYYY-MM-DD")
    absent = ctx.plan.absent_days("fred", FRED_KEYS.get(series_id))
    rows: list[FredObs] = [o for o in ctx.snapshot.fred[series_id] if o.day not in absent]
    inside = [o for o in rows if start <= o.day <= end]
    before = [o for o in rows if o.day < start]
    after = [o for o in rows if o.day > end]
    chosen, fault = apply_row_fault(ctx.row_fault, inside, ctx.decision.rng, before, after)
    if ctx.wants_shape and chosen:
        lines = ["observation_date", *(o.day.isoformat() for o in chosen)]  # value column lost
        fault = ctx.decision.kind
    else:
        lines = [
            f"observation_date,{series_id}",
            *(f"{o.day.isoformat()},{o.value}" for o in chosen),
        ]
    return Reply(200, CSV, ("\n".join(lines) + "\n").encode(), fault=fault)
