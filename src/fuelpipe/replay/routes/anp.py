"""ANP summary workbooks: ``/semanal/semanal-{brasil,regioes,estados}-desde-2013.xlsx`` and
``/mensal/mensal-estados-desde-jan2013.xlsx``, served as the bundled bytes.

Faults rewrite the workbook (absent weeks removed, rows duplicated or shuffled, header row
removed for ``shape``); ``outside`` does not apply, as a workbook always holds its whole history.
"""

from __future__ import annotations

from fuelpipe.replay.anp_workbook import (
    WORKBOOK_LEVELS,
    WORKBOOK_SCHEDULES,
    XLSX_CONTENT_TYPE,
    rewrite_rows,
    row_date,
    row_key,
)
from fuelpipe.replay.faults import FaultKind
from fuelpipe.replay.reply import Reply, RouteContext, html_page
from fuelpipe.replay.rowfaults import apply_row_fault


def _not_found() -> Reply:
    return html_page(404, "Página não encontrada", "Desculpe, mas esta página não existe…")


def served_rows(ctx: RouteContext, route: str) -> list[int]:
    """Indices of the bundled data rows that are served: all but the absent dates.

    Every row follows the workbook's schedule (a live plan withholds a week not released yet
    from every product and area alike, as ANP publishes the whole week at once, not only from
    the keys the plan watches); a fault plan's absent dates apply to their own keys."""
    sheet = ctx.snapshot.sheet(route)
    if not ctx.plan.has_absent:
        return list(range(len(sheet.rows)))
    level = WORKBOOK_LEVELS[route]
    schedule = WORKBOOK_SCHEDULES[route]
    keep = []
    for i, row in enumerate(sheet.rows):
        day = row_date(sheet, row)
        key = row_key(sheet, level, row)
        if day is None or day not in ctx.plan.absent_days("anp", key, schedule):
            keep.append(i)
    return keep


def handle(ctx: RouteContext) -> Reply:
    """Answer one request below ``/anp``."""
    route = ctx.path.lstrip("/")
    if route not in ctx.snapshot.workbooks:
        return _not_found()
    data = ctx.snapshot.workbook_bytes(route)
    header_row = ctx.snapshot.sheet(route).header_row
    fault: FaultKind | None = None
    if ctx.plan.has_absent or ctx.wants_shape or ctx.row_fault:
        order = served_rows(ctx, route)
        order, fault = apply_row_fault(ctx.row_fault, order, ctx.decision.rng)
        if ctx.wants_shape:
            fault = FaultKind.SHAPE
        if fault is None:  # absent rows only: the same bytes for every request
            tag = f"anp:{route}:{ctx.plan.cache_tag('anp')}"  # what is withheld may change
            data = ctx.memo.get(tag, lambda: rewrite_rows(data, header_row, order))
        else:
            data = rewrite_rows(data, header_row, order, drop_header=ctx.wants_shape)
    name = route.rsplit("/", 1)[-1]
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Reply(200, XLSX_CONTENT_TYPE, data, headers, fault)
