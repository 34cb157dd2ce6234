"""Many quarantined dates settled at once (:func:`fuelpipe.stages.quarantine.settle_all`), on
both homes' stores: exactly the quarantined dates asked for are released (or accepted), each
as one date is (a release kept in its ``released#`` entry), the PENDING and OK dates among
them and the dates outside the range left alone, and the data version moved once per command,
not once a date. Before, a person released or accepted one date per command, each moving
the data version (no ``settle_all``, ``select`` or ``summarize`` existed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from devtools.aws.servers import LocalServer
from tests.support.aws_backends import unique_name

from fuelpipe.adapters.dynamodb_store import DynamoDbStore, create_table
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import DATA_VERSION, data_version
from fuelpipe.stages.quarantine import (
    KeySummary,
    Release,
    earlier_releases,
    key_summaries,
    select,
    settle_all,
    summarize,
)

USD, EUR = "CURRENCY#USD", "CURRENCY#EUR"
FIRST = date(2022, 1, 3)
DAYS = [FIRST + timedelta(days=i) for i in range(10)]  # 3 to 12 January
PENDING_DAY, OK_DAY = DAYS[3], DAYS[4]  # inside the range, not quarantined
LATER = date(2022, 1, 20)  # quarantined, outside the range
NOW = datetime(2022, 2, 1, 15, 0, tzinfo=UTC)


class VersionCounting(Store):
    """Counts the writes of the data version."""

    version_writes = 0
    whole_reads = 0

    def quarantined(self) -> list[Record]:
        self.whole_reads += 1
        return super().quarantined()  # type: ignore[safe-super,no-any-return]

    def put_meta(self, name: str, value: str) -> None:
        self.version_writes += name == DATA_VERSION
        super().put_meta(name, value)  # type: ignore[safe-super]

    def replace_meta(
        self, name: str, expected: str | None, value: str, ranked: datetime | None = None
    ) -> bool:
        self.version_writes += name == DATA_VERSION
        return super().replace_meta(name, expected, value, ranked)  # type: ignore[safe-super]


class CountingSqlite(VersionCounting, SqliteStore):
    pass


class CountingDynamo(VersionCounting, DynamoDbStore):
    pass


@pytest.fixture(params=["sqlite", pytest.param("dynalite", marks=pytest.mark.aws)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VersionCounting]:
    if request.param == "sqlite":
        with CountingSqlite(tmp_path / "store.sqlite") as opened:
            yield opened
        return
    server: LocalServer = request.getfixturevalue("dynalite_server")
    table = unique_name("bulk")
    create_table(server.client("dynamodb"), table, delay_s=0.05)
    yield CountingDynamo(server.client("dynamodb"), table)


def _quarantined(key: str, day: date, reason: str = "HTTP 503") -> Record:
    return Record(key, day, None, Status.QUARANTINED, retry_count=5, reason=reason)


def _fill(store: Store) -> None:
    """USD quarantined on every day of DAYS but one PENDING and one OK, and on LATER; EUR
    quarantined on a day of the range."""
    for day in DAYS:
        if day == OK_DAY:
            store.put_records([Record(USD, day, Decimal("5.5"), Status.OK)])
        elif day == PENDING_DAY:
            assert store.put_pending(
                Record(USD, day, None, Status.PENDING, next_attempt_at=NOW, reason="not yet")
            )
        else:
            assert store.put_pending(_quarantined(USD, day))
    assert store.put_pending(_quarantined(USD, LATER))
    assert store.put_pending(_quarantined(EUR, DAYS[2]))


def _statuses(store: Store, key: str) -> dict[date, Status]:
    return {r.date: r.status for r in store.query(key)}


def test_a_range_release_settles_exactly_the_quarantined_dates_in_it(
    store: VersionCounting,
) -> None:
    _fill(store)
    first, last = DAYS[1], DAYS[8]  # 4 to 11 January
    asked = select(store.quarantined(), {USD}, first, last)
    wanted = [d for d in DAYS[1:9] if d not in (PENDING_DAY, OK_DAY)]
    assert [r.date for r in asked] == wanted
    before = data_version(store)
    store.version_writes = 0

    assert settle_all(store, "release", asked, NOW) == len(wanted)

    assert store.version_writes == 1  # once for the command, not once a date
    assert data_version(store) != before
    statuses = _statuses(store, USD)
    assert {d for d, s in statuses.items() if s is Status.PENDING} == {*wanted, PENDING_DAY}
    assert statuses[OK_DAY] is Status.OK
    assert statuses[DAYS[0]] is statuses[DAYS[9]] is statuses[LATER] is Status.QUARANTINED
    assert _statuses(store, EUR) == {DAYS[2]: Status.QUARANTINED}
    (pending,) = store.query(USD, PENDING_DAY, PENDING_DAY)
    assert pending.reason == "not yet"  # a PENDING date in the range is not touched
    # each release kept as one date's is, with what it was quarantined with
    assert earlier_releases(store) == {(USD, d): [Release(NOW, 5, "HTTP 503")] for d in wanted}
    assert [(r.key, r.date) for r in store.quarantined()] == [
        (EUR, DAYS[2]), (USD, DAYS[0]), (USD, DAYS[9]), (USD, LATER)
    ]  # fmt: skip


def test_every_date_of_a_key_accepted_at_once(store: VersionCounting) -> None:
    _fill(store)
    asked = select(store.quarantined(), {USD})
    store.version_writes = 0

    assert settle_all(store, "accept", asked, NOW) == len(asked) == 9

    assert store.version_writes == 1
    statuses = _statuses(store, USD)
    assert [d for d, s in statuses.items() if s is Status.ABSENT] == [r.date for r in asked]
    assert (statuses[PENDING_DAY], statuses[OK_DAY]) == (Status.PENDING, Status.OK)
    assert [(r.key, r.date) for r in store.quarantined()] == [(EUR, DAYS[2])]
    assert earlier_releases(store) == {}  # an accept is said by the record itself


def test_dates_settled_meanwhile_are_left_and_nothing_settled_moves_no_version(
    store: VersionCounting,
) -> None:
    _fill(store)
    asked = select(store.quarantined(), {USD}, DAYS[0], DAYS[2])
    assert settle_all(store, "accept", asked[:1], NOW) == 1  # another person, meanwhile
    store.version_writes = 0
    ticks: list[tuple[int, int]] = []

    tick = lambda n, total: ticks.append((n, total))  # noqa: E731
    assert settle_all(store, "release", asked, NOW, tick, page_size=2) == 2

    assert ticks == [(2, 3), (3, 3)]  # a page of dates at a time
    assert _statuses(store, USD)[DAYS[0]] is Status.ABSENT  # not released: it was accepted
    store.version_writes = 0
    assert settle_all(store, "release", asked, NOW) == 0
    assert store.version_writes == 0


def test_stopped_part_way_the_dates_settled_still_move_the_data_version(
    store: VersionCounting,
) -> None:
    """Ctrl+C (or a store error) after two of seven: those two are released, and the data
    version moves for them (it moved only after the last date, so the health view kept
    counting them quarantined)."""
    _fill(store)
    asked = select(store.quarantined(), {USD}, DAYS[0], DAYS[9])
    assert len(asked) == 8
    store.version_writes = 0

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        settle_all(store, "release", asked, NOW, stop_after_two, page_size=1)

    assert store.version_writes == 1
    statuses = _statuses(store, USD)
    assert [d for d in DAYS if statuses[d] is Status.QUARANTINED] == [r.date for r in asked[2:]]
    assert set(earlier_releases(store)) == {(USD, r.date) for r in asked[:2]}


def test_select_and_summarize() -> None:
    at = datetime(2022, 1, 20, tzinfo=UTC)
    rows = [
        _quarantined(EUR, DAYS[1], "x").with_(updated_at=at),
        _quarantined(USD, DAYS[0], "HTTP 404").with_(updated_at=at + timedelta(hours=1)),
        _quarantined(USD, DAYS[1], "HTTP 503").with_(updated_at=at),
        _quarantined(USD, DAYS[2], "HTTP 503").with_(updated_at=at + timedelta(hours=2)),
    ]
    assert select(rows, {USD}, DAYS[1]) == rows[2:]
    assert select(rows, None, None, DAYS[1]) == rows[:3]
    assert select(rows, {EUR, USD}, DAYS[1], DAYS[1]) == [rows[0], rows[2]]
    assert summarize(rows) == [
        KeySummary(EUR, 1, DAYS[1], DAYS[1], at, "x", 1),
        KeySummary(USD, 3, DAYS[0], DAYS[2], at, "HTTP 503", 2),
    ]
    # equal counts: the reason of the earliest date
    assert summarize(rows[1:3])[0].reason == "HTTP 404"


def test_key_summaries_read_the_status_index_not_the_records(store: VersionCounting) -> None:
    """`quarantine list --summary` read every quarantined record whole (on DynamoDB each
    item, attributes and all) to count them per key; the status index's slim entries give the
    same summary (key_summaries did not exist)."""
    _fill(store)
    assert store.put_pending(_quarantined(EUR, DAYS[5], "HTTP 404"))
    assert store.put_pending(_quarantined(EUR, DAYS[6], "HTTP 404"))
    expected = summarize(store.quarantined())
    store.whole_reads = 0

    assert key_summaries(store) == expected
    assert key_summaries(store, {EUR}) == [s for s in expected if s.key == EUR]
    assert key_summaries(store, {"CURRENCY#GBP"}) == []
    assert store.whole_reads == 0
    eur = key_summaries(store, {EUR})[0]
    assert (eur.count, eur.reason, eur.reason_count) == (3, "HTTP 404", 2)
