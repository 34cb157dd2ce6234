"""The re-downloads of dates stored OK without some figures (``lacking``): their note.

A date whose OK record lacks figures the source's answer did not carry
(:data:`~fuelpipe.domain.models.LACKING_ATTR`) is re-downloaded with the retry policy's backoff
(the one PENDING dates use), at most ``max_retries`` times, and then given up: listed for a
person (``fuelpipe quarantine list``), the record staying OK with its value. Each key keeps its
dates in one meta entry ``lacking#<key>`` (:func:`lacking_name`), one line a date::

    2021-05-20 volume 2 2021-05-20T23:00:00+00:00
    2021-05-21 adj_close,volume 5 2021-05-22T07:00:00+00:00 given-up

the date, the figures lacked, the re-downloads sent, when the next is due (and ``given-up``
once they are spent). Pure: the stages read and write the text (conditionally), this module
parses it, merges what an answer showed, and says which dates are due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.domain.retry import Decision, RetryPolicy

LACKING = "lacking#"
"""The meta family of the notes (:func:`lacking_name`)."""
GIVEN_UP = "given-up"


def lacking_name(key: str) -> str:
    """The meta entry that notes ``key``'s dates lacking figures."""
    return f"{LACKING}{key}"


def key_of(name: str) -> str:
    """The key a note's name is for (:func:`lacking_name`'s inverse)."""
    if not name.startswith(LACKING):
        raise ValueError(f"{name!r} is not a {LACKING} note's name")
    return name[len(LACKING) :]


@dataclass(frozen=True, slots=True)
class Lacking:
    """One date's re-downloads: the figures lacked, how many were sent, when the next is due."""

    figures: str
    """The figures' names, sorted and comma-joined (``adj_close,volume``)."""
    attempts: int
    next_at: datetime
    given_up: bool = False


Note = dict[date, Lacking]


def parse_note(text: str | None) -> Note:
    """A note's dates; an empty or missing note has none. ValueError naming the line for
    text that is not a note."""
    note: Note = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            day, figures, attempts, next_at, *flag = parts
            if flag not in ([], [GIVEN_UP]) or int(attempts) < 0:
                raise ValueError(line)
            note[date.fromisoformat(day)] = Lacking(
                figures, int(attempts), parse_iso(next_at), bool(flag)
            )
        except ValueError:
            raise ValueError(
                f"lacking note line {number} {line!r} is not 'DATE FIGURES ATTEMPTS NEXT "
                f"[{GIVEN_UP}]'"
            ) from None
    return note


def note_text(note: Note) -> str:
    """The note's text, its dates in order (empty: no date lacks anything)."""
    return "\n".join(
        f"{day.isoformat()} {n.figures} {n.attempts} {iso_utc(n.next_at)}"
        + (f" {GIVEN_UP}" if n.given_up else "")
        for day, n in sorted(note.items())
    )


def noted(
    note: Note,
    lacking: Mapping[date, str],
    complete: Iterable[date],
    now: datetime,
    policy: RetryPolicy,
) -> Note:
    """``note`` after an answer: the dates of ``lacking`` (date -> figures still lacked) added,
    first re-download due after the policy's first wait, or kept with their re-downloads
    counted so far (the figures now lacked); the dates answered ``complete`` dropped."""
    out = dict(note)
    for day in complete:
        out.pop(day, None)
    for day, figures in lacking.items():
        kept = out.get(day)
        if kept is None:
            out[day] = Lacking(figures, 0, policy.first_attempt_due(now))
        elif kept.figures != figures:
            out[day] = replace(kept, figures=figures)
    return out


def due(note: Note, now: datetime, policy: RetryPolicy) -> tuple[list[date], list[date]]:
    """The dates to re-download now, and those whose re-downloads are spent (to give up), in
    date order. A given-up date is neither; a next attempt set by a clock ahead is due now
    (:meth:`RetryPolicy.set_ahead`)."""
    retry: list[date] = []
    spent: list[date] = []
    for day, n in sorted(note.items()):
        if n.given_up:
            continue
        decision = policy.decide(n.attempts, n.next_at, now, now)
        if decision is Decision.RETRY:
            retry.append(day)
        elif decision is Decision.QUARANTINE:
            spent.append(day)
    return retry, spent


def claimed(note: Note, days: Iterable[date], now: datetime, policy: RetryPolicy) -> Note:
    """``note`` with one more re-download of each of ``days`` sent at ``now``."""
    out = dict(note)
    for day in days:
        count, next_at = policy.after_retry(out[day].attempts, now)
        out[day] = replace(out[day], attempts=count, next_at=next_at)
    return out


def given_up(note: Note, days: Iterable[date]) -> Note:
    """``note`` with ``days`` given up (their re-downloads spent)."""
    out = dict(note)
    for day in days:
        out[day] = replace(out[day], given_up=True)
    return out


def released(note: Note, days: Iterable[date], now: datetime) -> Note:
    """``note`` with ``days`` given a fresh budget by a person: no re-download counted, due now."""
    out = dict(note)
    for day in days:
        out[day] = replace(out[day], attempts=0, next_at=now, given_up=False)
    return out


def given_up_text(figures: str, attempts: int) -> str:
    """How a given-up date is listed: ``OK, lacking volume after 5 re-downloads``."""
    return f"OK, lacking {figures.replace(',', ', ')} after {attempts} re-downloads"
