"""Stored views per data version over HTTP: ETags, 304s, recompute on change, on-demand equality."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from devtools.dashboard.realdata import fill_store
from devtools.dashboard.serving import serving
from tests.dashboard.conftest import NOW, ManualTimer

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.outlook_views import OutlookView, OutlookViews
from fuelpipe.dashboard.precomputed import (
    VIEWS_SCHEMA,
    Context,
    Params,
    Precomputer,
    ViewsFailed,
    default_requests,
    view_etag,
)
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.dashboard.versions import DataVersion
from fuelpipe.dashboard.views import meta_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import data_version, mark_changed

USD = "CURRENCY#USD"


def url_of(path: str, params: Params) -> str:
    """The request the page makes for a canonical parameter set."""
    query = urlencode([(name, v) for name, values in params for v in values])
    return f"{path}?{query}" if query else path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """A store of this module's own (the tests land new data in it)."""
    path: Path = tmp_path_factory.mktemp("precomputed") / "real.sqlite"
    with SqliteStore(path, clock=FixedClock(NOW)) as s:
        fill_store(s)
        mark_changed(s, NOW, "fill")
        yield s


@pytest.fixture(scope="module")
def version_timer() -> ManualTimer:
    return ManualTimer()


@pytest.fixture(scope="module")
def served(store: SqliteStore, version_timer: ManualTimer) -> Iterator[tuple[str, Precomputer]]:
    """The dashboard with its response cache off, so every answer comes from the stored views;
    its data version is read at most once a second of ``version_timer``."""
    versions = DataVersion(store, timer=version_timer)
    app = create_app(
        store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, versions=versions
    )
    pre: Precomputer = app.state.precomputer
    pre.refresh()
    with serving(app) as url:
        yield url, pre


@pytest.fixture(scope="module")
def on_demand(store: SqliteStore) -> Iterator[str]:
    """The same store without stored views: every answer computed by the routes."""
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, precompute=False)
    with serving(app) as url:
        yield url


def test_stored_views_equal_on_demand_answers_and_carry_the_version(served, on_demand, store):
    url, pre = served
    requests = default_requests(meta_view(pre.ctx.reader))
    version = data_version(store)
    computed = pre.computed
    with (
        httpx.Client(base_url=url, timeout=30) as a,
        httpx.Client(base_url=on_demand, timeout=30) as b,
    ):
        for path, params in requests:
            stored, live = a.get(url_of(path, params)), b.get(url_of(path, params))
            assert stored.status_code == live.status_code == 200, (path, stored.text)
            assert stored.headers["etag"].strip('"').split(".")[0] == version
            assert "etag" not in live.headers
            if path != "/api/health":  # health carries the request's own as_of either way
                assert stored.json() == live.json(), path
            else:
                assert stored.json()["series"] == live.json()["series"]
    assert pre.computed == computed  # served from the store, nothing recomputed


def test_if_none_match_gives_304_for_stored_views_only(served):
    url, _ = served
    with httpx.Client(base_url=url, timeout=30) as client:
        first = client.get("/api/overview")
        etag = first.headers["etag"]
        again = client.get("/api/overview", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        # Other parameters are computed on demand by the routes, untagged (never a stale 304).
        other = "/api/indices?keys=CURRENCY%23USD,STOCK%23PETR4&start=2021-09-01"
        fresh = client.get(other, headers={"If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.json()["series"][0]["points"]
        assert "etag" not in fresh.headers
        # CSV downloads are rendered per request, never from the JSON store.
        csv = client.get("/api/regional?fuel=GASOLINE&format=csv")
        assert csv.headers["content-type"].startswith("text/csv")


def test_a_stored_view_is_not_served_for_a_parameter_it_does_not_take(served):
    """A parameter left blank was dropped before the stored view's lookup, so ``?x=`` (or
    ``?end=``) got the stored overview while the routes answer 422; one with a value never
    matched a stored view and the routes' 422 names it."""
    url, _ = served
    with httpx.Client(base_url=url, timeout=30) as client:
        assert "etag" in client.get("/api/overview").headers
        for query, detail in (("x=", "x: unknown parameter"), ("x=1", "x: unknown parameter")):
            r = client.get(f"/api/overview?{query}")
            assert r.status_code == 422 and r.json()["detail"].startswith(detail), query
        r = client.get("/api/overview?end=")
        assert r.status_code == 422 and "is not a date" in r.json()["detail"]


def test_new_data_gives_new_etag_and_recomputes_each_view_once(served, store, version_timer):
    url, pre = served
    with httpx.Client(base_url=url, timeout=30) as client:
        before = client.get("/api/overview")
        old_tag = before.headers["etag"]
        usd_before = next(i for i in before.json()["items"] if i["key"] == USD)
        last = max(p.date for p in store.present(USD))
        new_day = last + timedelta(days=3 if last.weekday() == 4 else 1)
        store.put_records([Record(USD, new_day, Decimal("9.8765"), Status.OK)])
        new_version = mark_changed(store, NOW, "test landing")
        version_timer.now += 1  # the version read is trusted for 1 s
        computed = pre.computed
        after = client.get("/api/overview", headers={"If-None-Match": old_tag})
        assert after.status_code == 200  # the old tag no longer matches
        assert after.headers["etag"] == view_etag(new_version)
        usd_after = next(i for i in after.json()["items"] if i["key"] == USD)
        assert usd_after["date"] == new_day.isoformat() != usd_before["date"]
        assert usd_after["value"] == pytest.approx(9.8765)
        assert pre.computed == computed + 1  # the stale stored view, recomputed once
        client.get("/api/overview")
        assert pre.computed == computed + 1  # and then served from the store
        assert (
            client.get(
                "/api/overview", headers={"If-None-Match": after.headers["etag"]}
            ).status_code
            == 304
        )


def test_a_stored_view_s_etag_changes_with_the_views_schema(served, store):
    """A release whose views differ raises VIEWS_SCHEMA, and its stored views are computed anew
    at the same data version. Their ETag was that version alone (health's with its inputs), so
    a browser holding the release before's body (app.js's fetches revalidate with
    If-None-Match) got a 304 and kept a body of the old shape under the new page until the
    data changed. The tag names the schema too: the release before's tag gets the body."""
    url, pre = served
    version = data_version(store)
    assert view_etag(version) != view_etag(version, schema=VIEWS_SCHEMA + 1)
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in ("/api/overview", "/api/health"):
            tagged = pre.version_of(path, version)  # the release before's tag: f'"{tagged}"'
            before = client.get(path, headers={"If-None-Match": f'"{tagged}"'})
            assert before.status_code == 200 and before.json(), path
            assert before.headers["etag"] == view_etag(tagged), path
            again = client.get(path, headers={"If-None-Match": view_etag(tagged)})
            assert again.status_code == 304, path


def test_a_read_only_store_serves_views_recomputed_in_memory(tmp_path: Path) -> None:
    """`fuelpipe dashboard` opens the store read-only: a stored view made stale by a pipeline
    run (``watch`` marks the change; health follows runs and the day too) is recomputed into
    memory, once, and not written back; before, the refused write answered 500."""
    path = tmp_path / "store.sqlite"
    with SqliteStore(path, clock=FixedClock(NOW)) as writer:
        fill_store(writer)
        mark_changed(writer, NOW, "fill")
        create_app(writer, DEFAULT_CATALOG, clock=FixedClock(NOW)).state.precomputer.refresh()
        mark_changed(writer, NOW + timedelta(minutes=5), "watch")  # a run landed data
        meta = writer.connection.execute("SELECT * FROM meta ORDER BY name").fetchall()
    with SqliteStore(path, clock=FixedClock(NOW), read_only=True) as reader:
        app = create_app(
            reader, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, store_views=False
        )
        pre: Precomputer = app.state.precomputer
        version = data_version(reader)
        with serving(app) as base:
            for view in ("/api/health", "/api/overview", "/api/meta"):
                first = httpx.get(base + view, timeout=30)
                assert first.status_code == 200, first.text
                assert version in first.headers["etag"]
            computed = pre.computed
            again = httpx.get(base + "/api/overview", timeout=30)
            assert again.status_code == 200 and pre.computed == computed  # kept in memory
        assert reader.connection.execute("SELECT * FROM meta ORDER BY name").fetchall() == meta


def test_the_stored_overview_dates_brent_in_reais_by_brent_on_a_ptax_holiday(
    tmp_path: Path,
) -> None:
    """The page's overview without an End date is a stored view: Brent's newest day is Carnival
    Tuesday (no PTAX on 02-28 and 03-01), so its Brent in BRL card is Brent that day at 02-25's
    PTAX against 02-22's, as Brent's card; before, it showed 02-25 against 02-18."""
    days = [date(2022, 2, 14) + timedelta(days=i) for i in range(16)]
    weekdays = [d for d in days if d.weekday() < 5]  # 02-14 .. 03-01
    carnival = {date(2022, 2, 28), date(2022, 3, 1)}
    brent = {d: Decimal(90 + i) for i, d in enumerate(weekdays)}
    ptax = {d: Decimal(f"5.{1000 + i}") for i, d in enumerate(weekdays) if d not in carnival}
    with SqliteStore(tmp_path / "store.sqlite", clock=FixedClock(NOW)) as store:
        store.put_records(
            [Record("COMMODITY#BRENT", d, v, Status.OK) for d, v in brent.items()]
            + [Record(USD, d, v, Status.OK) for d, v in ptax.items()]
        )
        mark_changed(store, NOW, "fill")
        app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
        app.state.precomputer.refresh()
        with serving(app) as base:
            answer = httpx.get(base + "/api/overview", timeout=30)
        assert data_version(store) in answer.headers["etag"]  # the stored view
    card = next(i for i in answer.json()["items"] if i["key"] == "BRENT_BRL")
    tuesday, friday, week_before = date(2022, 3, 1), date(2022, 2, 25), date(2022, 2, 22)
    assert (card["date"], card["prev_date"]) == (tuesday.isoformat(), week_before.isoformat())
    assert card["value"] == pytest.approx(float(brent[tuesday] * ptax[friday]), abs=1e-6)
    assert card["prev_value"] == pytest.approx(float(brent[week_before] * ptax[week_before]))


class _AreaFails(OutlookViews):
    """Brazil's outlook raising (a backtest's numerical error, say); the map still works."""

    def area(self, fuel: str, area: str, version: str) -> OutlookView:
        raise ArithmeticError(f"no outlook for {fuel} {area}")


@dataclass(frozen=True)
class _FailingOutlookContext(Context):
    @property
    def outlook(self) -> OutlookViews:
        return _AreaFails(self.store, self.catalog)


def test_a_view_that_raises_is_named_and_the_others_are_stored(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "fails.sqlite", clock=FixedClock(NOW)) as store:
        fill_store(store)
        version = mark_changed(store, NOW, "fill")
        reader = SeriesReader(store, DEFAULT_CATALOG)
        pre = Precomputer(
            _FailingOutlookContext(reader, store, DEFAULT_CATALOG, None, FixedClock(NOW))
        )
        with pytest.raises(ViewsFailed, match=r"/api/outlook \{.*no outlook for GASOLINE BR"):
            pre.refresh(version)
        wanted = default_requests(meta_view(reader))
        stored = {(p, q): pre.stored(p, q) for p, q in wanted}
        missing = [r for r, found in stored.items() if found is None]
        assert [path for path, _ in missing] == ["/api/outlook"]
        assert all(f[0].split(".")[0] == version for f in stored.values() if f is not None)
