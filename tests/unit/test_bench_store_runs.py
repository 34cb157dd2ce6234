"""bench/bench_store.py runs against the store's current schema (a column added to the store's
upsert once broke its raw baseline, which no test ran). Not a timing test: only that every
variant runs and reports a rate."""

from __future__ import annotations

from bench.bench_store import (
    MAX_ROUNDS,
    REPEATS,
    measure,
    paired_ratio,
    rounds_for,
    synthetic_records,
)


def test_bench_store_measures_every_variant_on_the_current_schema() -> None:
    rows = measure(synthetic_records(400), "smoke")
    assert len(rows) == 7
    assert all(row.value > 0 for row in rows)
    assert [row.unit for row in rows].count("ratio") == 2


def test_a_short_write_gets_more_rounds_and_ratios_are_paired_by_round() -> None:
    assert rounds_for(400) == MAX_ROUNDS  # a smoke-sized write: as many rounds as allowed
    assert rounds_for(36_520) == 28  # 5 years: 1 M records per variant over its rounds
    assert rounds_for(146_100) == REPEATS  # 20 years: long enough with the fewest rounds
    # Round by round the store keeps pace (1.0 each time); a burst of load in one raw round
    # does not move the median of the rounds' own ratios.
    assert paired_ratio([100.0, 50.0, 100.0], [100.0, 50.0, 100.0]) == 1.0
    assert paired_ratio([100.0, 100.0, 100.0], [100.0, 10.0, 100.0]) == 1.0
