"""The outlook Lambda keeps the AWS home's outlook fresh: it refreshes when the data version
moved, does nothing (two small reads) when it did not, and refreshes anyway when forced.

Real history (datasets/: Brazil's gasoline, PTAX USD, Brent, BZ=F) on a dynalite table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, load_handler, scheduled_event
from tests.aws.conftest import AwsHome
from tests.outlook.conftest import DATASETS, store_known
from tests.stages.conftest import NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import data_version, mark_changed
from fuelpipe.stages.outlook import OUTLOOK_VERSION

pytestmark = pytest.mark.aws

KEYS = ("FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
LANDS = date(2022, 3, 25)  # a PTAX day that lands after the first refresh: the Friday week
# 2022-03-20 was published (18:00, after PTAX at 13:10), so the served forecast reads it


def test_refreshes_when_the_version_moved_and_only_then(aws_home: AwsHome) -> None:
    history = load_history(DATASETS, with_areas=False)
    app = aws_home.app(FixedClock(NOW))
    store_known(app.store, history, KEYS, NOW, LANDS)
    handler = load_handler("outlook").make_handler(lambda: app)
    context = FakeLambdaContext("outlook")
    outlook = outlook_key("GASOLINE", "BR")

    first = handler(scheduled_event(), context)
    assert (first["refreshed"], first["made"]) == (1, 1)  # only Brazil's gasoline has history
    assert app.store.get_meta(OUTLOOK_VERSION) == data_version(app.store)  # its own version
    (stored,) = app.store.query(outlook)
    assert "usd=2022-03-24" in str(stored.attrs["inputs"])

    assert handler(scheduled_event(), context) == {"refreshed": 0}  # nothing landed

    # The scraper stores the next PTAX day and moves the data version, as its Lambda does.
    usd = dict(history.series["CURRENCY#USD"])
    app.store.put_records([Record("CURRENCY#USD", LANDS, Decimal(str(usd[LANDS])), Status.OK)])
    mark_changed(app.store, NOW, "scraper")
    again = handler(scheduled_event(), context)
    assert (again["refreshed"], again["made"]) == (1, 1)
    (stored,) = app.store.query(outlook)
    assert "usd=2022-03-25" in str(stored.attrs["inputs"])
    assert handler(scheduled_event(), context) == {"refreshed": 0}

    forced = handler(scheduled_event({"force": True}), context)  # the daily run
    assert (forced["refreshed"], forced["made"], forced["unchanged"]) == (1, 0, 1)
