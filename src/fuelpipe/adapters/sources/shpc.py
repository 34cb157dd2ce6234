"""ANP's station-level open data over HTTP: the listing page and conditional file downloads.

The listing is data: every link to a ``.csv`` or ``.zip`` under ``/arquivos/shpc/`` is a file,
whatever its name (ANP renames files and has published typos). A file is downloaded with the
validators recorded last time (``If-None-Match`` / ``If-Modified-Since``), so an unchanged file
costs a 304 and no body. Bodies stream to disk: a semiannual file is hundreds of megabytes.

Only files ANP serves are fetched: a link (and each hop of a redirect, checked before it is
asked) must be https on one of ANP_HOSTS or on the configured listing's host, or on the
configured listing's own origin whatever its scheme (a local replay server is plain http on
127.0.0.1).
A changed or injected listing could otherwise point the ingest at internal addresses (a cloud
metadata endpoint) or at a cleartext host that serves a ZIP bomb.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar
from urllib.parse import SplitResult, urldefrag, urljoin, urlsplit

import httpx
import stamina

from fuelpipe.adapters.sources._http import (
    ACCEPT_ENCODING,
    BREAKER_COOL_OFF_S,
    BREAKER_THRESHOLD,
    DEFAULT_MAX_BODY_BYTES,
    RETRY_AFTER_CAP_S,
    BodyError,
    Breaker,
    Watchdog,
    _retry_after_seconds,
    attempt_timeout,
    decoded,
    make_client,
    redact_url,
    retry_verdict,
    snippet,
    timeout_words,
    transport_error_words,
)
from fuelpipe.ports.source import (
    InvalidPayload,
    NotFound,
    PermanentSourceError,
    RateLimited,
    ServerError,
    SourceError,
    SourceTimeout,
    SourceUnreachable,
)

LISTING_PATH = "serie-historica-de-precos-de-combustiveis"
_FILE_LINK = re.compile(r"/arquivos/shpc/.+\.(csv|zip)$", re.IGNORECASE)
_SHPC_DIR = "arquivos/shpc/"
ANP_HOSTS = frozenset({"www.gov.br", "gov.br"})
"""The hosts ANP publishes station files on (gov.br's open-data area), fetched over https."""
MAX_DOWNLOAD_BYTES = 1 << 30
"""A station file's bytes on disk: ANP's largest (a semiannual CSV) is about 150 MB; a body
past this is no station file and would only fill the disk."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
_T = TypeVar("_T")


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS.get(scheme)


def served_by_anp(url: str, configured: str) -> bool:
    """True when ``url`` is https on ANP_HOSTS or on ``configured``'s host, or on
    ``configured``'s own origin (scheme, host and port), which is trusted as it was set.
    Raises ValueError on a URL that is not one (a bad port)."""
    parts, trusted = urlsplit(url), urlsplit(configured)
    if _origin(parts) == _origin(trusted):
        return True
    hosts = ANP_HOSTS | {trusted.hostname or ""}
    return parts.scheme.lower() == "https" and (parts.hostname or "") in hosts


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.base: str | None = None
        """The first ``<base href>``: what the page's relative links resolve against."""
        self.titles: list[str] = []  # the page's, then an SVG's
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)
        elif tag == "base" and self.base is None:
            self.base = next((v.strip() for k, v in attrs if k == "href" and v), None)
        self._in_title = tag == "title"
        if self._in_title:
            self.titles.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles[-1] += data


def _no_station_file(html: str) -> str:
    """Why a listing with no station file linked is one: what was looked for, how many links
    the page had, and its title (or its start), instead of the first characters of its
    markup."""
    parser = _Links()
    parser.feed(html)
    title = " ".join(parser.titles[0].split()) if parser.titles else ""
    seen = f"its title: {title!r}" if title else f"it starts: {snippet(html)!r}"
    return (
        f"no station file linked: none of the page's {len(parser.hrefs)} links is to a .csv "
        f"or .zip under /{_SHPC_DIR.rstrip('/')}/ (has ANP changed the page?); {seen}"
    )


@dataclass(frozen=True, slots=True)
class Listing:
    """The station files a listing page links to, and the links to one that were skipped."""

    urls: list[str]
    """Absolute URLs, in page order, once each."""
    skipped: list[str] = field(default_factory=list)
    """One line per link to a station file that is not a URL (``http://[bad/...``) or not
    served by ANP (see served_by_anp): which link, on which page, and why; the other files
    are still listed."""
    root: str = ""
    """The listing's root, its configured URL: a file is known below it (its validators are
    recorded by its path below it), whichever host serves it."""


def file_links(html: str, page_url: str, configured: str | None = None) -> Listing:
    """The station files a listing page links to; a malformed link to one is skipped and
    named (``urljoin`` raised ValueError on it and no file of the page was listed), and so
    is one that ``served_by_anp`` refuses, ``configured`` being the listing's configured URL
    (by default ``page_url``). Relative links resolve against the page's ``<base href>``
    when it has one; a link's fragment is dropped (``x.csv#dados`` is ``x.csv``)."""
    parser = _Links()
    parser.feed(html)
    seen: dict[str, None] = {}
    skipped: list[str] = []
    page = redact_url(page_url)
    try:  # a <base href> is where relative links start from, as a browser reads them
        start = urljoin(page_url, parser.base) if parser.base else page_url
    except ValueError:  # a malformed one: as if there were none
        start = page_url
    for href in parser.hrefs:
        try:
            # a fragment is a place in the file, not another file
            url = urldefrag(urljoin(start, href.strip())).url
            path = urlsplit(url).path
            anp = served_by_anp(url, configured or page_url)
        except ValueError as exc:
            if _SHPC_DIR in href.lower():  # a broken link elsewhere on the page is not ours
                skipped.append(f"shpc: {page}: malformed link {href.strip()!r} skipped ({exc})")
            continue
        if not _FILE_LINK.search(path):
            continue
        if anp:
            seen.setdefault(url, None)
        else:
            skipped.append(
                f"shpc: {page}: link {redact_url(url)!r} skipped: a station file must be "
                f"https on {', '.join(sorted(ANP_HOSTS))} or on the listing's own host"
            )
    return Listing(list(seen), skipped)


def _body(resp: httpx.Response, *, streamed: bool) -> Iterator[bytes]:
    """A streamed answer's body inflated here, not by httpx, 1 MiB at a time: a gzip stream
    cut where the Content-Length agrees (no gzip trailer) is a cut body, not a shorter one.
    Not ``streamed``: a body an injected transport handed over whole, as httpx holds it."""
    if streamed:
        return decoded(resp.iter_raw(1 << 20), resp.headers.get("Content-Encoding"))
    return resp.iter_bytes(1 << 20)


def _request_failed(exc: httpx.RequestError, url: str, timeout: httpx.Timeout) -> SourceError:
    """An httpx failure as the error the retries and the stage act on, in the other sources'
    words: a timeout named with its phase and limit, a failed connection as "connection
    refused", "DNS lookup failed", ... (httpx's own text is "[Errno 111] Connection
    refused"). Timeouts and no answer at all may pass; a body that cannot be decoded is a bad
    payload; a link no client follows (ftp://) fails the same way next time, so it is not
    retried."""
    shown = redact_url(url)
    if isinstance(exc, httpx.TimeoutException):
        return SourceTimeout(f"shpc: {shown}: {timeout_words(exc, timeout)}")
    if isinstance(exc, httpx.DecodingError):
        return InvalidPayload(f"shpc: {shown}: garbled body encoding ({exc})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PermanentSourceError(f"shpc: {shown}: {type(exc).__name__}: {exc}")
    return SourceUnreachable(f"shpc: {shown}: {transport_error_words(exc)}")


class _BadLocation(Exception):
    """A redirect whose Location no client can follow, found by ``_followable``."""

    def __init__(self, location: str, why: str) -> None:
        super().__init__(location, why)
        self.location, self.why = location, why


def _followable(response: httpx.Response) -> None:
    """The client's response hook: a redirect whose Location is not a URL, or not an http or
    https one, raises _BadLocation. httpx, building the next request from it after this hook,
    raised a RemoteProtocolError (read as a dropped connection, and retried) or an InvalidURL
    (no source error at all), and neither named the Location."""
    if not response.has_redirect_location:
        return
    location = response.headers["Location"]
    try:
        target = response.request.url.join(location)
    except httpx.InvalidURL as exc:
        raise _BadLocation(location, f"not a URL ({exc})") from None
    if target.scheme not in ("http", "https"):
        raise _BadLocation(location, "not an http or https URL")


def _shown_location(location: str) -> str:
    try:
        return redact_url(location)
    except ValueError:  # not a URL urllib can split: nothing in it to mask
        return location


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
    """The listing and the files, with bounded retries on timeouts, dropped links, a body cut
    short, 5xx, 408 and 429 (a 429's or 503's Retry-After waited up to the cap, a longer one
    ending the request at that answer, as for the other sources). With ``attempt_deadline_s``,
    one attempt (connecting, headers, the whole body) is cut off and retried past it; without,
    only each read is bounded (a semiannual file is ~150 MB, so a deadline must leave it time
    to arrive). The other sources' ``Breaker`` guards its requests (the listing's and each
    file's): after 3 in a row that could not connect, the next are refused unsent for 30 s, so
    a listing whose host went down does not wait out every file's retries."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client | None = None,
        attempts: int = 4,
        backoff_s: float = 0.5,
        *,
        retry_after_cap_s: float = RETRY_AFTER_CAP_S,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        attempt_deadline_s: float | None = None,
        breaker_threshold: int = BREAKER_THRESHOLD,
        breaker_cool_off_s: float = BREAKER_COOL_OFF_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if attempt_deadline_s is not None and attempt_deadline_s <= 0:
            raise ValueError("shpc: the attempt deadline must be positive")
        self._breaker = Breaker(breaker_threshold, breaker_cool_off_s, monotonic)
        self._unconnected: str | None = None
        """Why the current attempt could not connect, in words (None: it did, or has not
        failed so)."""
        self.base_url = base_url.rstrip("/")
        self.attempt_deadline_s = attempt_deadline_s
        self._watchdog = Watchdog()
        self.max_download_bytes = max_download_bytes
        self.client = client if client is not None else make_client()
        hooks = self.client.event_hooks  # the client is ours (close() closes it)
        self.client.event_hooks = {**hooks, "response": [*hooks["response"], _followable]}
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.retry_after_cap_s = retry_after_cap_s
        self.requests_made = 0
        self.retry_after_waits: list[float] = []
        """Seconds waited because a 429 or a 503 carried a Retry-After within the cap."""
        self._attempt = 0  # of the current call, for the retry decision

    def close(self) -> None:
        self.client.close()

    @property
    def not_sent(self) -> int:
        """Requests refused unsent while the breaker was open."""
        return self._breaker.not_sent

    @property
    def listing_url(self) -> str:
        return f"{self.base_url}/{LISTING_PATH}"

    def _retrying(self) -> stamina.BoundRetryingCaller:
        self._attempt = 0
        return stamina.RetryingCaller(
            attempts=self.attempts,
            timeout=None,
            wait_initial=self.backoff_s,
            wait_max=max(self.backoff_s * 16, self.backoff_s),
            wait_jitter=self.backoff_s,
        ).on(self._retry_decision)

    def _guarded(self, call: Callable[[], _T]) -> _T:
        """``call`` with its retries, unless the breaker is open (SourceUnreachable at once,
        nothing sent); its outcome told to the breaker."""
        with self._breaker.guard("shpc", lambda _: self._unconnected):  # the last attempt's
            result: _T = self._retrying()(call)
        return result

    def _failed(self, exc: httpx.RequestError, url: str) -> SourceError:
        """``_request_failed``'s error, noting the words of one that could not connect."""
        if isinstance(exc, httpx.ConnectTimeout):
            self._unconnected = timeout_words(exc, self.client.timeout)
        elif isinstance(exc, httpx.ConnectError):
            self._unconnected = transport_error_words(exc)
        return _request_failed(exc, url, self.client.timeout)

    def _retry_decision(self, exc: Exception) -> bool | float:
        """stamina's hook: retry timeouts, no answer at all, 408, 5xx and 429; a float is
        a Retry-After within the cap (a longer one: no retry). The breaker's half-open request
        is not retried once it could not connect: the breaker opens again at once."""
        if self._breaker.probing and self._unconnected is not None:
            return False
        return retry_verdict(exc, self.retry_after_cap_s, self._attempt, self.attempts,
                             self.retry_after_waits)  # fmt: skip

    def _check_served(self, final: str, url: str) -> None:
        """Refuse ``final``, where a request for ``url`` ended after redirects, unless ANP
        serves it (served_by_anp): the same redirect comes next time, so it is permanent."""
        try:
            ok = served_by_anp(final, self.base_url)
        except ValueError:
            ok = False
        if not ok:
            where = "" if final == url else f"redirected to {redact_url(final)}, which is "
            raise PermanentSourceError(
                f"shpc: {redact_url(url)}: {where}not https on "
                f"{', '.join(sorted(ANP_HOSTS))} or on the listing's own host: not fetched"
            )

    def _check(self, resp: httpx.Response, url: str) -> None:
        if resp.status_code == 404:
            raise NotFound(f"shpc: {redact_url(url)}: HTTP 404 not found")
        if resp.status_code == 429:
            wait = _retry_after_seconds(resp)
            raise RateLimited(
                f"shpc: {redact_url(url)}: HTTP 429 rate limited"
                + (f" (Retry-After {wait:g}s)" if wait is not None else ""),
                retry_after=wait,
            )
        if resp.status_code == 408:
            raise SourceTimeout(f"shpc: {redact_url(url)}: HTTP 408 request timeout")
        if resp.status_code >= 500:
            wait = _retry_after_seconds(resp) if resp.status_code == 503 else None
            raise ServerError(
                f"shpc: {redact_url(url)}: HTTP {resp.status_code}"
                + (f" (Retry-After {wait:g}s)" if wait is not None else ""),
                retry_after=wait,
            )
        if resp.status_code >= 400:
            raise PermanentSourceError(f"shpc: {redact_url(url)}: HTTP {resp.status_code}")

    def _send(self, request: httpx.Request, url: str) -> httpx.Response:
        """``request`` sent streamed, redirects followed one hop at a time, each hop's URL
        checked (``_check_served``) before it is asked: httpx, left to follow them, had
        already sent the request to a host ANP does not serve (a cloud metadata endpoint)
        when the URL it ended at was checked. A Location that is not an http or https URL is
        a permanent error naming it: the same redirect comes on every attempt. The caller
        closes the response."""
        for _ in range(self.client.max_redirects + 1):
            try:
                resp = self.client.send(request, stream=True, follow_redirects=False)
            except _BadLocation as bad:
                raise PermanentSourceError(
                    f"shpc: {redact_url(url)}: redirected to {_shown_location(bad.location)!r}, "
                    f"which is {bad.why}: not fetched"
                ) from None
            if resp.next_request is None:
                return resp
            resp.close()
            self._check_served(str(resp.next_request.url), url)
            request = resp.next_request
        raise PermanentSourceError(f"shpc: {redact_url(url)}: too many redirects")

    def _page(self, resp: httpx.Response) -> str:
        """The listing page's text, inflated here and at most DEFAULT_MAX_BODY_BYTES, as the
        other sources take their answers: httpx inflated it whole in memory, however far a
        few KB of gzip went. Past the cap, or not readable as sent, it is a bad payload."""
        shown = redact_url(self.listing_url)
        chunks = _body(resp, streamed=not resp.is_stream_consumed)
        body, size = bytearray(), 0
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > DEFAULT_MAX_BODY_BYTES:
                    raise InvalidPayload(
                        f"shpc: {shown}: listing page over {DEFAULT_MAX_BODY_BYTES} bytes "
                        "once inflated, past what ANP's page takes"
                    )
                body += chunk
        except BodyError as exc:
            kind = ServerError if exc.cut_short else InvalidPayload
            raise kind(f"shpc: {shown}: {exc.words}") from None
        try:
            return bytes(body).decode(resp.charset_encoding or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            return bytes(body).decode("utf-8", "replace")

    def listing(self) -> Listing:
        """Every station file the listing page links to (a malformed link skipped, named)."""

        def once() -> Listing:
            self.requests_made += 1
            self._attempt += 1
            self._unconnected = None
            # traced: the watchdog learns the socket a download may reuse
            request = self.client.build_request(
                "GET",
                self.listing_url,
                headers=ACCEPT_ENCODING,
                extensions={"trace": self._watchdog.trace},
            )
            try:
                resp = self._send(request, self.listing_url)
                try:
                    self._check(resp, self.listing_url)
                    self._check_served(str(resp.url), self.listing_url)
                    page = self._page(resp)
                finally:
                    resp.close()
            except httpx.RequestError as exc:
                raise self._failed(exc, self.listing_url) from None
            links = file_links(page, str(resp.url), self.base_url)
            if not links.urls and not links.skipped:
                raise PermanentSourceError(
                    f"shpc: {redact_url(self.listing_url)}: {_no_station_file(page)}"
                )
            return replace(links, root=self.base_url)

        return self._guarded(once)

    def _write(
        self,
        body: Iterator[bytes],
        target: Path,
        url: str,
        expected: int,
        received: Callable[[], int],
        streamed: bool,
        on_bytes: Callable[[int, int], None] | None,
    ) -> int:
        """``body`` into ``target``, its size in bytes; past ``max_download_bytes``, or not
        readable as sent (cut short: a ServerError, retried), it is not kept."""
        size = 0
        with target.open("wb") as out:
            try:
                for chunk in body:
                    size += len(chunk)
                    if max(size, expected) > self.max_download_bytes:
                        raise InvalidPayload(
                            f"shpc: {redact_url(url)}: more than {self.max_download_bytes} "
                            f"bytes ({max(size, expected)}), past what a station file takes"
                        )
                    out.write(chunk)
                    if on_bytes:
                        on_bytes(received() if streamed else size, expected)
            except BodyError as exc:
                out.close()
                target.unlink()
                kind = ServerError if exc.cut_short else InvalidPayload
                raise kind(f"shpc: {redact_url(url)}: {exc.words}") from None
            except InvalidPayload:
                out.close()
                target.unlink()
                raise
        return size

    def _take(
        self,
        resp: httpx.Response,
        url: str,
        target: Path,
        etag: str | None,
        last_modified: str | None,
        on_bytes: Callable[[int, int], None] | None,
    ) -> Download:
        """One answer to a download's request: unchanged (304), or its body in ``target``;
        a body cut short or not readable as sent is not kept."""
        self._check_served(str(resp.url), url)  # before any of its body is read
        if resp.status_code == 304:
            return Download(url, True, None, etag, last_modified)
        self._check(resp, url)
        # A body the transport handed over whole (an injected one's) was never
        # on the wire here: there are no received bytes to count.
        streamed = not resp.is_stream_consumed
        # Content-Length counts the bytes on the wire: with Content-Encoding
        # (gzip) that is the compressed body, not the decoded one written out.
        declared = resp.headers.get("Content-Length")
        expected = int(declared) if declared and declared.isdigit() else 0
        if expected > self.max_download_bytes:  # refused from its headers, not after 1 MiB
            raise InvalidPayload(
                f"shpc: {redact_url(url)}: more than {self.max_download_bytes} bytes "
                f"({expected} declared), past what a station file takes: not downloaded"
            )
        body = _body(resp, streamed=streamed)

        def wire() -> int:
            return resp.num_bytes_downloaded

        def cut_short(why: str = "") -> ServerError:
            target.unlink(missing_ok=True)  # what came is not the file
            received = resp.num_bytes_downloaded
            of = f"{received} of {declared} bytes" if expected else f"{received} bytes"
            return ServerError(f"shpc: {redact_url(url)}: body cut short ({of}){why}")

        try:
            size = self._write(body, target, url, expected, wire, streamed, on_bytes)
        except (httpx.TimeoutException, httpx.DecodingError) as exc:
            target.unlink(missing_ok=True)
            raise _request_failed(exc, url, self.client.timeout) from None
        except httpx.RequestError:
            # The connection dropped mid-body: said as the other cut bodies are, with the
            # bytes received, not in httpx's words ("peer closed connection without ...").
            raise cut_short(": connection dropped") from None
        if streamed and expected and expected != resp.num_bytes_downloaded:
            raise cut_short()
        return Download(
            url,
            False,
            target,
            resp.headers.get("ETag"),
            resp.headers.get("Last-Modified"),
            size,
        )

    def download(
        self,
        url: str,
        target: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        on_bytes: Callable[[int, int], None] | None = None,
    ) -> Download:
        """GET ``url`` into ``target`` unless the server says it is unchanged (304);
        ``on_bytes(received, declared)`` after each chunk: the bytes on the wire so far and
        the Content-Length (0 when the server gives none), again from 0 on a retry. A URL, or
        the URL a redirect ends at, that ANP does not serve (served_by_anp) is a permanent
        error; a body past ``max_download_bytes`` is a bad payload, and is not kept."""
        self._check_served(url, url)
        headers = dict(ACCEPT_ENCODING)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        def once() -> Download:
            self.requests_made += 1
            self._attempt += 1
            self._unconnected = None
            if self.attempt_deadline_s is None:
                return attempt(None)
            with self._watchdog.armed(self.attempt_deadline_s) as fired:
                try:
                    got = attempt(self.attempt_deadline_s)
                except (httpx.RequestError, SourceError):
                    if not fired.is_set():
                        raise
                    got = None
                if fired.is_set():  # the connection was shut down: what came is not the file
                    target.unlink(missing_ok=True)
                    raise SourceTimeout(
                        f"shpc: {redact_url(url)}: passed its {self.attempt_deadline_s:g} s "
                        "deadline (connection shut down)"
                    )
                assert got is not None
                return got

        def attempt(deadline: float | None) -> Download:
            timeout = self.client.timeout
            request = self.client.build_request(
                "GET",
                url,
                headers=headers,
                timeout=timeout if deadline is None else attempt_timeout(timeout, deadline),
                extensions={"trace": self._watchdog.trace},
            )
            try:
                resp = self._send(request, url)  # each hop checked before it is asked
            except httpx.RequestError as exc:
                raise self._failed(exc, url) from None
            try:
                return self._take(resp, url, target, etag, last_modified, on_bytes)
            finally:
                resp.close()

        return self._guarded(once)
