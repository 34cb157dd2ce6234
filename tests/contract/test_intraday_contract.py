"""The intraday store port: idempotent, time-ordered days, expiry after the retention. Every
intraday backend (SQLite, DynamoDB on dynalite and on moto_server) must pass every test here."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from fuelpipe.domain.intraday import RETENTION, IntradayPoint
from fuelpipe.ports.intraday import Upserted

if TYPE_CHECKING:
    from contract.conftest import IntradayBackend

SP = ZoneInfo("America/Sao_Paulo")
KEY = "CURRENCY#USD"
DAY = date(2022, 5, 6)
NOW = datetime(2022, 5, 6, 13, 0, tzinfo=SP)


def _points(day: date, hours: tuple[int, ...] = (12, 10, 11)) -> list[IntradayPoint]:
    return [
        IntradayPoint(KEY, datetime.combine(day, datetime.min.time(), SP).replace(hour=h),
                      "Intermediário", Decimal("5.0") + h, {"buy": Decimal("4.9")})
        for h in hours
    ]  # fmt: skip


def test_points_are_idempotent_and_read_back_in_time_order(
    intraday_backend: IntradayBackend,
) -> None:
    store = intraday_backend.store
    assert store.put_points(_points(DAY)).written == 3
    assert store.put_points(_points(DAY)).written == 3  # redelivered: still the same three
    got = store.day(KEY, DAY, NOW)
    assert [p.at.hour for p in got] == [10, 11, 12]
    assert got[0].attrs == {"buy": Decimal("4.9")} and got[0].value == Decimal("15.0")
    assert store.day(KEY, DAY + timedelta(days=1), NOW) == []
    assert store.day("CURRENCY#EUR", DAY, NOW) == []


def test_a_rewrite_counts_as_changed_only_the_points_new_or_changed(
    intraday_backend: IntradayBackend,
) -> None:
    """`watch`'s heartbeat said "1 point(s)" on every tick that re-read the same bulletin:
    the count is now of the points new or changed, where the store can tell (SQLite); a
    store that cannot counts every point written, never fewer than changed."""
    store = intraday_backend.store
    assert store.put_points(_points(DAY)) == Upserted(written=3, changed=3)
    tells = intraday_backend.tells_unchanged
    assert store.put_points(_points(DAY)) == Upserted(written=3, changed=0 if tells else 3)
    moved = _points(DAY)
    moved[1] = replace(moved[1], value=moved[1].value + Decimal("0.01"))  # a bar still running
    assert store.put_points(moved) == Upserted(written=3, changed=1 if tells else 3)
    assert store.put_points([replace(moved[2], attrs={})]) == Upserted(written=1, changed=1)
    twice = [replace(moved[0], value=Decimal("18.5")), replace(moved[0], value=Decimal("19.5"))]
    assert store.put_points(twice) == Upserted(written=1, changed=1)  # the last one wins
    got = store.day(KEY, DAY, NOW)
    assert [p.value for p in got] == [Decimal("15.01"), Decimal("16.0"), Decimal("19.5")]
    assert got[1].attrs == {}


def test_a_value_reads_back_as_its_canonical_number_on_every_home(
    intraday_backend: IntradayBackend,
) -> None:
    """A bulletin's 5.4970 reads back as 5.497 on every backend, as records' numbers do
    (DynamoDB keeps numbers, not their text; SQLite stored "5.4970"), and the same number
    written as 5.497 is no change where the store can tell."""
    store = intraday_backend.store
    point = replace(_points(DAY, (10,))[0], value=Decimal("5.4970"))
    store.put_points([point])
    assert [str(p.value) for p in store.day(KEY, DAY, NOW)] == ["5.497"]
    again = store.put_points([replace(point, value=Decimal("5.497"))])
    assert again.changed == (0 if intraday_backend.tells_unchanged else 1)


def test_expired_points_are_hidden_and_purged_and_unexpired_ones_kept(
    intraday_backend: IntradayBackend,
) -> None:
    store = intraday_backend.store
    later_day = DAY + timedelta(days=10)
    store.put_points(_points(DAY))
    store.put_points(_points(later_day, hours=(10, 11)))
    later = NOW + RETENTION  # DAY's points have expired, later_day's have not
    assert store.day(KEY, DAY, later) == []

    purged = store.purge_expired(later)

    assert purged == (3 if intraday_backend.purges_expired else 0)  # DynamoDB: its TTL deletes
    assert [p.at.hour for p in store.day(KEY, later_day, later)] == [10, 11]
    assert store.day(KEY, DAY, later) == []
    # Read as of before they expired: purged points are really gone, the rest are not.
    assert len(store.day(KEY, DAY, NOW)) == 3 - purged
    assert len(store.day(KEY, later_day, NOW)) == 2
    assert store.purge_expired(later) == 0  # nothing left to purge
