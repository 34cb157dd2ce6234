"""kill -9 of the AWS home's Lambdas mid-work: the messages come back, nothing lost or doubled.

The real handlers (orchestrator, scraper, retry recheck) run in a child process against the
test session's dynalite (the table) and moto_server (the queue and its DLQ), as EventBridge
and the SQS event source mapping invoke them (devtools/chaos/lambda_run.py). A failpoint
(fuelpipe/failpoints.py, FUELPIPE_FAILPOINTS, as in test_crash.py) kills that process at a
precise point: in a batch after some of its messages' conditional writes, after the handler
returned and before its messages are deleted, between a recheck's claims and their send.
What it held comes back after the test queue's short visibility timeout and a fresh process
finishes: every (key, date) is stored once with the source's value, as an uninterrupted run
stores it, and the queue and its DLQ end empty."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from tests.e2e.conftest import fuelpipe
from tests.support.aws_backends import aws_cli_env, unique_name

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Status
from fuelpipe.homes.aws import build_context, create_resources
from fuelpipe.homes.settings import Settings, parse_now
from fuelpipe.ports.alerts import AlertContext
from fuelpipe.ports.queue import NO_ERROR_RECORDED, too_many_receives
from fuelpipe.replay import ReplayServer
from fuelpipe.replay.faults import FaultPlan
from fuelpipe.stages.alerting import DeadLettered
from fuelpipe.stages.scrape import stopped_reason

pytestmark = pytest.mark.aws

SERIES = ["CURRENCY#USD", "STOCK#PRIO3", "FUEL#GASOLINE#BR", "FUEL#DIESEL#BR", "COMMODITY#BRENT"]
"""test_crash.py's series: four messages (USD, PRIO3, the ANP workbook, Brent)."""
NOW = "2022-05-07T23:59"
SINCE = "2022-01-03"
"""Four months of test_crash.py's year (each write costs a request on dynalite)."""
VISIBILITY_S = 2
"""The test queue's visibility timeout: what a killed process held is back this soon."""


class Home:
    """A fresh table and queue pair on the local servers, and what a process needs to use it."""

    def __init__(
        self,
        dynalite: Any,
        moto: Any,
        replay: ReplayServer,
        max_receives: int = Settings.model_fields["max_receives"].default,
        **env: str,
    ) -> None:
        name = unique_name("crash")
        self.env = {
            **aws_cli_env(name, dynalite, moto),
            **{f"FUELPIPE_SOURCE_{k.upper()}_URL": v for k, v in replay.source_urls().items()},
            "FUELPIPE_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
            "FUELPIPE_PENDING_SHARDS": "4",
            "FUELPIPE_MAX_RECEIVES": str(max_receives),  # the RedrivePolicy's maxReceiveCount
            "AWS_EC2_METADATA_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            **env,
        }
        self.settings = Settings(
            backend="aws",
            table_name=name,
            queue_name=name,
            dlq_name=name + "-dlq",
            visibility_timeout_s=VISIBILITY_S,
            pending_shards=4,
            max_receives=max_receives,
        )
        self.dynamodb, self.sqs = dynalite.client("dynamodb"), moto.client("sqs")
        create_resources(
            self.settings, dynamodb_client=self.dynamodb, sqs_client=self.sqs, poll_s=0.05
        )
        self.app = build_context(
            self.settings,
            clock=ManualClock(parse_now(NOW)),
            sources={},
            dynamodb_client=self.dynamodb,
            sqs_client=self.sqs,
        )

    def lambdas(
        self, plan: dict[str, Any], failpoints: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """The handlers run through ``plan`` in a child process (devtools/chaos/lambda_run.py),
        killed at ``failpoints`` if given."""
        return subprocess.run(
            [sys.executable, "-m", "devtools.chaos.lambda_run", json.dumps(plan)],
            env={**os.environ, **self.env, "FUELPIPE_FAILPOINTS": failpoints},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def dump(self, series: list[str]) -> dict[str, Any]:
        """Every record of ``series`` (date, value, status, retry count, reason, attrs), and
        the status index's PENDING and QUARANTINED entries summed up per key."""
        store = self.app.store
        records = {
            s.key: [
                (r.date, r.value, r.status, r.retry_count, r.reason, r.attrs)
                for r in store.query(s.key, consistent=True)
            ]
            for s in DEFAULT_CATALOG.select(series)
        }
        index = {
            status.name: [(s.key, s.count, s.first, s.last) for s in store.status_summaries(status)]
            for status in (Status.PENDING, Status.QUARANTINED)
        }
        return {"records": records, "index": index}

    def queues_empty(self) -> bool:
        """Nothing visible, in flight or dead-lettered."""
        depth = self.app.queue.depth()
        return (depth.visible, depth.in_flight, depth.dead) == (0, 0, 0)

    def close(self) -> None:
        self.app.close()


def _plan(
    steps: list[dict[str, Any]], series: list[str], batch_size: int, since: str = SINCE
) -> dict[str, Any]:
    return {"series": series, "since": since, "batch_size": batch_size, "steps": steps}


GAP = [{"now": NOW, "do": ["orchestrate", "feed"]}]
"""The gap run: the orchestrator's messages, fed to the scraper until the queue is empty."""
FEED = [{"now": NOW, "do": ["feed"]}]
"""What follows a killed scraper: the messages it held come back, a fresh process takes them."""


@pytest.fixture(scope="module")
def replay():
    with ReplayServer(quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def reference(dynalite_server, moto_server, replay):
    """The store an uninterrupted gap run leaves."""
    home = Home(dynalite_server, moto_server, replay)
    try:
        _finished(home, _plan(GAP, SERIES, 1))
        assert home.queues_empty()
        dump = home.dump(SERIES)
        assert _index_agrees(dump)
    finally:
        home.close()
    assert all(dump["records"].values()), dump["records"].keys()  # every series stored
    # every date settled: nothing PENDING or quarantined where a loss could hide
    assert dump["index"] == {"PENDING": [], "QUARANTINED": []}
    statuses = {row[2] for rows in dump["records"].values() for row in rows}
    assert statuses <= {Status.OK, Status.ABSENT}, statuses
    return dump


def _index_agrees(dump: dict[str, Any]) -> bool:
    """The status index holds each PENDING and QUARANTINED record once, and no other."""
    for status in (Status.PENDING, Status.QUARANTINED):
        counted = {key: count for key, count, _, _ in dump["index"][status.name]}
        held = {
            key: n
            for key, rows in dump["records"].items()
            if (n := sum(row[2] is status for row in rows))
        }
        if counted != held:
            return False
    return True


SCRAPER_KILLS = [
    # one batch of all four messages, killed after two of them stored their records
    pytest.param("scrape.after_write:2", 10, 4, id="mid-batch-after-two-writes"),
    # the handler returned; killed before the event source mapping deletes its message
    pytest.param("drain.before_delete:2", 1, 1, id="after-the-handler-before-delete"),
    # the third message's answer fetched, none of it stored yet; the two before it deleted
    pytest.param(
        "scrape.after_fetch:3", 1, 1, id="after-a-fetch-before-its-writes", marks=pytest.mark.slow
    ),
    # all four messages of the batch stored and marked; killed before the handler returned
    pytest.param(
        "scrape.after_pending:4",
        10,
        4,
        id="a-whole-batch-done-before-it-returned",
        marks=pytest.mark.slow,
    ),
    # the second message deleted, the process gone before it received the third
    pytest.param("drain.after_delete:2", 1, 0, id="after-a-delete", marks=pytest.mark.slow),
]
"""Each scraper failpoint: where, the batch size, and how many messages the killed process
holds (in flight, back after the visibility timeout). The slow ones run in `make test` and
`make chaos`, not in a bare pytest."""


def _killed(home: Home, plan: dict[str, Any], failpoint: str) -> None:
    """``plan`` run by a process killed at ``failpoint`` (every one given is within reach)."""
    killed = home.lambdas(plan, failpoint)
    assert killed.returncode == -signal.SIGKILL, f"{failpoint} not reached: {killed.stderr}"


def _finished(home: Home, plan: dict[str, Any]) -> None:
    """``plan`` run to its end by a fresh process."""
    again = home.lambdas(plan)
    assert again.returncode == 0, again.stderr


def _ends_as(home: Home, series: list[str], expected: dict[str, Any], failpoint: str) -> None:
    """The store as ``expected`` (an uninterrupted run's), its status index agreeing, nothing
    left in the queue or its DLQ."""
    after = home.dump(series)
    assert after == expected, f"store differs after a kill at {failpoint}"
    assert _index_agrees(after)
    assert home.queues_empty()


@pytest.mark.parametrize(("failpoint", "batch_size", "held"), SCRAPER_KILLS)
def test_a_scraper_killed_mid_work_is_finished_by_a_fresh_one_with_nothing_lost_or_doubled(
    dynalite_server, moto_server, replay, reference, failpoint, batch_size, held
):
    """The messages the killed process held come back after their visibility timeout (the
    others wait visible); a fresh process takes them all (the event source mapping going on,
    no orchestrator run again), and the store ends as the uninterrupted run's."""
    home = Home(dynalite_server, moto_server, replay)
    try:
        _killed(home, _plan(GAP, SERIES, batch_size), failpoint)
        depth = home.app.queue.depth()
        # What the killed process held is in flight, or visible again already: its 2 s
        # visibility timeout may have passed on a loaded machine before this read (it did, in
        # a run beside other tests). Either way it is still in the queue, none of it deleted.
        assert depth.in_flight <= held, depth
        assert depth.visible + depth.in_flight >= max(held, 1), depth  # killed with work left
        _finished(home, _plan(FEED, SERIES, batch_size))
        _ends_as(home, SERIES, reference, failpoint)
    finally:
        home.close()


RETRY_SERIES = ["CURRENCY#USD", "COMMODITY#BRENT"]
RETRY_SINCE = "2021-08-01"
"""The withheld Tuesday and first of a month (ABSENT_DAYS) within the range asked for."""
RETRY_STEPS = [
    {"now": f"2022-05-07T23:{k:02d}", "do": ["recheck", "feed"] if k else ["orchestrate", "feed"]}
    for k in range(7)
]
"""test_crash.py's retry steps, a minute apart with a one-second retry base delay: the gap
run leaves the dates the replay withholds PENDING, each step after it re-downloads them once
(the recheck claims and sends, the scraper fetches), the sixth quarantines them."""


@pytest.fixture(scope="module")
def withholding():
    """A replay that never serves a Tuesday and the first of a month (ABSENT_DAYS)."""
    from devtools.chaos.harness import ABSENT_SPEC

    with ReplayServer(quiet=True, faults=FaultPlan.parse(ABSENT_SPEC, 0)) as server:
        yield server


def _retry_home(dynalite_server, moto_server, withholding) -> Home:
    return Home(dynalite_server, moto_server, withholding, FUELPIPE_RETRY_BASE_DELAY_S="1")


@pytest.fixture(scope="module")
def retried(dynalite_server, moto_server, withholding):
    """The store the uninterrupted retry steps leave: the withheld dates QUARANTINED."""
    home = _retry_home(dynalite_server, moto_server, withholding)
    try:
        _finished(home, _plan(RETRY_STEPS, RETRY_SERIES, 1, RETRY_SINCE))
        assert home.queues_empty()
        dump = home.dump(RETRY_SERIES)
        assert _index_agrees(dump)
    finally:
        home.close()
    spent = [row for rows in dump["records"].values() for row in rows if row[3]]
    assert spent and all(row[2] is Status.QUARANTINED and row[3] == 5 for row in spent)
    return dump


RECHECK_KILLS = [
    # the first unit's re-downloads claimed (retry count 1 stored), their message not sent
    pytest.param("recheck.after_claim:1", id="between-claim-and-send"),
    # every claim sent, the process gone before the scraper took any
    pytest.param("recheck.after_send:1", id="after-the-send", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("failpoint", RECHECK_KILLS)
def test_a_recheck_killed_between_claim_and_send_ends_as_an_uninterrupted_sequence(
    dynalite_server, moto_server, withholding, retried, failpoint
):
    """kill -9 in the first recheck that claims re-downloads; the later scheduled runs (a
    fresh process) end with the store the uninterrupted steps leave: every withheld date
    QUARANTINED after five re-downloads (one claimed and never sent counts as one: the known
    limit of docs/RELIABILITY.md), nothing lost or duplicated, the queue and DLQ empty."""
    home = _retry_home(dynalite_server, moto_server, withholding)
    try:
        _killed(home, _plan(RETRY_STEPS, RETRY_SERIES, 1, RETRY_SINCE), failpoint)
        rows = [row for rows in home.dump(RETRY_SERIES)["records"].values() for row in rows]
        claimed = [row for row in rows if row[3] == 1]
        assert claimed and all(row[2] is Status.PENDING for row in claimed)
        depth = home.app.queue.depth()
        sent = failpoint.startswith("recheck.after_send")
        assert (depth.visible >= 1) is sent, depth  # claimed: none sent; after it: all waiting
        _finished(home, _plan(RETRY_STEPS[1:], RETRY_SERIES, 1, RETRY_SINCE))
        _ends_as(home, RETRY_SERIES, retried, failpoint)
    finally:
        home.close()


POISON = "COMMODITY#BRENT"
"""The series whose message kills every process that handles it (its own fetch unit)."""
POISON_RECEIVES = 2
"""The poison test's queue's maxReceiveCount: SQS moves the message at its third receive."""
POISON_SPEC = f"scrape.after_fetch@{POISON}:*"
"""Brent's answer fetched, none of it stored: the process killed, at every delivery."""


def _asked(body: str) -> set[str]:
    """The series keys a download message asks for."""
    request = DownloadRequest.from_body(body)
    return {request.partition_key, *request.also_keys}


POISON_BATCHES = [
    # alone in its batches: the others were deleted as each was handled; it alone is moved
    pytest.param(1, 1, id="alone-in-its-batch"),
    # with the other three in one batch: the event source mapping deletes a batch only once
    # its handler returned, so SQS moves all four (those handled before the poison stored,
    # those after it not: why the template's BatchSize is 1; docs/RELIABILITY.md); the
    # redrive stores what they had not, and changes nothing else
    pytest.param(10, 4, id="with-its-batch-mates", marks=pytest.mark.slow),
]
"""The batch size, and how many messages end in the DLQ."""


@pytest.mark.parametrize(("batch_size", "dead"), POISON_BATCHES)
def test_a_poison_message_is_moved_to_the_dlq_and_a_redrive_stores_it_once(
    dynalite_server, moto_server, replay, reference, batch_size, dead
):
    """A message whose handling kills the process at every delivery (kill -9: no handler is
    left to dead-letter it with its error): SQS's RedrivePolicy moves it to the DLQ after
    ``maxReceiveCount`` receives. The other messages are stored once, as the uninterrupted run
    stores them; the poison's dates are PENDING, not OK: its last delivery made them so before
    it was handled (before: missing, a gap the orchestrator sent again, each time costing
    ``maxReceiveCount`` killed runs and a new dead letter), so recheck retries them with its
    backoff and bound (tests/stages/test_poison.py); `fuelpipe dlq list` and the
    dead-letter alert show it with the reason of a message SQS moved itself (no error
    recorded: its handler was killed); once the fault is gone, `fuelpipe dlq redrive` and the
    event source mapping store its dates once, and the store ends as the uninterrupted run's."""
    home = Home(dynalite_server, moto_server, replay, max_receives=POISON_RECEIVES)
    try:
        _killed(home, _plan(GAP, SERIES, batch_size), POISON_SPEC)  # its first delivery
        deliveries = 1
        while (fed := home.lambdas(_plan(FEED, SERIES, batch_size), POISON_SPEC)).returncode:
            assert fed.returncode == -signal.SIGKILL, fed.stderr
            deliveries += 1
            assert deliveries <= POISON_RECEIVES, "delivered past the RedrivePolicy"
        assert deliveries == POISON_RECEIVES  # the next receive found it moved
        depth = home.app.queue.depth()
        assert (depth.visible, depth.in_flight, depth.dead) == (0, 0, dead), depth

        # the dead-letter listing: the message SQS moved, the reason saying no error was kept
        listed = fuelpipe("dlq", "list", "--json", env=home.env)
        letters = json.loads(listed.stdout)
        assert len(letters) == dead
        waiting = set().union(*(_asked(d["body"]) for d in letters))
        assert POISON in waiting

        # what is stored, stored once as the uninterrupted run stores it; Brent's dates
        # PENDING (not OK), and any other series missing only with its message dead-lettered
        after = home.dump(SERIES)
        held = after["records"].pop(POISON)
        (poison,) = [d for d in letters if POISON in _asked(d["body"])]
        asked = DownloadRequest.from_body(poison["body"]).dates_to_download
        pending = (Status.PENDING, 0, stopped_reason(POISON_RECEIVES), {})
        assert held == [(day, None, *pending) for day in asked]
        stored = {key for key, rows in after["records"].items() if rows}
        assert {k: after["records"][k] for k in stored} == {
            k: reference["records"][k] for k in stored
        }
        after["records"][POISON] = held
        assert set(after["records"]) - stored <= waiting
        if batch_size == 1:
            assert waiting == {POISON}
        assert _index_agrees(after)
        for letter in letters:
            assert letter["reason"] == too_many_receives(POISON_RECEIVES)
            assert NO_ERROR_RECORDED in letter["reason"]
            assert letter["receive_count"] == POISON_RECEIVES

        # the dead-letter alert fires for each whose dates are not all stored, saying the
        # same; a batch-mate handled before the poison (its dates stored, then moved with the
        # batch) is settled: the rule removes it rather than alerting (stages/dead_letter_settled)
        unsettled = {d["id"] for d in letters if _asked(d["body"]) - stored}
        assert POISON in set().union(*(_asked(d["body"]) for d in letters if d["id"] in unsettled))
        context = AlertContext(parse_now(NOW), home.app.store, home.app.queue, DEFAULT_CATALOG)
        alerts = DeadLettered().evaluate(context)
        assert {a.subject for a in alerts} == unsettled
        for alert in alerts:
            assert alert.summary.endswith(f": {too_many_receives(POISON_RECEIVES)}")
            assert alert.evidence["receive_count"] == POISON_RECEIVES
        assert home.app.queue.dead_letter_count() == len(unsettled)

        # the fault gone: a redrive, and the event source mapping stores its dates once
        redriven = fuelpipe("dlq", "redrive", env=home.env)
        assert f"moved {len(unsettled)} message(s) back to the queue" in redriven.stdout
        _finished(home, _plan(FEED, SERIES, batch_size))
        _ends_as(home, SERIES, reference, POISON_SPEC)
        assert DeadLettered().evaluate(context) == []
    finally:
        home.close()
