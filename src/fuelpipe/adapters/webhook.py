"""The webhook alert sink: each alert POSTed as JSON over httpx."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import stamina

from fuelpipe.adapters.sources._http import (
    Watchdog,
    _retry_after_seconds,
    attempt_timeout,
    read_within,
    snippet,
    transport_error_words,
)
from fuelpipe.domain.alerts import Alert, strict_json
from fuelpipe.ports.alerts import AlertRejected, AlertSink

if TYPE_CHECKING:
    from fuelpipe.adapters.sources._dns import Resolver

NOT_RETRIED_5XX = frozenset({501, 505})
"""Server errors that say the receiver does not do what was asked (no POST, not this HTTP
version): asked again a second later, they answer the same, so they are not retried within a
send (the alerts stay queued, as for a wrong URL)."""

RETRIED_STATUSES = frozenset(
    {408, 425, 429, *(s for s in range(500, 600) if s not in NOT_RETRIED_5XX)}
)
"""Answers that may change if asked again: timeouts (408), throttling (425, 429) and every
server error but :data:`NOT_RETRIED_5XX` (a proxy's or CDN's 507, 520 to 524 and 598/599 as
well as 500, 502, 503 and 504); any other non-2xx answer (a wrong URL, a rejected body, a
redirect) will not, so it is not retried."""

REJECTED_STATUSES = frozenset({400, 413, 422})
"""Answers that refuse this one body (malformed, too large, invalid): the alert is rejected for
good (:class:`AlertRejected`) and the outbox goes on with the next (set aside once the webhook
takes another; rejecting every body alike, Slack's 400 to any other format, keeps them all).
Other answers not retried (a redirect, 401/403/404/410: a wrong URL or a revoked token) refuse
every alert alike, so they hold the line like an outage and the alerts wait for the URL to be
fixed."""


CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
"""Each socket read's (and write's) timeout: it restarts with every chunk received..."""
ATTEMPT_DEADLINE_S = 15.0
"""... so an attempt also has a deadline for its whole answer, checked once the headers are in
and after each body chunk: a receiver dripping its body a byte at a time cannot hold a send
(and the tick, and the outbox claim) for as long as it likes."""
WAIT_MAX_S = 5.0
"""The longest wait between two attempts (before jitter). A 429 or 503 whose ``Retry-After``
asks for longer ends the send after that one answer (the alert stays queued, and ``watch``
tries again at a later tick): asked again a second later, twice, the receiver that said when
to come back would only refuse again."""


def longest_send_s(attempts: int = 3, backoff_s: float = 0.5) -> float:
    """How long one :meth:`WebhookSink.send` can take at most with the default timeouts: each
    attempt ends at its deadline (connecting is cut to it, and a watchdog shuts the connection
    down then, however the receiver trickles its headers or body), with one read timeout of
    margin; then the waits. The outbox's claim on an alert (``DEFAULT_LEASE``, 5 minutes) must
    outlast it."""
    per_attempt = ATTEMPT_DEADLINE_S + READ_TIMEOUT_S
    return attempts * per_attempt + (attempts - 1) * (WAIT_MAX_S + backoff_s)


class WebhookError(Exception):
    """The webhook did not accept an alert. The message names the receiver by scheme and host
    only: webhook URLs (Slack, Teams, Discord) carry their secret in the path or query."""


class _RetryableWebhookError(WebhookError):
    """A failure worth another attempt (transport error, timeout, throttling, 5xx);
    ``retry_after``: the seconds the receiver asked to wait first (its ``Retry-After``, at
    most :data:`WAIT_MAX_S`), or None."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _backoff(exc: Exception) -> bool | float:
    """stamina's hook: retry a retryable failure, after the receiver's ``Retry-After`` when it
    gave one (else the send's own backoff)."""
    if not isinstance(exc, _RetryableWebhookError):
        return False
    return True if exc.retry_after is None else exc.retry_after


class WebhookRejected(WebhookError, AlertRejected):
    """The webhook refused this alert's body (:data:`REJECTED_STATUSES`); the message names
    the status and the start of its answer."""


def receiver(url: str) -> str:
    """The URL without its path and query: what an error or a log line may show."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def _given(url: str) -> str:
    """A refused URL shown by its scheme and host only (and a port): its user and password,
    path, query and fragment may hold the receiver's secret, so they are never shown, only
    marked ``/…``: ``'localhost:8080/…'``, ``'ftp://host/…'``, ``'htps://host/…'`` for
    ``htps://host?token=…``."""
    scheme, sep, _ = url.partition("://")
    parts = urlsplit(url if sep else f"//{url}")  # no scheme: read what comes as the host
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # not a number: not shown
        port = ""
    host = f"{parts.hostname or ''}{port}"
    shown = f"{scheme}://{host}" if sep else host
    hidden = parts.path or "@" in parts.netloc or "?" in url or "#" in url
    return repr(shown[:60] + ("/…" if hidden else ""))


def delivery_id(alert: Alert) -> str:
    """A key that is the same for every attempt of one alert and differs between alerts,
    sent as ``Idempotency-Key`` and as ``delivery_id``: a receiver that got an attempt whose
    answer timed out can drop the copy the retry brings.

    The key the alert was queued with (``Alert.key``: the outbox gives each its own), else a
    hash of its condition, kind and instants: that one is the same for two alerts of one
    condition at one instant (a pinned clock firing it, clearing it and firing it again), so
    it only stands in for an alert sent without an outbox, or queued before keys were kept."""
    if alert.key:
        return alert.key
    text = (
        f"{alert.condition.id}|{alert.kind.value}|{alert.since.isoformat()}|{alert.at.isoformat()}"
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _bounded_client(resolve: Resolver | None, proxies: Mapping[str, str] | None) -> httpx.Client:
    """The sink's own client: its lookups bounded, the environment's proxies as httpx's."""
    from fuelpipe.adapters.sources._dns import bounded_transports, system_resolver

    transport, mounts = bounded_transports(resolve or system_resolver, proxies)
    return httpx.Client(
        timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        transport=transport,
        mounts=mounts,
    )


class WebhookSink(AlertSink):
    """POSTs each alert as JSON; bounded retries on transport errors, timeouts, 408, 425, 429
    and 5xx (not 501, 505). Without a ``client``, its own looks the receiver up through
    ``resolve`` (the system's by default) and gives the lookup up at the connect timeout, cut
    to the attempt's deadline (see ``sources._dns``); ``proxies`` as
    ``urllib.request.getproxies()`` gives them (None: the environment's)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        client: httpx.Client | None = None,
        attempts: int = 3,
        backoff_s: float = 0.5,
        *,
        attempt_deadline_s: float = ATTEMPT_DEADLINE_S,
        monotonic: Callable[[], float] = time.monotonic,
        resolve: Resolver | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # refused now: every alert would fail to be delivered, tick after tick
            raise ValueError(f"the webhook must be an http:// or https:// URL, not {_given(url)}")
        if any(c.isspace() or not c.isprintable() for c in url):
            # urlsplit drops a CR or LF (a CRLF .env) and httpx refuses it at each send, or
            # sends a space on to a lookup or a path that fails every time
            raise ValueError(
                f"the webhook URL has a space or control character (copied with a line "
                f"ending?): {_given(url.strip())}"
            )
        try:
            _ = parts.port  # read to check it: a port out of range raises
        except ValueError:
            raise ValueError(
                f"the webhook URL's port is not a number from 0 to 65535: {_given(url)}"
            ) from None
        if attempt_deadline_s <= 0:
            raise ValueError("the webhook's attempt deadline must be positive")
        self.url = url
        self._client = client or _bounded_client(resolve, proxies)
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._deadline_s = attempt_deadline_s
        self._watchdog = Watchdog()  # ends an attempt at its deadline, headers trickling too
        self._monotonic = monotonic

    def send(self, alert: Alert) -> None:
        key = delivery_id(alert)
        body = {**alert.as_dict(), "delivery_id": key}
        where = receiver(self.url)
        for attempt in stamina.retry_context(
            on=_backoff,
            attempts=self._attempts,
            timeout=None,
            wait_initial=self._backoff_s,
            wait_max=WAIT_MAX_S,
            wait_jitter=self._backoff_s,
        ):
            with attempt:
                try:
                    response = self._post(body, key, where)
                except httpx.TransportError as exc:
                    # from None: httpx's own messages may quote the URL
                    raise _RetryableWebhookError(
                        f"webhook {where}: timed out ({type(exc).__name__})"
                        if isinstance(exc, httpx.TimeoutException)  # a hanging lookup among them
                        else f"webhook {where}: {transport_error_words(exc)}"
                        if isinstance(exc, httpx.RequestError)
                        else f"webhook {where}: {type(exc).__name__}"
                    ) from None
                if response.is_success:
                    return
                problem = f"webhook {where} answered HTTP {response.status_code}"
                if response.status_code in RETRIED_STATUSES:
                    wait = (
                        _retry_after_seconds(response)
                        if response.status_code in (429, 503)
                        else None
                    )
                    if wait is not None and wait > WAIT_MAX_S:
                        raise WebhookError(
                            f"{problem}, Retry-After {wait:g} s: not asked again in this send"
                        )
                    raise _RetryableWebhookError(problem, wait)
                if response.status_code in REJECTED_STATUSES:
                    raise WebhookRejected(f"{problem}: {snippet(response.content)!r}")
                if response.is_redirect:  # not followed: the alert would go where not given
                    moved = response.headers.get("location", "")
                    to = receiver(str(response.request.url.join(moved))) if moved else "?"
                    raise WebhookError(
                        f"{problem}, a redirect to {to} (not followed: set the webhook URL "
                        "to where it points if that is its new address)"
                    )
                raise WebhookError(f"{problem} (not retried)")

    def _post(self, body: dict[str, object], key: str, where: str) -> httpx.Response:
        """One POST with its answer read whole, or a retryable error once the attempt is past
        its deadline (checked when the headers are in and after each body chunk)."""
        started = self._monotonic()

        def within_deadline(received: int) -> None:
            elapsed = self._monotonic() - started
            if elapsed > self._deadline_s:
                raise _RetryableWebhookError(
                    f"webhook {where}: timed out: no whole answer within its "
                    f"{self._deadline_s:g} s deadline ({received} bytes received)"
                )

        request = self._client.build_request(
            "POST",
            self.url,
            # numbers positional (never 1e-05), as the store and the CSVs write them; ASCII,
            # so no text of a rule's (a lone surrogate) can fail the encoding
            content=strict_json(body).encode(),
            # the status is the answer; the body only shows in a refusal (a snippet), so it is
            # asked for and read as sent, and a 2xx's is not read: one that does not decode
            # (a gzip header on a plain body) or ends short made a taken alert a failed one,
            # sent again at every delivery
            headers={
                "Idempotency-Key": key,
                "Accept-Encoding": "identity",
                "Content-Type": "application/json",
            },
            timeout=attempt_timeout(self._client.timeout, self._deadline_s),
            extensions={"trace": self._watchdog.trace},
        )
        with self._watchdog.armed(self._deadline_s) as fired:
            try:
                return read_within(
                    self._client,
                    request,
                    within_deadline,
                    decode=False,
                    body_if=lambda head: not head.is_success,
                )
            except httpx.TransportError:
                if fired.is_set():  # the watchdog shut the connection down: the deadline
                    raise _RetryableWebhookError(
                        f"webhook {where}: timed out: no whole answer within its "
                        f"{self._deadline_s:g} s deadline (connection shut down)"
                    ) from None
                raise

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()
