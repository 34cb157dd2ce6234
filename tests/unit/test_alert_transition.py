"""A condition that still holds stays quiet but is stored as found now: its ``since`` is the
instant it fired, its summary and evidence are the current ones (a quarantine alert that fired
for 3 dates shows 412 once the series has 412), so views of the active set show current
evidence and the CLEARED alert says what held last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fuelpipe.domain.alerts import (
    OVERFLOW_SUBJECT,
    ActiveAlert,
    AlertKind,
    Condition,
    Severity,
    capped,
    transition,
)

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
KEY = "FUEL#DIESEL_S10#SP"


def _quarantined(n: int) -> Condition:
    return Condition(
        "quarantined", KEY, f"{KEY}: {n} dates quarantined", {"series": KEY, "dates": n}
    )


def test_a_holding_condition_keeps_its_since_stays_quiet_and_stores_its_current_evidence() -> None:
    first = transition({}, [_quarantined(3)], T0)
    assert [a.kind for a in first.alerts] == [AlertKind.FIRING]
    later = T0 + timedelta(days=2)
    grown = transition(first.active, [_quarantined(412)], later)
    assert grown.alerts == []  # not announced again
    stored = grown.active[f"quarantined:{KEY}"]
    assert stored == ActiveAlert(_quarantined(412), T0)
    assert stored.condition.evidence["dates"] == 412 and stored.since == T0
    (cleared,) = transition(grown.active, [], later + timedelta(hours=1)).alerts
    assert cleared.kind is AlertKind.CLEARED and cleared.since == T0
    assert "412 dates" in cleared.headline()  # what held last, not what held when it fired


def test_a_rules_overflow_condition_stores_its_current_count() -> None:
    def flood(n: int) -> list[Condition]:
        found = [Condition("flood", f"s{i:05d}", f"condition {i}", {}) for i in range(n)]
        return capped("flood", found, 10)

    first = transition({}, flood(20), T0)
    assert first.active[f"flood:{OVERFLOW_SUBJECT}"].condition.evidence["more"] == 11
    later = transition(first.active, flood(500), T0 + timedelta(hours=1))
    assert later.alerts == []
    more = later.active[f"flood:{OVERFLOW_SUBJECT}"]
    assert (more.condition.evidence["more"], more.since) == (491, T0)
    assert "491 more condition(s)" in more.condition.summary


def test_a_condition_of_a_rule_that_did_not_run_keeps_what_was_stored() -> None:
    old = ActiveAlert(Condition("stale_source", "bcb", "bcb is late", {}, Severity.WARNING), T0)
    later = transition({old.condition.id: old}, [], T0 + timedelta(hours=1), evaluated_rules=[])
    assert later.alerts == [] and later.active == {old.condition.id: old}
