"""`fuelpipe status` and the dashboard's health view count completeness with one function."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.stages.conftest import NOW, START

from fuelpipe.dashboard.health import series_health
from fuelpipe.dashboard.schemas import DECIMALS
from fuelpipe.domain.completeness import completeness
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.status import key_status


def test_the_cli_and_the_panel_agree_on_a_series_with_gaps_and_retries(make_app, table_source, usd):
    app = make_app(table_source())
    days = [
        START + timedelta(days=i) for i in range(40) if (START + timedelta(days=i)).weekday() < 5
    ]
    app.store.put_records([Record(usd.key, d, Decimal("5.1"), Status.OK) for d in days[:20]])
    app.store.put_pending(Record(usd.key, days[25], None, Status.PENDING, 0, NOW, "no value"))

    row = key_status(app, usd)
    health = series_health(usd, app.store.present(usd.key), app.clock.now())
    shared = completeness(usd, app.store.present(usd.key), app.clock.now())

    assert (row.expected, row.present, row.pending) == (health.expected, health.present, 1)
    assert row.missing == shared.missing > 0
    assert shared.ratio == row.present / row.expected
    assert health.completeness == round(shared.ratio, DECIMALS)  # served to 6 decimals
    assert (row.first, row.last) == (health.first.isoformat(), health.last.isoformat())


def test_since_bounds_every_count_not_only_the_expected_dates(make_app, table_source, usd):
    """``status --since``: present, pending, first and last leave out earlier dates too (they
    counted the whole history, so present exceeded expected)."""
    app = make_app(table_source())
    days = [
        START + timedelta(days=i) for i in range(40) if (START + timedelta(days=i)).weekday() < 5
    ]
    app.store.put_records([Record(usd.key, d, Decimal("5.1"), Status.OK) for d in days[5:20]])
    app.store.put_pending(Record(usd.key, days[2], None, Status.PENDING, 0, NOW, "no value"))
    since = days[10]
    row = key_status(app, usd, since)
    assert row.present == 10 <= row.expected
    assert row.pending == 0  # the PENDING date is before since
    assert row.first == since.isoformat()
    assert row.missing == row.expected - row.present


def test_present_means_expected_dates_stored_ok_in_status_and_in_the_panel(
    make_app, table_source, usd
):
    """A value on a day the calendar skips (BZ=F's close on a NYSE holiday) is `unexpected`
    in both: `status` counted it in present too (246 present of 245 expected), the panel not."""
    app = make_app(table_source())
    days = [
        START + timedelta(days=i) for i in range(30) if (START + timedelta(days=i)).weekday() < 5
    ]
    saturday = next(d for d in (days[0] + timedelta(days=i) for i in range(7)) if d.weekday() == 5)
    stored = [*days, saturday]
    app.store.put_records([Record(usd.key, d, Decimal("5.1"), Status.OK) for d in stored])

    row = key_status(app, usd)
    health = series_health(usd, app.store.present(usd.key), app.clock.now())

    assert (row.present, row.unexpected) == (health.present, health.unexpected) == (len(days), 1)
    assert row.present <= row.expected == health.expected
