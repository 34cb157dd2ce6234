"""bench/bench_freshness.py reports every source it measures: one with no value stored in the
simulated week is a failing row, not a missing one (ANP's row was silently absent for days)."""

from __future__ import annotations

import math

from bench.bench_freshness import age_rows


def test_a_source_without_a_measured_value_is_a_failing_row() -> None:
    rows = list(age_rows({"anp", "bcb"}, {"bcb": [60.0, 120.0]}))
    assert [r.metric.split(", ")[1].split(" ")[0].rstrip(":") for r in rows] == ["anp", "bcb"]
    anp, bcb = rows
    assert anp.ok is False
    assert math.isnan(anp.value)
    assert "none of its values released in the week was stored" in anp.metric
    assert bcb.ok is True
    assert "2 values in the week" in bcb.metric


def test_a_source_over_the_goal_fails() -> None:
    (row,) = age_rows({"fred"}, {"fred": [16 * 60.0] * 3})
    assert row.ok is False
    assert row.value == 16.0
