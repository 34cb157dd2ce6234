"""Alerts as data: a rule finds conditions, each with its evidence; one alert per condition.

Pure: no I/O, no clock reads. A rule (see :mod:`fuelpipe.ports.alerts`) looks at the pipeline
and returns the conditions that hold *now*. :func:`transition` compares them with the alert
state stored from the previous evaluation, so a condition alerts once when it starts, stays
quiet while it holds (its stored evidence kept current), alerts "escalated" when its severity
rises above the one announced, alerts "cleared" when it stops holding, and alerts again if it
returns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.numbers import positional

EvidenceValue = str | int | float | None

AlertLanguage = Literal["en", "pt-BR"]
"""The language of an alert's one-line text (the console's line, SNS's subject): English, or
Brazilian Portuguese (``FUELPIPE_ALERT_LANGUAGE``). The webhook and SNS bodies carry both."""


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
    summary_pt_br: str | None = field(default=None, compare=False)
    """The summary in Brazilian Portuguese, when the rule writes one (the built-in rules do);
    None: the English one stands for both (a rule added without it, an alert stored before)."""
    started: datetime | None = field(default=None, compare=False)
    """When the condition itself began, when the rule can tell (a source late since the end of
    its window, as the health view's late row says): the alert's ``since`` then, not the
    evaluation that first found it. None: it began when first found. Not stored: the active
    alert's ``since`` keeps it."""

    @property
    def id(self) -> str:
        """Stable identity: ``<rule>:<subject>``."""
        return f"{self.rule}:{self.subject}"


class AlertKind(StrEnum):
    """What an alert message announces."""

    FIRING = "FIRING"
    ESCALATED = "ESCALATED"
    CLEARED = "CLEARED"


@dataclass(frozen=True, slots=True)
class Alert:
    """One message to send: a condition that started (FIRING), became more severe while active
    (ESCALATED) or stopped (CLEARED)."""

    kind: AlertKind
    condition: Condition
    at: datetime
    since: datetime
    """When the condition started: its :attr:`Condition.started` when the rule tells it (a
    late source: the end of the window it missed), else when an evaluation first found it
    (then equal to ``at`` for a new one)."""
    previous: Severity | None = None
    """ESCALATED: the severity announced before (the condition's is the new one); else None."""
    key: str | None = field(default=None, compare=False)
    """This alert's own identity for a receiver to drop a copy by (the webhook's
    ``Idempotency-Key``), given when it is queued and kept with it, so every send of it
    carries the same one; None: not queued (the webhook then derives one from the alert)."""
    cleared_evidence: Mapping[str, EvidenceValue] = field(default_factory=dict)
    """CLEARED: what its rule tells of what cleared it, as it is now (a late source: the
    series it named first and that series' newest date stored OK, ``latest_stored``); empty
    when the rule tells nothing. The condition's ``evidence`` stays what it held with at the
    last evaluation that found it (the "was:" part)."""

    def evidence(self) -> dict[str, EvidenceValue]:
        """What this message's evidence says: the condition's for a FIRING or ESCALATED one;
        for a CLEARED one, what cleared it: ``cleared_at`` (this alert's instant) and its
        :attr:`cleared_evidence`, never the evidence it held with (:meth:`was_evidence`),
        whose ``now`` and ``latest_stored`` are of the last evaluation that found it."""
        if self.kind is not AlertKind.CLEARED:
            return dict(self.condition.evidence)
        return {"cleared_at": sao_paulo_iso(self.at), **self.cleared_evidence}

    def was_evidence(self) -> dict[str, EvidenceValue] | None:
        """A CLEARED alert's condition's evidence as it last held; None for the other kinds
        (their :meth:`evidence` is it)."""
        return dict(self.condition.evidence) if self.kind is AlertKind.CLEARED else None

    def headline(self, language: AlertLanguage = "en") -> str:
        """What happened: a firing condition's summary; an escalated one's new and previous
        severity, then its summary; for a cleared one, what cleared, when, and since when it
        had held (its summary said what was wrong, not that it is over). In ``language``:
        "pt-BR" for Brazilian Portuguese (the condition's ``summary_pt_br``, or its English
        summary when the rule wrote none)."""
        since = sao_paulo_iso(self.since, "minutes")
        at = sao_paulo_iso(self.at, "minutes")
        if language == "pt-BR":
            summary = self.condition.summary_pt_br or self.condition.summary
            if self.kind is AlertKind.FIRING:
                return summary
            if self.kind is AlertKind.ESCALATED:
                was = SEVERITY_PT_BR[self.previous] if self.previous else "?"
                return f"{SEVERITY_PT_BR[self.condition.severity]} (era {was}): {summary}"
            return (
                f"{self.condition.subject} normalizado em {at}, após valer desde {since} "
                f"(era: {summary})"
            )
        if self.kind is AlertKind.FIRING:
            return self.condition.summary
        if self.kind is AlertKind.ESCALATED:
            was = self.previous.value if self.previous else "?"
            return f"{self.condition.severity.value} (was {was}): {self.condition.summary}"
        return (
            f"{self.condition.subject} cleared at {at}, after holding since "
            f"{since} (was: {self.condition.summary})"
        )

    def subject_line(self, language: AlertLanguage = "en") -> str:
        """A short line for an e-mail subject or a console: ``[fuelpipe <KIND>] <rule>: `` and
        the :meth:`headline` in ``language`` (the kind and the rule stay as they are in every
        language, so a mail filter on them keeps working)."""
        return f"[fuelpipe {self.kind.value}] {self.condition.rule}: {self.headline(language)}"

    def as_dict(self) -> dict[str, object]:
        """The JSON body of a webhook or SNS message: strict JSON, so an evidence number that
        is not finite (NaN, an infinity: JSON has no form for them) is null. The webhook's
        encoder refuses one (the alert would hold its sink's outbox up as an outage) and a
        strict parser refuses the ``NaN`` an SNS message would carry.

        ``summary`` is what this message says: the condition's summary, except that a CLEARED
        one's is its :meth:`headline` (what cleared, when, since when it held, what it was),
        so a receiver showing ``kind`` and ``summary`` never reads "CLEARED bcb is late";
        ``condition_summary`` is the condition's own, in every kind. ``summary_pt_br`` and
        ``condition_summary_pt_br`` are the same two in Brazilian Portuguese (the English
        text when the rule wrote none), whatever the alert language setting.

        ``evidence`` is likewise what this message says (:meth:`evidence`): a CLEARED one's is
        what cleared it (``cleared_at``, and what its rule tells: a late source's newest stored
        date, a quarantined series' count and its dates' status now, the DLQ's depth now), so
        a receiver never reads the firing's ``latest_stored`` and ``now`` as the state at the
        clear; ``was_evidence`` is the evidence it held with (null for the other
        kinds)."""
        cleared = self.kind is AlertKind.CLEARED
        pt = self.condition.summary_pt_br or self.condition.summary
        return {
            "kind": self.kind.value,
            "id": self.condition.id,
            "rule": self.condition.rule,
            "subject": self.condition.subject,
            "summary": self.headline() if cleared else self.condition.summary,
            "condition_summary": self.condition.summary,
            "summary_pt_br": self.headline("pt-BR") if cleared else pt,
            "condition_summary_pt_br": pt,
            "severity": self.condition.severity.value,
            "previous_severity": self.previous.value if self.previous else None,
            "evidence": _all_finite(self.evidence()),
            "was_evidence": None if (was := self.was_evidence()) is None else _all_finite(was),
            "at": sao_paulo_iso(self.at),
            "since": sao_paulo_iso(self.since),
        }


def strict_json(value: object, *, indent: int | None = None, ensure_ascii: bool = True) -> str:
    """``value`` (dicts, lists, text, numbers, booleans, None) as the JSON of an alert's
    webhook body or SNS message, laid out as ``json.dumps`` would, but every float in
    positional notation as the store and the CSVs write numbers (``1.2e-05`` as
    ``0.000012``, ``1e+16`` as ``10000000000000000``), and one JSON has no form for (NaN, an
    infinity) as null."""
    return _encode(value, indent, 0, ensure_ascii)


def _encode(value: object, indent: int | None, level: int, ascii_: bool) -> str:
    if isinstance(value, float):
        return positional(value) if math.isfinite(value) else "null"
    if isinstance(value, Mapping):
        brackets = "{}"
        items = [
            f"{json.dumps(str(k), ensure_ascii=ascii_)}: {_encode(v, indent, level + 1, ascii_)}"
            for k, v in value.items()
        ]
    elif isinstance(value, list | tuple):
        brackets = "[]"
        items = [_encode(v, indent, level + 1, ascii_) for v in value]
    else:
        return json.dumps(value, ensure_ascii=ascii_)  # text, int, bool, None
    if not items or indent is None:
        return brackets[0] + ", ".join(items) + brackets[1]
    inner, outer = "\n" + " " * (indent * (level + 1)), "\n" + " " * (indent * level)
    return brackets[0] + inner + ("," + inner).join(items) + outer + brackets[1]


def _finite(value: EvidenceValue) -> EvidenceValue:
    """``value``, or None for a float JSON cannot hold (NaN, an infinity)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _all_finite(evidence: Mapping[str, EvidenceValue]) -> dict[str, EvidenceValue]:
    """``evidence`` with each float JSON cannot hold as None (:func:`_finite`)."""
    return {k: _finite(v) for k, v in evidence.items()}


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """A condition that has alerted and not cleared yet: the stored alert state."""

    condition: Condition
    since: datetime
    announced: Severity | None = None
    """The highest severity announced for it (FIRING or ESCALATED) when the condition's own
    differs: it fell since, or its rise is still to be announced; None: the condition's own."""

    @property
    def announced_severity(self) -> Severity:
        """The highest severity announced for it while active."""
        return self.announced or self.condition.severity


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

    A new condition's ``since`` is its ``started`` (the real start, when the rule tells it;
    never after ``now``), else ``now``. A condition that still holds keeps its ``since`` (or
    the earlier ``started`` it now tells: an alert stored before its rule told one takes the
    real start) and fires no new alert, but is stored as found now (its summary, evidence and
    severity): a quarantine alert that fired for 3 dates shows 412 once the series has 412, a
    rule's "+more" condition its current count.

    Severity: one that rises above the most severe announced for the alert is announced
    (ESCALATED, with the previous one); a fall is stored but not announced (it must not page),
    and a rise back to a severity already announced is not announced again.

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
        prior = active.get(cid)
        started = now if cond.started is None else min(cond.started, now)
        if prior is None:
            new_active[cid] = ActiveAlert(cond, started)
            alerts.append(Alert(AlertKind.FIRING, cond, now, started))
            continue
        # a rule that tells no start leaves the stored one as it is (a clock set back too)
        since = prior.since if cond.started is None else min(prior.since, started)
        announced = prior.announced_severity
        if _RANK[cond.severity] > _RANK[announced]:
            alerts.append(Alert(AlertKind.ESCALATED, cond, now, since, announced))
            announced = cond.severity
        # quiet unless escalated, but with the current evidence
        new_active[cid] = ActiveAlert(
            cond, since, None if announced is cond.severity else announced
        )
    for cid, prior in active.items():
        if cid in holding:
            continue
        if ran is not None and prior.condition.rule not in ran:
            new_active[cid] = prior
            continue
        alerts.append(Alert(AlertKind.CLEARED, prior.condition, now, prior.since))
    return Transition(alerts, new_active)


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

SEVERITY_PT_BR = {
    Severity.INFO: "informativo",
    Severity.WARNING: "aviso",
    Severity.CRITICAL: "crítico",
}
"""Each severity's word in Brazilian Portuguese, as an escalated alert's pt-BR text says it."""


@dataclass(frozen=True, slots=True)
class Retired:
    """What :func:`retire` made of a stored active set."""

    active: dict[str, ActiveAlert]
    """The set with a renamed rule's alerts under its new name (their ``since`` and announced
    severity kept); a removed rule's as they were."""
    removed: frozenset[str]
    """Removed rules with alerts in the set: :func:`transition` clears them as it clears those
    of a rule that ran and no longer finds them (pass them among ``evaluated_rules``), their
    CLEARED alerts saying why (:func:`removed_rule`)."""
    unknown: dict[str, int]
    """Rules neither evaluated nor retired, with their alerts (kept as they are), by name."""


def retire(
    active: Mapping[str, ActiveAlert],
    retired: Mapping[str, str | None],
    live: Collection[str],
) -> Retired:
    """Carry the stored alerts of rules a release no longer has over to it.

    ``retired`` maps each rule name no longer in use to the rule it was renamed to, or to None
    for one removed; ``live`` names the rules this release evaluates. A renamed rule's alerts
    move to the new name quietly (an alert the new rule found already stands: the old one
    goes), so the rename neither clears nor fires them again. A removed rule's alerts are
    cleared (no rule would ever find them again, nor clear them: they would stay active
    forever), with ``retired_rule`` in their CLEARED alert's evidence saying why
    (:func:`removed_rule`). Alerts of a rule in neither
    (one a newer release added, running beside this one during a deploy) are kept untouched."""
    wrong = sorted(
        name for name, to in retired.items() if name in live or (to is not None and to not in live)
    )
    if wrong:
        raise ValueError(
            "retired alert rules must not be evaluated, and must be renamed to one that is: "
            + ", ".join(wrong)
        )
    kept: dict[str, ActiveAlert] = {}
    moved: dict[str, ActiveAlert] = {}
    removed: set[str] = set()
    unknown: dict[str, int] = {}
    for cid, alert in active.items():
        rule = alert.condition.rule
        if rule in live:
            kept[cid] = alert
        elif rule not in retired:
            kept[cid] = alert
            unknown[rule] = unknown.get(rule, 0) + 1
        elif (to := retired[rule]) is not None:
            cond = replace(alert.condition, rule=to)
            moved.setdefault(cond.id, replace(alert, condition=cond))
        else:
            removed.add(rule)
            kept[cid] = alert
    for cid, alert in moved.items():
        kept.setdefault(cid, alert)
    return Retired(kept, frozenset(removed), dict(sorted(unknown.items())))


def removed_rule(rule: str) -> dict[str, EvidenceValue]:
    """What cleared an alert of a rule a release removed (:func:`retire`): its CLEARED
    alert's :attr:`Alert.cleared_evidence`."""
    return {"retired_rule": f"rule {rule} was removed: no longer evaluated"}


OVERFLOW_SUBJECT = "+more"
"""The subject of the one condition that stands for a rule's conditions past its cap."""


def severity_rank(severity: Severity) -> int:
    """INFO 0, WARNING 1, CRITICAL 2: the more urgent, the higher."""
    return _RANK[severity]


def capped(
    rule: str, conditions: Iterable[Condition], limit: int, active: Collection[str] = ()
) -> list[Condition]:
    """At most ``limit`` conditions of one rule (``limit`` at least 2): past it, ``limit - 1``
    listed and one condition (subject :data:`OVERFLOW_SUBJECT`) standing for the rest, as
    severe as the most severe of them.

    ``active``: the ids of the stored active alerts. The listed ones are the active ones first
    (an alert already announced stays listed while it holds: folding it into the rest would
    announce it CLEARED), then the most severe, then by id (so the same ones stay listed from
    one evaluation to the next). While the rule's overflow condition is active, only active
    conditions are listed: one past the cap that was folded into it is not announced as new
    when a listed one stops holding (it fired as part of the overflow). Active conditions past
    ``limit - 1`` (stored before the cap, or a cap lowered) are kept as well, after the listed,
    so they neither clear while they hold nor fire again; the overflow stands for the others.

    Every active condition is stored, and the store is bounded (DynamoDB keeps the active set
    in one item of at most 400 KB): a rule that finds thousands (a dead-letter queue filling
    up) must not grow it without end. The overflow condition fires once when the rule first
    passes its cap and clears when it is back under it; conditions past the cap do not alert
    one by one meanwhile. It started when the earliest of those it stands for did, when they
    tell (:attr:`Condition.started`)."""
    if limit < 2:
        raise ValueError(f"a rule's cap must be at least 2 (got {limit})")
    unique: dict[str, Condition] = {}
    for cond in conditions:
        unique.setdefault(cond.id, cond)
    if len(unique) <= limit:
        return list(unique.values())
    held = frozenset(active)
    order = sorted(unique.values(), key=lambda c: (c.id not in held, -_RANK[c.severity], c.id))
    overflowing = f"{rule}:{OVERFLOW_SUBJECT}" in held
    kept = [c for c in order[: limit - 1] if not overflowing or c.id in held]
    listed = {c.id for c in kept}
    still = [c for c in order if c.id in held and c.id not in listed]
    rest = [c for c in order if c.id not in held and c.id not in listed]
    if not rest:
        return [*kept, *still]
    worst = max((c.severity for c in rest), key=severity_rank)
    starts = [c.started for c in rest if c.started is not None]
    overflow = Condition(
        rule=rule,
        subject=OVERFLOW_SUBJECT,
        summary=(
            f"{rule}: {len(rest)} more condition(s) hold, not alerted one by one "
            f"(past {limit - 1}); the first: {rest[0].summary}"
        ),
        summary_pt_br=(
            f"{rule}: mais {len(rest)} condição(ões) valem, sem alerta uma a uma "
            f"(além de {limit - 1}); a primeira: {rest[0].summary_pt_br or rest[0].summary}"
        ),
        evidence={
            "more": len(rest),
            "listed": len(kept) + len(still),
            "first": rest[0].subject,
            "last": rest[-1].subject,
        },
        severity=worst,
        started=min(starts) if starts else None,
    )
    return [*kept, *still, overflow]
