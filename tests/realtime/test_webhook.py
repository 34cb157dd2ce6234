"""The webhook sink against a real HTTP receiver on 127.0.0.1: bounded retries only where a retry
can help, the same idempotency key on every attempt of one alert, and the URL's secret never in
an error or a log line."""

from __future__ import annotations

import json
import logging
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from tests.support.dns import HangingResolver
from werkzeug import Request, Response

from fuelpipe.adapters.alerts import DEFAULT_LEASE, SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.webhook import WebhookError, WebhookSink, longest_send_s
from fuelpipe.domain.alerts import Alert, AlertKind, Condition

SECRET = "T0123/B0456/xoxb-s3cr3t-t0ken"
AT = datetime(2022, 5, 4, 17, 5, tzinfo=UTC)


def _alert(kind: AlertKind = AlertKind.FIRING) -> Alert:
    cond = Condition("stale_source", "bcb", "bcb is late", {"source": "bcb"})
    return Alert(kind, cond, AT, AT)


def _sink(url: str, **kwargs: object) -> WebhookSink:
    return WebhookSink(url, backoff_s=0.0, **kwargs)  # type: ignore[arg-type]


def test_a_failing_webhook_never_shows_the_secret_in_its_url(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack/Teams/Discord webhooks carry their secret in the path: a 5xx must not put it in
    the error (printed by the CLI) nor in the retry log lines."""
    httpserver.expect_request(f"/hooks/{SECRET}", method="POST").respond_with_data(
        "down", status=503
    )
    sink = _sink(httpserver.url_for(f"/hooks/{SECRET}"), attempts=2)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(WebhookError) as failed:
            sink.send(_alert())
    finally:
        sink.close()
    assert len(httpserver.log) == 2  # bounded: the attempts given
    shown = "".join(traceback.format_exception(failed.value))
    assert "503" in str(failed.value)
    assert "s3cr3t" not in shown
    # what reaches a log at WARNING and above (stamina's retry lines included); httpx's own
    # INFO line per request names the URL, and nothing in fuelpipe turns INFO on
    shown_logs = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert shown_logs and all("s3cr3t" not in str(r.__dict__) for r in shown_logs)


def test_a_client_error_is_not_retried_but_throttling_is(httpserver: HTTPServer) -> None:
    """A 4xx (wrong URL, rejected body) will not change by asking again; 429 and 408 may."""
    httpserver.expect_request("/gone", method="POST").respond_with_data("no", status=404)
    sink = _sink(httpserver.url_for("/gone"))
    try:
        with pytest.raises(WebhookError, match="404"):
            sink.send(_alert())
        assert len(httpserver.log) == 1
        httpserver.clear()
        httpserver.expect_ordered_request("/busy", method="POST").respond_with_data(
            "slow down", status=429
        )
        httpserver.expect_ordered_request("/busy", method="POST").respond_with_data("ok")
        sink.url = httpserver.url_for("/busy")
        sink.send(_alert())
        assert len(httpserver.log) == 2
    finally:
        sink.close()


def test_every_attempt_of_one_alert_carries_the_same_idempotency_key(
    httpserver: HTTPServer,
) -> None:
    """A receiver that took the alert but answered after the client's timeout gets it again:
    the key (also in the body as ``delivery_id``) lets it drop the copy; another alert has
    another key."""
    calls: list[Request] = []

    def failing_then_ok(request: Request) -> Response:
        # The first attempt fails as a timed-out one does for the client (its outcome unknown
        # to it): the retry must carry the same key. No timing: a loaded machine cannot turn
        # the other answers into timeouts.
        calls.append(request)
        return Response("busy", status=503) if len(calls) == 1 else Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(failing_then_ok)
    sink = _sink(httpserver.url_for("/hook"))
    try:
        sink.send(_alert())
        sink.send(_alert(AlertKind.CLEARED))
    finally:
        sink.close()
    keys = [r.headers.get("Idempotency-Key") for r in calls]
    assert len(calls) == 3 and keys[0] and keys[0] == keys[1] != keys[2]
    bodies = [r.get_json() for r in calls]
    assert [b["delivery_id"] for b in bodies] == keys


@contextmanager
def _receiver(
    serve: Callable[[socket.socket, threading.Event], None],
) -> Iterator[str]:
    """A receiver on 127.0.0.1 handing each connection to ``serve`` (with the event set when
    the test ends) on a thread of its own: its URL."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn, stop), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        server.close()


@pytest.fixture
def dripping() -> Iterator[str]:
    """A receiver on 127.0.0.1 that answers 503 and then drips its chunked body a byte at a
    time, each well within the read timeout, until the client goes away: its URL. (A 2xx's
    body is not read: the alert is taken at its status.)"""

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                while not stop.wait(0.02):
                    conn.sendall(b"1\r\n.\r\n")
            except OSError:  # the client hung up: what the deadline is for
                return

    with _receiver(serve) as url:
        yield url


def test_a_receiver_dripping_its_answer_fails_the_attempt_at_its_deadline(
    dripping: str, tmp_path
) -> None:
    """httpx's read timeout restarts with every chunk: a receiver that drips its body kept
    send() (the tick, the outbox claim) waiting as long as it liked. Each attempt now has a
    deadline for its whole answer; the alert stays queued for the next delivery."""
    clock = ManualClock(AT)
    state = SqliteAlertState(tmp_path / "d.sqlite", clock=clock)
    sink = _sink(dripping, attempts=2, attempt_deadline_s=0.2)
    try:
        state.load()
        state.outbox(["webhook"]).send(_alert())
        state.save({})
        with pytest.raises(WebhookError, match="deadline"):
            sink.send(_alert())
        report = state.deliver([sink])
        assert report.sent == 0
        assert len(report.failed) == 1 and "timed out: no whole answer" in report.failed[0]
        assert state.deliver([]).orphaned == {"webhook": 1}  # still queued
    finally:
        sink.close()
        state.close()


@pytest.fixture
def trickling() -> Iterator[tuple[str, threading.Event]]:
    """A receiver on 127.0.0.1 that trickles its answer's header lines, each well within the
    read timeout, for 60 s (a hang guard: the deadline under test is 0.2 s) before it ends them
    with a 200: its URL, and an event set when the client hung up before the headers ended."""
    hung_up = threading.Event()

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for _ in range(3000):
                    if stop.wait(0.02):
                        return
                    conn.sendall(b"X-Slow: a\r\n")
                conn.sendall(b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:  # the client hung up: what the deadline is for
                hung_up.set()

    with _receiver(serve) as url:
        yield url, hung_up


def test_a_receiver_trickling_its_headers_fails_the_attempt_at_its_deadline(
    trickling: tuple[str, threading.Event],
) -> None:
    """The deadline was checked once the headers were in: a receiver sending one header line
    at a time held the attempt for as long as it liked (past the outbox's claim). A watchdog
    now shuts the connection down at the deadline, while the headers still trickle."""
    url, hung_up = trickling
    sink = _sink(url, attempts=1, attempt_deadline_s=0.2)
    try:
        with pytest.raises(WebhookError, match="deadline"):
            sink.send(_alert())
    finally:
        sink.close()
    assert hung_up.wait(60)  # the connection was cut before the receiver ended its headers


def test_one_send_at_its_longest_ends_well_within_the_outbox_lease() -> None:
    assert longest_send_s() < DEFAULT_LEASE.total_seconds() / 2


def test_a_hanging_lookup_of_the_receiver_fails_the_attempt_at_its_deadline(
    httpserver: HTTPServer,
) -> None:
    """The sink's own client looked the receiver up unbounded (socket.create_connection), and
    the watchdog had no socket to shut down yet: a resolver that hung held send() (the tick,
    the outbox claim) for as long as it hung. The lookup is now given up at the deadline."""
    resolver = HangingResolver()
    url = f"http://hook.test:{httpserver.port}/hook"
    sink = _sink(url, attempts=1, attempt_deadline_s=0.3, resolve=resolver, proxies={})
    try:
        with pytest.raises(WebhookError, match="timed out"):
            sink.send(_alert())
        assert resolver.asked == ["hook.test"] and not resolver.gave_up
        assert not resolver.release.is_set()
    finally:
        resolver.release.set()
        sink.close()
    assert httpserver.log == []


def test_the_sink_connects_where_its_resolver_says(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    sink = _sink(f"http://hook.test:{httpserver.port}/hook", resolve=resolve, proxies={})
    try:
        sink.send(_alert())
    finally:
        sink.close()
    assert asked == ["hook.test"] and len(httpserver.log) == 1


@contextmanager
def _answering(
    status: str, headers: str, body: str, length: int | None = None
) -> Iterator[tuple[str, list[bytes]]]:
    """A receiver on 127.0.0.1 giving every request the same raw answer (``headers``: header
    lines, each ending in CRLF, exactly as sent: no server adds a Date of its own; ``length``
    its Content-Length, the body's own unless given): its URL, and the requests it got."""
    asked: list[bytes] = []

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            asked.append(conn.recv(65536))
            conn.sendall(
                f"HTTP/1.1 {status}\r\n{headers}Content-Length: {length or len(body)}\r\n"
                f"Connection: close\r\n\r\n{body}".encode()
            )

    with _receiver(serve) as url:
        yield url, asked


@pytest.mark.parametrize(
    "headers",
    [
        "Retry-After: 120\r\n",
        # the date form, read against the answer's own Date (no clock of ours involved)
        "Date: Wed, 04 May 2022 17:05:00 GMT\r\nRetry-After: Wed, 04 May 2022 17:07:00 GMT\r\n",
    ],
)
@pytest.mark.parametrize("status", ["429 Too Many Requests", "503 Service Unavailable"])
def test_a_receiver_asking_to_wait_longer_than_a_send_is_not_asked_again_at_once(
    headers: str, status: str
) -> None:
    """A throttled or down receiver that says when to come back (``Retry-After``, beyond the
    longest wait inside a send) is not sent the same alert again a second later, twice: the
    send ends after that one answer, naming the wait, and the alert stays queued for a later
    delivery."""
    with _answering(status, headers, "slow down") as (url, asked):
        sink = _sink(url)
        try:
            with pytest.raises(WebhookError, match=rf"HTTP {status[:3]}.*Retry-After 120 s"):
                sink.send(_alert())
        finally:
            sink.close()
    assert len(asked) == 1


def test_a_retry_after_within_a_send_is_waited_and_the_alert_sent(httpserver: HTTPServer) -> None:
    """A short ``Retry-After`` (0 s here: no timing in a test) is honoured inside the send,
    as are a malformed one and none at all (the send's own backoff)."""
    for retry_after in ("0", "soon", None):
        httpserver.clear()
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        httpserver.expect_ordered_request("/hook", method="POST").respond_with_data(
            "slow down", status=429, headers=headers
        )
        httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("ok")
        sink = _sink(httpserver.url_for("/hook"))
        try:
            sink.send(_alert())
        finally:
            sink.close()
        assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("status", "headers", "length"),
    [
        ("200 OK", "Content-Encoding: gzip\r\n", None),
        ("202 Accepted", "Content-Encoding: gzip\r\n", None),
        ("200 OK", "", 100),  # the connection closed 98 bytes short of its Content-Length
    ],
)
def test_an_alert_taken_with_a_garbled_body_is_delivered_once(
    tmp_path, status: str, headers: str, length: int | None
) -> None:
    """A receiver that takes the alert (2xx) but answers with a body that cannot be read (its
    Content-Encoding does not decode it, a proxy's gzip header on a plain body; or it ends
    short of its length): the alert was taken, so it leaves the outbox. It was kept queued as
    an outage (httpx's DecodingError; a RemoteProtocolError retried twice more at once) and
    sent again at every delivery, for the 7 days of retention."""
    clock = ManualClock(AT)
    state = SqliteAlertState(tmp_path / "g.sqlite", clock=clock)
    with _answering(status, headers, "ok", length) as (url, asked):
        sink = _sink(url)
        try:
            state.load()
            state.outbox(["webhook"]).send(_alert())
            state.save({})
            first = state.deliver([sink])
            again = state.deliver([sink])
        finally:
            sink.close()
            state.close()
    assert (first.sent, first.failed) == (1, [])
    assert (again.sent, again.failed) == (0, [])
    assert len(asked) == 1


@pytest.mark.parametrize(
    ("status", "retried"), [("503 Service Unavailable", True), ("404 Not Found", False)]
)
def test_a_refusal_with_a_garbled_body_is_told_as_its_status(status: str, retried: bool) -> None:
    """A non-2xx answer whose body does not decode is still read by its status (retried or
    not), in a WebhookError naming the receiver only, not httpx's DecodingError."""
    with _answering(status, "Content-Encoding: gzip\r\n", "busy") as (url, asked):
        sink = _sink(url)
        try:
            with pytest.raises(WebhookError, match=rf"answered HTTP {status[:3]}"):
                sink.send(_alert())
        finally:
            sink.close()
    assert len(asked) == (3 if retried else 1)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://hooks.example.com:99999/T0/SECRET", "port"),
        ("https://hooks.example.com/T0/SECRET\r", "space or control character"),  # a CRLF .env
        ("https://hooks.example.com/T0/SECRET\n", "space or control character"),
        ("https://hooks.example.com/T0/SECRET ", "space or control character"),
        ("https://hooks.exa mple.com/T0/SECRET", "space or control character"),
    ],
)
def test_a_url_no_request_can_be_sent_to_is_refused_at_the_start(url: str, words: str) -> None:
    """Taken as given, every send failed with a ValueError or httpx's InvalidURL (not a
    WebhookError) or a lookup of a host with a space, tick after tick, and the alerts were
    dropped after the 7 days of retention. Refused when the sink is made (`watch` says so in
    one line before it opens the store), never showing the secret."""
    with pytest.raises(ValueError, match=words) as refused:
        WebhookSink(url)
    assert "'https://hooks.exa" in str(refused.value) and "SECRET" not in str(refused.value)


def test_an_alert_with_a_number_json_has_not_goes_out_as_null_and_holds_up_no_other(
    httpserver: HTTPServer, tmp_path
) -> None:
    """Evidence is any number a rule found (an added ``AlertRule``'s, a forecast's band):
    NaN or infinity has no JSON form, and httpx refused to encode the body (ValueError), an
    outage to the outbox, so that alert and every one queued behind it stayed queued, tried
    again at every tick, until the retention dropped them all a week later. It goes out with
    null there, as strict JSON; the other alerts behind it go out too."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    odd = Condition(
        "custom",
        "São Paulo",
        "São Paulo: spread undefined",
        {"spread": float("nan"), "ratio": float("inf"), "low": float("-inf"), "n": 0},
    )
    clock = ManualClock(AT)
    state = SqliteAlertState(tmp_path / "n.sqlite", clock=clock)
    sink = _sink(httpserver.url_for("/hook"))
    try:
        state.load()
        outbox = state.outbox(["webhook"])
        outbox.send(Alert(AlertKind.FIRING, odd, AT, AT))
        outbox.send(_alert())
        state.save({})
        report = state.deliver([sink])
        again = state.deliver([sink])
    finally:
        sink.close()
        state.close()
    assert (report.sent, report.failed) == (2, [])
    assert again.sent == 0
    bodies = [r.get_json() for r, _ in httpserver.log]
    assert [b["subject"] for b in bodies] == ["São Paulo", "bcb"]
    assert bodies[0]["evidence"] == {"spread": None, "ratio": None, "low": None, "n": 0}


@pytest.mark.parametrize(
    ("status", "asked"),
    [(500, 3), (507, 3), (520, 3), (522, 3), (524, 3), (599, 3), (501, 1), (505, 1)],
)
def test_every_server_error_is_retried_but_one_saying_it_never_will(
    httpserver: HTTPServer, status: int, asked: int
) -> None:
    """docs/REALTIME.md says 5xx is retried: a CDN's 520 to 524 (the receiver behind it down or
    slow) or a 507 passes as a 503 does; 501 and 505 (no POST, not this HTTP version) answer
    the same however often asked, so one attempt, and the alert stays queued all the same."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("no", status=status)
    sink = _sink(httpserver.url_for("/hook"))
    try:
        with pytest.raises(WebhookError, match=f"HTTP {status}"):
            sink.send(_alert())
    finally:
        sink.close()
    assert len(httpserver.log) == asked


def test_an_alert_s_numbers_go_out_positional_and_a_hostile_subject_as_plain_text(
    httpserver: HTTPServer,
) -> None:
    """Synthetic edge cases: evidence numbers an added ``AlertRule`` may find (a tiny move, a
    huge volume) went out as ``1.2e-05`` and ``1e+16``, which the store, the CSVs and the
    dashboard never write (a receiver keeping them as text, or a spreadsheet, read another
    form than the published one); they go out positional. A subject holding quotes, a
    backslash, a line break, a control character and a line separator stays one JSON string."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hostile = 'FUEL#X"}, "kind": "CLEARED\\\n\x1b[2J\u2028'
    odd = Condition(
        "custom",
        hostile,
        f"{hostile} moved",
        {"move": 1.2e-05, "volume": 1e16, "price": 6.29, "neg": -0.00007, "n": 3},
    )
    sink = _sink(httpserver.url_for("/hook"))
    try:
        sink.send(Alert(AlertKind.FIRING, odd, AT, AT))
    finally:
        sink.close()
    ((request, _),) = httpserver.log
    text = request.get_data(as_text=True)
    assert "e-0" not in text and "e+" not in text
    assert '"move": 0.000012' in text and '"volume": 10000000000000000' in text
    assert '"neg": -0.00007' in text and '"price": 6.29' in text
    body = json.loads(text)
    assert (body["kind"], body["subject"]) == ("FIRING", hostile)
    assert body["evidence"] == {
        "move": 1.2e-05,
        "volume": 1e16,
        "price": 6.29,
        "neg": -0.00007,
        "n": 3,
    }
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_says_where_it_points_without_its_secret(
    httpserver: HTTPServer, status: int
) -> None:
    """A receiver that moved answered 3xx, and the alerts stayed queued behind "answered HTTP
    308 (not retried)": nothing said where to. Still not followed (the alert, its key and
    evidence, would go to a host nobody configured), tried once, but the error names the new
    place by scheme and host only (its path may hold the new secret)."""
    httpserver.expect_request("/old", method="POST").respond_with_data(
        "", status=status, headers={"Location": f"https://hooks.example.net/new/{SECRET}"}
    )
    sink = _sink(httpserver.url_for("/old"))
    try:
        with pytest.raises(WebhookError) as failed:
            sink.send(_alert())
    finally:
        sink.close()
    assert len(httpserver.log) == 1
    assert f"HTTP {status}, a redirect to https://hooks.example.net/…" in str(failed.value)
    assert "s3cr3t" not in str(failed.value)
