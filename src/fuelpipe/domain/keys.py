"""Partition and sort keys: built and parsed here, and nowhere else."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

SEP = "#"
_KEY_PART = re.compile(r"^[A-Z0-9_=.\-]+$")


class Kind(StrEnum):
    """The family of a series, the first part of its partition key."""

    CURRENCY = "CURRENCY"
    STOCK = "STOCK"
    COMMODITY = "COMMODITY"
    FUEL = "FUEL"
    FUEL_MONTHLY = "FUEL_MONTHLY"
    OUTLOOK = "OUTLOOK"


class InvalidKeyError(ValueError):
    """A partition or sort key that does not follow the key design."""


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """A parsed partition key such as ``FUEL#GASOLINE#SP``."""

    kind: Kind
    parts: tuple[str, ...]

    def __str__(self) -> str:
        return SEP.join((self.kind.value, *self.parts))


def build_key(kind: Kind | str, *parts: str) -> str:
    """Build a partition key (``info_type``) from its kind and parts."""
    kind = Kind(kind)
    if not parts:
        raise InvalidKeyError(f"a {kind} key needs at least one part")
    for part in parts:
        if not _KEY_PART.fullmatch(part):  # match() would let a trailing newline through
            raise InvalidKeyError(
                f"invalid key part {part!r}: use upper-case letters, digits, _ = . -"
            )
    return SEP.join((kind.value, *parts))


def parse_key(key: str) -> SeriesKey:
    """Parse a partition key, rejecting anything the key design does not produce."""
    head, *parts = key.split(SEP)
    try:
        kind = Kind(head)
    except ValueError:
        raise InvalidKeyError(f"unknown key kind {head!r} in {key!r}") from None
    build_key(kind, *parts)  # validates the parts
    expected = 2 if kind in (Kind.FUEL, Kind.FUEL_MONTHLY, Kind.OUTLOOK) else 1
    if len(parts) != expected:
        raise InvalidKeyError(f"{key!r}: a {kind} key has {expected} part(s) after the kind")
    return SeriesKey(kind, tuple(parts))


def currency_key(code: str) -> str:
    """``CURRENCY#USD``."""
    return build_key(Kind.CURRENCY, code)


def stock_key(ticker: str) -> str:
    """``STOCK#PETR4``."""
    return build_key(Kind.STOCK, ticker)


def commodity_key(name: str) -> str:
    """``COMMODITY#BRENT``."""
    return build_key(Kind.COMMODITY, name)


def fuel_key(product: str, area: str, *, monthly: bool = False) -> str:
    """``FUEL#GASOLINE#SP`` (weekly) or ``FUEL_MONTHLY#GASOLINE#SP``."""
    return build_key(Kind.FUEL_MONTHLY if monthly else Kind.FUEL, product, area)


# --- outlook (issue 16): each fuel and area's stored forecasts, one record per as-of day ------
def outlook_key(product: str, area: str) -> str:
    """``OUTLOOK#GASOLINE#BR``: the forecasts of ``FUEL#GASOLINE#BR``."""
    return build_key(Kind.OUTLOOK, product, area)


# --- end of the outlook block ------------------------------------------------------------------


def date_key(day: date) -> str:
    """The sort key: ISO ``YYYY-MM-DD``."""
    return day.isoformat()


def parse_date_key(value: str) -> date:
    """Parse a sort key, accepting only the strict ISO form."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise InvalidKeyError(f"sort key {value!r} is not ISO YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidKeyError(f"sort key {value!r}: {exc}") from None


# --- keys of the single table's other items (the DynamoDB store's retry index and run log) ---

RUN_PREFIX = "RUN" + SEP
"""Partition of one stage's run history: ``RUN#scraper``, sort key = its start instant."""
LATEST_RUNS = RUN_PREFIX + "LATEST"
"""Partition holding each stage's latest run (sort key = stage), so last runs are one Query."""
WATERMARKS = "WATERMARK"
"""Partition holding every key's gap-scan watermark (sort key = the key), read by one Query."""
NO_TIME = ""
"""The retry-index time of a PENDING record with no next attempt: sorts first, so it is due."""


def run_key(stage: str) -> str:
    """The partition of one stage's run history: ``RUN#scraper``."""
    return RUN_PREFIX + stage


def shard_of(key: str, day: str, shards: int) -> int:
    """A stable shard number for one record (crc32 does not change between processes)."""
    return zlib.crc32(f"{key}{SEP}{day}".encode()) % shards


def retry_index_pk(status: str, shard: int) -> str:
    """The retry index's partition of one status and shard: ``PENDING#3``."""
    return f"{status}{SEP}{shard}"


def retry_index_sk(instant: str, key: str, day: str) -> str:
    """The retry index's sort key: ``<next attempt, ISO UTC>#<info_type>#<date>``."""
    return SEP.join((instant, key, day))


def retry_due_bound(instant: str) -> str:
    """Every retry-index sort key of a record due at ``instant`` sorts below this ('$' > '#')."""
    return instant + "$"


INTRADAY = "INTRADAY"
"""Head of intraday partition keys: never a :class:`Kind`, so never a daily series' key."""


def intraday_key(series_key: str, day: date) -> str:
    """``INTRADAY#<daily key>#<YYYY-MM-DD>``: one partition per series and day.

    Per day, so a day's bulletins or bars are one Query and a busy series spreads its writes
    over a new partition every day instead of growing one hot partition forever.
    """
    parse_key(series_key)
    return SEP.join((INTRADAY, series_key, day.isoformat()))


def parse_intraday_key(key: str) -> tuple[str, date]:
    """The daily series key and the day of an intraday partition key."""
    head, _, rest = key.partition(SEP)
    series_key, _, day = rest.rpartition(SEP)
    if head != INTRADAY or not series_key:
        raise InvalidKeyError(f"{key!r} is not an intraday key (INTRADAY#<key>#<date>)")
    parse_key(series_key)
    try:
        return series_key, date.fromisoformat(day)
    except ValueError:
        raise InvalidKeyError(f"{key!r} does not end in a date") from None
