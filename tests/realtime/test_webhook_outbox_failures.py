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
import threading
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
"""The slow receiver's sink's deadline for each attempt's whole answer (15 s in use): that
receiver holds its answer until the test saw the attempts fail."""
ANSWERED_S = 60.0
"""The other sinks' deadline, a hang guard only: their receiver answers at once. (At 0.4 s a
loaded host cut its 500, 429 or 200 short: the attempt failed for its deadline instead, a
429 was asked again, the alert taken was asked for twice.)"""


class Receiver:
    """A webhook failing in ``mode`` until ``up``; records each request's Idempotency-Key and
    whether it was taken."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.up = False
        self.asked: list[tuple[str | None, bool]] = []
        self.released = threading.Event()
        """Set: the slow receiver answers the attempts it holds (late: their sink gave up)."""
        self._arrived = threading.Condition()

    def __call__(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        assert json.loads(request.get_data())["delivery_id"] == key
        with self._arrived:
            self.asked.append((key, self.up))
            self._arrived.notify_all()
        if self.up:
            return Response("ok")
        if self.mode == "slow":
            self.released.wait(ANSWERED_S)
            return Response("late")
        if self.mode == "429":
            return Response("slow down", status=429, headers={"Retry-After": "120"})
        return Response("boom", status=500)

    def wait_asked(self, count: int) -> None:
        """Until ``count`` requests arrived (ANSWERED_S at most): on a loaded host an attempt
        its sink gave up on may reach the server's thread after that, once the receiver is
        up, and be taken as the delivery."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.asked) >= count, ANSWERED_S)


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
    tried = {"refused": 0, "slow": 3, "500": 3, "429": 1}[mode]  # a long Retry-After: asked once
    deadline_s = DEADLINE_S if mode == "slow" else ANSWERED_S
    sinks = [WebhookSink(url, backoff_s=0.0, attempt_deadline_s=deadline_s)]
    outbox = [state.outbox(["webhook"])]
    ctx = AlertContext(clock.now(), store, queue, Catalog([USD]))
    try:
        assert evaluate(ctx, [Quarantined()], state, outbox).firing == 1
        failed = state.deliver(sinks)
        receiver.wait_asked(tried)
        receiver.released.set()
        clock.advance(timedelta(seconds=30))
        # at-least-once: the same quarantine evaluated again (a redelivered message) is quiet
        again = evaluate(replace(ctx, now=clock.now()), [Quarantined()], state, outbox)
        [backlog] = state.delivery().backlog
        if mode in ("refused", "slow"):  # the URL fixed; a deadline an answer cannot miss
            sinks[0].close()
            sinks = [WebhookSink(good, backoff_s=0.0, attempt_deadline_s=ANSWERED_S)]
        receiver.up = True
        taken = state.deliver(sinks)
        after = state.deliver(sinks)
    finally:
        receiver.released.set()
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
    assert len(receiver.asked) == tried + 1
