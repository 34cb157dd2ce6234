"""A person's way out of the quarantine: release a record (retried again) or accept it
(ABSENT), each remembered apart from the record.

A release gives a record a fresh retry budget: its retry count goes back to 0, and its reason
says it was released until the next failure's error replaces it (the scraper rewrites a
PENDING record's reason and attributes on every failure). Quarantined again five re-downloads
later, it showed ``retries 5`` and the new error only: nothing said it had been quarantined
before, why, and how many re-downloads it had then. So each release is also kept as a meta
entry ``released#<key>#<date>`` (:func:`released_name`), a JSON list of the releases of that
date (when, the retry count and reason it was quarantined with), which the pipeline never
writes; ``fuelpipe quarantine list`` shows them beside the record (:func:`earlier_releases`,
one prefix read: the entries grow with a person's releases, not with the data).

After a long source outage a failed backfill leaves ~100,000 quarantined dates: they are
picked by key and date range (:func:`select`), summed up per key (:func:`summarize`), and
settled many at once (:func:`settle_all`): each as :func:`settle` settles one, the data
version moved once for them all, not once a date.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import mark_changed

RELEASED = "released#"
"""The meta family of the releases kept (:func:`released_name`)."""
WRITE_ATTEMPTS = 5
"""Conditional writes of one entry tried before giving up (another person releasing the same
date at the same moment is the only writer that can race)."""


@dataclass(frozen=True, slots=True)
class Release:
    """One release by hand of a quarantined record."""

    at: datetime
    retry_count: int
    """The re-downloads the record had when it was released."""
    reason: str | None
    """Why it was quarantined (the last error)."""


def released_name(key: str, day: date) -> str:
    """The meta entry that keeps the releases of ``key`` on ``day``."""
    return f"{RELEASED}{key}#{day.isoformat()}"


def settle(
    store: Store, verb: Literal["release", "accept"], key: str, day: date, now: datetime
) -> bool:
    """Release or accept the QUARANTINED record of ``key`` on ``day`` (``Store.release``,
    ``Store.accept``); False, nothing written, when it is not quarantined. A release is kept
    (:func:`released_name`); either moves the data version (the health view counts the
    quarantined records)."""
    if not _settle_one(store, verb, key, day, now):
        return False
    mark_changed(store, now, f"{verb} {key} {day}")
    return True


def settle_all(
    store: Store,
    verb: Literal["release", "accept"],
    records: Sequence[Record],
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """:func:`settle` each of ``records`` (read from :meth:`Store.quarantined`, then
    :func:`select`-ed), the data version moved once when any was settled; how many were. One
    no longer quarantined (released, accepted or stored since it was read) is left as it is.
    ``progress(done, total)`` after each. Stopped part-way (Ctrl+C, a store error), those
    settled stay settled and the data version still moves for them before the error goes on:
    the health view counts them."""
    settled = 0
    try:
        for done, record in enumerate(records, 1):
            settled += _settle_one(store, verb, record.key, record.date, now)
            if progress is not None:
                progress(done, len(records))
    finally:
        if settled:
            mark_changed(store, now, f"{verb} {settled} quarantined date(s)")
    return settled


def _settle_one(
    store: Store, verb: Literal["release", "accept"], key: str, day: date, now: datetime
) -> bool:
    """:func:`settle` without the data version's move. An accept is one conditional write
    (``Store.accept`` does nothing unless the record is QUARANTINED); a release reads the
    record first, for the retry count and reason it keeps (:func:`_remember`)."""
    if verb == "accept":
        return store.accept(key, day, now)
    found = store.query(key, day, day, consistent=True)
    if not found or found[0].status is not Status.QUARANTINED:
        return False
    was = found[0]
    if not store.release(key, day, now):
        return False
    _remember(store, key, day, Release(now, was.retry_count, was.reason))
    return True


def select(
    records: Sequence[Record],
    keys: Collection[str] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[Record]:
    """The ``records`` of ``keys`` (None: every key) dated from ``first`` through ``last``
    (None: unbounded), in their order."""
    return [
        r
        for r in records
        if (keys is None or r.key in keys)
        and (first is None or r.date >= first)
        and (last is None or r.date <= last)
    ]


@dataclass(frozen=True, slots=True)
class KeySummary:
    """One key's quarantined records summed up (``quarantine list --summary``)."""

    key: str
    count: int
    first: date
    last: date
    since: datetime | None
    """When the first of them was quarantined (the oldest ``updated_at``)."""
    reason: str | None
    """The most common reason (of equals, the one of the earliest date)."""
    reason_count: int
    """How many of them give ``reason``."""


def summarize(records: Sequence[Record]) -> list[KeySummary]:
    """One :class:`KeySummary` per key of ``records``, by key."""
    by_key: dict[str, list[Record]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.key, r.date)):
        by_key[r.key].append(r)
    out = []
    for key, rows in sorted(by_key.items()):
        # most_common keeps first-seen order among equal counts: the earliest date's
        ((reason, n),) = Counter(r.reason for r in rows).most_common(1)
        stamps = [r.updated_at for r in rows if r.updated_at is not None]
        out.append(
            KeySummary(
                key, len(rows), rows[0].date, rows[-1].date, min(stamps, default=None), reason, n
            )
        )
    return out


def _remember(store: Store, key: str, day: date, release: Release) -> None:
    """Add ``release`` to the date's entry, conditionally on the entry as read."""
    name = released_name(key, day)
    entry: dict[str, str | int] = {"at": iso_utc(release.at), "retry_count": release.retry_count}
    if release.reason is not None:
        entry["reason"] = release.reason
    for _ in range(WRITE_ATTEMPTS):
        kept = store.get_meta(name)
        releases = [*(json.loads(kept) if kept else []), entry]
        if store.replace_meta(name, kept, json.dumps(releases, ensure_ascii=False)):
            return
    raise RuntimeError(f"{name}: could not keep the release, written {WRITE_ATTEMPTS} times over")


def earlier_releases(store: Store) -> dict[tuple[str, date], list[Release]]:
    """Every date's releases by hand, oldest first, by (key, date): one prefix read."""
    out: dict[tuple[str, date], list[Release]] = defaultdict(list)
    for name, value in store.meta_entries(RELEASED):
        key, _, day = name.removeprefix(RELEASED).rpartition("#")
        for entry in json.loads(value):
            out[(key, date.fromisoformat(day))].append(
                Release(parse_iso(entry["at"]), int(entry["retry_count"]), entry.get("reason"))
            )
    return dict(out)
