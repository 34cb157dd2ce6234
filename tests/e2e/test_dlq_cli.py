"""`fuelpipe dlq list / redrive / purge` on the AWS home when SQS returns fewer dead letters than
the DLQ counts: each prints what it did, warns how many it could not reach, and exits 1 (the
command ran but could not do all it was asked), never a failure line with exit 2."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from devtools.aws.lambda_events import deliver_until_gone, load_handler
from devtools.aws.servers import LocalServer
from tests.e2e.conftest import fuelpipe
from tests.support.aws_backends import aws_cli_env, aws_home, unique_name
from tests.support.dlq_reader import DlqReaderProxy
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import build_context, create_resources
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.context import StageContext

pytestmark = pytest.mark.aws

BODIES = ['{"bad": 1}', '{"bad": 2}', '{"bad": 3}']


@pytest.fixture
def home(moto_server: LocalServer) -> Iterator[tuple[str, StageContext]]:
    """A fresh table and queue pair on moto_server, with three dead letters."""
    name, context = aws_home(moto_server, "dlq")
    context.queue.send(BODIES)
    for message in context.queue.receive(10):
        context.queue.dead_letter(message, "malformed message")
    yield name, context
    context.close()


def short_of_one(
    moto_server: LocalServer, name: str, *args: str, at_count: int = 1
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`fuelpipe *args` with another reader taking one dead letter right after the DLQ's
    ``at_count``-th count (given back after); the run and the body taken."""
    with DlqReaderProxy(moto_server, name + "-dlq", at_count=at_count) as proxy:
        env = {**aws_cli_env(name, moto_server, moto_server), "AWS_ENDPOINT_URL_SQS": proxy.url}
        out = fuelpipe(*args, env=env, check=False)
        proxy.give_back()
    (taken,) = proxy.taken
    return out, taken["Body"]


def test_dlq_list_short_of_the_count_prints_what_it_read_warns_and_exits_1(
    moto_server: LocalServer, home: tuple[str, StageContext]
) -> None:
    name, context = home
    out, taken = short_of_one(moto_server, name, "dlq", "list")
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert "2 of 3 dead letters (incomplete)" in out.stdout
    for body in set(BODIES) - {taken}:
        assert body in out.stdout
    assert taken not in out.stdout
    warning = " ".join(out.stderr.split())
    assert warning.startswith(
        "warning: this list may be incomplete: read 2 of the 3 dead letter(s) the DLQ counts"
    )
    assert "run `fuelpipe dlq list` again" in warning

    as_json, _ = short_of_one(moto_server, name, "dlq", "list", "--json")
    assert as_json.returncode == 1
    assert len(json.loads(as_json.stdout)) == 2  # stdout stays JSON; the warning is on stderr
    assert "read 2 of the 3" in as_json.stderr

    whole = fuelpipe("dlq", "list", "--json", env=aws_cli_env(name, moto_server, moto_server))
    assert sorted(d["body"] for d in json.loads(whole.stdout)) == BODIES
    assert whole.stderr == ""


def test_dlq_redrive_short_of_the_count_moves_what_it_got_says_what_remains_and_exits_1(
    moto_server: LocalServer, home: tuple[str, StageContext]
) -> None:
    name, context = home
    out, taken = short_of_one(moto_server, name, "dlq", "redrive")
    assert out.returncode == 1, out.stderr
    assert "moved 2 message(s) back to the queue" in out.stdout
    warning = " ".join(out.stderr.split())
    assert warning.startswith(
        "warning: 1 of the 3 dead letter(s) the DLQ counted were not returned this time and "
        "are still dead-lettered"
    )
    assert "run `fuelpipe dlq redrive` again" in warning
    assert sorted(m.body for m in context.queue.receive(10)) == sorted(set(BODIES) - {taken})
    assert [d.body for d in context.queue.dead_letters()] == [taken]


def test_dlq_purge_short_of_the_count_says_what_remains_and_exits_1(
    moto_server: LocalServer, home: tuple[str, StageContext]
) -> None:
    name, context = home
    # The first count is purge's question (how many would go); the second is the purge's own.
    out, taken = short_of_one(moto_server, name, "dlq", "purge", "--yes", at_count=2)
    assert out.returncode == 1, out.stderr
    assert "purged 2 dead letter(s)" in out.stdout
    assert "run `fuelpipe dlq purge --yes` again" in " ".join(out.stderr.split())
    assert [d.body for d in context.queue.dead_letters()] == [taken]


def test_dlq_purge_whose_read_comes_back_short_purges_those_read_and_keeps_the_rest(
    moto_server: LocalServer, home: tuple[str, StageContext]
) -> None:
    """Another reader holds one dead letter when purge reads them (its first count): it
    deletes the two it read, keeps the one nobody saw, and says so with exit 1."""
    name, context = home
    out, taken = short_of_one(moto_server, name, "dlq", "purge", "--yes", at_count=1)
    assert out.returncode == 1, out.stderr
    assert "purged 2 dead letter(s)" in out.stdout
    warning = " ".join(out.stderr.split())
    assert warning.startswith("warning: read 2 of the 3 dead letter(s) the DLQ counts")
    assert "only those read can be purged now" in warning
    assert "the dead letters not read are kept; run `fuelpipe dlq purge --yes` again" in warning
    assert [d.body for d in context.queue.dead_letters()] == [taken]


def test_dlq_redrive_whose_send_fails_part_way_says_how_many_moved_and_remain_and_exits_1(
    moto_server: LocalServer, home: tuple[str, StageContext]
) -> None:
    """13 dead letters, two batches; SQS refuses the second batch's send. The first ten are
    moved: it printed "failed: ClientError: ..." and exited 2 (bad input), saying neither."""
    name, context = home
    more = [f'{{"bad": {i}}}' for i in range(4, 14)]
    context.queue.send(more)
    for message in context.queue.receive(10):
        context.queue.dead_letter(message, "malformed message")
    bodies = sorted([*BODIES, *more])
    assert len(context.queue.dead_letters()) == 13
    with DlqReaderProxy(moto_server, name + "-dlq", take=0, sends_before_refusal=1) as proxy:
        env = {**aws_cli_env(name, moto_server, moto_server), "AWS_ENDPOINT_URL_SQS": proxy.url}
        out = fuelpipe("dlq", "redrive", env=env, check=False)

    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and "failed:" not in out.stderr
    assert "moved 10 message(s) back to the queue" in out.stdout
    warning = " ".join(out.stderr.split())
    assert warning.startswith("warning: stopped part-way: ClientError: An error occurred "
                              "(AccessDeniedException)")  # fmt: skip
    assert "3 of the 13 dead letter(s) the DLQ counted are still dead-lettered" in warning
    assert "run `fuelpipe dlq redrive` again" in warning
    moved = [m.body for m in context.queue.receive(10)]
    left = [d.body for d in context.queue.dead_letters()]
    assert (len(moved), len(left)) == (10, 3)
    assert sorted(moved + left) == bodies


def test_dlq_list_names_the_error_a_message_failed_with_on_its_last_delivery(
    moto_server: LocalServer,
) -> None:
    """A download the scraper Lambda fails on every delivery (DynamoDB refuses its values):
    on the AWS home `fuelpipe dlq list` names that error, as it does on the embedded home, not
    only that the message was received 5 times."""
    name = unique_name("last")
    cfg = Settings(backend="aws", table_name=name, queue_name=name, dlq_name=name + "-dlq")
    dynamodb, sqs = moto_server.client("dynamodb"), moto_server.client("sqs")
    create_resources(cfg, dynamodb_client=dynamodb, sqs_client=sqs, poll_s=0.05)
    days = list(expected_between(get_calendar("ANBIMA"), date(2025, 3, 1), date(2025, 3, 31)))
    values = {("CURRENCY#EUR", d): Decimal("6.2") for d in days}
    context = build_context(
        cfg,
        clock=FixedClock(datetime(2025, 3, 31, 23, 0, tzinfo=UTC)),
        sources={"bcb": TableSource("bcb", values)},
        dynamodb_client=dynamodb,
        sqs_client=sqs,
    )

    def throttle(params: dict[str, Any], **_: Any) -> None:  # the values' writes, not the run's
        if '{"S": "CURRENCY#EUR"}' in json.dumps(params):
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}
            raise ClientError({"Error": error}, "TransactWriteItems")

    for write in ("PutItem", "BatchWriteItem", "TransactWriteItems"):
        dynamodb.meta.events.register(f"before-parameter-build.dynamodb.{write}", throttle)
    fetch_unit = DEFAULT_CATALOG["CURRENCY#EUR"].fetch_unit
    body = DownloadRequest(
        partition_key="CURRENCY#EUR", dates_to_download=days, fetch_unit=fetch_unit
    ).to_body()
    context.queue.send([body])
    try:
        scraper = load_handler("scraper").make_handler(lambda: context)
        assert deliver_until_gone(context.queue, scraper) == cfg.max_receives
    finally:
        context.close()

    out = fuelpipe("dlq", "list", "--json", env=aws_cli_env(name, moto_server, moto_server))
    (dead,) = json.loads(out.stdout)
    assert dead["body"] == body
    assert dead["receive_count"] == cfg.max_receives
    assert dead["reason"].startswith("received 5 times without being processed; the last time: ")
    assert "ProvisionedThroughputExceededException" in dead["reason"]


def test_dlq_list_and_purge_settled_on_sqs_and_dynamodb(
    moto_server: LocalServer, home: tuple[str, StageContext]
) -> None:
    """On the AWS home a gap whose dates were stored since (DynamoDB) is listed settled beside
    the three malformed dead letters, and `dlq purge --settled --yes` deletes it alone."""
    name, context = home
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    days = [date(2022, 5, 2), date(2022, 5, 3)]
    body = DownloadRequest(
        partition_key=usd.key, dates_to_download=days, fetch_unit=usd.fetch_unit
    ).to_body()
    context.store.put_records(
        [Record(usd.key, d, Decimal("5.1"), Status.OK, updated_at=datetime.now(UTC)) for d in days]
    )
    context.queue.send([body])
    (message,) = context.queue.receive(1)
    context.queue.dead_letter(message, "received 5 times without being processed")
    env = aws_cli_env(name, moto_server, moto_server)

    listed = fuelpipe("dlq", "list", "--json", env=env)
    settled = {d["body"]: d["settled"] for d in json.loads(listed.stdout)}
    assert settled == {body: True, **dict.fromkeys(BODIES, False)}
    assert "1 settled dead letter(s)" in listed.stderr

    done = fuelpipe("dlq", "purge", "--settled", "--yes", env=env)
    assert "purged 1 settled dead letter(s)" in done.stdout
    assert f"removing dead letter {message.message_id}" in " ".join(done.stderr.split())
    assert sorted(d.body for d in context.queue.dead_letters()) == BODIES
