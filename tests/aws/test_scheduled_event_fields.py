"""The scheduled functions read their switches (``detail.mode``, ``detail.due_only``,
``detail.force``) from the same checked event as ``detail.series`` and ``detail.since``: an
odd value is refused naming the field, never read by its truth.

``bool("false")`` is True, so ``{"force": "false"}`` forced the outlook's refresh and
``{"due_only": "false"}`` ran the orchestrator's due-only scan; ``{"mode": "revize"}`` (a typo)
ran the full gap scan of the catalog instead of the revision re-reads; and the outlook, which
did not parse its event, failed a ``detail`` that is no object with ``AttributeError: 'str'
object has no attribute 'get'``, a traceback naming neither the event nor the field.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, load_handler, scheduled_event
from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.aws import schedule_options
from fuelpipe.ports.queue import QueueDepth
from fuelpipe.stages.outlook import OUTLOOK_VERSION

pytestmark = pytest.mark.aws

NOW = datetime(2025, 3, 31, 20, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
REFUSED = "not a scheduled event fuelpipe understands: "


@pytest.mark.filterwarnings("ignore:No application metrics")
@pytest.mark.parametrize(
    ("detail", "named"),
    [
        ({"due_only": "false"}, "detail.due_only"),
        ({"due_only": 1}, "detail.due_only"),
        ({"mode": "revize"}, "detail.mode"),
        ({"mode": True}, "detail.mode"),
        ({"due_only": True, "last_poll": "24:00"}, "detail.last_poll"),
        ({"due_only": True, "last_poll": "1:55"}, "detail.last_poll"),
        ({"due_only": True, "last_poll": 1355}, "detail.last_poll"),
    ],
)
def test_data_clustering_refuses_an_odd_switch_naming_it_and_sends_nothing(
    aws_home: AwsHome, detail: dict[str, Any], named: str
) -> None:
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler("data_clustering").make_handler(lambda: app)
    event = scheduled_event({"series": ["CURRENCY#USD"], "since": "2025-03-01", **detail})

    with pytest.raises(ValueError, match=f"^{REFUSED}{named}: "):
        handler(event, FakeLambdaContext("data_clustering"))

    assert app.queue.depth() == QueueDepth(0, 0, 0)
    assert app.store.last_runs() == []


@pytest.mark.filterwarnings("ignore:No application metrics")
@pytest.mark.parametrize(
    ("detail", "named"),
    [
        ({"force": "false"}, "detail.force"),
        ({"force": "yes"}, "detail.force"),
        ("force", "detail"),
        (["force"], "detail"),
    ],
)
def test_outlook_refuses_an_odd_detail_naming_it_and_refreshes_nothing(
    aws_home: AwsHome, detail: Any, named: str
) -> None:
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler("outlook").make_handler(lambda: app)
    event = scheduled_event(scheduler=True)
    event["detail"] = detail

    with pytest.raises(ValueError, match=f"^{REFUSED}{named}: "):
        handler(event, FakeLambdaContext("outlook"))

    assert app.store.get_meta(OUTLOOK_VERSION) is None  # no refresh ran: none remembered


def test_the_template_switches_are_read_as_given() -> None:
    """What infra/template.yaml's Inputs send: JSON booleans, and ``"revise"``."""
    read = [
        schedule_options(scheduled_event(detail, scheduler=True), DEFAULT_CATALOG)
        for detail in ({}, {"due_only": True}, {"force": True}, {"mode": "revise"})
    ]
    assert [(o.due_only, o.force, o.mode) for o in read] == [
        (False, False, None),
        (True, False, None),
        (False, True, None),
        (False, False, "revise"),
    ]
    window = schedule_options(
        scheduled_event({"due_only": True, "last_poll": "13:55"}, scheduler=True), DEFAULT_CATALOG
    )
    assert window.last_poll == time(13, 55)
    # On the São Paulo day of the poll, whatever the zone ``now`` is told in.
    assert window.last_poll_at(datetime(2025, 3, 31, 16, 5, tzinfo=UTC)) == datetime(
        2025, 3, 31, 13, 55, tzinfo=ZoneInfo("America/Sao_Paulo")
    )
    assert read[1].last_poll_at(NOW) is None  # no last poll named: none known


# An EventBridge event of another rule (the documented EC2 and S3 examples), routed to a
# scheduled function by mistake: its detail's own fields were ignored and it ran as a
# scheduled run of every series (the S3 one, naming detail.series, as one of CURRENCY).
EC2_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-abcd1111", "state": "pending"},
}
S3_EVENT = {
    **EC2_EVENT,
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {"bucket": {"name": "lake"}, "series": ["CURRENCY"]},
}


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (EC2_EVENT, "source: Input should be 'aws.scheduler' or 'aws.events'; detail-type: "),
        (S3_EVENT, "source: Input should be 'aws.scheduler' or 'aws.events'; detail-type: "),
        ({**scheduled_event(), "detail-type": "Object Created"}, "detail-type: "),
        (None, "the event is null, not a JSON object"),
        ([], "the event is a JSON array, not a JSON object"),
        ("ping", "the event is a JSON string, not a JSON object"),
    ],
    ids=["ec2", "s3", "detail-type", "null", "array", "string"],
)
def test_an_event_of_another_rule_or_no_object_is_refused_naming_what_is_wrong(
    event: Any, named: str
) -> None:
    with pytest.raises(ValueError, match=f"^{REFUSED}") as refused:
        schedule_options(event, DEFAULT_CATALOG)
    assert named in str(refused.value)


@pytest.mark.filterwarnings("ignore:No application metrics")
@pytest.mark.parametrize(
    ("event", "named"),
    [
        (S3_EVENT, "source"),
        (scheduled_event({"series": "CURRENCY"}, scheduler=True), "detail.series"),
        (scheduled_event({"since": 20250301}), "detail.since"),
    ],
    ids=["another-rule", "series-not-a-list", "since-not-a-string"],
)
@pytest.mark.parametrize("name", ["data_clustering", "retry_recheck", "intraday", "outlook"])
def test_each_scheduled_function_refuses_a_bad_event_naming_the_field_and_does_nothing(
    aws_home: AwsHome, name: str, event: dict[str, Any], named: str
) -> None:
    app = aws_home.app(FixedClock(NOW))
    handler = load_handler(name).make_handler(lambda: app)

    with pytest.raises(ValueError, match=f"^{REFUSED}{named}: "):
        handler(event, FakeLambdaContext(name))

    assert app.queue.depth() == QueueDepth(0, 0, 0)
    assert app.store.last_runs() == []
    assert app.store.get_meta(OUTLOOK_VERSION) is None
