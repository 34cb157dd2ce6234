"""Run an ASGI app with uvicorn in a thread on a free 127.0.0.1 port (tests, browser, bench)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

# Debian's Chromium (`make browser-deps`), or the binary FUELPIPE_CHROMIUM names, with the flags
# that keep it quiet on a machine with no outside network.
CHROMIUM = Path(os.environ.get("FUELPIPE_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM}: run `make browser-deps` (Debian's chromium) "
    "or set FUELPIPE_CHROMIUM to a Chromium binary"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# The scripts a page had loaded when its first chart was drawn: app.js stamps each chart it
# draws with performance.now() (data-rendered), Resource Timing gives each script's end and
# decoded size. Null until a chart is drawn.
_SCRIPTS_BEFORE_FIRST_CHART = """() => {
  const drawn = Array.from(document.querySelectorAll('.chart'))
    .map(d => Number(d.dataset.rendered)).filter(x => x > 0);
  if (!drawn.length) return null;
  const first = Math.min(...drawn);
  return performance.getEntriesByType('resource')
    .filter(e => e.initiatorType === 'script' && e.responseEnd <= first)
    .map(e => [new URL(e.name).pathname, e.decodedBodySize]);
}"""


def scripts_before_first_chart(page: Any) -> dict[str, int]:
    """The scripts (path → decoded bytes) a Playwright page of the dashboard had loaded when it
    drew its first chart; waits for that chart. The first chart's JavaScript budget is their
    sum (bench/bench_firstchart.py, tests/browser)."""
    page.wait_for_function(_SCRIPTS_BEFORE_FIRST_CHART, timeout=60_000)
    return {path: int(size) for path, size in page.evaluate(_SCRIPTS_BEFORE_FIRST_CHART)}


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: ASGIApp, timeout_s: float = 60.0) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL.

    ``timeout_s`` bounds the start (and the stop): uvicorn's first start imports its
    protocol modules, seconds on a 2-core host at load 12, so 10 s was too close; a server
    that does start is waited for no longer either way."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)
