"""The DynamoDB alert item across releases, on dynalite: what this release saves, releases
before dea0b23 read (they run beside it during a deploy and again after a rollback), with the
frozen copy of their reader (tests/fixtures/frozen_alert_state_before_dea0b23.py); and what
they save, this release reads. docs/DEPLOY.md, "Alert state across releases"."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from devtools.aws.servers import LocalServer
from tests.fixtures.frozen_alert_state_before_dea0b23 import (
    FrozenActiveAlert,
    frozen_load,
    frozen_save,
)
from tests.support.aws_backends import unique_name

from fuelpipe.adapters.alerts import LEGACY_ACTIVE_BUDGET, DynamoAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.dynamodb_store import create_table
from fuelpipe.domain.alerts import ActiveAlert, Alert, AlertKind, Condition, Severity

pytestmark = pytest.mark.aws
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def dynalite(dynalite_server: LocalServer) -> tuple[Any, str]:
    """A client on dynalite and a fresh single table."""
    client = dynalite_server.client("dynamodb")
    table = unique_name("releases")
    create_table(client, table, delay_s=0.05)
    return client, table


def _frozen(alerts: dict[str, ActiveAlert]) -> dict[str, FrozenActiveAlert]:
    """``alerts`` as the frozen reader should find them."""
    return {
        cid: FrozenActiveAlert(
            a.condition.rule,
            a.condition.subject,
            a.condition.summary,
            dict(a.condition.evidence),
            a.condition.severity.value,
            a.since,
        )
        for cid, a in alerts.items()
    }


def _evaluate(state: DynamoAlertState, found: list[Condition], at: datetime) -> None:
    """What an evaluation does: load, queue a FIRING alert per new condition, save."""
    active = state.load()
    outbox = state.outbox(["sns"])
    for c in found:
        if c.id not in active:
            outbox.send(Alert(AlertKind.FIRING, c, at, at))
            active[c.id] = ActiveAlert(c, at)
    state.save(active)


def _quarantined(i: int) -> Condition:
    return Condition(
        "quarantined",
        f"FUEL#DIESEL_S10#S{i}",
        f"FUEL#DIESEL_S10#S{i}: 3 date(s) quarantined (anp: HTTP 503 from the survey)",
        {"count": 3, "first": "2026-11-02", "last": "2026-11-16", "reason": "HTTP 503 " * 8},
    )


def test_a_release_before_dea0b23_reads_the_active_set_this_release_saves(
    dynalite: tuple[Any, str],
) -> None:
    """The reviewer's case: f10d4ec's reader met an item this release saved (``active_z`` and
    the outbox, no ``active``) and failed with KeyError 'active', so an old retry_recheck or
    outlook evaluated no alert at all, mid-deploy or after a rollback."""
    client, table = dynalite
    state = DynamoAlertState(client, table, clock=ManualClock(NOW))
    stale = Condition("stale_source", "bcb", "BCB is late", {"due": "2026-12-04T09:00:00-03:00"})
    dead = Condition("dead_lettered", "msg-1", "msg-1 dead-lettered", {}, Severity.CRITICAL)
    _evaluate(state, [stale, dead, _quarantined(1)], NOW)
    # an escalation stores the severity announced before too (a field the old reader ignores)
    active = state.load()
    louder = Condition(stale.rule, stale.subject, stale.summary, {}, Severity.CRITICAL)
    active[stale.id] = ActiveAlert(louder, NOW, Severity.WARNING)
    state.outbox(["sns"]).send(Alert(AlertKind.ESCALATED, louder, NOW, NOW, Severity.WARNING))
    state.save(active)

    assert frozen_load(client, table) == _frozen(state.load())
    assert frozen_load(client, table)[stale.id].severity == "critical"


def test_this_release_reads_and_saves_over_what_a_release_before_dea0b23_saved(
    dynalite: tuple[Any, str],
) -> None:
    """The other way: an old release saves the whole item its way (the outbox and version
    gone); this release reads that set, saves over it, and the old one reads it again."""
    client, table = dynalite
    clock = ManualClock(NOW)
    state = DynamoAlertState(client, table, clock=clock)
    _evaluate(state, [_quarantined(1)], NOW)
    old = frozen_load(client, table)
    stale = Condition("stale_source", "bcb", "BCB is late", {})
    old[stale.id] = FrozenActiveAlert(stale.rule, stale.subject, stale.summary, {}, "warning", NOW)
    frozen_save(client, table, old)  # the old retry_recheck, mid-deploy

    assert _frozen(state.load()) == old
    later = NOW + timedelta(hours=1)
    _evaluate(state, [_quarantined(1), stale, _quarantined(2)], later)
    assert sorted(frozen_load(client, table)) == sorted([*old, _quarantined(2).id])
    assert frozen_load(client, table)[_quarantined(2).id].since == later


def test_a_sink_down_for_days_does_not_take_the_old_releases_copy(
    dynalite: tuple[Any, str],
) -> None:
    """The plain copy comes before the outbox's older alerts: a topic down long enough to fill
    the item's budget has its oldest alerts cut, and the old release still reads the set."""
    client, table = dynalite
    clock = ManualClock(NOW)
    state = DynamoAlertState(client, table, clock=clock, item_budget=40_000)
    found = [_quarantined(i) for i in range(20)]
    _evaluate(state, found, NOW)
    rng = random.Random(5)
    for n in range(8):  # dead letters that fired and cleared, never delivered: ~15 KB a save
        clock.advance(timedelta(minutes=5))
        active = state.load()
        outbox = state.outbox(["sns"])
        for i in range(50):
            c = Condition("dead_lettered", f"m{n}-{i}", "dead", {"body": rng.randbytes(150).hex()})
            outbox.send(Alert(AlertKind.FIRING, c, clock.now(), clock.now()))
            outbox.send(Alert(AlertKind.CLEARED, c, clock.now(), clock.now()))
        state.save(active)
        item = client.get_item(TableName=table, Key=DynamoAlertState.KEY)["Item"]
        assert sum(len(k) + len(next(iter(v.values()))) for k, v in item.items()) <= 40_000
        assert frozen_load(client, table) == _frozen(state.load())
    assert "outbox_cuts" in item  # the outbox reached the budget: its oldest were cut
    assert len(frozen_load(client, table)) == 20


def test_an_active_set_past_the_copys_budget_is_saved_without_it_with_a_line(
    dynalite: tuple[Any, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The documented limit: a set whose text passes LEGACY_ACTIVE_BUDGET is saved compressed
    only (this release reads it; an old one cannot, as before), with a warning; once the set
    is back under it, the copy is back."""
    client, table = dynalite
    state = DynamoAlertState(client, table, clock=ManualClock(NOW))
    many = [_quarantined(i) for i in range(400)]
    with caplog.at_level(logging.WARNING, logger="fuelpipe.adapters.alerts"):
        _evaluate(state, many, NOW)
    item = client.get_item(TableName=table, Key=DynamoAlertState.KEY)["Item"]
    assert "active" not in item and len(state.load()) == 400
    assert f"past the {LEGACY_ACTIVE_BUDGET // 1000} KB its plain copy may take" in caplog.text
    with pytest.raises(KeyError, match="active"):
        frozen_load(client, table)

    state.load()
    state.save({c.id: ActiveAlert(c, NOW) for c in many[:10]})  # most cleared
    assert frozen_load(client, table) == _frozen(state.load())
