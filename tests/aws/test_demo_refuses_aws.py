"""`fuelpipe demo` refuses an AWS table holding data it did not put there, as it refuses such
an embedded store: before, the check returned early for any backend but the embedded one, and
the demo mixed the bundled data into a production table and stamped its 2022 clock in its
meta (every later command then ran at May 2022)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import typer
from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.cli.demo import DEMO_CLOCK, refuse_a_store_it_did_not_fill

NOW = datetime(2026, 6, 30, tzinfo=UTC)


class Refused(typer.Exit):
    """What the test's ``fail`` gives, with its message, as the CLI's ``fail`` gives an exit."""

    def __init__(self, message: str) -> None:
        super().__init__(code=2)
        self.message = message


def _refuse(home: AwsHome) -> None:
    refuse_a_store_it_did_not_fill(
        home.settings,
        Refused,
        dynamodb_client=home.dynamodb,
        sqs_client=home.sqs,
    )


def test_a_table_with_the_operators_runs_is_refused_untouched(aws_home: AwsHome) -> None:
    context = aws_home.app(FixedClock(NOW))
    context.store.set_watermark("CURRENCY#USD", date(2026, 6, 26), 0, None)
    with pytest.raises(Refused) as refused:
        _refuse(aws_home)
    assert refused.value.message.startswith(f"the table {aws_home.settings.table_name} already")
    assert "FUELPIPE_BACKEND=embedded FUELPIPE_DB=data/demo.sqlite fuelpipe demo" in (
        refused.value.message
    )
    assert context.store.get_meta(DEMO_CLOCK) is None


def test_a_fresh_table_and_one_the_demo_filled_are_the_demos(aws_home: AwsHome) -> None:
    _refuse(aws_home)  # fresh: nothing to refuse
    context = aws_home.app(FixedClock(NOW))
    context.store.set_watermark("CURRENCY#USD", date(2022, 5, 6), 0, None)
    context.store.put_meta(DEMO_CLOCK, "2022-05-07T23:59:00-03:00")
    _refuse(aws_home)
