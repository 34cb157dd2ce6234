"""What `make demo-aws` prints: each stage's counters in words, and totals as `make demo` counts."""

from __future__ import annotations

from scripts.demo_aws import Invoker, stage_line, summary

from fuelpipe.stages.status import KeyStatus


def test_a_stage_line_names_its_non_zero_counters_in_words() -> None:
    counters = {"keys_scanned": 179, "watermarks_moved": 0, "gaps_found": 1969, "messages_sent": 1}
    line = stage_line("data_clustering", counters)
    assert line == "  data_clustering: keys scanned 179; gaps found 1,969; messages sent 1"
    assert stage_line("retry_recheck", {"due": 0, "retried": 0}).endswith(": nothing to do")


def test_the_summary_counts_records_as_the_embedded_demo_and_names_what_it_left_out() -> None:
    # Synthetic rows: one series with a value on a day its calendar skips (the demo's Brent has
    # one), which the store holds and the scraper's RecordsWritten metric counts.
    rows = [
        KeyStatus("COMMODITY#BRENT", 245, 245, 0, 0, 0, "2021-05-19", "2022-05-06", unexpected=1),
        KeyStatus("FUEL#DIESEL#SP", 51, 44, 0, 0, 0, "2021-05-16", "2022-05-01", absent=7),
    ]
    invoke = Invoker()
    invoke.invocations.update({"scraper": 2})
    invoke.metrics.update({"RecordsWritten": 290.0})
    text = summary(rows, ["FUEL_MONTHLY#CNG#MA"], {"bcb": 3}, invoke, 0)
    assert "2 series, 290 records, 0 missing" in text
    assert "7 absent (the source has no value), 1 on days their calendar skips" in text
    assert "Lambda invocations: scraper 2" in text
    assert "RecordsWritten 290" in text and "290.0" not in text
    assert text.endswith(
        "not counted (no value published by their demo clock): FUEL_MONTHLY#CNG#MA"
    )
