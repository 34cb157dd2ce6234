"""`fuelpipe demo`'s phases over the bundled snapshot's coverage (cli/demo.py plan_phases)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from fuelpipe.cli.demo_parts import plan_phases
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.replay import SNAPSHOT_DIR

COVERAGE = json.loads((Path(SNAPSHOT_DIR) / "coverage.json").read_text())


def _since() -> dict[str, date]:
    return {s.key: p.since for p in plan_phases(COVERAGE) if p.in_window for s in p.series}


def test_each_series_starts_at_its_period_holding_the_window_start():
    """The window starts on Wednesday 2021-05-19; the ANP week of Sunday 2021-05-16 and the
    month of 2021-05-01 are bundled (the snapshot's NOTICE.md) and published long before the
    demo's clock. Before, every series started at the window start: those 221 values (42
    weekly, 179 monthly) were never stored."""
    since = _since()
    assert COVERAGE["window"]["start"] == "2021-05-19"
    assert since["CURRENCY#USD"] == date(2021, 5, 19)
    assert since["STOCK#PETR4"] == date(2021, 5, 19)
    assert since["STOCK#PRIO3"] == date(2021, 10, 25)  # its file's first day
    weekly = [k for k in since if k.startswith("FUEL#")]
    monthly = [k for k in since if k.startswith("FUEL_MONTHLY#")]
    assert len(weekly) == 42
    assert {since[k] for k in weekly} == {date(2021, 5, 16)}
    assert since["FUEL_MONTHLY#ETHANOL#AC"] == date(2021, 5, 1)
    assert sum(since[k] == date(2021, 5, 1) for k in monthly) == 179
    # a series whose first real date is later starts there, not at the window's month
    for key in monthly:
        assert since[key] == max(
            date(2021, 5, 1), date.fromisoformat(COVERAGE["series"][key]["first"])
        )


def test_brazil_weeks_run_to_the_bundled_files_last_week_and_the_regions_end_with_the_window():
    """ANP's Brazil workbook is bundled past the window, to its real file's last week (the week
    of 2026-03-08, published Friday 2026-03-13 at 18:00): the Brazil series are asked up to it,
    beside the state weeks and the drivers. Before, they stopped with the window (2022-05),
    two years before the state series. The regions' real file ends with the window."""
    now = {s.key: p.now for p in plan_phases(COVERAGE) if p.in_window for s in p.series}
    brazil = [k for k in now if k.startswith("FUEL#") and k.endswith("#BR")]
    assert len(brazil) == 7
    assert {now[k] for k in brazil} == {datetime(2026, 3, 13, 18, 1, tzinfo=SAO_PAULO)}
    regions = [k for k in now if k.startswith("FUEL#") and "#REGION_" in k]
    assert len(regions) == 35
    assert {now[k] for k in regions} == {datetime(2022, 5, 7, 23, 59, tzinfo=SAO_PAULO)}


def test_phases_of_equal_size_run_in_the_order_of_their_clocks():
    """PETR4 runs to its file's end (2025-09-29): its phase ran after PTAX's (to 2026-06-26),
    and the outlook refreshed at its earlier clock, with the drivers stored to 2026 already,
    stored a second Brazil forecast, made 2025-09-29, beside the one made 2026-06-26. Phases of
    equal size now run in the order of their clocks: PETR4's before Brent's and PTAX's."""
    phases = [p for p in plan_phases(COVERAGE) if p.in_window]
    order = [p.series[0].key for p in phases if len(p.series) == 1]
    assert order.index("STOCK#PETR4") < order.index("COMMODITY#BRENT")
    assert order.index("COMMODITY#BRENT") < order.index("CURRENCY#USD")
    for size in {len(p.series) for p in phases}:
        clocks = [p.now for p in phases if len(p.series) == size]
        assert clocks == sorted(clocks), size
    petr4 = next(p for p in phases if p.series[0].key == "STOCK#PETR4")
    assert petr4.now == datetime(2025, 9, 29, 18, 31, tzinfo=SAO_PAULO)
