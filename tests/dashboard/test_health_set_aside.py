"""The health view counts and shows the values sources published that were set aside where no
record keeps them (a date stored already: ``revise`` re-reading it).

Before, such a value survived in a log line only: the stored value stayed, and no record, no
PENDING or QUARANTINED entry, no dead letter and nothing on the health page said that the
source had published something else. The scraper keeps each one as a ``set_aside#<key>#<date>``
meta entry (``stages/set_aside.py``), driven here by real scrapes, on each home's store."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from devtools.dashboard.serving import serving
from tests.stages.conftest import NOW
from tests.stages.test_implausible_values import home_app  # noqa: F401 - the fixture
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.health import SET_ASIDE_SHOWN, health_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.scrape import scrape
from fuelpipe.stages.set_aside import keep_set_aside

BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]
DAYS = [date(2022, 1, 4), date(2022, 1, 5), date(2022, 1, 6)]
LONG = "78.1000000000000000000000000000000000000001"  # 42 significant digits; a store holds 38
SEEN_BY = "revise fred:DCOILBRENTEU 2022-01-04..2022-01-06"


def _request(origin: str) -> DownloadRequest:
    return DownloadRequest(
        partition_key=BRENT.key, dates_to_download=DAYS, fetch_unit=BRENT.fetch_unit, origin=origin
    )


@pytest.fixture
def stored(home_app: Callable) -> Callable:  # noqa: F811
    """A stage context on each home's store (``home_app``), Brent's three days stored, then a
    ``revise`` whose answer carries ``middle`` for the middle date (its source returned)."""

    def build(middle: str) -> tuple[StageContext, TableSource]:
        source = TableSource(
            "fred",
            {
                (BRENT.key, d): Decimal(v)
                for d, v in zip(DAYS, ("77.1", "78.0", "78.2"), strict=True)
            },
        )
        app = home_app(source)
        scrape(app, _request("gap"))
        source.values[(BRENT.key, DAYS[1])] = Decimal(middle)
        scrape(app, _request("revise"))
        return app, source

    return build


def test_the_health_view_shows_a_value_set_aside_for_a_stored_date(stored) -> None:
    app, source = stored(LONG)
    view = health_view(app.store, DEFAULT_CATALOG, None, app.clock)
    assert (view.set_aside, view.pending, view.quarantined) == (1, 0, 0)
    [shown] = view.set_aside_values
    assert (shown.key, shown.date, shown.value, shown.seen_by) == (
        BRENT.key,
        DAYS[1],
        LONG,
        SEEN_BY,
    )
    assert shown.reason.startswith(f"value no store can keep: {LONG} has 42 digits")
    assert shown.first_seen == shown.last_seen == NOW.astimezone(SAO_PAULO)

    # The source publishes the stored value again: the view no longer shows it.
    source.values[(BRENT.key, DAYS[1])] = Decimal("78.0")
    scrape(app, _request("revise"))
    settled = health_view(app.store, DEFAULT_CATALOG, None, app.clock)
    assert (settled.set_aside, settled.set_aside_values) == (0, [])


def test_the_health_view_counts_every_value_set_aside_and_lists_the_newest(stored) -> None:
    app, _ = stored(LONG)
    [oldest] = health_view(app.store, DEFAULT_CATALOG, None, app.clock).set_aside_values
    weekdays = (date(2022, 2, 1) + timedelta(days=i) for i in range(60))
    days = [d for d in weekdays if d.weekday() < 5][: SET_ASIDE_SHOWN + 2]
    app.store.put_records([Record(BRENT.key, d, Decimal("78"), Status.OK) for d in days])
    assert isinstance(app.clock, ManualClock)
    for i, day in enumerate(days, start=1):  # each answer a minute after the one before
        app.clock.set(NOW + timedelta(minutes=i))
        app.sources["fred"] = TableSource("fred", {(BRENT.key, day): Decimal(LONG)})
        one = DownloadRequest(
            partition_key=BRENT.key,
            dates_to_download=[day],
            fetch_unit=BRENT.fetch_unit,
            origin="revise",
        )
        assert scrape(app, one).set_aside_kept == 1

    view = health_view(app.store, DEFAULT_CATALOG, None, app.clock)
    assert view.set_aside == len(days) + 1  # every one counted
    assert [v.date for v in view.set_aside_values] == days[::-1][:SET_ASIDE_SHOWN]  # newest
    assert oldest not in view.set_aside_values


def test_the_health_api_and_its_csv_carry_the_values_set_aside(stored) -> None:
    app, _ = stored(LONG)
    # The health view reads every catalog series' keys: on a DynamoDB server shared by a busy
    # test session it can take longer than httpx's 5 s default (no timing is asserted here).
    with (
        serving(create_app(app.store, DEFAULT_CATALOG, clock=app.clock)) as url,
        httpx.Client(timeout=120) as client,
    ):
        body = client.get(url + "/api/health").json()
        main = client.get(url + "/api/health?format=csv").text
        text = client.get(url + "/api/health?format=csv&table=set_aside_values").text
    assert body["set_aside"] == 1
    [shown] = body["set_aside_values"]
    assert (shown["key"], shown["date"], shown["value"]) == (BRENT.key, "2022-01-05", LONG)
    assert shown["first_seen"] == shown["last_seen"] == NOW.isoformat()
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["key"], row["date"], row["value"], row["seen_by"]) == (
        BRENT.key,
        "2022-01-05",
        LONG,  # as text, every digit: a spreadsheet reading it as a number would round it
        SEEN_BY,
    )
    assert {r["set_aside"] for r in csv.DictReader(io.StringIO(main))} == {"1"}


class _MetaReads(SqliteStore):
    """A SQLite store that counts the set-aside entries its meta reads hand back."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.handed: int = 0

    def _seen(self, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
        self.handed += sum(name.startswith("set_aside#") for name, _ in found)
        return found

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        return self._seen(super().meta_entries(prefix))

    def latest_meta(self, family: str, limit: int) -> list[tuple[str, str]]:
        return self._seen(super().latest_meta(family, limit))


def test_the_health_view_reads_only_the_values_set_aside_it_shows(tmp_path: Path) -> None:
    """However many values are set aside, the view counts them and reads the newest
    SET_ASIDE_SHOWN (first seen last): before, it read every entry whole on every call."""
    store = _MetaReads(tmp_path / "store.sqlite")
    days = [date(2021, 1, 1) + timedelta(days=i) for i in range(SET_ASIDE_SHOWN * 3)]
    for i, day in enumerate(days):  # each first seen a minute after the one before
        flagged = {(BRENT.key, day): (Decimal("780.0"), "implausible value 780.0")}
        assert keep_set_aside(store, flagged, "revise", NOW + timedelta(minutes=i)) == (1, 0)
    # The oldest seen again later: it stays where it was first seen.
    later = NOW + timedelta(days=1)
    flagged = {(BRENT.key, days[0]): (Decimal("780.0"), "implausible value 780.0")}
    keep_set_aside(store, flagged, "revise", later)
    store.handed = 0

    view = health_view(store, DEFAULT_CATALOG, None, ManualClock(later))

    assert view.set_aside == len(days)  # exact
    assert [v.date for v in view.set_aside_values] == days[::-1][:SET_ASIDE_SHOWN]
    assert store.handed <= SET_ASIDE_SHOWN
