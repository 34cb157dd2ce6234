"""The orchestrator Lambda's schedules while the messages of a first backfill still wait in SQS
(dynalite + moto_server): a gap sent once is not sent again by the next backstop or window
poll while its message may still be queued or fetched, and one whose message was lost
(deleted without storing, dead-lettered) is sent again once the queue no longer holds it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, load_handler, scheduled_event
from devtools.chaos.harness import RecordingQueue
from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.queue import Message, Queue
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.orchestrate import gap_sent_name

pytestmark = [pytest.mark.aws, pytest.mark.filterwarnings("ignore:No application metrics")]
SP = ZoneInfo("America/Sao_Paulo")
FRIDAY_1202 = datetime(2022, 5, 6, 12, 2, tzinfo=SP)  # the backstop's run, before PTAX's close
FRIDAY_1316 = datetime(2022, 5, 6, 13, 16, tzinfo=SP)  # a window poll after the 13:10 close
SATURDAY = datetime(2022, 5, 7, 12, 2, tzinfo=SP)  # no PTAX out until Monday
THREE = ["CURRENCY#USD", "CURRENCY#EUR", "CURRENCY#GBP"]
TWO = ["CURRENCY#USD", "CURRENCY#EUR"]
SINCE = "2019-01-02"


def _run(app: StageContext, detail: dict[str, Any]) -> dict[str, int]:
    handler = load_handler("data_clustering").make_handler(lambda: app)
    return handler(scheduled_event(detail, scheduler=True), FakeLambdaContext("data_clustering"))


def _backstop(app: StageContext, series: Sequence[str], since: str) -> dict[str, int]:
    """The 6-hourly backstop's event (a full gap scan, no due_only), for ``series``."""
    return _run(app, {"series": list(series), "since": since})


def _waiting(app: StageContext) -> int:
    depth = app.queue.depth()
    return depth.visible + depth.in_flight


def _take_all(queue: Queue) -> list[Message]:
    """Every message of the queue, received (in flight) as the scraper would."""
    taken: list[Message] = []
    while batch := queue.receive(10, wait_s=1):
        taken.extend(batch)
    return taken


def _dates(message: Message) -> tuple[list[str], list[date]]:
    request = DownloadRequest.from_body(message.body)
    return request.keys, list(request.dates_to_download)


def _scraper_stores(app: StageContext, message: Message) -> None:
    """What the scraper does with a message it fetched: every date asked stored, then deleted."""
    keys, days = _dates(message)
    app.store.put_records([Record(k, d, Decimal("5.0"), Status.OK) for k in keys for d in days])
    app.queue.delete([message.receipt])


def test_a_backstop_and_a_window_poll_do_not_send_again_what_waits_in_the_queue(
    aws_home: AwsHome,
) -> None:
    """A first backfill of three PTAX currencies from 2019 is sent by the backstop at 12:02
    (2 messages a currency: BCB answers 730 days a request); the scraper has taken one batch
    (in flight), the rest waits. Before, the next backstop (6 hours on) sent all 6 again, and
    the PTAX window poll at 13:16 USD's whole backfill again with Friday's new close, so the
    queue grew by each schedule's run and BCB was asked for every date two or three times."""
    clock = ManualClock(FRIDAY_1202)
    app = aws_home.app(clock)
    first = _backstop(app, THREE, SINCE)
    sent = first["messages_sent"]
    assert (sent, first["gaps_held"]) == (6, 0)
    assert len(app.queue.receive(2)) == 2  # the scraper's batch, in flight; 4 wait visible

    clock.set(FRIDAY_1316)
    poll = _run(app, {"series": ["CURRENCY#USD"], "due_only": True, "since": SINCE})
    assert poll["messages_sent"] == 1  # Friday's close only (before: 2, USD's backfill again)
    assert poll["gaps_held"] == poll["gaps_found"] - 1

    clock.set(FRIDAY_1202 + timedelta(hours=6))
    again = _backstop(app, THREE, SINCE)
    # Friday's close of EUR and GBP, out since 13:10, is the one new gap each: one message
    # each; every date the backfill's messages and the poll's ask stays held (before: 6 sent)
    assert again["messages_sent"] == 2
    assert again["gaps_held"] == again["gaps_found"] - 2
    assert _waiting(app) == sent + 1 + 2  # nothing sent twice: 9 messages, 9 streams


@pytest.mark.parametrize("lost_how", ["deleted without storing", "dead-lettered"])
def test_the_dates_of_a_lost_message_are_sent_again_once_the_queue_no_longer_holds_them(
    aws_home: AwsHome, lost_how: str
) -> None:
    """USD's backfill message is lost (deleted by a scraper that stored nothing, or
    dead-lettered) while EUR's still waits: nothing is sent again while the queue holds a
    message (EUR's, which may still be USD's, for all SQS tells), and once the scraper has
    stored EUR's and the queue is empty, the next run sends USD's dates again, those only."""
    clock = ManualClock(SATURDAY)
    app = aws_home.app(clock)
    assert _backstop(app, TWO, "2021-06-01")["messages_sent"] == 2
    taken = {_dates(m)[0][0]: m for m in _take_all(app.queue)}
    lost = taken["CURRENCY#USD"]
    if lost_how == "dead-lettered":
        app.queue.dead_letter(lost, "received 5 times without being processed")
    else:
        app.queue.delete([lost.receipt])
    app.queue.release([taken["CURRENCY#EUR"].receipt])  # EUR's waits for the scraper again

    clock.advance(timedelta(hours=6))
    held = _backstop(app, TWO, "2021-06-01")
    assert held["messages_sent"] == 0 and held["gaps_held"] == held["gaps_found"]

    (eur,) = _take_all(app.queue)
    _scraper_stores(app, eur)
    clock.advance(timedelta(hours=6))
    resent = _backstop(app, TWO, "2021-06-01")
    assert (resent["messages_sent"], resent["gaps_held"]) == (1, 0)
    (message,) = _take_all(app.queue)
    assert _dates(message) == _dates(lost)


def test_a_message_waiting_past_the_queues_retention_is_taken_as_dropped(
    aws_home: AwsHome,
) -> None:
    """SQS drops a message 4 days after its send (the queue's MessageRetentionPeriod): a gap
    held while the queue holds other messages is sent again past that, so a queue that never
    empties hides no gap for good."""
    clock = ManualClock(SATURDAY)
    app = aws_home.app(clock)
    backfill = _backstop(app, TWO, "2021-06-01")
    assert backfill["messages_sent"] == 2
    clock.advance(timedelta(days=3, hours=23))  # Wednesday: Monday's and Tuesday's are new
    held = _backstop(app, TWO, "2021-06-01")
    assert held["gaps_held"] == backfill["gaps_found"]
    clock.advance(timedelta(hours=1))
    dropped = _backstop(app, TWO, "2021-06-01")
    # the backfill's dates are asked again; the closes the run before sent, a day ago, wait
    assert dropped["gaps_found"] == held["gaps_found"]
    assert dropped["gaps_held"] == held["gaps_found"] - backfill["gaps_found"] == 4


class _SendsAfter(RecordingQueue):
    """A queue whose first send lets another orchestrator run first (``before``)."""

    def __init__(self, inner: Queue, before: Any) -> None:
        super().__init__(inner)
        self.before = before

    def send(self, bodies: Sequence[str]) -> int:
        before, self.before = self.before, None
        if before is not None:
            before()
        return super().send(bodies)


def test_two_orchestrators_at_once_send_each_gap_once(aws_home: AwsHome) -> None:
    """Without the reserved concurrency (the template's ReservedConcurrency "off"), a second
    backstop may scan while the first is sending: the first noted its gaps before its send,
    so the second sends none of them (before: each sent all 6)."""
    clock = ManualClock(FRIDAY_1202)
    second: list[dict[str, int]] = []
    other = aws_home.app(clock)
    base = aws_home.app(clock)
    app = replace(
        base,
        queue=_SendsAfter(base.queue, lambda: second.append(_backstop(other, THREE, SINCE))),
    )
    first = _backstop(app, THREE, SINCE)
    assert (first["messages_sent"], second[0]["messages_sent"]) == (6, 0)
    assert second[0]["gaps_held"] == first["gaps_found"]
    assert _waiting(app) == 6


class _ReadsFirst:
    """A store whose first read of the ``gap_sent#`` notes (the run's one Query of them all)
    lets another orchestrator run before it answers: both read the note before either wrote
    it."""

    def __init__(self, inner: Store, before: Any) -> None:
        self.inner = inner
        self.before = before

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        value = self.inner.meta_entries(prefix)
        before, self.before = self.before, None
        if before is not None and prefix.startswith("gap_sent#"):
            before()
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_two_orchestrators_reading_the_note_together_send_each_gap_once(
    aws_home: AwsHome,
) -> None:
    """Both read USD's note before either wrote it: the second to write finds it changed
    (the conditional write is refused), reads it again and sends none of what the first
    noted (a GetItem of its note alone); without the condition each sent USD's 2 messages."""
    clock = ManualClock(FRIDAY_1202)
    second: list[dict[str, int]] = []
    other = aws_home.app(clock)
    base = aws_home.app(clock)
    hook = _ReadsFirst(base.store, lambda: second.append(_backstop(other, ["CURRENCY#USD"], SINCE)))
    app = replace(base, store=cast(Store, hook))
    first = _backstop(app, ["CURRENCY#USD"], SINCE)
    assert (second[0]["messages_sent"], first["messages_sent"]) == (2, 0)
    assert first["gaps_held"] == first["gaps_found"]
    assert _waiting(app) == 2


def note_calls(client: Any) -> Counter[str]:
    """Count, by operation, the calls on ``gap_sent#`` notes ``client`` sends from now on."""
    seen: Counter[str] = Counter()

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        if '"gap_sent#' in json.dumps(params, default=str):
            seen[model.name] += 1

    for operation in ("GetItem", "Query", "PutItem"):
        client.meta.events.register(f"provide-client-params.dynamodb.{operation}", count)
    return seen


def test_a_run_reads_the_notes_of_its_keys_with_one_query(aws_home: AwsHome) -> None:
    """30 ANP keys with gaps: the backstop reads their notes with one Query (every page),
    writes each key's note (a conditional PutItem), and the next backstop, their messages
    still waiting, reads them with one Query again and writes none. Before, each key with gaps
    read its own note: 30 GetItems a run (ANP's 420 keys: 420 a run)."""
    clock = ManualClock(FRIDAY_1202)
    app = aws_home.app(clock)
    keys = [s.key for s in app.catalog if s.key.startswith("FUEL#")][:30]
    first_calls = note_calls(aws_home.dynamodb)
    first = _backstop(app, keys, "2022-03-01")
    assert first["messages_sent"] > 0 and first["gaps_held"] == 0
    assert first_calls == Counter({"Query": 1, "PutItem": 30})

    clock.advance(timedelta(hours=1))
    again_calls = note_calls(aws_home.dynamodb)
    again = _backstop(app, keys, "2022-03-01")
    assert again["messages_sent"] == 0 and again["gaps_held"] == again["gaps_found"] > 0
    assert again_calls == Counter({"Query": 1})


def test_a_failed_send_leaves_the_gaps_to_the_next_run(aws_home: AwsHome) -> None:
    """SQS refusing the send: the notes written before it go back, so the next run sends the
    gaps at once rather than after the hold."""

    class _Refuses(RecordingQueue):
        def send(self, bodies: Sequence[str]) -> int:
            raise RuntimeError("SQS refused the batch")

    clock = ManualClock(FRIDAY_1202)
    base = aws_home.app(clock)
    with pytest.raises(RuntimeError, match="refused"):
        _backstop(replace(base, queue=_Refuses(base.queue)), TWO, "2021-06-01")
    assert base.store.get_meta(gap_sent_name("CURRENCY#USD")) == ""  # none sent
    assert _backstop(base, TWO, "2021-06-01")["messages_sent"] == 2


def test_the_backstop_deletes_the_note_of_a_key_the_catalog_dropped(aws_home: AwsHome) -> None:
    """A release dropped GBP after a backstop noted its gaps: no run writes its ``gap_sent#``
    note again, and before, it stayed in the table for good. The next backstop of the whole
    catalog (no ``series`` in its event) deletes it; the notes of the keys it still has stay."""
    clock = ManualClock(FRIDAY_1202)
    app = aws_home.app(clock)
    first = _backstop(app, THREE, SINCE)
    assert first["messages_sent"] == 6
    gbp = gap_sent_name("CURRENCY#GBP")
    assert app.store.get_meta(gbp) is not None

    released = replace(app, catalog=Catalog(s for s in app.catalog if s.key in TWO))
    clock.advance(timedelta(hours=6))
    again = _run(released, {"since": SINCE})  # the 6-hourly backstop: the whole catalog
    assert again["messages_sent"] == 2  # EUR's and USD's Friday close; their backfills held
    assert app.store.get_meta(gbp) is None
    assert all(app.store.get_meta(gap_sent_name(key)) is not None for key in TWO)


def test_the_backstop_deletes_the_empty_note_of_a_key_the_catalog_dropped(
    aws_home: AwsHome,
) -> None:
    """A failed send left GBP's note empty (``release_claims``), then a release dropped GBP:
    the empty note stayed in the table for good (nothing to match it by). The backstop of the
    whole catalog deletes it, only while it is still empty; the notes of the keys it has stay."""
    clock = ManualClock(FRIDAY_1202)
    app = aws_home.app(clock)
    gbp = gap_sent_name("CURRENCY#GBP")
    app.store.put_meta(gbp, "")
    assert app.store.get_meta(gbp) == ""

    released = replace(app, catalog=Catalog(s for s in app.catalog if s.key in TWO))
    again = _run(released, {"since": SINCE})  # the 6-hourly backstop: the whole catalog
    assert again["messages_sent"] == 4  # EUR's and USD's backfill and Friday close
    assert app.store.get_meta(gbp) is None
    assert all(app.store.get_meta(gap_sent_name(key)) is not None for key in TWO)
