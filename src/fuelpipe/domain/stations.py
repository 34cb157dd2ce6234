"""ANP's station-level survey ("Série Histórica de Preços de Combustíveis"): the file layout,
product and unit vocabularies, survey weeks, and how a rejected record maps to its file line.

Pure: no I/O, no clock. The lake adapter turns these tables into SQL.
"""

from __future__ import annotations

import difflib
import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from fuelpipe.domain.catalog import STATES
from fuelpipe.domain.numbers import positional
from fuelpipe.domain.text import folded

# The 16 columns of every ANP station file since 2004, in order.
ANP_COLUMNS: tuple[str, ...] = (
    "Regiao - Sigla",
    "Estado - Sigla",
    "Municipio",
    "Revenda",
    "CNPJ da Revenda",
    "Nome da Rua",
    "Numero Rua",
    "Complemento",
    "Bairro",
    "Cep",
    "Produto",
    "Data da Coleta",
    "Valor de Venda",
    "Valor de Compra",
    "Unidade de Medida",
    "Bandeira",
)


def column_key(name: str) -> str:
    """A header cell as it is compared with ANP's column names: case, accents and the spaces
    around it do not count (``Região - Sigla``, ``REGIAO - SIGLA`` name one column)."""
    decomposed = unicodedata.normalize("NFD", name.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


ANP_COLUMN_KEYS: tuple[str, ...] = tuple(column_key(c) for c in ANP_COLUMNS)


def is_header(fields: Sequence[str | None]) -> bool:
    """True when a record's fields are ANP's column names (``column_key``): the header line
    again, as where two files were joined into one."""
    return len(fields) == len(ANP_COLUMN_KEYS) and all(
        f is not None and column_key(f) == k for f, k in zip(fields, ANP_COLUMN_KEYS, strict=True)
    )


# The lake's column for each ANP column (same order).
LAKE_COLUMNS: tuple[str, ...] = (
    "region",
    "state",
    "municipality",
    "station",
    "cnpj",
    "street",
    "number",
    "complement",
    "neighbourhood",
    "cep",
    "product_label",
    "collected",
    "price",
    "purchase_price",
    "unit_label",
    "brand",
)

# ANP product label -> fuelpipe fuel code (the same codes as the weekly catalog's FUEL#<code>).
PRODUCTS: dict[str, str] = {
    "GASOLINA": "GASOLINE",
    "GASOLINA COMUM": "GASOLINE",
    "GASOLINA ADITIVADA": "GASOLINE_PREMIUM",
    "ETANOL": "ETHANOL",
    "ETANOL HIDRATADO": "ETHANOL",
    "DIESEL": "DIESEL",
    "OLEO DIESEL": "DIESEL",
    "DIESEL S10": "DIESEL_S10",
    "OLEO DIESEL S10": "DIESEL_S10",
    "GNV": "CNG",
    "GLP": "LPG",
}

FUELS: tuple[str, ...] = (
    "GASOLINE",
    "GASOLINE_PREMIUM",
    "ETHANOL",
    "DIESEL",
    "DIESEL_S10",
    "CNG",
    "LPG",
)

# The unit each fuel is priced in.
FUEL_UNITS: dict[str, str] = {
    "GASOLINE": "BRL/l",
    "GASOLINE_PREMIUM": "BRL/l",
    "ETHANOL": "BRL/l",
    "DIESEL": "BRL/l",
    "DIESEL_S10": "BRL/l",
    "CNG": "BRL/m3",
    "LPG": "BRL/13kg",
}

# ANP unit labels seen in the files (spacing and case vary) -> normalised unit.
UNITS: dict[str, str] = {
    "R$ / LITRO": "BRL/l",
    "R$/LITRO": "BRL/l",
    "R$/L": "BRL/l",
    "R$ / M³": "BRL/m3",
    "R$ / M3": "BRL/m3",
    "R$/M³": "BRL/m3",
    "R$/M3": "BRL/m3",
    "R$ / 13 KG": "BRL/13kg",
    "R$ / 13KG": "BRL/13kg",
    "R$/13KG": "BRL/13kg",
    "R$/13 KG": "BRL/13kg",
}

UNBRANDED = "BRANCA"

# The most stations a station search returns (each with its last price of every fuel); the
# query fetches one more, so a cut result can say it was cut.
SEARCH_STATIONS = 150

# The decimals a station query's figures are given to, by the API (JSON and CSV) and by `stations
# query -f csv|json` alike: 6, as every other CSV and view of the dashboard (schemas.DECIMALS).
# Prices are read to 1/100 centavo (DECIMAL(9, 4)), and a P10/P90 interpolates between two of
# them at a weight in tenths (position 1 + q·(n−1), q 0.1 or 0.9), so an exact quantile can have
# five decimals: four places rounded a P10 of 5.99996 (between 5.9999 and 6.0001) to 6.0. Six
# keep every published digit and every exact quantile, and cut only a mean's, a deviation's or a
# ratio's DOUBLE tail (6.33737881508079 is 6.337379); a float is written in its shortest form,
# so a price of 5.99 stays 5.99, never 5.990000.
FIGURE_DECIMALS = 6


def figure(value: Any) -> Any:
    """A station query's cell as it is given out: a float to FIGURE_DECIMALS places, anything
    else (a count, a date, a name) as it is."""
    return round(value, FIGURE_DECIMALS) if isinstance(value, float) else value


def figure_text(value: Any) -> Any:
    """A station query's cell as CSV text gives it: :func:`figure`'s float in positional
    notation, as the JSON and the dashboard's CSV write it (Python writes a float under 1e-4
    with an exponent: a premium of 0.0000123 was the cell "1.2e-05"), and a tiny negative as
    0.0; anything else as it is."""
    if not isinstance(value, float):
        return value
    return positional(round(value, FIGURE_DECIMALS) + 0.0)


# Sale prices outside these bounds are not prices at a pump (per unit; BRL).
PRICE_BOUNDS: dict[str, tuple[float, float]] = {
    "BRL/l": (0.5, 30.0),
    "BRL/m3": (0.5, 30.0),
    "BRL/13kg": (20.0, 400.0),
}


# ANP's station-level survey files start in 2004; a later collection day than the day after
# the ingest's (its clock's date, plus a day for time zones) is a typo such as 2203 or 0203,
# which would open a partition centuries away and stretch the lake's window to it.
FIRST_COLLECTION_DAY = date(2004, 1, 1)


def collection_days(today: date) -> tuple[date, date]:
    """The first and last collection day a record ingested on ``today`` may carry."""
    return FIRST_COLLECTION_DAY, today + timedelta(days=1)


def unit_key(label: str) -> str:
    """The lookup key of a unit label: upper case, trimmed."""
    return label.strip().upper()


# --- one field at a time: the ingest applies these once per distinct value of a column ------
_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")


def trimmed(text: str | None) -> str | None:
    """A field without its surrounding spaces (what ANP pads CNPJs and names with)."""
    return None if text is None else text.strip(" ")


def brand_of(text: str | None) -> str:
    """A flag as the lake keeps it: trimmed and upper case (``Branca``, `` branca `` and
    ``BRANCA`` are one flag, the unbranded baseline), ``UNBRANDED`` when there is none."""
    return (trimmed(text) or "").upper() or UNBRANDED


ANP_FLAGS = frozenset(
    {
        *("ALE", "ALESAT", "AMAZONGÁS", "ATEM' S", "ATLÂNTICA", "BAHIANA", "BRANCA"),
        *("CHARRUA", "CIAPETRO", "CONSIGAZ", "COPA ENERGIA", "DIBRAPE", "DISLUB", "D`MAIS"),
        *("EQUADOR", "ESTRADA", "FAN", "FEDERAL ENERGIA", "FOGAS", "IDAZA", "IPIRANGA"),
        *("LARCO", "LIQUIGÁS", "MASUT DISTRIBUIDORA", "MAXSUL", "MINASGAS"),
        *("NACIONAL GÁS BUTANO", "NGC DISTRIBUIDORA", "ON PETRO", "PELIKANO", "PETROBAHIA"),
        *("PETROBRASIL", "PETROSERRA", "PETROX DISTRIBUIDORA", "POTENCIAL", "RAIZEN"),
        *("RAIZEN MIME", "RDP ENERGIA", "RIO BRANCO", "RODOIL", "ROYAL FIC", "RZD DISTRIBUIDORA"),
        *("SABBÁ", "SANTA LUCIA", "SERVGÁS", "SETTA DISTRIBUIDORA", "SIM DISTRIBUIDOR"),
        *("SIMARELLI", "SP", "STANG", "SUL COMBUSTÍVEIS", "SUPERGASBRAS ENERGIA", "TAURUS"),
        *("TDC DISTRIBUIDORA", "TEMAPE", "TOTALENERGIES", "ULTRAGAZ", "VIBRA", "WALENDOWSKY"),
        "WATT",
    }
)
"""Every flag (``brand_of``) of the real station files in the repository (the 2025 sample's
three files and the December 2023 diesel/CNG file): a flag ANP publishes whole."""

CUT_SHORT = "file ends inside this record: truncated download?"
"""The start of a rejected record's reason when the file ends, with no line end, inside it."""


def cut_short(
    fields: Sequence[str], flags: Mapping[str, int], *, unclosed: bool = False
) -> str | None:
    """Why the record on a CSV's last line, when the file ends without a line end there,
    cannot be proven whole (None when it can): a download or copy cut short ends so, and a
    record cut inside its last field, the flag, still has ANP's 16 fields and a flag
    (``LIQUI`` for ``LIQUIGÁS``). ``fields``: the record's fields as read (a 17th, even empty,
    means its flag ended with a separator); ``flags``: how many of the file's valid records
    carry each flag (``brand_of``), this record's included; ``unclosed``: the file ends inside
    a quoted field of it.

    Whole: more than 16 fields, or 16 and a flag that another record of the file carries or
    that is one of ``ANP_FLAGS``. Fewer fields, an empty flag, or a flag neither names cannot
    be told from a cut. A cut that leaves exactly another flag (``RAIZEN MIME`` cut to
    ``RAIZEN``, ``ALESAT`` to ``ALE``: real pairs) cannot be told from a whole record either;
    doubting those would reject a whole file's last ``RAIZEN`` record, the flag of 15% of the
    2025 gasoline file's records, which also holds ``RAIZEN MIME``."""
    width = len(ANP_COLUMNS)
    if unclosed:
        why = "a quoted field of it is not closed"
    elif len(fields) > width:
        return None
    elif len(fields) < width:
        why = f"it has {len(fields)} of ANP's {width} fields"
    elif not (flag := trimmed(fields[-1]) or ""):
        why = "its flag, the last field, is empty"
    elif (key := brand_of(flag)) not in ANP_FLAGS and flags.get(key, 0) < 2:  # (and another)
        why = f"its flag {flag!r} is no other record's in the file, nor a flag ANP is known for"
    else:
        return None
    return (
        f"{CUT_SHORT} (the file's last line has no line end and {why}); not ingested: "
        "ingest the whole file (its other records change nothing then), or, if this file is "
        "whole, end its last line with a line break"
    )


def parse_day(text: str | None) -> date | None:
    """``dd/mm/yyyy`` -> the date, or None when it is not one."""
    value = trimmed(text)
    if not value:
        return None
    match = _DAY.fullmatch(value)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:  # 31/02, 00/01, ...
        return None


def parse_price(text: str | None) -> float | None:
    """A decimal-comma (or point) price, or None: no thousands separators, exponents, NaN
    or infinity, which are never prices at a pump."""
    value = trimmed(text)
    if not value or not _NUMBER.fullmatch(value):
        return None
    return float(value.replace(",", "."))


def product_of(label: str | None) -> str | None:
    """The fuel code of an ANP product label (case and padding ignored), or None."""
    value = trimmed(label)
    return PRODUCTS.get(value.upper()) if value else None


def unit_of(label: str | None) -> str | None:
    """The normalised unit of an ANP unit label (case and padding ignored), or None."""
    value = trimmed(label)
    return UNITS.get(unit_key(value)) if value else None


def _quoted(text: str | None) -> str:
    value = trimmed(text)
    return f"'{value}'" if value else "(empty)"


def reject_reason(  # noqa: PLR0911, PLR0912 - one return per check, in order
    cnpj: str | None,
    collected_text: str | None,
    price_text: str | None,
    purchase_text: str | None,
    product_label: str | None,
    unit_label: str | None,
    *,
    state: str | None,
    municipality: str | None,
    today: date,
) -> str | None:
    """Why a station record ingested on ``today`` cannot be stored, or None when it can: the
    first failing check, in the order a person would fix them. Its ``state`` must be one of
    the 27 UFs as ANP writes them and its ``municipality`` not blank: every view is by state
    and town, and a record without them was listed as a town with no state or no name."""
    if not trimmed(cnpj):
        return "no CNPJ"
    key = cnpj_key(cnpj)
    if key is None:
        return f"CNPJ is not 14 digits: {_quoted(cnpj)}"
    if not cnpj_plausible(key):
        return f"not a valid CNPJ (all zeros or wrong check digits): {_quoted(cnpj)}"
    day = parse_day(collected_text)
    if day is None:
        return f"bad collection date {_quoted(collected_text)}"
    first, last = collection_days(today)
    if not first <= day <= last:
        return f"collection date {trimmed(collected_text)} out of range ({first} to {last})"
    price = parse_price(price_text)
    if price is None:
        return f"sale price is not a number: {_quoted(price_text)}"
    if trimmed(purchase_text) and parse_price(purchase_text) is None:
        return f"purchase price is not a number: {_quoted(purchase_text)}"
    product = product_of(product_label)
    if product is None:
        return f"unknown product {_quoted(product_label)}"
    unit = unit_of(unit_label)
    if unit is None:
        return f"unknown unit {_quoted(unit_label)}"
    if unit != FUEL_UNITS[product]:
        return f"unit {_quoted(unit_label)} does not fit {product}"
    lo, hi = PRICE_BOUNDS[unit]
    if not lo <= price <= hi:
        return f"sale price {trimmed(price_text)} is outside {lo}..{hi} {unit}"
    if trimmed(state) not in STATES:
        return f"unknown state {_quoted(state)}"
    if not trimmed(municipality):
        return "no municipality"
    return None


def week_start(day: date) -> date:
    """The Sunday that opens ANP's survey week (Sunday to Saturday) containing ``day``."""
    # Not dateutil's ``relativedelta(weekday=SU(-1))``: the same day, ten times slower (5.4
    # µs against 0.54, timeit).
    return day - timedelta(days=(day.weekday() + 1) % 7)


def month_of(day: date) -> str:
    """The lake partition month, ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def query_params(
    fuel: str, start: date, end: date, state: str | None, municipality: str | None, text: str
) -> dict[str, Any]:
    """The lake queries' parameters for a fuel and a span of collection days: the whole
    survey weeks that hold ``start`` and ``end``. The month bounds (which prune partitions)
    cover every day of those weeks, so a week that crosses into another month is not cut."""
    week_from, week_to = week_start(start), week_start(end)
    return {
        "product": fuel,
        "month_from": month_of(week_from),
        "month_to": month_of(week_to + timedelta(days=6)),
        "week_from": week_from,
        "week_to": week_to,
        "state": (state or "").upper(),
        "municipality": folded(municipality or ""),
        "text": folded(text),
        "cnpj_text": cnpj_text(text),
    }


ACCENTED = "ÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ"
PLAIN = "AAAAAEEEEIIIIOOOOOUUUUCN"
"""The upper-case accented letters of Portuguese (and a few more) and their plain letters: the
lake queries fold names with SQL's translate(upper(x), ACCENTED, PLAIN), which DuckDB and
Athena both have, so "posto são" and "posto sao" find the same stations."""


def closest_names(text: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The ``n`` names (at most) closest to ``text``, closest first, compared folded (case and
    accents aside), as the lake's queries compare them: for a name that matched none."""
    by_folded: dict[str, str] = {}
    for name in names:
        by_folded.setdefault(folded(name), name)
    close = difflib.get_close_matches(folded(text), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[f] for f in close]


DEFAULT_SPAN_WEEKS = 4
"""The survey weeks a query covers without a first day: the four up to its last day's."""


def default_first_day(last: date) -> date:
    """The first day of the default span up to ``last``: the Sunday opening the survey week
    DEFAULT_SPAN_WEEKS - 1 weeks before ``last``'s, so the span covers DEFAULT_SPAN_WEEKS whole
    survey weeks however far into its week ``last`` falls (28 days back from a Friday reached
    into a fifth week: 2025-03-22..04-18 covers 2025-03-16..04-19)."""
    return week_start(last) - timedelta(weeks=DEFAULT_SPAN_WEEKS - 1)


def span_asked(
    window: tuple[date, date], first: date | None, last: date | None
) -> tuple[date, date]:
    """The collection days asked of a lake holding ``window`` (its first and last day), each
    as given or by default: the last, the lake's last day; the first, the last
    DEFAULT_SPAN_WEEKS survey weeks' first day (:func:`default_first_day`), from the lake's
    first day at the earliest. A last day before the lake keeps its DEFAULT_SPAN_WEEKS, where
    the lake has nothing, as when both are given: clipped to the lake's first day, it was a
    first day after the last, refused for a day never asked for. Not checked: a first day
    given after the last stays so."""
    last = last or window[1]
    if first is None:
        first = default_first_day(last)
        if window[0] <= last:
            first = max(window[0], first)
    return first, last


def lake_window(windows: Mapping[str, tuple[date, date]]) -> tuple[date, date] | None:
    """A lake's first and last collection day from each fuel's (None: it holds no fuel)."""
    if not windows:
        return None
    return min(w[0] for w in windows.values()), max(w[1] for w in windows.values())


def weeks_covered(start: date, end: date) -> tuple[date, date]:
    """The days a query over ``start``..``end`` really covers (``query_params`` widens a span
    to whole survey weeks): the first week's Sunday to the last week's Saturday. What answers
    are labelled with."""
    return week_start(start), week_start(end) + timedelta(days=6)


def span_answered(start: date, end: date) -> dict[str, date]:
    """What a windowed station answer says it covers, in the API's JSON and the CLI's csv and
    json alike: the days asked for (``start``, ``end``) and the whole survey weeks answered
    (``covered_start``, ``covered_end``: :func:`weeks_covered`)."""
    covered_start, covered_end = weeks_covered(start, end)
    return {"start": start, "end": end, "covered_start": covered_start, "covered_end": covered_end}


_CNPJ_PUNCTUATION = str.maketrans("", "", "./- ")
CNPJ_DIGITS = 14
_CNPJ_KEY = re.compile(r"[0-9]{1,14}")


def cnpj_key(text: str | None) -> str | None:
    """A CNPJ as the lake stores it: its digits without the punctuation and spaces ANP writes
    it with, zero-padded to 14 (``00.003.188/0001-21``, ``00003188000121`` and a
    ``3188000121`` that lost its leading zeros are one CNPJ), or None when what is left is not
    a CNPJ's digits (a blank, a letter, more than 14 digits). The ingest does the same in one
    vectorised expression (``adapters/lake/columns.py``)."""
    key = (text or "").translate(_CNPJ_PUNCTUATION)
    return key.zfill(CNPJ_DIGITS) if _CNPJ_KEY.fullmatch(key) else None


CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
"""The weights of a CNPJ's check digits (Receita Federal's modulo 11): the 13th digit weighs
its first 12 by the last 12 of these, the 14th its first 13 by all 13."""


def cnpj_check_digit(digits: str) -> int:
    """The check digit following ``digits`` (the first 12, or 13, of a CNPJ)."""
    weights = CNPJ_WEIGHTS[len(CNPJ_WEIGHTS) - len(digits) :]
    rest = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def cnpj_plausible(key: str) -> bool:
    """A 14-digit ``cnpj_key`` that can be a CNPJ: not all zeros, and its two check digits
    those of its first 12 (a zero-padded CNPJ that lost its leading zeros passes; a digit
    mistyped or dropped in the middle does not). Written here rather than taken from a
    library (validate-docbr) because it is these few lines and the ingest applies the same
    rule vectorised (``adapters/lake/columns.py``)."""
    return (
        key.strip("0") != ""
        and cnpj_check_digit(key[:12]) == int(key[12])
        and cnpj_check_digit(key[:13]) == int(key[13])
    )


def cnpj_text(text: str) -> str:
    """The search text as it is matched against a CNPJ: upper case, without the punctuation
    ANP writes CNPJs with (``00.003.188/0001-21`` and ``00003188000121`` are one CNPJ; the
    query strips the stored CNPJs alike). A text of punctuation alone stays as it is: a
    stripped CNPJ holds none, so it matches no CNPJ (an empty text would match every one)."""
    key = text.upper().translate(_CNPJ_PUNCTUATION)
    return key or text.upper()


@dataclass(frozen=True, slots=True)
class BadRow:
    """One record that failed validation: where it is and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def lines_of_accepted(
    accepted_indices: Iterable[int], rejected_lines: Sequence[int], first_data_line: int = 2
) -> dict[int, int]:
    """File line of each accepted record, given the lines the CSV reader rejected.

    The reader numbers accepted records 0, 1, … in file order and skips rejected lines, so the
    k-th accepted record sits on the k-th data line that was not rejected (one record a line:
    ANP files quote ``;`` inside fields but do not break records across lines; when a file
    does, the lake adapter maps the lines it reports to file lines).
    """
    wanted = sorted(set(accepted_indices))
    rejected = sorted(set(rejected_lines))
    out: dict[int, int] = {}
    r = 0
    skipped = 0
    for k in wanted:
        line = first_data_line + k + skipped
        while r < len(rejected) and rejected[r] <= line:
            if rejected[r] >= first_data_line:
                skipped += 1
                line += 1
            r += 1
        out[k] = line
    return out


# --- reconciliation with ANP's published weekly state averages ---------------------------
# ANP publishes each state's weekly average as a mean of municipal averages weighted by the
# number of stations each municipality has in ANP's register (not by how many were sampled),
# rounded to the centavo. The station files carry the sampled stations but not those weights,
# so a plain mean of the station prices differs from the published figure. On the real
# 2025-03/04 sample, wherever the file holds the week's full sample, the difference is at most
# 3.6% of the price for gasoline and 4.5% for ethanol (median 0.6% and 0.7%), of either sign
# (states whose sampled stations sit in dearer or cheaper towns than their register's mix).
RECONCILE_TOLERANCE_PCT = 5.0
RECONCILE_MEDIAN_PCT = 1.0
# A state-week is compared only when the file holds most of ANP's sample for it: the rolling
# files cut weeks at their first and last day, and a week with 1 of 9 stations says nothing.
# Counted in distinct stations, as ANP counts its sample, not in prices.
RECONCILE_MIN_COVERAGE = 0.8
# The fuels whose tolerance was measured (ANP's weekly state series the store holds).
RECONCILE_FUELS: tuple[str, ...] = ("GASOLINE", "ETHANOL")


@dataclass(frozen=True, slots=True)
class Reconciled:
    """One state and week: the station-level mean against ANP's published average."""

    state: str
    week_end: date
    station_mean: float
    observations: int
    """The lake's prices: a station surveyed twice in the week counts twice."""
    stations: int
    """The lake's distinct stations (CNPJs), what ANP's station count counts."""
    published_mean: float
    published_stations: int

    @property
    def diff(self) -> float:
        return self.station_mean - self.published_mean

    @property
    def diff_pct(self) -> float:
        return 100.0 * self.diff / self.published_mean

    @property
    def coverage(self) -> float:
        """The lake's share of ANP's sample: its stations, not its prices (a station surveyed
        twice would make a thin week look covered)."""
        return self.stations / self.published_stations if self.published_stations else 0.0

    @property
    def compared(self) -> bool:
        return self.coverage >= RECONCILE_MIN_COVERAGE

    @property
    def within(self) -> bool:
        return abs(self.diff_pct) <= RECONCILE_TOLERANCE_PCT

    @property
    def result(self) -> str:
        """``within`` or ``outside`` the tolerance; ``not compared`` below the coverage."""
        if not self.compared:
            return "not compared"
        return "within" if self.within else "outside"


def reconcile(
    station_weeks: Iterable[tuple[str, date, float, int, int]],
    published: dict[tuple[str, date], tuple[float, int]],
) -> list[Reconciled]:
    """Pair station-level weekly means ``(state, week start, mean, observations, stations)``
    with the published ``(state, week end Saturday) -> (mean, stations)``; weeks ANP did not
    publish are left out."""
    out = []
    for state, start, mean, n, stations in station_weeks:
        end = start + timedelta(days=6)
        found = published.get((state, end))
        if found is not None:
            out.append(Reconciled(state, end, mean, n, stations, found[0], found[1]))
    return sorted(out, key=lambda r: (r.state, r.week_end))


@dataclass(frozen=True, slots=True)
class ReconcileCheck:
    """One fuel's verdict over its reconciled state-weeks: how many were compared, how many
    of those fell outside ±``RECONCILE_TOLERANCE_PCT``, and the median of the compared ones'
    absolute difference in % (None when none was compared), held to ``RECONCILE_MEDIAN_PCT``
    (a bias of a few % in every state stays within the per-week tolerance but not this).

    ``median_held``: whether the median is held to it, which it is over every state (the set
    it was measured on, 0.6% and 0.7%). Over a subset it is that subset's own: one state's
    difference is its register's mix of towns, steady over the weeks (Maranhão's and Mato
    Grosso do Sul's about 3.5%), which the per-week tolerance bounds, and a median over it
    would fail a state that is as expected."""

    compared: int
    outside: int
    median_pct: float | None
    median_held: bool = True

    @property
    def median_within(self) -> bool:
        return self.median_pct is None or self.median_pct <= RECONCILE_MEDIAN_PCT

    @property
    def passed(self) -> bool:
        return self.outside == 0 and (self.median_within or not self.median_held)


def reconcile_check(rows: Iterable[Reconciled], *, median_held: bool = True) -> ReconcileCheck:
    """The documented tolerance applied to one fuel's state-weeks (see ``ReconcileCheck``):
    ``median_held`` when they are every state's."""
    compared = [r for r in rows if r.compared]
    median = statistics.median(abs(r.diff_pct) for r in compared) if compared else None
    return ReconcileCheck(len(compared), sum(not r.within for r in compared), median, median_held)


_Row = TypeVar("_Row", bound=Sequence[Any])


def first_stations(
    columns: Sequence[str], rows: Sequence[_Row], limit: int
) -> tuple[list[_Row], bool]:
    """The rows of the first ``limit`` stations (by CNPJ, in the rows' order) and whether
    there were more: the search query fetches one station past its limit to tell."""
    at = columns.index("cnpj")
    kept = list(dict.fromkeys(row[at] for row in rows))
    if len(kept) <= limit:
        return list(rows), False
    keep = set(kept[:limit])
    return [r for r in rows if r[at] in keep], True
