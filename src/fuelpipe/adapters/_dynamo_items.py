"""Records to and from DynamoDB's low-level attribute-value format (numbers as exact text).

boto3's ``TypeSerializer``/``TypeDeserializer`` do the attribute encoding (Decimal and int as
``N`` text, never a float); this module maps record fields onto item attributes. Every key is
built in ``fuelpipe.domain.keys``. Every number is written in its canonical form
(``domain.numbers.canonical``), as the SQLite store writes it: DynamoDB keeps numbers, not their
text, so ``68.80`` would come back ``68.8`` here and ``68.80`` there.

An ``N`` attribute does not say whether it was an int or a Decimal: a record attribute that is
an integral Decimal (Yahoo's ``open`` of ``27.0``, canonical ``27``) is kept as a map
``{"$d": 27}`` (as the SQLite store's ``{"$d": "27"}``), so it comes back a Decimal, and a
plain integral ``N`` comes back an int (a volume, a station count).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from fuelpipe.domain import keys
from fuelpipe.domain.instants import iso_utc
from fuelpipe.domain.models import AttrValue, HistoryKind, Record, Revision, Status
from fuelpipe.domain.numbers import TooManyDigits, canonical
from fuelpipe.ports.store import RECORD_ATTRIBUTES, WRITTEN_AT

Item = dict[str, dict[str, Any]]
"""One item in the low-level wire format: ``{"name": {"S": "..."}}``."""

PENDING_INDEX = "pending-index"
STATUS_INDEX = "status-index"
"""The pending index's records again, by their last write (``updated_at``), projecting only
what a summary of them needs (LATEST_FIELDS): the newest ones, the newest stamp and the
counts read these slim entries, never the items whole."""
STATUS_INDEX_ATTRS = ("status", "retry_count", "next_attempt_at", "reason")
"""The status index's projected attributes besides the keys (``info_type``, ``date``,
``gsi1pk``, ``updated_at``)."""
GSI_PK = "gsi1pk"
GSI_SK = "gsi1sk"

FIELD_ATTRS = RECORD_ATTRIBUTES
STATUS_BY_NAME = {s.value: s for s in Status}

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def gsi_pk(status: Status, shard: int) -> str:
    """The pending-index partition: ``PENDING#3``."""
    return keys.retry_index_pk(status.value, shard)


def gsi_sk(when: datetime | None, key: str, day: str) -> str:
    """The pending-index sort key: ``<next attempt ISO>#<info_type>#<date>``."""
    return keys.retry_index_sk(keys.NO_TIME if when is None else iso_utc(when), key, day)


def due_bound(now: datetime) -> str:
    """Every gsi1sk of a record due at ``now`` sorts below this."""
    return keys.retry_due_bound(iso_utc(now))


DECIMAL_MARK = "$d"
"""The one key of the map an integral Decimal record attribute is kept in."""


def _canonical(value: Any) -> Any:
    """``value`` with every number in its canonical form (maps and lists walked); refuses what
    a record never holds: booleans, numbers DynamoDB cannot store (not finite), and numbers
    with more significant digits than it keeps (TooManyDigits)."""
    if isinstance(value, bool):
        raise TypeError("record attributes hold numbers, text or None, not booleans")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"DynamoDB numbers must be finite, not {value}")
        return canonical(value)
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def encode(value: Any) -> dict[str, Any]:
    """One attribute value (number, text, None or a map or list of them) in the wire format,
    its numbers canonical."""
    return dict(_serialize(_canonical(value)))


def to_item(values: Mapping[str, Any]) -> Item:
    """An item from plain values; None values are left out (an absent attribute)."""
    return {name: encode(v) for name, v in values.items() if v is not None}


def attrs_values(attrs: Mapping[str, AttrValue]) -> dict[str, Any]:
    """Record attributes as plain values to encode: numbers canonical, an integral Decimal in
    its ``{"$d": n}`` map (see the module's docstring)."""
    out: dict[str, Any] = {}
    for name, value in attrs.items():
        if isinstance(value, Decimal):
            number = _canonical(value)
            out[name] = {DECIMAL_MARK: number} if number.as_tuple().exponent == 0 else number
        else:
            out[name] = value
    return out


def _attr(value: Any) -> AttrValue:
    """An integral number stored bare is an int; one in its ``{"$d": n}`` map and every other
    number are exact Decimals."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else value
    if isinstance(value, Mapping):
        return Decimal(value[DECIMAL_MARK])
    return value  # type: ignore[no-any-return]


def attrs_of(raw: Mapping[str, Any]) -> dict[str, AttrValue]:
    """Deserialized record attributes as the store hands them out."""
    return {k: _attr(v) for k, v in raw.items()}


def key_condition(condition: ConditionBase) -> dict[str, Any]:
    """Query arguments for a ``boto3.dynamodb.conditions.Key`` condition on the low-level client."""
    built = ConditionExpressionBuilder().build_expression(condition, is_key_condition=True)
    return {
        "KeyConditionExpression": built.condition_expression,
        "ExpressionAttributeNames": dict(built.attribute_name_placeholders),
        "ExpressionAttributeValues": {
            name: encode(value) for name, value in built.attribute_value_placeholders.items()
        },
    }


def revision_values(revision: Revision) -> dict[str, Any]:
    """One revision as plain values for an M attribute (numbers stay exact Decimals)."""
    out: dict[str, Any] = {
        "previous": revision.previous,
        "new": revision.new,
        "seen_at": iso_utc(revision.seen_at),
        "request": revision.request,
    }
    if revision.previous_attrs is not None:
        out["previous_attrs"] = attrs_values(revision.previous_attrs)
    if revision.kind is not HistoryKind.REVISION:  # no kind: a revision (as every older entry)
        out["kind"] = revision.kind.value
    return out


def decode_revision(plain: dict[str, Any]) -> Revision:
    """The inverse of :func:`revision_values`, from a deserialized M attribute."""
    return Revision(
        previous=Decimal(plain["previous"]),
        new=Decimal(plain["new"]),
        seen_at=datetime.fromisoformat(plain["seen_at"]),
        request=str(plain["request"]),
        previous_attrs=(
            None if "previous_attrs" not in plain else attrs_of(plain["previous_attrs"])
        ),
        kind=HistoryKind(plain.get("kind", HistoryKind.REVISION)),
    )


def revised_raw(item: Item) -> bool:
    """Whether a raw item (``revisions`` projected, not deserialized) holds a revision, not
    only adjustments: the gap scan's hot path reads it without decoding the history."""
    history = item.get("revisions")
    if history is None:
        return False
    revision = HistoryKind.REVISION.value
    return any(entry["M"].get("kind", {"S": revision})["S"] == revision for entry in history["L"])


def ok_item(record: Record, stamp: str, written: str) -> Item:
    """A whole OK item but its history (``revisions``: put_records and add_records never
    touch it): no gsi1pk, so it never enters the pending index. ``stamp`` is its
    ``updated_at`` (business clock), ``written`` its ``written_at`` (wall clock)."""
    if record.status is not Status.OK or record.value is None:
        raise ValueError(
            f"put_records takes OK records with a value; {record.key} {record.date} "
            f"is {record.status}"
        )
    try:
        return to_item(
            {
                "info_type": record.key,
                "date": keys.date_key(record.date),
                "value": record.value,
                "status": Status.OK.value,
                "retry_count": record.retry_count,
                "updated_at": stamp,
                WRITTEN_AT: written,
                "next_attempt_at": None
                if record.next_attempt_at is None
                else iso_utc(record.next_attempt_at),
                "reason": record.reason,
                "attrs": attrs_values(record.attrs) or None,
            }
        )
    except TooManyDigits as exc:
        raise exc.at(record.key, record.date) from None


def to_plain(item: Item) -> dict[str, Any]:
    """An item's attributes as Python values (numbers as Decimal, maps as dicts)."""
    return {name: _deserialize(raw) for name, raw in item.items()}


def decode(item: Item) -> Record:
    """A record from an item, whatever subset of attributes was projected."""
    plain = to_plain(item)
    values: dict[str, Any] = {"value": None}
    for field, attr in FIELD_ATTRS.items():
        raw = plain.get(attr)
        if raw is None:
            continue
        if field == "date":
            values[field] = date.fromisoformat(raw)
        elif field == "status":
            values[field] = STATUS_BY_NAME[raw]
        elif field == "retry_count":
            values[field] = int(raw)
        elif field in ("next_attempt_at", "updated_at"):
            values[field] = datetime.fromisoformat(raw)
        elif field == "attrs":
            values[field] = attrs_of(raw)
        elif field == "revisions":
            values[field] = tuple(decode_revision(r) for r in raw)
        else:  # key, reason: text; value: an exact Decimal
            values[field] = raw
    return Record(**values)


def primary_key(key: str, day: date | str) -> Item:
    """The item key of one record."""
    return to_item({"info_type": key, "date": day if isinstance(day, str) else keys.date_key(day)})
