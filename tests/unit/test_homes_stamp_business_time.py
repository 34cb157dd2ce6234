"""Both homes give their store the injected business clock, so updated_at is business time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes import open_home
from fuelpipe.homes.settings import Settings

THEN = datetime(2022, 5, 7, 23, 59, tzinfo=UTC)


def test_the_embedded_home_stamps_updated_at_with_the_injected_clock(tmp_path) -> None:
    settings = Settings(db=tmp_path / "store.sqlite")
    with open_home(settings, clock=FixedClock(THEN), sources={}) as home:
        home.store.put_records(
            [Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)]
        )
        (got,) = home.store.query("CURRENCY#USD")
    assert got.updated_at == THEN
