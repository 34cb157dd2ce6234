"""A cycle that changes a series writes a new data version and recomputes the stored views once;
an unchanged cycle writes nothing and recomputes nothing; a cycle that fails after it stored
values still writes their version, with the views computed for it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from tests.outlook.conftest import DATASETS
from tests.stages.conftest import NOW
from tests.support.fakes import TableSource

from fuelpipe.adapters.history_files import load_history
from fuelpipe.dashboard.precomputed import (
    Precomputer,
    default_requests,
    encode,
    entry_name,
    precomputer,
)
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.dashboard.views import meta_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.failpoints import Failpoints
from fuelpipe.outlook.series import known_at
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.data_version import INITIAL, data_version, mark_changed, unmarked

KEYS = ("FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT", "STOCK#PETR4")
LANDS = date(2022, 3, 31)  # the real PTAX value the cycle fetches


def _fill(app) -> None:  # type: ignore[no-untyped-def]
    history = load_history(DATASETS, with_areas=False)
    for key in KEYS:
        lag = DEFAULT_CATALOG[key].available_after
        app.store.put_records(
            [
                Record(key, d, Decimal(str(v)), Status.OK)
                for d, v in history.series.get(key, [])
                if known_at(d, lag) <= NOW and not (key == "CURRENCY#USD" and d >= LANDS)
            ]
        )


def _stored_versions(pre: Precomputer) -> dict[str, str]:
    meta = meta_view(pre.ctx.reader)
    out = {}
    for path, params in default_requests(meta):
        found = pre.stored(path, params)
        assert found is not None, (path, params)
        out[f"{path}?{json.dumps(params)}"] = found[0]
    return out


def test_changed_series_recomputes_views_and_an_unchanged_cycle_does_not(make_app):
    real_usd = dict(load_history(DATASETS, with_areas=False).series["CURRENCY#USD"])
    source = TableSource("bcb", {("CURRENCY#USD", LANDS): Decimal(str(real_usd[LANDS]))})
    app = make_app(source)
    _fill(app)
    assert data_version(app.store) == INITIAL
    pre = precomputer(
        SeriesReader(app.store, DEFAULT_CATALOG), app.store, app.catalog, None, app.clock
    )
    assert pre.refresh() == len(default_requests(meta_view(pre.ctx.reader)))
    usd_before = pre.stored(*_usd_index_request(pre))
    versions: list[str] = []

    def on_change(version: str) -> None:
        versions.append(version)
        pre.refresh(version)

    usd = [DEFAULT_CATALOG["CURRENCY#USD"]]
    report = run_cycle(app, series=usd, since=LANDS, on_change=on_change)
    assert report.scrape.records_written == 1
    (v1,) = versions
    assert v1 == data_version(app.store) != INITIAL
    stored = _stored_versions(pre)
    assert all(v.split(".")[0] == v1 for v in stored.values())  # every view at the new version
    usd_after = pre.stored(*_usd_index_request(pre))
    assert usd_before is not None and usd_after is not None
    assert usd_after[2] != usd_before[2]
    overview = json.loads(usd_after[2])  # the overview's USD card shows the landed value
    usd_card = next(i for i in overview["items"] if i["key"] == "CURRENCY#USD")
    assert usd_card["date"] == LANDS.isoformat()
    assert usd_card["value"] == float(real_usd[LANDS])

    computed = pre.computed
    again = run_cycle(app, series=usd, since=LANDS, on_change=on_change)
    assert again.scrape.records_written == 0
    assert versions == [v1]  # no change: no new version, no callback
    assert data_version(app.store) == v1
    # nothing stale to recompute but health, which shows the cycle's runs: this fixed clock
    # logs them again at the same instants, with this cycle's counters (records_written 0)
    assert pre.refresh() == 1
    assert pre.computed == computed + 1
    after = _stored_versions(pre)
    assert [k for k in stored if after[k] != stored[k]] == ["/api/health?[]"]
    (health,) = [v for k, v in after.items() if k.startswith("/api/health")]
    assert health.split(".")[0] == v1


def _filled_with_views(make_app):  # type: ignore[no-untyped-def]
    """A store filled up to LANDS, its default views stored; its source has LANDS' PTAX."""
    real_usd = dict(load_history(DATASETS, with_areas=False).series["CURRENCY#USD"])
    source = TableSource("bcb", {("CURRENCY#USD", LANDS): Decimal(str(real_usd[LANDS]))})
    app = make_app(source)
    _fill(app)
    pre = precomputer(
        SeriesReader(app.store, DEFAULT_CATALOG), app.store, app.catalog, None, app.clock
    )
    pre.refresh()
    return app, pre


def _usd_index_request(pre: Precomputer):  # type: ignore[no-untyped-def]
    """The overview request (its cards hold CURRENCY#USD's latest value)."""
    return ("/api/overview", ())


class _RecheckFailed(RuntimeError):
    """An error after the drain stored the landed value (the queue or the store failing in the
    recheck, the outlook refresh raising): not a kill, the cycle's own error path runs."""


def _fail(_signum: object) -> None:
    raise _RecheckFailed("the store failed in the recheck")


def test_a_cycle_failing_after_its_drain_writes_the_version_with_its_views(make_app):
    """The drain stored the landed PTAX value, then the recheck raised. The cycle wrote no data
    version (only the recheck's quarantines counted on that path), so the dashboard kept
    serving the views of the store before the value, with their old ETag (a 304), as current,
    until some later run. Now the version moves on the way out and the precompute runs for it,
    as after a cycle that ended: the stored views are the new data's, and nothing stays owed."""
    app, pre = _filled_with_views(make_app)
    versions: list[str] = []

    def on_change(version: str) -> None:
        versions.append(version)
        pre.refresh(version)

    usd = [DEFAULT_CATALOG["CURRENCY#USD"]]
    app.failpoints = Failpoints("recheck.after_claim:1", kill=_fail)
    with pytest.raises(_RecheckFailed):
        run_cycle(app, series=usd, since=LANDS, on_change=on_change)

    assert [r.date for r in app.store.query("CURRENCY#USD", LANDS, LANDS)] == [LANDS]
    (moved,) = versions
    assert moved == data_version(app.store) != INITIAL
    assert all(v.split(".")[0] == moved for v in _stored_versions(pre).values())
    overview = pre.stored(*_usd_index_request(pre))
    assert overview is not None and overview[0] == moved
    usd_card = next(i for i in json.loads(overview[2])["items"] if i["key"] == "CURRENCY#USD")
    assert usd_card["date"] == LANDS.isoformat()
    assert not unmarked(app.store)  # paid on the way out: the next cycle owes nothing

    app.failpoints = Failpoints()
    run_cycle(app, series=usd, since=LANDS, on_change=on_change)
    # no data was owed; the outlook, which the failed cycle never reached, follows the landed
    # value now, and its forecasts are shown at a version of their own
    assert versions[0] == moved and len(versions) == 2
    assert data_version(app.store) == versions[1]
    run_cycle(app, series=usd, since=LANDS, on_change=on_change)
    assert len(versions) == 2  # then nothing is owed


def test_a_cycle_whose_outlook_alone_changed_writes_a_version(make_app):
    """Nothing to fetch, but the outlook refresh stores forecasts (here the first ones): the
    stored views show them only at a new data version, so the cycle writes one (with its
    views); the next cycle, with nothing new for either, writes none."""
    app = make_app(TableSource("bcb", {}))
    _fill(app)
    versions: list[str] = []
    pre = precomputer(
        SeriesReader(app.store, DEFAULT_CATALOG), app.store, app.catalog, None, app.clock
    )

    def on_change(version: str) -> None:
        versions.append(version)
        pre.refresh(version)

    gasoline = [DEFAULT_CATALOG["FUEL#GASOLINE#BR"]]  # complete: no request
    report = run_cycle(app, series=gasoline, on_change=on_change)
    assert report.scrape.records_written == 0
    assert app.store.query("OUTLOOK#GASOLINE#BR")  # the refresh made its forecast
    (version,) = versions
    assert data_version(app.store) == version != INITIAL
    outlook = pre.stored("/api/outlook", (("area", ("BR",)), ("fuel", ("GASOLINE",))))
    assert outlook is not None and outlook[0] == version
    assert json.loads(outlook[2])["available"]  # the view shows the forecast
    run_cycle(app, series=gasoline, on_change=on_change)
    assert versions == [version] and data_version(app.store) == version


def test_views_of_past_versions_are_pruned_after_the_next_change(make_app):
    """A view stored for parameters the page asks no more (last week's window, an older
    VIEWS_SCHEMA's name) stayed in the store forever. Its entry is kept while its version is
    current (the dashboard serves it until the run's new version lands: the precompute runs
    before), and the precompute after the next change deletes it; no other meta entry goes."""
    app, pre = _filled_with_views(make_app)
    old_window = (("keys", ("CURRENCY#USD",)), ("start", ("2021-03-07",)))
    orphan = entry_name("/api/indices", old_window)
    app.store.put_meta(orphan, encode(INITIAL, old_window, b"{}"))
    look_alike = encode(INITIAL, old_window, b"{}")  # not a view's name: never touched
    app.store.put_meta("views_note", look_alike)
    seen: list[bool] = []

    def on_change(version: str) -> None:
        pre.refresh(version)
        seen.append(app.store.get_meta(orphan) is not None)  # its version still current

    run_cycle(app, series=[DEFAULT_CATALOG["CURRENCY#USD"]], since=LANDS, on_change=on_change)
    assert seen == [True]
    assert app.store.get_meta(orphan) is not None  # the version it was current at just went
    current = _stored_versions(pre)
    mark_changed(app.store, NOW, "next change", before=on_change)
    assert seen == [True, False]
    assert app.store.get_meta(orphan) is None
    assert app.store.get_meta("views_note") == look_alike
    after = _stored_versions(pre)
    assert after.keys() == current.keys()  # every default view stored, at the new version
    assert all(v.split(".")[0] == data_version(app.store) for v in after.values())
