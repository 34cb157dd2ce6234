"""The dashboard's partial Plotly bundle and its minified app scripts: committed, reproducible
(so the committed app.min.js is never stale against app.js and its siblings), precompressed,
hash-cached."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.static_assets import (
    APP_BUNDLE,
    FIRST_CHART_BYTES,
    HASHED,
    HEALTH_BUNDLE,
    LIVE_BUNDLE,
    OUTLOOK_BUNDLE,
    PLOTLY_PARTIAL,
    STATIC_DIR,
    _asset,
    accepts,
    asset,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = STATIC_DIR / PLOTLY_PARTIAL
FORMS = tuple(f"{name}{form}" for name in HASHED for form in ("", ".gz", ".br"))


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "plotly.js" / "package.json").is_file():
        pytest.skip("node and node_modules (make setup) are needed to rebuild the bundle")
    return node


def test_rebuilding_from_the_lock_gives_the_committed_bytes(tmp_path: Path) -> None:
    node = _node()
    subprocess.run(
        [node, str(ROOT / "scripts/plotly/build.mjs"), str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    for name in FORMS:
        assert (tmp_path / name).read_bytes() == (STATIC_DIR / name).read_bytes(), name


def test_the_precompressed_forms_hold_the_bundle() -> None:
    body = BUNDLE.read_bytes()
    assert gzip.decompress((STATIC_DIR / (PLOTLY_PARTIAL + ".gz")).read_bytes()) == body
    node = _node()
    unbrotli = (
        "const z=require('zlib'),f=require('fs');"
        "process.stdout.write(z.brotliDecompressSync(f.readFileSync(process.argv[1])))"
    )
    out = subprocess.run(
        [node, "-e", unbrotli, str(STATIC_DIR / (PLOTLY_PARTIAL + ".br"))],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    assert out == body


def test_the_bundle_is_small_and_holds_the_traces_the_panel_draws() -> None:
    body = BUNDLE.read_bytes()
    assert len(body) <= 1_500_000  # the whole plotly.min.js is ~4.8 MB
    assert body.startswith(b"/** plotly.js v")
    app_js = (STATIC_DIR / "app.js").read_text()
    used = set(re.findall(r'type: *"([a-z]+)"', app_js)) & {
        "scatter",
        "bar",
        "heatmap",
        "choropleth",
    }
    assert used == {"scatter", "bar", "heatmap", "choropleth"}
    for trace in used:
        assert f'name:"{trace}"'.encode() in body, trace


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The dashboard app on an empty store: static files do not depend on the data."""
    store = SqliteStore(tmp_path / "empty.sqlite")
    with TestClient(create_app(store, DEFAULT_CATALOG)) as test_client:
        yield test_client
    store.close()


def test_the_page_names_the_bundle_by_hash_and_it_is_cached_for_a_year(
    client: TestClient,
) -> None:
    found = asset(PLOTLY_PARTIAL)
    assert found is not None
    page = client.get("/").text
    src = f"/static/{PLOTLY_PARTIAL}?h={found.hash}"
    assert f'<script id="plotly-js" src="{src}" async></script>' in page
    r = client.get(src, headers={"Accept-Encoding": "br, gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "br"
    assert "immutable" in r.headers["cache-control"]
    # httpx decodes br only when a brotli module is installed; otherwise the bytes stay as sent.
    assert r.content in (BUNDLE.read_bytes(), (STATIC_DIR / (PLOTLY_PARTIAL + ".br")).read_bytes())
    stale = client.get(f"/static/{PLOTLY_PARTIAL}?h=0000", headers={"Accept-Encoding": "gzip"})
    assert "immutable" not in stale.headers["cache-control"]
    assert stale.headers["content-encoding"] == "gzip"
    assert stale.content == BUNDLE.read_bytes()


def test_the_page_loads_its_own_scripts_as_one_minified_hashed_file(client: TestClient) -> None:
    found = asset(APP_BUNDLE)
    assert found is not None
    page = client.get("/").text
    assert f'<script src="/static/{APP_BUNDLE}?h={found.hash}" defer></script>' in page
    for source in ("i18n.js", "app.js", "outlook.js", "health.js", "live.js"):
        assert f"/static/{source}" not in page  # one request instead of four
    sources = sum(len((STATIC_DIR / s).read_bytes()) for s in ("i18n.js", "app.js", "live.js"))
    assert len(found.body) < sources  # minified
    assert b"FUELPIPE_EXTRA_VIEWS.outlook" not in found.body  # outlook.js comes later
    # and so does live.js: its poll and texts (app.js asks /api/live once, for live.js's first)
    assert b"If-None-Match" not in found.body and b"Live updates paused" not in found.body
    assert b"/api/health" not in found.body  # and health.js, with its texts
    assert b"health.showAll" not in found.body and b"count.records_written" not in found.body


def test_the_scripts_the_page_names_stay_within_the_first_chart_budget(client: TestClient) -> None:
    # The page ran 1,978 bytes under its 1.5 MB budget with outlook.js inside app.min.js; the
    # scripts its document loads are all the JavaScript the first chart can wait for.
    page = client.get("/").text
    srcs = re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', page)
    assert [s.split("?")[0] for s in srcs] == [f"/static/{PLOTLY_PARTIAL}", f"/static/{APP_BUNDLE}"]
    loaded = sum(len(client.get(s, headers={"Accept-Encoding": "identity"}).content) for s in srcs)
    assert loaded <= FIRST_CHART_BYTES
    # The Outlook view's script is named for later, by its content hash: never a <script>.
    lazy = asset(OUTLOOK_BUNDLE)
    assert lazy is not None
    named = f'<meta name="fuelpipe-lazy-outlook" content="/static/{OUTLOOK_BUNDLE}?h={lazy.hash}">'
    assert named in page
    assert b"FUELPIPE_EXTRA_VIEWS.outlook" in lazy.body
    assert client.get(f"/static/{OUTLOOK_BUNDLE}?h={lazy.hash}").content == lazy.body
    # So is the Health view's, with its own texts in both languages.
    health = asset(HEALTH_BUNDLE)
    assert health is not None
    named = f'<meta name="fuelpipe-lazy-health" content="/static/{HEALTH_BUNDLE}?h={health.hash}">'
    assert named in page
    assert b"FUELPIPE_EXTRA_VIEWS.health" in health.body and b"/api/health" in health.body
    assert b"Show all {n} series" in health.body and b"Mensagens mortas" in health.body
    assert client.get(f"/static/{HEALTH_BUNDLE}?h={health.hash}").content == health.body
    # So is the live panel's: it polls once the first chart is drawn.
    live = asset(LIVE_BUNDLE)
    assert live is not None
    named = f'<meta name="fuelpipe-lazy-live" content="/static/{LIVE_BUNDLE}?h={live.hash}">'
    assert named in page
    assert b"/api/live" in live.body
    assert b"If-None-Match" in live.body and b"Live updates paused" in live.body


@pytest.mark.parametrize("path", ["/", "/stations", "/docs"])
def test_every_file_a_page_names_goes_by_its_content_hash(client: TestClient, path: str) -> None:
    """Only index.html's three bundles were hashed: stations.html named stations.js and
    app.css bare, cached an hour, so a deploy could run the new page with the old script."""
    page = client.get(path).text
    named = re.findall(r'"/static/([^"]+)"', page)
    assert named
    for ref in named:
        name, _, query = ref.partition("?")
        found = asset(name)
        assert found is not None, name
        assert query == f"h={found.hash}", ref
        served = client.get(f"/static/{ref}")
        assert "immutable" in served.headers["cache-control"], ref


def test_an_unknown_static_name_is_a_404_and_is_not_cached() -> None:
    """The name comes from the request path: caching a miss under it let any client grow
    the server's memory by asking for names that do not exist."""
    before = _asset.cache_info().currsize
    assert all(asset(f"nope-{i}.js") is None for i in range(50))
    assert _asset.cache_info().currsize == before


@pytest.mark.parametrize(
    ("header", "coding", "ok"),
    [
        ("br, gzip", "br", True),
        ("gzip;q=1.0, br;q=0", "br", False),
        ("br;q=0, gzip", "gzip", True),
        ("gzip; q=0", "gzip", False),
        ("*", "br", True),
        ("*;q=0, gzip", "br", False),
        ("identity", "gzip", False),
        ("", "gzip", False),
        ("GZIP;Q=0.5", "gzip", True),
    ],
)
def test_accept_encoding_weights_are_honoured(header: str, coding: str, ok: bool) -> None:
    assert accepts(header, coding) is ok


def test_a_client_refusing_brotli_gets_gzip(client: TestClient) -> None:
    r = client.get(f"/static/{PLOTLY_PARTIAL}", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == BUNDLE.read_bytes()
