"""The refresh on the real Brazil history when nothing new lands for months, and when ANP
revises a week: a forecast is stored once per change of its inputs (a quiet series' forecast
is never stored again with a fresh as-of), a revised base week redoes it, and a revised scored
week replaces the price its forecasts were scored on. The stores are real SQLite files; the
counting store (injected) remembers each query; the as-of instants are passed in."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Revision, Status
from fuelpipe.outlook.records import from_record
from fuelpipe.stages.outlook import refresh_outlook
from fuelpipe.stages.outlook_rules import OutlookMove, OutsideInterval

from .conftest import store_known
from .test_outlook_precheck import CountingStore

SP = ZoneInfo("America/Sao_Paulo")
GASOLINE = "FUEL#GASOLINE#BR"
OUTLOOK = outlook_key("GASOLINE", "BR")
KEYS = (GASOLINE, USD_KEY, BRENT_KEY, BRENT_FUTURES_KEY)
AS_OF = datetime(2022, 3, 16, 15, 0, tzinfo=SP)  # the week of 2022-03-06 is the newest known
BASE = date(2022, 3, 6)


class _Ctx:
    def __init__(self, store, now):
        self.store, self.now, self.catalog = store, now, DEFAULT_CATALOG


def _filled(store: SqliteStore, history) -> SqliteStore:
    store_known(store, history, KEYS, AS_OF)
    assert refresh_outlook(store, DEFAULT_CATALOG, AS_OF, keys=[GASOLINE]).made == 1
    return store


def _revise(store: SqliteStore, week: date, new: Decimal, when: datetime) -> None:
    (old,) = store.query(GASOLINE, week, week)
    assert old.value is not None and old.value != new
    revision = Revision(old.value, new, when, "revise anp")
    assert store.revise(GASOLINE, week, revision, dict(old.attrs), history=0)


@pytest.mark.parametrize("full", [True, False])
def test_a_series_without_a_new_week_for_months_keeps_its_one_forecast(tmp_path, history, full):
    """Its forecast, however old, is the one the refresh compares with: it is not stored again
    with a fresh as-of (which /api/outlook would serve as made now), and the check reads it
    with one small read. outlook_move reads that same forecast, as made then, and says nothing
    once its weeks have gone by (tests/outlook/test_outlook_move_quiet.py)."""
    clock = ManualClock(AS_OF)
    with CountingStore(tmp_path / "quiet.sqlite", clock) as store:
        _filled(store, history)
        (made,) = store.query(OUTLOOK)
        for days in (30, 61, 125, 400):
            later = AS_OF + timedelta(days=days)
            clock.set(later)
            store.queries.clear()
            report = refresh_outlook(store, DEFAULT_CATALOG, later, keys=[GASOLINE], full=full)
            assert (report.made, report.unchanged, report.changed) == (0, 1, False), days
            reads = [q for q in store.queries if q.key == OUTLOOK and q.limit is not None]
            assert [q.limit for q in reads] == [1]  # the newest forecast: one small read
        assert store.query(OUTLOOK) == [made]
        moved = OutlookMove(threshold=0.0).evaluate(_Ctx(store, AS_OF + timedelta(days=126)))
        # (its weeks long gone by: it expects nothing of the weeks to come)
        assert [c for c in moved if c.evidence["key"] == GASOLINE] == []


@pytest.mark.parametrize("full", [True, False])
def test_a_revised_base_week_redoes_the_forecast(tmp_path, history, full):
    """The forecast is its last week's price moved: a revision of that very week is a new input,
    and the next refresh (checked or full) redoes the forecast from the revised price."""
    store = _filled(SqliteStore(tmp_path / "base.sqlite"), history)
    (before,) = store.query(OUTLOOK)
    assert from_record(before).forecast.last_price == pytest.approx(6.683)
    _revise(store, BASE, Decimal("7.017"), AS_OF + timedelta(hours=20))
    later = AS_OF + timedelta(days=1)
    report = refresh_outlook(store, DEFAULT_CATALOG, later, keys=[GASOLINE], full=full)
    assert (report.made, report.unchanged) == (1, 0)
    latest = from_record(store.query(OUTLOOK)[-1]).forecast
    assert (latest.last_week, latest.last_price) == (BASE, pytest.approx(7.017))
    assert latest.steps[0].point != from_record(before).forecast.steps[0].point
    again = refresh_outlook(store, DEFAULT_CATALOG, later + timedelta(hours=1), keys=[GASOLINE])
    assert (again.made, again.unchanged) == (0, 1)  # redone once: nothing new since
    store.close()


def test_a_mark_stored_by_older_code_costs_one_forecast_and_no_error(tmp_path, history):
    """A stored mark without the base week's value (as stored before it was named) is simply
    different: the forecast is redone once, then the new mark is the one compared."""
    store = _filled(SqliteStore(tmp_path / "older.sqlite"), history)
    (stored,) = store.query(OUTLOOK)
    mark = str(stored.attrs["inputs"])
    assert mark.startswith(f"fuel={BASE.isoformat()}@6.683;")
    older = mark.replace("@6.683", "", 1)
    store.put_records([stored.with_(attrs={**stored.attrs, "inputs": older})])
    for hours, (full, made) in enumerate(((False, 1), (False, 0), (True, 0))):
        later = AS_OF + timedelta(days=1, hours=hours)
        report = refresh_outlook(store, DEFAULT_CATALOG, later, keys=[GASOLINE], full=full)
        assert (report.made, report.problems) == (made, [])
    assert store.query(OUTLOOK)[-1].attrs["inputs"] == mark
    store.close()


@pytest.mark.parametrize("full", [True, False])
def test_a_revised_published_week_replaces_the_price_its_forecast_was_scored_on(
    tmp_path, history, full
):
    """The first-published 2022-03-13 (its real value, above the 95% band of the forecast made
    the week before) is corrected to 6.800, inside it: the forecast's ``a1`` follows, the refresh
    counts that one step as scored (a change: a new data version), and outlook_miss stops
    judging the superseded number."""
    store = _filled(SqliteStore(tmp_path / "score.sqlite"), history)
    week = date(2022, 3, 13)
    first = Decimal(str(dict(history.series[GASOLINE])[week]))
    store.put_records([Record(GASOLINE, week, first, Status.OK)])
    published = datetime(2022, 3, 18, 19, 0, tzinfo=SP)
    scored = refresh_outlook(store, DEFAULT_CATALOG, published, keys=[GASOLINE])
    assert (scored.made, scored.scored) == (1, 1)
    judged = from_record(store.query(OUTLOOK, AS_OF.date(), AS_OF.date())[0])
    assert judged.actuals == {1: pytest.approx(float(first))}
    step = judged.forecast.steps[0]
    assert not step.lo95 <= float(first) <= step.hi95
    missed = OutsideInterval().evaluate(_Ctx(store, published))
    assert [c.subject for c in missed] == [f"{GASOLINE}@2022-03-13"]

    _revise(store, week, Decimal("6.800"), published + timedelta(days=1))
    assert step.lo95 <= 6.8 <= step.hi95
    later = published + timedelta(days=2)
    report = refresh_outlook(store, DEFAULT_CATALOG, later, keys=[GASOLINE], full=full)
    assert report.scored == 1 and report.changed  # the one step whose price changed
    rescored = from_record(store.query(OUTLOOK, AS_OF.date(), AS_OF.date())[0])
    assert rescored.actuals == {1: pytest.approx(6.8)}
    assert OutsideInterval().evaluate(_Ctx(store, later)) == []
    again = refresh_outlook(store, DEFAULT_CATALOG, later + timedelta(hours=1), keys=[GASOLINE])
    assert again.scored == 0  # nothing changed since: nothing rewritten
    store.close()
