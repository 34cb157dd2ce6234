"""The AWS path of precomputed analysis: the scraper Lambda writes a new data version after it
stored new data; the outlook Lambda's next run stores the default views under it, and the
dashboard (on the same DynamoDB table) serves them tagged with it. A view the dashboard finds
stale (asked before that run) it recomputes once, on its first request."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from botocore.exceptions import ClientError
from devtools.aws.lambda_events import (
    FakeLambdaContext,
    emf_metric,
    function_url_event,
    load_handler,
    scheduled_event,
    sqs_event,
)
from devtools.dashboard.serving import serving
from tests.aws.conftest import AwsHome
from tests.dashboard.conftest import ManualTimer
from tests.support.fakes import TableSource
from tests.support.read_counting import ReadCounting

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.dynamodb_store import DynamoDbStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.precomputed import (
    VIEW_MIN_S,
    Params,
    Precomputer,
    decode,
    default_requests,
    encode,
    entry_name,
    view_etag,
)
from fuelpipe.dashboard.schemas import MetaView
from fuelpipe.dashboard.versions import DataVersion
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import (
    DATA_VERSION,
    INITIAL,
    RUN_VERSION_OWED,
    RUNS_CHECKED,
    UNMARKED,
    VIEWS_VERSION,
    data_version,
    unmarked,
)

pytestmark = pytest.mark.aws

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2025, 3, 31, 20, 0, tzinfo=SP)
USD = "CURRENCY#USD"
MARCH = list(expected_between(get_calendar("ANBIMA"), date(2025, 3, 1), date(2025, 3, 31)))


def _message(days: list[date]) -> str:
    return DownloadRequest(
        partition_key=USD, dates_to_download=days, fetch_unit=DEFAULT_CATALOG[USD].fetch_unit
    ).to_body()


def test_scraper_lambda_moves_the_version_and_the_dashboard_recomputes_once(
    aws_home: AwsHome,
) -> None:
    # Synthetic rates on March 2025's banking days (shape test, not real data).
    values = {(USD, d): Decimal("5.7") + Decimal(i) / 1000 for i, d in enumerate(MARCH)}
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", values)})
    app.store.put_records([Record(USD, d, values[(USD, d)], Status.OK) for d in MARCH[:-1]])
    timer = ManualTimer()  # the dashboard reads the data version at most once a second of it
    versions = DataVersion(app.store, timer=timer)
    api = create_app(
        app.store, DEFAULT_CATALOG, app.queue, FixedClock(NOW), cache_ttl_s=0, versions=versions
    )
    pre: Precomputer = api.state.precomputer
    assert pre.refresh() > 0  # stored at the initial version
    scraper = load_handler("scraper").make_handler(lambda: app)
    with serving(api) as url, httpx.Client(base_url=url, timeout=30) as client:
        before = client.get("/api/overview")
        assert before.headers["etag"] == view_etag(INITIAL)
        usd = next(i for i in before.json()["items"] if i["key"] == USD)
        assert usd["date"] == MARCH[-2].isoformat()

        app.queue.send([_message(MARCH[-1:])])
        messages = app.queue.receive(10)
        scraper(sqs_event(messages), FakeLambdaContext("scraper"))
        app.queue.delete([m.receipt for m in messages])
        version = data_version(app.store)
        assert version != INITIAL
        timer.now += 1

        computed = pre.computed
        after = client.get("/api/overview", headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        assert after.headers["etag"] == view_etag(version)
        usd = next(i for i in after.json()["items"] if i["key"] == USD)
        assert usd["date"] == MARCH[-1].isoformat()
        assert pre.computed == computed + 1
        again = client.get("/api/overview", headers={"If-None-Match": after.headers["etag"]})
        assert again.status_code == 304
        assert pre.computed == computed + 1

        # A batch that brings nothing new leaves the version (and every stored view) alone.
        app.queue.send([_message(MARCH[-1:])])
        messages = app.queue.receive(10)
        scraper(sqs_event(messages), FakeLambdaContext("scraper"))
        app.queue.delete([m.receipt for m in messages])
        assert data_version(app.store) == version


def test_a_redelivered_message_moves_the_version_its_failed_first_delivery_did_not(
    aws_home: AwsHome,
) -> None:
    """The first delivery stores the new value, then its data version write is throttled
    past every retry: the invocation fails before the version is written, and SQS delivers
    the message again. The redelivery finds the value stored already (nothing written), so
    before it left the version alone for good: the dashboard kept serving its stored views,
    and the outlook did not refresh, until some other change. A redelivered message now moves
    it."""
    app = _march_but_its_last_day(aws_home)
    failing = [True]
    _throttle_puts(
        aws_home,
        lambda item: failing[0] and _names(item, DATA_VERSION),
    )
    scraper = load_handler("scraper").make_handler(lambda: app)
    app.queue.send([_message(MARCH[-1:])])
    (message,) = app.queue.receive(10)
    with pytest.raises(ClientError, match="throttled"):  # the invocation fails: redelivered
        scraper(sqs_event([message]), FakeLambdaContext("scraper"))
    assert app.store.query(USD, MARCH[-1], MARCH[-1])[0].status is Status.OK
    assert data_version(app.store) == INITIAL

    failing[0] = False
    redelivered = replace(message, receive_count=2)  # as SQS hands it back after its timeout
    assert scraper(sqs_event([redelivered]), FakeLambdaContext("scraper")) == {
        "batchItemFailures": []
    }
    assert data_version(app.store) != INITIAL


def test_a_last_delivery_whose_run_log_is_throttled_still_moves_the_version(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message's last delivery (its receive count at the queue's ``max_receives``) stores
    the new value, then its run log is throttled past every retry. The invocation failed, so
    SQS's RedrivePolicy moved the message, its value stored and versioned, to the DLQ (and
    would have redelivered the rest of a batch whose work was done, to be fetched again only
    for a log). A run log that fails is logged and counted (``RunLogFailed``) instead: the
    batch is done, nothing is dead-lettered, and the version moved before it."""
    app = _march_but_its_last_day(aws_home)
    _throttle_puts(aws_home, lambda item: item["info_type"]["S"].startswith("RUN"))
    scraper = load_handler("scraper").make_handler(lambda: app)
    app.queue.send([_message(MARCH[-1:])])
    (message,) = app.queue.receive(10)
    last = replace(message, receive_count=app.queue.max_receives)

    response = scraper(sqs_event([last]), FakeLambdaContext("scraper"))

    assert response == {"batchItemFailures": []}  # done: SQS deletes it, dead-letters nothing
    assert app.store.query(USD, MARCH[-1], MARCH[-1])[0].status is Status.OK
    assert data_version(app.store) != INITIAL
    assert app.store.last_runs() == []  # the log was refused indeed
    assert emf_metric(capsys.readouterr().out, "RunLogFailed") == 1


def test_a_last_delivery_whose_version_write_is_throttled_leaves_a_debt_the_outlook_pays(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message's last delivery stores the new value, then its data version write is
    throttled past every retry. The invocation failed, SQS dead-lettered the message, and no
    redelivery came to write the version (a redrive from the DLQ is a first delivery, which
    finds the value stored and changes nothing): the stored views kept the store as it was
    until some other change. The batch's debt is in ``data_unmarked`` now, entered before its
    first message was handled; the batch is done (nothing dead-lettered), and the outlook
    function's next run writes the version, clears the debt and stores the views for it."""
    app = _march_but_its_last_day(aws_home)
    throttling = [True]
    _throttle_puts(aws_home, lambda item: throttling[0] and _names(item, DATA_VERSION))
    scraper = load_handler("scraper").make_handler(lambda: app)
    app.queue.send([_message(MARCH[-1:])])
    (message,) = app.queue.receive(10)
    last = replace(message, receive_count=app.queue.max_receives)

    response = scraper(sqs_event([last]), FakeLambdaContext("scraper"))

    assert response == {"batchItemFailures": []}
    assert app.store.query(USD, MARCH[-1], MARCH[-1])[0].status is Status.OK
    assert data_version(app.store) == INITIAL
    assert unmarked(app.store)
    assert emf_metric(capsys.readouterr().out, "VersionOwed") == 1
    assert len(app.store.last_runs()) == 1  # the run log is written all the same

    throttling[0] = False
    load_handler("outlook").make_handler(lambda: app)(scheduled_event(), FakeLambdaContext("o"))

    assert data_version(app.store) != INITIAL
    assert not unmarked(app.store)
    assert app.store.get_meta(VIEWS_VERSION) == data_version(app.store)  # the views follow it


def test_a_last_delivery_refused_its_debt_and_its_version_owes_it_in_its_run_log(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message's last delivery stores the new value, then the ``META`` partition refuses
    every write past botocore's retries: the debt's entry in ``data_unmarked`` as well as the
    version. Before, nothing recorded the debt: the outlook function found none to pay, and
    the stored views kept the store as it was until some other change. The batch's run log
    (in its own partition) carries it now, and the outlook function's daily run pays it,
    once: the next day's run writes no version for it."""
    app = _march_but_its_last_day(aws_home)
    throttling = [True]
    _throttle_puts(
        aws_home,
        lambda item: throttling[0] and (_names(item, DATA_VERSION) or _names(item, UNMARKED)),
    )
    scraper = load_handler("scraper").make_handler(lambda: app)
    app.queue.send([_message(MARCH[-1:])])
    (message,) = app.queue.receive(10)
    last = replace(message, receive_count=app.queue.max_receives)

    assert scraper(sqs_event([last]), FakeLambdaContext("scraper")) == {"batchItemFailures": []}

    assert app.store.query(USD, MARCH[-1], MARCH[-1])[0].status is Status.OK
    assert data_version(app.store) == INITIAL
    assert not unmarked(app.store)  # refused: no debt there
    assert emf_metric(capsys.readouterr().out, "VersionOwed") == 1
    (run,) = app.store.last_runs()
    assert run.counts[RUN_VERSION_OWED] == 1

    throttling[0] = False
    later = replace(app, clock=FixedClock(NOW + timedelta(minutes=10)))
    outlook = load_handler("outlook").make_handler(lambda: later)
    outlook(scheduled_event(), FakeLambdaContext("o"))  # every 10 minutes: nothing to pay
    assert data_version(app.store) == INITIAL

    outlook(scheduled_event({"force": True}), FakeLambdaContext("o"))  # the daily run
    assert emf_metric(capsys.readouterr().out, "VersionsOwedPaid") == 1
    version = data_version(app.store)
    assert version != INITIAL
    assert app.store.get_meta(VIEWS_VERSION) == version  # the views follow it

    next_day = replace(app, clock=FixedClock(NOW + timedelta(days=1)))
    load_handler("outlook").make_handler(lambda: next_day)(
        scheduled_event({"force": True}), FakeLambdaContext("o")
    )
    assert data_version(app.store) == version  # paid once


def _throttle_queries(aws_home: AwsHome, when: Callable[[str], bool]) -> None:
    """Every Query whose parameters (as text) ``when`` holds is refused as throttled, past
    botocore's retries."""
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}},
        "Query",
    )

    def refuse(params: dict[str, Any], **_: object) -> None:
        if when(json.dumps(params, default=str)):
            raise throttled

    aws_home.dynamodb.meta.events.register("before-parameter-build.dynamodb.Query", refuse)


@pytest.mark.parametrize("refused", ["run-log query", "version write"])
def test_a_daily_run_log_check_the_table_refuses_fails_no_refresh_and_the_next_day_pays(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str], refused: str
) -> None:
    """The outlook function's daily run checks the scraper's run logs for a version a batch
    owes (``pay_runs_owed``). A throttled Query of those logs, or a refused version write,
    failed the whole run before: that day's forced refresh and views were lost. Now the run
    goes on (refresh and views), the failure is logged and counted (``DebtCheckFailed``), the
    last-check instant is not moved, and the next day's run pays the debt."""
    app = _march_but_its_last_day(aws_home)
    meta_down, runs_down = [True], [False]
    _throttle_puts(
        aws_home,
        lambda item: meta_down[0] and (_names(item, DATA_VERSION) or _names(item, UNMARKED)),
    )
    _throttle_queries(aws_home, lambda text: runs_down[0] and "RUN#scraper" in text)
    scraper = load_handler("scraper").make_handler(lambda: app)
    app.queue.send([_message(MARCH[-1:])])
    (message,) = app.queue.receive(10)
    last = replace(message, receive_count=app.queue.max_receives)
    assert scraper(sqs_event([last]), FakeLambdaContext("scraper")) == {"batchItemFailures": []}
    (run,) = app.store.last_runs()
    assert run.counts[RUN_VERSION_OWED] == 1  # the debt is in the run log only
    capsys.readouterr()
    if refused == "run-log query":
        meta_down[0], runs_down[0] = False, True

    result = load_handler("outlook").make_handler(lambda: app)(
        scheduled_event({"force": True}), FakeLambdaContext("o")
    )

    assert result["refreshed"] == 1  # the forced refresh was not lost to the check
    out = capsys.readouterr().out
    assert emf_metric(out, "DebtCheckFailed") == 1
    assert "VersionsOwedPaid" not in out
    assert app.store.get_meta(RUNS_CHECKED) is None  # not advanced: the next day reads again
    assert data_version(app.store) == INITIAL

    meta_down[0], runs_down[0] = False, False
    next_day = replace(app, clock=FixedClock(NOW + timedelta(days=1)))
    load_handler("outlook").make_handler(lambda: next_day)(
        scheduled_event({"force": True}), FakeLambdaContext("o")
    )
    out = capsys.readouterr().out
    assert emf_metric(out, "VersionsOwedPaid") == 1
    assert "DebtCheckFailed" not in out
    assert data_version(app.store) != INITIAL


def test_a_debt_payment_the_table_refuses_fails_no_run_and_the_next_run_pays(
    aws_home: AwsHome, capsys: pytest.CaptureFixture[str]
) -> None:
    """A debt in ``data_unmarked`` whose version write is refused (throttled past botocore's
    retries) when the outlook function pays it: before, every 10-minute run failed there,
    refresh and views included, while the table refused. Now it is logged and counted
    (``DebtCheckFailed``), the views are stored, the debt stays, and the next run pays it."""
    app = _march_but_its_last_day(aws_home)
    throttling = [True]
    _throttle_puts(aws_home, lambda item: throttling[0] and _names(item, DATA_VERSION))
    scraper = load_handler("scraper").make_handler(lambda: app)
    app.queue.send([_message(MARCH[-1:])])
    (message,) = app.queue.receive(10)
    last = replace(message, receive_count=app.queue.max_receives)
    assert scraper(sqs_event([last]), FakeLambdaContext("scraper")) == {"batchItemFailures": []}
    assert unmarked(app.store)
    capsys.readouterr()
    outlook = load_handler("outlook").make_handler(lambda: app)

    result = outlook(scheduled_event(), FakeLambdaContext("o"))

    assert emf_metric(capsys.readouterr().out, "DebtCheckFailed") == 1
    assert result.get("views_stored", 0) > 0  # the run went on to its views
    assert unmarked(app.store)  # the debt waits for the next run
    assert data_version(app.store) == INITIAL

    throttling[0] = False
    outlook(scheduled_event(), FakeLambdaContext("o"))
    assert emf_metric(capsys.readouterr().out, "VersionsOwedPaid") == 1
    assert not unmarked(app.store)
    assert data_version(app.store) != INITIAL


def test_the_debt_deploy_md_has_an_operator_enter_is_one_the_outlook_pays(
    aws_home: AwsHome,
) -> None:
    """DEPLOY.md's ``aws dynamodb put-item`` for a debt recorded nowhere (VersionOwedAlarm
    with RunLogFailedAlarm): its item is a ``data_unmarked`` entry the outlook function's next
    run pays with a version; written again while an entry is there, it is refused."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "DEPLOY.md").read_text("utf-8")
    [command] = re.findall(r"`aws dynamodb put-item (.*?)`", text)
    quoted = dict(re.findall(r"--([a-z-]+) '([^']*)'", command))
    put = {
        "TableName": aws_home.settings.table_name,
        "Item": json.loads(quoted["item"]),
        "ConditionExpression": quoted["condition-expression"],
        "ExpressionAttributeNames": json.loads(quoted["expression-attribute-names"]),
        "ExpressionAttributeValues": json.loads(quoted["expression-attribute-values"]),
    }
    app = _march_but_its_last_day(aws_home)
    _scrape_the_last_day(app)
    version = data_version(app.store)
    aws_home.dynamodb.put_item(**put)
    assert unmarked(app.store)
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        aws_home.dynamodb.put_item(**put)

    load_handler("outlook").make_handler(lambda: app)(scheduled_event(), FakeLambdaContext("o"))

    assert data_version(app.store) != version
    assert not unmarked(app.store)


class _Killed(BaseException):
    """The Lambda's process stopping at this point (its timeout, an out-of-memory kill): no
    ``except Exception`` of the handler sees it."""


def test_a_last_delivery_killed_before_its_version_leaves_a_debt_the_outlook_pays(
    aws_home: AwsHome,
) -> None:
    """Killed between storing the value and writing the version on the message's last
    delivery: SQS dead-letters it after the timeout, and only the debt entered before the
    batch was handled still says a version is owed; the outlook function's next run pays it.
    Before, nothing recorded it, so the version (and the stored views) stayed as they were."""
    app = _march_but_its_last_day(aws_home)
    killing = [True]

    def kill(params: dict[str, Any], **_: object) -> None:
        if killing[0] and _names(params["Item"], DATA_VERSION):
            raise _Killed

    aws_home.dynamodb.meta.events.register("before-parameter-build.dynamodb.PutItem", kill)
    scraper = load_handler("scraper").make_handler(lambda: app)
    app.queue.send([_message(MARCH[-1:])])
    (message,) = app.queue.receive(10)
    last = replace(message, receive_count=app.queue.max_receives)
    with pytest.raises(_Killed):
        scraper(sqs_event([last]), FakeLambdaContext("scraper"))
    assert app.store.query(USD, MARCH[-1], MARCH[-1])[0].status is Status.OK
    assert data_version(app.store) == INITIAL

    killing[0] = False
    load_handler("outlook").make_handler(lambda: app)(scheduled_event(), FakeLambdaContext("o"))

    assert data_version(app.store) != INITIAL
    assert not unmarked(app.store)


class _OutlookRunsThenKilled(TableSource):
    """The source of a batch: while its first message is fetched the outlook function runs
    (every 10 minutes, whatever the scraper is doing); its second fetch is the kill."""

    def __init__(self, values: dict[tuple[str, date], Decimal], outlook: Callable[[], Any]):
        super().__init__("bcb", values)
        self.outlook = outlook

    def fetch(self, request: Any) -> Any:
        if len(self.calls) == 1:
            raise _Killed
        self.outlook()
        return super().fetch(request)


def test_a_last_delivery_killed_after_the_outlook_paid_its_debt_mid_batch_still_owes(
    aws_home: AwsHome,
) -> None:
    """The outlook function pays the debts it finds, and a last-delivery batch's debt is in
    ``data_unmarked`` from before its first message. The outlook run pays it while the batch
    is still fetching, the first message then stores its value (after that version), and the
    batch is killed on its second message. The batch re-enters its debt after each message it
    handled, so the value stored after the outlook's version is still owed one; before, the
    debt was entered only at the start and the end, and this value stayed in no version."""
    values = {(USD, d): Decimal("5.7") + Decimal(i) / 1000 for i, d in enumerate(MARCH)}
    holder: list[StageContext] = []
    outlook = load_handler("outlook").make_handler(lambda: holder[0])

    def outlook_runs() -> None:
        outlook(scheduled_event(), FakeLambdaContext("o"))

    app = aws_home.app(FixedClock(NOW), {"bcb": _OutlookRunsThenKilled(values, outlook_runs)})
    holder.append(app)
    app.store.put_records([Record(USD, d, values[(USD, d)], Status.OK) for d in MARCH[:-2]])
    app.queue.send([_message(MARCH[-2:-1]), _message(MARCH[-1:])])
    messages = app.queue.receive(10)
    assert len(messages) == 2
    last = [replace(m, receive_count=app.queue.max_receives) for m in messages]
    scraper = load_handler("scraper").make_handler(lambda: app)

    with pytest.raises(_Killed):
        scraper(sqs_event(last), FakeLambdaContext("scraper"))

    stored = app.store.query(USD, MARCH[-2], MARCH[-1])
    # the killed one's date PENDING: its last delivery made it so before it was handled
    # (stages/scrape.py hold_last_delivery; before, it had no record, a gap sent again)
    assert [(r.date, r.status) for r in stored] == [
        (MARCH[-2], Status.OK),
        (MARCH[-1], Status.PENDING),
    ]
    assert data_version(app.store) != INITIAL  # the outlook's, written before that value
    assert unmarked(app.store)  # the value stored since is owed a version
    version = data_version(app.store)

    outlook_runs()

    assert data_version(app.store) != version
    assert not unmarked(app.store)


def test_a_batch_with_no_last_delivery_reads_and_writes_no_debt(aws_home: AwsHome) -> None:
    """The debt costs nothing on the common path: only a batch holding a message on its last
    delivery enters one (a failure on an earlier delivery is redelivered, and the redelivery
    writes the version)."""
    app = _march_but_its_last_day(aws_home)
    touched: list[str] = []

    def note(params: dict[str, Any], **_: object) -> None:
        if _names(params.get("Key") or params.get("Item") or {}, UNMARKED):
            touched.append(str(params))

    for operation in ("GetItem", "PutItem"):
        aws_home.dynamodb.meta.events.register(f"before-parameter-build.dynamodb.{operation}", note)
    _scrape_the_last_day(app)

    assert data_version(app.store) != INITIAL
    assert touched == []


def _names(item: dict[str, Any], name: str) -> bool:
    """The DynamoDB item (or key) is the meta entry ``name``."""
    return (item["info_type"]["S"], item["date"]["S"]) == ("META", name)


def _throttle_puts(aws_home: AwsHome, when: Callable[[dict[str, Any]], bool]) -> None:
    """Every PutItem of an item ``when`` holds is refused as throttled, past botocore's retries."""
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}},
        "PutItem",
    )

    def refuse(params: dict[str, Any], **_: object) -> None:
        if when(params["Item"]):
            raise throttled

    aws_home.dynamodb.meta.events.register("before-parameter-build.dynamodb.PutItem", refuse)


class _CountingStore(ReadCounting, DynamoDbStore):
    """The AWS home's store on the same table, counting the series reads a builder makes."""


class _TimeRunsOut(FakeLambdaContext):
    """An invocation with time for ``views`` more views (each asks once before it starts)."""

    def __init__(self, name: str, views: int) -> None:
        super().__init__(name)
        self.asked = 0
        self.views = views

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return int((VIEW_MIN_S + (1 if self.asked <= self.views else -1)) * 1000)


def _march_but_its_last_day(aws_home: AwsHome) -> StageContext:
    """The AWS home with March 2025's USD stored but its last day, which its source has."""
    values = {(USD, d): Decimal("5.7") + Decimal(i) / 1000 for i, d in enumerate(MARCH)}
    app = aws_home.app(FixedClock(NOW), {"bcb": TableSource("bcb", values)})
    app.store.put_records([Record(USD, d, values[(USD, d)], Status.OK) for d in MARCH[:-1]])
    return app


def _scrape_the_last_day(app: StageContext) -> None:
    """The scraper Lambda stores March's last day (a new data version)."""
    app.queue.send([_message(MARCH[-1:])])
    messages = app.queue.receive(10)
    load_handler("scraper").make_handler(lambda: app)(
        sqs_event(messages), FakeLambdaContext("scraper")
    )
    app.queue.delete([m.receipt for m in messages])


def _query_string(params: Params) -> str:
    return urlencode([(name, ",".join(values)) for name, values in params])


def test_the_outlook_function_stores_the_views_the_dashboard_then_serves(
    aws_home: AwsHome,
) -> None:
    """A scraper batch moves the data version; the outlook function's next run stores every
    default view under that exact version (a run short of time stores what it can, and leaves
    the version for the next run to finish); the dashboard function then answers each from
    the table with that version as its ETag, reading no series' history."""
    app = _march_but_its_last_day(aws_home)
    _scrape_the_last_day(app)
    version = data_version(app.store)
    assert version != INITIAL
    outlook = load_handler("outlook").make_handler(lambda: app)

    short = outlook(scheduled_event(), _TimeRunsOut("outlook", views=3))
    assert short == {"refreshed": 1, **_NOTHING_MADE, "views_stored": 3, "views_unfinished": 1}
    assert app.store.get_meta(VIEWS_VERSION) is None  # left for the next run

    rest = outlook(scheduled_event(), FakeLambdaContext("outlook"))
    requests = default_requests(MetaView.model_validate_json(_stored(app, "/api/meta", ())[2]))
    assert rest == {"refreshed": 0, "views_stored": len(requests) - 3, "views_unfinished": 0}
    assert app.store.get_meta(VIEWS_VERSION) == version
    for path, params in requests:
        stored_version, stored_params, _ = _stored(app, path, params)
        assert stored_params == params
        assert stored_version.split(".")[0] == version  # health: "<version>.<its inputs>"
    assert outlook(scheduled_event(), FakeLambdaContext("outlook")) == {"refreshed": 0}

    counting = _CountingStore(aws_home.dynamodb, aws_home.settings.table_name)
    api = load_handler("dashboard_api").make_handler(lambda: replace(app, store=counting))
    for path, params in requests:
        event = function_url_event(path, _query_string(params), {"accept": "application/json"})
        response = api(event, FakeLambdaContext("dashboard_api"))
        assert response["statusCode"] == 200, (path, response["body"])
        assert response["headers"]["etag"] == view_etag(_stored(app, path, params)[0])
        assert json.loads(response["body"]) == json.loads(_stored(app, path, params)[2])
    assert (counting.presents, counting.queries) == (0, 0)  # no series read: nothing built


_NOTHING_MADE = {"made": 0, "unchanged": 0, "too_short": 231, "scored": 0, "problems": 0}
"""The outlook run on USD alone: each of the 231 fuel series too short for a forecast."""


def _stored(app: StageContext, path: str, params: Params) -> tuple[str, Params, bytes]:
    value = app.store.get_meta(entry_name(path, params))
    assert value is not None, (path, params)
    return decode(value)


def test_the_outlook_function_prunes_the_views_no_version_serves(aws_home: AwsHome) -> None:
    """On the table, the outlook function's refresh of the views deletes the ``VIEW#`` items
    of versions that can no longer be current (a past window's, stored before the scraper's
    change), keeps one another function stored at the current version, and no other item."""
    app = _march_but_its_last_day(aws_home)
    past: Params = (("keys", (USD,)), ("start", ("2024-03-03",)))
    app.store.put_meta(entry_name("/api/indices", past), encode(INITIAL, past, b"{}"))
    app.store.put_meta("views_note", encode(INITIAL, past, b"{}"))  # no view's name
    _scrape_the_last_day(app)
    version = data_version(app.store)
    current: Params = (("keys", (USD,)), ("start", ("2025-03-02",)))  # the dashboard's, lazily
    app.store.put_meta(entry_name("/api/indices", current), encode(version, current, b"{}"))

    outlook = load_handler("outlook").make_handler(lambda: app)
    assert outlook(scheduled_event(), FakeLambdaContext("outlook"))["views_unfinished"] == 0
    assert app.store.get_meta(entry_name("/api/indices", past)) is None
    assert app.store.get_meta(entry_name("/api/indices", current)) is not None
    assert app.store.get_meta("views_note") == encode(INITIAL, past, b"{}")
    requests = default_requests(MetaView.model_validate_json(_stored(app, "/api/meta", ())[2]))
    for path, params in requests:
        assert _stored(app, path, params)[0].split(".")[0] == version
