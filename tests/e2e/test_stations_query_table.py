"""`fuelpipe stations query`'s default tables on `fuelpipe demo`'s lake fit a 100-column
terminal; `--wide`, CSV and JSON have every column under its name."""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.e2e.conftest import fuelpipe
from tests.support.tables import TERMINAL, box_lines, cells, widest

from fuelpipe.cli.stations import STATION_WIDTHS

pytest.importorskip("duckdb")

FITS = {  # the query and its options: the table's width before (at 150 columns, unsqueezed)
    ("state_weekly",): 105,
    ("dispersion",): 115,
    ("municipality_ranking",): 122,
    ("municipality_weekly", "--state", "SP", "--municipality", "CAMPINAS"): 120,
}


def _query(env: dict[str, str], *args: str) -> str:
    return fuelpipe("stations", "query", *args, env=env).stdout


@pytest.mark.parametrize("args", list(FITS), ids=[a[0] for a in FITS])
def test_the_default_table_fits_a_100_column_terminal(demo_store, args):
    env, _, _ = demo_store
    table = box_lines(_query(env, *args))
    assert widest(table) <= TERMINAL, "\n".join(table[:3])


def _first_csv_row(env: dict[str, str], *args: str) -> dict[str, str]:
    return next(csv.DictReader(io.StringIO(_query(env, *args, "-f", "csv"))))


def test_ranges_and_short_headers_hold_the_same_figures_as_wide(demo_store):
    """State_weekly's first row (Acre's first week): the default's UF, obs and ranges are
    --wide's state, observations, p10, p90, min_price and max_price."""
    env, _, _ = demo_store
    row = _first_csv_row(env, "state_weekly")
    first = (row["state"], row["week"])
    narrow = cells(box_lines(_query(env, "state_weekly")), *first)
    wide = cells(box_lines(_query(env, "state_weekly", "--wide")), *first)
    assert (narrow["UF"], narrow["obs"]) == (wide["state"], wide["observations"])
    assert narrow["p10–p90"] == f"{wide['p10']}–{wide['p90']}"
    assert narrow["min–max"] == f"{wide['min_price']}–{wide['max_price']}"
    assert f"{float(row['p10']):.3f}" == wide["p10"]  # the same figure CSV gives, to 3 places
    # --wide: every column of the query under its name; the CSV's span its title says
    assert [*wide, *SPAN_FIELDS] == list(row)


SPAN_FIELDS = ("start", "end", "covered_start", "covered_end")
MID_WEEK = ("--since", "2025-04-02", "--until", "2025-04-09")  # a Wednesday to the next one
VIEWS = {  # as tests/dashboard/test_stations_api.py asks the API's views
    "municipality_ranking": (),
    "municipality_weekly": ("--state", "SP", "--municipality", "sao paulo"),
    "brand_premium": (),
    "dispersion": (),
    "station_search": ("--text", "01.492.748"),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_csv_and_json_say_the_days_asked_and_the_whole_weeks_covered(demo_store, name):
    """A --since inside a survey week is answered from that week's Sunday: only the table's
    title said so. The CSV and JSON now give, on every row after the query's columns, the
    days asked for (start, end) and the weeks answered (covered_start, covered_end), as
    /api/stations/... does for the same request (the values its test pins)."""
    env, _, _ = demo_store
    args = (name, *VIEWS[name], *MID_WEEK)
    days = ("2025-04-02", "2025-04-09", "2025-03-30", "2025-04-12")
    span = dict(zip(SPAN_FIELDS, days, strict=True))
    records = json.loads(_query(env, *args, "-f", "json"))
    rows = list(csv.DictReader(io.StringIO(_query(env, *args, "-f", "csv"))))
    assert records and len(rows) == len(records)
    for record, row in zip(records, rows, strict=True):
        assert list(record)[-4:] == list(row)[-4:] == list(SPAN_FIELDS)
        assert {k: record[k] for k in SPAN_FIELDS} == {k: row[k] for k in SPAN_FIELDS} == span
    assert "2025-03-30..2025-04-12" in _query(env, *args)  # the title, as before


def _search_rows(stdout: str) -> list[dict[str, str]]:
    """station_search's default table read back into one record per station and fuel: a
    station's cells (its first row's, wrapped lines joined) go with each of its fuels' rows."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith(("│", "├"))]  # rows, rules
    records: list[dict[str, str]] = []
    station = ["", "", ""]  # the cells above: a blank one is the same as the row above's
    for ln in lines:
        if not ln.startswith("│"):  # a rule: the next station's rows follow
            continue
        name, town, brand, product, collected, price = (c.strip() for c in ln.split("│")[1:-1])
        first = bool(collected)  # a row's first line (its other lines continue its cells)
        if first:
            records.append({"product": product, "collected": collected, "price": price})
            fresh = [bool(text) for text in (name, town, brand)]
        else:
            records[-1]["product"] += product
        for k, text in enumerate((name, town, brand)):
            if first and text:
                station[k] = text
            elif fresh[k] and text:
                station[k] += f" {text}"
        records[-1].update(zip(("station", "town", "brand"), station, strict=True))
    return records


def _chars(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("text", ["SHELL", "posto"])
def test_station_search_fits_with_every_field_but_the_address(demo_store, text):
    """Real stations on the demo lake: SHELL's table was 126 columns (a 28-character name);
    'posto' finds 150 stations, LPG's prices in BRL/13kg among them. The default table gives
    every station's name, CNPJ, town, UF, brand and each fuel's day and price with its unit."""
    env, _, _ = demo_store
    args = ("station_search", "--text", text)
    default = _query(env, *args)
    assert widest(box_lines(default)) <= TERMINAL, "\n".join(box_lines(default)[:3])
    got = _search_rows(default)
    want = list(csv.DictReader(io.StringIO(_query(env, *args, "-f", "csv"))))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        # every character, in order (a wrap drops the spaces where it breaks a line)
        assert _chars(g["station"]) == _chars(f"{w['station']}{w['cnpj']}")
        assert _chars(g["town"]) == _chars(f"{w['municipality']}/{w['state']}")
        assert _chars(g["brand"]) == _chars(w["brand"])
        unit = w["unit"].removeprefix("BRL")
        assert (g["product"], g["collected"]) == (w["product"], w["collected"])
        assert g["price"] == f"{float(w['price']):.3f}{unit}"


def test_station_search_leaves_the_address_to_wide(demo_store):
    env, _, _ = demo_store
    args = ("station_search", "--text", "SHELL")
    row = _first_csv_row(env, *args)
    default = _query(env, *args)
    shown = box_lines(default)
    heads = {c.strip() for c in next(ln for ln in shown if ln.startswith("┃")).split("┃")}
    assert not {"street", "number", "neighbourhood"} & heads
    assert {"station, CNPJ", "municipality/UF", "brand", "product", "price (BRL)"} <= heads
    assert "street, number, neighbourhood: --wide or -f csv|json" in default
    assert row["street"] not in default
    assert len(row["station"]) > STATION_WIDTHS["station"]  # wrapped by default
    assert row["station"] not in default
    named = list(row.values())[: list(row).index("product") + 1]  # the row's station and fuel
    wide = cells(box_lines(_query(env, *args, "--wide")), *named)
    whole = {k: v for k, v in row.items() if k not in SPAN_FIELDS}  # the span: in the title
    assert wide == whole | {"price": f"{float(row['price']):.3f}"}  # every cell whole
    helped = " ".join(fuelpipe("stations", "query", "--help", env=env).stdout.split())
    assert "--wide shows every column under its name, every cell whole" in helped
    assert "6.340/l is 6.340 BRL/l" in helped
