"""The HTTP layer every source adapter shares: an injected client, bounded retries, typed errors."""

from __future__ import annotations

import errno
import json
import logging
import re
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import stamina

from fuelpipe.domain.catalog import Series
from fuelpipe.ports.source import (
    FetchRequest,
    InvalidPayload,
    NotFound,
    PermanentSourceError,
    RateLimited,
    ServerError,
    Source,
    SourceStats,
    SourceTimeout,
    SourceUnreachable,
)

# Yahoo answers 429 at once to the default python clients; a browser-like UA is what works.
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
DEFAULT_TIMEOUT_S = 20.0
# A source may ask for minutes; a worker should not sleep that long inside one invocation.
RETRY_AFTER_CAP_S = 20.0
_SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "crumb"})
_SNIPPET_CHARS = 120
VALIDATORS_KEPT = 64
"""URLs whose ETag / Last-Modified (and body) a source keeps for conditional requests."""


CONNECT_TIMEOUT_CAP_S = 10.0
ATTEMPT_DEADLINE_FACTOR = 3.0
"""An attempt's whole answer (headers and body) is due within this many read timeouts.

httpx's read timeout bounds each socket read, not the response: a server that trickles a
workbook a chunk at a time could hold one attempt for many minutes. Three reads' worth (60 s by
default) still lets a ~12 MB ANP workbook arrive at 200 KB/s."""


def attempt_deadline(
    timeout_s: float = DEFAULT_TIMEOUT_S, deadline_s: float | None = None
) -> float:
    """One attempt's overall deadline: ``deadline_s`` when set, else derived from the timeout."""
    return deadline_s if deadline_s is not None else ATTEMPT_DEADLINE_FACTOR * timeout_s


def longest_fetch_s(
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = 4,
    backoff_s: float = 0.5,
    retry_after_cap_s: float = RETRY_AFTER_CAP_S,
    deadline_s: float | None = None,
) -> float:
    """How long one fetch can take when each attempt runs as long as it may and each wait
    between attempts is the longest allowed (backoff or a capped Retry-After): what a worker's
    time limit must cover (infra/template.yaml's scraper Timeout).

    An attempt's deadline is checked once its headers are in and after every body chunk, so the
    attempt ends by the later of the deadline and its connect timeout, plus one read timeout
    (the read that was waiting when the deadline passed). Headers are taken to come in one
    read: they are a few hundred bytes, and httpx offers no hook between their reads."""
    connect = min(timeout_s, CONNECT_TIMEOUT_CAP_S)
    per_attempt = max(attempt_deadline(timeout_s, deadline_s), connect) + timeout_s
    wait = max(backoff_s * 16 + backoff_s, retry_after_cap_s)  # stamina's wait_max + jitter
    return attempts * per_attempt + (attempts - 1) * wait


def make_client(
    timeout_s: float = DEFAULT_TIMEOUT_S, user_agent: str = DEFAULT_USER_AGENT
) -> httpx.Client:
    """An httpx client with a browser-like User-Agent and explicit connect/read timeouts."""
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_CAP_S))
    headers = {
        "User-Agent": user_agent,
        "Accept": "application/json,text/csv,application/octet-stream,*/*;q=0.8",
        "Accept-Language": "en-US,en;q=0.9,pt-BR;q=0.8",
    }
    # gov.br serves the ANP workbooks through redirects.
    return httpx.Client(timeout=timeout, headers=headers, follow_redirects=True)


_log = logging.getLogger("fuelpipe.sources")


_URL_PART = re.compile(r"^([\w.-]+): \S+://\S+: ")
_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.I | re.S)
RETRY_LINE_CHARS = 160
"""A retry line's reason is cut to this many characters."""


def brief(error: BaseException) -> str:
    """A source error in brief, for a console line: the source, what failed (status) and a
    short snippet; no URL, and an HTML error page only by its title."""
    text = _URL_PART.sub(r"\1: ", str(error), count=1)
    if (cut := text.find("'<")) >= 0 or (cut := text.find("<")) >= 0:
        title = _TITLE.search(text[cut:])
        text = text[:cut].rstrip(" :") + (f": {title.group(1)}" if title else "")
    return text if len(text) <= RETRY_LINE_CHARS else text[: RETRY_LINE_CHARS - 1] + "…"


def log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """A stamina on-retry hook that logs one short line (source, status, a snippet) instead of
    a bare event name, or the full URL and an error page: a backfill can retry many times."""
    _log.warning(
        "retrying in %.1f s (retry %d): %s",
        details.wait_for,
        details.retry_num,
        brief(details.caused_by),
    )


def transport_error_words(exc: httpx.RequestError) -> str:
    """A failed connection in words: "connection refused", "DNS lookup failed", ..."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    if "name or service not known" in text or "name resolution" in text or "getaddrinfo" in text:
        return "DNS lookup failed"
    if "refused" in text:
        return "connection refused"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc})"
    return f"connection dropped ({type(exc).__name__})"


_TIMEOUT_PHASES: tuple[tuple[type[httpx.TimeoutException], str, str], ...] = (
    (httpx.ConnectTimeout, "connect", "connecting"),
    (httpx.ReadTimeout, "read", "reading"),
    (httpx.WriteTimeout, "write", "writing"),
    (httpx.PoolTimeout, "pool", "waiting for a pooled connection"),
)


def timeout_words(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    """A timeout in words with the limit that applied to it: "timed out after 10 s connecting"
    for a connect timeout (the connect limit, capped below the read one by ``make_client``),
    "timed out after 20 s reading" for a read, and so on for a write or a wait for the pool."""
    for kind, phase, doing in _TIMEOUT_PHASES:
        if isinstance(exc, kind):
            limit: float | None = getattr(timeout, phase)
            return f"timed out after {limit:g} s {doing}" if limit else f"timed out {doing}"
    return "timed out"


def redact_url(url: str | httpx.URL) -> str:
    """The URL with secret-looking query parameters masked, fit for an error message."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name.lower() in _SECRET_PARAMS for name, _ in pairs):
        return str(url)
    masked = [(n, "***" if n.lower() in _SECRET_PARAMS else v) for n, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(masked, safe="'@$=,*")))


def snippet(body: bytes | str) -> str:
    """The start of a body on one line, for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = re.sub(r"\s+", " ", text).strip()
    return text[:_SNIPPET_CHARS] + ("…" if len(text) > _SNIPPET_CHARS else "")


def looks_like_html(body: bytes | str) -> bool:
    """True for an HTML page (an error or consent page served instead of the data)."""
    head = body[:512].lstrip()
    if isinstance(head, bytes):
        head = head.lstrip(b"\xef\xbb\xbf").decode("latin-1")
    head = head.lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml")) or (
        head.startswith("<") and "<html" in head
    )


def parse_json(content: bytes, source: str, url: str) -> object:
    """JSON with every non-integer number as an exact Decimal, or InvalidPayload."""
    if looks_like_html(content):
        raise InvalidPayload(f"{source}: {url}: expected JSON, got HTML: {snippet(content)!r}")
    try:
        # NaN/Infinity are not data: read them as null, i.e. missing.
        return json.loads(content, parse_float=Decimal, parse_constant=lambda _: None)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload(
            f"{source}: {url}: body is not valid JSON ({exc}); starts {snippet(content)!r}"
        ) from None


def json_decimal(value: object) -> Decimal | None:
    """A JSON number as a Decimal; None for anything else (bools, strings, null)."""
    if isinstance(value, Decimal):  # the common cell first (a bool is never a Decimal)
        return value if value.is_finite() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    return None


def single_series(request: FetchRequest, source: str) -> Series:
    """The one series of a per-symbol request; a request with several is a caller bug."""
    if len(request.series) != 1:
        raise ValueError(
            f"{source}: {request.fetch_unit} takes exactly one series per request, "
            f"got {len(request.series)}"
        )
    series = request.series[0]
    if series.source != source:
        raise ValueError(f"{source}: series {series.key} belongs to source {series.source!r}")
    return series


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds; the HTTP-date form is ignored (no clock read here)."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class _Deadlined(httpx.SyncByteStream):
    """A response body that calls ``check`` with the bytes received so far after each chunk,
    so an attempt can be abandoned mid-body (httpx's timeouts only bound each read)."""

    def __init__(self, stream: httpx.SyncByteStream, check: Callable[[int], None]) -> None:
        self._stream = stream
        self._check = check

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._stream:
            received += len(chunk)
            self._check(received)
            yield chunk

    def close(self) -> None:
        self._stream.close()


def read_within(
    client: httpx.Client, request: httpx.Request, check: Callable[[int], None]
) -> httpx.Response:
    """Send ``request`` and read its answer whole, calling ``check`` with the bytes received so
    far once the headers are in and after each body chunk: it raises to abandon the attempt
    (an overall deadline; httpx's timeouts only bound each read)."""
    response = client.send(request, stream=True)
    try:
        check(0)
        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _Deadlined(response.stream, check)
        response.read()
    finally:
        response.close()
    return response


class HttpSource(Source):
    """A source over HTTP: bounded retries with backoff and jitter, optional polite spacing.

    Retried inside one fetch: timeouts (a read's, or the attempt's overall deadline), dropped
    connections, 429 (after Retry-After, capped) and 5xx. Not retried here: 4xx and bad
    payloads; the pipeline's own retry policy handles those.
    The adapter owns the client it is given: ``close()`` closes it.
    """

    name: str = "http"
    default_base_url: str = ""

    def __init__(
        self,
        base_url: str | None = None,
        client: httpx.Client | None = None,
        attempts: int = 4,
        backoff_s: float = 0.5,
        *,
        min_interval_s: float = 0.0,
        retry_after_cap_s: float = RETRY_AFTER_CAP_S,
        attempt_deadline_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"{self.name}: attempts must be at least 1, got {attempts}")
        if backoff_s < 0 or min_interval_s < 0 or retry_after_cap_s < 0:
            raise ValueError(f"{self.name}: backoff, interval and cap must not be negative")
        if attempt_deadline_s is not None and attempt_deadline_s <= 0:
            raise ValueError(f"{self.name}: the attempt deadline must be positive")
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        if not self.base_url:
            raise ValueError(f"{self.name}: no base URL")
        self.client = client if client is not None else make_client()
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.min_interval_s = min_interval_s
        self.retry_after_cap_s = retry_after_cap_s
        self.attempt_deadline_s = attempt_deadline(
            self.client.timeout.read or DEFAULT_TIMEOUT_S, attempt_deadline_s
        )
        """Seconds one attempt may take, from sending the request to the body's last byte."""
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_request_at: float | None = None
        self._attempt = 0
        self.requests_made = 0
        """HTTP requests sent, retries included."""
        self.retry_after_waits: list[float] = []
        """Seconds waited because a 429 carried Retry-After (after the cap)."""
        self.failures = 0
        """Requests that got no usable answer (transport error or an error status)."""
        self.last_error: str | None = None
        self.not_modified = 0
        """Requests the source answered 304 Not Modified (a cheap poll)."""
        # A tiny bounded validator cache rather than an HTTP-cache library (none is a dependency):
        # URL -> the last 200 response that carried an ETag or Last-Modified.
        self._validated: OrderedDict[str, httpx.Response] = OrderedDict()

    def stats(self) -> SourceStats:
        """Requests, failures and the last error in words, for the end-of-run table."""
        return SourceStats(self.requests_made, self.failures, self.last_error)

    def _failed(self, words: str) -> None:
        self.failures += 1
        self.last_error = words

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def get(self, url: str, *, pass_statuses: Collection[int] = ()) -> httpx.Response:
        """GET with bounded retries: a 2xx (or a status in ``pass_statuses``) or a SourceError."""
        for attempt in stamina.retry_context(
            on=self._retry_decision,
            attempts=self.attempts,
            timeout=None,
            wait_initial=self.backoff_s,
            wait_max=max(self.backoff_s * 16, self.backoff_s),
            wait_jitter=self.backoff_s,
        ):
            self._attempt = attempt.num
            with attempt:
                return self._get_once(url, pass_statuses)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _retry_decision(self, exc: Exception) -> bool | float:
        """stamina's hook: retry transport errors, 429 and 5xx; a float is Retry-After."""
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            wait = min(exc.retry_after, self.retry_after_cap_s)
            if self._attempt < self.attempts:
                self.retry_after_waits.append(wait)
            return wait
        return isinstance(exc, RateLimited | ServerError | SourceTimeout | SourceUnreachable)

    def _pace(self) -> None:
        """Keep at least ``min_interval_s`` between the starts of two requests."""
        if self.min_interval_s <= 0 or self._last_request_at is None:
            return
        wait = self.min_interval_s - (self._monotonic() - self._last_request_at)
        if wait > 0:
            self._sleep(wait)

    def _conditional_headers(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the last answer for this URL, if it had them."""
        cached = self._validated.get(url)
        if cached is None:
            return {}
        headers = {}
        if etag := cached.headers.get("ETag"):
            headers["If-None-Match"] = etag
        if modified := cached.headers.get("Last-Modified"):
            headers["If-Modified-Since"] = modified
        return headers

    def _remember(self, url: str, response: httpx.Response) -> None:
        """Keep a 200 that carries validators, so the next poll of the URL can be a 304."""
        if response.status_code != 200 or not (
            "ETag" in response.headers or "Last-Modified" in response.headers
        ):
            self._validated.pop(url, None)
            return
        self._validated[url] = response
        self._validated.move_to_end(url)
        while len(self._validated) > VALIDATORS_KEPT:
            self._validated.popitem(last=False)

    def _send(self, url: str, shown: str) -> httpx.Response:
        """One GET read whole, or SourceTimeout once the attempt is past its deadline: checked
        when the headers are in and after each body chunk (each read has its own timeout)."""
        started = self._last_request_at = self._monotonic()
        self.requests_made += 1

        def within_deadline(received: int) -> None:
            elapsed = self._monotonic() - started
            if elapsed > self.attempt_deadline_s:
                words = f"passed its {self.attempt_deadline_s:g} s deadline"
                self._failed(words)
                raise SourceTimeout(
                    f"{self.name}: {shown}: {words}: {received} bytes received in {elapsed:.1f} s"
                )

        request = self.client.build_request("GET", url, headers=self._conditional_headers(url))
        return read_within(self.client, request, within_deadline)

    def _get_once(self, url: str, pass_statuses: Collection[int]) -> httpx.Response:
        shown = redact_url(url)
        self._pace()
        try:
            response = self._send(url, shown)
        except httpx.TimeoutException as exc:
            words = timeout_words(exc, self.client.timeout)
            self._failed(words)
            raise SourceTimeout(f"{self.name}: {shown}: {words} ({type(exc).__name__})") from exc
        except httpx.DecodingError as exc:
            self._failed("garbled body encoding")
            raise InvalidPayload(f"{self.name}: {shown}: garbled body encoding ({exc})") from exc
        except httpx.TooManyRedirects as exc:
            self._failed("too many redirects")
            raise PermanentSourceError(f"{self.name}: {shown}: too many redirects") from exc
        except httpx.RequestError as exc:
            words = transport_error_words(exc)
            self._failed(words)
            raise SourceUnreachable(
                f"{self.name}: {shown}: {words} ({type(exc).__name__}: {exc})"
            ) from exc
        status = response.status_code
        if status == 304 and url in self._validated:
            self.not_modified += 1
            self._validated.move_to_end(url)
            return self._validated[url]
        if 200 <= status < 300 or status in pass_statuses:
            self._remember(url, response)
            return response
        self._failed(f"HTTP {status}")
        body = snippet(response.content)
        if status == 429:
            retry_after = _retry_after_seconds(response)
            raise RateLimited(
                f"{self.name}: {shown}: HTTP 429 rate limited"
                + (f" (Retry-After {retry_after:g}s)" if retry_after is not None else ""),
                retry_after=retry_after,
            )
        if status >= 500:
            raise ServerError(f"{self.name}: {shown}: HTTP {status} server error: {body!r}")
        if status == 404:
            raise NotFound(f"{self.name}: {shown}: HTTP 404 not found: {body!r}")
        raise PermanentSourceError(f"{self.name}: {shown}: HTTP {status}: {body!r}")
