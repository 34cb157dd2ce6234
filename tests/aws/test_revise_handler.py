"""data_clustering in revise mode: the daily schedule enqueues one re-read per fetch unit."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, load_handler, scheduled_event
from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status

pytestmark = pytest.mark.aws

NOW = datetime(2025, 3, 31, 20, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))


def test_the_revise_event_sends_one_reread_per_fetch_unit(aws_home: AwsHome) -> None:
    app = aws_home.app(FixedClock(NOW))
    # Stored values over the last 40 days (a revision re-reads stored values only).
    days = [NOW.date() - timedelta(days=n) for n in range(40)]
    app.store.put_records(
        [
            Record(key, day, Decimal("5.5"), Status.OK)
            for key in ("CURRENCY#USD", "STOCK#PETR4")
            for day in days
        ]
    )
    handler = load_handler("data_clustering").make_handler(lambda: app)
    event = scheduled_event({"mode": "revise", "series": ["CURRENCY#USD", "STOCK#PETR4"]})

    result = handler(event, FakeLambdaContext("data_clustering"))

    assert result["messages_sent"] == 2 and result["keys"] == 2
    sent = [DownloadRequest.from_body(m.body) for m in app.queue.receive(10)]
    assert {(r.fetch_unit, r.origin) for r in sent} == {
        ("bcb:USD", "revise"),
        ("yahoo:PETR4.SA", "revise"),
    }
    for request in sent:
        days = request.dates_to_download
        assert (days[-1] - days[0]).days < 35  # the default window of daily sources
    assert [r.stage for r in app.store.last_runs()] == ["revise"]
