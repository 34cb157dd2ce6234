"""Completeness per key: expected, present, missing, pending and quarantined dates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime

from fuelpipe.domain.catalog import Series
from fuelpipe.domain.completeness import completeness
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.scrape import owed_splits, owed_text
from fuelpipe.stages.set_aside import set_aside_counts


@dataclass(frozen=True)
class KeyStatus:
    """One row of `fuelpipe status`."""

    key: str
    expected: int
    present: int
    """Expected dates stored OK (of ``expected``): the health view's ``present``, one meaning
    for both; values on days the calendar skips are in ``unexpected``, not here."""
    missing: int
    pending: int
    quarantined: int
    first: str | None
    """The first stored value (OK record); PENDING and QUARANTINED dates are counted apart."""
    last: str | None
    unexpected: int = 0
    """Values published on a day the calendar does not expect: stored, marked, counted."""
    revised: int = 0
    """Values the source revised after they were stored (kept with their history); an
    adjustment (only derived attributes re-based, as Yahoo's adj_close) is not counted."""
    absent: int = 0
    """Expected dates the source says it has no value for (ABSENT, not retried)."""
    published_at: str | None = None
    """When the newest stored value was published (from the source's schedule)."""
    stored_at: str | None = None
    """When the newest stored value was stored."""
    age: int | None = None
    """Seconds since the newest stored value was published: how old the freshest data is."""
    after_clock: int = 0
    """Values stored for dates after what is published at the clock (a clock set before the
    data, --now): not counted in the other columns, which stop at the clock, but the first of
    them starts the count when nothing earlier is stored (then nothing is expected yet)."""
    split_owed: str | None = None
    """Stock splits whose whole-history re-read failed (``2022-04-25=2:1``): stored values
    before them may be on the old basis until the key's next message re-reads them."""
    set_aside: int = 0
    """Values the source published for the key that were set aside where no record keeps
    them (a date stored already: :mod:`fuelpipe.stages.set_aside`), counted from their names
    (their values are not read)."""

    def as_dict(self) -> dict[str, object]:
        """The JSON object of `status --json`."""
        return asdict(self)


def key_status(
    app: StageContext, series: Series, since: date | None = None, now: datetime | None = None
) -> KeyStatus:
    """Status of one key, from its first stored date (or ``since``) to what is published at
    ``now`` (the app's clock unless given)."""
    now = now or app.clock.now()
    # A value dated after what the clock has seen published is counted apart (after_clock):
    # present, first and last stop at the clock, as expected does, which starts at the first
    # stored date even when that is after the clock (then nothing is expected yet).
    c = completeness(series, app.store.present(series.key), now, since)
    published_at = stored_at = None
    age = None
    if c.last is not None:
        newest = c.last
        published = series.schedule.published_at(newest)
        published_at = published.astimezone(UTC).isoformat()
        age = max(0, int((now - published).total_seconds()))
        rows = app.store.query(series.key, newest, newest, fields=("updated_at",))
        if rows and rows[0].updated_at is not None:
            stored_at = rows[0].updated_at.astimezone(UTC).isoformat()
    return KeyStatus(
        key=series.key,
        expected=c.expected,
        present=c.ok_expected,
        missing=c.missing,
        pending=c.pending,
        quarantined=c.quarantined,
        first=c.first.isoformat() if c.first else None,
        last=c.last.isoformat() if c.last else None,
        unexpected=c.unexpected,
        revised=c.revised,
        absent=c.absent,
        published_at=published_at,
        stored_at=stored_at,
        age=age,
        after_clock=c.after_clock,
        split_owed=owed_text(owed_splits(app.store, series)) or None,
    )


def status(
    app: StageContext,
    series: Sequence[Series] | None = None,
    since: date | None = None,
    *,
    stored_only: bool = False,
    now_of: Mapping[str, datetime] | None = None,
    set_aside: Mapping[str, int] | None = None,
) -> list[KeyStatus]:
    """Status of every key (or the chosen ones); ``stored_only`` skips keys with no record;
    ``now_of`` gives some keys their own clock (a demo store's series, filled at different
    instants because its bundled files end in different years); ``set_aside``: each key's
    values set aside (:func:`set_aside_counts`), read here when not given (the CLI reads them
    once for the rows and the total below the table).

    A key with a record is listed even when ``since`` leaves every record out (after its
    last stored date): its expected dates since then are what is asked about."""
    clocks = now_of or {}
    chosen = list(series if series is not None else app.catalog)
    if stored_only:
        held = app.store.stored_keys([s.key for s in chosen])
        chosen = [s for s in chosen if s.key in held]
    rows = [key_status(app, s, since, clocks.get(s.key)) for s in chosen]
    # One read of their names for every key, not a COUNT a key (440 Queries on DynamoDB).
    if set_aside is None:
        set_aside = set_aside_counts(app.store) if rows else {}
    return [replace(r, set_aside=set_aside[r.key]) if r.key in set_aside else r for r in rows]
