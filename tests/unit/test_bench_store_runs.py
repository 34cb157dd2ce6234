"""bench/bench_store.py runs against the store's current schema (a column added to the store's
upsert once broke its raw baseline, which no test ran). Not a timing test: only that every
variant runs and reports a rate."""

from __future__ import annotations

from bench.bench_store import measure, synthetic_records


def test_bench_store_measures_every_variant_on_the_current_schema() -> None:
    rows = measure(synthetic_records(400), "smoke")
    assert len(rows) == 7
    assert all(row.value > 0 for row in rows)
    assert [row.unit for row in rows].count("ratio") == 2
