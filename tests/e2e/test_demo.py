"""`make demo`'s main job, checked against the real files the snapshot came from."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from devtools.datasets import dataset
from tests.e2e.conftest import fuelpipe

from fuelpipe.domain.calendars import (
    SAO_PAULO,
    expected_between,
    get_calendar,
    last_available_date,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.replay import SNAPSHOT_DIR

DEMO_NOW = datetime(2022, 5, 7, 23, 59, tzinfo=SAO_PAULO)
COVERAGE = json.loads((Path(SNAPSHOT_DIR) / "coverage.json").read_text())


def _export(env, key):
    out = fuelpipe("export", key, "--format", "json", env=env).stdout
    return {r["date"]: r for r in json.loads(out)}


def test_every_snapshot_series_is_stored_with_nothing_missing(demo_store):
    env, rows, stdout = demo_store
    by_key = {r["key"]: r for r in rows}
    window_keys = [
        k for k, span in COVERAGE["series"].items() if span["first"] <= COVERAGE["window"]["end"]
    ]
    # A key whose first real value is not yet published by the demo's clock has no record:
    # the demo asks each series only from its first real date (cli/demo.py).
    due = [
        k
        for k in window_keys
        if COVERAGE["series"][k]["first"]
        <= last_available_date(DEMO_NOW, DEFAULT_CATALOG[k].available_after).isoformat()
    ]
    assert set(due) <= set(by_key)
    for key in window_keys:
        if key not in by_key:
            continue
        row = by_key[key]
        series = DEFAULT_CATALOG[key]
        published = last_available_date(DEMO_NOW, series.available_after)
        # A real file that ends early (PETR3's, 2022-03-14) is asked up to its end only: under
        # one clock at the window's end, the days after it are counted missing, nothing else.
        last = date.fromisoformat(COVERAGE["series"][key]["last"])
        cal = get_calendar(series.calendar)
        after_file = (
            len(list(expected_between(cal, cal.next_expected(last), published)))
            if last < published
            else 0
        )
        assert row["missing"] == after_file, row
        if COVERAGE["series"][key]["first"] <= published.isoformat():  # a real value is due
            assert row["present"] > 0, row
        assert (
            row["present"] + row["pending"] + row["quarantined"] + row["absent"] + after_file
            >= row["expected"]
        ), row
    assert "0 missing" in stdout


def test_each_cycle_of_the_demo_is_a_line_a_stage_its_counters_at_0_left_out(demo_store):
    """The demo printed a 38-row cycle table for each of its 12 cycles, about 30 rows of each
    at 0 (about 550 lines): each cycle is now a line a stage with the counters that are not 0
    and those saying the run's shape, and one line says how many at 0 were left out."""
    _, _, out = demo_store
    lines = out.splitlines()
    assert not any(line.startswith("│ scrape ") for line in lines)  # no cycle table
    assert "cycle summary" not in out and "lost race" not in out
    first = lines.index(
        "  orchestrate: keys scanned 179; keys audited 179; gaps found 1,969; messages sent 1"
    )
    assert lines[first + 1 : first + 3] == [
        "  scrape: records written 1,969; source requests 1",
        "  recheck: due 0",
    ]
    assert "  scrape: records written 1,778; source requests 1; absent written 7" in lines
    assert sum(line.startswith("  orchestrate: ") for line in lines) == 12
    [hidden] = [line for line in lines if "counters at 0 not shown" in line]
    assert hidden.endswith(
        " counters at 0 not shown in the lines of the 12 cycles "
        "(`fuelpipe demo --all-counters`: every counter of each cycle)"
    )
    assert len(lines) < 150, len(lines)


def test_status_after_the_demo_agrees_with_the_demo(demo_store):
    """`fuelpipe status` on the demo's store, with no --now, counts each series at its own
    demo clock (the bundled files end in different years): the demo's numbers, 0 missing,
    never more present than expected (before, USD showed 1,283 present of 244 expected and
    the state series 0 expected)."""
    env, _, out = demo_store
    rows = json.loads(fuelpipe("status", "--json", env=env).stdout)
    summary = next(line for line in out.splitlines() if " records, " in line)
    records = int(summary.split(" records, ")[0].split(", ")[-1].replace(",", ""))
    assert sum(r["present"] + r["unexpected"] for r in rows) == records
    assert sum(r["missing"] for r in rows) == 0
    for r in rows:
        # present counts expected dates only, as the health view does (BZ=F's close on a
        # NYSE holiday is unexpected, not a 246th present of 245 expected)
        assert r["present"] + r["absent"] <= r["expected"], r["key"]
    usd = next(r for r in rows if r["key"] == "CURRENCY#USD")
    assert usd["present"] == usd["expected"] > 1_000


def test_the_demo_counts_the_series_status_and_the_health_view_count(demo_store):
    """The demo's table had an all-zero FUEL_MONTHLY#CNG#MA row (its one real month is
    published after the window: nothing expected, nothing stored) and said 288 series, where
    `status` and /api/health, which count the series with a record, said 287."""
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.dashboard.health import health_view
    from fuelpipe.homes.embedded import build_context
    from fuelpipe.homes.settings import Settings

    env, _, out = demo_store
    summary = next(line for line in out.splitlines() if " records, " in line)
    counted = int(summary.split(" series, ")[0])
    rows = json.loads(fuelpipe("status", "--json", env=env).stdout)
    assert counted == len(rows)
    assert not any(line.startswith("│ FUEL_MONTHLY#CNG#MA ") for line in out.splitlines())
    assert "not counted (no value published by their demo clock): FUEL_MONTHLY#CNG#MA" in out
    # The replay's requests per source, by name (it printed a Python dict: {'bcb': 3, ...}).
    flat = " ".join(out.split())  # the console wraps the summary line
    requests = flat.split("source requests: ")[1].split(";")[0]
    assert "BCB " in requests and "ANP stations " in requests and "{" not in requests
    app = build_context(Settings(db=env["FUELPIPE_DB"]), clock=FixedClock(DEMO_NOW))
    try:
        health = health_view(app.store, DEFAULT_CATALOG, None, app.clock)
    finally:
        app.close()
    assert health.stored_series == counted


def test_usd_has_every_banking_day_and_no_weekend_or_holiday(demo_store):
    env, rows, _ = demo_store
    usd = next(r for r in rows if r["key"] == "CURRENCY#USD")
    assert usd["missing"] == usd["pending"] == usd["quarantined"] == 0
    # On the demo's clock (the window's end) 244 banking days are due, and present; the store
    # holds more, because PTAX runs on past the window to the last state week (the outlook's
    # input): those values are dated after the clock and counted apart.
    assert usd["present"] == usd["expected"] > 240
    assert usd["after_clock"] > 1_000
    for key in ("CURRENCY#USD", "STOCK#PETR4", "COMMODITY#BRENT", "FUEL#GASOLINE#BR"):
        cal = get_calendar(DEFAULT_CATALOG[key].calendar)
        stored = _export(env, key)
        assert stored
        assert all(cal.is_expected(date.fromisoformat(d)) for d in stored), key


def test_spot_check_ptax_against_the_real_file(demo_store):
    env, _, _ = demo_store
    with dataset("fx/strongylis__ptax.csv").open() as fh:
        real = {r["data"]: r for r in csv.DictReader(fh)}
    stored = _export(env, "CURRENCY#USD")
    for day in ("2021-05-19", "2021-12-30", "2022-05-06"):
        assert Decimal(stored[day]["value"]) == Decimal(real[day]["venda"])
        assert Decimal(stored[day]["buy"]) == Decimal(real[day]["compra"])


def test_spot_check_petr4_close_and_brent_spot(demo_store):
    env, _, _ = demo_store
    with dataset("stocks/henriquebrnetto__PETR4.SA.csv").open() as fh:
        petr4 = {r["Date"]: r for r in csv.DictReader(fh)}
    stored = _export(env, "STOCK#PETR4")
    assert Decimal(stored["2022-03-08"]["value"]).quantize(Decimal("0.0001")) == Decimal(
        petr4["2022-03-08"]["Close"]
    ).quantize(Decimal("0.0001"))
    with dataset("brent/jackthompsondb__DCOILBRENTEU.csv").open() as fh:
        brent = {r["observation_date"]: r["DCOILBRENTEU"] for r in csv.DictReader(fh)}
    stored = _export(env, "COMMODITY#BRENT")
    for day in ("2021-06-01", "2022-03-08"):
        assert Decimal(stored[day]["value"]) == Decimal(brent[day])


def _anp_rows(path: Path, header_cell: str = "PRODUTO"):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    for row in rows:
        if row and header_cell in row:
            header = [str(c).strip() if c else "" for c in row]
            break
    for row in rows:
        yield dict(zip(header, row, strict=False))


def test_spot_check_anp_gasoline_for_brazil(demo_store):
    env, _, _ = demo_store
    real = {
        r["DATA INICIAL"].date().isoformat(): r["PREÇO MÉDIO REVENDA"]
        for r in _anp_rows(dataset("anp/maikereis__semanal-brasil-desde-2013.xlsx"))
        if r.get("PRODUTO") == "GASOLINA COMUM" and isinstance(r.get("DATA INICIAL"), datetime)
    }
    stored = _export(env, "FUEL#GASOLINE#BR")
    for week in ("2021-10-24", "2022-03-13"):
        assert Decimal(stored[week]["value"]) == Decimal(str(real[week])).quantize(
            Decimal(stored[week]["value"])
        )
        assert stored[week]["stations"] > 1000


def test_spot_check_anp_gasoline_for_sao_paulo(demo_store):
    env, _, _ = demo_store
    with dataset("anp/strongylis__anp_shlp_estados.csv").open() as fh:
        real = {
            r["data"]: r["preco_medio"]
            for r in csv.DictReader(fh)
            if r["estado"] == "SP" and r["produto"] == "gasolina_c"
        }
    stored = _export(env, "FUEL#GASOLINE#SP")
    assert len(stored) > 40
    for week_end in ("2025-07-05", "2026-01-10"):
        week_start = date.fromisoformat(week_end).toordinal() - 6
        day = date.fromordinal(week_start).isoformat()
        assert Decimal(stored[day]["value"]) == Decimal(real[week_end])


def test_the_demo_forecasts_every_state_gasoline_and_ethanol_from_real_data(demo_store):
    """The bundled real state weeks (2024-06..2026-06) with PTAX and Brent beside them are
    enough history for the outlook: one stored forecast per state and fuel. Brazil's real
    weeks run to 2026-03 (the bundled workbook's last): one forecast per fuel, from that week;
    none for the regions (their real file stops in 2022-05, too short for the model)."""
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.catalog import FUEL_PRODUCTS, REGIONS, STATES
    from fuelpipe.domain.keys import outlook_key
    from fuelpipe.outlook.records import from_record

    env, _, _ = demo_store
    with SqliteStore(
        Path(env["FUELPIPE_DB"]), clock=FixedClock(datetime(2026, 6, 22, tzinfo=SAO_PAULO))
    ) as store:
        for fuel in FUEL_PRODUCTS:
            records = store.query(outlook_key(fuel, "BR"))
            assert len(records) == 1, fuel
            brazil = from_record(records[0]).forecast
            assert brazil.last_week == date(2026, 3, 8), fuel  # the Brazil file's last week
            assert [s.horizon for s in brazil.steps] == [1, 2, 3, 4, 5]
            assert all(not store.query(outlook_key(fuel, region)) for region in REGIONS)
        for fuel in ("GASOLINE", "ETHANOL"):
            for uf in STATES:
                records = store.query(outlook_key(fuel, uf))
                assert len(records) == 1, (fuel, uf)
                forecast = from_record(records[0]).forecast
                assert forecast.last_week == date(2026, 6, 21), (fuel, uf)  # the file's last
                assert [s.horizon for s in forecast.steps] == [1, 2, 3, 4, 5]
                for step in forecast.steps:  # bands nest around the point
                    assert step.lo95 <= step.lo80 <= step.point <= step.hi80 <= step.hi95
        published = store.query("FUEL#GASOLINE#SP", date(2026, 6, 21), date(2026, 6, 21))
        sp = from_record(store.query(outlook_key("GASOLINE", "SP"))[0]).forecast
        assert Decimal(str(sp.last_price)) == published[0].value  # the real last price


def test_the_demo_ends_with_a_summary_status_summary_prints_too(demo_store):
    """The demo ended with its 287-row table, scrolled out of any terminal: it ends with one
    row per family of series, the series with something to look at by name, and the command
    that shows every series' row on the demo's store; `status --summary` prints the same
    table (one code path)."""
    env, _, out = demo_store
    lines = out.splitlines()
    assert not any(line.startswith("│ FUEL#GASOLINE#SP ") for line in lines)  # no row per key
    start = max(i for i, line in enumerate(lines) if line.strip() == "287 series")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    table = lines[start : end + 1]
    assert len(table) == 12  # title, head (3 lines), 7 families, bottom edge
    assert any(line.startswith("│ weekly fuels, states ") for line in table)
    named = " ".join(lines[end + 1].split())  # (a no-break space between a key and its count)
    assert named.startswith("absent (the source has no value): FUEL#CNG#REGION_N 7, ")
    assert (
        lines[-1] == f"every series, one row each: FUELPIPE_DB={env['FUELPIPE_DB']} fuelpipe status"
    )

    summary = fuelpipe("status", "--summary", env=env).stdout.splitlines()
    assert summary[: len(table) + 3] == lines[start : end + 4]  # the table and the names below
    assert len(fuelpipe("status", env=env).stdout.splitlines()) > 287  # a row per key there


def test_the_docs_say_which_catalog_series_the_demo_holds(demo_store):
    """docs/CLI.md said what the demo's store holds but not what it leaves out: a new user
    looked for the euro (the README names ten currencies) and found the dollar alone."""
    _, rows, _ = demo_store
    held = {r["key"] for r in rows}  # `status --json`: every key with a record
    catalog = len(DEFAULT_CATALOG.keys())
    assert sorted(k for k in held if k.startswith("CURRENCY#")) == ["CURRENCY#USD"]
    docs = " ".join((Path(__file__).parents[2] / "docs" / "CLI.md").read_text().split())
    assert f"**{len(held)} of the catalog's {catalog} series**" in docs
    assert f"The other {catalog - len(held)} have no record on the demo's store" in docs
