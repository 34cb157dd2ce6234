"""The page's static files, read once into memory, served with ETag, gzip and cache headers."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

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


def plotly_js_path() -> Path:
    """plotly.min.js as the installed ``plotly`` package ships it (no CDN)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True, slots=True)
class Asset:
    """One file's bytes, its gzip form and its ETag."""

    body: bytes
    gzipped: bytes
    etag: str
    media_type: str


def _load(path: Path) -> Asset:
    body = path.read_bytes()
    return Asset(
        body=body,
        gzipped=gzip.compress(body, compresslevel=6, mtime=0),
        etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
    )


@cache
def asset_paths() -> dict[str, Path]:
    """Every servable file by its name under /static (a fixed list: no path is ever joined)."""
    files = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file() and p.suffix in MEDIA_TYPES}
    files["plotly.min.js"] = plotly_js_path()
    return files


@cache
def asset(name: str) -> Asset | None:
    """The cached asset of that name, or None."""
    path = asset_paths().get(name)
    return _load(path) if path else None


def serve_asset(request: Request, name: str, max_age: int = 3600) -> Response:
    """A 200 (gzip when accepted), a 304 on a matching ETag, or a 404."""
    found = asset(name)
    if found is None:
        return Response(f"no static file {name!r}", status_code=404, media_type="text/plain")
    headers = {
        "ETag": found.etag,
        "Cache-Control": f"public, max-age={max_age}" if max_age else "no-cache",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
