"""The backends each port's contract suite runs against.

To add a backend, append its name to ``STORE_BACKENDS`` / ``QUEUE_BACKENDS`` and a factory to
``STORE_FACTORIES`` / ``QUEUE_FACTORIES``. A factory receives pytest's ``request`` (to pull in
server fixtures with ``request.getfixturevalue``) and a fresh ``tmp_path``:

- a store factory returns an opener; every call opens another client on the *same* storage (the
  suite uses two clients to race conditional writes), stamping ``updated_at`` with the clock
  it is given (``opener(clock)``; the system clock by default);
- a queue factory also receives a ``ManualClock`` and returns a ``QueueBackend``; its clients
  take that clock. A backend whose server keeps its own time (SQS: the adapter reads the clock,
  the visibility timeouts do not) sets ``supports_manual_clock=False`` and a short real
  visibility timeout (``SQS_VISIBILITY``); the suite then sleeps instead of advancing the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.support.aws_backends import (
    drain_sns_inbox,
    dynamodb_alert_state_factory,
    dynamodb_intraday_factory,
    dynamodb_store_factory,
    sns_topic_with_inbox,
    sqs_queue_factory,
    unique_name,
)
from tests.support.jam import Jam, jammed_sqlite
from werkzeug import Request, Response

from fuelpipe.adapters.alerts import SnsSink, SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.adapters.webhook import WebhookSink
from fuelpipe.ports.alerts import AlertSink, AlertState
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.queue import Queue
from fuelpipe.ports.store import Store

START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
"""Where every test's manual clock starts."""

StoreOpener = Callable[..., Store]
"""``opener(clock=None, wall=None)``: another client on the same store, on ``clock`` (its
business clock, ``updated_at``) and ``wall`` (its wall clock, ``written_at``) when given."""
StoreFactory = Callable[[pytest.FixtureRequest, Path], StoreOpener]


@dataclass
class QueueBackend:
    """A queue under test: how to open clients on it and how to let time pass."""

    open: Callable[[], Queue]
    clock: ManualClock
    visibility: timedelta
    supports_manual_clock: bool = True
    stale_receipt_is_noop: bool = True
    """False where deleting with a superseded receipt is undefined (SQS documents it so)."""
    open_holding: Callable[[float], Queue] | None = None
    """A client whose receives hide messages for the given seconds (a real-time backend's short
    visibility would let a slow host's receivers see a message again); None: ``open``'s."""
    vouches_for_purged_dead_letters: bool = False
    """True where a purge by id knows that a dead letter it does not find is gone (SQLite);
    SQS cannot tell it from one another reader holds, and raises DeadLettersRemain."""

    def let_visibility_expire(self) -> None:
        """Move past the visibility timeout: advance the manual clock, or really wait."""
        if self.supports_manual_clock:
            self.clock.advance(self.visibility + timedelta(seconds=1))
        else:
            # SQS's visibility is whole seconds (moto compares milliseconds): half a second
            # past it is past it, however late the sleep starts
            time.sleep(self.visibility.total_seconds() + 0.5)

    def let_pass(self, delta: timedelta) -> None:
        """Move past ``delta`` however long it is: advance the manual clock, or really wait."""
        if self.supports_manual_clock:
            self.clock.advance(delta)
        else:
            time.sleep(delta.total_seconds())

    def let_time_pass(self, delta: timedelta) -> None:
        """Advance a little, staying inside the visibility timeout."""
        if self.supports_manual_clock:
            self.clock.advance(delta)
        else:
            # a quarter second, not a share of the visibility: what is left of the hold is the
            # slack for the test's calls around it on a loaded host
            time.sleep(min(delta.total_seconds(), 0.25))


QueueFactory = Callable[[pytest.FixtureRequest, Path, ManualClock], QueueBackend]


def _sqlite_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreOpener:
    path = tmp_path / "contract" / "store.sqlite"
    return lambda clock=None, wall=None: SqliteStore(path, clock, wall=wall)


def _sqlite_queue(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> QueueBackend:
    path = tmp_path / "contract" / "queue.sqlite"
    visibility = timedelta(seconds=30)
    return QueueBackend(
        open=lambda: SqliteQueue(path, clock, visibility, max_receives=3),
        clock=clock,
        visibility=visibility,
        open_holding=lambda s: SqliteQueue(path, clock, timedelta(seconds=s), max_receives=3),
        vouches_for_purged_dead_letters=True,
    )


AlertStateOpener = Callable[..., AlertState]
"""``opener(clock, jam=None, **options)``: another client on the same alert state (a process of
its own); a :class:`~tests.support.jam.Jam` makes that client's chosen writes fail."""
AlertStateFactory = Callable[[pytest.FixtureRequest, Path], AlertStateOpener]


def _sqlite_alert_state(request: pytest.FixtureRequest, tmp_path: Path) -> AlertStateOpener:
    path = tmp_path / "alerts.sqlite"

    def opener(clock: ManualClock, jam: Jam | None = None, **options: Any) -> AlertState:
        if jam is not None:
            options["connect"] = jammed_sqlite(jam)
        return SqliteAlertState(path, clock=clock, **options)

    return opener


ALERT_STATE_BACKENDS = ["sqlite", "dynamodb-dynalite", "dynamodb-moto"]
ALERT_STATE_FACTORIES: dict[str, AlertStateFactory] = {
    "sqlite": _sqlite_alert_state,
    "dynamodb-dynalite": dynamodb_alert_state_factory("dynalite_server"),
    "dynamodb-moto": dynamodb_alert_state_factory("moto_server"),
}


@dataclass
class IntradayBackend:
    """An intraday store under test, how it lets expired points go and whether it tells an
    unchanged point from a changed one."""

    store: IntradayStore
    purges_expired: bool
    """True where ``purge_expired`` deletes them (SQLite); False where the table's TTL does
    and ``purge_expired`` returns 0 (DynamoDB)."""
    tells_unchanged: bool
    """True where ``put_points`` counts only new or changed points as changed (SQLite); False
    where it counts every point written (DynamoDB: BatchWriteItem returns no old items)."""


IntradayFactory = Callable[[pytest.FixtureRequest, Path], IntradayStore]

INTRADAY_BACKENDS = ["sqlite", "dynamodb-dynalite", "dynamodb-moto"]
INTRADAY_FACTORIES: dict[str, IntradayFactory] = {
    "sqlite": lambda request, tmp_path: SqliteIntradayStore(tmp_path / "intraday.sqlite"),
    "dynamodb-dynalite": dynamodb_intraday_factory("dynalite_server"),
    "dynamodb-moto": dynamodb_intraday_factory("moto_server"),
}


@dataclass
class SinkBackend:
    """An alert sink under test, on a real receiver that takes any message up to
    :data:`MESSAGE_LIMIT` and refuses a larger one for good."""

    sink: AlertSink
    down: AlertSink
    """A sink of the same name on a receiver that is down (an outage for every alert)."""
    received: Callable[[], list[str]]
    """The subjects of the alerts the receiver took so far, in the order it took them."""


MESSAGE_LIMIT = 256 * 1024
"""SNS's own limit on a message; the test webhook answers 413 past it."""


def _webhook_sink(request: pytest.FixtureRequest, tmp_path: Path) -> SinkBackend:
    server: HTTPServer = request.getfixturevalue("httpserver")
    taken: list[str] = []

    def hook(req: Request) -> Response:
        if len(req.get_data()) > MESSAGE_LIMIT:
            return Response("payload too large", status=413)
        taken.append(req.get_json()["subject"])
        return Response("ok")

    server.expect_request("/hook", method="POST").respond_with_handler(hook)
    server.expect_request("/down", method="POST").respond_with_data("unavailable", status=503)
    return SinkBackend(
        sink=WebhookSink(server.url_for("/hook"), backoff_s=0.0),
        down=WebhookSink(server.url_for("/down"), attempts=1, backoff_s=0.0),
        received=lambda: list(taken),
    )


def _sns_sink(request: pytest.FixtureRequest, tmp_path: Path) -> SinkBackend:
    sns, sqs, topic, inbox = sns_topic_with_inbox(
        request.getfixturevalue("moto_server"), unique_name("sink")
    )
    taken: list[str] = []

    def received() -> list[str]:
        taken.extend(str(body["subject"]) for body in drain_sns_inbox(sqs, inbox))
        return list(taken)

    # No such topic (NotFound): what every alert gets until the topic is set right.
    return SinkBackend(SnsSink(sns, topic), SnsSink(sns, f"{topic}-deleted"), received)


SINK_BACKENDS = ["webhook", "sns-moto"]
SINK_FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Path], SinkBackend]] = {
    "webhook": _webhook_sink,
    "sns-moto": _sns_sink,
}

STORE_BACKENDS = ["sqlite"]
STORE_FACTORIES: dict[str, StoreFactory] = {"sqlite": _sqlite_store}
QUEUE_BACKENDS = ["sqlite"]
QUEUE_FACTORIES: dict[str, QueueFactory] = {"sqlite": _sqlite_queue}

# The AWS home's adapters on local servers (started once per session by tests/conftest.py).
STORE_BACKENDS += ["dynamodb-dynalite", "dynamodb-moto"]
STORE_FACTORIES["dynamodb-dynalite"] = dynamodb_store_factory("dynalite_server")
STORE_FACTORIES["dynamodb-moto"] = dynamodb_store_factory("moto_server")
QUEUE_BACKENDS += ["sqs-moto"]
QUEUE_FACTORIES["sqs-moto"] = sqs_queue_factory("moto_server", QueueBackend)


def _close_all(clients: list[object]) -> None:
    for client in clients:
        close = getattr(client, "close", None)
        if callable(close):
            close()


@pytest.fixture(params=STORE_BACKENDS)
def store_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """Opens clients on one fresh store of the backend under test."""
    open_store = STORE_FACTORIES[request.param](request, tmp_path)
    opened: list[object] = []

    def opener(clock: Clock | None = None, wall: Clock | None = None) -> Store:
        client = open_store(clock, wall)
        opened.append(client)
        return client

    yield opener
    _close_all(opened)


@pytest.fixture
def store(store_opener: StoreOpener) -> Store:
    """A fresh, empty store of the backend under test."""
    return store_opener()


@pytest.fixture(params=ALERT_STATE_BACKENDS)
def alert_states(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AlertStateOpener]:
    """Opens clients on one fresh alert state of the backend under test (closed after)."""
    open_state = ALERT_STATE_FACTORIES[request.param](request, tmp_path)
    opened: list[object] = []

    def opener(clock: ManualClock, **options: Any) -> AlertState:
        state = open_state(clock, **options)
        opened.append(state)
        return state

    yield opener
    _close_all(opened)


@pytest.fixture(params=INTRADAY_BACKENDS)
def intraday_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IntradayBackend]:
    """A fresh, empty intraday store of the backend under test (closed after)."""
    store = INTRADAY_FACTORIES[request.param](request, tmp_path)
    sqlite = request.param == "sqlite"
    yield IntradayBackend(store, purges_expired=sqlite, tells_unchanged=sqlite)
    _close_all([store])


@pytest.fixture(params=SINK_BACKENDS)
def sink_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SinkBackend]:
    """An alert sink of the backend under test on a fresh receiver (closed after)."""
    backend = SINK_FACTORIES[request.param](request, tmp_path)
    yield backend
    _close_all([backend.sink, backend.down])


@pytest.fixture(params=QUEUE_BACKENDS)
def queue_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueBackend]:
    """A fresh, empty queue of the backend under test (clients opened on it are closed after)."""
    backend = QUEUE_FACTORIES[request.param](request, tmp_path, ManualClock(START))
    opened: list[object] = []
    open_queue = backend.open

    def opener() -> Queue:
        client = open_queue()
        opened.append(client)
        return client

    backend.open = opener
    holding = backend.open_holding

    def holding_opener(seconds: float) -> Queue:
        client = holding(seconds) if holding is not None else open_queue()
        opened.append(client)
        return client

    backend.open_holding = holding_opener
    yield backend
    _close_all(opened)


HOLD_S = 60.0
"""How long the ``queue`` fixture's receives hide a message: longer than any test's steps."""


@pytest.fixture
def queue(queue_backend: QueueBackend) -> Queue:
    """A client on the fresh queue under test whose receives hide messages for a minute.

    On SQS's real 1 s visibility a loaded host's drain of 27 messages got them back mid-drain
    (81 bodies: test_send_batches_many_bodies[sqs-moto] failed at load ~14), which is not what
    a test that never waits out the visibility checks. A test that does opens its client with
    ``queue_backend.open()`` (the backend's own, short visibility)."""
    hold = queue_backend.open_holding
    return hold(HOLD_S) if hold is not None else queue_backend.open()
