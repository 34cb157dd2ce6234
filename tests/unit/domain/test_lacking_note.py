"""The ``lacking#<key>`` note: dates stored OK without some figures, their re-downloads counted
with the retry policy's backoff, given up when spent, released by a person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.domain import lacking as notes
from fuelpipe.domain.lacking import Lacking
from fuelpipe.domain.retry import RetryPolicy

POLICY = RetryPolicy(max_retries=5, base_delay=timedelta(hours=1), factor=2.0)
NOW = datetime(2021, 5, 24, 15, 0, tzinfo=UTC)
MAY20, MAY21 = date(2021, 5, 20), date(2021, 5, 21)


def test_a_date_is_noted_due_after_the_first_wait_and_given_up_after_the_last() -> None:
    note = notes.noted({}, {MAY20: "volume"}, [], NOW, POLICY)
    assert note == {MAY20: Lacking("volume", 0, NOW + timedelta(hours=1))}
    assert notes.due(note, NOW, POLICY) == ([], [])  # waiting out the first backoff
    now, waits = NOW, []
    for attempt in range(1, 6):
        now = note[MAY20].next_at
        assert notes.due(note, now - timedelta(seconds=1), POLICY) == ([], [])
        assert notes.due(note, now, POLICY) == ([MAY20], [])
        note = notes.claimed(note, [MAY20], now, POLICY)
        assert note[MAY20].attempts == attempt
        waits.append(note[MAY20].next_at - now)
    assert waits == [POLICY.delay(n) for n in range(1, 6)]  # 2 h, 4 h, 8 h, 16 h, 32 h
    assert notes.due(note, note[MAY20].next_at, POLICY) == ([], [MAY20])  # spent: give it up
    note = notes.given_up(note, [MAY20])
    assert notes.due(note, note[MAY20].next_at + timedelta(days=30), POLICY) == ([], [])
    assert notes.given_up_text(note[MAY20].figures, note[MAY20].attempts) == (
        "OK, lacking volume after 5 re-downloads"
    )
    back = notes.released(note, [MAY20], NOW)
    assert back[MAY20] == Lacking("volume", 0, NOW)
    assert notes.due(back, NOW, POLICY) == ([MAY20], [])


def test_an_answer_keeps_the_counts_updates_the_figures_and_drops_complete_dates() -> None:
    note = notes.claimed(
        notes.noted({}, {MAY20: "volume", MAY21: "volume"}, [], NOW, POLICY), [MAY20], NOW, POLICY
    )
    later = NOW + timedelta(hours=3)
    after = notes.noted(note, {MAY20: "adj_close,volume"}, [MAY21], later, POLICY)
    assert after == {MAY20: Lacking("adj_close,volume", 1, note[MAY20].next_at)}
    assert notes.noted(after, {}, [MAY20], later, POLICY) == {}


def test_a_clock_ahead_set_next_attempt_is_due_now() -> None:
    ahead = {MAY20: Lacking("volume", 1, NOW + timedelta(days=400))}  # `--now` in 2022
    assert notes.due(ahead, NOW, POLICY) == ([MAY20], [])


@pytest.mark.parametrize(
    "text",
    [
        "2021-05-20 volume",
        "2021-05-20 volume x 2021-05-21T00:00:00+00:00",
        "2021-05-20 volume -1 2021-05-21T00:00:00+00:00",
        "2021-05-20 volume 1 2021-05-21T00:00:00+00:00 maybe",
        "20-05-2021 volume 1 2021-05-21T00:00:00+00:00",
    ],
)
def test_text_that_is_no_note_is_refused_naming_the_line(text: str) -> None:
    with pytest.raises(ValueError, match=r"lacking note line 2 .* is not 'DATE FIGURES"):
        notes.parse_note(f"2021-05-21 volume 0 2021-05-21T00:00:00+00:00\n{text}")


def test_names() -> None:
    assert notes.lacking_name("STOCK#PETR4") == "lacking#STOCK#PETR4"
    assert notes.key_of(notes.lacking_name("STOCK#PETR4")) == "STOCK#PETR4"
    with pytest.raises(ValueError, match="not a lacking# note"):
        notes.key_of("gap_sent#STOCK#PETR4")
    assert notes.parse_note(None) == notes.parse_note("") == {}


_FIGURES = st.lists(
    st.sampled_from(["open", "high", "low", "adj_close", "volume"]), min_size=1, unique=True
).map(lambda names: ",".join(sorted(names)))
_NOTES = st.dictionaries(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    st.builds(
        Lacking,
        _FIGURES,
        st.integers(min_value=0, max_value=9),
        st.datetimes(
            min_value=datetime(1990, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)
        ),
        st.booleans(),
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(_NOTES, st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2031, 1, 1)))
def test_a_note_reads_back_as_written_and_its_due_dates_are_never_given_up_ones(note, at) -> None:
    assert notes.parse_note(notes.note_text(note)) == note
    now = at.replace(tzinfo=UTC)
    retry, spent = notes.due(note, now, POLICY)
    assert not set(retry) & set(spent)
    assert all(not note[d].given_up for d in retry + spent)
    assert all(note[d].attempts < POLICY.max_retries for d in retry)
    assert all(note[d].attempts >= POLICY.max_retries for d in spent)
    after = notes.claimed(note, retry, now, POLICY)
    assert notes.due(after, now, POLICY)[0] == []  # a claimed date is not due again at once
    assert {d: n.attempts for d, n in after.items()} == {
        d: n.attempts + (d in retry) for d, n in note.items()
    }
