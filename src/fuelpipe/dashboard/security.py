"""Security headers on every response, as a plain ASGI middleware (cheap, streaming-safe)."""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fuelpipe.dashboard.errors import FaultNamer, no_fault

# Plotly writes <style> elements and style attributes at run time, hence 'unsafe-inline' for
# styles only; scripts come from this origin alone, so no inline or injected script can run.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)
_log = logging.getLogger("fuelpipe.dashboard")
_SERVER_ERROR = json.dumps({"detail": "internal error; see the server log"}).encode()


class SecurityHeaders:
    """Adds the security headers to every HTTP response, a 500 from an unhandled error included,
    and a Cache-Control to one that has none (:func:`_untagged`).

    An error ``faults`` names (a damaged store file) is no fault of the server: it is answered
    503 with that line as its ``detail`` (the page shows it), logged as that line alone, and
    marked ``no-store`` so nothing keeps it once the file is restored.

    The API docs at /docs are this origin's own page and script, so they get the same policy.
    """

    def __init__(self, app: ASGIApp, faults: FaultNamer = no_fault) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap ``send`` so the response start carries the headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers.extend(SECURITY_HEADERS)
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", _untagged(message["status"])))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Starlette's own 500 page is sent outside every middleware, without the headers:
            # answer here instead, and keep the traceback in the log.
            fault = None if started else self.faults(exc)
            if fault is not None:
                _log.error("%s %s: %s", scope.get("method"), scope.get("path"), fault)
                body = json.dumps({"detail": fault}).encode()
                await _reply(send_with_headers, 503, body, (b"cache-control", b"no-store"))
                return
            _log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _reply(send_with_headers, 500, _SERVER_ERROR)


def _untagged(status: int) -> bytes:
    """The Cache-Control of an answer that set none (an API answer computed on demand, a CSV,
    /api/intraday, /openapi.json, any error): an error is kept by nothing (``no-store``), the
    rest checked with this server before each use (``no-cache``), never cached heuristically."""
    return b"no-store" if status >= 400 else b"no-cache"


async def _reply(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    """A JSON error answer (its body already encoded)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
