"""Revise and repair writes move the data version; a re-run that changes nothing does not.

The dashboard's stored views are keyed by the data version (stages/data_version.py), so a write
that changes what a view shows (a revised value, a removed retry) must make a new version, and a
run that writes nothing must keep the old one (or every view would be recomputed for nothing).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.stages.conftest import NOW, START

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.data_version import DATA_VERSION, INITIAL, data_version, mark_changed
from fuelpipe.stages.repair import find_impossible, remove
from fuelpipe.stages.revise import revise

REVISED_DAY = date(2022, 3, 30)


def test_a_revision_moves_the_data_version_and_an_unchanged_reread_does_not(
    make_app, table_source, usd
):
    source = table_source()
    app = make_app(source)
    run_cycle(app, series=[usd], since=START)
    stored = data_version(app.store)
    assert stored != INITIAL

    again = revise(app, series=[usd])
    assert again.messages_sent == 1
    assert drain(app).revised == 0
    assert data_version(app.store) == stored  # the same values again: nothing to recompute

    slot = (usd.key, REVISED_DAY)
    source.values[slot] = source.values[slot] + Decimal("0.0123")
    revise(app, series=[usd])
    report = drain(app)
    assert report.revised == 1 and report.records_written == 0
    (record,) = app.store.query(usd.key, REVISED_DAY, REVISED_DAY)
    assert record.value == source.values[slot] and len(record.revisions) == 1
    revised = data_version(app.store)
    assert revised != stored

    revise(app, series=[usd])
    assert drain(app).revised == 0
    assert data_version(app.store) == revised


def test_a_repair_that_removes_records_moves_the_data_version_and_a_second_does_not(
    make_app, table_source, usd
):
    app = make_app(table_source())
    run_cycle(app, series=[usd], since=START)
    stored = data_version(app.store)
    # A clock typo's retry: PENDING for a day after the machine's clock (here: NOW).
    typo = Record(usd.key, NOW.date() + timedelta(days=40), None, Status.PENDING, updated_at=NOW)
    assert app.store.put_pending(typo)

    found = find_impossible(app, NOW)
    assert [(i.record.key, i.record.date) for i in found] == [(typo.key, typo.date)]
    assert remove(app, found) == 1
    repaired = data_version(app.store)
    assert repaired != stored
    assert app.store.query(usd.key, typo.date, typo.date) == []

    assert find_impossible(app, NOW) == []
    assert remove(app, find_impossible(app, NOW)) == 0
    assert remove(app, found) == 0  # already gone: removing it again writes nothing
    assert data_version(app.store) == repaired


def test_two_writers_at_one_clock_with_one_id_write_two_versions(tmp_path: Path) -> None:
    """The token hashed the previous version, the instant and the id only: two `run`s under
    one fixed clock (--now, a demo store) read the same version and wrote the same token, so a
    page kept answering 304 with views that missed the second run's records."""
    store = SqliteStore(tmp_path / "v.sqlite")
    try:
        at = datetime(2022, 5, 6, 14, tzinfo=UTC)
        previous = data_version(store)
        first = mark_changed(store, at, "run")
        store.put_meta(DATA_VERSION, previous)  # the second writer read the same version
        second = mark_changed(store, at, "run")
        assert first != second and data_version(store) == second
    finally:
        store.close()
