"""The pipeline cycle keeps the outlook current: a PTAX value the last survey week's forecast
reads (known at that week's publication) that lands late brings a new stored forecast."""

from datetime import date
from decimal import Decimal

from tests.outlook.conftest import DATASETS, store_known
from tests.stages.conftest import NOW
from tests.support.fakes import TableSource

from fuelpipe.adapters.history_files import load_history
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.records import from_record
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.data_version import mark_changed
from fuelpipe.stages.outlook import refresh_outlook
from fuelpipe.stages.watch import tick

KEYS = ("FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
LANDS = date(2022, 3, 25)  # the PTAX value the cycle fetches: the Friday week 2022-03-20 was
# published (at 18:00, after PTAX at 13:10), so its forecast reads it


def test_a_new_ptax_value_updates_the_stored_outlook(make_app):
    history = load_history(DATASETS, with_areas=False)
    real_usd = dict(history.series["CURRENCY#USD"])
    source = TableSource("bcb", {("CURRENCY#USD", LANDS): Decimal(str(real_usd[LANDS]))})
    app = make_app(source)
    store_known(app.store, history, KEYS, NOW, LANDS)
    first = refresh_outlook(app.store, DEFAULT_CATALOG, NOW)
    assert first.made == 1  # only Brazil's gasoline has history in this store
    outlook = outlook_key("GASOLINE", "BR")
    (before,) = app.store.query(outlook)
    assert "usd=2022-03-24" in str(before.attrs["inputs"])
    run_cycle(app, series=[DEFAULT_CATALOG["CURRENCY#USD"]], since=LANDS)
    (after,) = app.store.query(outlook)  # same as-of day: the update replaces it
    assert "usd=2022-03-25" in str(after.attrs["inputs"])
    assert after.attrs != before.attrs
    assert from_record(after).forecast.last_week == date(2022, 3, 20)
    again = refresh_outlook(app.store, DEFAULT_CATALOG, NOW)
    assert (again.made, again.unchanged) == (0, 1)  # nothing new: nothing rewritten


def test_watch_ticks_refresh_the_outlook_when_the_data_version_moved(make_app):
    """`watch` has no cycle end: each tick refreshes the outlook if new data moved the data
    version since its last refresh, and does nothing more when it did not."""
    history = load_history(DATASETS, with_areas=False)
    app = make_app(TableSource("bcb", {}))
    store_known(app.store, history, KEYS, NOW, LANDS)
    outlook = outlook_key("GASOLINE", "BR")

    first = tick(app, series=[])  # nothing due; the outlook was never computed
    assert first.outlook is not None and first.outlook.made == 1
    assert tick(app, series=[]).outlook is None  # nothing moved since

    usd = dict(history.series["CURRENCY#USD"])
    app.store.put_records([Record("CURRENCY#USD", LANDS, Decimal(str(usd[LANDS])), Status.OK)])
    mark_changed(app.store, NOW, "a drain that stored the value")
    again = tick(app, series=[])
    assert again.outlook is not None and again.outlook.made == 1
    (stored,) = app.store.query(outlook)
    assert "usd=2022-03-25" in str(stored.attrs["inputs"])
