"""The dashboard's Athena calls end in time: an Athena endpoint that stops answering is a clear
502 well inside the dashboard_api function's 29 s, no API attempt (a retry after a backoff, a
poll, a results page) starts past a query's deadline, and throttling is retried a bounded number
of times by botocore's standard retry mode (not a loop of fuelpipe's own).

The endpoint that stops answering is a real TCP server that accepts connections and never
replies; throttling is Athena's TooManyRequestsException as the API sends it (HTTP 400, JSON
``__type``), answered on the client's ``before-send`` event, so botocore's own retry handler
reads it; everything else is moto_server.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, function_url_event, load_handler
from devtools.aws.servers import LocalServer, make_client
from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.lake.athena import AthenaQueries, AthenaQueryFailed
from fuelpipe.homes.lake import DASHBOARD_ATHENA_TIMEOUT_S, DASHBOARD_CALLS
from fuelpipe.homes.settings import Settings

pytestmark = pytest.mark.aws

FUNCTION_TIMEOUT_S = 29  # infra/template.yaml, DashboardApiFunction


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An HTTP endpoint that accepts every connection and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def within(seconds: float, call: Any) -> tuple[BaseException | None, Any]:
    """Run ``call`` in a thread, failing the test if it still waits after ``seconds`` (a hang,
    far past any bound under test): its error, its result."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return outcome.get("error"), outcome.get("result")


@pytest.fixture
def lake_bucket(moto_server: LocalServer) -> tuple[Any, str]:
    s3 = moto_server.client("s3")
    bucket = f"fuelpipe-lake-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="stations/product=LPG/month=2025-04/part-0.parquet", Body=b"")
    return s3, bucket


def test_a_silent_athena_endpoint_is_a_502_inside_the_function_timeout(
    aws_home: AwsHome,
    lake_bucket: tuple[Any, str],
    silent_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The composition root's own Athena client (its call bounds), pointed at the silent
    # endpoint; S3 (the lake's listing) is moto's.
    from fuelpipe.homes.lake import build_athena_stations

    s3, bucket = lake_bucket
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", silent_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    stations = build_athena_stations(
        Settings(backend="aws", lake_bucket=bucket), s3_client=s3, clock=SystemClock()
    )
    assert stations is not None
    handler = load_handler("dashboard_api").make_handler(
        lambda: aws_home.app(SystemClock()), lambda: stations
    )
    event = function_url_event("/api/stations/ranking", "fuel=LPG")

    # No wall time asserted (a loaded host stretches it): the answer names the query window's
    # deadline, and the bounds that keep the deadline plus one attempt in flight inside the
    # function's timeout are the settings' (the default bounds took 2 minutes).
    error, response = within(60, lambda: handler(event, FakeLambdaContext("dashboard_api")))
    assert error is None
    assert response["statusCode"] == 502, response
    assert json.loads(response["body"])["detail"].startswith(
        "the station query failed: athena query window"
    )
    budget = DASHBOARD_CALLS.connect_timeout_s + DASHBOARD_CALLS.read_timeout_s
    assert DASHBOARD_ATHENA_TIMEOUT_S + budget + 1 < FUNCTION_TIMEOUT_S


def test_no_attempt_starts_past_the_query_deadline(silent_endpoint: str) -> None:
    # With 3 attempts of 4 s each, botocore alone would wait 12 s; the deadline (1 s) refuses
    # the retry that would start after the first attempt timed out.
    client = make_client("athena", silent_endpoint, **DASHBOARD_CALLS.botocore())
    runner = AthenaQueries(client, "fuelpipe-stations", "fuelpipe", timeout_s=1.0)
    sent: list[float] = []  # (registered after the runner's hook: attempts it let through)
    client.meta.events.register("before-send.athena", lambda **_: sent.append(time.monotonic()))

    error, _ = within(30, lambda: runner.query("coverage", {}))
    assert isinstance(error, AthenaQueryFailed)
    assert str(error) == "athena query coverage: not started within 1 s"
    assert len(sent) == 1  # the retry was refused (what bounds the wait, not timed here)


class _Raw:
    """The body of a canned HTTP response, as botocore's AWSResponse reads it."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def throttled(times: int, operation: str) -> tuple[list[str], Any]:
    """A ``before-send`` hook answering ``operation``'s first ``times`` attempts with Athena's
    TooManyRequestsException (other attempts go to the server), and the attempts it saw."""
    from botocore.awsrequest import AWSResponse

    seen: list[str] = []

    def hook(request: Any, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        name = target.decode() if isinstance(target, bytes) else target
        if not name.endswith(f".{operation}"):
            return None
        seen.append(name)
        if len(seen) > times:
            return None
        body = {"__type": "TooManyRequestsException", "Message": "Rate exceeded",
                "Reason": "CONCURRENT_QUERY_LIMIT_EXCEEDED"}  # fmt: skip
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "r"}
        return AWSResponse(request.url, 400, headers, _Raw(json.dumps(body).encode()))

    return seen, hook


@pytest.fixture
def workgroup(moto_server: LocalServer, lake_bucket: tuple[Any, str]) -> str:
    name = f"fuelpipe-stations-{uuid.uuid4().hex[:6]}"
    moto_server.client("athena").create_work_group(
        Name=name,
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{lake_bucket[1]}/athena-results/"}
        },
    )
    return name


def test_throttling_is_retried_by_botocore_a_bounded_number_of_times(
    moto_server: LocalServer, workgroup: str
) -> None:
    client = moto_server.client("athena", **DASHBOARD_CALLS.botocore())
    runner = AthenaQueries(client, workgroup, "fuelpipe", poll_s=0.01)

    seen, hook = throttled(DASHBOARD_CALLS.attempts - 1, "StartQueryExecution")
    client.meta.events.register("before-send.athena", hook)
    runner.query("coverage", {})  # throttled twice, then started
    assert len(seen) == DASHBOARD_CALLS.attempts
    client.meta.events.unregister("before-send.athena", hook)

    seen, hook = throttled(99, "GetQueryExecution")
    client.meta.events.register("before-send.athena", hook)
    with pytest.raises(AthenaQueryFailed) as failed:
        runner.query("coverage", {})
    assert len(seen) == DASHBOARD_CALLS.attempts  # then given up, with the service's reason
    assert str(failed.value).endswith(": TooManyRequestsException: Rate exceeded")
    assert failed.value.public.endswith(": TooManyRequestsException")


def test_a_stop_that_fails_leaves_the_timeout_the_error(
    moto_server: LocalServer, workgroup: str
) -> None:
    # A query still QUEUED at its deadline whose StopQueryExecution is refused: the error
    # says the query timed out (and was not stopped), not the stop's refusal alone.
    import httpx

    client = moto_server.client("athena")
    refused: list[str] = []

    def refuse_stop(**_: Any) -> None:
        refused.append("stop")
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
            "StopQueryExecution",
        )

    client.meta.events.register("before-call.athena.StopQueryExecution", refuse_stop)
    transition = f"{moto_server.url}/moto-api/state-manager"
    model = {"model_name": "athena::execution"}
    manual = {**model, "transition": {"progression": "manual", "times": 1000}}
    assert httpx.post(f"{transition}/set-transition", json=manual, timeout=10).is_success
    clock = [0.0]
    runner = AthenaQueries(
        client, workgroup, "fuelpipe", timeout_s=1.0, poll_s=0.5,
        sleep=lambda s: clock.__setitem__(0, clock[0] + s), monotonic=lambda: clock[0],
    )  # fmt: skip
    try:
        with pytest.raises(AthenaQueryFailed) as failed:
            runner.query("coverage", {})
    finally:
        assert httpx.post(f"{transition}/unset-transition", json=model, timeout=10).is_success
    assert refused == ["stop"]
    assert str(failed.value).endswith("still QUEUED after 1 s, not stopped (AccessDeniedException)")
