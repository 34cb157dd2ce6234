"""The dashboard_api Lambda handler: Function URL events through Mangum to the same app."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, function_url_event, load_handler
from tests.dashboard.conftest import NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.stages.context import StageContext


@pytest.fixture(scope="module")
def invoke(real_store: SqliteStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The real handler module, wired to the real-data store instead of DynamoDB."""
    queue_path: Path = tmp_path_factory.mktemp("lambda") / "q.sqlite"
    clock = FixedClock(NOW)
    queue = SqliteQueue(queue_path, clock=clock, visibility_timeout=timedelta(seconds=30))
    app = StageContext(
        catalog=DEFAULT_CATALOG,
        store=real_store,
        queue=queue,
        sources={},
        clock=clock,
        policy=RetryPolicy(max_retries=5, base_delay=timedelta(hours=1), factor=2.0),
    )
    handler = load_handler("dashboard_api").make_handler(lambda: app)

    def call(
        path: str, query: str = "", headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        response: dict[str, Any] = handler(
            function_url_event(path, query, headers), FakeLambdaContext("dashboard_api")
        )
        return response

    yield call
    queue.close()


def test_api_through_a_function_url_event(invoke: Any) -> None:
    response = invoke("/api/overview")
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert {i["key"] for i in body["items"]} >= {"FUEL#GASOLINE#BR", "CURRENCY#USD"}
    assert "script-src 'self'" in response["headers"]["content-security-policy"]


def test_query_strings_and_errors_pass_through(invoke: Any) -> None:
    ok = invoke("/api/series", "key=FUEL%23GASOLINE%23BR&start=2022-05-01")
    assert json.loads(ok["body"])["points"] == [{"date": "2022-05-01", "value": 7.295}]
    bad = invoke("/api/lags", "fuel=KEROSENE")
    assert bad["statusCode"] == 422
    assert "unknown fuel" in json.loads(bad["body"])["detail"]


def test_health_reads_the_queue_dead_letters(invoke: Any) -> None:
    body = json.loads(invoke("/api/health")["body"])
    assert body["dead_letters"] == 0  # the queue is given: its dead-letter count is shown


def test_page_and_gzipped_plotly(invoke: Any) -> None:
    page = invoke("/")
    assert page["statusCode"] == 200
    src = re.search(r'<script id="plotly-js" src="([^"]+)" async>', page["body"])
    assert src is not None
    assert src.group(1).startswith("/static/plotly-partial.min.js?h=")
    plotly = invoke("/static/plotly-partial.min.js", headers={"accept-encoding": "gzip"})
    assert plotly["isBase64Encoded"] is True
    raw = gzip.decompress(base64.b64decode(plotly["body"]))
    assert raw.startswith(b"/** plotly.js v")
    # A Function URL answer must stay under Lambda's 6 MB response limit.
    assert len(plotly["body"]) < 6_000_000
