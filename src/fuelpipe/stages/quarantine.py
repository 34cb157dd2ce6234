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
one prefix read: the entries grow with a person's releases, not with the data), and
``--history`` each date released before, whatever it is now (:func:`release_histories`).

After a long source outage a failed backfill leaves ~100,000 quarantined dates: they are
picked by key and date range (:func:`select`), summed up per key (:func:`summarize`), and
settled many at once (:func:`settle_all`): 100 dates a :meth:`Store.settle_many` call (on
DynamoDB a few batched requests for them all, not ~6 a date), each release written together
with its ``released#`` entry, the data version moved once for them all, not once a date.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Literal

from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Journal, Settled, Store
from fuelpipe.stages.data_version import mark_changed

RELEASED = "released#"
"""The meta family of the releases kept (:func:`released_name`)."""
SETTLE_PAGE = 100
"""Dates settled a :meth:`Store.settle_many` call by :func:`settle_all` (DynamoDB's
BatchGetItem takes 100 keys): the progress bar moves, and an interruption stops, a page at a
time."""


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
    if not _settle_many(store, verb, [(key, day)], now):
        return False
    mark_changed(store, now, f"{verb} {key} {day}")
    return True


def settle_all(
    store: Store,
    verb: Literal["release", "accept"],
    records: Sequence[Record],
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    page_size: int = SETTLE_PAGE,
) -> int:
    """:func:`settle` each of ``records`` (read from :meth:`Store.quarantined`, then
    :func:`select`-ed), ``page_size`` a :meth:`Store.settle_many` call, the data version
    moved once when any was settled; how many were. One no longer quarantined (released,
    accepted or stored since it was read) is left as it is. ``progress(done, total)`` after
    each page. Stopped part-way (Ctrl+C, a store error), those settled stay settled and the
    data version still moves for them before the error goes on: the health view counts them."""
    settled = 0
    try:
        for start in range(0, len(records), page_size):
            page = records[start : start + page_size]
            settled += len(_settle_many(store, verb, [(r.key, r.date) for r in page], now))
            if progress is not None:
                progress(start + len(page), len(records))
    finally:
        if settled:
            mark_changed(store, now, f"{verb} {settled} quarantined date(s)")
    return settled


def _settle_many(
    store: Store,
    verb: Literal["release", "accept"],
    slots: Sequence[tuple[str, date]],
    now: datetime,
) -> list[Settled]:
    """:meth:`Store.settle_many` without the data version's move; a release kept in its
    ``released#`` entry (:func:`released_name`) in the same step as the record's change."""
    kept = Journal(released_name, partial(_add_release, at=now)) if verb == "release" else None
    return store.settle_many(verb, slots, now, kept)


def _add_release(kept: str | None, was: Settled, at: datetime) -> str:
    """The ``released#`` entry's value ``kept`` (None: none yet) with the release of ``was``
    at ``at`` added last."""
    entry: dict[str, str | int] = {"at": iso_utc(at), "retry_count": was.retry_count}
    if was.reason is not None:
        entry["reason"] = was.reason
    return json.dumps([*(json.loads(kept) if kept else []), entry], ensure_ascii=False)


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


def key_summaries(store: Store, keys: Collection[str] | None = None) -> list[KeySummary]:
    """:func:`summarize` of every QUARANTINED record of ``keys`` (None: every key), from
    :meth:`Store.status_summaries`: on DynamoDB the status index's slim entries (key, date,
    reason, stamp), never the records whole as :meth:`Store.quarantined` reads them; on
    SQLite two GROUP BY queries. The same summaries (of equal reasons, the earliest date's)."""
    out = []
    for s in store.status_summaries(Status.QUARANTINED):
        if keys is None or s.key in keys:
            reason, n = max(s.reasons.items(), key=lambda kv: kv[1])  # the first of equals
            out.append(KeySummary(s.key, s.count, s.first, s.last, s.earliest, reason, n))
    return out


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


@dataclass(frozen=True, slots=True)
class ReleaseHistory:
    """A date released by hand at least once, as it is now (``quarantine list --history``)."""

    key: str
    date: date
    record: Record | None
    """Its record now (PENDING again, quarantined again, stored, accepted); None: gone."""
    releases: list[Release]
    """Its releases, oldest first."""


def release_histories(
    store: Store,
    keys: Collection[str] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[ReleaseHistory]:
    """Every date of ``keys`` (None: every key) from ``first`` through ``last`` (None:
    unbounded) that was released by hand, whatever it is now, by key and date: one prefix
    read of the ``released#`` entries (:func:`earlier_releases`), then one Query of each
    key's records between its first and last date released. A released record's reason
    says it was released only until its next failure's error replaces it: this is where its
    releases stay visible."""
    picked: dict[str, list[date]] = defaultdict(list)
    released = earlier_releases(store)
    for key, day in sorted(released):
        if (
            (keys is None or key in keys)
            and (first is None or day >= first)
            and (last is None or day <= last)
        ):
            picked[key].append(day)
    out = []
    for key, dates in picked.items():
        now = {r.date: r for r in store.query(key, dates[0], dates[-1])}
        out += [ReleaseHistory(key, d, now.get(d), released[(key, d)]) for d in dates]
    return out
