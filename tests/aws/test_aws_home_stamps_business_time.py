"""The AWS home gives DynamoDB the injected business clock, so updated_at is business time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.models import Record, Status

THEN = datetime(2022, 5, 7, 23, 59, tzinfo=UTC)


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
