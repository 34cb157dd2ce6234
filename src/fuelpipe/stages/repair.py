"""repair: find records in states no correct run can produce, and remove them on request.

Only PENDING and QUARANTINED records are ever candidates (read from the pending index, not a
scan); a stored value (OK) is never removed. The states found:

- dated after the real clock: a retry for a day that has not happened (a ``--now`` typo);
- for a key the catalog does not know;
- dated before its series starts;
- on a date the series' calendar never expects (a weekend, a holiday, a non-Sunday week).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.models import Record
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import mark_changed


@dataclass(frozen=True)
class Impossible:
    """One record that no correct run can leave, and why."""

    record: Record
    why: str


def find_impossible(context: StageContext, real_now: datetime) -> list[Impossible]:
    """Every PENDING/QUARANTINED record in an impossible state, by key and date.

    ``real_now`` is the machine's clock (not the business clock a ``--now`` set).
    """
    today = real_now.astimezone(SAO_PAULO).date()
    found: list[Impossible] = []
    for record in [*context.store.pending(), *context.store.quarantined()]:
        why = _why(context, record, today)
        if why:
            found.append(Impossible(record, why))
    return sorted(found, key=lambda i: (i.record.key, i.record.date))


def _why(context: StageContext, record: Record, today: date) -> str | None:
    if record.date > today:
        return f"dated after today ({today}) on the machine's clock"
    if record.key not in context.catalog:
        return "its key is not in the series catalog"
    series = context.catalog[record.key]
    if record.date < series.default_start:
        return f"before the series starts ({series.default_start})"
    if not get_calendar(series.calendar).is_expected(record.date):
        return f"not a date the {series.calendar} calendar expects"
    return None


def remove(context: StageContext, found: list[Impossible]) -> int:
    """Delete the records found (only while they are still PENDING or QUARANTINED).

    Removing any moves the data version (the health view counts them, and the stored views are
    keyed by the version); removing none, as on a second ``--apply``, leaves it alone.
    """
    removed = sum(context.store.delete_not_ok(i.record.key, i.record.date) for i in found)
    if removed:
        mark_changed(context.store, context.clock.now(), "repair")
    return removed
