"""ANP's station-level survey ("Série Histórica de Preços de Combustíveis"): the file layout,
product and unit vocabularies, survey weeks, and how a rejected record maps to its file line.

Pure: no I/O, no clock. The lake adapter turns these tables into SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

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

# Sale prices outside these bounds are not prices at a pump (per unit; BRL).
PRICE_BOUNDS: dict[str, tuple[float, float]] = {
    "BRL/l": (0.5, 30.0),
    "BRL/m3": (0.5, 30.0),
    "BRL/13kg": (20.0, 400.0),
}


def unit_key(label: str) -> str:
    """The lookup key of a unit label: upper case, trimmed."""
    return label.strip().upper()


def week_start(day: date) -> date:
    """The Sunday that opens ANP's survey week (Sunday to Saturday) containing ``day``."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def month_of(day: date) -> str:
    """The lake partition month, ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


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
    ANP files quote ``;`` inside fields but never break a record across lines).
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
