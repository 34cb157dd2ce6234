"""The AWS home's Lambdas in one process, for the AWS crash tests (tests/e2e/test_crash_aws.py).

``python -m devtools.chaos.lambda_run PLAN`` runs the real handlers of
``lambdas/data_clustering``, ``lambdas/retry_recheck`` and ``lambdas/scraper`` against the
table and queues the ``FUELPIPE_*`` environment names, on the endpoints boto3 reads from
``AWS_ENDPOINT_URL_DYNAMODB`` and ``AWS_ENDPOINT_URL_SQS`` (the test session's dynalite and
moto_server), as EventBridge and the SQS event source mapping invoke them. PLAN is JSON::

    {"series": [...], "since": "2021-05-19", "batch_size": 1,
     "steps": [{"now": "2022-05-07T23:59", "do": ["orchestrate", "feed"]}, ...]}

Each step sets the business clock to ``now``, then does its actions in order:
``orchestrate`` (a scheduled event for the orchestrator), ``recheck`` (one for the retry
recheck) and ``feed``: the event source mapping, which receives up to ``batch_size``
messages, invokes the scraper with them, deletes those not reported failed and leaves the
failed ones hidden until their visibility timeout, until the queue holds nothing visible and
nothing in flight. A message a killed process held comes back after its visibility timeout,
and ``feed`` waits for it (bounded: :data:`FEED_LIMIT_S`).

Every handler gets the same context, built by the AWS home's composition root
(``homes.aws.build_context``), so the failpoints of ``FUELPIPE_FAILPOINTS`` count their hits
over the whole process, as a `fuelpipe run`'s do: the scraper reaches the ``scrape.*`` points,
the recheck the ``recheck.*`` ones, and ``feed`` itself ``drain.before_delete`` (the handler
returned; its messages are not deleted yet) and ``drain.after_delete``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from devtools.aws.lambda_events import (
    FakeLambdaContext,
    failed_ids,
    load_handler,
    map_event_source,
    scheduled_event,
    sqs_event,
)
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.homes.aws import build_context, share_rests
from fuelpipe.homes.settings import Settings, parse_now
from fuelpipe.ports.queue import Message
from fuelpipe.stages.context import StageContext

FEED_LIMIT_S = 120.0
"""How long ``feed`` waits for the queue to empty (messages in flight come back after their
visibility timeout): past it the run fails, naming what is left."""
POLL_S = 0.1


def feed(app: StageContext, queue_name: str, batch_size: int) -> int:
    """The SQS event source mapping: invoke the scraper handler with the queue's messages
    until nothing is visible or in flight; how many messages it deleted."""
    module = load_handler("scraper")
    handler = module.make_handler(lambda: app)

    def invoke(messages: list[Message]) -> set[str]:
        try:
            response = handler(sqs_event(messages, queue_name), FakeLambdaContext("scraper"))
            return set(failed_ids(response))
        except module.BatchFailed:  # every message failed: the batch comes back whole
            return {m.message_id for m in messages}

    return map_event_source(
        app.queue,
        invoke,
        batch_size,
        poll_s=POLL_S,
        limit_s=FEED_LIMIT_S,
        before_delete=lambda: app.failpoints.hit("drain.before_delete"),
        after_delete=lambda: app.failpoints.hit("drain.after_delete"),
    )


def run(plan: Mapping[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Do the plan's steps; what each handler returned (a feed: the messages it deleted)."""
    steps = plan["steps"]
    clock = ManualClock(parse_now(steps[0]["now"]))
    app = share_rests(build_context(settings, clock=clock))
    detail = {"series": plan["series"], "since": plan["since"]}
    scheduled: dict[str, Callable[[dict[str, Any], Any], Any]] = {
        "orchestrate": load_handler("data_clustering").make_handler(lambda: app),
        "recheck": load_handler("retry_recheck").make_handler(lambda: app),
    }
    results: list[dict[str, Any]] = []
    try:
        for step in steps:
            clock.set(parse_now(step["now"]))
            for action in step["do"]:
                if action == "feed":
                    deleted = feed(app, settings.queue_name, int(plan.get("batch_size", 1)))
                    results.append({"feed": deleted})
                elif action in scheduled:
                    event = scheduled_event(detail, scheduler=True)
                    results.append(scheduled[action](event, FakeLambdaContext(action)))
                else:
                    raise ValueError(f"unknown action {action!r}: orchestrate, recheck or feed")
    finally:
        app.close()
    return results


def main(argv: list[str]) -> int:
    """Run the plan given as the one argument; print each handler's result as a JSON line."""
    if len(argv) != 1:
        print("usage: python -m devtools.chaos.lambda_run PLAN_JSON", file=sys.stderr)
        return 2
    for result in run(json.loads(argv[0]), Settings()):
        print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
