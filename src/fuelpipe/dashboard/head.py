"""HEAD answered as GET without the body, as a plain ASGI middleware (RFC 9110 9.1)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Runs a HEAD request as the GET it stands for and sends its status and headers (its
    Content-Length, ETag and cache headers too) with an empty body.

    FastAPI routes answer only the methods they declare, so `curl -I`, link checkers and uptime
    probes got 405 from every page and view; declaring HEAD on each route would list every
    operation twice in /openapi.json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass anything but an HTTP HEAD through; a HEAD goes in as GET, its body stays out."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
