"""The HTTP layer every source adapter shares: an injected client, bounded retries, typed errors."""

from __future__ import annotations

import dataclasses
import errno
import functools
import itertools
import json
import logging
import math
import re
import socket
import ssl
import threading
import time
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import stamina

from fuelpipe.domain.catalog import Series
from fuelpipe.domain.models import Observation
from fuelpipe.domain.text import clip
from fuelpipe.ports.source import (
    FetchRequest,
    FetchResult,
    InvalidPayload,
    NotFound,
    PermanentSourceError,
    RateLimited,
    ServerError,
    Source,
    SourceError,
    SourceStats,
    SourceTimeout,
    SourceUnreachable,
)

if TYPE_CHECKING:
    from fuelpipe.adapters.sources._dns import Resolver

# Yahoo answers 429 at once to the default python clients; a browser-like UA is what works.
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
DEFAULT_TIMEOUT_S = 20.0
# A source may ask for minutes; a worker should not sleep that long inside one invocation.
# A Retry-After up to this is waited inside a fetch; a longer one ends the fetch at once.
RETRY_AFTER_CAP_S = 20.0
_SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "crumb"})
_SNIPPET_CHARS = 120
VALIDATORS_KEPT = 64
"""URLs whose ETag / Last-Modified (and body) a source keeps for conditional requests."""


DEFAULT_MAX_BODY_BYTES = 16 << 20
"""An answer's size once inflated, by default: FRED's, BCB's and Yahoo's answers for decades
of days are a few MB at most. Past it the body is an InvalidPayload, never held whole in
memory: 0.5 MB of gzip on the wire can inflate to 256 MB (the scraper Lambda has 512 MB)."""

CONNECT_TIMEOUT_CAP_S = 10.0
ATTEMPT_DEADLINE_FACTOR = 3.0
"""An attempt's whole answer (connecting, headers and body) is due within this many read
timeouts.

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

    An attempt's deadline covers connecting (the connect timeout, host lookup included, is
    cut to it), the headers and the body: a watchdog shuts the attempt's connection down when
    it passes, however the server trickles its headers or body. One read timeout is kept as a
    margin over the deadline (a redirect's connecting, which may start just before it)."""
    per_attempt = attempt_deadline(timeout_s, deadline_s) + timeout_s
    wait = max(backoff_s * 16 + backoff_s, retry_after_cap_s)  # stamina's wait_max + jitter
    return attempts * per_attempt + (attempts - 1) * wait


def make_client(
    timeout_s: float = DEFAULT_TIMEOUT_S,
    user_agent: str = DEFAULT_USER_AGENT,
    *,
    resolve: Resolver | None = None,
    proxies: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """An httpx client with a browser-like User-Agent and explicit connect/read timeouts,
    whose host lookups (``resolve``: the system's by default) are given up at the connect
    timeout, as connecting is (see ``_dns``), a ``NO_PROXY`` host's and a proxy's own too.
    ``proxies`` as ``urllib.request.getproxies()`` gives them (None: the environment's);
    ``ssl_context`` (None: a new one) may be shared by several clients."""
    from fuelpipe.adapters.sources._dns import bounded_transports, system_resolver

    transport, mounts = bounded_transports(
        resolve or system_resolver, proxies, ssl_context=ssl_context
    )
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_CAP_S))
    headers = {
        "User-Agent": user_agent,
        "Accept": "application/json,text/csv,application/octet-stream,*/*;q=0.8",
        "Accept-Language": "en-US,en;q=0.9,pt-BR;q=0.8",
    }
    # gov.br serves the ANP workbooks through redirects.
    return httpx.Client(
        timeout=timeout,
        headers=headers,
        follow_redirects=True,
        transport=transport,
        mounts=mounts,
    )


_log = logging.getLogger("fuelpipe.sources")


_URL_PART = re.compile(r"^([\w.-]+): \S+://\S+: ")
_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.I | re.S)
RETRY_LINE_CHARS = 160
"""A retry line's reason is cut to this many characters."""


def brief(error: BaseException) -> str:
    """A source error in brief, for a console line: the source, what failed (status) and a
    short snippet; no URL, and an HTML error page only by its title."""
    text = _URL_PART.sub(r"\1: ", str(error), count=1)
    quoted = [i for i in (text.find("'<"), text.find('"<')) if i >= 0]  # a repr'd page
    if (cut := min(quoted, default=-1)) >= 0 or (cut := text.find("<")) >= 0:
        title = _TITLE.search(text[cut:])
        text = text[:cut].rstrip(" :") + (f": {title.group(1)}" if title else "")
    return clip(text, RETRY_LINE_CHARS)


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
    # Not pydantic's Decimal: in lax mode it takes text ("5.12") as a number too.
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
    """Retry-After in seconds, from either form: a number of seconds, or an HTTP date
    measured against the answer's own Date header (the server's clock, so no clock of ours
    is read; without a Date the date form is ignored). A date already past is 0."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            until = parsedate_to_datetime(raw)
            now = parsedate_to_datetime((response.headers.get_list("Date") or [""])[0].strip())
        except (TypeError, ValueError, IndexError):
            return None
        if until.tzinfo is None or now.tzinfo is None:
            return None
        return max((until - now).total_seconds(), 0.0)
    return seconds if seconds >= 0 else None


class BodyError(Exception):
    """A body that cannot be read as it was sent: a garbled or unknown Content-Encoding, or
    (``cut_short``) a compressed stream that stops before its end."""

    def __init__(self, words: str, *, cut_short: bool = False) -> None:
        super().__init__(words)
        self.words = words
        self.cut_short = cut_short


_INFLATE_PIECE = 1 << 20
ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate"}
"""What ``decoded`` reads, asked for with every request: httpx would also offer br and zstd
once their packages are installed, and decode them without a size or end check."""


def _coding(content_encoding: str | None) -> str | None:
    """The one Content-Encoding ``decoded`` inflates (gzip, x-gzip or deflate), None for an
    identity body; BodyError for any other, or for more than one."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise BodyError(f"unsupported Content-Encoding {content_encoding!r}")
    return codings[0]


def _nul_padding(data: bytes, rest: Iterator[bytes]) -> None:
    """Read the body's rest after its last gzip member, ``data`` and the chunks after it,
    as padding: BodyError at a byte that is not NUL."""
    for chunk in itertools.chain([data], rest):
        if chunk.strip(b"\0"):
            raise BodyError(
                "garbled body encoding (bytes other than NUL padding after the last gzip member)"
            )


def decoded(chunks: Iterable[bytes], content_encoding: str | None) -> Iterator[bytes]:
    """The body in ``chunks`` as sent before its Content-Encoding (identity, gzip or deflate),
    at most 1 MiB at a time however far a chunk inflates. Unlike httpx's decoder, it raises
    BodyError(cut_short=True) when a gzip or deflate stream stops before its end (no final
    block, no gzip trailer): a connection cut on a chunk boundary that the Content-Length
    agrees with would otherwise pass as a whole, shorter body. An empty body is empty. NUL
    bytes after the last gzip member are padding (some servers and tape tools write it, and
    ``gzip -d`` ignores it) and are dropped; any other byte after them is a garbled body."""
    coding = _coding(content_encoding)
    if coding is None:
        yield from chunks
        return
    gzip = coding != "deflate"
    wbits = zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    fresh = True  # nothing read yet: a deflate body may still be raw (no zlib header)
    stream = iter(chunks)
    for chunk in stream:
        data = chunk
        while True:
            if inflater.eof:
                if not data:
                    break
                if not gzip:
                    raise BodyError("garbled body encoding (bytes after the deflate stream)")
                if data.startswith(b"\0"):  # no member starts so: padding, as gzip -d reads it
                    _nul_padding(data, stream)
                    return
                inflater = zlib.decompressobj(wbits)  # a further gzip member
            try:
                out = inflater.decompress(data, _INFLATE_PIECE)
            except zlib.error as exc:
                if gzip or not fresh:
                    raise BodyError(f"garbled body encoding ({exc})") from None
                inflater, fresh = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            fresh = fresh and not data
            if out:
                yield out
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            if not data and not inflater.eof and len(out) < _INFLATE_PIECE:
                break
    if not fresh and not inflater.eof:
        raise BodyError(
            f"body cut short (the {coding} stream stops before its end)", cut_short=True
        )


class Watchdog:
    """Ends an attempt at its deadline however the server stalls: connecting, trickling its
    headers a line at a time, or its body a chunk at a time (httpx's timeouts bound each read,
    not the answer). It learns the sockets its client opens from httpcore's ``trace``
    extension (pass ``trace`` with every request) and, at the deadline, shuts them down: the
    waiting read returns at once and the request fails. Shutting them down from the timer's
    thread is safe where one request at a time uses the client, as each source does; an idle
    pooled connection shut down with them is dropped by the pool and opened anew."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, object]) -> None:
        """httpcore's trace hook: note each connection's socket (after TLS, the TLS one)."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = getattr(stream, "get_extra_info", lambda _: None)("socket")
            if isinstance(sock, socket.socket):
                with self._lock:
                    self._sockets.add(sock)

    def _shut_down(self, fired: threading.Event) -> None:
        fired.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            # closed already (or a TCP socket since wrapped in TLS): OSError
            with suppress(OSError):  # the plain call: an SSLSocket's own unwraps TLS first
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    @contextmanager
    def armed(self, seconds: float) -> Iterator[threading.Event]:
        """Within the block, the client's connections are shut down once ``seconds`` pass;
        the event it gives is set if they were."""
        fired = threading.Event()
        timer = threading.Timer(seconds, self._shut_down, (fired,))
        timer.daemon = True
        timer.start()
        try:
            yield fired
        finally:
            timer.cancel()


def attempt_timeout(timeout: httpx.Timeout, deadline_s: float) -> httpx.Timeout:
    """The client's timeouts for one attempt: connecting and waiting for a pooled connection
    cut to the attempt's deadline (the watchdog takes over once a socket is open)."""

    def cut(limit: float | None) -> float:
        return deadline_s if limit is None else min(limit, deadline_s)

    return httpx.Timeout(
        connect=cut(timeout.connect), read=timeout.read, write=timeout.write, pool=cut(timeout.pool)
    )


class _Body(httpx.SyncByteStream):
    """A response body read through ``decoded``: ``on_wire`` gets the bytes received so far
    after each chunk (the attempt's deadline), ``on_body`` the bytes inflated so far (the size
    cap)."""

    def __init__(
        self,
        stream: httpx.SyncByteStream,
        content_encoding: str | None,
        on_wire: Callable[[int], None],
        on_body: Callable[[int], None],
    ) -> None:
        self._stream = stream
        self._encoding = content_encoding
        self._on_wire = on_wire
        self._on_body = on_body

    def _wire(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._stream:
            received += len(chunk)
            self._on_wire(received)
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for piece in decoded(self._wire(), self._encoding):
            size += len(piece)
            self._on_body(size)
            yield piece

    def close(self) -> None:
        self._stream.close()


def read_within(
    client: httpx.Client,
    request: httpx.Request,
    check: Callable[[int], None],
    *,
    decode: bool = True,
    body_if: Callable[[httpx.Response], bool] | None = None,
) -> httpx.Response:
    """Send ``request`` and read its answer whole, calling ``check`` with the bytes received so
    far once the headers are in and after each body chunk: it raises to abandon the attempt
    (an overall deadline; httpx's timeouts only bound each read). ``decode=False``: the body
    as sent, whatever its Content-Encoding (its header taken off), for a caller that goes by
    the status: a body that does not decode must not hide it behind httpx's DecodingError.
    ``body_if``: the body is read only when it holds for the answer's head (None: always);
    otherwise the answer is closed unread (its ``content`` then raises ResponseNotRead)."""
    response = client.send(request, stream=True)
    try:
        if not decode:
            response.headers.pop("Content-Encoding", None)
        check(0)
        if body_if is not None and not body_if(response):
            return response
        if isinstance(response.stream, httpx.SyncByteStream):
            # the body as sent (httpx still decodes it): ``check`` after each chunk, no cap
            response.stream = _Body(response.stream, None, check, lambda _size: None)
        response.read()
    finally:
        response.close()
    return response


BREAKER_THRESHOLD = 3
BREAKER_COOL_OFF_S = 30.0
BREAKER_PROBE_WAIT_S = 0.0
"""By default a breaker that opens refuses at once for its whole cool-off (``Breaker``)."""


class BreakerState(Protocol):
    """What a :class:`Breaker` knows of its source: the requests in a row that could not
    connect, the words of the last, until when it is open (``None``: closed) and whether a
    request waits out that short first cool-off (``probe_wait_s``). A breaker keeps its own
    (:class:`OwnBreakerState`); `run --workers` gives its processes' breakers one per source
    they share (homes/embedded.py ``SharedBreakers``), so an unreachable source costs the run
    what it costs one process. ``held`` makes the reads and writes inside it one step for
    every breaker sharing the state (it may be held again inside)."""

    in_a_row: int
    words: str
    open_until: float | None
    waits: bool

    def held(self) -> AbstractContextManager[object]:
        """Reads and writes inside are one step."""
        ...


class OwnBreakerState:
    """A :class:`BreakerState` in this process's memory, for one breaker."""

    def __init__(self) -> None:
        self.in_a_row = 0
        self.words = ""
        self.open_until: float | None = None
        self.waits = False

    def held(self) -> AbstractContextManager[object]:
        return nullcontext()  # one breaker, one thread: nothing to hold


class Breaker:
    """A circuit breaker for one source's requests: after ``threshold`` requests in a row
    could not connect (each after its own retries: a DNS lookup failed, a connection refused
    or timed out), requests are not sent for ``cool_off_s``; then one is tried (half-open),
    and its outcome closes or opens the breaker again (a client gives that one, ``probing``,
    no retry once an attempt cannot connect: it opens again at once, not after the retries'
    backoff). The half-open request takes the cool-off again as it starts, so a breaker
    sharing its ``state`` with others (`run --workers`'s processes) sends one for them all:
    theirs are refused while it is under way.
    Any request that reached the server (an answer, an HTTP error) closes it. Our own: no
    circuit-breaker library is installed or a dependency (the scraper's zip stays small), and
    this is all the sources need.

    ``probe_wait_s`` (0: none) shortens the first cool-off after the breaker opened from
    closed to that many seconds, and a request that comes during it waits it out (``sleep``)
    and is the half-open one, rather than being refused: a source whose breaker opens after
    one request (ANP's) is tried once more within the run, so an outage of a few seconds
    does not leave its other requests unasked. When that one cannot connect either the
    breaker opens for ``cool_off_s`` and refuses as usual; when it reaches the server it
    closes.

    ``state``: what it knows of the source (:class:`BreakerState`), its own unless given;
    ``not_sent``, ``last_refusal`` and ``waited_s`` are always this breaker's."""

    def __init__(
        self,
        threshold: int = BREAKER_THRESHOLD,
        cool_off_s: float = BREAKER_COOL_OFF_S,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        probe_wait_s: float = BREAKER_PROBE_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
        state: BreakerState | None = None,
    ) -> None:
        if threshold < 1 or cool_off_s < 0 or probe_wait_s < 0:
            raise ValueError("a breaker's threshold must be positive, its cool-off not negative")
        self.threshold, self.cool_off_s = threshold, cool_off_s
        self.probe_wait_s = probe_wait_s
        self._monotonic = monotonic
        self._sleep = sleep
        self.state: BreakerState = state if state is not None else OwnBreakerState()
        self.waited_s = 0.0
        """Seconds requests waited for the half-open one (``probe_wait_s``)."""
        self.not_sent = 0
        """Requests ``guard`` refused unsent: not requests made, not failures (a source's
        counts stay those of what was sent)."""
        self.last_refusal: str | None = None
        """The words of the last request ``guard`` refused."""
        self.probing = False
        """The guarded request under way is the half-open one."""

    def half_open(self) -> bool:
        """The cool-off is over and the next request is the one tried."""
        until = self.state.open_until
        return until is not None and until <= self._monotonic()

    def refusal(self) -> str | None:
        """Why a request must not be sent now (the breaker is open), or None: send it."""
        with self.state.held():
            state = self.state
            if state.open_until is None:
                return None
            left = state.open_until - self._monotonic()
            if left <= 0:
                return None  # half-open: this request is the one tried
            in_a_row, words = state.in_a_row, state.words
        last = "the last request" if in_a_row == 1 else f"the last {in_a_row} requests"
        return f"{last} could not connect ({words}); trying again after {math.ceil(left)} s"

    def record(self, could_not_connect: str | None) -> None:
        """A request's outcome: None when it reached the server, else why it could not."""
        state = self.state
        with state.held():
            if could_not_connect is None:
                state.in_a_row, state.open_until, state.waits = 0, None, False
                return
            state.in_a_row += 1
            state.words = could_not_connect
            if state.in_a_row >= self.threshold:
                # opened from closed: the short first cool-off, waited out (``probe_wait_s``)
                state.waits = state.open_until is None and self.probe_wait_s > 0
                wait = self.probe_wait_s if state.waits else self.cool_off_s
                state.open_until = self._monotonic() + wait

    def _take(self, source: str) -> None:
        """Let this request go, or refuse it (SourceUnreachable); the half-open one takes the
        cool-off again as it starts, so no other breaker of its state sends meanwhile."""
        state = self.state
        with state.held():
            if (why := self.refusal()) is not None:
                self.not_sent += 1
                self.last_refusal = why
                raise SourceUnreachable(f"{source}: not asked: {why}")
            self.probing = self.half_open()
            if self.probing:
                state.open_until = self._monotonic() + self.cool_off_s
                state.waits = False

    @contextmanager
    def guard(
        self, source: str, unconnected: Callable[[SourceError], str | None]
    ) -> Iterator[None]:
        """The block is one request, unless the breaker is open: then SourceUnreachable at
        once (``<source>: not asked: <why>``), nothing sent, counted in ``not_sent``. While
        the block runs ``probing`` says whether it is the half-open request; its outcome is
        recorded, ``unconnected`` giving the words of a SourceError that could not connect
        (None: it reached the server). In the short first cool-off (``probe_wait_s``) the
        block waits for its end instead, and is the half-open request (or, when another
        breaker of its state took that one meanwhile, refused). Here, not in each
        client: HttpSource and StationFiles refuse, count and word the same way."""
        with self.state.held():
            until = self.state.open_until if self.state.waits else None
        if until is not None and (left := until - self._monotonic()) > 0:
            self.waited_s += left
            self._sleep(left)
        self._take(source)
        try:
            yield
        except SourceError as exc:
            self.record(unconnected(exc))
            raise
        finally:
            self.probing = False
        self.record(None)


def retry_verdict(
    exc: Exception, cap_s: float, attempt: int, attempts: int, waits: list[float]
) -> bool | float:
    """stamina's verdict on attempt ``attempt`` of ``attempts``: a 429's or a 503's Retry-After
    of at most ``cap_s`` is waited (noted in ``waits`` unless no attempt follows), and one
    longer ends the fetch at that answer: asked again within the cap, the source that said when
    to come back would only refuse again, so the error is raised with ``retry_after`` set for
    the caller to keep (stages/source_rest.py). Else retry timeouts, no answer at all, 408, 429
    and 5xx. One rule for HttpSource and StationFiles."""
    if isinstance(exc, RateLimited | ServerError) and exc.retry_after is not None:
        if exc.retry_after > cap_s:
            return False
        if attempt < attempts:  # no wait follows the last attempt
            waits.append(exc.retry_after)
        return exc.retry_after
    return isinstance(exc, RateLimited | ServerError | SourceTimeout | SourceUnreachable)


def _could_not_connect(exc: BaseException) -> bool:
    """A source error of an attempt that could not connect (a DNS lookup failed, a connection
    refused or timed out): what the breaker counts."""
    return isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


_COUNTED_METHODS = ("fetch", "fetch_intraday")
"""A source's methods whose bad payloads count as its failures: the daily requests and the
intraday ones (PTAX bulletins, 15-minute bars), which ``watch`` and the intraday Lambda
make."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _counting_bad_payloads(
    fetch: Callable[Concatenate[HttpSource, _P], _R],
) -> Callable[Concatenate[HttpSource, _P], _R]:
    """``fetch`` that counts an InvalidPayload raised by its parsing (the HTTP layer counts its
    own) as a failure of the source, with the error in brief as its last error: an outage
    page served with 200 on every request is a source that could not be used, not a clean
    run. It is the parsing's when the fetch's last request got an answer (a 503 retried before
    that answer counted for its own request only). One raised while a FetchResult's
    observations are read (a streamed workbook) counts too. Either way the answer's
    validators are forgotten (``_unusable``)."""

    @functools.wraps(fetch)
    def counted(self: HttpSource, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        self._answered = None
        try:
            result = fetch(self, *args, **kwargs)
        except InvalidPayload as exc:
            if self._answered is not None:  # else the HTTP layer raised and counted it
                self._failed_payload(exc)
            self._unusable(self._answered)
            raise
        if not isinstance(result, FetchResult) or isinstance(result.observations, list | tuple):
            return result
        observations = self._counted(result.observations, self._answered)
        return cast("_R", dataclasses.replace(result, observations=observations))

    return counted


class HttpSource(Source):
    """A source over HTTP: bounded retries with backoff and jitter, optional polite spacing.

    Retried inside one fetch: timeouts (a read's, or the attempt's overall deadline), dropped
    connections, a compressed body cut short, 408, 429 and 503 (after Retry-After, capped)
    and other 5xx. Not retried here: other 4xx and bad payloads (a body past
    ``max_body_bytes`` among them); the pipeline's own retry policy handles those.
    The adapter owns the client it is given: ``close()`` closes it.
    """

    name: str = "http"
    default_base_url: str = ""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """The largest answer taken, once inflated: a larger one is an InvalidPayload."""
    breaker_threshold: int = BREAKER_THRESHOLD
    """Requests in a row that could not connect (each after its retries) before the breaker
    opens (``Breaker``)."""
    breaker_probe_wait_s: float = BREAKER_PROBE_WAIT_S
    """The breaker's short first cool-off, waited out by the next request (``Breaker``)."""

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
        max_body_bytes: int | None = None,
        breaker_threshold: int | None = None,
        breaker_cool_off_s: float = BREAKER_COOL_OFF_S,
        breaker_state: BreakerState | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"{self.name}: attempts must be at least 1, got {attempts}")
        if backoff_s < 0 or min_interval_s < 0 or retry_after_cap_s < 0:
            raise ValueError(f"{self.name}: backoff, interval and cap must not be negative")
        if attempt_deadline_s is not None and attempt_deadline_s <= 0:
            raise ValueError(f"{self.name}: the attempt deadline must be positive")
        if max_body_bytes is not None:
            if max_body_bytes < 1:
                raise ValueError(f"{self.name}: the body size cap must be positive")
            self.max_body_bytes = max_body_bytes
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
        """Seconds one attempt may take, from connecting to the body's last byte."""
        self._watchdog = Watchdog()
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_request_at: float | None = None
        self._attempt = 0
        if breaker_threshold is not None:
            self.breaker_threshold = breaker_threshold
        self._breaker = Breaker(
            self.breaker_threshold,
            breaker_cool_off_s,
            monotonic,
            probe_wait_s=self.breaker_probe_wait_s,
            sleep=sleep,
            state=breaker_state,
        )
        self.requests_made = 0
        """HTTP requests sent, retries included."""
        self.retry_after_waits: list[float] = []
        """Seconds waited because a 429 or a 503 carried a Retry-After within the cap."""
        self.failures = 0
        """Requests that got no usable answer: a transport error, an error status, or an answer
        that is not the data (an InvalidPayload of a daily or intraday fetch)."""
        self.last_error: str | None = None
        self.not_modified = 0
        """Requests the source answered 304 Not Modified (a cheap poll)."""
        self._answered: str | None = None
        """The URL of the answer the last ``get`` returned (the one a fetch is reading), None
        while a ``get`` is under way or when it raised."""
        # A tiny bounded validator cache rather than an HTTP-cache library (none is a dependency)
        # or cachetools' LRUCache (the dashboard's extra: not in the scraper's and intraday's
        # zips): URL -> the last 200 response that carried an ETag or Last-Modified.
        self._validated: OrderedDict[str, httpx.Response] = OrderedDict()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for name in _COUNTED_METHODS:
            if name in cls.__dict__:
                setattr(cls, name, _counting_bad_payloads(cls.__dict__[name]))

    def share_breaker(self, state: BreakerState) -> None:
        """From now on the breaker knows the source through ``state``, which other breakers
        share (`run --workers`'s processes: homes/embedded.py ``SharedBreakers``)."""
        self._breaker.state = state

    @property
    def not_sent(self) -> int:
        """Requests refused at once while the breaker was open (``Breaker.not_sent``)."""
        return self._breaker.not_sent

    @property
    def refusal(self) -> str | None:
        """The breaker's words for the last request it refused."""
        return self._breaker.last_refusal

    def stats(self) -> SourceStats:
        """Requests, failures and the last error in words, and the requests the breaker
        refused unsent with its words, for the end-of-run table. An
        answer that came but could not be used (an InvalidPayload: an HTML page served with
        200, a workbook that is not one, a body cut short) is a failure too, in brief."""
        return SourceStats(
            self.requests_made, self.failures, self.last_error, self.not_sent, self.refusal
        )

    def _failed(self, words: str) -> None:
        self.failures += 1
        self.last_error = words

    def _failed_payload(self, exc: InvalidPayload) -> None:
        self._failed(brief(exc).removeprefix(f"{self.name}: "))

    def _counted(
        self, observations: Iterable[Observation], answered: str | None
    ) -> Iterator[Observation]:
        try:
            yield from observations
        except InvalidPayload as exc:
            self._failed_payload(exc)
            self._unusable(answered)
            raise

    def _unusable(self, url: str | None) -> None:
        """Forget the validators of ``url``'s answer, which could not be used (an outage page
        served with 200): sent with the next poll, a Last-Modified of the page's own could
        draw a 304 from the origin, and the kept page would be handed back again on every
        poll until the data changed."""
        if url is not None:
            self._validated.pop(url, None)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def get(self, url: str, *, pass_statuses: Collection[int] = ()) -> httpx.Response:
        """GET with bounded retries: a 2xx (or a status in ``pass_statuses``) or a SourceError;
        SourceUnreachable at once, nothing sent, while the breaker is open."""
        self._answered = None
        with self._breaker.guard(self.name, self._unconnected):
            response = self._get_retried(url, pass_statuses)
        return response

    def _unconnected(self, exc: SourceError) -> str | None:
        """The words of a request's last error when it could not connect: its last error's."""
        return self.last_error if _could_not_connect(exc) else None

    def _get_retried(self, url: str, pass_statuses: Collection[int]) -> httpx.Response:
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
                response = self._get_once(url, pass_statuses)
                self._answered = url
                return response
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _retry_decision(self, exc: Exception) -> bool | float:
        """stamina's hook: retry transport errors, 408, 429 and 5xx; a float is Retry-After
        (a 429's or a 503's, within the cap: a longer one is not retried). The breaker's
        half-open request is not retried once it could not connect: the breaker opens again at
        once."""
        if self._breaker.probing and _could_not_connect(exc):
            return False
        return retry_verdict(exc, self.retry_after_cap_s, self._attempt, self.attempts,
                             self.retry_after_waits)  # fmt: skip

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
        """One GET read whole, or SourceTimeout once the attempt is past its deadline (a
        watchdog shuts its connection down; the clock is also checked after each body chunk),
        or a SourceError for a body that cannot be taken (too large, garbled, cut short)."""
        started = self._last_request_at = self._monotonic()
        self.requests_made += 1
        deadline = self.attempt_deadline_s

        def failure(kind: type[SourceError], words: str, detail: str = "") -> SourceError:
            self._failed(words)
            return kind(f"{self.name}: {shown}: {words}{detail}")

        def within_deadline(received: int) -> None:
            elapsed = self._monotonic() - started
            if elapsed > deadline:
                raise failure(
                    SourceTimeout,
                    f"passed its {deadline:g} s deadline",
                    f": {received} bytes received in {elapsed:.1f} s",
                )

        def within_cap(size: int) -> None:
            if size > self.max_body_bytes:
                raise failure(InvalidPayload, f"body over {self.max_body_bytes} bytes")

        request = self.client.build_request(
            "GET",
            url,
            headers={**ACCEPT_ENCODING, **self._conditional_headers(url)},
            timeout=attempt_timeout(self.client.timeout, deadline),
            extensions={"trace": self._watchdog.trace},
        )
        with self._watchdog.armed(deadline) as fired:
            try:
                response = self.client.send(request, stream=True)
                try:
                    within_deadline(0)
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit():
                        within_cap(int(declared))
                    stream = response.stream
                    if response.is_stream_consumed or not isinstance(stream, httpx.SyncByteStream):
                        within_cap(len(response.read()))  # read by an injected transport
                    else:  # inflated here, not by httpx: counted, and checked for its end
                        encoding = response.headers.pop("Content-Encoding", None)
                        response.stream = _Body(stream, encoding, within_deadline, within_cap)
                        response.read()
                finally:
                    response.close()
            except httpx.TransportError:
                if not fired.is_set():
                    raise
            except BodyError as exc:
                if not fired.is_set():
                    kind = ServerError if exc.cut_short else InvalidPayload
                    raise failure(kind, exc.words) from None
            if fired.is_set():  # the connection was cut: whatever came is not the answer
                raise failure(
                    SourceTimeout,
                    f"passed its {deadline:g} s deadline",
                    " (connection shut down)",
                )
        return response

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
        retry_after = _retry_after_seconds(response)
        after = f" (Retry-After {retry_after:g}s)" if retry_after is not None else ""
        if status == 429:
            raise RateLimited(
                f"{self.name}: {shown}: HTTP 429 rate limited{after}", retry_after=retry_after
            )
        if status == 503:  # unavailable: it may say for how long, as a 429 does
            raise ServerError(
                f"{self.name}: {shown}: HTTP 503 server error{after}: {body!r}",
                retry_after=retry_after,
            )
        if status == 408:  # the server gave up waiting for the request: worth another one
            raise SourceTimeout(f"{self.name}: {shown}: HTTP 408 request timeout: {body!r}")
        if status >= 500:
            raise ServerError(f"{self.name}: {shown}: HTTP {status} server error: {body!r}")
        if status == 404:
            raise NotFound(f"{self.name}: {shown}: HTTP 404 not found: {body!r}")
        raise PermanentSourceError(f"{self.name}: {shown}: HTTP {status}: {body!r}")
