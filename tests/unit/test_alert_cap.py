"""A rule's conditions past its cap become one: the most severe stay listed, the same ones
from one evaluation to the next, and the one standing for the rest is as severe as they are."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fuelpipe.domain.alerts import OVERFLOW_SUBJECT, Condition, Severity, capped


def _c(i: int, severity: Severity = Severity.WARNING) -> Condition:
    return Condition("flood", f"s{i:05d}", f"condition {i}", {}, severity)


def test_under_the_cap_every_condition_stays_once() -> None:
    found = [_c(1), _c(2), _c(1)]
    assert capped("flood", found, 3) == [_c(1), _c(2)]


def test_past_the_cap_the_most_severe_stay_and_one_condition_stands_for_the_rest() -> None:
    found = [_c(i) for i in range(1_000)] + [_c(5_000, Severity.CRITICAL)]
    out = capped("flood", found, 10)
    assert len(out) == 10
    assert out[0] == _c(5_000, Severity.CRITICAL)  # a critical one is never folded first
    assert [c.subject for c in out[1:9]] == [f"s{i:05d}" for i in range(8)]
    more = out[-1]
    assert (more.id, more.severity) == (f"flood:{OVERFLOW_SUBJECT}", Severity.WARNING)
    assert more.evidence == {"more": 992, "listed": 9, "first": "s00008", "last": "s00999"}
    assert capped("flood", list(reversed(found)), 10) == out  # stable: same ids listed


def test_the_standing_condition_is_as_severe_as_the_worst_it_folds() -> None:
    found = [_c(i, Severity.CRITICAL) for i in range(5)]
    assert capped("flood", found, 3)[-1].severity is Severity.CRITICAL


def test_the_standing_condition_started_when_the_earliest_it_folds_did() -> None:
    """Dead letters past the cap: the one alert for them was dated from the evaluation
    that found them, though each tells when it was dead-lettered; now from the earliest of
    them (those listed, and those that tell none, do not move it)."""
    at = datetime(2022, 5, 4, 12, 0, tzinfo=UTC)
    found = [replace(_c(i), started=at + timedelta(hours=i)) for i in range(5)]
    more = capped("flood", [*found, _c(9)], 3)[-1]
    assert (more.subject, more.started) == (OVERFLOW_SUBJECT, at + timedelta(hours=2))
    assert capped("flood", [_c(i) for i in range(5)], 3)[-1].started is None


def test_a_cap_under_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        capped("flood", [_c(1)], 1)


def test_listed_active_conditions_stay_listed_when_one_sorting_earlier_appears() -> None:
    active = {c.id for c in capped("flood", [_c(1), _c(2), _c(3), _c(4)], 3)}
    assert active == {"flood:s00001", "flood:s00002", f"flood:{OVERFLOW_SUBJECT}"}
    out = capped("flood", [_c(0), _c(1), _c(2), _c(3), _c(4)], 3, active)
    assert [c.subject for c in out] == ["s00001", "s00002", OVERFLOW_SUBJECT]
    assert out[-1].evidence["more"] == 3  # s00000 is folded, not listed in s00002's place


def test_while_the_overflow_is_active_a_freed_slot_does_not_list_a_folded_condition() -> None:
    active = {"flood:s00001", "flood:s00002", f"flood:{OVERFLOW_SUBJECT}"}
    out = capped("flood", [_c(2), _c(3), _c(4), _c(5)], 3, active)
    assert [c.subject for c in out] == ["s00002", OVERFLOW_SUBJECT]
    assert out[-1].evidence == {"more": 3, "listed": 1, "first": "s00003", "last": "s00005"}


def test_active_conditions_past_the_cap_are_kept_and_the_overflow_stands_for_the_others() -> None:
    active = {f"flood:s{i:05d}" for i in range(350)}
    out = capped("flood", [_c(i) for i in range(350)], 300, active)
    assert {c.id for c in out} == active  # no overflow: every one was alerted one by one
    out = capped("flood", [_c(i) for i in range(352)], 300, active)
    assert {c.id for c in out[:-1]} == active
    assert out[-1].evidence == {"more": 2, "listed": 350, "first": "s00350", "last": "s00351"}
