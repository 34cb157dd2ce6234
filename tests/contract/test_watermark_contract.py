"""The Store port's watermark contract (gap scans read only the dates after it): every backend."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from fuelpipe.domain.models import PresentDate, Record, Status
from fuelpipe.ports.store import Store, Watermark

if TYPE_CHECKING:
    from contract.conftest import StoreOpener

KEY = "CURRENCY#USD"
OTHER = "STOCK#PETR4"
D0 = date(2025, 1, 2)
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def ok(day: date, key: str = KEY) -> Record:
    return Record(key, day, Decimal("5.4321"), Status.OK)


def pending(day: date, key: str = KEY) -> Record:
    return Record(key, day, None, Status.PENDING, next_attempt_at=NOW, reason="no data yet")


def test_no_watermark_until_one_is_set(store: Store) -> None:
    assert store.watermarks() == {}


def test_set_watermark_creates_then_compares_and_sets_the_version(store: Store) -> None:
    assert store.set_watermark(KEY, D0, 0, NOW)
    assert store.watermarks() == {KEY: Watermark(KEY, D0, 1, NOW)}
    # A second creation (expected version 0) is refused: someone set it already.
    assert not store.set_watermark(KEY, D0 + timedelta(days=5), 0, None)
    assert not store.set_watermark(KEY, D0 + timedelta(days=5), 7, None)
    assert store.watermarks()[KEY].through == D0
    later = D0 + timedelta(days=3)
    assert store.set_watermark(KEY, later, 1, None)
    assert store.watermarks()[KEY] == Watermark(KEY, later, 2, None)
    assert store.set_watermark(KEY, None, 2, NOW)
    assert store.watermarks()[KEY] == Watermark(KEY, None, 3, NOW)


def test_a_watermark_keeps_the_calendar_fingerprint_it_was_set_with(store: Store) -> None:
    """The gap scan stores its series' calendar fingerprint with the watermark: a later
    release with another calendar sees the difference and audits the key in full."""
    assert store.set_watermark(KEY, D0, 0, NOW, "a1b2c3d4e5f60718")
    assert store.watermarks()[KEY] == Watermark(KEY, D0, 1, NOW, "a1b2c3d4e5f60718")
    assert store.set_watermark(KEY, D0, 1, NOW, "ffff000011112222")
    assert store.watermarks()[KEY].calendar == "ffff000011112222"
    # lowering it keeps the fingerprint: the rules it was judged by are the same
    store.lower_watermark(KEY, D0)
    assert store.watermarks()[KEY].calendar == "ffff000011112222"
    assert store.set_watermark(KEY, None, store.watermarks()[KEY].version, NOW)
    assert store.watermarks()[KEY].calendar is None  # set without one: none kept
    # a watermark created by lowering has none
    store.lower_watermark(OTHER, D0)
    assert store.watermarks()[OTHER].calendar is None


def test_watermarks_are_per_key_and_not_records(store: Store) -> None:
    store.put_records([ok(D0), ok(D0, OTHER)])
    assert store.set_watermark(KEY, D0, 0, NOW)
    assert store.set_watermark(OTHER, None, 0, None)
    marks = store.watermarks()
    assert set(marks) == {KEY, OTHER}
    assert marks[OTHER].through is None
    # The watermark items never show up among a key's records or retry lists.
    assert store.present(KEY) == [PresentDate(D0, Status.OK)]
    assert [r.date for r in store.query(KEY)] == [D0]
    assert store.pending() == [] and store.quarantined() == []


def test_present_after_reads_only_later_dates(store: Store) -> None:
    dates = [D0 + timedelta(days=i) for i in range(6)]
    store.put_records([ok(d) for d in dates[:4]])
    assert store.put_pending(pending(dates[5]))
    assert store.present_after(KEY, dates[2]) == [
        PresentDate(dates[3], Status.OK),
        PresentDate(dates[5], Status.PENDING),
    ]
    assert store.present_after(KEY, dates[5]) == []
    assert store.present_after(KEY, None) == store.present(KEY)


def test_lower_watermark_moves_it_below_the_day_and_always_bumps(store: Store) -> None:
    assert store.set_watermark(KEY, D0 + timedelta(days=10), 0, NOW)
    store.lower_watermark(KEY, D0 + timedelta(days=4))
    mark = store.watermarks()[KEY]
    assert mark.through == D0 + timedelta(days=3)
    assert mark.version == 2  # by one, as the port says, in every backend
    assert mark.audited_at == NOW
    # Already below: it stays, but the version still moves, so a scan that read it fails.
    store.lower_watermark(KEY, D0 + timedelta(days=8))
    again = store.watermarks()[KEY]
    assert again.through == D0 + timedelta(days=3)
    assert again.version == mark.version + 1
    assert not store.set_watermark(KEY, D0 + timedelta(days=20), mark.version, NOW)


def test_lower_watermark_without_one_makes_a_creation_fail(store: Store) -> None:
    store.lower_watermark(KEY, D0)
    mark = store.watermarks()[KEY]
    assert mark.through is None
    assert not store.set_watermark(KEY, D0 + timedelta(days=3), 0, NOW)
    assert store.set_watermark(KEY, D0 - timedelta(days=1), mark.version, NOW)


def test_release_moves_the_watermark_back(store: Store) -> None:
    d1, d2, d3 = (D0 + timedelta(days=i) for i in range(3))
    store.put_records([ok(d1), ok(d3)])
    assert store.put_pending(pending(d2))
    assert store.quarantine(KEY, d2, 0, "gave up")
    assert store.set_watermark(KEY, d3, 0, NOW)
    assert store.release(KEY, d2, NOW)
    mark = store.watermarks()[KEY]
    assert mark.through == d1
    assert mark.version >= 2
    # A release that does nothing (not quarantined) leaves the watermark alone.
    assert not store.release(KEY, d1, NOW)
    assert store.watermarks()[KEY] == mark


def test_two_clients_moving_one_watermark_exactly_one_wins(store_opener: StoreOpener) -> None:
    first, second = store_opener(), store_opener()
    assert first.set_watermark(KEY, D0, 0, NOW)
    barrier = threading.Barrier(8)
    wins: list[date] = []

    def move(client: Store, days: int) -> None:
        barrier.wait()
        target = D0 + timedelta(days=days)
        if client.set_watermark(KEY, target, 1, NOW):
            wins.append(target)

    threads = [
        threading.Thread(target=move, args=(first if i % 2 else second, i + 1)) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert first.watermarks()[KEY] == Watermark(KEY, wins[0], 2, NOW)
