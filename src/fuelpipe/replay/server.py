"""``ReplayServer``: every source in its real wire format, from the bundled real snapshot.

Routes are ``/<source>/<the real path>`` (``/bcb/olinda/...``, ``/yahoo/v8/finance/chart/...``,
``/fred/graph/fredgraph.csv``, ``/anp/semanal/...xlsx``) plus ``GET /_replay/stats``. A
:class:`FaultPlan` decides, per request, whether and how the response goes wrong.
"""

from __future__ import annotations

import hashlib
import random
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from fuelpipe.dashboard.etags import none_match
from fuelpipe.replay.faults import SOURCES, FaultKind, FaultPlan
from fuelpipe.replay.reply import (
    TEXT,
    Memo,
    Reply,
    RouteContext,
    json_reply,
    maintenance_page,
    rate_limited,
    server_error,
)
from fuelpipe.replay.revisions import (
    Dividends,
    Revisions,
    Splits,
    apply_dividends,
    apply_revisions,
    apply_splits,
)
from fuelpipe.replay.routes import BASE_PATHS, ROUTES
from fuelpipe.replay.snapshot_data import Snapshot

STATS_PATH = "/_replay/stats"
_SERVER_ERRORS = (500, 502, 503, 504)
_EARLY = {
    FaultKind.SERVER_ERROR,
    FaultKind.RATE_LIMITED,
    FaultKind.RATE_LIMITED_BARE,
    FaultKind.HTML,
}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a slow response must not hold up stop()
    replay: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-request (killed, or timed out and closed) is no server error:
        socketserver printed a traceback for each (a `fuelpipe run` killed -9 while it read
        the request line); anything else still gets it."""
        if isinstance(sys.exc_info()[1], ConnectionError):  # reset, aborted, broken pipe
            return
        super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6  # an IPv6 host such as ::1 (the IPv4 class refused it)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: avoid the 40 ms ACK wait
    server_version = "fuelpipe-replay"
    sys_version = ""
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.replay.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log: the replay server writes its own line."""


class ReplayServer:
    """A local HTTP server replaying BCB, Yahoo, FRED and ANP from the snapshot."""

    def __init__(
        self,
        snapshot_dir: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        *,
        quiet: bool = False,
        log: TextIO | None = None,
        snapshot: Snapshot | None = None,
        revisions: Revisions | None = None,
        dividends: Dividends | None = None,
        splits: Splits | None = None,
    ) -> None:
        # ``snapshot`` replaces the bundled one (e.g. devtools.synthetic.SyntheticSnapshot).
        self.snapshot = snapshot or Snapshot(Path(snapshot_dir) if snapshot_dir else None)
        # ``splits``: Yahoo re-bases every earlier price, the close too (revisions); first, so
        # a revised value or a dividend below is on the basis the chart is served on.
        if splits:
            apply_splits(self.snapshot, splits)
        # ``revisions``: serve these values instead of the snapshot's (a source revising).
        if revisions:
            apply_revisions(self.snapshot, revisions)
        # ``dividends``: Yahoo re-bases every earlier adjusted close (an adjustment, no revision).
        if dividends:
            apply_dividends(self.snapshot, dividends)
        self._extra_headers = {"X-Fuelpipe-Synthetic": "1"} if self.synthetic else {}
        self.faults = faults or FaultPlan.none()
        self.quiet = quiet
        self._log = log
        self._httpd = (_HTTPServer6 if ":" in host else _HTTPServer)((host, port), _Handler)
        self._httpd.replay = self
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(SOURCES, 0)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._memo = Memo()
        self._not_modified = 0

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """The bound address."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` with no trailing slash (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ReplayServer:
        """Serve in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"replay-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until stop() or KeyboardInterrupt (for the CLI)."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving, wake slow responses and release the port."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what clients and tests read --------------------------------------------------------
    @property
    def synthetic(self) -> bool:
        """True when the served data is generated, not the real snapshot."""
        return bool(getattr(self.snapshot, "synthetic", False))

    def source_urls(self) -> dict[str, str]:
        """The base URL per source, to put in ``FUELPIPE_SOURCE_<NAME>_URL``."""
        return {name: f"{self.url}/{name}{BASE_PATHS[name]}" for name in ROUTES}

    def env(self) -> dict[str, str]:
        """The ``FUELPIPE_SOURCE_<NAME>_URL`` variables pointing at this server."""
        return {f"FUELPIPE_SOURCE_{k.upper()}_URL": v for k, v in self.source_urls().items()}

    @property
    def request_counts(self) -> dict[str, int]:
        """Requests received per source so far (a copy)."""
        with self._lock:
            return dict(self._counts)

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected per kind so far."""
        return self.faults.injected()

    def stats(self) -> dict[str, Any]:
        """What ``GET /_replay/stats`` returns."""
        return {
            "requests": self.request_counts,
            "faults": self.fault_counts,
            "seed": self.faults.seed,
            "plan": self.faults.describe(),
            "synthetic": self.synthetic,
            "not_modified": self.not_modified,
        }

    @property
    def not_modified(self) -> int:
        """Conditional requests answered 304 Not Modified so far."""
        with self._lock:
            return self._not_modified

    # --- request handling -------------------------------------------------------------------
    def _next_seq(self, source: str) -> int:
        with self._lock:
            # Sources outside the fault plan's (the station files, "shpc") are counted from
            # their first request, so the weekly sources' counts keep their shape.
            self._counts[source] = self._counts.get(source, 0) + 1
            return self._counts[source]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one GET: route it, inject the decided fault, write the response."""
        split = urlsplit(handler.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if path == STATS_PATH:
            self._send(handler, json_reply(200, self.stats()), None)
            return
        source, _, rest = path.lstrip("/").partition("/")
        if source not in ROUTES:
            self._send(handler, Reply(404, TEXT, b"Not Found\n"), None)
            return
        decision = self.faults.decide(source, self._next_seq(source))
        kind = decision.kind
        if kind is FaultKind.DROP:
            self.faults.record(kind)
            self._write_log(handler, "-", 0, kind)
            handler.close_connection = True  # nothing written: the client sees a dropped link
            return
        if kind in _EARLY:
            self.faults.record(kind)
            self._send(handler, self._early_reply(source, kind, decision.rng), kind)
            return
        if kind is FaultKind.SLOW:
            self.faults.record(kind)
            if self._stopping.wait(self.faults.slow_s):
                handler.close_connection = True
                return
        headers = {k.lower(): v for k, v in handler.headers.items()}
        plan = self.faults.for_request()  # one instant for the whole response
        ctx = RouteContext("/" + rest, query, self.snapshot, plan, decision, self._memo, headers)
        reply = ROUTES[source](ctx)
        applied = reply.fault
        if applied is not None:
            self.faults.record(applied)
        if kind is FaultKind.TRUNCATE and reply.status == 200 and len(reply.body) > 1:
            self.faults.record(kind)
            reply = Reply(
                reply.status, reply.content_type, reply.body[: len(reply.body) // 2], reply.headers
            )
            applied = kind
        if reply.status == 200 and applied is None:
            reply = self._validated(handler, reply)
        self._send(handler, reply, applied or (kind if kind is FaultKind.SLOW else None))

    def _validated(self, handler: BaseHTTPRequestHandler, reply: Reply) -> Reply:
        """An ETag on every clean 200, and 304 with no body when the client already has it."""
        etag = '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"'
        if none_match(handler.headers.get("If-None-Match"), etag):
            with self._lock:
                self._not_modified += 1
            return Reply(304, reply.content_type, b"", {"ETag": etag})
        return Reply(reply.status, reply.content_type, reply.body, {**reply.headers, "ETag": etag})

    def _early_reply(self, source: str, kind: FaultKind | None, rng: random.Random) -> Reply:
        if kind is FaultKind.SERVER_ERROR:
            return server_error(rng.choice(_SERVER_ERRORS))
        if kind is FaultKind.RATE_LIMITED:
            return rate_limited(self.faults.retry_after_s)
        if kind is FaultKind.RATE_LIMITED_BARE:
            return rate_limited(None)
        return maintenance_page(source)

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply, fault: FaultKind | None) -> None:
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            if reply.status != 304:  # a 304's length would be the 200's (RFC 9110 §8.6)
                handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in {**reply.headers, **self._extra_headers}.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (e.g. after a slow fault)
        self._write_log(handler, str(reply.status), len(reply.body), fault)

    def _write_log(
        self, handler: BaseHTTPRequestHandler, status: str, size: int, fault: FaultKind | None
    ) -> None:
        if self.quiet:
            return
        stream = self._log or sys.stderr
        tag = f" fault={fault.value}" if fault else ""
        print(f"replay {status} {size}B GET {handler.path}{tag}", file=stream, flush=True)
