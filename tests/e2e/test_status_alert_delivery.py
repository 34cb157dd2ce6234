"""`fuelpipe status` says what the alert sinks have not taken: alerts waiting for a webhook that
is down (since when sending fails) and the newest drops (an alert the webhook refused for good),
read from the alert state `watch` keeps in the store's file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.e2e.conftest import fuelpipe
from tests.support.alert_sinks import RefusingWebhook, queue_alerts

from fuelpipe.adapters.alerts import SqliteAlertState
from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status

AT = datetime(2022, 5, 4, 12, 0, tzinfo=UTC)


def test_status_names_alerts_waiting_for_a_sink_and_the_newest_drops(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    store = SqliteStore(db)
    store.put_records([Record("CURRENCY#USD", date(2022, 5, 3), Decimal("4.9"), Status.OK)])
    store.close()
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    quiet = fuelpipe("status", "-s", "CURRENCY#USD", env=env).stdout
    assert "alert" not in quiet  # nothing queued, nothing dropped: nothing said
    clock = ManualClock(AT)
    state = SqliteAlertState(db, clock=clock)
    queue_alerts(state, clock, "FUEL#LPG#AC", "FUEL#LPG#AL")
    state.deliver([RefusingWebhook(refused="FUEL#LPG#AC")])
    clock.advance(timedelta(hours=1))
    queue_alerts(state, clock, "FUEL#LPG#AM")
    clock.advance(timedelta(minutes=5))
    state.deliver([RefusingWebhook(down=True)])
    state.close()
    out = " ".join(fuelpipe("status", "-s", "CURRENCY#USD", env=env).stdout.split())
    assert (
        "alerts waiting for webhook: 1, the oldest queued 2022-05-04T10:00:00-03:00, sending "
        "them fails since 2022-05-04T10:05:00-03:00"
    ) in out
    assert "alerts dropped, the newest 1 of the 1 drops kept" in out
    assert "2022-05-04T09:00:00-03:00 webhook: dropped 1 alert(s) the sink rejected" in out
    assert "FUEL#LPG#AC" in out and "HTTP 400: 'bad'" in out
