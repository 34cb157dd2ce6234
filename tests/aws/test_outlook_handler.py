"""The outlook Lambda keeps the AWS home's outlook fresh: it refreshes when the data version
moved, does nothing (two small reads) when it did not, and refreshes anyway when forced; a
refresh that stored or scored forecasts evaluates the alert rules at once (not at the next
hourly retry_recheck), with the recheck's time guard and without either sending an alert twice.

Real history (datasets/: Brazil's gasoline, PTAX USD, Brent, BZ=F) on a dynalite table; the
alert topic on moto_server."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, emf_metric, load_handler, scheduled_event
from tests.aws.conftest import AwsHome
from tests.aws.test_realtime_handlers import _SecondsLeft
from tests.outlook.conftest import DATASETS, store_known
from tests.stages.conftest import NOW
from tests.support.aws_backends import drain_sns_inbox, sns_topic_with_inbox

from fuelpipe.adapters.alerts import DynamoAlertState, SnsSink
from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.domain.alerts import ActiveAlert, Alert
from fuelpipe.domain.keys import outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws_alerts import ALERT_MIN_S
from fuelpipe.ports.alerts import AlertDelivery, AlertSink, AlertState, DeliveryReport
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import data_version, mark_changed
from fuelpipe.stages.outlook import OUTLOOK_VERSION

pytestmark = pytest.mark.aws

KEYS = ("FUEL#GASOLINE#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES")
LANDS = date(2022, 3, 25)  # a PTAX day that lands after the first refresh: the Friday week
# 2022-03-20 was published (18:00, after PTAX at 13:10), so the served forecast reads it


def test_refreshes_when_the_version_moved_and_only_then(aws_home: AwsHome) -> None:
    history = load_history(DATASETS, with_areas=False)
    app = aws_home.app(FixedClock(NOW))
    store_known(app.store, history, KEYS, NOW, LANDS)
    handler = load_handler("outlook").make_handler(lambda: app)
    # each run its own context, as Lambda gives each invocation its own deadline: one context
    # for the five runs left the later ones less than VIEW_MIN_S on a loaded host (views
    # unfinished, the next run storing them: no {"refreshed": 0})
    context = partial(FakeLambdaContext, "outlook")
    outlook = outlook_key("GASOLINE", "BR")

    first = handler(scheduled_event(), context())
    assert (first["refreshed"], first["made"]) == (1, 1)  # only Brazil's gasoline has history
    assert app.store.get_meta(OUTLOOK_VERSION) == data_version(app.store)  # its own version
    (stored,) = app.store.query(outlook)
    assert "usd=2022-03-24" in str(stored.attrs["inputs"])

    assert handler(scheduled_event(), context()) == {"refreshed": 0}  # nothing landed

    # The scraper stores the next PTAX day and moves the data version, as its Lambda does.
    usd = dict(history.series["CURRENCY#USD"])
    app.store.put_records([Record("CURRENCY#USD", LANDS, Decimal(str(usd[LANDS])), Status.OK)])
    mark_changed(app.store, NOW, "scraper")
    again = handler(scheduled_event(), context())
    assert (again["refreshed"], again["made"]) == (1, 1)
    (stored,) = app.store.query(outlook)
    assert "usd=2022-03-25" in str(stored.attrs["inputs"])
    assert handler(scheduled_event(), context()) == {"refreshed": 0}

    forced = handler(scheduled_event({"force": True}), context())  # the daily run
    assert (forced["refreshed"], forced["made"], forced["unchanged"]) == (1, 0, 1)


RISING = datetime(2021, 3, 18, 20, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
"""A Thursday evening when the real history's forecast of Brazil's gasoline expects a rise of
3.4% within two weeks (5.492 -> 5.681 BRL/l): the outlook_move rule fires on it."""
MOVE = ("FIRING", "FUEL#GASOLINE#BR:rise")


def _rising(aws_home: AwsHome) -> StageContext:
    """The AWS home at RISING, holding the real history known then: no forecast stored yet."""
    app = aws_home.app(FixedClock(RISING))
    store_known(app.store, load_history(DATASETS, with_areas=False), KEYS, RISING)
    mark_changed(app.store, RISING, "scraper")
    return app


def _moves(bodies: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(b["kind"], b["subject"]) for b in bodies if b["rule"] == "outlook_move"]


def test_a_refresh_publishes_the_outlook_alert_at_once_and_the_recheck_not_again(
    aws_home: AwsHome, moto_server: Any
) -> None:
    """The refresh stores a forecast expecting a rise: its alert goes to the topic from the
    outlook run itself. The hourly recheck then finds it active and sends nothing more; a run
    whose refresh changed nothing (the daily forced one) evaluates nothing."""
    sns, sqs, topic, inbox = sns_topic_with_inbox(moto_server, f"ol-{aws_home.settings.table_name}")
    app = _rising(aws_home)
    state = DynamoAlertState(
        aws_home.dynamodb, aws_home.settings.table_name, clock=FixedClock(RISING)
    )
    alerting = lambda: (state, [SnsSink(sns, topic)])  # noqa: E731
    outlook = load_handler("outlook").make_handler(lambda: app, alerting)

    first = outlook(scheduled_event(), FakeLambdaContext("outlook"))

    assert (first["refreshed"], first["made"], first["alerts_skipped"]) == (1, 1, 0)
    assert first["alerts_firing"] >= 1
    assert _moves(drain_sns_inbox(sqs, inbox)) == [MOVE]
    assert "outlook_move:FUEL#GASOLINE#BR:rise" in state.load()

    recheck = load_handler("retry_recheck").make_handler(lambda: app, alerting)
    recheck(scheduled_event(), FakeLambdaContext("retry_recheck"))
    forced = outlook(scheduled_event({"force": True}), FakeLambdaContext("outlook"))

    assert _moves(drain_sns_inbox(sqs, inbox)) == []  # still holding: neither sends it again
    assert (forced["made"], forced["scored"]) == (0, 0)
    assert not any(k.startswith("alert") for k in forced)  # nothing changed: not evaluated


class _OtherRunsFirst(AlertState):
    """The real alert state, whose outbox's first alert lets ``other`` (another Lambda's whole
    run: evaluation, save and delivery) go between this evaluation's load and its save, as two
    functions running at once on one table."""

    def __init__(self, state: AlertState, other: Callable[[], object]) -> None:
        self._state = state
        self._other: Callable[[], object] | None = other

    def load(self) -> dict[str, ActiveAlert]:
        return self._state.load()

    def save(self, active: Mapping[str, ActiveAlert]) -> None:
        self._state.save(active)

    def deliver(self, sinks: Sequence[AlertSink]) -> DeliveryReport:
        return self._state.deliver(sinks)

    def delivery(self) -> AlertDelivery:
        return self._state.delivery()

    def outbox(self, sinks: Iterable[str]) -> AlertSink:
        outbox, wrapper = self._state.outbox(sinks), self

        class _Interleaved(AlertSink):
            name = outbox.name

            def send(self, alert: Alert) -> None:
                if wrapper._other is not None:
                    other, wrapper._other = wrapper._other, None
                    other()
                outbox.send(alert)

        return _Interleaved()


def test_the_outlook_and_the_recheck_evaluating_at_once_send_the_alert_once(
    aws_home: AwsHome, moto_server: Any
) -> None:
    """The outlook run finds the rise starting; before it saves, a retry_recheck run finds it
    too, saves and publishes it. The outlook run's save then finds the active set changed,
    evaluates again against it and queues nothing: the topic gets the alert once."""
    sns, sqs, topic, inbox = sns_topic_with_inbox(
        moto_server, f"two-{aws_home.settings.table_name}"
    )
    app = _rising(aws_home)
    table, clock = aws_home.settings.table_name, FixedClock(RISING)
    sink = SnsSink(sns, topic)
    recheck = load_handler("retry_recheck").make_handler(
        lambda: app, lambda: (DynamoAlertState(aws_home.dynamodb, table, clock=clock), [sink])
    )
    own = DynamoAlertState(aws_home.dynamodb, table, clock=clock)
    state = _OtherRunsFirst(own, lambda: recheck(scheduled_event(), FakeLambdaContext("r")))
    outlook = load_handler("outlook").make_handler(lambda: app, lambda: (state, [sink]))

    result = outlook(scheduled_event(), FakeLambdaContext("outlook"))

    assert result["made"] == 1 and result["alerts_firing"] == 0  # redone: the recheck fired it
    assert _moves(drain_sns_inbox(sqs, inbox)) == [MOVE]
    assert "outlook_move:FUEL#GASOLINE#BR:rise" in own.load()


def test_an_outlook_run_short_of_time_skips_the_alerts_and_the_recheck_sends_them(
    aws_home: AwsHome,
    moto_server: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refresh that used the function's time leaves the alerts too little: they are skipped
    with a line and the AlertsSkipped metric (its alarm covers this function too), nothing is
    saved or queued, and the next retry_recheck publishes them."""
    sns, sqs, topic, inbox = sns_topic_with_inbox(
        moto_server, f"late-{aws_home.settings.table_name}"
    )
    app = _rising(aws_home)
    table = aws_home.settings.table_name
    state = DynamoAlertState(aws_home.dynamodb, table, clock=FixedClock(RISING))
    alerting = lambda: (state, [SnsSink(sns, topic)])  # noqa: E731
    outlook = load_handler("outlook").make_handler(lambda: app, alerting)

    late = outlook(scheduled_event(), _SecondsLeft("outlook", seconds=ALERT_MIN_S - 1))

    assert (late["made"], late["alerts_skipped"]) == (1, 1) and "alerts_firing" not in late
    assert "alert evaluation skipped: too little time left" in caplog.text
    assert emf_metric(capsys.readouterr().out, "AlertsSkipped") == 1
    assert "Item" not in aws_home.dynamodb.get_item(TableName=table, Key=DynamoAlertState.KEY)
    assert drain_sns_inbox(sqs, inbox) == []

    recheck = load_handler("retry_recheck").make_handler(lambda: app, alerting)
    recheck(scheduled_event(), FakeLambdaContext("retry_recheck"))
    assert _moves(drain_sns_inbox(sqs, inbox)) == [MOVE]
