"""Records, observations and statuses shared by every stage and adapter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from fuelpipe.domain.instants import iso_utc, parse_iso

AttrValue = Decimal | int | str | None


class Status(StrEnum):
    """The life of a record: OK with a value, PENDING a retry, or QUARANTINED for a person.

    ABSENT: the source answered for this date and says it has no value for the key (FRED's
    empty cell, an ANP workbook that has the week but no price for this area and fuel). It is
    not retried, and a later answer with a value turns it OK.
    """

    OK = "OK"
    PENDING = "PENDING"
    QUARANTINED = "QUARANTINED"
    ABSENT = "ABSENT"


@dataclass(frozen=True, slots=True)
class Observation:
    """One value a source returned for one series and date, with its side attributes."""

    key: str
    date: date
    value: Decimal
    attrs: dict[str, AttrValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Split:
    """A stock split a source reports for one series: from ``date`` (the ex-date) on, each
    old share is ``numerator / denominator`` new ones (a 2:1 split: 2 and 1; a 1:10 reverse
    split: 1 and 10). A source whose prices are split-adjusted (Yahoo's close) divides every
    price before ``date`` by that ratio, so values stored before it are on the old basis."""

    key: str
    date: date
    numerator: Decimal
    denominator: Decimal

    @property
    def ratio(self) -> Decimal:
        """New shares per old share: 2 for a 2:1 split, 0.1 for a 1:10 reverse split."""
        return self.numerator / self.denominator

    @property
    def label(self) -> str:
        """``numerator:denominator`` as a person writes it: ``2:1``, ``1:10``, ``3:2``."""
        return f"{self.numerator.normalize():f}:{self.denominator.normalize():f}"


class HistoryKind(StrEnum):
    """What an entry of a record's history says the source did."""

    REVISION = "revision"
    """The source published the value, or one of its published attributes, differently: a
    correction, counted and shown as a revision."""
    ADJUSTMENT = "adjustment"
    """Only attributes the source derives from the history changed (a series'
    ``derived_attrs``: Yahoo recomputes ``adj_close`` for every past date after a dividend or a
    split). The value stands; the previous attributes are kept, but it is no correction and is
    not counted as a revision."""
    COMPLETION = "completion"
    """A figure an earlier answer lacked (:data:`LACKING_ATTR`: Yahoo's null volume, an
    answer without its ``adjclose`` array) is now published, the value unchanged: the record
    is completed, the previous attributes kept; no correction, not counted as a revision."""


def change_kind(
    derived: frozenset[str],
    previous: tuple[Decimal, dict[str, AttrValue]],
    new: tuple[Decimal, dict[str, AttrValue]],
) -> HistoryKind:
    """Whether replacing ``previous`` (value, attrs) by ``new`` is an adjustment, a completion
    or a revision: an adjustment when the value is equal and every attribute that differs is
    ``derived`` (and the ``lacking`` mark, when only derived figures came or went); a
    completion when the value is equal and figures ``previous`` lacked are published (only
    those, derived ones and the mark differ: :func:`_completes`)."""
    (old_value, old_attrs), (new_value, new_attrs) = previous, new
    if old_value != new_value:
        return HistoryKind.REVISION
    differing = {
        k for k in old_attrs.keys() | new_attrs.keys() if old_attrs.get(k) != new_attrs.get(k)
    }
    if (
        LACKING_ATTR in differing
        and lacking_figures(old_attrs) ^ lacking_figures(new_attrs) <= derived
    ):
        differing.discard(LACKING_ATTR)  # only a derived figure came or went (adj_close)
    if differing and differing <= derived:
        return HistoryKind.ADJUSTMENT
    if _completes(derived, old_attrs, new_attrs, differing):
        return HistoryKind.COMPLETION
    return HistoryKind.REVISION


def _completes(
    derived: frozenset[str],
    old: dict[str, AttrValue],
    new: dict[str, AttrValue],
    differing: set[str],
) -> bool:
    """Whether the attributes ``differing`` from ``old`` to ``new`` are figures ``old`` lacked
    (None then, published now), its lacking mark and derived ones only, with at least one such
    figure published and nothing newly lacking."""
    was, now = lacking_figures(old), lacking_figures(new)
    published = {f for f in was - now if old.get(f) is None and new.get(f) is not None}
    return bool(published) and now <= was and differing <= published | derived | {LACKING_ATTR}


@dataclass(frozen=True, slots=True)
class Revision:
    """A stored value the source later published differently: what changed, when, and how seen.

    One entry of a record's history; ``kind`` says whether it is a correction (a revision) or
    the re-basing of derived attributes (an adjustment)."""

    previous: Decimal
    new: Decimal
    seen_at: datetime
    request: str
    """The request that returned the new value, e.g. ``revise fred:DCOILBRENTEU 2022-04-01..``."""
    previous_attrs: dict[str, AttrValue] | None = None
    """The side attributes the revision replaced, when they changed (None: they did not). A
    source may republish a value unchanged with other attributes (ANP's station count, say):
    that is a revision too, with ``previous == new``, so no published attribute is lost."""
    kind: HistoryKind = HistoryKind.REVISION
    """A revision (a correction) or an adjustment (only derived attributes were re-based)."""


CALENDAR_ATTR = "calendar"
UNEXPECTED = "unexpected"
"""``attrs[CALENDAR_ATTR] == UNEXPECTED``: published on a day the series' calendar skips."""

LACKING_ATTR = "lacking"
"""On an OK record: the figures the source's answer lacked for that date, by name, sorted and
comma-joined (``"adj_close,volume"``): Yahoo's bar with its close but a null volume, an
answer without its ``volume`` or ``adjclose`` array. The value is stored OK all the same; the
date is re-downloaded with backoff until the figures come (:mod:`fuelpipe.domain.lacking`),
and the record is then completed (:attr:`HistoryKind.COMPLETION`)."""


def lacking_text(figures: Iterable[str]) -> str | None:
    """:data:`LACKING_ATTR`'s text for ``figures`` (None when there are none)."""
    names = sorted(set(figures))
    return ",".join(names) if names else None


def lacking_figures(attrs: Mapping[str, AttrValue]) -> frozenset[str]:
    """The figures a record's attributes say its answer lacked (:data:`LACKING_ATTR`)."""
    text = attrs.get(LACKING_ATTR)
    return frozenset(text.split(",")) if isinstance(text, str) and text else frozenset()


def kept_figures(
    previous: tuple[Decimal, Mapping[str, AttrValue]],
    new: tuple[Decimal, dict[str, AttrValue]],
) -> dict[str, AttrValue]:
    """``new``'s attributes with the figures it lacks (:data:`LACKING_ATTR`) that ``previous``
    has, when the value is the same: a source publishes a figure once and answers later
    without it (Yahoo's null volume on a bar it gave whole), and a figure published is never
    dropped. The lacking mark then names only what neither has (none: no mark); a figure
    ``previous`` lacks too stays lacked. A changed value is another bar: ``new``'s
    attributes as they are (a revision, still lacking its figures)."""
    (old_value, old_attrs), (new_value, new_attrs) = previous, new
    lacked = lacking_figures(new_attrs)
    if not lacked or old_value != new_value:
        return new_attrs
    kept = {f: old_attrs[f] for f in lacked if old_attrs.get(f) is not None}
    if not kept:
        return new_attrs
    out = {**new_attrs, **kept}
    still = lacking_text(lacked - kept.keys())
    if still is None:
        del out[LACKING_ATTR]
    else:
        out[LACKING_ATTR] = still
    return out


NO_VALUE_SEEN_ATTR = "no_value_seen_at"
"""On a PENDING record: when the source last answered for the date with its own "no value"
(FRED's empty cell, ANP's '-' or a week of the workbook without the key's row: an answer that
holds the date, ``FetchResult.no_value``) while the date was still inside its publication
window, as :func:`~fuelpipe.domain.instants.iso_utc` text. The date stays PENDING (the source
may yet publish a value) but that answer stands until the series publishes again: it is not
polled before, and recheck asks once more when the window is over. A later answer replaces the
record's attributes (a failed one leaves none, so that date is polled again). An answer that
does not reach the date (not out yet) leaves no mark: the date is polled as before."""


NO_ROW_ATTR = "no_value_no_row"
"""On a PENDING record marked :data:`NO_VALUE_SEEN_ATTR`: 1 when that answer had no row at
all for the key (ANP's workbook with the week for other areas and fuels but not this one,
``FetchResult.no_row``), a row the source may add later to a file it has not finished;
absent when a row of the key's own said "no value" (ANP's '-', FRED's empty cell), and on a
record answered before the mark existed: that one stands until its window's recheck (no
migration: it ends within one window; docs/REALTIME.md says why)."""


def no_value_seen(at: datetime, *, no_row: bool = False) -> dict[str, AttrValue]:
    """The attributes of a PENDING record the source answered with "no value" at ``at``;
    ``no_row``: with no row for the key (:data:`NO_ROW_ATTR`)."""
    seen: dict[str, AttrValue] = {NO_VALUE_SEEN_ATTR: iso_utc(at)}
    if no_row:
        seen[NO_ROW_ATTR] = 1
    return seen


def no_value_seen_at(attrs: dict[str, AttrValue]) -> datetime | None:
    """When the source answered the record's date with "no value" (None: it has not)."""
    seen = attrs.get(NO_VALUE_SEEN_ATTR)
    return parse_iso(seen) if isinstance(seen, str) else None


def no_value_without_row(attrs: dict[str, AttrValue]) -> bool:
    """True when the source's "no value" answer for the record's date had no row for the key
    (:data:`NO_ROW_ATTR`), False when a row of its own said so or there was no such answer."""
    return attrs.get(NO_ROW_ATTR) == 1 and no_value_seen_at(attrs) is not None


@dataclass(frozen=True, slots=True)
class Record:
    """One stored item: partition key ``key`` (info_type), sort key ``date``."""

    key: str
    date: date
    value: Decimal | None
    status: Status
    retry_count: int = 0
    next_attempt_at: datetime | None = None
    reason: str | None = None
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    updated_at: datetime | None = None
    revisions: tuple[Revision, ...] = ()
    """The record's history: every earlier value or attribute set the source replaced, oldest
    first, revisions and adjustments alike (each entry says its ``kind``)."""

    def with_(self, **changes: object) -> Record:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PresentDate:
    """What a keys-only gap scan reads: the date and the record's status."""

    date: date
    status: Status
    revised: bool = False
    """The value was revised at least once (its history is on the record); a history of
    adjustments only is not a revision."""
