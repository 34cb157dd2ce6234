"""Dates stored OK without some figures (``lacking``): noted by the scraper, re-downloaded by
recheck with the retry policy's backoff, given up after its last re-download, released by a
person. The notes are meta entries ``lacking#<key>`` (:mod:`fuelpipe.domain.lacking`), each
written conditionally on what was read (two writers at once: the second reads again)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fuelpipe.domain.lacking import (
    LACKING,
    Lacking,
    Note,
    claimed,
    due,
    given_up,
    key_of,
    lacking_name,
    note_text,
    noted,
    parse_note,
    released,
)
from fuelpipe.domain.planning import plan_requests
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import mark_changed
from fuelpipe.stages.orphan_notes import drop_orphan_notes

logger = logging.getLogger(__name__)

WRITE_ATTEMPTS = 3
"""How often a note is read again after another writer changed it between read and write."""


def notes(store: Store, keys: Collection[str] | None = None) -> dict[str, Note]:
    """Every key's note with a date in it (``keys``: theirs only), in one prefix read: the
    notes whose names start with the keys' common start."""
    # the keys' common start, character by character ("STOCK#"), as the notes' names
    prefix = lacking_name(os.path.commonprefix(sorted(keys))) if keys else LACKING  # noqa: RUF071
    out: dict[str, Note] = {}
    for name, text in store.meta_entries(prefix):
        key = key_of(name)
        if (keys is None or key in keys) and (note := parse_note(text)):
            out[key] = note
    return out


def update(
    store: Store,
    key: str,
    change: Callable[[Note], Note],
    first: str | None,
) -> tuple[Note, Note] | None:
    """Write ``change`` of ``key``'s note, first as ``first`` (the text a prefix read gave; None:
    no note), conditionally, reading it again after another writer's change, up to
    :data:`WRITE_ATTEMPTS` times; the note before and after, or None when every attempt lost
    its race (left to the next run). Nothing is written when the change leaves it as it is."""
    name = lacking_name(key)
    before_text = first
    for _ in range(WRITE_ATTEMPTS):
        before = parse_note(before_text)
        after = change(before)
        if after == before:
            return before, after
        if store.replace_meta(name, before_text, note_text(after)):
            return before, after
        before_text = store.get_meta(name)
    logger.warning(
        "%s: its lacking note was changed by another run %d times while this one wrote it; "
        "left to the next run",
        key,
        WRITE_ATTEMPTS,
    )
    return None


def note_answer(
    app: StageContext,
    lacking: Mapping[str, Mapping[date, str]],
    answered: Callable[[str, date], bool],
    keys: Sequence[str],
    read_anyway: bool,
) -> tuple[int, int]:
    """After an answer was stored: each key's dates it carried lacking figures (``lacking``:
    key -> date -> figures) noted, and the noted dates it carried complete (``answered``: the
    date was requested and stored, or found stored as it is) dropped. Read (one prefix read of
    the keys' notes) only when the answer lacked something or ``read_anyway`` (a completion
    stored, a re-download's answer). Returns the dates newly noted and those dropped."""
    if not read_anyway and not any(lacking.values()):
        return 0, 0
    now = app.clock.now()
    prefix = lacking_name(os.path.commonprefix(list(keys)))  # noqa: RUF071
    texts = dict(app.store.meta_entries(prefix))
    added = dropped = 0
    for key in keys:
        lacks = lacking.get(key, {})
        text = texts.get(lacking_name(key))
        if not lacks and not text:
            continue

        def change(note: Note, key: str = key, lacks: Mapping[date, str] = lacks) -> Note:
            complete = [d for d in note if d not in lacks and answered(key, d)]
            return noted(note, lacks, complete, now, app.policy)

        done = update(app.store, key, change, text)
        if done is not None:
            before, after = done
            added += len(after.keys() - before.keys())
            dropped += len(before.keys() - after.keys())
    return added, dropped


@dataclass(frozen=True, slots=True)
class LackingRun:
    """What one recheck run did with the notes."""

    retried: int = 0
    """Dates re-downloaded (their attempt counted before the message was sent)."""
    given_up: int = 0
    """Dates whose re-downloads were spent: given up, listed for a person."""
    lost_race: int = 0
    """Keys whose note another run kept changing: left to the next run."""
    messages: int = 0


def recheck_lacking(
    app: StageContext,
    keys: Collection[str] | None,
    time_left: Callable[[], bool],
) -> LackingRun:
    """One read of every ``lacking#`` note; for each key (of ``keys``; None: all, each in the
    catalog) with dates due, one more re-download of each counted in its note (a conditional
    write: two runs at once never send a date twice for one attempt) and then asked for with
    one message per stream (``plan_requests``, origin ``retry``); the dates whose re-downloads
    are spent are given up in the note. Stops before a key when ``time_left`` says so. A send
    that fails gives its keys' counts back (conditionally) before its error propagates. The
    note of a key the catalog no longer has is deleted, an empty one too, logged with its
    dates (:func:`~fuelpipe.stages.orphan_notes.drop_orphan_notes`); its records keep their
    ``lacking`` mark."""
    now = app.clock.now()
    retried = spent = lost = messages = 0
    entries = app.store.meta_entries(LACKING)
    drop_orphan_notes(app.store, LACKING, app.catalog, entries)
    for name, text in entries:
        key = key_of(name)
        if not text or key not in app.catalog:
            continue
        if keys is not None and key not in keys:
            continue
        if not time_left():
            break
        picked: list[date] = []

        def change(note: Note, picked: list[date] = picked) -> Note:
            retry, gone = due(note, now, app.policy)
            picked[:] = retry
            return claimed(given_up(note, gone), retry, now, app.policy)

        done = update(app.store, key, change, text)
        if done is None:
            lost += 1
            continue
        before, after = done
        spent += sum(after[d].given_up and not before[d].given_up for d in after)
        if not picked:
            continue
        try:
            requests = plan_requests([(app.catalog[key], list(picked))], origin="retry")
            messages += app.queue.send([r.to_body() for r in requests])
        except BaseException:
            _give_back(app, key, after, before, picked)
            raise
        retried += len(picked)
    return LackingRun(retried, spent, lost, messages)


def _give_back(app: StageContext, key: str, after: Note, before: Note, days: list[date]) -> None:
    """A send that failed: the note's counts of ``days`` back to what they were, unless the
    note changed since (then the dates were asked for once too many, never too few)."""
    back = {**after, **{d: before[d] for d in days}}
    try:
        app.store.replace_meta(lacking_name(key), note_text(after), note_text(back))
    except Exception:
        logger.exception("recheck: could not give back %s's lacking re-downloads", key)


@dataclass(frozen=True, slots=True)
class GivenUp:
    """A date given up: its OK record still lacks ``figures`` after ``attempts`` re-downloads."""

    key: str
    date: date
    lacking: Lacking


def given_up_dates(store: Store, keys: Collection[str] | None = None) -> list[GivenUp]:
    """Every date given up (for a person: ``fuelpipe quarantine list``), by key and date."""
    return [
        GivenUp(key, day, n)
        for key, note in sorted(notes(store, keys).items())
        for day, n in sorted(note.items())
        if n.given_up
    ]


def release(store: Store, key: str, days: Iterable[date], now: datetime) -> list[date]:
    """Give ``days`` of ``key`` (those in its note) a fresh budget of re-downloads, due now;
    the dates released."""
    text = store.get_meta(lacking_name(key))
    wanted = set(days)
    picked: list[date] = []

    def change(note: Note) -> Note:
        picked[:] = sorted(wanted & note.keys())
        return released(note, picked, now)

    if update(store, key, change, text) is None or not picked:
        return []
    mark_changed(store, now, f"release lacking {key} {picked[0]}")  # the health view counts them
    return picked
