"""The health view's dead-letter alerts whose date is stored since: marked, at bounded reads.

A dead-letter alert stays active until the dead-letter rule's next run (hourly on AWS); the
health view checks the date each one waits on (``waits_on``, one point read) and says when it
is stored since. The view must not read more as the alerts grow: at most
``DEAD_LETTERS_CHECKED`` point reads a request, the others shown as they fired.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.health import DEAD_LETTERS_CHECKED, active_alerts
from fuelpipe.domain.alerts import ActiveAlert, Condition, Severity
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import AlertDelivery
from fuelpipe.ports.store import Store

NOW = datetime(2022, 5, 4, 16, 30, tzinfo=UTC)
USD = "CURRENCY#USD"


class Alerts:
    """An alert reader holding ``alerts`` (the dashboard reads no more than this)."""

    def __init__(self, alerts: list[ActiveAlert]) -> None:
        self._alerts = {a.condition.id: a for a in alerts}

    def load(self) -> dict[str, ActiveAlert]:
        return dict(self._alerts)

    def delivery(self) -> AlertDelivery:
        return AlertDelivery()


class CountingQueries:
    """The store under test, counting its queries."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.queries = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.queries += 1
        return self.inner.query(*args, **kwargs)


def _waiting(n: int, day: date) -> ActiveAlert:
    condition = Condition(
        "dead_lettered",
        f"m{n:03d}",
        f"message m{n:03d} dead-lettered: HTTP 503",
        {"waits_on": f"{USD} {day.isoformat()}", "dlq_count": 60},
        Severity.CRITICAL,
    )
    return ActiveAlert(condition, NOW + timedelta(seconds=n))


def test_at_most_the_checked_number_of_dead_letter_alerts_cost_a_read(tmp_path: Path) -> None:
    days = [date(2022, 1, 3) + timedelta(days=i) for i in range(DEAD_LETTERS_CHECKED + 10)]
    with SqliteStore(tmp_path / "s.sqlite", ManualClock(NOW)) as sqlite:
        sqlite.put_records([Record(USD, d, Decimal("5.1"), Status.OK) for d in days])
        store = CountingQueries(sqlite)
        shown = active_alerts(Alerts([_waiting(n, d) for n, d in enumerate(days)]), store)  # type: ignore[arg-type]
    assert shown is not None and len(shown) == len(days)
    marked = [a for a in shown if "is stored since" in a.summary]
    assert len(marked) == DEAD_LETTERS_CHECKED == store.queries
    assert [a.subject for a in marked] == [f"m{n:03d}" for n in range(DEAD_LETTERS_CHECKED)]
    assert all(
        a.summary == f"message {a.subject} dead-lettered: HTTP 503"
        for a in shown[DEAD_LETTERS_CHECKED:]
    )
