"""The Store port's contract: every backend must pass every test here."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.domain.models import AttrValue, PresentDate, Record, Revision, Status
from fuelpipe.domain.numbers import TooManyDigits
from fuelpipe.domain.retry import accepted_reason, released_reason
from fuelpipe.ports.store import BATCH_LIMIT, RunLog, Store, paged

if TYPE_CHECKING:
    from contract.conftest import StoreOpener

KEY = "CURRENCY#USD"
OTHER = "STOCK#PETR4"
D0 = date(2025, 1, 2)
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def ok(day: date, value: str = "5.4321", key: str = KEY, **attrs: AttrValue) -> Record:
    """An OK record."""
    return Record(key, day, Decimal(value), Status.OK, attrs=dict(attrs))


def pending(
    day: date,
    key: str = KEY,
    retry_count: int = 0,
    next_attempt_at: datetime | None = NOW,
    reason: str = "no data yet",
) -> Record:
    """A PENDING record."""
    return Record(
        key,
        day,
        None,
        Status.PENDING,
        retry_count=retry_count,
        next_attempt_at=next_attempt_at,
        reason=reason,
    )


def one(store: Store, key: str, day: date) -> Record:
    """The single stored record of one key and date."""
    found = store.query(key, day, day)
    assert len(found) == 1, found
    return found[0]


def days(n: int, start: date = D0) -> list[date]:
    """``n`` consecutive dates."""
    return [start + timedelta(days=i) for i in range(n)]


# --- put_records ---------------------------------------------------------------------------


def test_writing_the_same_record_twice_leaves_one(store: Store) -> None:
    record = ok(D0, "5.1234", bid="5.1230")
    assert store.put_records([record]) == 1
    assert store.put_records([record]) == 1
    assert store.present(KEY) == [PresentDate(D0, Status.OK)]
    got = one(store, KEY, D0)
    assert (got.key, got.date, got.value, got.status) == (KEY, D0, Decimal("5.1234"), Status.OK)


def test_more_than_one_batch_is_written_in_full(store: Store) -> None:
    n = 2 * BATCH_LIMIT + 7
    records = [ok(d, f"{i}.{i:04d}") for i, d in enumerate(days(n))]
    assert store.put_records(records) == n
    got = store.query(KEY)
    assert [r.date for r in got] == days(n)
    assert [r.value for r in got] == [Decimal(f"{i}.{i:04d}") for i in range(n)]


def test_duplicate_keys_in_one_call_collapse_to_the_last(store: Store) -> None:
    dates = days(BATCH_LIMIT + 5)
    records = [ok(d, "1.0") for d in dates]
    # The same key again, once inside the first batch's range and once across the boundary.
    records.insert(3, ok(dates[0], "2.0"))
    records.append(ok(dates[1], "3.0"))
    records.append(ok(dates[0], "4.0"))
    assert store.put_records(records) == len(dates)
    got = {r.date: r.value for r in store.query(KEY)}
    assert len(got) == len(dates)
    assert got[dates[0]] == Decimal("4.0")
    assert got[dates[1]] == Decimal("3.0")
    assert got[dates[2]] == Decimal("1.0")


def test_put_records_of_nothing_writes_nothing(store: Store) -> None:
    assert store.put_records([]) == 0
    assert store.present(KEY) == []


def test_put_records_takes_only_ok_records(store: Store) -> None:
    with pytest.raises(ValueError, match="OK"):
        store.put_records([ok(D0), pending(D0 + timedelta(days=1))])
    with pytest.raises(ValueError, match="OK"):
        store.put_records([Record(KEY, D0, None, Status.OK)])


def test_an_ok_record_overwrites_pending_and_quarantined(store: Store) -> None:
    d1, d2 = days(2)
    assert store.put_pending(pending(d1, retry_count=0))
    assert store.put_pending(pending(d2))
    assert store.quarantine(KEY, d2, 0, "gave up")
    assert store.put_records([ok(d1, "5.0001"), ok(d2, "5.0002")]) == 2
    assert store.present(KEY) == [PresentDate(d1, Status.OK), PresentDate(d2, Status.OK)]
    assert one(store, KEY, d2).value == Decimal("5.0002")
    assert store.pending() == []
    assert store.quarantined() == []
    assert store.due_pending(NOW + timedelta(days=365)) == []


# --- put_pending ---------------------------------------------------------------------------


def test_put_pending_creates_a_pending_record(store: Store) -> None:
    assert store.put_pending(pending(D0, next_attempt_at=NOW, reason="HTTP 503"))
    got = one(store, KEY, D0)
    assert got.status is Status.PENDING
    assert got.value is None
    assert got.retry_count == 0
    assert got.next_attempt_at == NOW
    assert got.reason == "HTTP 503"
    assert got.updated_at is not None


def test_put_pending_refreshes_reason_but_keeps_retry_state(store: Store) -> None:
    assert store.put_pending(pending(D0, next_attempt_at=NOW))
    later = NOW + timedelta(hours=2)
    assert store.claim_retry(KEY, D0, 0, 1, later)
    again = pending(D0, retry_count=0, next_attempt_at=NOW, reason="still missing").with_(
        attrs={"http_status": 404}
    )
    assert store.put_pending(again)
    got = one(store, KEY, D0)
    assert got.status is Status.PENDING
    assert got.reason == "still missing"
    assert got.attrs == {"http_status": 404}
    assert got.retry_count == 1
    assert got.next_attempt_at == later


def test_put_pending_never_downgrades_ok(store: Store) -> None:
    store.put_records([ok(D0, "5.4321")])
    assert not store.put_pending(pending(D0))
    quarantined = pending(D0).with_(status=Status.QUARANTINED)
    assert not store.put_pending(quarantined)
    got = one(store, KEY, D0)
    assert (got.status, got.value) == (Status.OK, Decimal("5.4321"))


def test_put_pending_never_touches_quarantined(store: Store) -> None:
    assert store.put_pending(pending(D0))
    assert store.quarantine(KEY, D0, 0, "spent")
    assert not store.put_pending(pending(D0, reason="new failure"))
    assert not store.put_pending(pending(D0).with_(status=Status.QUARANTINED, reason="again"))
    got = one(store, KEY, D0)
    assert (got.status, got.reason) == (Status.QUARANTINED, "spent")


def test_put_pending_may_quarantine_a_pending_record(store: Store) -> None:
    assert store.put_pending(pending(D0))
    assert store.claim_retry(KEY, D0, 0, 5, NOW)
    last = pending(D0, reason="last retry failed").with_(status=Status.QUARANTINED)
    assert store.put_pending(last)
    got = one(store, KEY, D0)
    assert got.status is Status.QUARANTINED
    assert got.reason == "last retry failed"
    assert got.retry_count == 5
    assert [r.date for r in store.quarantined()] == [D0]
    assert store.pending() == []


def test_put_pending_may_create_a_quarantined_record(store: Store) -> None:
    record = pending(D0, reason="unknown symbol").with_(status=Status.QUARANTINED)
    assert store.put_pending(record)
    assert [(r.key, r.date, r.status) for r in store.quarantined()] == [
        (KEY, D0, Status.QUARANTINED)
    ]


def test_put_pending_rejects_ok_records(store: Store) -> None:
    with pytest.raises(ValueError, match="PENDING"):
        store.put_pending(ok(D0))


# --- conditional retry state ---------------------------------------------------------------


def test_claim_retry_succeeds_once_for_one_expected_count(store: Store) -> None:
    assert store.put_pending(pending(D0))
    due = NOW + timedelta(hours=1)
    assert store.claim_retry(KEY, D0, 0, 1, due)
    assert not store.claim_retry(KEY, D0, 0, 1, due)  # stale expected count
    got = one(store, KEY, D0)
    assert (got.retry_count, got.next_attempt_at) == (1, due)
    assert store.claim_retry(KEY, D0, 1, 2, due + timedelta(hours=2))
    assert one(store, KEY, D0).retry_count == 2


def test_claim_retry_fails_on_ok_quarantined_or_missing(store: Store) -> None:
    d_ok, d_q, d_missing = days(3)
    store.put_records([ok(d_ok)])
    assert store.put_pending(pending(d_q))
    assert store.quarantine(KEY, d_q, 0, "spent")
    for day in (d_ok, d_q, d_missing):
        assert not store.claim_retry(KEY, day, 0, 1, NOW)
    assert store.present(KEY) == [
        PresentDate(d_ok, Status.OK),
        PresentDate(d_q, Status.QUARANTINED),
    ]


def test_two_clients_claiming_the_same_retry_exactly_one_wins(store_opener: StoreOpener) -> None:
    first, second = store_opener(), store_opener()
    assert first.put_pending(pending(D0))
    assert first.claim_retry(KEY, D0, 0, 1, NOW) != second.claim_retry(KEY, D0, 0, 1, NOW)
    # Many claimers at once, each on its own client: still exactly one winner per step.
    clients = [store_opener() for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    wins: list[bool] = []
    lock = threading.Lock()

    def claim(client: Store) -> None:
        barrier.wait()
        won = client.claim_retry(KEY, D0, 1, 2, NOW + timedelta(hours=2))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * (len(clients) - 1) + [True]
    assert one(first, KEY, D0).retry_count == 2


def test_give_back_retry_undoes_a_claim_and_the_record_is_due_again(store: Store) -> None:
    was_due = NOW - timedelta(hours=1)
    assert store.put_pending(pending(D0, retry_count=2, next_attempt_at=was_due))
    claimed_next = NOW + timedelta(hours=4)
    assert store.claim_retry(KEY, D0, 2, 3, claimed_next)
    assert store.due_pending(NOW) == []

    assert store.give_back_retry(KEY, D0, 3, claimed_next, 2, was_due)
    got = one(store, KEY, D0)
    assert (got.status, got.retry_count, got.next_attempt_at) == (Status.PENDING, 2, was_due)
    assert got.reason == "no data yet"
    assert [r.date for r in store.due_pending(NOW)] == [D0]  # the index sees it due again
    assert not store.give_back_retry(KEY, D0, 3, claimed_next, 2, was_due)  # once only
    assert store.claim_retry(KEY, D0, 2, 3, claimed_next)  # and it can be claimed again


def test_give_back_retry_to_a_record_never_scheduled(store: Store) -> None:
    assert store.put_pending(pending(D0, next_attempt_at=None))
    claimed_next = NOW + timedelta(hours=1)
    assert store.claim_retry(KEY, D0, 0, 1, claimed_next)
    assert store.give_back_retry(KEY, D0, 1, claimed_next, 0, None)
    got = one(store, KEY, D0)
    assert (got.retry_count, got.next_attempt_at) == (0, None)
    assert [r.date for r in store.due_pending(NOW - timedelta(days=365))] == [D0]


def test_give_back_retry_never_touches_a_record_changed_since_the_claim(store: Store) -> None:
    """Conditional on what the claim wrote: a later claim, a stored value, a quarantine or a
    missing record are left exactly as they are."""
    d_again, d_ok, d_quarantined, d_missing = days(4)
    first_next, later_next = NOW + timedelta(hours=1), NOW + timedelta(hours=3)
    for day in (d_again, d_ok, d_quarantined):
        assert store.put_pending(pending(day))
        assert store.claim_retry(KEY, day, 0, 1, first_next)
    assert store.claim_retry(KEY, d_again, 1, 2, later_next)  # claimed again meanwhile
    store.put_records([ok(d_ok)])  # stored meanwhile (a message of a partly sent batch)
    assert store.quarantine(KEY, d_quarantined, 1, "spent")

    for day in (d_again, d_ok, d_quarantined, d_missing):
        assert not store.give_back_retry(KEY, day, 1, first_next, 0, NOW)
    # the same count with another next attempt is not what this claim wrote either
    assert not store.give_back_retry(KEY, d_again, 2, first_next, 1, NOW)
    again = one(store, KEY, d_again)
    assert (again.status, again.retry_count, again.next_attempt_at) == (
        Status.PENDING,
        2,
        later_next,
    )
    assert store.present(KEY) == [
        PresentDate(d_again, Status.PENDING),
        PresentDate(d_ok, Status.OK),
        PresentDate(d_quarantined, Status.QUARANTINED),
    ]
    assert one(store, KEY, d_ok).value == Decimal("5.4321")
    assert store.due_pending(NOW) == []


def test_quarantine_is_conditional_and_release_gives_a_fresh_budget(store: Store) -> None:
    assert store.put_pending(pending(D0))
    assert store.claim_retry(KEY, D0, 0, 5, NOW)
    assert not store.quarantine(KEY, D0, 4, "wrong count")
    assert store.quarantine(KEY, D0, 5, "5 retries failed")
    assert not store.quarantine(KEY, D0, 5, "twice")
    got = one(store, KEY, D0)
    assert (got.status, got.reason, got.retry_count) == (Status.QUARANTINED, "5 retries failed", 5)
    assert store.due_pending(NOW + timedelta(days=30)) == []

    released_at = NOW + timedelta(days=3)
    assert store.release(KEY, D0, released_at)
    assert not store.release(KEY, D0, released_at)  # no longer quarantined
    got = one(store, KEY, D0)
    assert (got.status, got.retry_count, got.next_attempt_at) == (Status.PENDING, 0, released_at)
    # says it was released, keeping why it was quarantined (not "still failing" while retried)
    assert got.reason == released_reason("5 retries failed", released_at)
    assert got.reason.startswith("released by hand at ") and "5 retries failed" in got.reason
    assert [r.date for r in store.due_pending(released_at)] == [D0]
    assert store.quarantined() == []


@pytest.mark.parametrize("verb", ["release", "accept"])
def test_release_and_accept_need_a_quarantined_record(store: Store, verb: str) -> None:
    settle = store.release if verb == "release" else store.accept
    store.put_records([ok(D0)])
    assert store.put_pending(pending(D0 + timedelta(days=1)))
    assert not settle(KEY, D0, NOW)
    assert not settle(KEY, D0 + timedelta(days=1), NOW)
    assert not settle(KEY, D0 + timedelta(days=2), NOW)
    assert one(store, KEY, D0).status is Status.OK
    assert one(store, KEY, D0 + timedelta(days=1)).status is Status.PENDING


def test_accept_makes_a_quarantined_record_absent_keeping_its_history(store: Store) -> None:
    """A person accepts that a quarantined date has no value: it leaves the quarantined list
    and every retry (never due again), keeps how many re-downloads it had and says why it was
    quarantined; a value the source publishes later is still stored over it. (No store could
    do this before: a quarantined record could only be released to be retried again.)"""
    assert store.put_pending(pending(D0))
    assert store.claim_retry(KEY, D0, 0, 5, NOW)
    assert store.quarantine(KEY, D0, 5, "HTTP 503 (gave up after 5 re-downloads)")
    accepted_at = NOW + timedelta(days=2)

    assert store.accept(KEY, D0, accepted_at)
    assert not store.accept(KEY, D0, accepted_at)  # ABSENT now: nothing to accept
    assert not store.release(KEY, D0, accepted_at)

    got = one(store, KEY, D0)
    assert (got.status, got.value, got.retry_count, got.next_attempt_at) == (
        Status.ABSENT,
        None,
        5,
        None,
    )
    assert got.reason == accepted_reason("HTTP 503 (gave up after 5 re-downloads)", accepted_at)
    assert got.reason.startswith("accepted by hand as no value at 2025-03-12T12:00:00+00:00")
    assert got.updated_at == accepted_at
    assert store.quarantined() == [] and store.pending() == []
    assert store.due_pending(NOW + timedelta(days=365)) == []
    assert store.count_status(Status.QUARANTINED) == store.count_status(Status.PENDING) == 0
    assert store.present(KEY) == [PresentDate(D0, Status.ABSENT)]
    assert store.add_records([ok(D0, "5.1")]) == []  # published later: stored over it
    assert (one(store, KEY, D0).status, one(store, KEY, D0).reason) == (Status.OK, None)


# --- pending and quarantined views ---------------------------------------------------------


def test_due_pending_respects_now(store: Store) -> None:
    d_past, d_now, d_future, d_unset, d_other = days(5)
    assert store.put_pending(pending(d_past, next_attempt_at=NOW - timedelta(hours=1)))
    assert store.put_pending(pending(d_now, next_attempt_at=NOW))
    assert store.put_pending(pending(d_future, next_attempt_at=NOW + timedelta(hours=1)))
    assert store.put_pending(pending(d_unset, next_attempt_at=None))  # never scheduled: due
    # A non-UTC offset names the same instant.
    in_sp = (NOW - timedelta(minutes=1)).astimezone(ZoneInfo("America/Sao_Paulo"))
    assert store.put_pending(pending(d_other, key=OTHER, next_attempt_at=in_sp))
    store.put_records([ok(D0 - timedelta(days=1))])

    def due(now: datetime) -> list[tuple[str, date]]:
        return sorted((r.key, r.date) for r in store.due_pending(now))

    assert due(NOW) == [(KEY, d_past), (KEY, d_now), (KEY, d_unset), (OTHER, d_other)]
    assert due(NOW - timedelta(minutes=30)) == [(KEY, d_past), (KEY, d_unset)]
    assert len(due(NOW + timedelta(hours=1))) == 5
    assert all(r.status is Status.PENDING for r in store.due_pending(NOW))
    assert len(store.pending()) == 5


def test_due_pending_with_set_after_also_gives_next_attempts_later_than_it(store: Store) -> None:
    """A run with a clock ahead (``--simulate-future``) stores next attempts no policy at
    ``now`` sets: with ``set_after`` they are read too, from the same index, and the ones
    between ``now`` and it are not."""
    d_due, d_waits, d_edge, d_ahead, d_unset, d_gone = days(6)
    set_after = NOW + timedelta(hours=32)
    assert store.put_pending(pending(d_due, next_attempt_at=NOW - timedelta(hours=1)))
    assert store.put_pending(pending(d_waits, next_attempt_at=NOW + timedelta(hours=1)))
    assert store.put_pending(pending(d_edge, next_attempt_at=set_after))  # not later: waits
    assert store.put_pending(pending(d_ahead, next_attempt_at=set_after + timedelta(seconds=1)))
    assert store.put_pending(pending(d_unset, next_attempt_at=None))
    assert store.put_pending(pending(d_gone, next_attempt_at=NOW + timedelta(days=365)))
    assert store.quarantine(KEY, d_gone, 0, "spent")  # left the index
    in_sp = (NOW + timedelta(days=365)).astimezone(ZoneInfo("America/Sao_Paulo"))
    assert store.put_pending(pending(d_due, key=OTHER, next_attempt_at=in_sp))
    store.put_records([ok(D0 - timedelta(days=1))])

    found = store.due_pending(NOW, set_after=set_after)

    assert [(r.key, r.date) for r in found] == [
        (KEY, d_due),
        (KEY, d_ahead),
        (KEY, d_unset),
        (OTHER, d_due),
    ]
    assert all(r.status is Status.PENDING for r in found)
    assert [r.date for r in store.due_pending(NOW)] == [d_due, d_unset]  # as before
    everything = store.due_pending(NOW, set_after=NOW)  # both ranges meet: each record once
    assert [(r.key, r.date) for r in everything] == [(r.key, r.date) for r in store.pending()]


def test_pending_and_quarantined_list_only_their_status(store: Store) -> None:
    d1, d2, d3 = days(3)
    store.put_records([ok(d1)])
    assert store.put_pending(pending(d2, next_attempt_at=NOW + timedelta(days=9)))
    assert store.put_pending(pending(d3, key=OTHER))
    assert store.quarantine(OTHER, d3, 0, "spent")
    assert [(r.key, r.date, r.status) for r in store.pending()] == [(KEY, d2, Status.PENDING)]
    assert [(r.key, r.date, r.reason) for r in store.quarantined()] == [(OTHER, d3, "spent")]


# --- reads ---------------------------------------------------------------------------------


def test_query_reads_a_date_range_in_order(store: Store) -> None:
    dates = days(10)
    # Written out of order, and next to another key that must not leak in.
    store.put_records([ok(d, f"1.{i}") for i, d in reversed(list(enumerate(dates)))])
    store.put_records([ok(d, "9", key=OTHER) for d in dates])
    assert [r.date for r in store.query(KEY)] == dates
    assert [r.date for r in store.query(KEY, dates[2], dates[5])] == dates[2:6]
    assert [r.date for r in store.query(KEY, start=dates[7])] == dates[7:]
    assert [r.date for r in store.query(KEY, end=dates[1])] == dates[:2]
    assert store.query(KEY, dates[5], dates[2]) == []
    assert store.query("CURRENCY#EUR") == []
    assert {r.key for r in store.query(KEY)} == {KEY}


def test_query_reads_newest_first_and_at_most_a_limit(store: Store) -> None:
    dates = days(10)
    store.put_records([ok(d, f"1.{i}") for i, d in enumerate(dates)])
    store.put_records([ok(d, "9", key=OTHER) for d in dates])  # a later key: must not leak in
    assert store.put_pending(pending(dates[-1] + timedelta(days=1), key=KEY))
    newest = store.query(KEY, limit=1, newest_first=True)
    assert [(r.date, r.status) for r in newest] == [(dates[-1] + timedelta(days=1), Status.PENDING)]
    assert [r.date for r in store.query(KEY, end=dates[-1], limit=3, newest_first=True)] == [
        dates[9],
        dates[8],
        dates[7],
    ]
    assert [r.date for r in store.query(KEY, limit=2)] == dates[:2]  # oldest first
    assert [r.date for r in store.query(KEY, dates[2], dates[5], newest_first=True)] == [
        dates[5],
        dates[4],
        dates[3],
        dates[2],
    ]
    (one_value,) = store.query(KEY, end=dates[0], fields=["value"], limit=5, newest_first=True)
    assert (one_value.date, one_value.value) == (dates[0], Decimal("1.0"))
    assert len(store.query(KEY, limit=50)) == 11
    assert store.query("CURRENCY#EUR", limit=1, newest_first=True) == []
    with pytest.raises(ValueError, match="limit"):
        store.query(KEY, limit=0)


def test_paged_reads_every_record_from_either_end_in_growing_pages(store: Store) -> None:
    dates = days(30)
    store.put_records([ok(d, f"1.{i}") for i, d in enumerate(dates)])
    store.put_records([ok(d, "9", key=OTHER) for d in dates])  # must not leak in

    def read(**bounds: date | None) -> tuple[list[date], list[date]]:
        newest = paged(
            store, KEY, newest_first=True, fields=("status",), first=2, growth=3, **bounds
        )
        oldest = paged(
            store, KEY, newest_first=False, fields=("status",), first=2, growth=3, **bounds
        )
        return [r.date for r in newest], [r.date for r in oldest]

    assert read() == (dates[::-1], dates)  # pages of 2, 6, 18, 54: the last one short
    assert read(start=dates[4], end=dates[20]) == (dates[20:3:-1], dates[4:21])
    # each page is read only when the caller asks past the previous one
    limits: list[int | None] = []

    class Counting:
        def query(self, *args: Any, **kwargs: Any) -> list[Record]:
            limits.append(kwargs.get("limit"))
            return store.query(*args, **kwargs)

    lazy = paged(cast(Store, Counting()), KEY, newest_first=True, fields=(), first=2, growth=3)
    assert [next(lazy).date, next(lazy).date] == [dates[-1], dates[-2]]
    assert limits == [2]
    assert next(lazy).date == dates[-3]
    assert limits == [2, 6]
    assert list(paged(store, "CURRENCY#EUR", newest_first=True, fields=(), first=2, growth=3)) == []


def test_query_fields_limit_what_is_read(store: Store) -> None:
    store.put_records([ok(D0, "5.4321", bid="5.4300", volume=12)])
    full = one(store, KEY, D0)
    assert full.attrs == {"bid": "5.4300", "volume": 12}
    (values_only,) = store.query(KEY, fields=["value"])
    assert (values_only.key, values_only.date, values_only.value) == (KEY, D0, Decimal("5.4321"))
    assert values_only.status is Status.OK  # key, date and status are always read
    assert values_only.attrs == {}
    (attrs_only,) = store.query(KEY, fields=["attrs"])
    assert attrs_only.value is None
    assert attrs_only.attrs == full.attrs
    with pytest.raises(ValueError, match="unknown"):
        store.query(KEY, fields=["price"])


def test_present_lists_every_date_with_status_in_order(store: Store) -> None:
    d1, d2, d3, d4 = days(4)
    store.put_records([ok(d3), ok(d1)])
    assert store.put_pending(pending(d4))
    assert store.put_pending(pending(d2))
    assert store.quarantine(KEY, d2, 0, "spent")
    store.put_records([ok(d1, key=OTHER)])
    assert store.present(KEY) == [
        PresentDate(d1, Status.OK),
        PresentDate(d2, Status.QUARANTINED),
        PresentDate(d3, Status.OK),
        PresentDate(d4, Status.PENDING),
    ]
    assert store.present("COMMODITY#BRENT") == []


# --- exactness -----------------------------------------------------------------------------


def test_decimal_values_round_trip_exactly(store: Store) -> None:
    tenth = Decimal("0.1")
    values = [
        Decimal("5.4321"),
        tenth + tenth + tenth,  # 0.3 exactly, where binary floats give 0.30000000000000004
        Decimal("0.000001"),
        Decimal("123456789012.123456"),
        Decimal("-3.25"),
        Decimal("7"),
    ]
    store.put_records([ok(d, str(v)) for d, v in zip(days(len(values)), values, strict=True)])
    got = [r.value for r in store.query(KEY)]
    assert got == values
    assert all(isinstance(v, Decimal) for v in got)
    assert sum(v for v in got if v is not None) == sum(values)
    assert got[1] == Decimal("0.3")


def test_attrs_round_trip_with_their_types(store: Store) -> None:
    attrs: dict[str, AttrValue] = {
        "open": Decimal("37.25"),
        "tiny": Decimal("0.0001"),
        "volume": 48_123_456,
        "negative": -7,
        "currency": "BRL",
        "numeric_text": "5.40",
        "note": None,
    }
    store.put_records([Record(KEY, D0, Decimal("1.5"), Status.OK, attrs=dict(attrs))])
    got = one(store, KEY, D0).attrs
    assert got == attrs
    for name, value in attrs.items():
        assert type(got[name]) is type(value), name
    store.put_pending(pending(D0 + timedelta(days=1)).with_(attrs=dict(attrs)))
    assert one(store, KEY, D0 + timedelta(days=1)).attrs == attrs


def test_numbers_are_stored_in_one_canonical_form(store: Store) -> None:
    """DynamoDB keeps numbers, not their text (``68.80`` comes back ``68.8``, ``1E+2`` as
    ``100``): every backend stores the canonical form, the same number exactly, so each
    returns the same Decimal, and an integral Decimal attribute stays a Decimal (an int an
    int)."""
    written = ["68.80", "100", "1E+2", "27.0", "0.50", "0.0000100", "-3.250", "0.00"]
    canonical = ["68.8", "100", "100", "27", "0.5", "0.00001", "-3.25", "0"]
    attrs: dict[str, AttrValue] = {
        "open": Decimal("27.0"),
        "high": Decimal("68.80"),
        "hundred": Decimal("1E+2"),
        "volume": 27,
        "count": 100,
    }
    store.put_records([ok(d, v, **attrs) for d, v in zip(days(len(written)), written, strict=True)])
    got = store.query(KEY)
    assert [str(r.value) for r in got] == canonical
    assert [r.value for r in got] == [Decimal(v) for v in written]  # numerically the same
    for r in got:
        shown = {k: (type(v).__name__, str(v)) for k, v in r.attrs.items()}
        assert shown == {
            "open": ("Decimal", "27"),
            "high": ("Decimal", "68.8"),
            "hundred": ("Decimal", "100"),
            "volume": ("int", "27"),
            "count": ("int", "100"),
        }
    # The other writes store the same forms: add_records, put_pending, revise and its history.
    later = D0 + timedelta(days=30)
    store.add_records([ok(later, "5.10", open=Decimal("5.0"))])
    added = one(store, KEY, later)
    assert (str(added.value), repr(added.attrs)) == ("5.1", "{'open': Decimal('5')}")
    store.put_pending(pending(later + timedelta(days=1)).with_(attrs={"bid": Decimal("2.50")}))
    assert repr(one(store, KEY, later + timedelta(days=1)).attrs) == "{'bid': Decimal('2.5')}"
    revision = Revision(Decimal("5.10"), Decimal("6.0"), NOW, "r", previous_attrs=dict(attrs))
    assert store.revise(KEY, later, revision, {"open": Decimal("6.00")})
    revised = one(store, KEY, later)
    assert (str(revised.value), repr(revised.attrs)) == ("6", "{'open': Decimal('6')}")
    [entry] = revised.revisions
    assert (str(entry.previous), str(entry.new)) == ("5.1", "6")
    assert entry.previous_attrs is not None
    assert {k: (type(v).__name__, str(v)) for k, v in entry.previous_attrs.items()} == {
        "open": ("Decimal", "27"),
        "high": ("Decimal", "68.8"),
        "hundred": ("Decimal", "100"),
        "volume": ("int", "27"),
        "count": ("int", "100"),
    }


def test_a_number_with_more_than_38_significant_digits_is_refused(store: Store) -> None:
    """DynamoDB holds 38 significant digits; SQLite would keep more. Both refuse, naming the
    record, and store nothing of the write."""
    too_long = "1.23456789012345678901234567890123456789"  # 39 digits
    fits = "1.2345678901234567890123456789012345678"  # 38
    named = r"CURRENCY#USD 2025-01-02: .* has 39 digits"
    with pytest.raises(TooManyDigits, match=named):
        store.put_records([ok(D0, too_long)])
    with pytest.raises(TooManyDigits, match=named):
        store.put_records([ok(D0, "1", wide=Decimal(too_long))])
    with pytest.raises(TooManyDigits, match=named):
        store.add_records([ok(D0, too_long)])
    with pytest.raises(TooManyDigits, match=named):
        store.put_pending(pending(D0).with_(attrs={"wide": Decimal(too_long)}))
    assert store.query(KEY) == []
    store.put_records([ok(D0, fits)])
    assert str(one(store, KEY, D0).value) == fits
    with pytest.raises(TooManyDigits, match=named):
        store.revise(KEY, D0, Revision(Decimal(fits), Decimal(too_long), NOW, "r"), {})
    assert str(one(store, KEY, D0).value) == fits


# --- run log -------------------------------------------------------------------------------


def test_run_log_keeps_the_latest_run_of_each_stage(store: Store) -> None:
    assert store.last_runs() == []
    t0 = NOW
    runs = [
        RunLog("orchestrate", t0, t0 + timedelta(seconds=3), {"messages": 4, "gaps": 120}),
        RunLog("scrape", t0 + timedelta(minutes=1), t0 + timedelta(minutes=2), {"written": 97}),
        RunLog("orchestrate", t0 + timedelta(hours=1), t0 + timedelta(hours=1, seconds=2), {}),
    ]
    for run in runs:
        store.put_run(run)
    # An older run finishing late must not replace the newer one.
    store.put_run(RunLog("scrape", t0, t0 + timedelta(minutes=5), {"written": 1}))
    latest = {r.stage: r for r in store.last_runs()}
    assert set(latest) == {"orchestrate", "scrape"}
    assert latest["orchestrate"] == runs[2]
    assert latest["scrape"] == runs[1]
    assert latest["scrape"].counts == {"written": 97}
    assert [r.stage for r in store.last_runs()] == ["orchestrate", "scrape"]


def test_stage_runs_gives_a_stages_runs_started_by_an_instant_newest_first(store: Store) -> None:
    """The daily revise's owed check reads a stage's runs, not only its latest: the latest
    revise of a watch's series may be behind another selection's."""
    t0 = NOW
    revises = [
        RunLog("revise", t0 + timedelta(hours=h), t0 + timedelta(hours=h, minutes=1), {"s": h})
        for h in (0, 1, 2, 3)
    ]
    for run in revises:
        store.put_run(run)
    store.put_run(RunLog("scrape", t0 + timedelta(minutes=30), t0 + timedelta(minutes=31)))
    assert store.stage_runs("revise", t0 + timedelta(hours=3), 10) == revises[::-1]
    # started by the instant only (its start included), at most ``limit``
    assert store.stage_runs("revise", t0 + timedelta(hours=2), 10) == revises[2::-1]
    assert store.stage_runs("revise", t0 + timedelta(hours=2, seconds=-1), 2) == revises[1::-1]
    assert store.stage_runs("revise", t0 - timedelta(seconds=1), 10) == []
    assert store.stage_runs("orchestrate", t0 + timedelta(days=1), 10) == []
    # a settled entry (the same entry: its id) is the one given, in its place
    settled = replace(revises[1], counts={"s": 9})
    store.put_run(settled)
    assert store.stage_runs("revise", t0 + timedelta(hours=1), 1) == [settled]
    assert store.stage_runs("revise", t0 + timedelta(hours=3), 10) == [
        revises[3], revises[2], settled, revises[0],
    ]  # fmt: skip
    with pytest.raises(ValueError, match="limit"):
        store.stage_runs("revise", t0, 0)


def test_runs_starting_at_the_same_instant_are_each_kept(store: Store) -> None:
    """Runs of a stage that start at the same instant (a fixed clock: `run --now`, a demo
    store's; `watch`'s drains within one tick) are each an entry, read back with its id: the
    latest is the later to finish (of two alike, the one made later: its id sorts later); an
    entry written again (its id) is replaced, none added.
    Before, the second replaced the first (one entry per stage and start), losing its counts."""
    t0 = NOW
    first = RunLog("scraper", t0, t0, {"records_written": 5})
    second = RunLog("scraper", t0, t0, {"records_written": 7})
    store.put_run(first)
    store.put_run(second)
    kept = store.stage_runs("scraper", t0, 10)
    assert sorted(r.counts["records_written"] for r in kept) == [5, 7]
    assert {r.run_id for r in kept} == {first.run_id, second.run_id}
    assert store.last_runs() == [second]  # alike in start and end: the one made later
    third = RunLog("scraper", t0, t0 + timedelta(seconds=1), {"records_written": 9})
    store.put_run(third)
    assert store.last_runs() == [third]
    again = replace(first, finished_at=t0 + timedelta(seconds=2), counts={"records_written": 6})
    store.put_run(again)
    kept = store.stage_runs("scraper", t0 + timedelta(hours=1), 10)
    assert sorted(r.counts["records_written"] for r in kept) == [6, 7, 9]
    assert store.last_runs() == [again] and store.last_runs()[0].run_id == first.run_id


def test_due_pending_pages_give_each_due_record_once_in_bounded_pages(store: Store) -> None:
    """Pages hold at most ``page_size`` records, and together exactly ``due_pending``'s:
    with set_after's second range too, over more records than a page."""
    set_after = NOW + timedelta(hours=32)
    for i, day in enumerate(days(9)):
        assert store.put_pending(pending(day, next_attempt_at=NOW - timedelta(minutes=i)))
        assert store.put_pending(pending(day, key=OTHER, next_attempt_at=None))
    assert store.put_pending(pending(D0 - timedelta(days=1), next_attempt_at=NOW + timedelta(1)))
    ahead = D0 - timedelta(days=2)
    assert store.put_pending(pending(ahead, next_attempt_at=set_after + timedelta(seconds=1)))
    store.put_records([ok(D0 - timedelta(days=3))])

    pages = list(store.due_pending_pages(NOW, set_after=set_after, page_size=4))

    assert all(1 <= len(page) <= 4 for page in pages)
    assert len(pages) >= 5  # 19 records
    found = [(r.key, r.date) for page in pages for r in page]
    assert len(found) == len(set(found))
    assert sorted(found) == [(r.key, r.date) for r in store.due_pending(NOW, set_after=set_after)]
    assert (KEY, ahead) in found
    assert all(r.status is Status.PENDING for page in pages for r in page)
    for page in pages:
        assert [(r.key, r.date) for r in page] == sorted((r.key, r.date) for r in page)
    earlier = NOW - timedelta(days=1)
    assert list(store.due_pending_pages(earlier)) == [store.due_pending(earlier)]


def test_due_pending_pages_come_oldest_next_attempt_first_over_all_keys(store: Store) -> None:
    """The order recheck's reach rests on: a clock ahead's records, then the never scheduled,
    then by next attempt, whatever the key (shard) order; each page by key and date."""
    set_after = NOW + timedelta(hours=32)
    at = {
        (KEY, D0): NOW - timedelta(minutes=1),
        (KEY, D0 + timedelta(1)): NOW - timedelta(hours=2),
        (OTHER, D0): None,
        (OTHER, D0 + timedelta(1)): NOW - timedelta(hours=3),
        (OTHER, D0 + timedelta(2)): set_after + timedelta(days=1),
    }
    for (key, day), when in at.items():
        assert store.put_pending(pending(day, key=key, next_attempt_at=when))

    pages = [
        [(r.key, r.date) for r in page]
        for page in store.due_pending_pages(NOW, set_after=set_after, page_size=2)
    ]

    assert pages == [
        [(OTHER, D0), (OTHER, D0 + timedelta(2))],
        [(KEY, D0 + timedelta(1)), (OTHER, D0 + timedelta(1))],
        [(KEY, D0)],
    ]


def test_due_pending_pages_resume_after_the_caller_changed_earlier_pages(store: Store) -> None:
    """A caller claims and quarantines what a page gave it before asking for the next page:
    the next pages still give every other due record, once, and none it already had."""
    for day in days(12):
        assert store.put_pending(pending(day, next_attempt_at=NOW - timedelta(hours=1)))
    seen: list[date] = []
    for page in store.due_pending_pages(NOW, page_size=5):
        for r in page:
            seen.append(r.date)
            if r.date.day % 2:
                assert store.claim_retry(r.key, r.date, 0, 1, NOW + timedelta(hours=1))
            else:
                assert store.quarantine(r.key, r.date, 0, "spent")

    assert sorted(seen) == days(12)  # each once
    assert store.due_pending(NOW) == []
    assert store.count_status(Status.PENDING) == 6
    assert store.count_status(Status.QUARANTINED) == 6


def test_a_caller_that_stops_reading_pages_has_read_only_those(store: Store) -> None:
    for day in days(7):
        assert store.put_pending(pending(day))
    pages = store.due_pending_pages(NOW, page_size=3)
    first = next(pages)
    assert len(first) == 3
    pages.close()  # nothing more read; the store stays usable
    assert len(store.due_pending(NOW)) == 7
    with pytest.raises(ValueError, match="page_size"):
        next(store.due_pending_pages(NOW, page_size=0))


def test_count_status_counts_pending_and_quarantined_records_only(store: Store) -> None:
    assert store.count_status(Status.PENDING) == 0
    assert store.count_status(Status.QUARANTINED) == 0
    store.put_records([ok(d) for d in days(3, D0 - timedelta(days=10))])
    for i, day in enumerate(days(7)):
        assert store.put_pending(pending(day, next_attempt_at=NOW + timedelta(days=i)))
        assert store.put_pending(pending(day, key=OTHER, next_attempt_at=None))
    for day in days(3):
        assert store.quarantine(OTHER, day, 0, "spent")
    store.put_records([ok(days(7)[-1])])  # a PENDING record stored OK leaves the index

    assert store.count_status(Status.PENDING) == len(store.pending()) == 10
    assert store.count_status(Status.QUARANTINED) == len(store.quarantined()) == 3
    with pytest.raises(ValueError, match="OK"):
        store.count_status(Status.OK)


# --- rests shared through the store (stages/source_rest.py: SharedRests) ---


def test_a_rest_one_client_notes_is_honoured_by_another(store_opener: StoreOpener) -> None:
    """Two clients of one store (two scraper environments, or one and the retry recheck): the
    429's Retry-After one of them heard holds the source off for the other, timed on the wall
    clock given (not the caller's business clock, which only places the end), and ends."""
    from fuelpipe.adapters.clock import ManualClock
    from fuelpipe.ports.source import RateLimited
    from fuelpipe.stages.source_rest import SharedRests

    wall = ManualClock(NOW)
    heard, other = SharedRests(store_opener(), wall), SharedRests(store_opener(), wall)
    business = datetime(2022, 5, 4, 14, 0, tzinfo=UTC)  # a fixed clock (FUELPIPE_NOW)

    heard.note("yahoo", RateLimited("HTTP 429", retry_after=600.0))

    assert other.until("yahoo", business) == business + timedelta(minutes=10)
    assert other.resting(business) == {"yahoo": business + timedelta(minutes=10)}
    assert other.until("bcb", business) is None
    wall.advance(timedelta(minutes=10))
    assert other.until("yahoo", business) is None
    assert other.resting(business) == {}


def test_a_shared_rest_is_not_shortened_and_is_cut_to_the_cap(store_opener: StoreOpener) -> None:
    """A shorter Retry-After another client hears does not shorten a rest already running; a
    longer one lengthens it, up to the cap (an hour); none, or 0 s, starts none; an entry that
    is not an instant, or one further than the cap (a wrong clock), silences no source."""
    from fuelpipe.adapters.clock import ManualClock
    from fuelpipe.ports.source import RateLimited, ServerError
    from fuelpipe.stages.source_rest import MAX_REST, REST_META, SharedRests

    wall = ManualClock(NOW)
    store = store_opener()
    first, second = SharedRests(store, wall), SharedRests(store_opener(), wall)
    first.note("bcb", RateLimited("x", retry_after=600.0))
    second.note("bcb", RateLimited("x", retry_after=60.0))
    assert first.until("bcb", NOW) == NOW + timedelta(minutes=10)
    second.note("bcb", ServerError("x", retry_after=2 * 86_400.0))
    assert first.until("bcb", NOW) == NOW + MAX_REST
    first.note("fred", RateLimited("x", retry_after=0))
    first.note("anp", ServerError("x"))
    assert set(second.resting(NOW)) == {"bcb"}
    store.put_meta(REST_META + "fred", "soon")
    store.put_meta(REST_META + "anp", (NOW + timedelta(days=3)).isoformat())
    assert second.until("fred", NOW) is None
    assert second.until("anp", NOW) == NOW + MAX_REST
    first.note("fred", RateLimited("x", retry_after=60.0))  # replaces the bad entry
    assert second.until("fred", NOW) == NOW + timedelta(minutes=1)


class _MetaReads:
    """A store client counting its reads of meta entries; ``refuses``: its conditional meta
    writes fail, as a throttled or unreachable table's would."""

    def __init__(self, store: Store, *, refuses: bool = False) -> None:
        self.store, self.refuses = store, refuses
        self.reads: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("get_meta", "meta_entries"):
            self.reads.append(name)
        return getattr(self.store, name)

    def replace_meta(self, *args: Any, **kwargs: Any) -> bool:
        if self.refuses:
            raise OSError("the table refused the write")
        return self.store.replace_meta(*args, **kwargs)


def test_a_batch_reads_the_shared_rests_once_and_honours_its_own_notes(
    store_opener: StoreOpener,
) -> None:
    """In a batch (the scraper Lambda's), the rests are read once, whatever is asked; a rest
    this client notes is honoured at once (the longer one another client wrote, if that
    stands), one another client notes meanwhile from the next batch on; outside a batch every
    call reads the store, as before."""
    from fuelpipe.adapters.clock import ManualClock
    from fuelpipe.ports.source import RateLimited
    from fuelpipe.stages.source_rest import SharedRests

    wall = ManualClock(NOW)
    counted = _MetaReads(store_opener())
    mine, other = SharedRests(cast(Store, counted), wall), SharedRests(store_opener(), wall)
    other.note("fred", RateLimited("x", retry_after=600.0))

    with mine.batch():
        assert mine.resting(NOW) == {"fred": NOW + timedelta(minutes=10)}
        other.note("bcb", RateLimited("x", retry_after=600.0))
        assert mine.until("bcb", NOW) is None
        assert mine.until("yahoo", NOW) is None
        assert counted.reads == ["meta_entries"]
        mine.note("yahoo", RateLimited("x", retry_after=60.0))
        mine.note("fred", RateLimited("x", retry_after=60.0))
        assert mine.until("yahoo", NOW) == NOW + timedelta(minutes=1)
        assert mine.resting(NOW) == {
            "fred": NOW + timedelta(minutes=10),
            "yahoo": NOW + timedelta(minutes=1),
        }
        assert counted.reads == ["meta_entries", "get_meta", "get_meta"]  # the notes' own

    assert mine.until("bcb", NOW) == NOW + timedelta(minutes=10)
    with mine.batch():
        assert set(mine.resting(NOW)) == {"bcb", "fred", "yahoo"}
        wall.advance(timedelta(minutes=1))
        assert set(mine.resting(NOW)) == {"bcb", "fred"}  # still timed on the wall clock
    assert counted.reads.count("meta_entries") == 2


def test_a_rest_the_store_would_not_share_is_still_honoured_by_its_batch(
    store_opener: StoreOpener,
) -> None:
    """The write refused (logged, not raised), the rest this client heard still holds its
    source off for the rest of its batch; unshared, it is gone with it."""
    from fuelpipe.adapters.clock import ManualClock
    from fuelpipe.ports.source import ServerError
    from fuelpipe.stages.source_rest import SharedRests

    wall = ManualClock(NOW)
    rests = SharedRests(cast(Store, _MetaReads(store_opener(), refuses=True)), wall)

    with rests.batch():
        rests.note("anp", ServerError("HTTP 503", retry_after=120.0))
        assert rests.until("anp", NOW) == NOW + timedelta(minutes=2)

    assert rests.until("anp", NOW) is None
