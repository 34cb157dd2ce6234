"""The quarantined alert rule sums each series' quarantined records up exactly (count, span,
most common reason, retries, latest write) from the store's per-series summaries, never
reading the records whole: a failed ANP backfill quarantines ~136,000 dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import StatusSummary
from fuelpipe.stages.alerting import Quarantined

USD = DEFAULT_CATALOG["CURRENCY#USD"]
EUR = DEFAULT_CATALOG["CURRENCY#EUR"]
NOW = datetime(2022, 5, 4, 12, 0, tzinfo=UTC)
NO_QUEUE = cast(Queue, None)  # the rule never looks at the queue


class _QuarantinedUnread(SqliteStore):
    """A store whose quarantined records must not be read whole, only summed up."""

    def quarantined(self) -> list[Record]:
        raise AssertionError("every quarantined record read whole")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[_QuarantinedUnread]:
    """USD: five dates quarantined a minute apart, two reasons tied at two each (the earlier
    date's first) and one with none; EUR: one date; a PENDING USD date, not quarantined."""
    clock = ManualClock(NOW)
    store = _QuarantinedUnread(tmp_path / "q.sqlite", clock=clock)
    spent = [("HTTP 404", 5), ("HTTP 503", 5), ("HTTP 503", 7), (None, 5), ("HTTP 404", 5)]
    for i, (reason, retries) in enumerate(spent):
        day = date(2022, 4, 20 + i)
        assert store.put_pending(
            Record(USD.key, day, None, Status.QUARANTINED, retries, None, reason)
        )
        clock.advance(timedelta(minutes=1))
    assert store.put_pending(Record(EUR.key, date(2022, 4, 1), None, Status.PENDING, 2, NOW))
    assert store.quarantine(EUR.key, date(2022, 4, 1), 2, "gone")
    assert store.put_pending(Record(USD.key, date(2022, 5, 3), None, Status.PENDING, 0, NOW))
    yield store
    store.close()


def test_one_exact_condition_per_series_from_the_summaries(store: _QuarantinedUnread) -> None:
    later = NOW + timedelta(hours=6)  # found six hours on
    conditions = Quarantined().evaluate(AlertContext(later, store, NO_QUEUE, DEFAULT_CATALOG))

    # quarantined since the first of them still quarantined was (USD's at 12:00 UTC, EUR's at
    # 12:05, its one date), not since the evaluation that found them (before, no time was
    # told, and the alert's ``since`` was 18:00)
    assert [(c.subject, c.summary, c.started) for c in conditions] == [
        (
            "CURRENCY#EUR",
            "CURRENCY#EUR: 1 date quarantined since 2022-05-04T09:05-03:00 (2022-04-01): gone",
            NOW + timedelta(minutes=5),
        ),
        (
            "CURRENCY#USD",
            "CURRENCY#USD: 5 dates quarantined since 2022-05-04T09:00-03:00 "
            "(2022-04-20 to 2022-04-24): HTTP 404",
            NOW,
        ),
    ]
    assert conditions[1].summary_pt_br == (
        "CURRENCY#USD: 5 datas em quarentena desde 2022-05-04T09:00-03:00 "
        "(2022-04-20 a 2022-04-24): HTTP 404"
    )
    assert conditions[1].evidence == {
        "series": "CURRENCY#USD",
        "dates": 5,
        "first": "2022-04-20",
        "last": "2022-04-24",
        "reason": "HTTP 404",
        "reasons": 3,
        "max_retry_count": 7,
        "quarantined_since": "2022-05-04T09:00:00-03:00",
        "updated_at": "2022-05-04T09:04:00-03:00",
    }


class _NothingRead(_QuarantinedUnread):
    """A store the rule must not read at all."""

    def status_summaries(self, status: Status) -> list[StatusSummary]:
        raise AssertionError("read again")


def test_the_summaries_the_caller_read_are_used_and_the_catalog_narrows(
    store: _QuarantinedUnread, tmp_path: Path
) -> None:
    """The retry_recheck Lambda passes the summaries it read for its metric: the rule reads
    nothing itself; `watch --series` evaluates the watched series only."""
    summaries = store.status_summaries(Status.QUARANTINED)
    unread = _NothingRead(tmp_path / "q.sqlite")
    context = AlertContext(NOW, unread, NO_QUEUE, Catalog([EUR]))

    conditions = Quarantined(summaries).evaluate(context)
    unread.close()

    assert [(c.subject, c.evidence["dates"], c.evidence["reason"]) for c in conditions] == [
        ("CURRENCY#EUR", 1, "gone")
    ]


def test_a_quarantine_stamped_after_the_clock_is_told_as_of_the_clock(
    store: _QuarantinedUnread,
) -> None:
    """`--now` set before the stamps (EUR's date was quarantined at 12:05, the clock reads
    12:02): the condition started no later than the clock, in its text as in its ``started``."""
    at = NOW + timedelta(minutes=2)
    eur, usd = Quarantined().evaluate(AlertContext(at, store, NO_QUEUE, DEFAULT_CATALOG))
    assert (eur.started, usd.started) == (at, NOW)
    assert "quarantined since 2022-05-04T09:02-03:00 (" in eur.summary
    assert "em quarentena desde 2022-05-04T09:02-03:00 (" in str(eur.summary_pt_br)
