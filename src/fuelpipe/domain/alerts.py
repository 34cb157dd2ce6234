"""Alerts as data: a rule finds conditions, each with its evidence; one alert per condition.

Pure: no I/O, no clock reads. A rule (see :mod:`fuelpipe.ports.alerts`) looks at the pipeline
and returns the conditions that hold *now*. :func:`transition` compares them with the alert
state stored from the previous evaluation, so a condition alerts once when it starts, stays
quiet while it holds, alerts "cleared" when it stops holding, and alerts again if it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from fuelpipe.domain.instants import sao_paulo_iso

EvidenceValue = str | int | float | None


class Severity(StrEnum):
    """How urgently a person should look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Condition:
    """Something wrong that holds now, found by one rule, with the evidence for it.

    ``subject`` names what it is about (a source, ``KEY@DATE``, a message id); together with
    the rule's name it identifies the condition across evaluations, so it must be stable.
    ``evidence`` carries the series, values and times a person needs to act on it.
    """

    rule: str
    subject: str
    summary: str
    evidence: Mapping[str, EvidenceValue] = field(default_factory=dict)
    severity: Severity = Severity.WARNING

    @property
    def id(self) -> str:
        """Stable identity: ``<rule>:<subject>``."""
        return f"{self.rule}:{self.subject}"


class AlertKind(StrEnum):
    """What an alert message announces."""

    FIRING = "FIRING"
    CLEARED = "CLEARED"


@dataclass(frozen=True, slots=True)
class Alert:
    """One message to send: a condition that started (FIRING) or stopped (CLEARED)."""

    kind: AlertKind
    condition: Condition
    at: datetime
    since: datetime
    """When the condition was first seen (equal to ``at`` for a new one)."""

    def headline(self) -> str:
        """What happened: a firing condition's summary; for a cleared one, what cleared and
        since when it had held (its summary said what was wrong, not that it is over)."""
        if self.kind is AlertKind.FIRING:
            return self.condition.summary
        return (
            f"{self.condition.subject} cleared, after holding since "
            f"{sao_paulo_iso(self.since, 'minutes')} (was: {self.condition.summary})"
        )

    def subject_line(self) -> str:
        """A short line for an e-mail subject or a console."""
        return f"[fuelpipe {self.kind.value}] {self.condition.rule}: {self.headline()}"

    def as_dict(self) -> dict[str, object]:
        """The JSON body of a webhook or SNS message."""
        return {
            "kind": self.kind.value,
            "id": self.condition.id,
            "rule": self.condition.rule,
            "subject": self.condition.subject,
            "summary": self.condition.summary,
            "severity": self.condition.severity.value,
            "evidence": dict(self.condition.evidence),
            "at": self.at.isoformat(),
            "since": self.since.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """A condition that has alerted and not cleared yet: the stored alert state."""

    condition: Condition
    since: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """What one evaluation changes: alerts to send and the new stored state."""

    alerts: list[Alert]
    active: dict[str, ActiveAlert]


def transition(
    active: Mapping[str, ActiveAlert],
    current: Iterable[Condition],
    now: datetime,
    *,
    evaluated_rules: Iterable[str] | None = None,
) -> Transition:
    """Fire conditions that are new, clear stored ones that no longer hold, keep the rest quiet.

    ``evaluated_rules`` limits clearing to conditions of the rules that ran (a rule that raised
    or was not configured must not clear its conditions by accident); None means every rule ran.
    """
    ran = None if evaluated_rules is None else set(evaluated_rules)
    holding: dict[str, Condition] = {}
    for cond in current:
        holding.setdefault(cond.id, cond)
    alerts: list[Alert] = []
    new_active: dict[str, ActiveAlert] = {}
    for cid, cond in holding.items():
        if cid in active:
            new_active[cid] = active[cid]
        else:
            new_active[cid] = ActiveAlert(cond, now)
            alerts.append(Alert(AlertKind.FIRING, cond, now, now))
    for cid, prior in active.items():
        if cid in holding:
            continue
        if ran is not None and prior.condition.rule not in ran:
            new_active[cid] = prior
            continue
        alerts.append(Alert(AlertKind.CLEARED, prior.condition, now, prior.since))
    return Transition(alerts, new_active)
