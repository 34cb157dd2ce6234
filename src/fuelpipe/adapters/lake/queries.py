"""The lake's analysis queries: one SQL text each, run unchanged by DuckDB (embedded home) and
Athena (AWS home, Trino dialect).

Portable on purpose: ``?`` placeholders (DuckDB prepared statements, Athena execution
parameters), a table named ``stations`` (a DuckDB view over the Parquet files; the Glue table on
AWS), and only functions both engines share. Neither engine's percentile function exists in the
other (DuckDB ``quantile_cont``, Trino ``approx_percentile``), so quantiles are computed from
ranks with linear interpolation between closest ranks, the definition of ``quantile_cont`` and
numpy's default: position ``1 + q·(n−1)``. Every analysis query filters the partition column
``month`` so both engines read only the partitions it needs (``coverage``, the lake's status,
reads them all on purpose).

Exact on purpose, so a query gives the same answer on every run: the engines sum on several
threads in no fixed order, and a float sum (a mean, a standard deviation) changed in its last
bits from run to run (a 4-place mean read 4.2462, then 4.2463). Prices are read as
``DECIMAL(9, 4)`` (``PRICE``; ANP publishes centavos, and a price with more than four decimals
would be rounded to four); sums, the quantiles' interpolation and the standard deviation's
n·Σx² − (Σx)² are exact decimal arithmetic, whose result does not depend on the order; and each
figure becomes a ``DOUBLE`` once, from exact values (one cast, at most one division and a
square root), so callers get the floats they always got.
"""

# ruff: noqa: S608 - the query texts are built from constants only; values are ? parameters

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fuelpipe.domain.stations import ACCENTED, FUELS, PLAIN, SEARCH_STATIONS

PRICE = "CAST(price AS DECIMAL(9, 4))"
"""A sale price as the exact decimal ANP published (to 1/100 centavo; at most 99,999.9999)."""


def _exact(columns: str, where: str) -> str:
    """The rows of ``stations`` matching ``where``: ``columns`` and the exact ``price``."""
    return f"SELECT {columns}, {PRICE} AS price FROM stations WHERE {where}"


def _double(exact: str) -> str:
    """An exact figure as the DOUBLE every query answers."""
    return f"CAST({exact} AS DOUBLE)"


def _mean() -> str:
    """The mean of the exact ``price``: its exact sum over the count, one division."""
    return f"{_double('sum(price)')} / count(*)"


def _sd() -> str:
    """The sample standard deviation of the exact ``price`` from exact sums,
    √((n·Σx² − (Σx)²) / (n·(n−1))): the difference is exact, so it never cancels into noise
    (NULL for one price, as ``stddev_samp``)."""
    spread = "count(*) * sum(price * price) - sum(price) * sum(price)"
    return f"sqrt({_double(spread)} / nullif(count(*) * (count(*) - 1), 0))"


def _exact_quantile(q: str) -> str:
    """The interpolated ``q`` quantile of the exact ``price`` over rows ranked ``rn`` of ``n``
    (``q`` a decimal literal: the weights are exact decimals too), as an exact decimal."""
    pos = f"(1 + {q} * (n - 1))"
    return (
        f"sum(CASE WHEN rn = floor({pos}) THEN price * (1 - ({pos} - floor({pos}))) "
        f"WHEN rn = floor({pos}) + 1 THEN price * ({pos} - floor({pos})) ELSE 0 END)"
    )


def _quantile(q: str) -> str:
    """The interpolated ``q`` quantile of the exact ``price`` as the DOUBLE queries answer."""
    return _double(_exact_quantile(q))


def _ranked(partition: str, where: str) -> str:
    return (
        f"SELECT {partition}, cnpj, price, "
        f"row_number() OVER (PARTITION BY {partition} ORDER BY price) AS rn, "
        f"count(*) OVER (PARTITION BY {partition}) AS n "
        f"FROM ({_exact(f'{partition}, cnpj', where)}) AS exact"
    )


def _stats(group: str, where: str, *, spread: bool = False) -> str:
    # P90 − P10 from the exact quantiles, one cast: the difference of the two DOUBLEs gave
    # float noise (0.9000000000000004 for 6.79 − 5.89).
    p90_p10 = _double(f"{_exact_quantile('0.9')} - {_exact_quantile('0.1')}")
    extra = f", {_sd()} AS sd, {p90_p10} AS p90_p10" if spread else ""
    return (
        f"WITH ranked AS ({_ranked(group, where)}) "
        f"SELECT {group}, count(DISTINCT cnpj) AS stations, count(*) AS observations, "
        f"{_mean()} AS mean, {_quantile('0.5')} AS median, {_quantile('0.1')} AS p10, "
        f"{_quantile('0.9')} AS p90, {_double('min(price)')} AS min_price, "
        f"{_double('max(price)')} AS max_price{extra} "
        f"FROM ranked GROUP BY {group}"
    )


# An unbranded cell's mean price as a decimal to 14 places (about a double's precision): what a
# flag's cells are weighed against, exact from there on.
WHITE = f"CAST({_double('total')} / n AS DECIMAL(18, 14))"

_WINDOW = "product = ? AND month BETWEEN ? AND ? AND week BETWEEN ? AND ?"

# The CNPJ as the lake keeps it, its 14 digits (``00003188000121``; a lake of an older layout
# is migrated first: LAKE_LAYOUT), matched against the search text without its punctuation
# (``cnpj_text``), so that a CNPJ typed with or without it, or in part, is found. Not
# normalised per row here: every partition holds the digits already.
_CNPJ = "cnpj"


# A name folded as the search text is (domain.stations.folded): upper case, accents dropped,
# with translate(), which DuckDB and Athena (Trino) both have.
def _folded(column: str) -> str:
    return f"translate(upper({column}), '{ACCENTED}', '{PLAIN}')"


def _one_space(column: str) -> str:
    """``column`` with each hyphen made a space and each run of spaces one space, in replace(),
    chr() and ``||``, which DuckDB and Trino both have (regexp_replace replaces only the first
    match on DuckDB, every one on Trino): each space gains a chr(1) after it, a chr(1) followed
    by a space (a space that follows another) goes with that space, the chr(1) left go."""
    marked = f"replace(replace({column}, '-', ' '), ' ', ' ' || chr(1))"
    return f"replace(replace({marked}, chr(1) || ' ', ''), chr(1), '')"


# ANP writes some station names with two spaces in a row ("POSTO  SUMARE LTDA", 64 stations
# of the real sample), which a page shows as one, and towns with a hyphen ("JI-PARANA") that a
# person types as a space: both are matched with one space (domain.stations.folded).
_STATION = _folded(_one_space("station"))
_TOWN = _folded(_one_space("municipality"))
FOLDED_TOWN = _TOWN
"""A row's municipality folded as ``municipality_weekly`` compares it with the town asked."""

# How well a station matches the search text, best first: CNPJ from its start, the whole name,
# the name's start, the whole town, anywhere in the name, anywhere in the town or CNPJ.
_MATCH = (
    f"CASE WHEN strpos({_CNPJ}, ?) = 1 THEN 0 WHEN {_STATION} = ? THEN 1 "
    f"WHEN strpos({_STATION}, ?) = 1 THEN 2 WHEN {_TOWN} = ? THEN 3 "
    f"WHEN strpos({_STATION}, ?) > 0 THEN 4 ELSE 5 END"
)


def _window_params(fuel: str) -> tuple[str, str]:
    return f"first_month_{fuel}", f"last_month_{fuel}"


def window_params(partitions: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The ``window`` query's parameters from the lake's (product, month) partitions: each
    fuel's first and last month, ``''`` (no month) for a fuel the lake lacks."""
    months: dict[str, list[str]] = {}
    for product, month in partitions:
        months.setdefault(product, []).append(month)
    params: dict[str, str] = {}
    for fuel in FUELS:
        held = sorted(months.get(fuel, [""]))
        params.update(zip(_window_params(fuel), (held[0], held[-1]), strict=True))
    return params


def window_months(partitions: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (product, month) partitions the ``window`` query reads: each fuel's first and
    last month's."""
    params = window_params(partitions)
    return {(fuel, params[name]) for fuel in FUELS for name in _window_params(fuel) if params[name]}


def fuel_windows(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[date, date]]:
    """The ``window`` query's rows (product, first day, last day) as each fuel's first and last
    collection day, in FUELS order (a row without days, none)."""
    found = {str(r[0]): (r[1], r[2]) for r in rows if r[1] is not None and r[2] is not None}
    return {fuel: found[fuel] for fuel in FUELS if fuel in found}


@dataclass(frozen=True, slots=True)
class LakeQuery:
    """A named query, its SQL text and the names of its ``?`` parameters in order."""

    name: str
    sql: str
    params: tuple[str, ...]


_W = ("product", "month_from", "month_to", "week_from", "week_to")

QUERIES: dict[str, LakeQuery] = {
    q.name: q
    for q in (
        LakeQuery(
            "municipality_weekly",
            _stats("state, municipality, week", f"{_WINDOW} AND state = ? AND {_TOWN} = ?")
            + " ORDER BY week",
            (*_W, "state", "municipality"),
        ),
        LakeQuery(
            "state_weekly",
            _stats("state, week", _WINDOW) + " ORDER BY state, week",
            _W,
        ),
        LakeQuery(
            "municipality_ranking",
            _stats("state, municipality", _WINDOW) + " ORDER BY median, state, municipality",
            _W,
        ),
        LakeQuery(
            "dispersion",
            "WITH cells AS ("
            + _stats("week", _WINDOW, spread=True)
            + ") SELECT week, stations, observations, mean, median, p10, p90, "
            "p90_p10, sd / mean AS cv, min_price, max_price "
            "FROM cells ORDER BY week",
            _W,
        ),
        LakeQuery(
            "brand_premium",
            # A brand's premium is measured against unbranded (BRANCA) stations of the same
            # municipality and week, so geography does not pass for brand. Both figures come
            # from the same matched comparison, weighted by the flag's prices per cell: premium
            # is the weighted mean of (flag's cell mean - unbranded cell mean), premium_pct that
            # sum over the same weighted sum of the unbranded means (so they share their sign).
            # Exact sums: a flag's n·(its cell mean) is its cell total, and the unbranded cell
            # mean is taken to 14 decimal places (WHITE) before it is weighted and summed.
            "WITH cell AS (SELECT state, municipality, week, brand, sum(price) AS total, "
            "count(*) AS n FROM ("
            + _exact("state, municipality, week, brand", _WINDOW)
            + ") AS exact GROUP BY state, municipality, week, brand), "
            f"white AS (SELECT state, municipality, week, {WHITE} AS white_price FROM cell "
            "WHERE brand = 'BRANCA'), "
            "matched AS (SELECT c.brand, sum(c.n) AS observations, count(*) AS cells, "
            "sum(c.total) AS total, sum(c.total - c.n * w.white_price) AS diff, "
            "sum(c.n * w.white_price) AS base "
            "FROM cell c JOIN white w ON c.state = w.state AND c.municipality = w.municipality "
            "AND c.week = w.week WHERE c.brand <> 'BRANCA' GROUP BY c.brand) "
            f"SELECT brand, observations, cells, {_double('total')} / observations AS mean_price, "
            f"{_double('diff')} / observations AS premium, "
            f"100 * {_double('diff')} / {_double('base')} AS premium_pct "
            "FROM matched ORDER BY premium DESC, brand",
            _W,
        ),
        LakeQuery(
            "brand_national",
            # The national comparison without matching: each flag's mean, spread and share.
            f"SELECT brand, count(DISTINCT cnpj) AS stations, count(*) AS observations, "
            f"{_mean()} AS mean_price, {_sd()} AS sd, {_double('min(price)')} AS min_price, "
            f"{_double('max(price)')} AS max_price FROM ("
            + _exact("brand, cnpj", _WINDOW)
            + ") AS exact GROUP BY brand ORDER BY mean_price, brand",
            _W,
        ),
        LakeQuery(
            "station_search",
            # Last price per station and fuel in the window's survey weeks (never past its last
            # week: the month bounds alone reach into the next month); the search text is upper
            # case, matched against the name, the CNPJ (text and CNPJ without punctuation, see
            # _CNPJ) and the municipality. Street address, no phone or owner data.
            # Stations come best match first (see _MATCH), then by name; at most
            # SEARCH_STATIONS + 1 of them, so the caller can tell a cut result from a whole one.
            "WITH hits AS (SELECT cnpj, station, street, number, neighbourhood, municipality, "
            f"state, brand, product, collected, price, unit, {_MATCH} AS quality, "
            "row_number() OVER "
            "(PARTITION BY cnpj, product ORDER BY collected DESC) AS rn FROM stations "
            "WHERE month BETWEEN ? AND ? AND week BETWEEN ? AND ? "
            f"AND (strpos({_STATION}, ?) > 0 "
            f"OR strpos({_CNPJ}, ?) > 0 OR strpos({_TOWN}, ?) > 0)), "
            "picked AS (SELECT cnpj, min(quality) AS quality, min(upper(station)) AS name "
            "FROM hits GROUP BY cnpj ORDER BY quality, name, cnpj "
            f"LIMIT {SEARCH_STATIONS + 1}) "
            "SELECT h.cnpj, h.station, h.street, h.number, h.neighbourhood, h.municipality, "
            "h.state, h.brand, h.product, h.collected, h.price, h.unit "
            "FROM hits h JOIN picked p ON h.cnpj = p.cnpj WHERE h.rn = 1 "
            "ORDER BY p.quality, p.name, h.cnpj, h.product",
            ("cnpj_text",)
            + ("text",) * 4
            + ("month_from", "month_to", "week_from", "week_to")
            + ("text", "cnpj_text", "text"),
        ),
        LakeQuery(
            "window",
            # Each fuel's first and last collection day, read from that fuel's first and last
            # month (callers list the partitions: window_params): every page view asks, so no
            # other month is read. A fuel the lake lacks is asked of month '' (none), so the
            # text and its parameters stay the same whatever the lake holds.
            "SELECT product, min(collected) AS first_day, max(collected) AS last_day "
            "FROM stations WHERE "
            + " OR ".join(f"(product = '{fuel}' AND month IN (?, ?))" for fuel in FUELS)
            + " GROUP BY product ORDER BY product",
            tuple(p for fuel in FUELS for p in _window_params(fuel)),
        ),
        LakeQuery(
            "coverage",
            "SELECT product, month, count(*) AS observations, count(DISTINCT cnpj) AS stations, "
            "min(collected) AS first_day, max(collected) AS last_day FROM stations "
            "GROUP BY product, month ORDER BY product, month",
            (),
        ),
    )
}
