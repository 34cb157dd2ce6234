"""`outlook show`'s accuracy is kept in the store per data version and model: a second show
reads it instead of walking the backtest again (~3.5 s for Brazil's seven fuels on the demo
store), with the same numbers as a fresh backtest; a new data version, another model, a
read-only store or one no run has versioned compute it afresh.

The backtest is injected (a counting function), never patched; nothing is timed."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.outlook.conftest import store_known
from typer.testing import CliRunner

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.main import cli
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.outlook.accuracy import (
    ACCURACY_PREFIX,
    AccuracyOut,
    Scores,
    area_accuracy,
    drivers_once,
    kept_accuracy,
    model_mark,
    stored_points,
)
from fuelpipe.stages.data_version import INITIAL, data_version, mark_changed
from fuelpipe.stages.outlook import refresh_outlook

KEY = "FUEL#DIESEL_S10#BR"
MARK = model_mark(DEFAULT_CATALOG)
"""The model mark of this release's model and the default catalog's lags."""
NOW = datetime(2024, 3, 20, 18, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))


class Backtest:
    """A backtest that counts its walks: one horizon's scores, with floats of every digit
    (a kept accuracy must give them back exactly) and the fields a score may lack."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Scores:
        self.calls += 1
        row = AccuracyOut(
            horizon=1,
            n=157,
            first_week=date(2023, 3, 12),
            mae=0.1 + 0.2,  # 0.30000000000000004
            naive_mae=1 / 3,
            ratio=None,
            bias=-2.5e-07,
            coverage80=0.8012738853503185,
            coverage95=None,
            dm_p=0.0,
            no_change_n=3,
        )
        return [row], date(2023, 3, 12)


def _store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "store.sqlite")
    mark_changed(store, NOW, "a run")
    return store


def test_an_accuracy_is_computed_once_per_data_version_and_model(tmp_path: Path) -> None:
    store = _store(tmp_path)
    walk = Backtest()
    kept = partial(kept_accuracy, store, KEY, walk, mark=MARK, write=True)
    first = kept(version=data_version(store))
    assert walk.calls == 1 and store.get_meta(ACCURACY_PREFIX + KEY) is not None
    assert kept(version=data_version(store)) == first == walk()  # read back, each float exact
    assert walk.calls == 2  # the one just above: the kept read walked none
    # a new data version: walked again, and kept under it (a third read walks none)
    mark_changed(store, NOW, "another run")
    assert kept(version=data_version(store)) == first and walk.calls == 3
    assert kept(version=data_version(store)) == first and walk.calls == 3
    # another model (a release that changes it, same data): walked again
    kept_other = partial(kept_accuracy, store, KEY, walk, mark="13.1.0", write=True)
    kept_other(version=data_version(store))
    assert walk.calls == 4
    store.close()


def test_a_read_only_store_computes_each_time_and_keeps_nothing(tmp_path: Path) -> None:
    _store(tmp_path).close()
    store = SqliteStore(tmp_path / "store.sqlite", read_only=True)
    walk = Backtest()
    for _ in range(2):
        kept_accuracy(store, KEY, walk, version=data_version(store), mark=MARK, write=False)
    assert walk.calls == 2 and store.get_meta(ACCURACY_PREFIX + KEY) is None
    store.close()


def test_a_store_no_run_versioned_keeps_no_accuracy(tmp_path: Path) -> None:
    """Its series were written around the pipeline, which writes no version: they may change
    with the version still INITIAL, so an accuracy kept there could be another data's."""
    store = SqliteStore(tmp_path / "store.sqlite")
    walk = Backtest()
    for _ in range(2):
        kept_accuracy(store, KEY, walk, version=data_version(store), mark=MARK, write=True)
    assert data_version(store) == INITIAL
    assert walk.calls == 2 and store.get_meta(ACCURACY_PREFIX + KEY) is None
    store.close()


def test_an_entry_that_does_not_decode_is_computed_again_and_replaced(tmp_path: Path) -> None:
    store = _store(tmp_path)
    walk = Backtest()
    version = data_version(store)
    for damaged in ("not json", "[1, 2]", json.dumps({"v": version, "m": MARK, "a": [{}]})):
        store.put_meta(ACCURACY_PREFIX + KEY, damaged)
        assert kept_accuracy(store, KEY, walk, version=version, mark=MARK, write=True) == walk()
        assert store.get_meta(ACCURACY_PREFIX + KEY) != damaged
    assert walk.calls == 6
    store.close()


def _fresh(db: Path) -> dict[str, object]:
    """A fresh backtest of the store's DIESEL_S10 in Brazil, as `show --json` gives it."""
    store = SqliteStore(db, read_only=True)
    points = partial(stored_points, store)
    accuracy, start = area_accuracy(
        DEFAULT_CATALOG, "DIESEL_S10", "BR", points, drivers_once(points)
    )
    store.close()
    return {
        "accuracy_from": start.isoformat() if start else None,
        "accuracy": [row.model_dump(mode="json") for row in accuracy],
    }


def _shown(db: Path) -> dict[str, object]:
    done = CliRunner().invoke(
        cli, ["outlook", "show", "-f", "DIESEL_S10", "--json"], env={"FUELPIPE_DB": str(db)}
    )
    assert done.exit_code == 0, done.output
    (row,) = json.loads(done.stdout)
    return {"accuracy_from": row["accuracy_from"], "accuracy": row["accuracy"]}


def test_show_keeps_the_accuracy_of_the_data_version_it_read(tmp_path, history) -> None:
    """The first show keeps the accuracy it computed (the same as a fresh backtest); the next
    reads it: a value a writer changed around the pipeline (no new data version) does not
    move it. Once a run writes a new version, show computes it again, from the new data."""
    db = tmp_path / "store.sqlite"
    store = SqliteStore(db)
    drivers = ("CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
    store_known(store, history, (KEY, *drivers), NOW)
    refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=[KEY])
    version = mark_changed(store, NOW, "the run that stored them")
    assert version != INITIAL and store.get_meta(ACCURACY_PREFIX + KEY) is None
    store.close()
    before = _fresh(db)
    assert _shown(db) == before
    store = SqliteStore(db)
    assert json.loads(store.get_meta(ACCURACY_PREFIX + KEY) or "{}")["v"] == version
    # A week's price changed around the pipeline: the data version stays, so does the accuracy
    last = store.query(KEY)[-1]
    changed = Record(KEY, last.date, (last.value or Decimal(0)) * 2, Status.OK)
    store.put_records([changed])
    store.close()
    after = _fresh(db)
    assert after != before  # a fresh backtest sees the change...
    assert _shown(db) == before  # ...the kept accuracy, read at the same version, does not
    store = SqliteStore(db)
    mark_changed(store, NOW, "the change's run")
    store.close()
    assert _shown(db) == after  # a new version: computed again from the data it names


class RefusingStore(SqliteStore):
    """A store whose meta writes are refused, as AWS credentials that only read refuse them."""

    def put_meta(self, name: str, value: str) -> None:
        raise PermissionError(f"AccessDenied: PutItem {name}")


def test_a_store_that_refuses_the_write_still_gets_its_accuracy(tmp_path: Path, caplog) -> None:
    _store(tmp_path).close()
    store = RefusingStore(tmp_path / "store.sqlite")
    walk = Backtest()
    version = data_version(store)
    assert kept_accuracy(store, KEY, walk, version=version, mark=MARK, write=True) == walk()
    assert walk.calls == 2 and store.get_meta(ACCURACY_PREFIX + KEY) is None
    assert f"the accuracy of {KEY} was computed but not kept: AccessDenied" in caplog.text
    store.close()


def _viewed(db: Path, *, keep: bool) -> dict[str, object]:
    """The dashboard's Outlook view of the store's DIESEL_S10 in Brazil, in a new process's
    views (nothing in memory): its accuracy, as `/api/outlook` gives it."""
    from fuelpipe.dashboard.outlook_views import OutlookViews

    store = SqliteStore(db, read_only=not keep)
    view = OutlookViews(store, DEFAULT_CATALOG, keep=keep).area(
        "DIESEL_S10", "BR", data_version(store)
    )
    store.close()
    return {
        "accuracy_from": view.accuracy_from.isoformat() if view.accuracy_from else None,
        "accuracy": [row.model_dump(mode="json") for row in view.accuracy],
    }


def test_the_dashboard_shares_the_kept_accuracy_with_show(tmp_path, history) -> None:
    """The dashboard's Outlook view reads the accuracy kept at its data version and model
    (here `outlook show`'s) instead of walking the backtest in every new process or Lambda
    container, and keeps the one it walks when its store takes writes (a read-only
    `fuelpipe dashboard` keeps none): a price changed around the pipeline (no new version)
    moves neither, a new version moves both."""
    db = tmp_path / "store.sqlite"
    store = SqliteStore(db)
    drivers = ("CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
    store_known(store, history, (KEY, *drivers), NOW)
    refresh_outlook(store, DEFAULT_CATALOG, NOW, keys=[KEY])
    mark_changed(store, NOW, "the run that stored them")
    store.close()
    before = _fresh(db)
    assert _viewed(db, keep=False) == before
    store = SqliteStore(db, read_only=True)
    assert store.get_meta(ACCURACY_PREFIX + KEY) is None  # read-only: computed, not kept
    store.close()
    assert _viewed(db, keep=True) == before
    store = SqliteStore(db)
    assert json.loads(store.get_meta(ACCURACY_PREFIX + KEY) or "{}")["v"] == data_version(store)
    last = store.query(KEY)[-1]  # a week's price changed around the pipeline
    store.put_records([Record(KEY, last.date, (last.value or Decimal(0)) * 2, Status.OK)])
    store.close()
    after = _fresh(db)
    assert after != before
    assert _viewed(db, keep=False) == before == _shown(db)  # the kept one, read by both
    store = SqliteStore(db)
    mark_changed(store, NOW, "the change's run")
    store.close()
    assert _viewed(db, keep=True) == after == _shown(db)  # a new version: walked again, kept
