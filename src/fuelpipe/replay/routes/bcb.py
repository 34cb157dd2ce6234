"""BCB PTAX OData (Olinda): ``CotacaoMoedaPeriodo``, ``CotacaoDolarPeriodo`` and ``Moedas``.

The period entities serve real closing bulletins only (``CotacaoMoedaDia`` adds the real windows
of the USD windows file). The time of day in ``dataHoraCotacao`` is not in the snapshot: it is
derived from the date, each window's bulletin a few minutes into its window (10, 11, 12 and 13 h)
and the closing after the last one, 13:05-13:10 (real Olinda answers stamp it 13:04-13:10,
``domain/publication.py``, docs/SOURCE_FORMATS.md; 15:35-15:40 on Ash Wednesday, whose last
window is 15:30). ``$format`` is ignored (always JSON); ``$filter`` on tipoBoletim, ``$top``,
``$select`` and ``$orderby ... desc`` are honoured.
The Moedas names and parity types are written from memory of the live service: verify live.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import currency_key
from fuelpipe.domain.publication import is_ash_wednesday
from fuelpipe.replay.faults import FaultKind
from fuelpipe.replay.reply import Reply, RouteContext, json_reply
from fuelpipe.replay.rowfaults import apply_row_fault
from fuelpipe.replay.snapshot_data import WINDOW_HOURS, PtaxQuote

PREFIX = "/olinda/servico/PTAX/versao/v1/odata/"
CONTEXT = "https://was-p.bcnet.bcb.gov.br/olinda/servico/PTAX/versao/v1/odata$metadata"
ODATA_JSON = "application/json;odata.metadata=minimal;charset=utf-8"
CLOSING = "Fechamento PTAX"

# The PTAX Moedas entity set: symbol -> (name as BCB formats it, parity type).
# Type A: parity in units of the currency per US dollar; type B: US dollars per unit.
MOEDAS: dict[str, tuple[str, str]] = {
    "AUD": ("Dólar australiano", "B"),
    "CAD": ("Dólar canadense", "A"),
    "CHF": ("Franco suíço", "A"),
    "DKK": ("Coroa dinamarquesa", "A"),
    "EUR": ("Euro", "B"),
    "GBP": ("Libra Esterlina", "B"),
    "JPY": ("Iene", "A"),
    "NOK": ("Coroa norueguesa", "A"),
    "SEK": ("Coroa sueca", "A"),
    "USD": ("Dólar dos Estados Unidos", "A"),
}

_CALL = re.compile(r"^(\w+)(?:\((.*)\))?$")
_DATE = re.compile(r"^(\d{1,2})[-/](\d{1,2})[-/](\d{4})$")


class ODataError(ValueError):
    """A request the real service would answer with HTTP 400."""


def _error(message: str) -> Reply:
    return json_reply(400, {"error": {"code": "", "message": message}}, ODATA_JSON)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def _params(ctx: RouteContext, inside: str) -> dict[str, str]:
    """Function parameters, resolving ``@alias`` from the query string."""
    out: dict[str, str] = {}
    for part in filter(None, inside.split(",")):
        name, eq, value = part.partition("=")
        if not eq:
            raise ODataError(f"malformed parameter {part!r}")
        value = value.strip()
        if value.startswith("@"):
            resolved = ctx.arg(value)
            if resolved is None:
                raise ODataError(f"parameter alias {value} has no value in the query string")
            value = resolved
        out[name.strip()] = _unquote(value)
    return out


def parse_ptax_date(text: str) -> date:
    """``MM-DD-YYYY`` or ``M/D/YYYY`` (with or without zero padding)."""
    match = _DATE.match(text.strip())
    if not match:
        raise ODataError(f"date {text!r} is not MM-DD-YYYY")
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ODataError(f"date {text!r} does not exist") from None


WINDOW_STAMP_MINUTES = 5
"""A window's bulletin is stamped in the first minutes of its window (``_window_stamp``): 0-4."""
CLOSING_AFTER = range(WINDOW_STAMP_MINUTES, 11)
"""Minutes after the day's last window opens that the closing is stamped (13:05-13:10 on a usual
day: real closings are stamped 13:04-13:10), always after the last window's bulletin."""


def _window_stamp(day: date, hour: int) -> str:
    """The made-up time of a window's bulletin (the file has the window's hour only)."""
    return f"{hour}:0{day.day % WINDOW_STAMP_MINUTES}:{day.month + 10}.000"


@lru_cache(maxsize=1 << 14)
def _time_of_day(day: date) -> str:
    """The closing bulletin's time: a few minutes after the day's last window (13:00, or 15:30
    on Ash Wednesday), so after every window bulletin it averages; deterministic per date."""
    digest = hashlib.sha256(day.isoformat().encode()).digest()
    last = time(15, 30) if is_ash_wednesday(day) else time(13, 0)
    minute = last.minute + CLOSING_AFTER[digest[0] % len(CLOSING_AFTER)]
    second, milli = digest[1] % 60, int.from_bytes(digest[2:4]) % 1000
    return f"{last.hour}:{minute:02d}:{second:02d}.{milli:03d}"


def _row(q: PtaxQuote, with_type: bool) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if with_type:
        row.update(paridadeCompra=1.0, paridadeVenda=1.0)
    row.update(
        cotacaoCompra=float(q.buy),
        cotacaoVenda=float(q.sell),
        dataHoraCotacao=f"{q.day.isoformat()} {_time_of_day(q.day)}",
    )
    if with_type:
        row["tipoBoletim"] = CLOSING
    return row


def _filter_keeps_closing(expr: str | None) -> bool:
    """Whether an OData ``$filter`` on tipoBoletim keeps the closing bulletin."""
    if not expr or "tipoBoletim" not in expr:
        return True
    wanted = re.findall(r"'([^']*)'", expr)
    if not wanted:
        return True
    if "contains" in expr or "startswith" in expr:
        return all(w in CLOSING for w in wanted)
    return all(w == CLOSING for w in wanted)


def _shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "data": r["dataHoraCotacao"][:10],
            "compra": r["cotacaoCompra"],
            "venda": r["cotacaoVenda"],
        }
        for r in rows
    ]


def _period(ctx: RouteContext, entity: str, params: dict[str, str]) -> Reply:
    with_type = entity == "CotacaoMoedaPeriodo"
    currency = params.get("moeda", "USD").upper() if with_type else "USD"
    for needed in (["moeda"] if with_type else []) + ["dataInicial", "dataFinalCotacao"]:
        if needed not in params:
            raise ODataError(f"missing parameter {needed}")
    start = parse_ptax_date(params["dataInicial"])
    end = parse_ptax_date(params["dataFinalCotacao"])
    absent = ctx.plan.absent_days("bcb", currency_key(currency) if currency in MOEDAS else None)
    quotes = ctx.snapshot.ptax.get(currency, [])
    if absent.ranges:
        quotes = [q for q in quotes if q.day not in absent]
    inside = [q for q in quotes if start <= q.day <= end]
    before = [q for q in quotes if q.day < start]
    after = [q for q in quotes if q.day > end]
    chosen, fault = apply_row_fault(ctx.row_fault, inside, ctx.decision.rng, before, after)
    if not _filter_keeps_closing(ctx.arg("$filter")):
        chosen, fault = [], None
    rows = [_row(q, with_type) for q in chosen]
    if (ctx.arg("$orderby") or "").strip().endswith(" desc"):
        rows.reverse()
    top = ctx.arg("$top")
    if top is not None:
        if not top.isdigit():
            raise ODataError(f"$top={top!r} is not a number")
        rows = rows[: int(top)]
    select = ctx.arg("$select")
    if select:
        fields = [f.strip() for f in select.split(",")]
        rows = [{f: r[f] for f in fields if f in r} for r in rows]
    if ctx.wants_shape and rows and "cotacaoVenda" in rows[0]:
        shaped = {"@odata.context": CONTEXT, "value": _shape(rows)}
        return json_reply(200, shaped, ODATA_JSON).with_fault(FaultKind.SHAPE)
    payload = {"@odata.context": f"{CONTEXT}#_{entity}", "value": rows}
    return json_reply(200, payload, ODATA_JSON).with_fault(fault)


WINDOW_KINDS = ("Abertura", "Intermediário", "Intermediário", "Intermediário")


def _day(ctx: RouteContext, params: dict[str, str]) -> Reply:
    """CotacaoMoedaDia: the day's bulletins. USD only, from the real windows file: the four
    consultation windows (Abertura, then three Intermediário) and the closing, their mean (or
    the daily file's closing alone on a day the windows file lacks)."""
    for needed in ("moeda", "dataCotacao"):
        if needed not in params:
            raise ODataError(f"missing parameter {needed}")
    currency = params["moeda"].upper()
    day = parse_ptax_date(params["dataCotacao"])
    key = currency_key(currency) if currency in MOEDAS else None
    absent = ctx.plan.absent_days("bcb", key)
    windows = ctx.snapshot.ptax_windows().get(day) if currency == "USD" else None
    rows: list[dict[str, Any]] = []
    # A live replay serves each window bulletin from its instant (a few minutes past the hour
    # in the stamps below) and the closing when the day's PTAX is published.
    released = [
        ctx.plan.intraday_released("bcb", key, datetime.combine(day, time(h, 5), SAO_PAULO))
        for h in WINDOW_HOURS
    ]
    closing = (
        next((q for q in ctx.snapshot.ptax.get(currency, []) if q.day == day), None)
        if currency == "USD"
        else None
    )
    # The file has the sell side only: the buy side is the sell less the day's closing spread
    # (0.0006 on every day of the daily file, the default when the day is not in it).
    spread = Decimal(closing.sell) - Decimal(closing.buy) if closing else Decimal("0.0006")
    if windows and any(released):
        # The file has the nominal window hour only; the minute is made up, a few past the hour.
        stamps = [_window_stamp(day, h) for h in WINDOW_HOURS]
        for kind, value, stamp, out in zip(WINDOW_KINDS, windows, stamps, released, strict=True):
            if out:
                rows.append(_bulletin_row(day, stamp, kind, value, value - spread))
    # The closing: the daily file's, or the windows' mean; a day the windows file lacks still
    # has its real closing bulletin.
    if day not in absent and closing:
        sell, buy = Decimal(closing.sell), Decimal(closing.buy)
        rows.append(_bulletin_row(day, _time_of_day(day), CLOSING, sell, buy))
    elif day not in absent and windows:
        mean = (sum(windows, Decimal(0)) / len(windows)).quantize(Decimal("0.0001"))
        rows.append(_bulletin_row(day, _time_of_day(day), CLOSING, mean, mean - spread))
    return json_reply(
        200, {"@odata.context": f"{CONTEXT}#_CotacaoMoedaDia", "value": rows}, ODATA_JSON
    )


def _bulletin_row(day: date, stamp: str, kind: str, sell: Decimal, buy: Decimal) -> dict[str, Any]:
    return {
        "paridadeCompra": 1.0,
        "paridadeVenda": 1.0,
        "cotacaoCompra": float(buy),
        "cotacaoVenda": float(sell),
        "dataHoraCotacao": f"{day.isoformat()} {stamp}",
        "tipoBoletim": kind,
    }


def _moedas() -> Reply:
    rows = [{"simbolo": s, "nomeFormatado": n, "tipoMoeda": t} for s, (n, t) in MOEDAS.items()]
    return json_reply(200, {"@odata.context": f"{CONTEXT}#Moedas", "value": rows}, ODATA_JSON)


def handle(ctx: RouteContext) -> Reply:
    """Answer one request below ``/bcb``."""
    if not ctx.path.startswith(PREFIX):
        return Reply(404, ODATA_JSON, b'{"error":{"code":"","message":"Not Found"}}')
    match = _CALL.match(ctx.path[len(PREFIX) :])
    if not match:
        return _error("malformed resource path")
    entity, inside = match.group(1), match.group(2) or ""
    try:
        return _entity(ctx, entity, inside)
    except ODataError as exc:
        return _error(str(exc))


def _entity(ctx: RouteContext, entity: str, inside: str) -> Reply:
    if entity == "Moedas":
        return _moedas()
    if entity in ("CotacaoMoedaPeriodo", "CotacaoDolarPeriodo"):
        return _period(ctx, entity, _params(ctx, inside))
    if entity == "CotacaoMoedaDia":
        return _day(ctx, _params(ctx, inside))
    return json_reply(
        404,
        {"error": {"code": "", "message": f"Resource not found for the segment '{entity}'."}},
        ODATA_JSON,
    )
