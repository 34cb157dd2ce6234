"""ANP's station-level open data ("Série Histórica de Preços de Combustíveis"):

- ``/serie-historica-de-precos-de-combustiveis``: the listing page, links to every file;
- ``/arquivos/shpc/qus/<name>.csv``: the rolling "últimas 4 semanas" files, served in ANP's own
  CSV format (UTF-8 with a BOM, ``;``, decimal comma, dd/mm/yyyy, CRLF) from the real sample
  stored xz-compressed in ``snapshot/shpc/qus/`` (see the snapshot's NOTICE.md).

Files carry ``ETag`` and ``Last-Modified`` and answer a conditional GET with 304, as gov.br does,
so a client that already has a file does not download it again.
"""

from __future__ import annotations

import hashlib
import lzma
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from pathlib import Path

from fuelpipe.dashboard.etags import none_match
from fuelpipe.replay.reply import HTML, Reply, RouteContext, html_page

LISTING = "/serie-historica-de-precos-de-combustiveis"
FILES_PREFIX = "/arquivos/shpc/qus/"
CSV_TYPE = "text/csv"
# When ANP published the sample's files: the Monday after its last collection day (2025-04-19).
PUBLISHED = datetime(2025, 4, 21, 12, 0, tzinfo=UTC)


def _folder(ctx: RouteContext) -> Path | None:
    root = getattr(ctx.snapshot, "root", None)
    folder = Path(root) / "shpc" / "qus" if root else None
    return folder if folder is not None and folder.is_dir() else None


def _names(ctx: RouteContext) -> list[str]:
    folder = _folder(ctx)
    return sorted(p.name.removesuffix(".xz") for p in folder.glob("*.csv.xz")) if folder else []


def _not_found() -> Reply:
    return html_page(404, "Página não encontrada", "Desculpe, mas esta página não existe…")


def _listing(ctx: RouteContext) -> Reply:
    items = "\n".join(
        f'<li><a href="arquivos/shpc/qus/{escape(n)}">{escape(n)}</a></li>' for n in _names(ctx)
    )
    body = (
        "<!DOCTYPE html><html lang='pt-br'><head><meta charset='utf-8'>"
        "<title>Série Histórica de Preços de Combustíveis</title></head><body>"
        "<h1>Série Histórica de Preços de Combustíveis e de GLP</h1>"
        f"<h2>Últimas 4 semanas</h2><ul>\n{items}\n</ul></body></html>"
    )
    return Reply(200, HTML, body.encode("utf-8"))


def _not_modified(ctx: RouteContext, etag: str) -> bool:
    match = ctx.headers.get("if-none-match")
    if match is not None:
        return none_match(match, etag)
    since = ctx.headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since) >= PUBLISHED
        except (TypeError, ValueError):
            return False
    return False


def handle(ctx: RouteContext) -> Reply:
    """Answer one request below ``/shpc``."""
    if ctx.path.rstrip("/") == LISTING:
        return _listing(ctx)
    if not ctx.path.startswith(FILES_PREFIX):
        return _not_found()
    name = ctx.path.removeprefix(FILES_PREFIX)
    if name not in _names(ctx):
        return _not_found()
    folder = _folder(ctx)
    assert folder is not None
    body = ctx.memo.get(
        f"shpc:{name}", lambda: lzma.decompress((folder / f"{name}.xz").read_bytes())
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Last-Modified": format_datetime(PUBLISHED, usegmt=True)}
    if _not_modified(ctx, etag):
        return Reply(304, CSV_TYPE, b"", headers)
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Reply(200, CSV_TYPE, body, headers)
