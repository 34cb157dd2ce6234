"""The Store port's bulk release and accept (``settle_many``): every backend must pass every
test here. Before it, `quarantine release --all` settled a date at a time through ``release``
and the stage's own read and meta writes: on DynamoDB ~6 sequential requests a date, so
100,000 released dates took over an hour (tests/aws/test_dynamodb_store_aws.py counts the
requests now)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fuelpipe.domain.models import Record, Status
from fuelpipe.domain.retry import accepted_reason, released_reason
from fuelpipe.ports.store import Journal, Settled, Store

USD, EUR = "CURRENCY#USD", "CURRENCY#EUR"
D0 = date(2024, 1, 1)
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
DAYS = [D0 + timedelta(days=i) for i in range(130)]  # over one BatchGetItem, two transactions


def _quarantined(key: str, day: date, retries: int = 5, reason: str | None = "HTTP 503") -> Record:
    return Record(key, day, None, Status.QUARANTINED, retry_count=retries, reason=reason)


def _kept(key: str, day: date) -> str:
    return f"kept#{key}#{day.isoformat()}"


def _add(before: str | None, was: Settled) -> str:
    return f"{before or ''}|{was.retry_count}:{was.reason}"


JOURNAL = Journal(_kept, _add)


def _fill(store: Store) -> tuple[date, date, date]:
    """USD quarantined on DAYS but one OK, one PENDING and one ABSENT (their retry counts
    and reasons differ by date; the first has no reason); EUR on two of them."""
    ok_day, pending_day, absent_day = DAYS[7], DAYS[60], DAYS[120]
    store.put_records([Record(USD, ok_day, Decimal("5.1"), Status.OK)])
    for i, day in enumerate(DAYS):
        if day == pending_day:
            record = Record(USD, day, None, Status.PENDING, next_attempt_at=NOW, reason="x")
        elif day == absent_day:
            record = Record(USD, day, None, Status.ABSENT, reason="none")
        elif day != ok_day:
            record = _quarantined(USD, day, i % 6, None if i == 0 else f"HTTP 50{i % 4}")
        else:
            continue
        assert store.put_pending(record)
    assert store.put_pending(_quarantined(EUR, DAYS[3]))
    assert store.put_pending(_quarantined(EUR, DAYS[90]))
    return ok_day, pending_day, absent_day


def test_settle_many_releases_exactly_the_quarantined_with_their_journal(store: Store) -> None:
    ok_day, pending_day, absent_day = _fill(store)
    for key in (USD, EUR):
        assert store.set_watermark(key, DAYS[-1], 0, NOW)
    store.put_meta(_kept(USD, DAYS[5]), "before")  # released once already
    asked = [(USD, d) for d in DAYS] + [(EUR, DAYS[90]), (USD, DAYS[2]), (EUR, date(2020, 1, 1))]
    before = {r.date: r for r in store.quarantined() if r.key == USD}

    settled = store.settle_many("release", asked, NOW, JOURNAL)

    wanted = [d for d in DAYS if d not in (ok_day, pending_day, absent_day)]
    assert [(s.key, s.date) for s in settled] == [(USD, d) for d in wanted] + [(EUR, DAYS[90])]
    for s in settled[:-1]:  # as they were: retry count and reason
        assert (s.retry_count, s.reason) == (before[s.date].retry_count, before[s.date].reason)
    got = {r.date: r for r in store.query(USD)}
    for day in wanted:
        assert (got[day].status, got[day].retry_count) == (Status.PENDING, 0)
        assert got[day].reason == released_reason(before[day].reason, NOW)
        assert got[day].next_attempt_at == NOW
    assert (got[ok_day].status, got[pending_day].status) == (Status.OK, Status.PENDING)
    assert got[absent_day].status is Status.ABSENT
    assert [(r.key, r.date) for r in store.quarantined()] == [(EUR, DAYS[3])]
    entries = dict(store.meta_entries("kept#"))
    assert len(entries) == len(settled)
    assert entries[_kept(USD, DAYS[5])] == _add("before", settled[5])
    assert entries[_kept(USD, DAYS[0])] == "|0:None"
    marks = store.watermarks()  # each below its earliest date released, moved once
    assert (marks[USD].through, marks[EUR].through) == (D0 - timedelta(days=1), DAYS[89])
    assert (marks[USD].version, marks[EUR].version) == (2, 2)

    assert store.settle_many("release", asked, NOW, JOURNAL) == []  # nothing quarantined left
    assert dict(store.meta_entries("kept#")) == entries
    assert store.watermarks()[USD].version == 2


def test_settle_many_accepts_without_a_journal(store: Store) -> None:
    ok_day, pending_day, absent_day = _fill(store)
    at = NOW + timedelta(days=1)

    settled = store.settle_many("accept", [(USD, d) for d in DAYS[:110]], at)

    wanted = [d for d in DAYS[:110] if d not in (ok_day, pending_day)]
    assert [s.date for s in settled] == wanted
    got = {r.date: r for r in store.query(USD)}
    for s in settled:
        record = got[s.date]
        assert (record.status, record.retry_count) == (Status.ABSENT, s.retry_count)
        assert record.reason == accepted_reason(s.reason, at)
    assert got[absent_day].reason == "none"  # ABSENT already: not accepted again
    assert [r.date for r in store.quarantined() if r.key == USD] == DAYS[110:120] + DAYS[121:]
    assert store.meta_entries("kept#") == []
    assert store.settle_many("accept", [], at) == []
