"""`fuelpipe status` with a clock set before some of the stored data (--now 2022-01-01 on a
store filled to 2022-03): the columns stop at the clock, so present never exceeds expected,
and the values dated after it are counted apart."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from tests.stages.conftest import SP, START

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.dashboard.health import series_health
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.status import key_status, status


def test_values_after_the_clock_are_counted_apart_not_as_present(make_app, table_source, usd):
    app = make_app(table_source())
    days = [START + timedelta(days=n) for n in range(60)]
    days = [d for d in days if d.weekday() < 5]
    app.store.put_records([Record(usd.key, d, Decimal("5.0"), Status.OK) for d in days])
    clock = datetime(2022, 1, 20, 20, 0, tzinfo=SP)  # before most of the data
    st = key_status(app, usd, now=clock)
    assert st.present <= st.expected
    assert st.last is not None and date.fromisoformat(st.last) <= clock.date()
    before = [d for d in days if d <= usd.published_through(clock)]
    assert st.present == len(before)
    assert st.after_clock == len(days) - len(before) > 0
    assert st.as_dict()["after_clock"] == st.after_clock
    # At a clock after every value nothing is counted apart.
    late = key_status(app, usd, now=datetime(2022, 6, 1, 20, 0, tzinfo=SP))
    # (the weekdays that are banking holidays are stored but not expected: unexpected)
    assert (late.present + late.unexpected, late.after_clock) == (len(days), 0)
    assert late.unexpected > 0 and late.present <= late.expected


def test_a_key_with_only_values_after_the_clock_is_still_listed(make_app, table_source, usd):
    app = make_app(table_source(), clock=ManualClock(datetime(2021, 6, 1, 20, 0, tzinfo=SP)))
    app.store.put_records([Record(usd.key, START, Decimal("5.0"), Status.OK)])
    (row,) = status(app, [usd], stored_only=True)
    assert (row.present, row.after_clock) == (0, 1)
    # Counted from its first stored date, which is after the clock: nothing is expected yet,
    # so nothing is missing (not every banking day since the catalog's start).
    assert (row.expected, row.missing, row.first) == (0, 0, None)


def test_the_count_starts_at_the_first_stored_date_even_after_the_clock(
    make_app, table_source, usd
):
    """A clock a few weeks before the first stored value: the key expects nothing (it was
    counted from the catalog's start, thousands of dates missing before its first value);
    the panel's health view, on the same clock, counts the same."""
    app = make_app(table_source())
    days = [START + timedelta(days=n) for n in range(30)]
    days = [d for d in days if d.weekday() < 5]
    app.store.put_records([Record(usd.key, d, Decimal("5.0"), Status.OK) for d in days])
    clock = datetime(2021, 12, 1, 20, 0, tzinfo=SP)
    row = key_status(app, usd, now=clock)
    assert (row.expected, row.present, row.missing, row.after_clock) == (0, 0, 0, len(days))
    health = series_health(usd, app.store.present(usd.key), clock)
    assert (health.expected, health.present, health.first) == (0, 0, None)
    assert health.completeness is None
    # --since before the clock still counts from --since (the operator asked for it).
    since = date(2021, 11, 1)
    asked = key_status(app, usd, since, now=clock)
    assert asked.expected == asked.missing > 0 and asked.after_clock == len(days)


def test_since_after_a_keys_last_record_lists_the_key_with_its_missing_dates(
    make_app, table_source, usd
):
    """`status --since` after a key's last stored date (a store not run for weeks): the key
    was left out as one with no record (`status` said "no record of CURRENCY#USD in this
    store yet", `--json` gave []), hiding the very dates the operator asked about. A key
    with a record anywhere is listed, its counts from --since."""
    app = make_app(table_source())
    days = [d for d in (START + timedelta(days=n) for n in range(30)) if d.weekday() < 5]
    app.store.put_records([Record(usd.key, d, Decimal("5.0"), Status.OK) for d in days])
    clock = datetime(2022, 3, 1, 20, 0, tzinfo=SP)
    since = days[-1] + timedelta(days=14)
    (row,) = status(app, [usd], since, stored_only=True, now_of={usd.key: clock})
    assert row.key == usd.key
    assert row.expected == row.missing > 0 and row.present == 0
    # A key with no record at all is still left out.
    eur = app.catalog["CURRENCY#EUR"]
    assert status(app, [eur], since, stored_only=True, now_of={eur.key: clock}) == []


def test_the_health_row_gives_every_count_status_gives_missing_too(make_app, table_source, usd):
    """An audit of a damaged demo store checked the health view against `fuelpipe status`:
    the row had no `missing`, so expected less present could not be told apart into dates
    never stored and dates PENDING, QUARANTINED or ABSENT. Synthetic damage: a deleted date,
    a PENDING one and an ABSENT one in two weeks of USD."""
    app = make_app(table_source())
    days = [d for d in (START + timedelta(days=n) for n in range(14)) if d.weekday() < 5]
    gone, waiting, none = days[2], days[4], days[6]
    app.store.put_records(
        [
            Record(usd.key, d, Decimal("5.0"), Status.OK)
            for d in days
            if d not in (gone, waiting, none)
        ]
    )
    app.store.put_pending(Record(usd.key, none, None, Status.ABSENT, reason="no value"))
    app.store.put_pending(Record(usd.key, waiting, None, Status.PENDING, 1, None, "HTTP 503"))
    now = usd.schedule.published_at(days[-1]) + timedelta(hours=1)
    st = key_status(app, usd, now=now)
    row = series_health(usd, app.store.present(usd.key), now)
    assert (st.missing, st.pending, st.absent) == (1, 1, 1), st
    said = row.model_dump()
    for name in ("expected", "present", "missing", "pending", "quarantined", "absent"):
        assert said[name] == getattr(st, name), name
