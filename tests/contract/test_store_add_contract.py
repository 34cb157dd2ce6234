"""The Store port's conditional add (``add_records``) and attribute revisions, on every backend.

``add_records`` is how the scraper stores values: it never overwrites an OK record, so two
scrapers storing one date at once cannot replace a value without its history.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from tests.contract.conftest import StoreOpener

from fuelpipe.domain.models import Record, Revision, Status
from fuelpipe.domain.numbers import TooManyDigits
from fuelpipe.ports.store import Store

KEY = "FUEL#GASOLINE#SP"
D0 = date(2024, 6, 2)
NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


def ok(day: date, value: str, **attrs: object) -> Record:
    return Record(KEY, day, Decimal(value), Status.OK, attrs=dict(attrs))  # type: ignore[arg-type]


def one(store: Store, day: date = D0) -> Record:
    (found,) = store.query(KEY, day, day)
    return found


def test_add_creates_new_records_and_replaces_only_records_without_a_value(store: Store) -> None:
    d1, d2, d3 = (D0 + timedelta(days=7 * i) for i in (1, 2, 3))
    assert store.put_pending(Record(KEY, d1, None, Status.PENDING, next_attempt_at=NOW))
    assert store.put_pending(Record(KEY, d2, None, Status.QUARANTINED, reason="gave up"))
    assert store.put_pending(Record(KEY, d3, None, Status.ABSENT, reason="no value"))
    assert store.add_records([ok(D0, "6.1", stations=12), ok(d1, "6.2"), ok(d2, "6.3")]) == []
    assert store.add_records([ok(d3, "6.4")]) == []
    got = store.query(KEY)
    assert [(r.date, r.status, r.value) for r in got] == [
        (D0, Status.OK, Decimal("6.1")),
        (d1, Status.OK, Decimal("6.2")),
        (d2, Status.OK, Decimal("6.3")),
        (d3, Status.OK, Decimal("6.4")),
    ]
    assert got[0].attrs == {"stations": 12}
    assert store.due_pending(NOW + timedelta(days=365)) == []  # it left the retry index
    assert store.quarantined() == []


def test_add_never_overwrites_an_ok_record_and_names_it(store: Store) -> None:
    store.put_records([ok(D0, "6.10", stations=12)])
    later = D0 + timedelta(days=7)
    refused = store.add_records([ok(D0, "6.99", stations=13), ok(later, "6.2")])
    assert refused == [(KEY, D0)]
    assert one(store).value == Decimal("6.10")
    assert one(store).attrs == {"stations": 12}
    assert one(store, later).value == Decimal("6.2")
    # The same value again is refused too (nothing to do): the caller compares.
    assert store.add_records([ok(later, "6.2")]) == [(KEY, later)]


def test_the_last_of_duplicate_keys_is_the_one_added(store: Store) -> None:
    assert store.add_records([ok(D0, "1"), ok(D0, "2")]) == []
    assert one(store).value == Decimal("2")


def test_two_clients_adding_one_date_at_once_exactly_one_is_stored(
    store_opener: StoreOpener,
) -> None:
    clients = [store_opener() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    refused: dict[int, list[tuple[str, date]]] = {}

    def add(i: int) -> None:
        barrier.wait()
        refused[i] = clients[i].add_records([ok(D0, f"6.{i}")])

    threads = [threading.Thread(target=add, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, slots in refused.items() if not slots]
    assert len(winners) == 1, refused
    assert one(clients[0]).value == Decimal(f"6.{winners[0]}")
    assert all(slots == [(KEY, D0)] for i, slots in refused.items() if i != winners[0])


def test_a_revision_keeps_the_attributes_it_replaced(store: Store) -> None:
    store.put_records([ok(D0, "6.10", stations=12, sd=Decimal("0.25"))])
    attrs_only = Revision(
        Decimal("6.10"), Decimal("6.10"), NOW, "anp r1", {"stations": 12, "sd": Decimal("0.25")}
    )
    assert store.revise(KEY, D0, attrs_only, {"stations": 14, "sd": Decimal("0.31")})
    value_too = Revision(Decimal("6.10"), Decimal("6.2"), NOW, "anp r2", None)
    assert store.revise(KEY, D0, value_too, {"stations": 14, "sd": Decimal("0.31")})
    got = one(store)
    assert got.value == Decimal("6.2")
    assert got.attrs == {"stations": 14, "sd": Decimal("0.31")}
    assert got.revisions == (attrs_only, value_too)
    assert got.revisions[0].previous_attrs == {"stations": 12, "sd": Decimal("0.25")}


def test_compared_reads_the_ok_values_around_and_the_ok_records_of_the_days(
    store: Store,
) -> None:
    w = [D0 + timedelta(days=7 * i) for i in range(7)]
    store.put_records([ok(w[0], "5.9"), ok(w[1], "6.0", stations=10), ok(w[3], "6.2", unit="x")])
    store.put_records([ok(w[5], "6.4")])  # outside the range read
    assert store.put_pending(Record(KEY, w[2], None, Status.PENDING, next_attempt_at=NOW))
    assert store.put_pending(Record(KEY, w[4], None, Status.ABSENT, reason="no value"))
    revision = Revision(Decimal("6.0"), Decimal("6.05"), NOW, "scrape", {"stations": 10})
    assert store.revise(KEY, w[1], revision, {"stations": 11}, history=0)
    values, records = store.compared(KEY, w[0], w[4], {w[1], w[2], w[4], w[6]}, ["attrs"])
    # Neighbours: every OK value of the range (none of another status); records: the OK ones
    # of the days asked, with the fields asked read (key, date and status always).
    assert values == {w[0]: Decimal("5.9"), w[1]: Decimal("6.05"), w[3]: Decimal("6.2")}
    assert list(records) == [w[1]]
    assert (records[w[1]].key, records[w[1]].status) == (KEY, Status.OK)
    assert records[w[1]].attrs == {"stations": 11}
    values, records = store.compared(KEY, w[0], w[6], {w[3], w[5]}, ["value", "attrs", "revisions"])
    assert list(values) == [w[0], w[1], w[3], w[5]]
    read = store.query(KEY, w[3], w[5], ["value", "attrs", "revisions"])
    assert records == {r.date: r for r in read if r.date != w[4]}
    assert records[w[3]].attrs == {"unit": "x"}
    (history,) = store.compared(KEY, w[1], w[1], {w[1]}, ["revisions"])[1][w[1]].revisions
    assert (history.previous, history.new) == (Decimal("6.0"), Decimal("6.05"))
    assert store.compared("FUEL#NONE#SP", w[0], w[6], {w[0]}, ["value"]) == ({}, {})


def test_put_pendings_is_put_pending_for_each_record_in_order(store: Store) -> None:
    days = [D0 + timedelta(days=7 * i) for i in range(40)]
    store.put_records([ok(days[0], "6.1")])
    assert store.put_pending(Record(KEY, days[1], None, Status.PENDING, 2, NOW, "old"))
    marks = [
        Record(KEY, d, None, Status.PENDING, next_attempt_at=NOW, reason="HTTP 503")
        for d in days[:3]
    ] + [Record(KEY, d, None, Status.ABSENT, reason="no value") for d in days[3:]]
    written = store.put_pendings(marks)
    assert written == [False, True, True] + [True] * (len(days) - 3)  # OK stays OK
    got = {r.date: r for r in store.query(KEY)}
    assert got[days[0]].status is Status.OK
    assert (got[days[1]].status, got[days[1]].retry_count) == (Status.PENDING, 2)  # kept
    assert got[days[1]].reason == "HTTP 503"
    assert got[days[2]].status is Status.PENDING
    assert {got[d].status for d in days[3:]} == {Status.ABSENT}
    assert [r.date for r in store.due_pending(NOW + timedelta(days=1))] == days[1:3]
    assert store.put_pendings([]) == []


def test_create_pendings_creates_only_where_no_record_is(store: Store) -> None:
    """A message's last delivery (stages/scrape.py ``hold_last_delivery``): a record of any
    status, a PENDING one's retry state and reason too, is left whole."""
    days = [D0 + timedelta(days=7 * i) for i in range(6)]
    store.put_records([ok(days[0], "6.1")])
    assert store.put_pending(Record(KEY, days[1], None, Status.PENDING, 2, NOW, "HTTP 503"))
    assert store.put_pending(Record(KEY, days[2], None, Status.QUARANTINED, reason="gave up"))
    assert store.put_pending(Record(KEY, days[3], None, Status.ABSENT, reason="no value"))
    before = {r.date: r for r in store.query(KEY)}
    due = NOW + timedelta(hours=1)
    held = [Record(KEY, d, None, Status.PENDING, 0, due, "the worker stopped") for d in days]
    assert store.create_pendings(held) == [False, False, False, False, True, True]
    got = {r.date: r for r in store.query(KEY)}
    assert {d: got[d] for d in days[:4]} == before  # untouched, updated_at and all
    for day in days[4:]:
        assert (got[day].status, got[day].retry_count, got[day].reason) == (
            Status.PENDING,
            0,
            "the worker stopped",
        )
    assert [r.date for r in store.due_pending(due)] == [days[1], days[4], days[5]]
    assert set(store.pending_marks([(KEY, days[4])])) == {(KEY, days[4])}  # PENDING since
    assert store.create_pendings(held) == [False] * len(days)  # the same again: nothing
    assert store.create_pendings([]) == []
    with pytest.raises(ValueError, match="PENDING records only"):
        store.create_pendings([Record(KEY, D0 + timedelta(days=99), None, Status.ABSENT)])
    assert len(store.query(KEY)) == len(days)


def test_a_revision_seen_against_an_older_history_is_refused(store: Store) -> None:
    """Two writers read (6.10, stations=12); the first revises the attributes only (the value
    stays 6.10): the second's revision, from the same read, must not pass on the value alone."""
    store.put_records([ok(D0, "6.10", stations=12)])
    first = Revision(Decimal("6.10"), Decimal("6.10"), NOW, "w1", {"stations": 12})
    assert store.revise(KEY, D0, first, {"stations": 13}, history=0)
    second = Revision(Decimal("6.10"), Decimal("6.10"), NOW, "w2", {"stations": 12})
    assert not store.revise(KEY, D0, second, {"stations": 14}, history=0)
    assert one(store).attrs == {"stations": 13}
    # read again: one revision seen, and the second writer's goes on top of it
    again = Revision(Decimal("6.10"), Decimal("6.10"), NOW, "w2", {"stations": 13})
    assert store.revise(KEY, D0, again, {"stations": 14}, history=1)
    assert [r.previous_attrs for r in one(store).revisions] == [{"stations": 12}, {"stations": 13}]


def test_add_values_stores_and_refuses_exactly_as_add_records(store: Store) -> None:
    # The scraper's write: add_records of OK records given a column at a time. Two keys get
    # the same history, one through each; the records read back differ only in their key.
    rows = [
        (D0, "6.10", {"stations": 12, "std": Decimal("0.150"), "unit": "BRL/l"}),
        (D0 + timedelta(days=7), "6.2", {}),
        (D0 + timedelta(days=14), "1E+2", {"note": 'a "quoted" %s', "cv": None}),
        (D0 + timedelta(days=21), "6.30", {"stations": 3}),
        (D0 + timedelta(days=21), "6.31", {"stations": 4}),  # the last duplicate is added
    ]
    before = D0 + timedelta(days=7)
    got: dict[str, tuple[list[date], list[tuple[object, ...]]]] = {}
    for key, through_columns in (("FUEL#A#SP", False), ("FUEL#B#SP", True)):
        store.put_records([Record(key, D0, Decimal("5"), Status.OK)])  # refused: stays 5
        assert store.put_pending(Record(key, before, None, Status.PENDING, next_attempt_at=NOW))
        if through_columns:
            refused = store.add_values(
                [key] * len(rows),
                [day for day, _, _ in rows],
                [Decimal(value) for _, value, _ in rows],
                [dict(attrs) for _, _, attrs in rows],
            )
        else:
            refused = store.add_records(
                [Record(key, d, Decimal(v), Status.OK, attrs=dict(a)) for d, v, a in rows]
            )
        read = [
            (r.date, r.status, str(r.value), r.attrs, r.retry_count, r.next_attempt_at, r.reason)
            for r in store.query(key)
        ]
        got[key] = ([day for _, day in refused], read)
    assert got["FUEL#A#SP"] == got["FUEL#B#SP"]
    assert got["FUEL#B#SP"][0] == [D0]
    assert [row[2] for row in got["FUEL#B#SP"][1]] == ["5", "6.2", "100", "6.31"]


def test_add_values_refuses_a_number_too_long_naming_its_record(store: Store) -> None:
    too_long = Decimal("1." + "0" * 37 + "1")  # 39 significant digits
    with pytest.raises(TooManyDigits, match=f"{KEY} {D0}"):
        store.add_values([KEY], [D0], [too_long], [{}])
    assert store.query(KEY) == []
