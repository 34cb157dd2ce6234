"""BCB PTAX from the Olinda OData service: the closing bulletin of each banking day."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from fuelpipe.adapters.sources._http import HttpSource, json_decimal, parse_json, single_series
from fuelpipe.adapters.sources._unsure import unsure_days
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.intraday import IntradayPoint, bulletin_kind
from fuelpipe.domain.models import AttrValue, Observation
from fuelpipe.ports.source import FetchRequest, FetchResult, InvalidPayload

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://olinda.bcb.gov.br/olinda/servico/PTAX/versao/v1/odata"
_FIELDS = (
    "paridadeCompra",
    "paridadeVenda",
    "cotacaoCompra",
    "cotacaoVenda",
    "dataHoraCotacao",
    "tipoBoletim",
)
_FIELD_SET = frozenset(_FIELDS)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
CLOSING = "Fechamento"
"""The closing bulletin's kind (:func:`~fuelpipe.domain.intraday.bulletin_kind`): the PTAX.
The opening and intermediate ones (Abertura, Intermediário) are not; a type that is none of
them (accents and case aside) is a row that cannot be read, not one of them."""
SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # dataHoraCotacao is Brasília time, without offset


def ptax_url(base_url: str, currency: str, start: date, end: date) -> str:
    """The CotacaoMoedaPeriodo URL for one currency and an inclusive date range."""
    if not _CURRENCY.match(currency):
        raise ValueError(f"bcb: {currency!r} is not an ISO currency code")
    return (
        f"{base_url.rstrip('/')}/CotacaoMoedaPeriodo("
        "moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)"
        f"?@moeda='{currency}'&@dataInicial='{start:%m-%d-%Y}'"
        f"&@dataFinalCotacao='{end:%m-%d-%Y}'&$format=json&$top=100000"
    )


def bulletins_url(base_url: str, currency: str, day: date) -> str:
    """The CotacaoMoedaDia URL: every bulletin (opening, intermediate, closing) of one day."""
    if not _CURRENCY.match(currency):
        raise ValueError(f"bcb: {currency!r} is not an ISO currency code")
    return (
        f"{base_url.rstrip('/')}/CotacaoMoedaDia(moeda=@moeda,dataCotacao=@dataCotacao)"
        f"?@moeda='{currency}'&@dataCotacao='{day:%m-%d-%Y}'&$format=json"
    )


class _Bulletin(NamedTuple):
    at: datetime
    stamp: str
    buy: Decimal
    sell: Decimal
    parity_buy: Decimal
    parity_sell: Decimal
    closing: bool
    kind: str
    place: int  # its index in the answer's value list


def _number(row: dict[str, object], name: str, index: int, where: str) -> Decimal:
    number = json_decimal(row[name])
    if number is None:
        raise InvalidPayload(f"{where}: value[{index}]: {name} is not a number: {row[name]!r}")
    return number


def _time(row: object, index: int, where: str) -> datetime:
    """When a row of the ``value`` list was published, in Brasília time without an offset (as
    Olinda writes it); InvalidPayload if that cannot be read.

    A stamp with an offset is read as the instant it names, in Brasília time: compared with
    the others as given, one naive and one not, the rows of one answer raised a TypeError
    that no SourceError handler caught."""
    if not isinstance(row, dict):
        raise InvalidPayload(f"{where}: value[{index}] is not an object")
    if "dataHoraCotacao" not in row:
        raise InvalidPayload(f"{where}: value[{index}] lacks dataHoraCotacao")
    stamp = row["dataHoraCotacao"]
    if not isinstance(stamp, str):
        raise InvalidPayload(f"{where}: value[{index}]: dataHoraCotacao not text")
    try:
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is not None:
            at = at.astimezone(SAO_PAULO).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        raise InvalidPayload(f"{where}: value[{index}]: bad dataHoraCotacao {stamp!r}") from None
    return at


def _kind(tipo: object) -> str | None:
    """The kind of a tipoBoletim (:func:`~fuelpipe.domain.intraday.bulletin_kind`: accents and
    case aside); None for text of no kind BCB uses, or no text."""
    try:
        return bulletin_kind(tipo) if isinstance(tipo, str) else None
    except ValueError:
        return None


def _bulletin(row: object, at: datetime, index: int, where: str) -> _Bulletin:
    """One validated row of the ``value`` list, published ``at`` (its :func:`_time`, read
    once by the caller)."""
    # Not a pydantic row model: its lax mode reads "5.12" as a rate and 1700000000 as a time.
    if not isinstance(row, dict):
        raise InvalidPayload(f"{where}: value[{index}] is not an object")
    if not row.keys() >= _FIELD_SET:
        missing = [name for name in _FIELDS if name not in row]
        raise InvalidPayload(f"{where}: value[{index}] lacks {', '.join(missing)}")
    stamp, kind = row["dataHoraCotacao"], row["tipoBoletim"]
    if not isinstance(stamp, str) or not isinstance(kind, str):
        raise InvalidPayload(f"{where}: value[{index}]: dataHoraCotacao/tipoBoletim not text")
    return _Bulletin(
        at=at,
        stamp=stamp,
        buy=_number(row, "cotacaoCompra", index, where),
        sell=_number(row, "cotacaoVenda", index, where),
        parity_buy=_number(row, "paridadeCompra", index, where),
        parity_sell=_number(row, "paridadeVenda", index, where),
        closing=_kind(kind) == CLOSING,
        kind=kind,
        place=index,
    )


OTHER_CLOSINGS = "other_closings"
"""The attribute of a day BCB gives more than one closing bulletin at different times: the
latest is the PTAX (the record's value and attributes), and each other one, in time order, is
kept in this one text so that no published figure is dropped (attributes are flat: text,
Decimal, int or null; ANP's ``other_rows`` does the same). Bulletins are joined by ``; ``; one
is ``<dataHoraCotacao as published> sell=<cotacaoVenda> buy=<cotacaoCompra>
parity_buy=<paridadeCompra> parity_sell=<paridadeVenda>``, each number its exact decimal
text: ``2024-01-15 13:38:08.191 sell=4.8741 buy=4.8735 parity_buy=1.0 parity_sell=1.0``.
:func:`read_other_closings` reads it back."""
_FIGURES = ("sell", "buy", "parity_buy", "parity_sell")  # an OTHER_CLOSINGS bulletin's, in order


class OtherClosing(NamedTuple):
    """One bulletin of an :data:`OTHER_CLOSINGS` text: its instant as BCB published it
    (``dataHoraCotacao``, as ``bulletin_at`` has the PTAX's) and its figures, exact."""

    at: str
    sell: Decimal
    buy: Decimal
    parity_buy: Decimal
    parity_sell: Decimal


def read_other_closings(text: str) -> list[OtherClosing]:
    """The bulletins of an :data:`OTHER_CLOSINGS` text, in its order; a ValueError naming
    the bulletin and the part of it that cannot be read (its instant, a figure missing, out
    of order or not a finite decimal)."""
    out: list[OtherClosing] = []
    for part in text.split("; "):
        stamp, sep, rest = part.partition(" sell=")  # an instant fromisoformat reads has none
        if not sep:
            raise ValueError(f"{OTHER_CLOSINGS}: no ' sell=' after an instant in {part!r}")
        figures = f"sell={rest}".split(" ")
        try:
            datetime.fromisoformat(stamp)
        except ValueError:
            raise ValueError(f"{OTHER_CLOSINGS}: bad instant {stamp!r} in {part!r}") from None
        names = [figure.partition("=")[0] for figure in figures]
        if names != list(_FIGURES):
            raise ValueError(
                f"{OTHER_CLOSINGS}: expected {' '.join(f'{n}=' for n in _FIGURES)} after the "
                f"instant, got {' '.join(figures)!r} in {part!r}"
            )
        out.append(OtherClosing(stamp, *(_figure(f, part) for f in figures)))
    return out


def _figure(figure: str, part: str) -> Decimal:
    """The exact Decimal of one ``name=value`` of an OTHER_CLOSINGS bulletin ``part``."""
    value = figure.partition("=")[2]
    try:
        number = None if "_" in value else Decimal(value)  # Decimal takes "1_0" as 10
    except ArithmeticError:  # decimal.InvalidOperation
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{OTHER_CLOSINGS}: {figure!r} is not a decimal number in {part!r}")
    return number


def _keep_latest(
    closings: dict[date, _Bulletin],
    others: dict[date, list[_Bulletin]],
    tied: dict[date, tuple[datetime, str]],
    day: date,
    bulletin: _Bulletin,
) -> None:
    """Keep ``bulletin`` as ``day``'s closing if none kept is later: a day can carry a
    corrected closing bulletin, and the latest one is the PTAX; the one not kept goes to
    ``others`` (its figures are published values too). One of the same instant as the kept
    one with other figures is a tie, noted in ``tied``; the same bulletin twice is one."""
    kept = closings.get(day)
    if kept is None or bulletin.at > kept.at:
        closings[day] = bulletin
        if kept is not None:
            others.setdefault(day, []).append(kept)
    elif bulletin.at < kept.at:
        others.setdefault(day, []).append(bulletin)
    elif bulletin[2:6] != kept[2:6]:  # the same instant, other rates or parities
        tied.setdefault(day, (kept.at, _tie(kept, bulletin)))
        others.setdefault(day, []).append(bulletin)  # kept if a later closing settles the day


def _other_closings(bulletins: list[_Bulletin]) -> str:
    """:data:`OTHER_CLOSINGS`'s text for a day's closings that are not its PTAX, in time order
    (those of one instant in the answer's order; the same bulletin given twice said once)."""
    texts = (
        f"{b.stamp} sell={b.sell} buy={b.buy} parity_buy={b.parity_buy} parity_sell={b.parity_sell}"
        for b in sorted(bulletins, key=lambda b: (b.at, b.place))
    )
    return "; ".join(dict.fromkeys(texts))


def _observations(
    key: str, closings: dict[date, _Bulletin], others: dict[date, list[_Bulletin]]
) -> list[Observation]:
    """Each day's PTAX: its latest closing, with the day's other closings' figures."""
    observations = []
    for day, b in sorted(closings.items()):
        attrs: dict[str, AttrValue] = {
            "buy": b.buy,
            "parity_buy": b.parity_buy,
            "parity_sell": b.parity_sell,
            "bulletin_at": b.stamp,
        }
        if day in others:
            attrs[OTHER_CLOSINGS] = _other_closings(others[day])
        observations.append(Observation(key=key, date=day, value=b.sell, attrs=attrs))
    return observations


def _untie(
    closings: dict[date, _Bulletin], tied: dict[date, tuple[datetime, str]], key: str, where: str
) -> dict[tuple[str, date], str]:
    """A retry note for each day whose latest closing is still one of a tie (no later one
    settled it), that day's closing left out: which of the two is the PTAX is unknown."""
    notes: dict[tuple[str, date], str] = {}
    for day, (at, rates) in tied.items():
        if closings[day].at == at:
            del closings[day]
            notes[(key, day)] = (
                f"{where}: two closing bulletins at {at} with rates {rates}: which one is "
                "the PTAX is unknown; the day's closing PTAX is retried"
            )
    return notes


def _tie(first: _Bulletin, second: _Bulletin) -> str:
    """Two closings of one instant in words: their sell rates, or all their figures when
    those are the same."""
    if first.sell != second.sell:
        return f"{first.sell} and {second.sell}"
    return " and ".join(
        f"{b.sell} (buy {b.buy}, parity {b.parity_buy}/{b.parity_sell})" for b in (first, second)
    )


def parse_ptax(
    payload: object, key: str, start: date, end: date, where: str = "bcb"
) -> tuple[list[Observation], dict[tuple[str, date], str]]:
    """Closing PTAX per day in ``[start, end]`` from a CotacaoMoedaPeriodo JSON body, and the
    days left a retry with the reason.

    A body that is not such an answer is an InvalidPayload; a row that cannot be read is a note
    for its day (for each day no row answers when its time cannot be read), the rest are kept.
    So are two closing bulletins of one instant with different figures when none comes later:
    neither is later, so which one is the PTAX cannot be told (the same bulletin twice is one).
    A day's latest closing is its PTAX; its earlier closings (a corrected bulletin's) are kept in
    :data:`OTHER_CLOSINGS`. Opening and intermediate bulletins are not the PTAX: a day with only
    those is a note (not closed yet); a bulletin of another type is a row that cannot be read.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise InvalidPayload(f"{where}: expected a JSON object with a 'value' list")
    if payload.get("@odata.nextLink"):
        # Olinda answers a window whole today; a paged answer would silently miss the rest.
        raise InvalidPayload(
            f"{where}: the answer is paged (@odata.nextLink {payload['@odata.nextLink']!r}); "
            "its first page alone would leave the window's later days out"
        )
    closings: dict[date, _Bulletin] = {}
    others: dict[date, list[_Bulletin]] = {}  # day -> its earlier closings (corrected since)
    tied: dict[date, tuple[datetime, str]] = {}  # day -> two closings of one instant, in words
    bad: dict[date, tuple[datetime, str]] = {}  # day -> the latest unreadable closing row
    open_days: set[date] = set()
    undated: str | None = None  # the first row whose time cannot be read
    for index, row in enumerate(payload["value"]):
        try:
            at = _time(row, index, where)
        except InvalidPayload as exc:
            undated = undated or str(exc)
            continue
        day = at.date()
        if not start <= day <= end:
            continue  # outside the window: not read further, so not a problem of this answer
        kind = _kind(row.get("tipoBoletim"))
        if kind is not None and kind != CLOSING:
            open_days.add(day)  # only the closing bulletin is the PTAX: its numbers unused
            continue
        try:
            bulletin = _bulletin(row, at, index, where)
            if not bulletin.closing:  # no kind BCB uses: it may be a renamed closing
                raise InvalidPayload(
                    f"{where}: value[{index}]: unknown bulletin type {bulletin.kind!r}"
                )
        except InvalidPayload as exc:
            if day not in bad or at > bad[day][0]:
                bad[day] = (at, str(exc))
            continue
        _keep_latest(closings, others, tied, day, bulletin)
    notes = {
        (key, day): "bcb: only opening/intermediate bulletins, no closing PTAX yet"
        for day in sorted(open_days - closings.keys())
    }
    notes.update(_untie(closings, tied, key, where))
    for day, (at, why) in bad.items():
        kept = closings.get(day)
        if kept is None or at > kept.at:  # the unreadable row may be the day's correction
            closings.pop(day, None)
            notes[(key, day)] = f"{why}; the day's closing PTAX is retried"
    if undated is not None:
        notes.update(
            unsure_days(key, (start, end), closings.keys() | {d for _, d in notes}, undated)
        )
    return _observations(key, closings, others), notes


def parse_bulletins(
    payload: object, key: str, day: date, where: str = "bcb"
) -> list[IntradayPoint]:
    """Every bulletin of ``day`` from a CotacaoMoedaDia body, in time order (São Paulo time).

    A body that is not such an answer is an InvalidPayload. A row that cannot be read (a rate
    that is not a number, a bulletin type BCB has not used, a time that cannot be read: it may
    be the day's) is logged and skipped, and the day's other bulletins are still its points;
    only an answer with such a row and no readable bulletin of the day is an InvalidPayload,
    naming the first. A row of another day is not read further.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise InvalidPayload(f"{where}: expected a JSON object with a 'value' list")
    points = []
    problems: list[str] = []
    for index, row in enumerate(payload["value"]):
        try:
            at = _time(row, index, where)
            if at.date() != day:
                continue
            b = _bulletin(row, at, index, where)
            try:
                kind = bulletin_kind(b.kind)
            except ValueError as exc:
                raise InvalidPayload(f"{where}: value[{index}]: {exc}") from None
        except InvalidPayload as exc:
            problems.append(str(exc))
            continue
        points.append(
            IntradayPoint(
                series_key=key,
                at=b.at.replace(tzinfo=SAO_PAULO),
                kind=kind,
                value=b.sell,
                attrs={"buy": b.buy, "bulletin_at": b.stamp},
            )
        )
    if problems and not points:
        raise InvalidPayload(problems[0])
    for problem in problems:
        logger.warning("%s; bulletin skipped, the day's others kept", problem)
    return sorted(points, key=lambda p: p.at)


class BcbPtaxSource(HttpSource):
    """PTAX closing rates, one currency and one date range per request."""

    name = "bcb"
    default_base_url = DEFAULT_BASE_URL

    def fetch(self, request: FetchRequest) -> FetchResult:
        """The closing bulletins of ``request``'s currency between its start and end."""
        series = single_series(request, self.name)
        url = ptax_url(self.base_url, series.symbol, request.start, request.end)
        response = self.get(url)
        where = f"{self.name}: {url}"
        observations, notes = parse_ptax(
            parse_json(response.content, self.name, url),
            series.key,
            request.start,
            request.end,
            where,
        )
        return FetchResult(observations, notes, requests=1)

    def fetch_intraday(self, series: Series, day: date) -> list[IntradayPoint]:
        """The intraday points of a day: its PTAX bulletins."""
        return self.fetch_bulletins(series, day)

    def fetch_bulletins(self, series: Series, day: date) -> list[IntradayPoint]:
        """The day's PTAX bulletins so far (opening, intermediates, closing)."""
        url = bulletins_url(self.base_url, series.symbol, day)
        payload = parse_json(self.get(url).content, self.name, url)
        return parse_bulletins(payload, series.key, day, f"{self.name}: {url}")
