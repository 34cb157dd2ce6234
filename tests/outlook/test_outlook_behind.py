"""A stored forecast behind its series' newest week is served as out of date, never as current.

A refresh that makes no forecast for a newly stored week (too few weeks since a long hole, the
model untrainable, an error) leaves the previous forecast as the latest: its step-1 week is
then already published. The API and `fuelpipe outlook show` say so (``stale``, the newest
week, why the refresh made none), the map leaves it out of its current states, and
``outlook_move`` does not alert on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import History
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.main import cli
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.records import from_record
from fuelpipe.outlook.series import known_at
from fuelpipe.stages.outlook import (
    SKIPPED_META,
    outlook_key_for,
    refresh_outlook,
    skip_reasons,
)
from fuelpipe.stages.outlook_rules import OutlookMove

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2025, 6, 18, 12, 0, tzinfo=SP)
LPG = "FUEL#LPG#BR"
DRIVERS = ("CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
BEFORE_HOLE = date(2024, 6, 30)
"""The last week of the stretch the first forecast is made from."""
AFTER_HOLE = date(2025, 1, 5)
"""The first week after a hole of 27 weeks (over ``MAX_GAP``): the history starts afresh."""


class _Ctx:
    def __init__(self, store: SqliteStore, now: datetime) -> None:
        self.store, self.now, self.catalog = store, now, DEFAULT_CATALOG


def _records(history: History, key: str, keep: object) -> list[Record]:
    lag = DEFAULT_CATALOG[key].available_after
    return [
        Record(key, d, Decimal(str(v)), Status.OK)
        for d, v in history.series[key]
        if known_at(d, lag) <= NOW and keep(d)  # type: ignore[operator]
    ]


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory, history: History) -> Iterator[SqliteStore]:
    """LPG in Brazil forecast from its weeks to BEFORE_HOLE (stored first, as a backfill of
    the older stretch); then its weeks from AFTER_HOLE land, too few since the hole for a new
    forecast."""
    store = SqliteStore(tmp_path_factory.mktemp("behind") / "store.sqlite")
    for key in DRIVERS:
        store.put_records(_records(history, key, lambda d: True))
    store.put_records(_records(history, LPG, lambda d: d <= BEFORE_HOLE))
    first = refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=[LPG])
    assert first.made == 1
    yield store
    store.close()


def test_the_move_rule_says_nothing_of_a_forecast_whose_weeks_are_gone_by(
    behind: SqliteStore,
) -> None:
    """The forecast is from the newest stored week (not behind its series), but that week is
    BEFORE_HOLE, a year before NOW: the weeks it forecasts are long over, so a move "by the
    week of 2024-07-14" is no alert in June 2025 (tests/outlook/test_outlook_move_quiet.py
    has one from the newest week that fires)."""
    (stored,) = behind.query(outlook_key_for(DEFAULT_CATALOG[LPG]))
    assert from_record(stored).forecast.last_week == BEFORE_HOLE
    assert OutlookMove(threshold=0.0).evaluate(_Ctx(behind, NOW)) == []


@pytest.fixture(scope="module")
def refreshed(behind: SqliteStore, history: History) -> SqliteStore:
    later = _records(history, LPG, lambda d: d >= AFTER_HOLE)
    behind.put_records(later)
    report = refresh_outlook(behind, DEFAULT_CATALOG, NOW, keys=[LPG])
    assert (report.made, report.too_short) == (0, 1)  # the old forecast stays the latest
    return behind


def _client(store: SqliteStore) -> TestClient:
    return TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0))


def test_the_api_marks_a_forecast_behind_the_newest_week_as_stale(refreshed) -> None:
    stored = [r.date for r in refreshed.query(LPG)]
    with _client(refreshed) as client:
        body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
    assert body["available"] is True  # the old forecast is still shown, marked
    assert body["last_week"] == BEFORE_HOLE.isoformat()
    assert body["stale"] is True
    assert body["newest_week"] == stored[-1].isoformat() == body["history"][-1]["week"]
    assert body["stale_reason"] == "too_short"
    assert "published weeks, the model needs 83" in body["stale_detail"]
    assert body["published_weeks"] < body["min_weeks"]


def test_the_reason_is_kept_with_the_week_the_refresh_saw(refreshed) -> None:
    reasons = skip_reasons(refreshed)
    assert reasons[LPG].reason == "too_short"
    assert reasons[LPG].week == refreshed.query(LPG)[-1].date
    assert refreshed.get_meta(SKIPPED_META)


def test_the_move_rule_does_not_alert_on_a_forecast_behind_the_newest_week(refreshed) -> None:
    assert OutlookMove(threshold=0.0).evaluate(_Ctx(refreshed, NOW)) == []


CUT = date(2025, 5, 25)


def _forecast_to(tmp_path: Path, history: History) -> SqliteStore:
    """A store with LPG's weeks to CUT (and the drivers) and a forecast made from CUT."""
    store = SqliteStore(tmp_path / "store.sqlite")
    for key in DRIVERS:
        store.put_records(_records(history, key, lambda d: True))
    store.put_records(_records(history, LPG, lambda d: d <= CUT))
    assert refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=[LPG]).made == 1
    return store


def test_a_week_stored_since_the_last_refresh_is_stale_without_a_reason(
    tmp_path, history: History
) -> None:
    """The refresh has not run since the newest week was stored: the forecast is behind, and no
    reason of an earlier refresh is given for it."""
    store, cut = _forecast_to(tmp_path, history), CUT
    with _client(store) as client:
        body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
        assert body["stale"] is False and body["newest_week"] == body["last_week"]
        assert body["stale_reason"] is None
        store.put_records(_records(history, LPG, lambda d: d > cut))
        body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
    assert body["stale"] is True and body["last_week"] == cut.isoformat()
    assert body["newest_week"] > body["last_week"]
    assert body["stale_reason"] is None and body["stale_detail"] is None
    assert OutlookMove(threshold=0.0).evaluate(_Ctx(store, NOW)) == []
    store.close()


def _show(store: SqliteStore, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["outlook", "show", "--fuel", "LPG", *args],
        env={"FUELPIPE_DB": str(store.path), "COLUMNS": "200"},
    )


def test_outlook_show_says_a_forecast_behind_the_newest_week_is_stale_and_why(refreshed) -> None:
    """`fuelpipe outlook show` printed the old forecast as the latest, unmarked, while the API
    said it was stale: the same check, in JSON and text."""
    newest = refreshed.query(LPG)[-1].date
    as_json = _show(refreshed, "--json")
    assert as_json.exit_code == 0, as_json.output
    (shown,) = json.loads(as_json.stdout)
    assert shown["last_week"] == BEFORE_HOLE.isoformat()
    assert (shown["stale"], shown["newest_week"]) == (True, newest.isoformat())
    assert shown["stale_reason"] == "too_short"
    assert "published weeks, the model needs 83" in shown["stale_detail"]
    with _client(refreshed) as client:  # the very answer the API gives
        body = client.get("/api/outlook", params={"fuel": "LPG", "area": "BR"}).json()
    assert {k: body[k] for k in ("stale", "newest_week", "stale_reason", "stale_detail")} == {
        k: shown[k] for k in ("stale", "newest_week", "stale_reason", "stale_detail")
    }

    text = _show(refreshed)
    assert text.exit_code == 0, text.output
    assert f"{BEFORE_HOLE.isoformat()} (stale)" in text.stdout
    note = " ".join(text.stdout.split())
    assert (
        f"note: LPG: out of date: made from the week of {BEFORE_HOLE.isoformat()}, but the "
        f"week of {newest.isoformat()} is stored and no forecast was made from it (too_short: "
    ) in note


def test_outlook_show_marks_a_current_forecast_current_and_a_newer_week_without_a_reason(
    tmp_path, history: History
) -> None:
    store, cut = _forecast_to(tmp_path, history), CUT
    (current,) = json.loads(_show(store, "--json").stdout)
    assert (current["stale"], current["newest_week"]) == (False, cut.isoformat())
    assert (current["stale_reason"], current["stale_detail"]) == (None, None)
    assert "(stale)" not in _show(store).stdout

    store.put_records(_records(history, LPG, lambda d: d > cut))  # no refresh since
    (late,) = json.loads(_show(store, "--json").stdout)
    assert late["stale"] is True and late["newest_week"] > cut.isoformat()
    assert late["stale_reason"] is None
    assert "the outlook was not refreshed since that week was stored" in " ".join(
        _show(store).stdout.split()
    )
    store.close()
