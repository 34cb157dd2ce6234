"""The Outlook API's reads are bounded: the latest stored forecast is one small read, and what
is only in a series' whole history (its published weeks since the last long hole, the
accuracy) is read once per data version; the history shown is its last HISTORY_WEEKS weeks. Its answers are those it gave when it read every history on
every request: exact JSON, compared with the answers that version of the code gave on the same
fixture store (``outlook_api_golden.json``, written by ``python -m
tests.outlook.test_outlook_api_reads`` at that commit). Its two CSV answers were replaced in
session 24, when the CSVs gained the views' own fields as columns after the old ones: every JSON
answer was checked unchanged and each old CSV row the new row's leading cells. Later in session
24 each accuracy row gained ``coverage80_model`` and ``coverage95_model`` (the only change: 24
added lines, the fixture's with no fallback week, so each equal to its ``coverage80``/``95``).
Re-recorded in session 26 when the driver move came to end on Brent in BRL's last day (Brent
and PTAX both known), not PTAX's: only ``driver_move`` and ``driver_day`` changed, in the four
JSON answers with a forecast and the five rows of the CSV (the fixture has no BZ=F, so each
day is FRED's cut-off, 7 days before PTAX's). Re-recorded in session 29 when the outlook's CSV
gained ``available`` after ``stale``: only the area CSV changed, each row the same with that
column added (``True`` on every row). Re-recorded in session 42 when ``driver_move`` came to 6
decimals as stored (4 before): only that field changed, in the four JSON answers with a
forecast and the five rows of the area CSV (0.0619 -> 0.061865, 0.0159 -> 0.015879).
Re-recorded in session 44 when each step gained ``bands`` (where its bands come from): only
that was added, ``walk_forward`` on each of the 20 steps of the four JSON answers with a
forecast, and the area CSV's ``bands`` column before ``other_tables`` on its five rows.
Re-recorded later in session 44 when the accuracy came to give every served horizon (1-5, it
gave 1, 2, 4) and the view its ``least_errors``: only that was added, the accuracy rows of
horizons 3 and 5 (each old row the same) in the four JSON answers with a forecast,
``least_errors: 20`` in the six outlook JSON answers, and the area CSV's ``least_errors``
column (20) after ``bands`` on its five rows; the four map answers are unchanged.
Re-recorded when s44-data (FRED's Brent in weekly batches through a Monday, out the Friday
after) was merged onto those: the outlook reads Brent through the Monday of the last batch out
(``driver_day`` 2026-05-18 and 05-11, were the Fridays 05-15 and 05-08), so only the numbers
that follow from it changed (``driver_move``, each step's point and lo80 to hi95, the accuracy rows'
scores, the map answers' points, changes, ratios and ``dm_p``, the same in the two CSVs); every
key, ``bands``, ``least_errors`` and each row's ``n`` and ``first_week`` are as before. With
main's additions taken out, each answer is the one s44-data recorded. Re-recorded in session 46
when Brazil's and the regions' volatility came to leave out its largest week once two weeks old
(``Params.vol_trim_after``): only the bands moved, in Brazil's gasoline answer (lo80 to hi95 of
its steps, the accuracy rows' coverages); its points, every other field and the other answers,
the two CSVs and the states' map answers among them, are as before (checked field by field)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.dashboard.areas import STATE_CODES
from fuelpipe.dashboard.outlook_api import outlook_router
from fuelpipe.dashboard.outlook_views import HISTORY_WEEKS
from fuelpipe.dashboard.versions import DataVersion
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.series import known_at
from fuelpipe.stages.data_version import mark_changed
from fuelpipe.stages.outlook import refresh_outlook

from .test_outlook_pooled import led_panel
from .test_outlook_precheck import LAG, STORED_WEEKS, CountingStore, Panel, Query, _fill

GOLDEN = Path(__file__).with_name("outlook_api_golden.json")
REQUESTS = [
    *(("/api/outlook", {"fuel": "GASOLINE", "area": a}) for a in ("BR", "AC", "AL", "DF", "PA")),
    ("/api/outlook", {"fuel": "GASOLINE", "area": "AC", "format": "csv"}),
    ("/api/outlook", {"fuel": "ETHANOL", "area": "SP"}),
    *(("/api/outlook/map", {"fuel": "GASOLINE", "horizon": str(h)}) for h in (1, 2, 4)),
    ("/api/outlook/map", {"fuel": "GASOLINE", "horizon": "2", "format": "csv"}),
]


def build(path: Path) -> CountingStore:
    """The gasoline panel (six states, AL a week late, PA ten weeks only, Brazil's long
    series) refreshed at three weeks' publications, so each key holds three forecasts; then
    DF's next week lands (its forecast is behind it)."""
    panel = Panel(*led_panel(6, 110))
    first = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    store = CountingStore(path, ManualClock(first))
    _fill(store, panel, first.date(), None)
    for weeks_before in (2, 1, 0):
        refresh_outlook(store, DEFAULT_CATALOG, first - timedelta(weeks=weeks_before))
    store.put_records([panel.fuel("DF", STORED_WEEKS + 1)])
    mark_changed(store, first, "fixture")
    return store


def answers(client: TestClient) -> list[object]:
    out: list[object] = []
    for path, params in REQUESTS:
        r = client.get(path, params=params)
        assert r.status_code == 200
        out.append(r.text if params.get("format") == "csv" else r.json())
    return out


def _client(store: CountingStore) -> TestClient:
    app = FastAPI()
    app.include_router(outlook_router(store, DEFAULT_CATALOG, DataVersion(store, ttl_s=0)))
    return TestClient(app)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Iterator[CountingStore]:
    with build(tmp_path_factory.mktemp("reads") / "store.sqlite") as built:
        yield built


def test_the_answers_are_those_of_the_full_reads(store):
    with _client(store) as client:
        assert answers(client) == json.loads(GOLDEN.read_text())


def test_a_second_request_reads_the_latest_forecast_and_the_weeks_shown(store):
    with _client(store) as client:
        answers(client)  # the version's first: the histories and the accuracy
        store.queries.clear()
        client.get("/api/outlook", params={"fuel": "GASOLINE", "area": "AC"})
        assert store.queries == [
            Query("OUTLOOK#GASOLINE#AC", None, None, 1),  # the latest forecast
            Query("FUEL#GASOLINE#AC", None, None, HISTORY_WEEKS),  # the weeks shown
        ]
        store.queries.clear()
        client.get("/api/outlook/map", params={"fuel": "GASOLINE", "horizon": "4"})
        assert store.queries == [
            Query(f"OUTLOOK#GASOLINE#{uf}", None, None, 1) for uf in STATE_CODES
        ]


def test_a_new_version_reads_the_history_again(store):
    with _client(store) as client:
        client.get("/api/outlook", params={"fuel": "GASOLINE", "area": "BR"})
        mark_changed(store, store.clock.now(), "moved")
        store.queries.clear()
        client.get("/api/outlook", params={"fuel": "GASOLINE", "area": "BR"})
        # the whole history once (the published weeks' and the accuracy's), the drivers for the
        # accuracy
        assert store.whole() == [
            "FUEL#GASOLINE#BR",
            "CURRENCY#USD",
            "COMMODITY#BRENT",
            "COMMODITY#BRENT_FUTURES",
        ]
        assert store.queries[0] == Query("OUTLOOK#GASOLINE#BR", None, None, 1)


if __name__ == "__main__":  # writes the golden answers with the code checked out
    import tempfile

    with (
        tempfile.TemporaryDirectory() as tmp,
        build(Path(tmp) / "store.sqlite") as built,
        _client(built) as c,
    ):
        GOLDEN.write_text(json.dumps(answers(c), indent=1, sort_keys=True) + "\n")
    sys.exit(0)
