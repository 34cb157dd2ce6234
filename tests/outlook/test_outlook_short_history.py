"""The states' bands on a short history, on the REAL bundled history: short histories cut from
the gasoline states' long one (2004–2019), each as long as the short one since 2024-06, cover
their nominal share on average, and the short history's own coverage at 4 weeks (under it)
lies within the cuts' spread, all over every scored week (the no-change fallback's too): what
docs/OUTLOOK_BACKTEST.md concludes from them (no band rule measured did better there without
widening the long history's; over the model's own forecasts alone it gives the short history's
coverage beside the led cuts', lower at 4 weeks). And the cuts' mechanics, on a
synthetic panel: each cut is the panel walked on its weeks alone."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from tests.outlook.conftest import bundled_inputs
from tests.outlook.test_outlook_pooled import led_panel

from fuelpipe.adapters.history_files import History
from fuelpipe.domain.catalog import DEFAULT_CATALOG, STATES
from fuelpipe.outlook.backtest import score, walk_forward_cuts, walk_forward_panel
from fuelpipe.outlook.series import Inputs, Lags, Series, day_number

LAGS = Lags.from_catalog(DEFAULT_CATALOG)
SHORT = date(2024, 6, 1)  # the state files restart on 2024-06-23
WEEKS = 105  # the short history's length in the bundled files (2024-06-23 … 2026-06-21)


def _states(history: History, fuel: str) -> dict[str, Inputs]:
    keys = {uf: f"FUEL#{fuel}#{uf}" for uf in STATES}
    return {uf: bundled_inputs(history, k) for uf, k in keys.items() if k in history.series}


def test_short_histories_cut_from_the_long_one_cover_nominally_and_the_short_one_is_among_them(
    areas: History,
) -> None:
    national = bundled_inputs(areas, "FUEL#GASOLINE#BR")
    states = _states(areas, "GASOLINE")
    cuts = walk_forward_cuts(states, WEEKS, 26, end=SHORT, lags=LAGS, national=national)
    assert len(cuts) == 27 and cuts[0][0] == date(2004, 5, 9)
    assert sum(any(s.point != s.naive for s in rows) for _, rows in cuts) >= 8  # Brazil leads
    pooled = score([s for _, rows in cuts for s in rows])
    for s in pooled:  # on average: nominal, at every horizon
        assert abs(s.coverage80 - 0.80) <= 0.02, s
        assert abs(s.coverage95 - 0.95) <= 0.01, s
    short = score(
        [
            s
            for fuel in ("GASOLINE", "ETHANOL")
            for rows in walk_forward_panel(
                _states(areas, fuel),
                SHORT,
                lags=LAGS,
                national=bundled_inputs(areas, f"FUEL#{fuel}#BR"),
            ).values()
            for s in rows
        ]
    )
    four = [score(rows, (4,))[0] for _, rows in cuts]
    for level, nominal in (("coverage80", 0.80), ("coverage95", 0.95)):
        mine = getattr(next(s for s in short if s.horizon == 4), level)
        one = np.array([getattr(c, level) for c in four])
        assert mine < nominal - 0.03  # the short history's 4 weeks fall short …
        low, high = np.percentile(one, [10, 90])
        assert low < mine < high  # … as more than one cut in ten does
        assert high - low > 0.1  # one short history's coverage spreads over ten points


def test_each_cut_is_the_panel_walked_on_its_weeks_alone() -> None:
    """SYNTHETIC panel: a cut's scored steps are walk_forward_panel's on the members' weeks
    from the cut for ``weeks`` weeks (nothing before, nothing after), led by the whole national
    series; the cuts step by ``every`` weeks and stop where a full window no longer fits."""
    panel, national = led_panel(6, 150)
    first = int(panel["AC"].fuel.days[0])
    cuts = walk_forward_cuts(panel, 100, 20, national=national)
    assert [day for day, _ in cuts] == [date(2024, 6, 23) + timedelta(weeks=w) for w in (0, 20, 40)]
    for day, rows in cuts:
        lo = day_number(day)
        window = {
            uf: Inputs(Series(m.fuel.days[keep], m.fuel.values[keep]), m.brent, m.usd, m.futures)
            for uf, m in panel.items()
            for keep in [(m.fuel.days >= lo) & (m.fuel.days < lo + 7 * 100)]
        }
        want = walk_forward_panel(window, national=national)
        assert rows == [s for uf in sorted(want) for s in want[uf]]
        assert rows and min(s.as_of_week for s in rows) == day + timedelta(weeks=82)
        assert max(s.week for s in rows) <= day + timedelta(weeks=99)
    assert first == day_number(date(2024, 6, 23))
    assert walk_forward_cuts(panel, 151, 20, national=national) == []
