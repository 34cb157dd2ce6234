"""Values a source published that the scraper set aside where no record keeps them.

A value :func:`~fuelpipe.domain.plausibility.check_observation` (or the neighbour check)
sets aside for a date whose record cannot carry its reason (the date is OK or ABSENT already,
QUARANTINED, or no message asked for it) used to survive in a log line only: the stored value
stays, and nobody learnt that the source published something else. Each such value is kept as
a meta entry ``set_aside#<key>#<date>`` (:func:`set_aside_name`), one per key and date, holding
the published value's text exactly, the reason, the answer that carried it and when it was
first and last seen. A requested date's PENDING record carries the value instead (its reason,
and :data:`SET_ASIDE_VALUE`), until a write would take that reason away: then it is kept as an
entry too (:func:`keep_carried`). Each is written ranked by its ``first_seen``
(``Store.replace_meta``'s ``ranked``), so the newest are read without reading the others
(``Store.latest_meta``): the health view counts them (``Store.count_meta``, no entry
returned), ``fuelpipe status`` each key's from one read of their names
(``Store.meta_names``), and both show the newest few (:func:`newest_set_aside`);
``fuelpipe quarantine set-aside`` lists them all. Newest means
first seen last: a value a source keeps publishing stays where it first appeared, below the
ones that came after it. (An entry written before entries were ranked is counted and listed,
but among the newest only once it is written again.)

Idempotent: the same answer again (a redelivered message) finds the same entry and writes
nothing. A later answer carrying the same value for the date (the daily ``revise`` re-reading
a source that still publishes it) moves ``last_seen``, conditionally as every write, but that
is not a change of the data (not counted in ``set_aside_kept``): the data version, which moves
on what the dashboard's views show, stays, so the stored views and the outlook are not
computed again each day for it. Only the health view shows ``last_seen``, and it is computed
again after every run anyway (its ETag follows the last runs:
``fuelpipe.dashboard.precomputed.health_inputs``). Another value or reason for the date is a
change (``first_seen`` starts again). An entry goes away once a later answer carries a value
for its date that is not set aside (stored, a revision, or the stored value published again);
an answer that leaves the date out, or fails, leaves it. Each write is conditional on the
entry as read (``Store.replace_meta``, ``Store.delete_meta``), so two scrapers never lose each
other's entry. Reads: one prefix read of the entries per message (a Query of the meta
partition's ``set_aside#`` range: it grows with the entries open, not with the history).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.domain.models import AttrValue, Observation, Record, Status
from fuelpipe.ports.store import Store

SET_ASIDE = "set_aside"
"""Meta entries ``set_aside#<key>#<date>``: a value published for the date and set aside where
no record keeps it (see the module's doc)."""
WRITE_ATTEMPTS = 3
"""Conditional writes of one entry while other writers keep changing it."""


SET_ASIDE_VALUE = "set_aside_value"
"""On a PENDING record whose reason is a value set aside (the record carries it, so no entry
is kept): the value as published; with ``set_aside_by`` (the answer that last carried it) and
``set_aside_at`` (when one first did). A later write that takes that reason away (a failed
retry, "no value", a quarantine with another error) keeps the value as an entry first
(:func:`keep_carried`): before, the reason was its one trace, and the value was lost."""
SET_ASIDE_BY = "set_aside_by"
"""Beside :data:`SET_ASIDE_VALUE`: how the answer that last carried the value names itself."""
SET_ASIDE_AT = "set_aside_at"
"""Beside :data:`SET_ASIDE_VALUE`: when an answer first carried the value (UTC text)."""


@dataclass(frozen=True, slots=True)
class Carried:
    """A value set aside that a PENDING record's reason names (:data:`SET_ASIDE_VALUE`)."""

    value: str
    seen_by: str
    first_seen: datetime


def carried(record: Record | None) -> Carried | None:
    """The value set aside ``record`` carries, if it is PENDING and carries one."""
    if record is None or record.status is not Status.PENDING:
        return None
    attrs = record.attrs
    value, by, at = (attrs.get(n) for n in (SET_ASIDE_VALUE, SET_ASIDE_BY, SET_ASIDE_AT))
    if not (isinstance(value, str) and isinstance(by, str) and isinstance(at, str)):
        return None
    return Carried(value, by, parse_iso(at))


def carrying(
    value: Decimal, seen_by: str, now: datetime, held: Carried | None
) -> dict[str, AttrValue]:
    """The attributes of a PENDING record whose reason is that of ``value`` set aside by the
    answer ``seen_by``: first seen ``now``, or when ``held`` (what the record carries now) was
    when it is the same value."""
    text = str(value)
    first = held.first_seen if held is not None and held.value == text else now
    return {SET_ASIDE_VALUE: text, SET_ASIDE_BY: seen_by, SET_ASIDE_AT: iso_utc(first)}


def keep_carried(store: Store, key: str, day: date, held: Carried, reason: str) -> int:
    """Keep the value a PENDING record carries as an entry, with its reason (the record's),
    before a write takes that reason away; 1 when that wrote an entry with a value or reason
    it did not hold (as :func:`keep_set_aside` counts)."""
    flagged = {(key, day): (Decimal(held.value), reason)}
    return keep_set_aside(store, flagged, held.seen_by, held.first_seen)[0]


def set_aside_name(key: str, day: date) -> str:
    """The meta entry of a value set aside for ``key`` on ``day``."""
    return f"{SET_ASIDE}#{key}#{day.isoformat()}"


@dataclass(frozen=True, slots=True)
class SetAside:
    """One value set aside where no record keeps it."""

    key: str
    date: date
    value: str
    """The value as the source published it (its Decimal's text, every digit kept)."""
    reason: str
    seen_by: str
    """The answer that last carried it (origin, fetch unit, dates)."""
    first_seen: datetime
    """When an answer first carried this value for the date (set again by another value)."""
    last_seen: datetime
    """When an answer last carried it."""

    def text(self) -> str:
        """The entry's stored text (JSON, fields in a fixed order)."""
        return json.dumps(
            {
                "value": self.value,
                "reason": self.reason,
                "seen_by": self.seen_by,
                "first_seen": self.first_seen.isoformat(),
                "last_seen": self.last_seen.isoformat(),
            },
            ensure_ascii=False,
        )


def parse_set_aside(name: str, text: str) -> SetAside | None:
    """The entry ``name`` holding ``text``; None when it is not one (another writer's text)."""
    key, _, day = name.removeprefix(f"{SET_ASIDE}#").rpartition("#")  # keys hold '#' too
    try:
        data = json.loads(text)
        return SetAside(
            key=key,
            date=date.fromisoformat(day),
            value=str(data["value"]),
            reason=str(data["reason"]),
            seen_by=str(data["seen_by"]),
            first_seen=datetime.fromisoformat(data["first_seen"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def set_aside_entries(store: Store) -> list[SetAside]:
    """Every entry kept, newest (``first_seen``) first, then by key and date: one prefix read
    of them all (``fuelpipe quarantine set-aside``; what must answer in bounded time reads
    :func:`count_set_aside` and :func:`newest_set_aside`)."""
    found = [
        entry
        for name, text in store.meta_entries(f"{SET_ASIDE}#")
        if (entry := parse_set_aside(name, text)) is not None
    ]
    found.sort(key=lambda e: (e.key, e.date))
    found.sort(key=lambda e: e.first_seen, reverse=True)
    return found


def count_set_aside(store: Store) -> int:
    """How many entries are kept, counted without reading them (``Store.count_meta``)."""
    return store.count_meta(f"{SET_ASIDE}#")


def set_aside_counts(store: Store) -> dict[str, int]:
    """How many entries each key has (keys with none left out), from one read of their names
    (``Store.meta_names``): what `fuelpipe status` gives each row, and its total."""
    return dict(
        Counter(
            name.removeprefix(f"{SET_ASIDE}#").rpartition("#")[0]  # keys hold '#' too
            for name in store.meta_names(f"{SET_ASIDE}#")
        )
    )


def newest_set_aside(store: Store, limit: int) -> list[SetAside]:
    """The ``limit`` entries first seen last, newest first (``Store.latest_meta``: only those
    are read)."""
    return [
        entry
        for name, text in store.latest_meta(f"{SET_ASIDE}#", limit)
        if (entry := parse_set_aside(name, text)) is not None
    ]


def keep_set_aside(
    store: Store,
    flagged: Mapping[tuple[str, date], tuple[Decimal, str]],
    seen_by: str,
    now: datetime,
) -> tuple[int, int]:
    """Write an entry for each value of ``flagged`` (key, date -> value, reason), or move an
    entry holding the same value and reason to ``last_seen`` ``now``; returns how many entries
    were written with a value or reason they did not hold (new, or another value: a change
    of the data; an entry only seen again is not counted) and how many deleted. A
    value equal to the one stored OK for its date (a stored value far from its neighbours,
    published again) is what the store holds already: no entry, and one kept from before is
    deleted, as any answer publishing the stored value again deletes it. One small read of
    each date's record."""
    written = deleted = 0
    for (key, day), (value, reason) in sorted(flagged.items()):
        name = set_aside_name(key, day)
        stored = store.query(key, day, day, ("status", "value"), consistent=True)
        # A NaN or an infinity (set aside: not finite) equals no stored value; comparing a
        # signalling NaN would raise.
        if value.is_finite() and any(r.status is Status.OK and r.value == value for r in stored):
            old = store.get_meta(name)
            if old is not None and store.delete_meta(name, old):
                deleted += 1
            continue
        for _ in range(WRITE_ATTEMPTS):
            old = store.get_meta(name)
            before = parse_set_aside(name, old) if old is not None else None
            same = before is not None and (before.value, before.reason) == (str(value), reason)
            entry = SetAside(
                key,
                day,
                str(value),
                reason,
                seen_by,
                first_seen=before.first_seen if same and before else now,
                last_seen=max(now, before.last_seen) if same and before else now,
            )
            text = entry.text()
            if text == old:
                break
            if store.replace_meta(name, old, text, ranked=entry.first_seen):
                written += not same
                break
    return written, deleted


class Watch:
    """The open entries of some keys, and which of their dates an answer carried: built before
    the answer is read (:func:`watch`), its observations passed through :meth:`seen`."""

    def __init__(self, store: Store, keys: Iterable[str]) -> None:
        wanted = set(keys)
        self._open: dict[tuple[str, date], tuple[str, str]] = {}
        for name, text in store.meta_entries(f"{SET_ASIDE}#"):
            entry = parse_set_aside(name, text)
            if entry is not None and entry.key in wanted:
                self._open[(entry.key, entry.date)] = (name, text)
        self._carried: set[tuple[str, date]] = set()

    def seen(
        self, observations: Iterable[Observation], lo: date, hi: date
    ) -> Iterator[Observation]:
        """``observations`` unchanged; those dated in ``[lo, hi]`` that have an entry noted
        (an answer fetched again starts afresh: :meth:`restart`)."""
        if not self._open:
            yield from observations
            return
        for obs in observations:
            slot = (obs.key, obs.date)
            if slot in self._open and lo <= obs.date <= hi:
                self._carried.add(slot)
            yield obs

    def restart(self) -> None:
        """Forget what an answer carried (it is fetched again)."""
        self._carried.clear()

    def clear(self, store: Store, flagged: Iterable[tuple[str, date]]) -> int:
        """Delete the entries of the dates the answer carried a value for that is not set
        aside (``flagged``: those it set aside); each only while it still holds what was read
        (an entry another answer rewrote meanwhile stays). Returns how many were deleted."""
        cleared = 0
        for slot in sorted(self._carried - set(flagged)):
            name, text = self._open.pop(slot)
            if store.delete_meta(name, text):
                cleared += 1
        self._carried.clear()
        return cleared
