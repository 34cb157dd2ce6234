"""The dashboard Lambda answers Function URL requests only: any other event is refused, naming
what it lacks, before the app (FastAPI, numpy, the table's clients) is built.

Before, every event built the app first, then Mangum failed with "The adapter was unable to
infer a handler to use for the event. This is likely related to how the Lambda function was
invoked. (Are you testing locally? ...)", naming nothing of the event.
"""

from __future__ import annotations

from typing import Any

import pytest
from devtools.aws.lambda_events import (
    FakeLambdaContext,
    function_url_event,
    load_handler,
    scheduled_event,
)

from fuelpipe.stages.context import StageContext

REFUSED = "not a Function URL request: "


def _url_event_without_http() -> dict[str, Any]:
    event = function_url_event("/api/health")
    del event["requestContext"]["http"]
    return event


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (scheduled_event(), "no requestContext.http.method"),
        ({"Records": []}, "no requestContext.http.method"),
        (_url_event_without_http(), "no requestContext.http.method"),
        (None, "the event is null, not a JSON object"),
        (["GET", "/"], "the event is a JSON array, not a JSON object"),
    ],
    ids=["scheduled", "sqs", "no-http", "null", "array"],
)
def test_an_event_that_is_no_http_request_is_refused_before_the_app_is_built(
    event: Any, named: str
) -> None:
    built: list[int] = []

    def context() -> StageContext:
        built.append(1)
        raise AssertionError("the app was built for an event it cannot answer")

    handler = load_handler("dashboard_api").make_handler(context)
    with pytest.raises(ValueError, match=f"^{REFUSED}") as refused:
        handler(event, FakeLambdaContext("dashboard_api"))
    assert named in str(refused.value)
    assert built == []
