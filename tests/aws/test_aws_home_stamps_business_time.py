"""The AWS home gives DynamoDB the injected business clock, so updated_at is business time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.cli.demo import DEMO_CLOCK
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.context import StageContext

THEN = datetime(2022, 5, 7, 23, 59, tzinfo=UTC)
THEN_BRT = datetime(2022, 5, 8, 2, 59, tzinfo=UTC)  # 2022-05-07T23:59-03:00


def test_the_aws_home_stamps_updated_at_with_the_injected_clock(aws_home: AwsHome) -> None:
    home = aws_home.app(FixedClock(THEN))
    try:
        home.store.put_records(
            [Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)]
        )
        home.store.put_pending(
            Record("CURRENCY#USD", date(2022, 5, 5), None, Status.PENDING, 0, THEN, "no value")
        )
        stamps = {r.date: r.updated_at for r in home.store.query("CURRENCY#USD")}
    finally:
        home.close()
    assert stamps == {date(2022, 5, 5): THEN, date(2022, 5, 6): THEN}


def _home_keeping(
    aws_home: AwsHome, settings: Settings, clock: FixedClock | None = None
) -> StageContext:
    return build_context(
        settings,
        clock=clock,
        sources={},
        dynamodb_client=aws_home.dynamodb,
        sqs_client=aws_home.sqs,
        clock_meta=DEMO_CLOCK,
    )


def test_a_table_the_demo_filled_runs_on_its_clock_in_the_stages_and_the_stamps(
    aws_home: AwsHome,
) -> None:
    """The CLI swapped only the stages' clock for an AWS table's demo clock after the home was
    built: the store went on stamping updated_at with this machine's date. The home now reads
    the table's clock once and gives it to both."""
    filler = aws_home.app(FixedClock(THEN))
    try:
        filler.store.put_meta(DEMO_CLOCK, "2022-05-07T23:59:00-03:00")
    finally:
        filler.close()
    home = _home_keeping(aws_home, aws_home.settings)
    try:
        assert home.clock.now() == THEN_BRT
        home.store.put_pending(
            Record("CURRENCY#USD", date(2022, 5, 5), None, Status.PENDING, 0, THEN, "no value")
        )
        (stored,) = home.store.query("CURRENCY#USD")
    finally:
        home.close()
    assert stored.updated_at == THEN_BRT

    given = FixedClock(datetime(2023, 1, 2, tzinfo=UTC))
    with_clock = _home_keeping(aws_home, aws_home.settings, clock=given)
    at_now = _home_keeping(aws_home, aws_home.settings.model_copy(update={"now": THEN}))
    try:  # a clock the caller gives, or --now, is used as it is
        assert with_clock.clock is given
        assert at_now.clock.now() == THEN
    finally:
        with_clock.close()
        at_now.close()
