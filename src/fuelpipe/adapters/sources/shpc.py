"""ANP's station-level open data over HTTP: the listing page and conditional file downloads.

The listing is data: every link to a ``.csv`` or ``.zip`` under ``/arquivos/shpc/`` is a file,
whatever its name (ANP renames files and has published typos). A file is downloaded with the
validators recorded last time (``If-None-Match`` / ``If-Modified-Since``), so an unchanged file
costs a 304 and no body. Bodies stream to disk: a semiannual file is hundreds of megabytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import stamina

from fuelpipe.adapters.sources._http import make_client, redact_url, snippet
from fuelpipe.ports.source import NotFound, PermanentSourceError, ServerError, SourceTimeout

LISTING_PATH = "serie-historica-de-precos-de-combustiveis"
_FILE_LINK = re.compile(r"/arquivos/shpc/.+\.(csv|zip)$", re.IGNORECASE)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def file_links(html: str, page_url: str) -> list[str]:
    """Absolute URLs of the station files a listing page links to, in page order, once each."""
    parser = _Links()
    parser.feed(html)
    seen: dict[str, None] = {}
    for href in parser.hrefs:
        url = urljoin(page_url, href.strip())
        if _FILE_LINK.search(urlsplit(url).path):
            seen.setdefault(url, None)
    return list(seen)


@dataclass(frozen=True, slots=True)
class Download:
    """What one conditional GET gave: a new body on disk, or ``unchanged`` (304)."""

    url: str
    unchanged: bool
    path: Path | None
    etag: str | None
    last_modified: str | None
    size: int = 0


class StationFiles:
    """The listing and the files, with bounded retries on timeouts, dropped links and 5xx."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client | None = None,
        attempts: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client if client is not None else make_client()
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.requests_made = 0

    def close(self) -> None:
        self.client.close()

    @property
    def listing_url(self) -> str:
        return f"{self.base_url}/{LISTING_PATH}"

    def _retrying(self) -> stamina.BoundRetryingCaller:
        return stamina.RetryingCaller(
            attempts=self.attempts,
            timeout=None,
            wait_initial=self.backoff_s,
            wait_max=max(self.backoff_s * 16, self.backoff_s),
            wait_jitter=self.backoff_s,
        ).on(lambda exc: isinstance(exc, ServerError | SourceTimeout))

    def _check(self, resp: httpx.Response, url: str) -> None:
        if resp.status_code == 404:
            raise NotFound(f"shpc: {redact_url(url)}: 404")
        if resp.status_code >= 500 or resp.status_code == 429:
            raise ServerError(f"shpc: {redact_url(url)}: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise PermanentSourceError(f"shpc: {redact_url(url)}: HTTP {resp.status_code}")

    def listing(self) -> list[str]:
        """Every station file the listing page links to."""

        def once() -> list[str]:
            self.requests_made += 1
            try:
                resp = self.client.get(self.listing_url)
            except httpx.TimeoutException as exc:
                raise SourceTimeout(f"shpc: {self.listing_url}: {exc}") from None
            except httpx.TransportError as exc:
                raise ServerError(f"shpc: {self.listing_url}: {exc}") from None
            self._check(resp, self.listing_url)
            links = file_links(resp.text, str(resp.url))
            if not links:
                raise PermanentSourceError(
                    f"shpc: {self.listing_url}: no station file linked: {snippet(resp.text)!r}"
                )
            return links

        result: list[str] = self._retrying()(once)
        return result

    def download(
        self,
        url: str,
        target: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Download:
        """GET ``url`` into ``target`` unless the server says it is unchanged (304)."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        def once() -> Download:
            self.requests_made += 1
            try:
                with self.client.stream("GET", url, headers=headers) as resp:
                    if resp.status_code == 304:
                        return Download(url, True, None, etag, last_modified)
                    self._check(resp, url)
                    # A body the transport handed over whole (an injected one's) was never
                    # on the wire here: there are no received bytes to count.
                    streamed = not resp.is_stream_consumed
                    size = 0
                    with target.open("wb") as out:
                        for chunk in resp.iter_bytes(1 << 20):
                            out.write(chunk)
                            size += len(chunk)
                    # Content-Length counts the bytes on the wire: with Content-Encoding
                    # (gzip) that is the compressed body, not the decoded one written out.
                    declared = resp.headers.get("Content-Length")
                    received = resp.num_bytes_downloaded
                    if streamed and declared is not None and int(declared) != received:
                        raise ServerError(
                            f"shpc: {redact_url(url)}: body cut short "
                            f"({received} of {declared} bytes)"
                        )
                    return Download(
                        url,
                        False,
                        target,
                        resp.headers.get("ETag"),
                        resp.headers.get("Last-Modified"),
                        size,
                    )
            except httpx.TimeoutException as exc:
                raise SourceTimeout(f"shpc: {redact_url(url)}: {exc}") from None
            except httpx.TransportError as exc:
                raise ServerError(f"shpc: {redact_url(url)}: {exc}") from None

        result: Download = self._retrying()(once)
        return result
