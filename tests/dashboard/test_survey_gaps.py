"""A week ANP did not survey, in the views that compare a week with the one before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.dashboard.conftest import DATASETS, NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.history_files import load_history
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard import views
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Status

LPG = "FUEL#LPG#BR"


def test_a_fuel_card_gives_no_weekly_change_across_a_survey_week_skipped(tmp_path: Path) -> None:
    # ANP's Brazil LPG series has no week of 2022-09-18 (the bundled workbook goes 09-11,
    # 113.25, then 09-25, 112.13). The card compared 09-25 with 09-11 and said "-1.0% on the
    # week" of a two-week change; a week with no survey before it has no weekly change.
    history = load_history(DATASETS, with_areas=False)
    weeks = [(d, v) for d, v in history.series[LPG] if date(2022, 8, 21) <= d <= date(2022, 10, 9)]
    assert date(2022, 9, 18) not in dict(weeks)  # the real gap this test is about
    store = SqliteStore(tmp_path / "lpg.sqlite", clock=FixedClock(NOW))
    store.put_records([Record(LPG, d, Decimal(str(v)), Status.OK) for d, v in weeks])
    reader = SeriesReader(store, DEFAULT_CATALOG)

    def card(end: date) -> tuple[date | None, date | None, float | None, str | None]:
        item = next(i for i in views.overview_view(reader, end).items if i.key == LPG)
        return item.date, item.prev_date, item.change_pct, item.no_change_reason

    # Friday 09-30: the week of 09-25 is out (18:00), the week before it was never surveyed;
    # an older week exists, so the card says that, not "no earlier value" (it did).
    assert card(date(2022, 9, 30)) == (date(2022, 9, 25), None, None, "no_week_before")
    # A week later both weeks exist: 110.62 against 112.13.
    assert card(date(2022, 10, 7)) == (
        date(2022, 10, 2),
        date(2022, 9, 25),
        round((110.62 / 112.13 - 1) * 100, 6),
        None,
    )
    # The first week stored: no earlier value at all.
    assert card(date(2022, 8, 26)) == (date(2022, 8, 21), None, None, "first_value")
    store.close()
