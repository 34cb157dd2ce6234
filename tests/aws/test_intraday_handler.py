"""The intraday Lambda in the AWS home: the day's PTAX bulletins and 15-minute bars, fetched
from the replay server's real data over HTTP by the sources the composition root builds, stored
on dynalite under ``INTRADAY#<key>#<day>`` with ``expires_at``.

2020-09-16 is a day both real intraday files hold: the PTAX windows (four windows and the
closing) and PETR4's 15-minute bars (31 bars); the replay has no intraday bars of the other
symbols, so their answers are empty, as Yahoo's are for a day it no longer keeps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, emf_blobs, load_handler, scheduled_event
from devtools.aws.servers import LocalServer
from tests.support.aws_backends import unique_name

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.dynamodb_store import TTL_ATTRIBUTE, create_table
from fuelpipe.adapters.intraday_store import DynamoIntradayStore
from fuelpipe.domain.intraday import INTRADAY_SERIES, RETENTION, IntradayPoint
from fuelpipe.domain.keys import intraday_key
from fuelpipe.homes.aws import IntradayHome, build_intraday
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.intraday import IntradayStore, Upserted
from fuelpipe.replay import ReplayServer
from fuelpipe.replay.faults import FaultPlan

pytestmark = pytest.mark.aws

SP = ZoneInfo("America/Sao_Paulo")
# The day's sessions are over (B3 17:00, NYSE 16:00 New York) and the day window is still open
# (to 18:45 here in New York's summer, with its rerun): past it only BZ=F's evening is asked.
NOW = datetime(2020, 9, 16, 18, 30, tzinfo=SP)
DAY = NOW.date()
USD, PETR4 = "CURRENCY#USD", "STOCK#PETR4"
REAL_COUNTS = {USD: 5, PETR4: 31}  # opening, 3 intermediates, closing; B3's 15-minute session


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with ReplayServer(quiet=True) as server:
        yield server


@pytest.fixture
def table(dynalite_server: LocalServer) -> str:
    name = unique_name("intraday")
    create_table(dynalite_server.client("dynamodb"), name, delay_s=0.05)
    return name


def home_on(
    server: ReplayServer, table: str, dynalite: LocalServer, now: datetime = NOW
) -> IntradayHome:
    """The AWS composition root's intraday home: real HTTP sources on the replay, the table."""
    urls = {f"source_{n}_url": u for n, u in server.source_urls().items()}
    settings = Settings(backend="aws", table_name=table, yahoo_min_interval_s=0,
                        http_attempts=1, http_backoff_s=0, **urls)  # fmt: skip
    return build_intraday(
        settings, clock=FixedClock(now), dynamodb_client=dynalite.client("dynamodb")
    )


def items(dynalite: LocalServer, table: str, key: str) -> list[dict[str, Any]]:
    """Every item of one intraday partition, read back with a Query."""
    paginator = dynalite.client("dynamodb").get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        KeyConditionExpression="info_type = :pk",
        ExpressionAttributeValues={":pk": {"S": intraday_key(key, DAY)}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def item_count(dynalite: LocalServer, table: str) -> int:
    """Every item of the table (a Scan: the test's own check, never the handler's)."""
    paginator = dynalite.client("dynamodb").get_paginator("scan")
    return sum(page["Count"] for page in paginator.paginate(TableName=table))


def invoke(home: IntradayHome, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    handler = load_handler("intraday").make_handler(lambda: home)
    result: dict[str, Any] = handler(scheduled_event(detail, scheduler=True),
                                     FakeLambdaContext("intraday"))  # fmt: skip
    return result


def test_stores_the_days_points_with_their_expiry_and_a_rerun_stores_no_duplicate(
    replay: ReplayServer,
    table: str,
    dynalite_server: LocalServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = home_on(replay, table, dynalite_server)

    first = invoke(home)

    assert first == {
        "day": "2020-09-16",
        "series": len(INTRADAY_SERIES),
        "points_written": sum(REAL_COUNTS.values()),
        "purged": 0,  # DynamoDB's TTL removes expired points on its own
        "failed": 0,
        "no_session": 0,
        "problems": [],
    }
    usd, petr4 = items(dynalite_server, table, USD), items(dynalite_server, table, PETR4)
    assert (len(usd), len(petr4)) == (REAL_COUNTS[USD], REAL_COUNTS[PETR4])
    assert [i["kind"]["S"] for i in usd] == [
        "Abertura", "Intermediário", "Intermediário", "Intermediário", "Fechamento",
    ]  # fmt: skip
    bar = petr4[0]  # the session's first real bar, sorted by time of day
    assert (bar["date"]["S"], Decimal(bar["value"]["N"])) == ("10:00:00", Decimal("21.78"))
    for item in usd + petr4:
        at = datetime.fromisoformat(item["at"]["S"])
        assert int(item[TTL_ATTRIBUTE]["N"]) == int((at + RETENTION).timestamp())
    out = capsys.readouterr().out
    points = [b["IntradayPoints"] for b in emf_blobs(out) if "IntradayPoints" in b]
    assert points == [[sum(REAL_COUNTS.values())]]

    # The next scheduled run (or a redelivered event) re-reads the same day: same items.
    later = home_on(replay, table, dynalite_server, NOW + timedelta(minutes=15))
    assert invoke(later)["points_written"] == sum(REAL_COUNTS.values())
    assert len(items(dynalite_server, table, USD)) == REAL_COUNTS[USD]
    assert len(items(dynalite_server, table, PETR4)) == REAL_COUNTS[PETR4]
    # nothing else but, for each series the source answered with no point that day (the
    # bundle has no bar of them), one NONE item the Today panel reads (note_none), replaced
    answered_none = len(INTRADAY_SERIES) - len(REAL_COUNTS)
    assert item_count(dynalite_server, table) == sum(REAL_COUNTS.values()) + answered_none


def test_a_failing_source_is_reported_and_the_other_series_are_stored(
    table: str, dynalite_server: LocalServer
) -> None:
    with ReplayServer(quiet=True, faults=FaultPlan.parse("bcb:5xx=1")) as failing_bcb:
        home = home_on(failing_bcb, table, dynalite_server)
        result = invoke(home)

    assert (result["series"], result["failed"]) == (len(INTRADAY_SERIES), 1)
    (problem,) = result["problems"]
    assert problem.startswith(f"{USD}: bcb: ") and "server error" in problem, problem
    assert result["points_written"] == REAL_COUNTS[PETR4]
    assert items(dynalite_server, table, USD) == []
    assert len(items(dynalite_server, table, PETR4)) == REAL_COUNTS[PETR4]


def test_every_series_failing_fails_the_invocation_for_the_errors_alarm(
    table: str, dynalite_server: LocalServer
) -> None:
    handler_module = load_handler("intraday")
    with ReplayServer(quiet=True, faults=FaultPlan.parse("all:5xx=1")) as down:
        home = home_on(down, table, dynalite_server)
        with pytest.raises(handler_module.IntradayFailed, match=f"{USD}: .*{PETR4}: "):
            invoke(home)
    assert item_count(dynalite_server, table) == 0


class SplitStore(IntradayStore):
    """The home's real store, except that one series' points go to a real DynamoDB store on a
    table that does not exist: its writes fail as DynamoDB fails them (a ClientError)."""

    def __init__(self, store: IntradayStore, failing: IntradayStore, series_key: str) -> None:
        self._store, self._failing, self._key = store, failing, series_key

    def put_points(self, points: Sequence[IntradayPoint]) -> Upserted:
        if any(p.series_key == self._key for p in points):
            return self._failing.put_points(points)
        return self._store.put_points(points)

    def day(self, series_key: str, day: date, now: datetime) -> list[IntradayPoint]:
        return self._store.day(series_key, day, now)

    def purge_expired(self, now: datetime) -> int:
        return self._store.purge_expired(now)


def test_a_store_error_on_one_series_is_reported_and_the_other_series_are_stored(
    replay: ReplayServer, table: str, dynalite_server: LocalServer
) -> None:
    home = home_on(replay, table, dynalite_server)
    missing = DynamoIntradayStore(dynalite_server.client("dynamodb"), unique_name("missing"))
    home = replace(home, store=SplitStore(home.store, missing, USD))

    result = invoke(home)

    assert (result["series"], result["failed"]) == (len(INTRADAY_SERIES), 1)
    (problem,) = result["problems"]
    assert problem.startswith(f"{USD}: store: ResourceNotFoundException: "), problem
    assert result["points_written"] == REAL_COUNTS[PETR4]
    assert items(dynalite_server, table, USD) == []
    assert len(items(dynalite_server, table, PETR4)) == REAL_COUNTS[PETR4]


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_the_store_failing_every_series_fails_the_invocation_for_the_errors_alarm(
    replay: ReplayServer, dynalite_server: LocalServer
) -> None:
    home = home_on(replay, unique_name("missing"), dynalite_server)  # no such table
    handler_module = load_handler("intraday")
    with pytest.raises(handler_module.IntradayFailed, match=f"{USD}: store: .*{PETR4}: store: "):
        invoke(home, {"series": [USD, PETR4]})


def test_a_series_whose_market_is_closed_is_not_asked(
    replay: ReplayServer, table: str, dynalite_server: LocalServer
) -> None:
    # 2020-10-12, Nossa Senhora Aparecida: no PTAX and no B3 session; NYSE and ICE trade.
    holiday = datetime(2020, 10, 12, 12, 0, tzinfo=SP)
    before = replay.request_counts
    result = invoke(home_on(replay, table, dynalite_server, holiday))
    after = replay.request_counts

    assert (result["series"], result["no_session"], result["failed"]) == (6, 4, 0)
    assert after["bcb"] == before["bcb"]  # PTAX was not asked at all
    assert after["yahoo"] - before["yahoo"] == 6  # XOM, CVX, SHEL, BP, TTE, BZ=F


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_detail_series_narrows_the_run_and_a_bad_event_is_refused(
    replay: ReplayServer, table: str, dynalite_server: LocalServer
) -> None:
    home = home_on(replay, table, dynalite_server)
    result = invoke(home, {"series": [USD]})
    assert (result["series"], result["points_written"]) == (1, REAL_COUNTS[USD])

    handler = load_handler("intraday").make_handler(lambda: home)
    with pytest.raises(ValueError, match="not a scheduled event fuelpipe understands: detail"):
        handler({"id": "x", "detail-type": "Scheduled Event", "source": "aws.scheduler",
                 "time": "now", "detail": {"series": "CURRENCY#USD"}},
                FakeLambdaContext("intraday"))  # fmt: skip
