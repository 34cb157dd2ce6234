"""Records to and from DynamoDB's low-level attribute-value format (numbers as exact text)."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fuelpipe.domain.models import AttrValue, Record, Revision, Status
from fuelpipe.ports.store import RECORD_ATTRIBUTES

Item = dict[str, dict[str, Any]]
"""One item in the low-level wire format: ``{"name": {"S": "..."}}``."""

PENDING_INDEX = "pending-index"
GSI_PK = "gsi1pk"
GSI_SK = "gsi1sk"
NO_TIME = ""
"""The gsi1sk time part of a PENDING record with no next attempt: sorts first, so it is due."""

FIELD_ATTRS = RECORD_ATTRIBUTES
STATUS_BY_NAME = {s.value: s for s in Status}


def iso_utc(dt: datetime) -> str:
    """A fixed-width UTC ISO string, so stored instants compare correctly as text."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: fuelpipe stores timezone-aware instants only")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def shard_of(key: str, day: str, shards: int) -> int:
    """A stable shard number for one record (crc32 does not change between processes)."""
    return zlib.crc32(f"{key}#{day}".encode()) % shards


def gsi_pk(status: Status, shard: int) -> str:
    """The pending-index partition: ``PENDING#3``."""
    return f"{status.value}#{shard}"


def gsi_sk(when: datetime | None, key: str, day: str) -> str:
    """The pending-index sort key: ``<next attempt ISO>#<info_type>#<date>``."""
    return f"{NO_TIME if when is None else iso_utc(when)}#{key}#{day}"


def due_bound(now: datetime) -> str:
    """Every gsi1sk of a record due at ``now`` sorts below this ('$' follows '#')."""
    return iso_utc(now) + "$"


def number(value: Decimal | int) -> dict[str, str]:
    """An N attribute holding the exact decimal text (never a float)."""
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"DynamoDB numbers must be finite, not {value}")
    return {"N": str(value)}


def encode_attr(value: AttrValue) -> dict[str, Any]:
    """One record attribute as an attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        raise TypeError("record attributes hold numbers, text or None, not booleans")
    if isinstance(value, Decimal | int):
        return number(value)
    return {"S": str(value)}


def decode_attr(raw: dict[str, Any]) -> AttrValue:
    """The inverse of :func:`encode_attr`; integral numbers come back as int."""
    if "N" in raw:
        text: str = raw["N"]
        return int(text) if text.lstrip("-").isdigit() else Decimal(text)
    if "S" in raw:
        return str(raw["S"])
    return None


def encode_attrs(attrs: dict[str, AttrValue]) -> dict[str, Any]:
    """A record's attrs as an M attribute."""
    return {"M": {k: encode_attr(v) for k, v in attrs.items()}}


def encode_revision(revision: Revision) -> dict[str, Any]:
    """One revision as an M attribute (numbers as exact text)."""
    return {
        "M": {
            "previous": number(revision.previous),
            "new": number(revision.new),
            "seen_at": {"S": iso_utc(revision.seen_at)},
            "request": {"S": revision.request},
        }
    }


def decode_revision(raw: dict[str, Any]) -> Revision:
    """The inverse of :func:`encode_revision`."""
    m = raw["M"]
    return Revision(
        previous=Decimal(m["previous"]["N"]),
        new=Decimal(m["new"]["N"]),
        seen_at=datetime.fromisoformat(m["seen_at"]["S"]),
        request=m["request"]["S"],
    )


def ok_item(record: Record, stamp: str) -> Item:
    """A whole OK item for a PutRequest: no gsi1pk, so it never enters the pending index."""
    if record.status is not Status.OK or record.value is None:
        raise ValueError(
            f"put_records takes OK records with a value; {record.key} {record.date} "
            f"is {record.status}"
        )
    item: Item = {
        "info_type": {"S": record.key},
        "date": {"S": record.date.isoformat()},
        "value": number(record.value),
        "status": {"S": Status.OK.value},
        "retry_count": number(record.retry_count),
        "updated_at": {"S": stamp},
    }
    if record.next_attempt_at is not None:
        item["next_attempt_at"] = {"S": iso_utc(record.next_attempt_at)}
    if record.reason is not None:
        item["reason"] = {"S": record.reason}
    if record.attrs:
        item["attrs"] = encode_attrs(record.attrs)
    if record.revisions:
        item["revisions"] = {"L": [encode_revision(r) for r in record.revisions]}
    return item


def decode(item: Item) -> Record:
    """A record from an item, whatever subset of attributes was projected."""
    values: dict[str, Any] = {"value": None}
    for field, attr in FIELD_ATTRS.items():
        raw = item.get(attr)
        if raw is None or "NULL" in raw:
            continue
        if field == "key":
            values[field] = raw["S"]
        elif field == "date":
            values[field] = date.fromisoformat(raw["S"])
        elif field == "value":
            values[field] = Decimal(raw["N"])
        elif field == "status":
            values[field] = STATUS_BY_NAME[raw["S"]]
        elif field == "retry_count":
            values[field] = int(raw["N"])
        elif field in ("next_attempt_at", "updated_at"):
            values[field] = datetime.fromisoformat(raw["S"])
        elif field == "reason":
            values[field] = raw["S"]
        elif field == "revisions":
            values[field] = tuple(decode_revision(r) for r in raw["L"])
        else:
            values[field] = {k: decode_attr(v) for k, v in raw["M"].items()}
    return Record(**values)


def primary_key(key: str, day: date | str) -> Item:
    """The item key of one record."""
    text = day if isinstance(day, str) else day.isoformat()
    return {"info_type": {"S": key}, "date": {"S": text}}
