"""Areas (Brazil, regions, states), products and drivers the dashboard offers."""

from __future__ import annotations

from dataclasses import dataclass

from fuelpipe.dashboard.params import one_of
from fuelpipe.dashboard.repository import BRENT, BRENT_BRL, USD
from fuelpipe.domain.catalog import FUEL_PRODUCTS, REGIONS, STATES
from fuelpipe.domain.keys import stock_key

BR = "BR"
PETR4 = stock_key("PETR4")
DRIVERS = (BRENT_BRL, USD, PETR4, BRENT, "COMMODITY#BRENT_FUTURES", stock_key("PETR3"))
"""Series a pump price may be regressed on, the first three being the headline drivers."""
OVERVIEW_DRIVERS = (USD, BRENT, BRENT_BRL, PETR4)


@dataclass(frozen=True, slots=True)
class Area:
    """Brazil, a region or a state."""

    code: str
    name: str
    level: str
    """``BR``, ``REGION`` or ``STATE``."""
    region: str | None


# Display names, in English as every label the API and its CSV give: the regions translated,
# the states' proper names with their accents (the catalog keeps ANP's upper-case Portuguese
# names without them). The page names Brazil and the regions in its own language (i18n.js).
DISPLAY_NAMES = {
    "REGION_N": "North", "REGION_NE": "Northeast", "REGION_CO": "Central-West",
    "REGION_SE": "Southeast", "REGION_S": "South",
    "AC": "Acre", "AL": "Alagoas", "AP": "Amapá", "AM": "Amazonas", "BA": "Bahia",
    "CE": "Ceará", "DF": "Distrito Federal", "ES": "Espírito Santo", "GO": "Goiás",
    "MA": "Maranhão", "MT": "Mato Grosso", "MS": "Mato Grosso do Sul", "MG": "Minas Gerais",
    "PA": "Pará", "PB": "Paraíba", "PR": "Paraná", "PE": "Pernambuco", "PI": "Piauí",
    "RJ": "Rio de Janeiro", "RN": "Rio Grande do Norte", "RS": "Rio Grande do Sul",
    "RO": "Rondônia", "RR": "Roraima", "SC": "Santa Catarina", "SP": "São Paulo",
    "TO": "Tocantins",
}  # fmt: skip


def _name(code: str, anp_name: str) -> str:
    return DISPLAY_NAMES.get(code, anp_name.title())


def _areas() -> dict[str, Area]:
    out = {BR: Area(BR, "Brazil", "BR", None)}
    out.update({c: Area(c, _name(c, n), "REGION", None) for c, n in REGIONS.items()})
    out.update(
        {uf: Area(uf, _name(uf, n), "STATE", r) for uf, (n, r) in STATES.items() if uf not in out}
    )
    return out


AREAS = _areas()
PRODUCTS = tuple(FUEL_PRODUCTS)
STATE_CODES = tuple(a.code for a in AREAS.values() if a.level == "STATE")
REGION_CODES = tuple(REGIONS)
AREA_HELP = (
    f"{BR}, a region ({', '.join(REGION_CODES)}) or a state ({', '.join(STATE_CODES)}); "
    "case-insensitive"
)
"""The API's description of an area, from the same constants the validation uses."""


check_product = one_of("fuel", PRODUCTS)
"""Validate a fuel product code (case-insensitive)."""

DRIVER_HELP = (
    f"the driver series: one of {', '.join(DRIVERS)}; case-insensitive "
    "(anything else is a 422 naming them)"
)
"""The API's description of a driver, from the tuple the validation uses."""


PUMP_PRICE = "is a pump price"
"""Why a pump price is refused as a driver (the API's 422 and the lags view both say it)."""


def _why_not_driver(code: str) -> str | None:
    return PUMP_PRICE if code.startswith("FUEL#") else None


check_driver = one_of("driver", DRIVERS, _why_not_driver)
"""Validate a driver (case-insensitive): one of DRIVERS, or a ValueError naming them, which
the API answers as a 422 naming the parameter (as for a fuel or an area)."""


def check_area(value: str) -> str:
    """Validate an area code (case-insensitive, its spaces trimmed as a fuel's): BR, a region
    (REGION_*) or a state (UF)."""
    code = value.strip().upper()
    if code not in AREAS:
        raise ValueError(
            f"unknown area {value!r}: use BR, a region ({', '.join(REGION_CODES)}) or a UF"
        )
    return code
