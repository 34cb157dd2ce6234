"""AWS-side faults: DynamoDB throttling, SQS duplicates, a worker that dies
mid-batch. Each run ends with the same store as a clean run: nothing lost or duplicated, and no
retry counted twice (every quarantined record has exactly five re-downloads).
"""

from __future__ import annotations

import pytest
from devtools.chaos.aws_faults import (
    THROTTLE_CODES,
    WRITE_STORM,
    DynamoFaults,
    LambdaCycle,
    SqsDuplicates,
    SqsOutage,
    StopFirstBatch,
)
from devtools.chaos.harness import (
    FAST_SERIES,
    absent_problems,
    aws_home,
    compare,
    embedded_home,
    fault_spec,
    run_to_quiet,
)
from tests.support.convergence import assert_same_as_clean

from fuelpipe.stages.context import StageContext

SHORT_VISIBILITY = {"visibility_timeout_s": 2}


@pytest.mark.aws
def test_throttled_writes_lose_nothing(dynalite_server, moto_server, run_dir, clean_fast):
    dynamodb = dynalite_server.client("dynamodb")
    # botocore sleeps between its own retries (standard mode): a low random rate, plus one
    # storm of throttled PutItem sends (the scraper's conditional writes) that outlasts them
    # (WRITE_STORM). BatchWriteItem's UnprocessedItems, which put_records and the intraday
    # store's put_points meet, are covered by tests/aws/test_dynamodb_store_aws.py and
    # tests/aws/test_intraday_store_aws.py.
    faults = DynamoFaults(dynamodb, seed=5, throttle=0.02, storm=WRITE_STORM)
    faults.active = False
    dead: list[int] = []

    def start(app: StageContext) -> None:
        faults.active = True

    def stop(app: StageContext) -> None:
        faults.active = False
        dead.append(len(app.queue.dead_letters()))

    cycle = LambdaCycle()
    run = run_to_quiet(
        aws_home(dynamodb, moto_server.client("sqs")),
        run_dir,
        FAST_SERIES,
        settings=SHORT_VISIBILITY,
        prepare=start,
        finish=stop,
        drive=cycle,
    )
    assert_same_as_clean(clean_fast, run)
    assert dead == [0]
    # throttling happened, and outlasted botocore's own retries at least once
    assert sum(faults.counts[c] for c in THROTTLE_CODES) >= 4
    assert cycle.failed_items > 0  # the storm reached the handler: its message came back


@pytest.mark.aws
def test_sqs_delivering_every_message_twice_changes_nothing(
    dynalite_server, moto_server, run_dir, clean_fast
):
    sqs = moto_server.client("sqs")
    duplicates = SqsDuplicates(sqs, moto_server.client("sqs"), seed=9, resend=1.0, redeliver=0.5)
    run = run_to_quiet(
        aws_home(dynalite_server.client("dynamodb"), sqs),
        run_dir,
        FAST_SERIES,
        settings=SHORT_VISIBILITY,
        drive=LambdaCycle(),
    )
    assert_same_as_clean(clean_fast, run)
    assert duplicates.counts["sent_twice"] == len(run.queue.sent)
    assert duplicates.counts["delivered_twice"] > 0
    # every copy was processed: more fetches than messages, yet not one retry counted twice
    assert run.bound is not None and run.bound.fetches > len(run.queue.sent)


@pytest.mark.aws
def test_a_recheck_throttled_between_two_claims_still_sends_the_first(
    dynalite_server, moto_server, run_dir, clean_fast
):
    # Only the never-served dates fail: each recheck claims one re-download per such date.
    # In the third cycle, the second claim's UpdateItem is throttled past botocore's retries,
    # so the recheck invocation fails after one claim was made (and is retried, as EventBridge
    # does). A claim whose message is never sent would spend a re-download that never happens.
    dynamodb = dynalite_server.client("dynamodb")
    faults = DynamoFaults(dynamodb, seed=1)

    def storm(cycle: int) -> None:
        if cycle == 2:
            faults.arm("UpdateItem", skip=1, length=6)

    cycle = LambdaCycle(before_recheck=storm)
    run = run_to_quiet(
        aws_home(dynamodb, moto_server.client("sqs")),
        run_dir,
        FAST_SERIES,
        fault_spec("", absent=True),
        settings=SHORT_VISIBILITY,
        drive=cycle,
    )
    assert sum(faults.counts[c] for c in THROTTLE_CODES) == 6
    assert cycle.failed_schedules == 1  # the recheck invocation failed once, mid-claims
    diff = compare(clean_fast, run)
    assert diff.identical_outside_absent
    assert diff.absent and absent_problems(run, diff.absent, 5) == []


@pytest.mark.aws
def test_a_recheck_whose_sqs_send_fails_gives_its_claims_back(
    dynalite_server, moto_server, run_dir, clean_fast
):
    # In the second cycle SQS cannot be reached by the recheck's send (every attempt), after
    # its claims were made: the invocation fails and is retried, as EventBridge does. A claim
    # left spent by the failed send would be a re-download never made, and a never-served
    # date quarantined after four real ones.
    sqs = moto_server.client("sqs")
    outage = SqsOutage(sqs)

    def down(cycle: int) -> None:
        if cycle == 1:
            outage.fail_next_call()

    cycle = LambdaCycle(before_recheck=down)
    run = run_to_quiet(
        aws_home(dynalite_server.client("dynamodb"), sqs),
        run_dir,
        FAST_SERIES,
        fault_spec("", absent=True),
        settings=SHORT_VISIBILITY,
        drive=cycle,
    )
    assert outage.refused == outage.attempts
    assert cycle.failed_schedules == 1  # the recheck invocation whose send failed
    diff = compare(clean_fast, run)
    assert diff.identical_outside_absent
    assert diff.absent and absent_problems(run, diff.absent, 5) == []


@pytest.mark.parametrize("where", ["embedded", pytest.param("aws", marks=pytest.mark.aws)])
def test_a_worker_stopped_mid_batch_loses_nothing(request, where, run_dir, clean_fast):
    if where == "aws":
        servers = request.getfixturevalue("dynalite_server"), request.getfixturevalue("moto_server")
        home = aws_home(servers[0].client("dynamodb"), servers[1].client("sqs"))
    else:
        home = embedded_home()
    driver = StopFirstBatch()
    run = run_to_quiet(home, run_dir, FAST_SERIES, settings=SHORT_VISIBILITY, drive=driver)
    assert driver.stopped == {"received": 4, "deleted": 2, "abandoned": 2}
    assert_same_as_clean(clean_fast, run)
    # at-least-once, exactly: only the message the worker died on was fetched twice
    assert run.bound is not None and run.bound.violations() == []
    assert run.bound.redelivered == 1


@pytest.mark.aws
def test_a_batch_whose_every_message_fails_comes_back_whole(
    dynalite_server, moto_server, run_dir, clean_fast
):
    # One message a batch and a storm of throttled writes that outlasts botocore's retries:
    # a batch whose only message fails makes the scraper handler raise its BatchFailed (every
    # message failed), as Lambda sees it; the driver gives the whole batch back and the run
    # ends as the clean one.
    dynamodb = dynalite_server.client("dynamodb")
    faults = DynamoFaults(dynamodb, seed=5, storm=WRITE_STORM)
    cycle = LambdaCycle(batch_size=1)
    run = run_to_quiet(
        aws_home(dynamodb, moto_server.client("sqs")),
        run_dir,
        FAST_SERIES,
        settings=SHORT_VISIBILITY,
        drive=cycle,
    )
    assert sum(faults.counts[c] for c in THROTTLE_CODES) > 0
    assert cycle.failed_items > 0
    assert_same_as_clean(clean_fast, run)
