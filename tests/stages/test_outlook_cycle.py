"""The pipeline cycle keeps the outlook current: a new PTAX value brings a new stored forecast."""

from datetime import date
from decimal import Decimal

from tests.outlook.conftest import DATASETS, store_known
from tests.stages.conftest import NOW
from tests.support.fakes import TableSource

from fuelpipe.adapters.history_files import load_history
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import outlook_key
from fuelpipe.outlook.records import from_record
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.outlook import refresh_outlook

KEYS = ("FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
LANDS = date(2022, 3, 31)  # the PTAX value the cycle fetches (real: 4.7378 sell)


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
    assert "usd=2022-03-30" in str(before.attrs["inputs"])
    run_cycle(app, series=[DEFAULT_CATALOG["CURRENCY#USD"]], since=LANDS)
    (after,) = app.store.query(outlook)  # same as-of day: the update replaces it
    assert "usd=2022-03-31" in str(after.attrs["inputs"])
    assert after.attrs != before.attrs
    assert from_record(after).forecast.last_week == date(2022, 3, 20)
    again = refresh_outlook(app.store, DEFAULT_CATALOG, NOW)
    assert (again.made, again.unchanged) == (0, 1)  # nothing new: nothing rewritten
