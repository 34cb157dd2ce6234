"""The scraper Lambda rests a source that answered 429 with a Retry-After (dynalite +
moto_server, the real HTTP sources on the replay server): one request reaches that source per
batch, and in the batches a warm environment takes while the rest runs none; its other messages
are given back hidden until the rest ends and come back then; other sources' messages are
stored; a rest never dead-letters a message.

Before, every later message of the source in the batch sent its own request (each waiting out
the adapter's capped Retry-After), and got 429 again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError
from devtools.aws.lambda_events import (
    FakeLambdaContext,
    failed_ids,
    load_handler,
    scheduled_event,
    sqs_event,
)
from tests.aws.conftest import AwsHome
from tests.aws.test_aws_handlers import drain

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import lazy_context, lazy_scraper_context
from fuelpipe.ports.queue import Message, Queue, QueueDepth
from fuelpipe.replay import FaultPlan, ReplayServer
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.source_rest import REST_META

pytestmark = pytest.mark.aws

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2021, 6, 30, 20, 0, tzinfo=SP)  # inside the bundled real snapshot
REST_S = 10
"""The replay's Retry-After: short, so a test sees the rested messages come back, and long
enough that they stay hidden while a loaded host runs the test's next steps (at 3 s those
could outlast it: the next batch's receive would then take three messages, not one)."""
HIDDEN_S = 300
"""The queue's visibility timeout where messages must come back by their rest: a message back
within HANG_GUARD_S came back because the rest ended, never because this passed."""
HANG_GUARD_S = 120
"""How long a test waits for messages to come back before it fails: past any rest here."""
YAHOO = ("STOCK#PETR4", "STOCK#PETR3", "STOCK#XOM")
OTHERS = ("CURRENCY#USD", "COMMODITY#BRENT")  # BCB, FRED


def june(key: str) -> list[date]:
    """The June 2021 days the key's calendar expects a value on."""
    calendar = get_calendar(DEFAULT_CATALOG[key].calendar)
    return list(expected_between(calendar, date(2021, 6, 1), date(2021, 6, 30)))


def body(key: str, origin: Literal["gap", "retry"] = "gap") -> str:
    series = DEFAULT_CATALOG[key]
    return DownloadRequest(
        partition_key=key, dates_to_download=june(key), fetch_unit=series.fetch_unit,
        origin=origin,
    ).to_body()  # fmt: skip


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """Yahoo answers every request 429 with Retry-After 3 s; BCB and FRED answer."""
    faults = FaultPlan.parse(f"yahoo:429=1,retry_after={REST_S}")
    with ReplayServer(quiet=True, faults=faults) as server:
        yield server


def held_wall() -> ManualClock:
    """The wall clock the shared rests are timed on: the real now, moved only by the test. On
    the system clock a loaded host's steps between the 429 and the step that must meet its
    rest outlasted REST_S (three tests here failed at load ~15: the rest had ended, so Yahoo
    was asked again and the recheck claimed PETR3). What SQS hides stays real time: a
    deferred message is hidden for what is left of the rest on this clock, REST_S."""
    return ManualClock(datetime.now(UTC))


def scraper_home(
    aws_home: AwsHome, replay: ReplayServer, clock: ManualClock, wall: ManualClock
) -> StageContext:
    """The scraper Lambda's composition root on the test's resources, its rests timed on
    ``wall``: one try per request (the adapter's own retries would wait out the Retry-After,
    up to 20 s, before giving up)."""
    urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
    settings = aws_home.settings.model_copy(
        update={**urls, "http_attempts": 1, "http_backoff_s": 0, "yahoo_min_interval_s": 0}
    )
    provider = lazy_scraper_context(
        settings, rest_wall=wall, clock=clock, dynamodb_client=aws_home.dynamodb,
        sqs_client=aws_home.sqs,
    )  # fmt: skip
    return provider()


def received(queue: Queue, keys: tuple[str, ...]) -> dict[str, Message]:
    """Every message on the queue, by its key (each of ``keys`` once)."""
    by_key = {DownloadRequest.from_body(m.body).keys[0]: m for m in drain(queue)}
    assert sorted(by_key) == sorted(keys)
    return by_key


def come_back(queue: Queue, count: int, within_s: float) -> list[Message]:
    """Receive until ``count`` messages came back, or fail after ``within_s`` (a hang guard)."""
    got: list[Message] = []
    deadline = time.monotonic() + within_s
    while len(got) < count:
        assert time.monotonic() < deadline, f"{len(got)} of {count} came back"
        got += queue.receive(10)
        time.sleep(0.1)
    return got


def test_a_rate_limited_source_gets_one_request_and_its_other_messages_come_back_after_the_rest(
    aws_home: AwsHome, replay: ReplayServer
) -> None:
    clock = ManualClock(NOW)
    wall = held_wall()
    queue_url = aws_home.sqs.get_queue_url(QueueName=aws_home.settings.queue_name)["QueueUrl"]
    aws_home.sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"VisibilityTimeout": str(HIDDEN_S)}
    )
    home = scraper_home(aws_home, replay, clock, wall)
    handler = load_handler("scraper").make_handler(lambda: home)
    home.queue.send([body(k) for k in (*YAHOO, *OTHERS)])
    by_key = received(home.queue, (*YAHOO, *OTHERS))
    # Yahoo first, the others between its messages: they go on while Yahoo rests.
    batch = [by_key[k] for k in ("STOCK#PETR4", "CURRENCY#USD", "STOCK#PETR3",
                                 "COMMODITY#BRENT", "STOCK#XOM")]  # fmt: skip
    before_rest = time.monotonic()

    response = handler(sqs_event(batch), FakeLambdaContext("scraper"))

    assert replay.request_counts["yahoo"] == 1
    rested = [by_key["STOCK#PETR3"], by_key["STOCK#XOM"]]
    assert failed_ids(response) == [m.message_id for m in rested]
    for key in OTHERS:
        assert [p.date for p in home.store.present(key)] == june(key)
    # The message that drew the 429 is done, as any failed request is: its dates PENDING.
    pending = home.store.query("STOCK#PETR4", date(2021, 6, 1), date(2021, 6, 30))
    assert {r.status for r in pending} == {Status.PENDING}
    assert all("429" in (r.reason or "") for r in pending)
    home.queue.delete([m.receipt for m in batch if m not in rested])  # the event source mapping

    # A warm environment's next batch while the rest runs: given back without a request, and
    # a batch of rested messages alone is no failed batch (no BatchFailed, no Errors alarm).
    home.queue.send([body("STOCK#PETR4")])
    (again,) = drain(home.queue)
    response = handler(sqs_event([again]), FakeLambdaContext("scraper"))
    assert failed_ids(response) == [again.message_id]
    assert replay.request_counts["yahoo"] == 1

    # They come back once the rest is over, long before the queue's visibility timeout.
    back = come_back(home.queue, 3, within_s=HANG_GUARD_S)
    assert time.monotonic() - before_rest >= REST_S  # not before the rest ended
    assert sorted(m.message_id for m in back) == sorted(m.message_id for m in [*rested, again])
    assert all(m.receive_count == 2 for m in back)

    clock.advance(timedelta(seconds=REST_S))
    wall.advance(timedelta(seconds=REST_S))  # the rest has ended; Yahoo answers again
    replay.faults = FaultPlan.none()
    response = handler(sqs_event(back), FakeLambdaContext("scraper"))

    assert failed_ids(response) == []
    assert replay.request_counts["yahoo"] == 1 + 3
    for key in YAHOO:
        assert [p.date for p in home.store.present(key)] == june(key)
    home.queue.delete([m.receipt for m in back])
    assert home.queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)


def rest_reads(client: Any) -> Counter[str]:
    """Count, by operation, the reads of the shared rests (``rest#`` meta items) ``client``
    sends from now on."""
    seen: Counter[str] = Counter()

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        if f'"{REST_META}' in json.dumps(params, default=str):
            seen[model.name] += 1

    for operation in ("GetItem", "Query"):
        client.meta.events.register(f"provide-client-params.dynamodb.{operation}", count)
    return seen


def test_a_batch_reads_the_shared_rests_once_and_honours_the_rest_it_notes(
    aws_home: AwsHome, replay: ReplayServer
) -> None:
    """The rests are read once a batch (one Query of the ``rest#`` entries), whatever its
    messages and fetches; the 429 a message of the batch draws is honoured by its later
    messages all the same, and read again by the next batch. Before, each message read them
    twice (a Query to see whether any source rests, a GetItem of its source's rest before
    its request), and once more for a resting source's message: 13 reads for this batch."""
    home = scraper_home(aws_home, replay, ManualClock(NOW), held_wall())
    handler = load_handler("scraper").make_handler(lambda: home)
    home.queue.send([body(k) for k in (*YAHOO, *OTHERS)])
    by_key = received(home.queue, (*YAHOO, *OTHERS))
    batch = [by_key[k] for k in ("STOCK#PETR4", "CURRENCY#USD", "STOCK#PETR3",
                                 "COMMODITY#BRENT", "STOCK#XOM")]  # fmt: skip
    reads = rest_reads(aws_home.dynamodb)

    response = handler(sqs_event(batch), FakeLambdaContext("scraper"))

    assert replay.request_counts["yahoo"] == 1
    rested = [by_key["STOCK#PETR3"].message_id, by_key["STOCK#XOM"].message_id]
    assert failed_ids(response) == rested
    # One Query for the batch; one GetItem by the 429's note, its conditional write's read.
    assert reads == Counter({"Query": 1, "GetItem": 1})
    home.queue.delete([m.receipt for m in batch if m.message_id not in rested])
    home.queue.send([body("STOCK#PETR4")])
    (again,) = drain(home.queue)
    reads.clear()

    assert failed_ids(handler(sqs_event([again]), FakeLambdaContext("s"))) == [again.message_id]
    assert reads == Counter({"Query": 1})
    assert replay.request_counts["yahoo"] == 1


def petr3_on_its_last_delivery(
    home: StageContext, petr3: str
) -> tuple[dict[str, Any], dict[str, Message]]:
    """PETR4's message and ``petr3``'s, PETR3's on its last delivery, handed to the scraper
    handler in one batch: its response and the messages received, by key."""
    handler = load_handler("scraper").make_handler(lambda: home)
    home.queue.send([body("STOCK#PETR4"), petr3])
    by_key = received(home.queue, ("STOCK#PETR4", "STOCK#PETR3"))
    last = replace(by_key["STOCK#PETR3"], receive_count=home.queue.max_receives)
    response = handler(sqs_event([by_key["STOCK#PETR4"], last]), FakeLambdaContext("scraper"))
    return response, by_key


def test_a_rested_message_on_its_last_delivery_is_handled_not_dead_lettered(
    aws_home: AwsHome, replay: ReplayServer
) -> None:
    """Deferring it would cost its last receive and send it to the DLQ: it is handled as
    `watch` handles a resting source's message instead, its dates PENDING saying why."""
    home = scraper_home(aws_home, replay, ManualClock(NOW), held_wall())

    response, by_key = petr3_on_its_last_delivery(home, body("STOCK#PETR3"))

    assert failed_ids(response) == []
    assert replay.request_counts["yahoo"] == 1
    pending = home.store.query("STOCK#PETR3", date(2021, 6, 1), date(2021, 6, 30))
    assert [r.date for r in pending] == june("STOCK#PETR3")
    assert all(r.status is Status.PENDING for r in pending)
    assert all("not asked before" in (r.reason or "") for r in pending)
    home.queue.delete([m.receipt for m in by_key.values()])
    assert home.queue.depth() == QueueDepth(visible=0, in_flight=0, dead=0)


def test_a_rested_retry_on_its_last_delivery_gets_its_claim_back_not_quarantined(
    aws_home: AwsHome, replay: ReplayServer
) -> None:
    """A retry message whose claim spent the last of a date's five re-downloads, on its last
    delivery while its source rests: not fetched, and a rest is no attempt, so the claim is
    given back (four spent) and the date is due when the rest ends, on DynamoDB as on SQLite.
    Before, it was quarantined ("still failing after 5 re-downloads") without a request."""
    clock = ManualClock(NOW)
    home = scraper_home(aws_home, replay, clock, held_wall())
    claimed_next = NOW + timedelta(hours=4)  # what recheck's fifth claim wrote
    home.store.put_pendings(
        [
            Record("STOCK#PETR3", d, None, Status.PENDING, retry_count=5,
                   next_attempt_at=claimed_next, reason="HTTP 500")
            for d in june("STOCK#PETR3")
        ]
    )  # fmt: skip

    response, by_key = petr3_on_its_last_delivery(home, body("STOCK#PETR3", origin="retry"))

    assert failed_ids(response) == []
    assert replay.request_counts["yahoo"] == 1
    held = home.store.query("STOCK#PETR3", date(2021, 6, 1), date(2021, 6, 30))
    assert [r.date for r in held] == june("STOCK#PETR3")
    assert {(r.status, r.retry_count) for r in held} == {(Status.PENDING, 4)}
    for r in held:  # due when the rest ends: REST_S seconds after the 429, at most
        assert r.next_attempt_at is not None
        assert NOW < r.next_attempt_at <= NOW + timedelta(seconds=REST_S)
    home.queue.delete([m.receipt for m in by_key.values()])


def test_a_rested_message_sqs_will_not_hide_is_still_given_back(
    aws_home: AwsHome, replay: ReplayServer
) -> None:
    """SQS refusing the ChangeMessageVisibility costs only the early return: the message is
    reported all the same (it comes back after the queue's visibility timeout), and a batch of
    rested messages alone is still no failed batch."""
    home = scraper_home(aws_home, replay, ManualClock(NOW), held_wall())
    handler = load_handler("scraper").make_handler(lambda: home)

    def refuse(**_: object) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "down"}}, "Change")

    aws_home.sqs.meta.events.register(
        "before-parameter-build.sqs.ChangeMessageVisibilityBatch", refuse
    )
    home.queue.send([body("STOCK#PETR4")])
    (first,) = drain(home.queue)
    assert failed_ids(handler(sqs_event([first]), FakeLambdaContext("scraper"))) == []
    home.queue.send([body("STOCK#PETR3")])
    (rested,) = drain(home.queue)

    response = handler(sqs_event([rested]), FakeLambdaContext("scraper"))

    assert failed_ids(response) == [rested.message_id]
    assert replay.request_counts["yahoo"] == 1


def recheck_home(aws_home: AwsHome, clock: ManualClock, wall: ManualClock) -> StageContext:
    """The retry_recheck Lambda's composition root on the test's resources (rests shared,
    timed on ``wall``)."""
    provider = lazy_context(
        aws_home.settings, shares_rests=True, rest_wall=wall, clock=clock, sources={},
        dynamodb_client=aws_home.dynamodb, sqs_client=aws_home.sqs,
    )  # fmt: skip
    return provider()


def owed(home: StageContext, key: str, spent: int) -> list[date]:
    """``key``'s June dates PENDING with ``spent`` re-downloads spent, due a minute ago."""
    dates = june(key)
    home.store.put_pendings(
        [
            Record(key, d, None, Status.PENDING, retry_count=spent,
                   next_attempt_at=NOW - timedelta(minutes=1), reason="HTTP 500")
            for d in dates
        ]
    )  # fmt: skip
    return dates


def test_a_rest_one_scraper_environment_heard_holds_off_another(
    aws_home: AwsHome, replay: ReplayServer
) -> None:
    """Two scraper environments (MaximumConcurrency 2, or a cold one started while a rest
    runs) share the rest through the table: Yahoo's 429 to the first keeps the second from
    asking Yahoo; its message is given back hidden until the rest ends. Before, each
    environment kept its own rests and the second sent its own request (and got 429)."""
    clock, wall = ManualClock(NOW), held_wall()
    home = scraper_home(aws_home, replay, clock, wall)
    first = load_handler("scraper").make_handler(lambda: home)
    other = scraper_home(aws_home, replay, clock, wall)
    second = load_handler("scraper").make_handler(lambda: other)
    home.queue.send([body("STOCK#PETR4"), body("STOCK#PETR3")])
    by_key = received(home.queue, ("STOCK#PETR4", "STOCK#PETR3"))

    assert failed_ids(first(sqs_event([by_key["STOCK#PETR4"]]), FakeLambdaContext("s"))) == []
    response = second(sqs_event([by_key["STOCK#PETR3"]]), FakeLambdaContext("scraper"))

    assert replay.request_counts["yahoo"] == 1
    assert failed_ids(response) == [by_key["STOCK#PETR3"].message_id]
    home.queue.delete([by_key["STOCK#PETR4"].receipt])
    other.close()


def test_the_recheck_claims_no_retry_of_a_resting_source(
    aws_home: AwsHome, replay: ReplayServer
) -> None:
    """The retry_recheck Lambda reads the rests the scraper shares: while Yahoo rests, PETR3's
    due retries are not claimed (no re-download spent, no message), BCB's are; once the rest
    ends the next run claims PETR3's. Before, it claimed and sent them, for the scraper to
    defer."""
    clock, wall = ManualClock(NOW), held_wall()
    home = scraper_home(aws_home, replay, clock, wall)
    scraper = load_handler("scraper").make_handler(lambda: home)
    rechecker = load_handler("retry_recheck").make_handler(
        lambda: recheck_home(aws_home, clock, wall)
    )
    home.queue.send([body("STOCK#PETR4")])
    (first,) = drain(home.queue)
    scraper(sqs_event([first]), FakeLambdaContext("scraper"))  # Yahoo: 429, rests REST_S
    home.queue.delete([first.receipt])
    petr3, usd = owed(home, "STOCK#PETR3", 2), owed(home, "CURRENCY#USD", 2)

    report = rechecker(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert report["retried"] == len(usd)
    sent = [DownloadRequest.from_body(m.body).keys for m in drain(home.queue)]
    assert sent == [["CURRENCY#USD"]]
    held = home.store.query("STOCK#PETR3", petr3[0], petr3[-1])
    assert {(r.status, r.retry_count) for r in held} == {(Status.PENDING, 2)}
    wall.advance(timedelta(seconds=REST_S))  # the rest has ended

    again = rechecker(scheduled_event(), FakeLambdaContext("retry_recheck"))

    assert again["retried"] == len(petr3)


def test_a_retry_claimed_before_its_source_rests_is_never_quarantined(
    aws_home: AwsHome,
) -> None:
    """The retry_recheck Lambda claims PETR3's last re-download (four spent) and sends the
    retry; then Yahoo answers another message 429 and rests. The scraper defers the retry
    unfetched; on its last delivery it gives the claim back (four spent, due when the rest
    ends), so a rest neither quarantines the dates nor dead-letters the message. A rest of a
    minute: it outlasts the test, so every delivery meets it."""
    clock, wall = ManualClock(NOW), held_wall()
    with ReplayServer(quiet=True, faults=FaultPlan.parse("yahoo:429=1,retry_after=60")) as srv:
        home = scraper_home(aws_home, srv, clock, wall)
        scraper = load_handler("scraper").make_handler(lambda: home)
        rechecker = load_handler("retry_recheck").make_handler(
            lambda: recheck_home(aws_home, clock, wall)
        )
        dates = owed(home, "STOCK#PETR3", 4)

        report = rechecker(scheduled_event(), FakeLambdaContext("retry_recheck"))

        assert (report["retried"], report["quarantined"]) == (len(dates), 0)
        claimed = home.store.query("STOCK#PETR3", dates[0], dates[-1])
        assert {(r.status, r.retry_count) for r in claimed} == {(Status.PENDING, 5)}
        home.queue.send([body("STOCK#PETR4")])
        by_key = received(home.queue, ("STOCK#PETR4", "STOCK#PETR3"))
        limited = by_key["STOCK#PETR4"]
        assert failed_ids(scraper(sqs_event([limited]), FakeLambdaContext("scraper"))) == []
        home.queue.delete([limited.receipt])
        assert srv.request_counts["yahoo"] == 1  # the 429: Yahoo rests a minute
        retry = by_key["STOCK#PETR3"]
        deferred = scraper(sqs_event([retry]), FakeLambdaContext("scraper"))
        assert failed_ids(deferred) == [retry.message_id]  # given back, hidden until the rest ends
        last = replace(retry, receive_count=home.queue.max_receives)
        assert failed_ids(scraper(sqs_event([last]), FakeLambdaContext("scraper"))) == []
        home.queue.delete([last.receipt])
        held = home.store.query("STOCK#PETR3", dates[0], dates[-1])
        requests = srv.request_counts["yahoo"]
    assert requests == 1  # the retry never reached Yahoo
    assert [r.date for r in held] == dates
    assert {(r.status, r.retry_count) for r in held} == {(Status.PENDING, 4)}
    assert all("not asked before" in (r.reason or "") for r in held)
    assert home.queue.dead_letter_count() == 0


FRIDAY_1315 = datetime(2022, 5, 6, 13, 15, tzinfo=SP)
"""Friday's PTAX close (13:10) is out and not stored; PETR4's closes of the week are not
stored either. The PTAX window schedule polls until 13:55 (infra/template.yaml)."""
PTAX_WINDOW = {"series": ["CURRENCY#USD", "STOCK#PETR4"], "due_only": True,
               "since": "2022-05-02", "last_poll": "13:55"}  # fmt: skip


def set_rest(home: StageContext, source: str, ends: datetime) -> None:
    """Store ``source``'s shared rest ending at ``ends`` (wall clock), as a scraper's note
    does; an instant already past is a rest that has ended."""
    name = REST_META + source
    assert home.store.replace_meta(name, home.store.get_meta(name), ends.isoformat())


def clustering_poll(aws_home: AwsHome, clock: ManualClock) -> tuple[StageContext, Any]:
    """The data_clustering Lambda's own composition root on the test's resources, with USD's
    closes stored through Thursday: its handler and home."""
    clustering = load_handler("data_clustering")
    home = clustering.context_provider(
        aws_home.settings, clock=clock, dynamodb_client=aws_home.dynamodb,
        sqs_client=aws_home.sqs,
    )()  # fmt: skip
    home.store.put_records(
        [Record("CURRENCY#USD", date(2022, 5, d), Decimal("5.0"), Status.OK) for d in (2, 3, 4, 5)]
    )
    return home, clustering.make_handler(lambda: home)


def sent_by_key(home: StageContext) -> dict[str, list[date]]:
    """The messages on the queue, each one's key and dates, taken off it and lost: deleted
    with nothing stored, so a later poll finds their dates not sent (the orchestrator holds a
    gap it sent while the queue may hold its message: stages/orchestrate.py claim_gaps)."""
    messages = drain(home.queue)
    home.queue.delete([m.receipt for m in messages])
    bodies = [DownloadRequest.from_body(m.body) for m in messages]
    return {r.keys[0]: r.dates_to_download for r in bodies}


def test_a_window_poll_holds_a_resting_source_until_a_later_poll_after_its_rest(
    aws_home: AwsHome,
) -> None:
    """BCB rests 20 minutes (to 13:35), and the PTAX window polls until 13:55: the polls
    during the rest send nothing for USD's due close (counted as rest_held in the result and
    the run log) and still send PETR4's gaps; the first poll after the rest sends USD's close.
    Before, the orchestrator read no rests, and every 5-minute poll of the rest sent USD's
    close again, for the scraper to put off until the rest ended and then fetch each time."""
    clock = ManualClock(FRIDAY_1315)
    home, handler = clustering_poll(aws_home, clock)
    set_rest(home, "bcb", datetime.now(UTC) + timedelta(minutes=20))
    event = scheduled_event(PTAX_WINDOW, scheduler=True)
    reads = rest_reads(aws_home.dynamodb)

    during = handler(event, FakeLambdaContext("data_clustering"))

    assert list(sent_by_key(home)) == ["STOCK#PETR4"]
    assert (during["rest_held"], during["keys_scanned"]) == (1, 1)
    assert reads == Counter({"Query": 1})  # the rests: one Query of the rest# entries
    (run,) = home.store.last_runs()
    assert (run.stage, run.counts["rest_held"]) == ("data_clustering", 1)
    clock.advance(timedelta(minutes=5))
    assert handler(event, FakeLambdaContext("data_clustering"))["rest_held"] == 1
    assert list(sent_by_key(home)) == ["STOCK#PETR4"]  # lost, not stored: asked every poll
    set_rest(home, "bcb", datetime.now(UTC) - timedelta(seconds=1))  # the rest has ended
    clock.advance(timedelta(minutes=15))

    after = handler(event, FakeLambdaContext("data_clustering"))

    assert after["rest_held"] == 0
    assert sent_by_key(home)["CURRENCY#USD"] == [FRI]


@pytest.mark.parametrize(
    ("rest", "last_poll"),
    [
        (timedelta(minutes=50), "13:55"),  # to 14:05: past the window's last poll
        (timedelta(minutes=39, seconds=30), "13:55"),  # to 13:54:30: too near the last poll
        (timedelta(minutes=20), None),  # no last poll named (a hand-sent event): none known
    ],
)
def test_a_window_poll_asks_a_resting_source_when_no_later_poll_comes_after_its_rest(
    aws_home: AwsHome, rest: timedelta, last_poll: str | None
) -> None:
    """A rest that outlasts the window (or ends too near its last poll to be sure that poll
    finds it over) holds nothing: the poll sends USD's due close once, as before, and the
    scraper puts it off until the rest ends and fetches it then. Held, it would wait for the
    6-hourly backstop's full scan (the unmerged e2267c5b held it whatever the window)."""
    home, handler = clustering_poll(aws_home, ManualClock(FRIDAY_1315))
    set_rest(home, "bcb", datetime.now(UTC) + rest)
    detail = {k: v for k, v in PTAX_WINDOW.items() if k != "last_poll"}
    event = scheduled_event({**detail, "last_poll": last_poll} if last_poll else detail)

    result = handler(event, FakeLambdaContext("data_clustering"))

    assert result["rest_held"] == 0
    sent = sent_by_key(home)
    assert sent["CURRENCY#USD"] == [date(2022, 5, 6)]
    assert "STOCK#PETR4" in sent


FRI = date(2022, 5, 6)


def test_a_rest_outlasting_the_window_has_the_due_series_sent_once_not_every_poll(
    aws_home: AwsHome,
) -> None:
    """BCB rests 50 minutes (to 14:05), past the window's last poll (13:55): the 13:15 poll
    sends USD's due close once, and the eight polls after it, the last one included, hold it
    (rest_held 1; PETR4's gaps, lost every time, are sent again every poll). The message is
    lost here (deleted, nothing stored): a poll after the rest's end sends the close again. Before,
    every poll of the rest sent it (nine messages, for the scraper to put off and fetch
    together when the rest ended: a burst that could draw another 429)."""
    clock = ManualClock(FRIDAY_1315)
    home, handler = clustering_poll(aws_home, clock)
    set_rest(home, "bcb", datetime.now(UTC) + timedelta(minutes=50))
    event = scheduled_event(PTAX_WINDOW, scheduler=True)

    first = handler(event, FakeLambdaContext("data_clustering"))

    assert first["rest_held"] == 0
    sent = sent_by_key(home)
    assert (sorted(sent), sent["CURRENCY#USD"]) == (["CURRENCY#USD", "STOCK#PETR4"], [FRI])
    held = []
    for _ in range(8):  # 13:20 to 13:55
        clock.advance(timedelta(minutes=5))
        held.append(handler(event, FakeLambdaContext("data_clustering"))["rest_held"])
        assert list(sent_by_key(home)) == ["STOCK#PETR4"]
    assert held == [1] * 8
    set_rest(home, "bcb", datetime.now(UTC) - timedelta(seconds=1))  # the rest has ended
    clock.advance(timedelta(minutes=10))

    after = handler(event, FakeLambdaContext("data_clustering"))

    assert after["rest_held"] == 0
    assert sent_by_key(home)["CURRENCY#USD"] == [FRI]
