"""The short-lived answer cache: fresh answers after the TTL, never stale past it or past a data
change, and a stored view's ETag answers 304 through it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from devtools.dashboard.serving import serving
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.dashboard.conftest import NOW, ManualTimer

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.cache import ResponseCache
from fuelpipe.dashboard.etags import none_match
from fuelpipe.dashboard.precomputed import Precomputer, view_etag
from fuelpipe.dashboard.versions import DataVersion
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import mark_changed

USD = "/api/series?key=CURRENCY%23USD"


@pytest.fixture
def cached(tmp_path: Path) -> Iterator[tuple[SqliteStore, ManualTimer, str]]:
    store = SqliteStore(tmp_path / "c.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
    timer = ManualTimer()
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
    with serving(ResponseCache(app, ttl_s=30, timer=timer)) as url:
        yield store, timer, url
    store.close()


def test_answers_are_reused_until_the_ttl_then_refreshed(
    cached: tuple[SqliteStore, ManualTimer, str],
) -> None:
    store, timer, url = cached
    with httpx.Client(base_url=url) as client:
        assert len(client.get(USD).json()["points"]) == 1
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 3), Decimal("5.0"), Status.OK)])
        timer.now += 29
        hit = client.get(USD)
        assert len(hit.json()["points"]) == 1  # still the cached answer
        assert hit.headers["x-content-type-options"] == "nosniff"
        assert len(client.get(USD + "&start=2022-05-01").json()["points"]) == 2  # another query
        timer.now += 2
        assert len(client.get(USD).json()["points"]) == 2  # past the TTL: read again


class _Reached:
    """The app, noting the path of each request that gets past the cache to it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def test_errors_are_not_cached(tmp_path: Path) -> None:
    # Two 422s in a row read the same whether or not the first was stored: what tells them
    # apart is whether the second reached the app. An error is asked of the app each time; a
    # 200 only once within the TTL.
    with SqliteStore(tmp_path / "e.sqlite", clock=FixedClock(NOW)) as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
        app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0)
        reached = _Reached(app)
        with (
            serving(ResponseCache(reached, ttl_s=30, timer=ManualTimer())) as url,
            httpx.Client(base_url=url) as client,
        ):
            assert client.get("/api/lags?fuel=NOPE").status_code == 422
            assert client.get("/api/lags?fuel=NOPE").status_code == 422
            assert reached.paths == ["/api/lags", "/api/lags"]
            assert client.get("/api/overview").status_code == 200
            assert client.get("/api/overview").status_code == 200
            assert reached.paths == ["/api/lags", "/api/lags", "/api/overview"]


@pytest.fixture
def behind_cache(tmp_path: Path) -> Iterator[tuple[SqliteStore, ManualTimer, str, Precomputer]]:
    """The app with its stored views, behind a cache of its own on a hand-moved timer."""
    store = SqliteStore(tmp_path / "t.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
    mark_changed(store, NOW, "fill")
    timer = ManualTimer()
    versions = DataVersion(store, timer=timer)  # read at most once a second of this timer
    app = create_app(
        store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=0, versions=versions
    )
    pre: Precomputer = app.state.precomputer
    pre.refresh()
    with serving(ResponseCache(app, ttl_s=30, timer=timer)) as url:
        yield store, timer, url, pre
    store.close()


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"v1"', True),
        ('W/"v1"', True),  # If-None-Match compares weakly: W/ does not matter
        ('"v0", "v1"', True),
        ('"v0",W/"v1"', True),
        ("*", True),
        ('"v0"', False),
        ('"v1-old"', False),
        ("v1", False),  # not an entity tag: no quotes
        ('"v0, v1"', False),  # one tag with a comma inside
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_follows_http(header: str | None, matches: bool) -> None:
    assert none_match(header, '"v1"') is matches
    assert none_match(header, 'W/"v1"') is matches


def test_a_view_the_cache_holds_still_answers_304_to_its_etag(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
    mark_changed(store, NOW, "fill")
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=30)
    app.state.precomputer.refresh()
    with serving(app) as url, httpx.Client(base_url=url) as client:
        first = client.get("/api/meta")  # a plain request: its answer is the one cached
        tag = first.headers["etag"]
        for header in (tag, f"W/{tag}", f'"other", {tag}', f'W/"x",W/{tag}', "*"):
            again = client.get("/api/meta", headers={"If-None-Match": header})
            assert (again.status_code, again.content) == (304, b""), header
            assert again.headers["etag"] == tag
        other = client.get("/api/meta", headers={"If-None-Match": '"other"'})
        assert other.status_code == 200 and other.json() == first.json()
    store.close()


def test_a_stored_view_behind_the_cache_follows_the_data_version(
    behind_cache: tuple[SqliteStore, ManualTimer, str, Precomputer],
) -> None:
    store, timer, url, _ = behind_cache
    with httpx.Client(base_url=url) as client:
        first = client.get("/api/overview")
        tag = first.headers["etag"]
        assert client.get("/api/overview", headers={"If-None-Match": tag}).status_code == 304
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 3), Decimal("5.0"), Status.OK)])
        version = mark_changed(store, NOW, "landing")
        timer.now += 1  # well inside the cache's 30 s, past the version's 1 s
        after = client.get("/api/overview", headers={"If-None-Match": tag})
        assert after.status_code == 200  # the old tag is stale: the new body, never a 304
        assert after.headers["etag"] == view_etag(version)
        usd = next(i for i in after.json()["items"] if i["key"] == "CURRENCY#USD")
        assert (usd["date"], usd["value"]) == ("2022-05-03", 5.0)
        plain = client.get("/api/overview")
        assert plain.headers["etag"] == view_etag(version) and plain.json() == after.json()


def test_an_on_demand_answer_is_read_again_after_a_data_change(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "d.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
    timer = ManualTimer()
    versions = DataVersion(store, timer=timer)
    app = create_app(
        store, DEFAULT_CATALOG, clock=FixedClock(NOW), cache_ttl_s=30, versions=versions
    )
    with serving(app) as url, httpx.Client(base_url=url) as client:
        assert len(client.get(USD).json()["points"]) == 1
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 3), Decimal("5.0"), Status.OK)])
        assert len(client.get(USD).json()["points"]) == 1  # no new version: still cached
        mark_changed(store, NOW, "landing")
        timer.now += 0.5
        assert len(client.get(USD).json()["points"]) == 1  # the version is trusted for 1 s
        timer.now += 0.5
        assert len(client.get(USD).json()["points"]) == 2  # a new version: read again
    store.close()


def test_every_answer_says_how_it_may_be_cached(tmp_path: Path) -> None:
    """Answers without an ETag (computed on demand, a CSV, /api/intraday, /openapi.json, every
    error) carried no Cache-Control, so a browser or proxy could keep them heuristically and
    show a page stale data after a change. An error is now ``no-store``, any other answer that
    set none ``no-cache``; those that set their own (a stored view's, /api/live's, a static
    file's) keep it."""
    store = SqliteStore(tmp_path / "h.sqlite", clock=FixedClock(NOW))
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 2), Decimal("4.9"), Status.OK)])
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW))
    expected = {
        USD: (200, "no-cache"),  # on demand, untagged
        USD + "&format=csv": (200, "no-cache"),
        "/api/intraday": (200, "no-cache"),
        "/openapi.json": (200, "no-cache"),
        "/api/live": (200, "no-cache"),  # its own, beside its ETag
        "/api/series?key=NOPE": (404, "no-store"),  # an unknown series
        "/api/meta?end=": (422, "no-store"),
        "/api/nope": (404, "no-store"),
        "/static/nope.js": (404, "no-store"),
    }
    with serving(app) as url, httpx.Client(base_url=url) as client:
        seen = {path: client.get(path) for path in expected}
        assert {p: (r.status_code, r.headers.get("cache-control")) for p, r in seen.items()} == (
            expected
        )
        assert "etag" not in seen[USD].headers and "etag" in seen["/api/live"].headers
        asset = client.get("/static/app.min.js").headers["cache-control"]
        assert asset.startswith("public, max-age="), asset  # a static file's own, kept
    store.close()
