"""The orchestrator's ``gap_sent#`` notes stay bounded (stages/orchestrate.py claim_gaps):
gaps scattered over a long history are noted as one run, not one each; a run past holding is
dropped at the key's next write; a run reads the notes of its keys with one read, and only
when one of them has gaps."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.planning import parse_sent_runs
from fuelpipe.ports.store import Store
from fuelpipe.stages.orchestrate import NOTE_MAX_CHARS, gap_sent_name, orchestrate

EUR = DEFAULT_CATALOG["CURRENCY#EUR"]


def test_scattered_gaps_are_noted_as_one_run_past_the_notes_bound(make_app, table_source, usd):
    """Every other PTAX day of ten years stored: ~1,250 gaps, each a run of its own (~70,000
    characters noted; DynamoDB's 400 KB item, refused, at about sixty years), so the note
    holds one run from the first to the last, and the next scan, the queue still holding
    their messages, sends none of them again."""
    app = make_app(table_source())
    app = replace(app, gap_sent_hold_s=30.0)
    days = list(expected_between(get_calendar(usd.calendar), date(2012, 1, 2), date(2021, 12, 31)))
    app.store.put_records([Record(usd.key, d, Decimal("5.0"), Status.OK) for d in days[::2]])
    first = orchestrate(app, series=[usd], since=date(2012, 1, 2))
    assert first.gaps_found > 1_200 and first.messages_sent > 1_200
    note = app.store.get_meta(gap_sent_name(usd.key))
    assert note is not None and note.count("=") == 1 and len(note) <= NOTE_MAX_CHARS

    app.clock.advance(timedelta(hours=1))  # past the hold: the queue holds their messages
    again = orchestrate(app, series=[usd], since=date(2012, 1, 2))
    assert (again.messages_sent, again.gaps_held) == (0, again.gaps_found)


class _NoteReads:
    """A store noting each read of ``gap_sent#`` notes: (call, prefix or name)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.reads: list[tuple[str, str]] = []

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        self.reads += [("meta_entries", prefix)] if prefix.startswith("gap_sent#") else []
        return self.inner.meta_entries(prefix)

    def get_meta(self, name: str) -> str | None:
        self.reads += [("get_meta", name)] if name.startswith("gap_sent#") else []
        return self.inner.get_meta(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_run_reads_its_keys_notes_once_and_only_when_one_has_gaps(make_app, table_source, usd):
    """Two keys with gaps: one read of the notes starting with their keys' common start
    (before: a read of each key's note); a poll of USD alone reads USD's; a run whose keys
    have no gaps reads none."""
    app = make_app(table_source())
    reads = _NoteReads(app.store)
    app = replace(app, gap_sent_hold_s=30.0, store=cast(Store, reads))
    first = orchestrate(app, series=[usd, EUR], since=date(2022, 3, 1))
    assert first.gaps_found > 0 and first.messages_sent == 2
    assert reads.reads == [("meta_entries", "gap_sent#CURRENCY#")]
    assert {usd.key, EUR.key} == {
        n.removeprefix("gap_sent#") for n, _ in app.store.meta_entries("gap_sent#")
    }

    reads.reads.clear()
    app.clock.advance(timedelta(minutes=1))
    poll = orchestrate(app, series=[usd], since=date(2022, 3, 1))
    assert (poll.messages_sent, poll.gaps_held) == (0, poll.gaps_found)
    assert reads.reads == [("meta_entries", "gap_sent#CURRENCY#USD")]

    days = list(expected_between(get_calendar(usd.calendar), date(2022, 3, 1), date(2022, 3, 31)))
    app.store.put_records(
        [Record(s.key, d, Decimal("5.0"), Status.OK) for s in (usd, EUR) for d in days]
    )
    reads.reads.clear()
    app.clock.advance(timedelta(minutes=1))
    none = orchestrate(app, series=[usd, EUR], since=date(2022, 3, 1))
    assert (none.gaps_found, none.messages_sent) == (0, 0)
    assert reads.reads == []


def test_a_run_past_holding_is_dropped_when_the_key_is_noted_again(make_app, table_source, usd):
    """USD's backfill message lost and the queue empty past the hold: the next run sends its
    dates again and its note holds only that send (the first send's run is dropped, not kept
    beside it)."""
    app = replace(make_app(table_source()), gap_sent_hold_s=30.0)
    first = orchestrate(app, series=[usd], since=date(2022, 3, 1))
    assert first.messages_sent == 1
    app.queue.delete([m.receipt for m in app.queue.receive()])  # lost: nothing stored
    app.clock.advance(timedelta(hours=1))
    again = orchestrate(app, series=[usd], since=date(2022, 3, 1))
    assert (again.messages_sent, again.gaps_held) == (1, 0)
    runs = parse_sent_runs(app.store.get_meta(gap_sent_name(usd.key)))
    assert runs and {at for _, _, at in runs} == {app.clock.now()}


def test_the_note_of_a_key_the_catalog_dropped_is_deleted_by_a_scan_of_the_whole_catalog(
    make_app, table_source, usd
):
    """A release dropped EUR: its ``gap_sent#`` note was never written again and stayed for
    good. A scan of the whole catalog now deletes it (one names read, then the note's own
    read and conditional delete); a scan of some series leaves it, as does the note of a key
    still in the catalog."""
    app = replace(make_app(table_source()), gap_sent_hold_s=30.0, catalog=Catalog([usd]))
    eur = gap_sent_name(EUR.key)
    app.store.put_meta(eur, "2022-03-01..2022-03-04=2022-05-01T12:00:00+00:00")
    first = orchestrate(app, series=[usd], since=date(2022, 3, 1))
    assert first.messages_sent == 1
    assert app.store.get_meta(eur) is not None  # not a scan of the whole catalog
    whole = orchestrate(app, since=date(2022, 3, 1))
    assert whole.gaps_held == whole.gaps_found > 0
    assert app.store.get_meta(eur) is None
    assert app.store.get_meta(gap_sent_name(usd.key)) is not None


def test_the_empty_note_of_a_key_the_catalog_dropped_is_deleted_too(make_app, table_source, usd):
    """A failed send leaves a key's note empty (``release_claims``); a release then dropped
    EUR, so no run writes its note again. Such a note was kept for good (nothing to match it
    by); a scan of the whole catalog now deletes it too, only while it is still empty."""
    app = replace(make_app(table_source()), gap_sent_hold_s=30.0, catalog=Catalog([usd]))
    eur = gap_sent_name(EUR.key)
    app.store.put_meta(eur, "")
    whole = orchestrate(app, since=date(2022, 3, 1))
    assert whole.messages_sent == 1
    assert app.store.get_meta(eur) is None
    assert app.store.get_meta(gap_sent_name(usd.key)) is not None
