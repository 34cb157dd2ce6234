"""The orchestrator's ``gap_sent#`` notes stay bounded (stages/orchestrate.py claim_gaps):
gaps scattered over a long history are noted as one run, not one each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.orchestrate import NOTE_MAX_CHARS, gap_sent_name, orchestrate


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
