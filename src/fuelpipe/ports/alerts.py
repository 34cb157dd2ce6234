"""Alert ports: pluggable rules, where alerts go (sinks), and where the alert state is kept.

A rule is any object with a ``name`` and an ``evaluate(context)`` returning the conditions
that hold now (:class:`fuelpipe.domain.alerts.Condition`, with evidence). Other features add
rules of their own (the outlook does) by passing them to :func:`fuelpipe.stages.alerting.evaluate`
next to :func:`fuelpipe.stages.alerting.default_rules`. A rule may also have a
``cleared(condition, context)`` returning evidence of what cleared one of its conditions, read
when it clears (:meth:`fuelpipe.stages.alerting.StaleSource.cleared`): the CLEARED alert's
evidence, the condition's own kept as what it was.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from fuelpipe.domain.alerts import ActiveAlert, Alert, Condition
from fuelpipe.domain.catalog import Catalog
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store


@dataclass(frozen=True)
class AlertContext:
    """What a rule may look at: the clock's instant, the store, the queue and the catalog (the
    series alerts are about: `watch --series` passes its selection), and the active alerts
    as this evaluation loaded them (``evaluate`` fills ``active``): a rule whose reads are
    dear may answer from its own stored conditions while what they came from has not changed
    (the dead-letter rule, while the DLQ's count stays the same). ``whole``: the whole catalog
    when ``catalog`` is a selection of it (`watch --series`), None when it is whole: what the
    dead-letter rule asks whether a key a dead letter names is still a series."""

    now: datetime
    store: Store
    queue: Queue
    catalog: Catalog
    active: Mapping[str, ActiveAlert] = field(default_factory=dict)
    whole: Catalog | None = None

    @property
    def known(self) -> Catalog:
        """Every series the pipeline fetches: ``whole``, or ``catalog`` when that is whole."""
        return self.catalog if self.whole is None else self.whole


class AlertRule(Protocol):
    """One kind of condition worth telling a person about."""

    @property
    def name(self) -> str:
        """Stable rule name; part of every condition id it produces."""
        ...

    def evaluate(self, context: AlertContext) -> Sequence[Condition]:
        """Every condition of this kind that holds now (empty when all is well)."""
        ...


class AlertSink(abc.ABC):
    """Where alert messages go: console, webhook, SNS."""

    name: str = "sink"

    @abc.abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver one alert or raise; the state is saved only after every sink accepted it."""


class AlertRejected(Exception):
    """The sink refused this one alert for good (a webhook's 400, 413 or 422 for its body):
    sending it again would be refused again. ``deliver`` goes on with the alerts behind it and
    sets it aside with a line once the sink takes one of them (a sink rejecting every alert is
    refusing them all, not this one: all are kept); any other error is an outage, which keeps
    them all queued."""


class AlertStateChanged(RuntimeError):
    """Another evaluation saved the active set after this one loaded it: nothing was saved
    or queued; load and evaluate again (the other one may have queued the same alerts)."""


@dataclass(frozen=True)
class SinkBacklog:
    """Alerts queued for one sink and not taken by it yet."""

    sink: str
    waiting: int
    oldest: datetime
    """When the oldest of them was queued."""
    failing_since: datetime | None
    """When a send of the oldest of them first failed (the sink's outage, carried on to the
    next in line when one is dropped); None: none failed yet (nothing tried them)."""


@dataclass(frozen=True)
class DroppedAlerts:
    """One drop of alerts a sink never took (rejected for good, past the retention, for a
    sink no longer configured, cut to keep the state under its size bound), kept for a person
    to read afterwards: the same line :class:`DeliveryReport` gave at the time."""

    at: datetime
    sink: str
    count: int
    line: str


DROPS_KEPT = 20
"""Drops an alert state keeps the lines of, the newest: older ones were in `watch`'s output or
the Lambda's log."""


@dataclass(frozen=True)
class AlertDelivery:
    """What waits to be sent, by sink, and the latest drops (newest first)."""

    backlog: list[SinkBacklog] = field(default_factory=list)
    dropped: list[DroppedAlerts] = field(default_factory=list)


class AlertReader(Protocol):
    """Reads the active alerts and the delivery backlog only (the dashboard): an
    :class:`AlertState` is one."""

    def load(self) -> dict[str, ActiveAlert]:
        """Every active (fired, not cleared) alert by condition id."""
        ...

    def delivery(self) -> AlertDelivery:
        """The alerts still queued, by sink, and the latest :data:`DROPS_KEPT` drops."""
        ...


class AlertState(abc.ABC):
    """The active alerts, kept between evaluations so each condition alerts once."""

    @abc.abstractmethod
    def load(self) -> dict[str, ActiveAlert]:
        """Every active (fired, not cleared) alert by condition id."""

    @abc.abstractmethod
    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        """Replace the stored active set with ``active`` (and keep what ``outbox`` queued),
        only if it is still the one the last ``load`` read: else AlertStateChanged."""

    @abc.abstractmethod
    def outbox(self, sinks: Iterable[str]) -> AlertSink:
        """A sink that queues an evaluation's alerts for the named sinks; ``save`` keeps them
        with the active set, all or nothing, for ``deliver``."""

    @abc.abstractmethod
    def delivery(self) -> AlertDelivery:
        """The alerts still queued, by sink, and the latest :data:`DROPS_KEPT` drops."""

    @abc.abstractmethod
    def deliver(self, sinks: Sequence[AlertSink]) -> DeliveryReport:
        """Send what the outbox holds to each sink, each alert once even with several
        deliverers at work; a failed sink keeps its alerts for the next call. Alerts a sink
        does not take (it keeps failing, or it is no longer among ``sinks``) are dropped after
        a retention, one it rejects for good (:class:`AlertRejected`) at once, and never
        without a line in ``notices``."""


@dataclass
class DeliveryReport:
    """What one :meth:`AlertState.deliver` call did."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)
    """One line per sink that failed (the error's own words); its alerts stay queued."""
    orphaned: dict[str, int] = field(default_factory=dict)
    """Alerts still queued for sinks no longer configured, by sink name."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Alerts dropped, by sink: past the retention (a sink no longer configured, or one that
    kept failing), cut by a save to keep the state under a size bound (DynamoDB's item), or
    rejected by the sink for good (:class:`AlertRejected`)."""
    notices: list[str] = field(default_factory=list)
    """One line per sink in ``orphaned`` and per drop, saying how many, why and (for a drop)
    when they were queued."""
    held: int = 0
    """Alerts skipped because another deliverer's claim holds them (one killed mid-send
    leaves its claim until the lease runs out), or holds an earlier alert about the same
    condition (sent after it, in order); each stays queued."""
    held_until: datetime | None = None
    """When the claims on ``held`` have run out at the latest (None: none held): a deliverer
    that calls again then sends what a dead one left."""
