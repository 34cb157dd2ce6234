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


def _late(severity: Severity, n: int = 1) -> Condition:
    return Condition("stale_source", "bcb", f"bcb is late: {n} series", {"n": n}, severity)


def test_a_severity_rise_is_announced_once_with_the_previous_severity() -> None:
    first = transition({}, [_late(Severity.WARNING)], T0)
    later = T0 + timedelta(hours=1)
    (rise,) = transition(first.active, [_late(Severity.CRITICAL, 2)], later).alerts
    assert (rise.kind, rise.previous, rise.condition.severity) == (
        AlertKind.ESCALATED,
        Severity.WARNING,
        Severity.CRITICAL,
    )
    assert (rise.at, rise.since) == (later, T0)
    assert rise.subject_line() == (
        "[fuelpipe ESCALATED] stale_source: critical (was warning): bcb is late: 2 series"
    )
    body = rise.as_dict()
    assert (body["kind"], body["severity"], body["previous_severity"]) == (
        "ESCALATED",
        "critical",
        "warning",
    )
    escalated = transition(first.active, [_late(Severity.CRITICAL, 2)], later)
    stored = escalated.active["stale_source:bcb"]
    assert stored == ActiveAlert(_late(Severity.CRITICAL, 2), T0)
    again = transition(escalated.active, [_late(Severity.CRITICAL, 3)], later + timedelta(hours=1))
    assert again.alerts == []


def test_a_severity_fall_is_stored_but_not_announced_nor_a_rise_back_to_what_was_announced() -> (
    None
):
    critical = transition({}, [_late(Severity.CRITICAL)], T0).active
    fell = transition(critical, [_late(Severity.WARNING)], T0 + timedelta(hours=1))
    assert fell.alerts == []
    stored = fell.active["stale_source:bcb"]
    assert stored.condition.severity is Severity.WARNING  # what holds now, for the views
    assert stored.announced_severity is Severity.CRITICAL and stored.since == T0
    back = transition(fell.active, [_late(Severity.CRITICAL)], T0 + timedelta(hours=2))
    assert back.alerts == []  # critical was announced already
    assert back.active["stale_source:bcb"] == ActiveAlert(_late(Severity.CRITICAL), T0)


def test_a_rise_from_info_past_warning_is_announced_each_step_and_cleared_once() -> None:
    active = transition({}, [_late(Severity.INFO)], T0).active
    kinds = []
    for hours, severity in enumerate((Severity.WARNING, Severity.WARNING, Severity.CRITICAL), 1):
        step = transition(active, [_late(severity)], T0 + timedelta(hours=hours))
        kinds += [(a.kind, a.previous) for a in step.alerts]
        active = step.active
    assert kinds == [
        (AlertKind.ESCALATED, Severity.INFO),
        (AlertKind.ESCALATED, Severity.WARNING),
    ]
    (cleared,) = transition(active, [], T0 + timedelta(hours=9)).alerts
    assert (cleared.kind, cleared.since, cleared.previous) == (AlertKind.CLEARED, T0, None)


def test_a_rules_overflow_escalates_when_a_more_severe_condition_joins_the_rest() -> None:
    def found(critical: bool) -> list[Condition]:
        out = [Condition("mixed", f"s{i:02d}", f"condition {i}", {}) for i in range(5)]
        if critical:
            out.append(Condition("mixed", "s99", "bad", {}, Severity.CRITICAL))
        return out

    first = transition({}, capped("mixed", found(False), 3), T0)
    active = first.active
    worse = capped("mixed", found(True), 3, active)
    (rise,) = transition(active, worse, T0 + timedelta(hours=1)).alerts
    assert (rise.kind, rise.condition.subject) == (AlertKind.ESCALATED, OVERFLOW_SUBJECT)
    assert (rise.previous, rise.condition.severity) == (Severity.WARNING, Severity.CRITICAL)


def test_no_rule_this_release_evaluates_is_listed_as_retired() -> None:
    """A name both evaluated and retired makes every evaluation refuse to run (ValueError),
    in `watch` and in both Lambdas: the release's two lists must never overlap."""
    from fuelpipe.domain.alerts import retire
    from fuelpipe.stages.alert_rules import RETIRED_RULES, alert_rules

    live = [r.name for r in alert_rules()]
    assert set(live) == {
        "stale_source",
        "quarantined",
        "dead_lettered",
        "outlook_move",
        "outlook_miss",
    }
    assert retire({}, RETIRED_RULES, live).unknown == {}
