"""The series catalog: every tracked series with its key, source, calendar, unit and start."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase
from types import MappingProxyType

from fuelpipe.domain.keys import Kind, commodity_key, currency_key, fuel_key, parse_key, stock_key
from fuelpipe.domain.publication import Publication, publication


@dataclass(frozen=True, slots=True)
class Series:
    """One tracked series and everything the pipeline needs to know to keep it complete."""

    key: str
    kind: Kind
    source: str
    """Adapter name: ``bcb``, ``yahoo``, ``fred`` or ``anp``."""
    symbol: str
    """The id the source knows: ``USD``, ``PETR4.SA``, ``DCOILBRENTEU``, ``GASOLINA COMUM``."""
    calendar: str
    """Calendar name in :mod:`fuelpipe.domain.calendars`."""
    unit: str
    default_start: date
    publication: str
    """Schedule name in :mod:`fuelpipe.domain.publication`: when a date's value comes out."""
    max_range_days: int
    """The widest date range a planned stream may cover (its request also reaches back over
    the skipped days before its first date, at most ``planning.LEAD_IN``)."""
    fetch_unit: str
    """What one source request returns. Keys sharing a fetch unit are fetched together."""
    label: str
    former_symbols: tuple[str, ...] = ()
    whole_history: bool = False
    """True when one request returns the whole history whatever the range (ANP workbooks)."""
    product: str | None = None
    area: str | None = None
    exchange_tz: str = "America/Sao_Paulo"
    derived_attrs: frozenset[str] = frozenset()
    """Attributes the source recomputes for past dates from later events, not published facts
    of the date (Yahoo's ``adj_close``, re-based after each dividend or split). A re-read that
    changes only these is an adjustment, kept in the record's history but not a revision
    (:func:`fuelpipe.domain.models.change_kind`)."""

    @property
    def split_adjusted(self) -> bool:
        """True when the source re-bases every earlier value after a stock split it reports
        (Yahoo's close): the scraper then keeps the stored history on the new basis."""
        return self.source in SPLIT_ADJUSTED_SOURCES

    @property
    def schedule(self) -> Publication:
        """The publication schedule of this series' dates."""
        return publication(self.publication)

    @property
    def available_after(self) -> timedelta:
        """Nominal publication offset from the start of a date, in the schedule's own zone."""
        return self.schedule.available_after

    def published_through(self, now: datetime) -> date:
        """The latest date whose value is published by ``now``."""
        return self.schedule.published_through(now)


# --- PTAX -------------------------------------------------------------------------------------
# The currencies the PTAX service publishes with daily closing bulletins (its Moedas list).
PTAX_CURRENCIES: Mapping[str, str] = MappingProxyType(
    {
        "USD": "US dollar",
        "EUR": "Euro",
        "GBP": "Pound sterling",
        "JPY": "Japanese yen",
        "CHF": "Swiss franc",
        "CAD": "Canadian dollar",
        "AUD": "Australian dollar",
        "DKK": "Danish krone",
        "NOK": "Norwegian krone",
        "SEK": "Swedish krona",
    }
)
BCB_MAX_RANGE_DAYS = 730

# --- Yahoo ------------------------------------------------------------------------------------
B3_STOCKS: Mapping[str, str] = MappingProxyType(
    {"PETR3": "Petrobras ON", "PETR4": "Petrobras PN", "PRIO3": "PRIO ON"}
)
NYSE_STOCKS: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "XOM": ("ExxonMobil", ()),
        "CVX": ("Chevron", ()),
        "SHEL": ("Shell", ("RDS-A",)),
        "BP": ("BP", ()),
        "TTE": ("TotalEnergies", ("TOT",)),
    }
)
YAHOO_MAX_RANGE_DAYS = 3650
YAHOO_DERIVED_ATTRS = frozenset({"adj_close"})
"""Yahoo's adjusted close is the close times the dividend and split factors of every later
event: it changes for all past dates after each one. After a dividend the close (the value)
stands; a split re-bases the close too, a revision (``stages/scrape.py``: ``follow_splits``)."""
SPLIT_ADJUSTED_SOURCES = frozenset({"yahoo"})
"""Sources whose values are split-adjusted and whose answers report splits
(``FetchResult.splits``); no other source's series is checked for a split re-read owed."""

# --- ANP --------------------------------------------------------------------------------------
FUEL_PRODUCTS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {  # key part -> (ANP label, normalised unit)
        "GASOLINE": ("GASOLINA COMUM", "BRL/l"),
        "GASOLINE_PREMIUM": ("GASOLINA ADITIVADA", "BRL/l"),
        "ETHANOL": ("ETANOL HIDRATADO", "BRL/l"),
        "DIESEL": ("OLEO DIESEL", "BRL/l"),
        "DIESEL_S10": ("OLEO DIESEL S10", "BRL/l"),
        "LPG": ("GLP", "BRL/13kg"),
        "CNG": ("GNV", "BRL/m3"),
    }
)
FUEL_NAMES: Mapping[str, str] = MappingProxyType(
    {  # key part -> English name: the labels' (the API's, the exports'); ANP's is the symbol
        "GASOLINE": "Gasoline",
        "GASOLINE_PREMIUM": "Premium gasoline",
        "ETHANOL": "Ethanol",
        "DIESEL": "Diesel",
        "DIESEL_S10": "Diesel S10",
        "LPG": "LPG",
        "CNG": "CNG",
    }
)
# Region areas are REGION_<code>: the bare code SE would collide with Sergipe's UF code.
REGIONS: Mapping[str, str] = MappingProxyType(
    {
        "REGION_N": "NORTE",
        "REGION_NE": "NORDESTE",
        "REGION_CO": "CENTRO OESTE",
        "REGION_SE": "SUDESTE",
        "REGION_S": "SUL",
    }
)
STATES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {  # UF -> (ANP upper-case name without accents, region code)
        "AC": ("ACRE", "REGION_N"),
        "AL": ("ALAGOAS", "REGION_NE"),
        "AP": ("AMAPA", "REGION_N"),
        "AM": ("AMAZONAS", "REGION_N"),
        "BA": ("BAHIA", "REGION_NE"),
        "CE": ("CEARA", "REGION_NE"),
        "DF": ("DISTRITO FEDERAL", "REGION_CO"),
        "ES": ("ESPIRITO SANTO", "REGION_SE"),
        "GO": ("GOIAS", "REGION_CO"),
        "MA": ("MARANHAO", "REGION_NE"),
        "MT": ("MATO GROSSO", "REGION_CO"),
        "MS": ("MATO GROSSO DO SUL", "REGION_CO"),
        "MG": ("MINAS GERAIS", "REGION_SE"),
        "PA": ("PARA", "REGION_N"),
        "PB": ("PARAIBA", "REGION_NE"),
        "PR": ("PARANA", "REGION_S"),
        "PE": ("PERNAMBUCO", "REGION_NE"),
        "PI": ("PIAUI", "REGION_NE"),
        "RJ": ("RIO DE JANEIRO", "REGION_SE"),
        "RN": ("RIO GRANDE DO NORTE", "REGION_NE"),
        "RS": ("RIO GRANDE DO SUL", "REGION_S"),
        "RO": ("RONDONIA", "REGION_N"),
        "RR": ("RORAIMA", "REGION_N"),
        "SC": ("SANTA CATARINA", "REGION_S"),
        "SP": ("SAO PAULO", "REGION_SE"),
        "SE": ("SERGIPE", "REGION_NE"),
        "TO": ("TOCANTINS", "REGION_N"),
    }
)
ANP_WEEKLY_UNITS: Mapping[str, str] = MappingProxyType(
    {"BR": "anp:weekly:brasil", "REGION": "anp:weekly:regioes", "STATE": "anp:weekly:estados"}
)
ANP_MONTHLY_STATES_UNIT = "anp:monthly:estados"
ANP_MAX_RANGE_DAYS = 100_000  # a workbook holds the whole history


def _area_level(area: str) -> str:
    if area == "BR":
        return "BR"
    return "REGION" if area in REGIONS else "STATE"


def _build() -> dict[str, Series]:
    out: list[Series] = []
    for code, name in PTAX_CURRENCIES.items():
        out.append(
            Series(
                key=currency_key(code),
                kind=Kind.CURRENCY,
                source="bcb",
                symbol=code,
                calendar="ANBIMA",
                unit=f"BRL/{code}",
                default_start=date(2000, 1, 3),
                publication="ptax_close",
                max_range_days=BCB_MAX_RANGE_DAYS,
                fetch_unit=f"bcb:{code}",
                label=f"{name} PTAX (sell, BRL per unit)",
            )
        )
    for ticker, name in B3_STOCKS.items():
        out.append(
            Series(
                key=stock_key(ticker),
                kind=Kind.STOCK,
                source="yahoo",
                symbol=f"{ticker}.SA",
                calendar="B3",
                unit="BRL",
                default_start=date(2000, 1, 3),
                publication="b3_close",
                max_range_days=YAHOO_MAX_RANGE_DAYS,
                fetch_unit=f"yahoo:{ticker}.SA",
                label=f"{name} ({ticker}, B3)",
                derived_attrs=YAHOO_DERIVED_ATTRS,
            )
        )
    for ticker, (name, former) in NYSE_STOCKS.items():
        out.append(
            Series(
                key=stock_key(ticker),
                kind=Kind.STOCK,
                source="yahoo",
                symbol=ticker,
                calendar="NYSE",
                unit="USD",
                default_start=date(2000, 1, 3),
                publication="nyse_close",
                max_range_days=YAHOO_MAX_RANGE_DAYS,
                fetch_unit=f"yahoo:{ticker}",
                label=f"{name} ({ticker}, NYSE)",
                derived_attrs=YAHOO_DERIVED_ATTRS,
                former_symbols=former,
                exchange_tz="America/New_York",
            )
        )
    out.append(
        Series(
            key=commodity_key("BRENT"),
            kind=Kind.COMMODITY,
            source="fred",
            symbol="DCOILBRENTEU",
            calendar="FRED_BRENT",
            unit="USD/bbl",
            default_start=date(1987, 5, 20),
            publication="fred_brent",
            max_range_days=100_000,
            fetch_unit="fred:DCOILBRENTEU",
            label="Brent spot (FRED DCOILBRENTEU)",
            exchange_tz="Europe/London",
        )
    )
    out.append(
        Series(
            key=commodity_key("BRENT_FUTURES"),
            kind=Kind.COMMODITY,
            source="yahoo",
            symbol="BZ=F",
            calendar="NYMEX_BRENT",
            unit="USD/bbl",
            default_start=date(2007, 7, 30),
            publication="brent_futures_close",
            max_range_days=YAHOO_MAX_RANGE_DAYS,
            fetch_unit="yahoo:BZ=F",
            label="Brent front-month futures (BZ=F)",
            derived_attrs=YAHOO_DERIVED_ATTRS,
            exchange_tz="America/New_York",
        )
    )
    areas = ["BR", *REGIONS, *STATES]
    for product, (anp_name, unit) in FUEL_PRODUCTS.items():
        name = FUEL_NAMES[product]
        for area in areas:
            out.append(
                Series(
                    key=fuel_key(product, area),
                    kind=Kind.FUEL,
                    source="anp",
                    symbol=anp_name,
                    calendar="ANP_WEEKLY",
                    unit=unit,
                    default_start=date(2013, 1, 6),
                    publication="anp_weekly",
                    max_range_days=ANP_MAX_RANGE_DAYS,
                    fetch_unit=ANP_WEEKLY_UNITS[_area_level(area)],
                    label=f"{name} — {area} (weekly)",
                    product=product,
                    area=area,
                    whole_history=True,
                )
            )
        for area in STATES:
            out.append(
                Series(
                    key=fuel_key(product, area, monthly=True),
                    kind=Kind.FUEL_MONTHLY,
                    source="anp",
                    symbol=anp_name,
                    calendar="MONTHLY",
                    unit=unit,
                    default_start=date(2013, 1, 1),
                    publication="anp_monthly",
                    max_range_days=ANP_MAX_RANGE_DAYS,
                    fetch_unit=ANP_MONTHLY_STATES_UNIT,
                    label=f"{name} — {area} (monthly)",
                    product=product,
                    area=area,
                    whole_history=True,
                )
            )
    return {s.key: s for s in out}


class Catalog:
    """A read-only set of series, looked up by key."""

    def __init__(self, series: Iterable[Series]) -> None:
        self._by_key = {s.key: s for s in series}

    def __getitem__(self, key: str) -> Series:
        try:
            return self._by_key[key]
        except KeyError:
            parse_key(key)  # a malformed key gets the key module's message
            raise KeyError(f"{key!r} is not in the series catalog") from None

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Series]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def keys(self) -> list[str]:
        """Every partition key, in catalog order."""
        return list(self._by_key)

    def select(self, patterns: Iterable[str] | None) -> list[Series]:
        """Series a pattern names (:func:`names`; all when None), in catalog order. Patterns
        are read in any case and without spaces around them (a key pasted with one).

        A blank pattern is refused (KeyError): it names no series, and "no series matches"
        followed by nothing would not say which pattern was wrong."""
        if not patterns:
            return list(self._by_key.values())
        pats = [p.strip().upper() for p in patterns]
        if any(not p for p in pats):
            raise KeyError("a blank series pattern names no series: give a key or prefix")
        chosen = [s for s in self._by_key.values() if any(names(p, s.key) for p in pats)]
        unknown = [p for p in pats if not any(names(p, s.key) for s in chosen)]
        if unknown:
            raise KeyError(f"no series matches {', '.join(unknown)}")
        return chosen

    def closest(self, text: str, *, prefixes: bool = True, n: int = 3) -> list[str]:
        """What a mistyped key or prefix may have meant (none when nothing is close, or more
        than ``n`` are equally so): keys, and with ``prefixes`` their prefixes
        (``FUEL#GASOLINE``), holding ``text``, or the part spelt most like it, as a whole
        part, the shortest (``USD``: CURRENCY#USD; ``GASOLINA``: FUEL#GASOLINE), then those
        spelt most alike (``FUEL#GASOLINEE#BR``: FUEL#GASOLINE#BR;
        ``FUEL#DIESEL#BRR``: FUEL#DIESEL#BR and FUEL#DIESEL#RR). With ``prefixes``, a last
        part many keys share is named by the glob of those keys (``SP``: ``FUEL#*#SP``, not
        two of its fuels). A glob gets none."""
        text = text.strip().upper()
        if not text or any(c in text for c in "*?["):
            return []
        names = list(self._by_key)
        if prefixes:
            parts = [k.split("#") for k in self._by_key]
            names = list(dict.fromkeys("#".join(p[:i]) for p in parts for i in (1, 2))) + names
        whole: list[str] = []
        if "#" not in text:  # a part alone (USD, PETR4, or GASOLINA for GASOLINE)
            hits = _best(text, sorted({p for k in names for p in k.split("#")}), cutoff=0.85)
            whole = [k for k in names if set(hits) & set(k.split("#"))]
            if prefixes:
                whole = list(dict.fromkeys(self._glob(k, hits) for k in whole))
            whole = [k for k in whole if len(k) == min(map(len, whole))]
        alike = _best(text, [k for k in names if k != text], cutoff=0.85)
        found = [g for g in (whole, alike) if 0 < len(g) <= n]
        return list(dict.fromkeys(k for g in found for k in g))[:n]

    def _glob(self, name: str, hits: list[str]) -> str:
        """``name`` with each part after its first that is not one of ``hits`` as ``*``
        (``FUEL#LPG#SP`` for SP: ``FUEL#*#SP``), or the key itself when that glob names only
        it (``STOCK#PETR4``)."""
        first, *rest = name.split("#")
        glob = "#".join([first, *(p if p in hits else "*" for p in rest)])
        named = [k for k in self._by_key if fnmatchcase(k, glob)]
        return named[0] if len(named) == 1 else glob


def closest_hint(catalog: Catalog, typed: Sequence[str], *, prefixes: bool = True) -> str:
    """``; did you mean …?`` naming the keys (and ``prefixes``) :meth:`Catalog.closest` to
    each of ``typed`` that names no series, for an error that refuses them; empty when none
    is close."""
    keys = catalog.keys()
    unknown = [t for t in typed if not any(names(t.strip().upper(), k) for k in keys)]
    near = list(dict.fromkeys(k for t in unknown for k in catalog.closest(t, prefixes=prefixes)))
    if not near:
        return ""
    near = [f"'{k}'" if "*" in k else k for k in near]  # a glob quoted, as typed at the prompt
    return (
        f"; did you mean {near[0] if len(near) == 1 else ', '.join(near[:-1]) + ' or ' + near[-1]}?"
    )


def _best(text: str, names: list[str], *, cutoff: float) -> list[str]:
    """The ``names`` spelt most like ``text`` (all those as alike as the best), if the best is
    at least ``cutoff`` alike (difflib's ratio)."""
    from difflib import SequenceMatcher  # an error's hint only: not in every Lambda's import

    score = {k: SequenceMatcher(None, text, k).ratio() for k in names}
    best = max(score.values(), default=0.0)
    return [k for k, r in score.items() if r == best] if best >= cutoff else []


def names(pattern: str, key: str) -> bool:
    """True when ``pattern`` (upper case, stripped) names ``key``: a glob (``FUEL#*#SP``), the
    key itself, or a prefix of whole parts (``FUEL#GASOLINE``)."""
    if any(c in pattern for c in "*?["):
        return fnmatchcase(key, pattern)
    return key == pattern or key.startswith(pattern.rstrip("#") + "#")


DEFAULT_CATALOG = Catalog(_build().values())
