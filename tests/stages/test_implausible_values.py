"""Values set aside as implausible: judged by plausible neighbours only, and never silently.

A value more than 5x from each neighbour is set aside (flagged); a neighbour that is itself
such a value judges nothing. Before, 77.1 / 780.0 / 78.2 set aside all three (each was 5x
from a neighbour: the bad one), so two good closes went PENDING with the bad one. A value
set aside for a date that is OK already (``revise`` re-reading it) or that no message asked
for used to leave no trace: its reason is logged now, the value is kept as a
``set_aside#<key>#<date>`` meta entry until a later answer carries a kept value for the date
(the tests at the end), and ``flagged`` counts the values really set aside.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.contract.conftest import STORE_FACTORIES
from tests.stages.conftest import NOW, POLICY
from tests.support.fakes import SaysNoValue, TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.source import FetchRequest, FetchResult, TransientSourceError
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import scrape_changed
from fuelpipe.stages.scrape import scrape
from fuelpipe.stages.set_aside import SetAside, keep_set_aside, set_aside_entries

BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]
DAYS = [date(2022, 1, 4), date(2022, 1, 5), date(2022, 1, 6)]


def _request(origin: str = "gap") -> DownloadRequest:
    return DownloadRequest(
        partition_key=BRENT.key, dates_to_download=DAYS, fetch_unit=BRENT.fetch_unit, origin=origin
    )


def _source(*values: str) -> TableSource:
    return TableSource(
        "fred", {(BRENT.key, d): Decimal(v) for d, v in zip(DAYS, values, strict=True)}
    )


def _stored(app) -> list[tuple[date, Status, Decimal | None]]:
    return [(r.date, r.status, r.value) for r in app.store.query(BRENT.key, DAYS[0], DAYS[-1])]


def _middle_set_aside(app) -> Record:
    """Scrape the three days; the middle one set aside (PENDING, returned), the others stored."""
    report = scrape(app, _request())
    assert (report.flagged, report.records_written, report.pending_written) == (1, 2, 1)
    assert _stored(app) == [
        (DAYS[0], Status.OK, Decimal("77.1")),
        (DAYS[1], Status.PENDING, None),
        (DAYS[2], Status.OK, Decimal("78.2")),
    ]
    [pending] = app.store.pending()
    return pending


def test_a_spike_at_the_edge_of_an_answer_does_not_take_its_good_neighbours(make_app) -> None:
    app = make_app(_source("77.1", "780.0", "78.2"))
    pending = _middle_set_aside(app)
    assert (
        pending.reason == "implausible value 780.0: more than 5x from its neighbours (77.1, 78.2)"
    )


def test_a_spike_of_two_days_is_set_aside_and_the_good_day_after_kept(make_app) -> None:
    days = [date(2022, 1, d) for d in (3, 4, 5, 6, 7, 10)]
    values = ["77.0", "77.5", "78.0", "780.0", "790.0", "78.2"]
    source = TableSource(
        "fred", {(BRENT.key, d): Decimal(v) for d, v in zip(days, values, strict=True)}
    )
    app = make_app(source)
    request = DownloadRequest(
        partition_key=BRENT.key, dates_to_download=days, fetch_unit=BRENT.fetch_unit, origin="gap"
    )
    report = scrape(app, request)
    # Before, 780.0 and 790.0 judged each other plausible and the good 78.2 at the end was
    # set aside by its one neighbour, 790.0.
    assert (report.flagged, report.pending_written) == (2, 2)
    stored = {r.date: (r.status, r.value) for r in app.store.query(BRENT.key, days[0], days[-1])}
    assert stored[days[-1]] == (Status.OK, Decimal("78.2"))
    assert [stored[d][0] for d in days[3:5]] == [Status.PENDING, Status.PENDING]
    reasons = {r.date: r.reason for r in app.store.pending()}
    assert reasons[days[3]] == (
        "implausible value 780.0: more than 5x from its neighbours (78.0, 78.2)"
    )


def test_a_value_set_aside_for_a_date_stored_already_is_logged(make_app, caplog) -> None:
    source = _source("77.1", "78.0", "78.2")
    app = make_app(source)
    scrape(app, _request())
    source.values[(BRENT.key, DAYS[1])] = Decimal("780.0")  # a bad cell in a later answer

    with caplog.at_level(logging.WARNING, logger="fuelpipe.stages.scrape"):
        report = scrape(app, _request("revise"))

    assert report.flagged == 1 and report.revised == 0
    assert [value for _, _, value in _stored(app)] == [Decimal(v) for v in ("77.1", "78.0", "78.2")]
    [logged] = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert logged.levelno == logging.WARNING
    assert logged.getMessage() == (
        "revise fred:DCOILBRENTEU 2022-01-04..2022-01-06: COMMODITY#BRENT 2022-01-05: "
        "value 780.0 set aside, not stored: implausible value 780.0: more than 5x from its "
        "neighbours (77.1, 78.2)"
    )


LONG = "78.1000000000000000000000000000000000000001"  # 42 significant digits; a store holds 38
TOO_LONG = (
    f"value no store can keep: {LONG} has 42 digits written out without an exponent; "
    "a store holds at most 38 exactly"
)


def test_a_value_too_long_to_store_exactly_costs_its_date_only(make_app) -> None:
    """Before, the store's refusal (TooManyDigits) failed the whole answer: none of its other
    values was stored or marked, and the message failed on every delivery."""
    app = make_app(_source("77.1", LONG, "78.2"))
    pending = _middle_set_aside(app)
    assert pending.reason == TOO_LONG  # the value as published, and the limit


def test_a_value_too_long_to_store_is_quarantined_once_its_retries_are_spent(make_app) -> None:
    """Set aside as an implausible value is: retried while its re-downloads last (the source
    may correct it), then quarantined for a person, the published value in the note."""
    app = make_app(_source("77.1", LONG, "78.2"))
    spent = app.policy.max_retries  # the date's re-downloads, every one answered so
    assert app.store.put_pending(Record(BRENT.key, DAYS[1], None, Status.PENDING, spent))

    report = scrape(app, _request("retry"))

    assert report.quarantined == 1
    [kept] = app.store.quarantined()
    assert kept.date == DAYS[1]
    assert kept.reason == f"{TOO_LONG} (gave up after 5 re-downloads)"


class _LongAttribute(TableSource):
    """Serves the values with an ``open`` too long to store exactly on the middle date."""

    def fetch(self, request: FetchRequest) -> FetchResult:
        result = super().fetch(request)
        result.observations[:] = [
            replace(o, attrs={"open": Decimal(LONG)}) if o.date == DAYS[1] else o
            for o in result.observations
        ]
        return result


def test_an_attribute_too_long_to_store_sets_its_value_aside(make_app) -> None:
    values = {(BRENT.key, d): Decimal(v) for d, v in zip(DAYS, "789", strict=True)}
    app = make_app(_LongAttribute("fred", values))
    report = scrape(app, _request())
    assert (report.flagged, report.records_written) == (1, 2)
    [pending] = app.store.pending()
    assert pending.reason == TOO_LONG.replace("value", "attribute open", 1)


class _TinyAttribute(TableSource):
    """Serves the values with an ``open`` below DynamoDB's range (1E-131) on the middle date."""

    def fetch(self, request: FetchRequest) -> FetchResult:
        result = super().fetch(request)
        result.observations[:] = [
            replace(o, attrs={"open": Decimal("1E-131")}) if o.date == DAYS[1] else o
            for o in result.observations
        ]
        return result


@pytest.fixture(params=["sqlite", "dynamodb-dynalite", "dynamodb-moto"])
def home_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable]:
    """``make_app`` on a real store of each home (a SQLite file, a DynamoDB table)."""
    open_store = STORE_FACTORIES[request.param](request, tmp_path)
    opened: list[StageContext] = []

    def build(source: TableSource) -> StageContext:
        clock = ManualClock(NOW)
        opened.append(
            StageContext(
                catalog=DEFAULT_CATALOG,
                store=open_store(clock, None),
                queue=SqliteQueue(tmp_path / "queue.sqlite", clock, timedelta(seconds=30)),
                sources={source.name: source},
                clock=clock,
                policy=POLICY,
            )
        )
        return opened[-1]

    yield build
    for app in opened:
        app.queue.close()
        closer = getattr(app.store, "close", None)
        if callable(closer):
            closer()


def test_a_number_out_of_dynamodbs_range_costs_its_date_only_in_both_homes(home_app) -> None:
    """Before, 1E-131 (one digit) passed the set-aside: SQLite stored it, and DynamoDB refused
    the write ("Number underflow"), failing the whole answer on the AWS home."""
    values = {(BRENT.key, d): Decimal(v) for d, v in zip(DAYS, "789", strict=True)}
    app = home_app(_TinyAttribute("fred", values))
    report = scrape(app, _request())
    assert (report.flagged, report.records_written) == (1, 2)
    assert [(d, s) for d, s, _ in _stored(app)] == [
        (DAYS[0], Status.OK),
        (DAYS[1], Status.PENDING),
        (DAYS[2], Status.OK),
    ]
    [pending] = app.store.pending()
    assert pending.reason == (
        "attribute open no store can keep: 1E-131 is out of the range a store holds (a "
        "magnitude from 1E-130 to 9.99…E+125, or zero)"
    )


# A value set aside for a date stored already is kept where a person sees it (a meta entry per
# key and date, shown by the health view and `fuelpipe quarantine set-aside`). Before, it
# survived in the log line above only: no record, no PENDING entry, nothing on the health page.


def _kept(app: StageContext) -> list[SetAside]:
    return set_aside_entries(app.store)


def test_a_value_too_long_for_a_stored_date_is_kept_in_both_homes(home_app) -> None:
    source = _source("77.1", "78.0", "78.2")
    app = home_app(source)
    scrape(app, _request())
    source.values[(BRENT.key, DAYS[1])] = Decimal(LONG)  # the source revises 78.0, too long

    report = scrape(app, _request("revise"))

    assert (report.flagged, report.revised, report.set_aside_kept) == (1, 0, 1)
    assert [value for _, _, value in _stored(app)][1] == Decimal("78")  # the stored value stays
    [kept] = _kept(app)
    assert (kept.key, kept.date, kept.value, kept.reason) == (BRENT.key, DAYS[1], LONG, TOO_LONG)
    assert kept.seen_by == "revise fred:DCOILBRENTEU 2022-01-04..2022-01-06"
    assert kept.first_seen == kept.last_seen == NOW
    assert scrape_changed(report)  # the health view shows it: its stored views go stale

    again = scrape(app, _request("revise"))  # redelivered, at the same instant
    assert (again.flagged, again.set_aside_kept, again.set_aside_cleared) == (1, 0, 0)
    assert _kept(app) == [kept]


def test_an_implausible_jump_on_a_stored_date_is_kept_until_the_source_takes_it_back(
    home_app,
) -> None:
    source = _source("77.1", "78.0", "78.2")
    app = home_app(source)
    scrape(app, _request())
    source.values[(BRENT.key, DAYS[1])] = Decimal("780.0")

    scrape(app, _request("revise"))
    [kept] = _kept(app)
    assert (kept.date, kept.value) == (DAYS[1], "780.0")
    assert kept.reason == "implausible value 780.0: more than 5x from its neighbours (77.1, 78.2)"

    # A day later the source still publishes it: one entry, seen since the first answer.
    later = NOW + timedelta(days=1)
    assert isinstance(app.clock, ManualClock)
    app.clock.set(later)
    report = scrape(app, _request("revise"))
    [still] = _kept(app)
    assert (still.first_seen, still.last_seen, report.set_aside_kept) == (NOW, later, 0)

    # An answer leaving the date out tells nothing: the entry stays.
    del source.values[(BRENT.key, DAYS[1])]
    assert scrape(app, _request("revise")).set_aside_cleared == 0
    assert _kept(app) == [still]

    # The source publishes the stored value again: nothing is set aside any more.
    source.values[(BRENT.key, DAYS[1])] = Decimal("78.0")
    report = scrape(app, _request("revise"))
    assert (report.flagged, report.set_aside_cleared) == (0, 1)
    assert _kept(app) == []
    assert scrape_changed(report)


def test_a_value_still_published_moves_last_seen_but_no_data_version(home_app) -> None:
    """The daily revise re-reads the same answer: the value set aside is seen again, its
    ``last_seen`` moves, and nothing a view shows changed. Before, that write counted as a
    change (``set_aside_kept``), so the data version moved every day and the dashboard's
    stored views and outlook were computed again for nothing."""
    source = _source("77.1", "78.0", "78.2")
    app = home_app(source)
    scrape(app, _request())
    source.values[(BRENT.key, DAYS[1])] = Decimal("780.0")
    assert scrape_changed(scrape(app, _request("revise")))  # a new value set aside: a change
    assert isinstance(app.clock, ManualClock)

    for day in (1, 2):
        app.clock.set(NOW + timedelta(days=day))
        report = scrape(app, _request("revise"))
        [kept] = _kept(app)
        assert (kept.first_seen, kept.last_seen) == (NOW, NOW + timedelta(days=day))
        assert (report.flagged, report.set_aside_kept, report.set_aside_cleared) == (1, 0, 0)
        assert not scrape_changed(report)

    # Another value for the date is a change again (first seen now).
    source.values[(BRENT.key, DAYS[1])] = Decimal("781.0")
    report = scrape(app, _request("revise"))
    [kept] = _kept(app)
    assert (kept.value, kept.first_seen, report.set_aside_kept) == ("781.0", app.clock.now(), 1)
    assert scrape_changed(report)


def test_a_kept_value_goes_once_a_later_answer_revises_the_date(make_app) -> None:
    source = _source("77.1", "78.0", "78.2")
    app = make_app(source)
    scrape(app, _request())
    source.values[(BRENT.key, DAYS[1])] = Decimal(LONG)
    scrape(app, _request("revise"))
    assert len(_kept(app)) == 1

    source.values[(BRENT.key, DAYS[1])] = Decimal("78.1")  # the source corrects its cell
    report = scrape(app, _request("revise"))

    assert (report.revised, report.set_aside_cleared) == (1, 1)
    assert _kept(app) == []


def test_a_stored_value_published_again_is_not_kept_as_set_aside(make_app) -> None:
    """A value stored before its neighbours were (780.0, put alone), far from them, and
    published again: the neighbour check sets it aside, but it is what the store holds, so
    nothing is kept (the source published nothing different)."""
    app = make_app(_source("77.1", "780.0", "78.2"))
    app.store.put_records([Record(BRENT.key, DAYS[1], Decimal("780.0"), Status.OK)])
    scrape(app, _request())
    # An entry kept from an answer that published another value for the date
    assert keep_set_aside(app.store, {(BRENT.key, DAYS[1]): (Decimal(LONG), TOO_LONG)}, "r", NOW)

    report = scrape(app, _request("revise"))

    assert (report.flagged, report.set_aside_kept, report.set_aside_cleared) == (1, 0, 1)
    assert _kept(app) == []


def test_a_signalling_nan_on_a_stored_date_is_kept_not_raised(make_app) -> None:
    """Not finite, so set aside (check_observation); kept as published: comparing it with the
    stored value (an equal one keeps nothing) would raise InvalidOperation and fail the
    message on every delivery."""
    app = make_app(_source("77.1", "78.0", "78.2"))
    scrape(app, _request())
    why = "implausible value sNaN (not a finite number)"

    assert keep_set_aside(app.store, {(BRENT.key, DAYS[1]): (Decimal("sNaN"), why)}, "r", NOW) == (
        1,
        0,
    )
    [kept] = _kept(app)
    assert (kept.value, kept.reason) == ("sNaN", why)


SPIKE = "implausible value 780.0: more than 5x from its neighbours (77.1, 78.2)"


@pytest.mark.parametrize("spent", [False, True])
def test_a_value_set_aside_on_a_pending_date_is_kept_once_a_later_failure_takes_its_reason(
    home_app, spent: bool
) -> None:
    """The PENDING record's reason was the one trace of the value set aside (no entry, no log
    line: the record carried it). The retry's request failed and the record took the error
    as its reason (or, its re-downloads spent, was quarantined with it): the value the source
    published was nowhere any more."""
    source = _source("77.1", "780.0", "78.2")
    app = home_app(source)
    pending = _middle_set_aside(app)
    assert pending.reason == SPIKE
    assert _kept(app) == []  # the record carries it
    if spent:
        assert app.store.claim_retry(BRENT.key, DAYS[1], 0, app.policy.max_retries, NOW)
    source.failures.append(TransientSourceError("HTTP 503"))

    report = scrape(app, _request("retry"))

    [record] = app.store.query(BRENT.key, DAYS[1], DAYS[1])
    assert record.status is (Status.QUARANTINED if spent else Status.PENDING)
    assert record.reason is not None and record.reason.startswith("TransientSourceError")
    [kept] = _kept(app)
    assert (kept.date, kept.value, kept.reason) == (DAYS[1], "780.0", SPIKE)
    assert kept.seen_by == "gap fred:DCOILBRENTEU 2022-01-04..2022-01-06"
    assert kept.first_seen == NOW
    assert report.set_aside_kept == 1 and scrape_changed(report)

    # The source corrects it: a plausible value is stored, and the entry goes.
    source.values[(BRENT.key, DAYS[1])] = Decimal("78.0")
    if spent:
        assert scrape(app, _request("revise")).set_aside_cleared == 1
    else:
        assert scrape(app, _request("retry")).set_aside_cleared == 1
    assert _kept(app) == []
    assert [value for _, _, value in _stored(app)] == [Decimal(v) for v in ("77.1", "78", "78.2")]


def test_a_value_set_aside_on_a_pending_date_is_kept_once_the_source_says_no_value(
    home_app,
) -> None:
    """A later answer with the source's own "no value" for the date, its window past, makes
    it ABSENT with the source's reason: the value set aside that the PENDING record's reason
    named is kept as an entry first."""
    source = SaysNoValue(
        "fred",
        {(BRENT.key, d): Decimal(v) for d, v in zip(DAYS, ("77.1", "780.0", "78.2"), strict=True)},
        no_value=set(),
    )
    app = home_app(source)
    assert _middle_set_aside(app).reason == SPIKE
    del source.values[(BRENT.key, DAYS[1])]
    source.no_value.add((BRENT.key, DAYS[1]))

    report = scrape(app, _request("retry"))

    assert report.absent_written == 1
    [record] = app.store.query(BRENT.key, DAYS[1], DAYS[1])
    assert (record.status, record.reason) == (Status.ABSENT, "the source says: no value")
    [kept] = _kept(app)
    assert (kept.date, kept.value, kept.reason) == (DAYS[1], "780.0", SPIKE)
    assert report.set_aside_kept == 1
