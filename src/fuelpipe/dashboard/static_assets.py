"""The page's static files, read once into memory, served with ETag, gzip and cache headers.

Plotly comes as a partial bundle (``plotly-partial.min.js``: only the trace types the panel
draws, built from plotly.js's npm package by ``make plotly``) and the page's own scripts as
minified files built by the same command (``app.min.js`` for the first chart, and
``outlook.min.js``, ``health.min.js`` and ``live.min.js``, loaded later), each precompressed
beside it (``.br``, ``.gz``). The page names them, as every static file a page names, with
their content hash (``?h=``), and a request carrying the current hash is cached for a year: a
new bundle is a new URL.

Only the files in ``static/`` are served, not the whole ``plotly.min.js``: the page never loads
it, and reading it from the ``plotly`` package made the dashboard Lambda carry plotly, narwhals
and packaging (about 37 MB unzipped, without bytecode) for nothing. bench/bench_firstchart.py,
which compares the two bundles, reads the whole one from plotly.js's npm package.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from fuelpipe.dashboard.etags import none_match

STATIC_DIR = Path(__file__).parent / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


PLOTLY_PARTIAL = "plotly-partial.min.js"
APP_BUNDLE = "app.min.js"
"""The page's own scripts the first chart needs (i18n, app), minified by ``make plotly``."""
OUTLOOK_BUNDLE = "outlook.min.js"
"""The Outlook view (outlook.js), minified alone by the same command: the page names it in a
``<meta>`` and app.js loads it when its tab opens or after the first chart is drawn."""
HEALTH_BUNDLE = "health.min.js"
"""The Health view (health.js), minified alone by the same command: the page names it in a
``<meta>`` and app.js loads it when its tab opens or after the first chart is drawn."""
LIVE_BUNDLE = "live.min.js"
"""The live panel (live.js), minified alone by the same command: the page names it in a
``<meta>`` and app.js loads it once the first chart is drawn."""
HASHED = (PLOTLY_PARTIAL, APP_BUNDLE, OUTLOOK_BUNDLE, HEALTH_BUNDLE, LIVE_BUNDLE)
"""Built files the page names by their content hash."""
FIRST_CHART_BYTES = 1_500_000
"""The budget of JavaScript the page loads before its first chart (the scripts its document
names; bench/bench_firstchart.py measures the same in Chromium)."""
IMMUTABLE_S = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Asset:
    """One file's bytes, its gzip form and its ETag."""

    body: bytes
    gzipped: bytes
    etag: str
    media_type: str
    brotli: bytes | None = None
    """Precompressed by the build, when a ``.br`` file lies beside the file."""

    @property
    def hash(self) -> str:
        """The content hash the page puts in the asset's URL."""
        return self.etag.strip('"')[:16]


def _load(path: Path, body: bytes | None = None) -> Asset:
    body = path.read_bytes() if body is None else body
    gz = path.with_name(path.name + ".gz")
    br = path.with_name(path.name + ".br")
    return Asset(
        body=body,
        gzipped=gz.read_bytes() if gz.is_file() else gzip.compress(body, compresslevel=6, mtime=0),
        etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        brotli=br.read_bytes() if br.is_file() else None,
    )


@cache
def asset_paths() -> dict[str, Path]:
    """Every servable file by its name under /static (a fixed list: no path is ever joined)."""
    return {p.name: p for p in STATIC_DIR.iterdir() if p.is_file() and p.suffix in MEDIA_TYPES}


_NAMED = re.compile(r'"/static/([^"?/]+)"')
"""A static file a page names (a ``src``, an ``href``, a ``<meta>`` content)."""


def asset(name: str) -> Asset | None:
    """The cached asset of that name, or None (an unknown name is not cached: the names come
    from request paths, and a cache keyed by them would grow with every one asked)."""
    return _asset(name) if name in asset_paths() else None


@cache
def _asset(name: str) -> Asset:
    path = asset_paths()[name]
    if path.suffix != ".html":
        return _load(path)
    # Each file a page names goes by its content hash, so a new deploy's page never runs
    # with a script or a stylesheet an hour-long cache kept from the one before.
    page = path.read_text(encoding="utf-8")

    def hashed(match: re.Match[str]) -> str:
        found = asset(match.group(1))
        if found is None or match.group(1).endswith(".html"):
            return match.group(0)
        return f'"/static/{match.group(1)}?h={found.hash}"'

    return _load(path, _NAMED.sub(hashed, page).encode())


def accepts(header: str, coding: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows ``coding`` (RFC 9110 §12.5.3: ``q=0``
    refuses it; ``*`` stands for the codings not named)."""
    # Not Starlette's GZipMiddleware: it tests ``"gzip" in`` the header (q=0 read as a yes)
    # and compresses each response again, where these assets are compressed once, br too.
    weights: dict[str, float] = {}
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip():
            weights[name.strip()] = q
    return weights.get(coding, weights.get("*", 0.0)) > 0


def serve_asset(request: Request, name: str, max_age: int = 3600) -> Response:
    """A 200 (gzip when accepted), a 304 on a matching ETag, or a 404."""
    found = asset(name)
    if found is None:
        return Response(f"no static file {name!r}", status_code=404, media_type="text/plain")
    cache_control = f"public, max-age={max_age}" if max_age else "no-cache"
    if max_age and request.query_params.get("h") == found.hash:
        cache_control = f"public, max-age={IMMUTABLE_S}, immutable"
    headers = {"ETag": found.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if none_match(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    accepted = request.headers.get("accept-encoding", "")
    if found.brotli is not None and accepts(accepted, "br"):
        headers["Content-Encoding"] = "br"
        return Response(found.brotli, media_type=found.media_type, headers=headers)
    if accepts(accepted, "gzip"):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
