"""`fuelpipe demo` ended with a 287-row status table that scrolled out of an 80x24 terminal;
it ends with a summary now (``display.print_status_summary``, also `status --summary`): one row
per family of series with the counts summed, then every series with anything to look at by
name. Checked on the rows the demo prints (the recorded golden table: real data), and on
synthetic rows for the counts the demo has none of."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from fuelpipe.cli.display import LOOK_AT, print_status_summary, status_group
from fuelpipe.stages.status import KeyStatus

GOLDEN = Path(__file__).parents[1] / "e2e" / "golden" / "demo.json"
COUNTED = ("expected", "present", "missing", "pending", "quarantined", "absent", "unexpected")


def _demo_rows() -> list[KeyStatus]:
    """The 287 rows of the demo's status table as recorded (tests/e2e/golden/demo.json)."""
    table = json.loads(GOLDEN.read_text())["status_table"]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 11:
            key, *numbers, first, last = cells
            numbers = [int(n.replace(",", "")) for n in numbers]
            counts = dict(zip((*COUNTED, "revised"), numbers, strict=True))
            rows.append(KeyStatus(key=key, first=first, last=last, **counts))
    return rows


def _screen(rows: list[KeyStatus]) -> list[str]:
    console = Console(record=True, width=80, color_system=None)
    print_status_summary(console, rows)
    return console.export_text().splitlines()


def test_the_demo_s_summary_fits_an_80_by_24_terminal() -> None:
    rows = _demo_rows()
    assert len(rows) == 287

    lines = _screen(rows)

    # the demo prints four lines after it (totals, two wrapped, the series left out, the hint)
    assert len(lines) + 4 <= 24, "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert lines[0].strip() == "287 series"
    # a wrapped list of names never starts a line with a count torn from its key
    assert not any(line[:1].isdigit() for line in lines), "\n".join(lines)


def test_each_family_sums_its_series() -> None:
    rows = _demo_rows()
    text = "\n".join(_screen(rows))

    for group in {status_group(r.key) for r in rows}:
        members = [r for r in rows if status_group(r.key) == group]
        expected, present = sum(r.expected for r in members), sum(r.present for r in members)
        assert f"│ {group:<21} │ {len(members):<6} │ {expected:<8,} │ {present:<7,} │" in text
    assert "│ weekly fuels, states  │ 54     │ 5,670    │ 5,649   │ 21 absent" in text
    # Brazil's weeks run to the bundled workbook's last (2021-05-16 .. 2026-03-08, 252 weeks);
    # LPG has no row for the week of 2022-09-18 in the real file
    assert "│ weekly fuels, Brazil  │ 7      │ 1,764    │ 1,763   │ 1 absent" in text
    # FRED's Brent spot to its bundled file's end (2026-05-01, 1,253 days) and BZ=F's window (245)
    assert "│ Brent                 │ 2      │ 1,498    │ 1,498   │ 1 unexpected" in text
    # PETR4 to its file's end (2025-09-29, 1,091 sessions) beside the other shares' windows
    assert "│ shares                │ 8      │ 2,652    │ 2,652   │ -" in text


def test_every_series_with_something_to_look_at_is_named() -> None:
    rows = _demo_rows()
    flat = " ".join(" ".join(_screen(rows)).split())  # (the console wraps its lines)

    assert (
        "absent (the source has no value): FUEL#CNG#REGION_N 7, FUEL#ETHANOL#AC 1, "
        "FUEL#ETHANOL#AP 15, FUEL#GASOLINE#AC 1, FUEL#GASOLINE#AP 4, FUEL#LPG#BR 1, "
        "FUEL_MONTHLY#CNG#DF 4"
    ) in flat
    assert "unexpected (on days their calendar skips): COMMODITY#BRENT_FUTURES 1" in flat
    assert "FUEL#GASOLINE#SP" not in flat  # nothing to look at: summed, not named


def test_the_counts_the_demo_has_none_of_are_named_too() -> None:
    """Synthetic rows: one series with each count the demo never has."""
    counts = {field: i for i, (field, _) in enumerate(LOOK_AT, 2)}
    none = {"missing": 0, "pending": 0, "quarantined": 0}
    rows = [
        KeyStatus(key=f"STOCK#T{field.upper()}", expected=9, present=1, first="2022-01-03",
                  last="2022-01-14", **{**none, field: n})
        for field, n in counts.items()
    ]  # fmt: skip

    flat = " ".join(" ".join(_screen(rows)).split())

    for field, words in LOOK_AT:
        assert f"{words}: STOCK#T{field.upper()} {counts[field]}" in flat
    cells = " ".join(flat.replace("│", " ").split())  # the row's cell wraps over three lines
    summed = "2 missing, 3 pending, 4 quarantined, 5 absent, 6 unexpected, 7 revised, 8 after"
    assert f"shares 7 63 7 {summed} the clock" in cells


def test_the_families() -> None:
    assert [
        status_group(k)
        for k in (
            "CURRENCY#EUR",
            "STOCK#PETR4",
            "COMMODITY#BRENT_FUTURES",
            "FUEL#LPG#BR",
            "FUEL#DIESEL#REGION_NE",
            "FUEL#ETHANOL#SP",
            "FUEL_MONTHLY#CNG#AL",
            "INDEX#IBOV",
        )
    ] == [
        "currencies",
        "shares",
        "Brent",
        "weekly fuels, Brazil",
        "weekly fuels, regions",
        "weekly fuels, states",
        "monthly fuels, states",
        "index",
    ]
