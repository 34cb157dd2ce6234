"""A quarantine alert queued in the real SQLite outbox, delivered to a real webhook on
127.0.0.1 that fails as receivers do (connection refused, an answer slower than the attempt's
deadline, 500, 429 with a long Retry-After): the delivery gives up after its attempts (a long
Retry-After is not waited out: asked once; each attempt's cut at its deadline is
tests/realtime/test_webhook.py's, no wall time asserted here), the alert stays queued (the backlog says since when sending fails), and once the receiver takes it it is
delivered once, with the key every earlier attempt carried, and never again. The quarantined
date is synthetic (a USD date whose re-downloads are spent), as the failures are."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fuelpipe.adapters.webhook import WebhookSink
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.stages.alerting import Quarantined, evaluate

SP = ZoneInfo("America/Sao_Paulo")
USD = replace(DEFAULT_CATALOG["CURRENCY#USD"], default_start=date(2022, 5, 2))
DEADLINE_S = 0.4
"""Each attempt's deadline for its whole answer here (15 s in use): the slow receiver's
answer takes longer."""


class Receiver:
    """A webhook failing in ``mode`` until ``up``; records each request's Idempotency-Key and
    whether it was taken."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.up = False
        self.asked: list[tuple[str | None, bool]] = []

    def __call__(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        assert json.loads(request.get_data())["delivery_id"] == key
        self.asked.append((key, self.up))
        if self.up:
            return Response("ok")
        if self.mode == "slow":
            time.sleep(DEADLINE_S * 2.5)
            return Response("late")
        if self.mode == "429":
            return Response("slow down", status=429, headers={"Retry-After": "120"})
        return Response("boom", status=500)


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """A threaded receiver: an attempt the sink gave up on is still answered on its own thread
    while the next one arrives, as a real server does (each is recorded as it arrives)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: a connection to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("mode", ["refused", "slow", "500", "429"])
def test_a_failing_webhook_keeps_the_alert_and_delivers_it_once_when_back(
    home, server: HTTPServer, mode: str
) -> None:
    clock, store, queue, state = home
    receiver = Receiver(mode)
    server.expect_request("/hook", method="POST").respond_with_handler(receiver)
    good = server.url_for("/hook")
    url = f"http://127.0.0.1:{_closed_port()}/hook" if mode == "refused" else good
    day = date(2022, 5, 3)
    pending = Record(
        USD.key, day, None, Status.PENDING, 5, clock.now(), "HTTP 404", {}, clock.now()
    )
    assert store.put_pending(pending)
    assert store.quarantine(USD.key, day, 5, "no value after 5 re-downloads")
    sinks = [WebhookSink(url, backoff_s=0.0, attempt_deadline_s=DEADLINE_S)]
    outbox = [state.outbox(["webhook"])]
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
    try:
        assert evaluate(ctx, [Quarantined()], state, outbox).firing == 1
        failed = state.deliver(sinks)
        clock.advance(timedelta(seconds=30))
        # at-least-once: the same quarantine evaluated again (a redelivered message) is quiet
        again = evaluate(replace(ctx, now=clock.now()), [Quarantined()], state, outbox)
        [backlog] = state.delivery().backlog
        if mode == "refused":  # the URL fixed: the receiver now listens where it is sent
            sinks[0].close()
            sinks = [WebhookSink(good, backoff_s=0.0, attempt_deadline_s=DEADLINE_S)]
        receiver.up = True
        taken = state.deliver(sinks)
        after = state.deliver(sinks)
    finally:
        for sink in sinks:
            sink.close()
    assert (failed.sent, len(failed.failed), failed.dropped) == (0, 1, {})
    assert (again.firing, again.cleared) == (0, 0)
    assert (backlog.sink, backlog.waiting) == ("webhook", 1)
    assert backlog.failing_since is not None
    assert (taken.sent, taken.failed) == (1, [])
    assert (after.sent, after.failed, state.delivery().backlog) == (0, [], [])
    keys = {key for key, _ in receiver.asked}
    assert len(keys) == 1 and None not in keys  # every attempt carried one key
    assert [up for _, up in receiver.asked].count(True) == 1  # taken once
    tried = {"refused": 0, "slow": 3, "500": 3, "429": 1}[mode]  # a long Retry-After: asked once
    assert len(receiver.asked) == tried + 1
