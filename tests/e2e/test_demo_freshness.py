"""With `--now 2022-05-07T23:59` (a Saturday) the demo holds the ANP week published the day
before, and `status --json` tells each series' age."""

from __future__ import annotations

from datetime import datetime


def test_saturday_demo_holds_the_anp_week_published_on_friday(demo_store) -> None:
    _, rows, _ = demo_store
    by_key = {r["key"]: r for r in rows}
    for key in ("FUEL#GASOLINE#BR", "FUEL#DIESEL#BR", "FUEL#ETHANOL#REGION_SE"):
        assert by_key[key]["last"] == "2022-05-01", by_key[key]
        assert by_key[key]["missing"] == 0
    # Brazil's weeks run on to the bundled workbook's last (2026-03-08): 201 weeks after this
    # clock, counted apart; the regions' real file ends with the window.
    assert by_key["FUEL#GASOLINE#BR"]["after_clock"] == 201
    assert by_key["FUEL#ETHANOL#REGION_SE"]["after_clock"] == 0


def test_status_json_has_age_and_publication_instant_per_series(demo_store) -> None:
    _, rows, _ = demo_store
    gas = next(r for r in rows if r["key"] == "FUEL#GASOLINE#BR")
    # published Friday 2022-05-06 18:00 in São Paulo (21:00 UTC); now is Saturday 23:59
    assert gas["published_at"] == "2022-05-06T21:00:00+00:00"
    assert gas["age"] == (29 * 60 + 59) * 60
    assert datetime.fromisoformat(gas["stored_at"])
    usd = next(r for r in rows if r["key"] == "CURRENCY#USD")
    # PTAX runs on past the window to the last state week (the outlook's input), to 2026; on
    # the clock of May 2022 the newest value is the last one published by then.
    assert usd["published_at"] == "2022-05-06T16:10:00+00:00"
    assert usd["after_clock"] > 1_000
    assert all(isinstance(r["age"], int) and r["age"] >= 0 for r in rows if r["present"])
