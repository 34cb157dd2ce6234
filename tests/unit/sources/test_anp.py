"""ANP workbooks: header found by content, columns by name, labels to catalog keys, bad rows."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from fuelpipe.adapters.sources import anp
from fuelpipe.adapters.sources.anp import (
    FETCH_UNIT_PATHS,
    OTHER_ROWS,
    AnpWorkbookSource,
    parse_workbook,
    parse_workbook_detailed,
    stream_workbook,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.ports.source import FetchRequest, InvalidPayload

BRASIL = "anp_semanal-brasil-desde-2013_cut.xlsx"
MALFORMED = "anp_semanal-brasil_malformed-rows-synthetic.xlsx"
NO_HEADER = "anp_semanal-brasil_no-header-synthetic.xlsx"
REGIONS = "anp_semanal-regioes-desde-2013_cut.xlsx"
MONTHLY = "anp_mensal-estados-desde-jan2013_cut.xlsx"
STATES = "anp_semanal-estados_layout-inferred_values-from-strongylis.xlsx"
BRASIL_FILE = "semanal-brasil-desde-2013.xlsx"  # the name the source gives the download
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _by_key_date(observations):
    return {(o.key, o.date): o for o in observations}


def _source(server, client) -> AnpWorkbookSource:
    return AnpWorkbookSource(server.url_for("/shlp"), client, attempts=2, backoff_s=0.0)


def test_every_anp_fetch_unit_has_a_path() -> None:
    units = {s.fetch_unit for s in DEFAULT_CATALOG if s.source == "anp"}
    assert units == set(FETCH_UNIT_PATHS)
    assert FETCH_UNIT_PATHS["anp:monthly:estados"] == "/mensal/mensal-estados-desde-jan2013.xlsx"


def test_brasil_workbook_real_values(payload) -> None:
    obs = _by_key_date(parse_workbook(payload(BRASIL), "anp:weekly:brasil", BRASIL))
    assert len(obs) == 34  # 5 weeks x 7 products, GASOLINA ADITIVADA absent in 2012
    # maikereis__semanal-brasil-desde-2013.xlsx, week of 2012-12-30, GASOLINA COMUM
    first = obs[("FUEL#GASOLINE#BR", date(2012, 12, 30))]
    assert first.value == Decimal("2.758")
    assert first.attrs == {
        "stations": 8672,
        "unit": "BRL/l",
        "std": Decimal("0.147"),
        "min": Decimal("2.269"),
        "max": Decimal("3.799"),
        "margin": Decimal("0.385"),
        "cv": Decimal("0.053"),
        "dist_price": Decimal("2.373"),
        "dist_std": Decimal("0.11"),
        "dist_min": Decimal("2.12"),
        "dist_max": Decimal("2.89"),
        "dist_cv": Decimal("0.046"),
    }
    week = obs[("FUEL#GASOLINE#BR", date(2021, 5, 16))]
    assert week.value == Decimal("5.641")
    assert week.attrs["margin"] is None  # '-' since the 2020 survey change
    assert week.attrs["dist_price"] is None
    # row 2617 of the real file: COEF DE VARIAÇÃO REVENDA 0.097, the distribution columns '-'
    ethanol = obs[("FUEL#ETHANOL#BR", date(2021, 5, 16))].attrs
    assert (ethanol["std"], ethanol["cv"]) == (Decimal("0.425"), Decimal("0.097"))
    assert [ethanol[a] for a in ("dist_std", "dist_min", "dist_max", "dist_cv")] == [None] * 4
    assert obs[("FUEL#LPG#BR", date(2012, 12, 30))].attrs["unit"] == "BRL/13kg"  # R$/13Kg
    assert obs[("FUEL#LPG#BR", date(2021, 5, 16))].attrs["unit"] == "BRL/13kg"  # R$/13kg
    assert obs[("FUEL#CNG#BR", date(2012, 12, 30))].attrs["unit"] == "BRL/m3"  # R$/m3
    assert obs[("FUEL#CNG#BR", date(2021, 5, 16))].attrs["unit"] == "BRL/m3"  # R$/m³
    assert obs[("FUEL#LPG#BR", date(2012, 12, 30))].attrs["max"] == Decimal(62)  # int cell
    assert all(d.weekday() == 6 for _, d in obs)  # DATA INICIAL is a Sunday
    assert str(obs[("FUEL#DIESEL_S10#BR", date(2022, 5, 1))].value) == "6.775"


def test_fetch_filters_keys_and_dates(server, client, payload, series) -> None:
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        payload(BRASIL), content_type=XLSX
    )
    wanted = (series("FUEL#GASOLINE#BR"), series("FUEL#DIESEL#BR"))
    request = FetchRequest("anp:weekly:brasil", wanted, date(2021, 5, 16), date(2022, 5, 1))
    result = _source(server, client).fetch(request)
    got = sorted((o.key, o.date.isoformat(), o.value) for o in result.observations)
    assert got == [
        ("FUEL#DIESEL#BR", "2021-05-16", Decimal("4.482")),
        ("FUEL#DIESEL#BR", "2021-05-23", Decimal("4.484")),
        ("FUEL#DIESEL#BR", "2022-05-01", Decimal("6.63")),
        ("FUEL#GASOLINE#BR", "2021-05-16", Decimal("5.641")),
        ("FUEL#GASOLINE#BR", "2021-05-23", Decimal("5.653")),
        ("FUEL#GASOLINE#BR", "2022-05-01", Decimal("7.295")),
    ]
    assert result.requests == 1
    assert result.notes == {}


def test_malformed_rows_are_skipped_and_named(server, client, payload, series) -> None:
    parsed = parse_workbook_detailed(payload(MALFORMED), "anp:weekly:brasil", MALFORMED)
    # Rows 19-22 carry the synthetic defects; everything else is read.
    assert len(parsed.observations) == 34 - 4
    problems = "\n".join(parsed.problems)
    assert f"{MALFORMED} row 19: '31/02/2021' is not a date" in problems
    assert f"{MALFORMED} row 20: PREÇO MÉDIO REVENDA 'n/d' is not a number" in problems
    assert f"{MALFORMED} row 21: unknown product 'ETANOL ADITIVADO'" in problems
    assert parsed.missing[("FUEL#CNG#BR", date(2012, 12, 30))].endswith("no price ('-')")

    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        payload(MALFORMED), content_type=XLSX
    )
    wanted = (series("FUEL#GASOLINE#BR"), series("FUEL#CNG#BR"))
    request = FetchRequest("anp:weekly:brasil", wanted, date(2012, 12, 30), date(2021, 5, 16))
    source = _source(server, client)
    result = source.fetch(request)
    assert sorted((o.key, o.date) for o in result.observations) == [
        ("FUEL#CNG#BR", date(2021, 5, 16)),
        ("FUEL#GASOLINE#BR", date(2021, 5, 16)),
    ]
    assert set(result.notes) == {
        ("FUEL#GASOLINE#BR", date(2012, 12, 30)),
        ("FUEL#CNG#BR", date(2012, 12, 30)),
    }
    assert "row 20" in result.notes[("FUEL#GASOLINE#BR", date(2012, 12, 30))]
    assert len(source.last_problems) == 3


def test_what_a_malformed_row_may_hold_is_a_retry_not_no_value(
    server, client, payload, series
) -> None:
    # Row 19 is an ETANOL HIDRATADO row with the date '31/02/2021', row 21 a 2012-12-30 row
    # of the unknown product 'ETANOL ADITIVADO': either may be the row ethanol or LPG lacks.
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        payload(MALFORMED), content_type=XLSX
    )
    wanted = (series("FUEL#ETHANOL#BR"), series("FUEL#LPG#BR"), series("FUEL#DIESEL#BR"))
    week = date(2012, 12, 30)
    result = _source(server, client).fetch(FetchRequest("anp:weekly:brasil", wanted, week, week))
    assert [(o.key, o.date) for o in result.observations] == [("FUEL#DIESEL#BR", week)]
    assert result.no_value == {}
    assert set(result.notes) == {("FUEL#ETHANOL#BR", week), ("FUEL#LPG#BR", week)}
    ethanol, lpg = result.notes[("FUEL#ETHANOL#BR", week)], result.notes[("FUEL#LPG#BR", week)]
    assert f"{BRASIL_FILE} row 19: '31/02/2021' is not a date" in ethanol
    assert f"{BRASIL_FILE} row 21: unknown product 'ETANOL ADITIVADO'" in lpg


def _rewritten(content: bytes, edit: Callable[[Any], None]) -> bytes:
    """``content``'s first sheet changed by ``edit`` (a synthetic workbook for a test)."""
    book = load_workbook(io.BytesIO(content))
    edit(book.worksheets[0])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rename_lpg(sheet: Any) -> None:
    for (cell,) in sheet.iter_rows(min_col=3, max_col=3):
        if cell.value == "GLP":
            cell.value = "GÁS LP"  # synthetic: a label ANP might rename GLP to


def _unreadable_row(sheet: Any) -> None:
    sheet.append(["fim da série", None, "PRODUTO NOVO", 1, "R$/l", 9.99])  # synthetic


def test_a_renamed_product_is_a_retry_every_week_synthetic(server, client, payload, series) -> None:
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        _rewritten(payload(BRASIL), _rename_lpg), content_type=XLSX
    )
    wanted = (series("FUEL#LPG#BR"), series("FUEL#GASOLINE#BR"))
    request = FetchRequest("anp:weekly:brasil", wanted, date(2012, 12, 1), date(2022, 12, 31))
    result = _source(server, client).fetch(request)
    observations = list(result.observations)  # streamed: read once; notes are then complete
    weeks = {o.date for o in observations}
    assert {o.key for o in observations} == {"FUEL#GASOLINE#BR"}
    assert len(weeks) == 5
    assert result.no_value == {}
    assert set(result.notes) == {("FUEL#LPG#BR", week) for week in weeks}
    assert all("unknown product 'GÁS LP'" in note for note in result.notes.values())


def test_a_row_with_nothing_readable_makes_every_no_row_a_retry_synthetic(
    server, client, payload, series
) -> None:
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        _rewritten(payload(BRASIL), _unreadable_row), content_type=XLSX
    )
    premium = series("FUEL#GASOLINE_PREMIUM#BR")  # no row in the 2012 week of the cut
    week = date(2012, 12, 30)
    result = _source(server, client).fetch(
        FetchRequest("anp:weekly:brasil", (premium,), week, week)
    )
    assert list(result.observations) == []
    assert result.no_value == {}
    note = result.notes[(premium.key, week)]
    assert "unknown product 'PRODUTO NOVO' and 'fim da série' is not a date" in note
    assert re.search(r"row \d+:", note)


def test_workbook_without_header_is_invalid(server, client, payload, series) -> None:
    with pytest.raises(InvalidPayload, match=re.escape(f"anp: {NO_HEADER}: no header row")):
        parse_workbook(payload(NO_HEADER), "anp:weekly:brasil", NO_HEADER)
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        payload(NO_HEADER), content_type=XLSX
    )
    request = FetchRequest(
        "anp:weekly:brasil", (series("FUEL#GASOLINE#BR"),), date(2021, 1, 1), date(2021, 12, 31)
    )
    with pytest.raises(InvalidPayload, match=r"semanal-brasil-desde-2013\.xlsx: no header row"):
        _source(server, client).fetch(request)


def test_header_lacking_the_area_column_is_invalid(payload) -> None:
    # The Brasil workbook read as the regions unit: no REGIÃO column.
    with pytest.raises(InvalidPayload, match="lacks REGIAO"):
        parse_workbook(payload(BRASIL), "anp:weekly:regioes", "x.xlsx")


def test_regions_workbook(payload) -> None:
    obs = _by_key_date(parse_workbook(payload(REGIONS), "anp:weekly:regioes", REGIONS))
    assert {k.split("#")[2] for k, _ in obs} == {
        "REGION_N",
        "REGION_NE",
        "REGION_CO",
        "REGION_SE",
        "REGION_S",
    }
    # semanal-regioes-desde-2013_to2022-06.xlsx: 2022-05-01 CENTRO OESTE GASOLINA COMUM 7.431
    assert obs[("FUEL#GASOLINE#REGION_CO", date(2022, 5, 1))].value == Decimal("7.431")
    assert obs[("FUEL#GASOLINE#REGION_SE", date(2022, 5, 1))].value == Decimal("7.272")


def test_monthly_states_workbook(payload) -> None:
    parsed = parse_workbook_detailed(payload(MONTHLY), "anp:monthly:estados", MONTHLY)
    obs = _by_key_date(parsed.observations)
    assert {d for _, d in obs} == {date(2014, 8, 1), date(2021, 5, 1)}  # first of MÊS
    assert len({k.split("#")[2] for k, _ in obs}) == 27
    # eduardoicosta__mensal-estados-desde-jan2013.xlsx: 2021-05 SAO PAULO GASOLINA COMUM 5.35
    assert obs[("FUEL_MONTHLY#GASOLINE#SP", date(2021, 5, 1))].value == Decimal("5.35")
    # August 2014 GNV has several rows for some states: the one with most stations is kept,
    # every figure of the others in its other_rows, in the workbook's order.
    es = obs[("FUEL_MONTHLY#CNG#ES", date(2014, 8, 1))]
    assert (es.value, es.attrs["stations"], es.attrs[OTHER_ROWS]) == (
        Decimal("1.799"),
        42,
        f"1.863@14 {ES_14}",
    )
    mg = obs[("FUEL_MONTHLY#CNG#MG", date(2014, 8, 1))]
    assert (mg.value, mg.attrs["stations"], mg.attrs[OTHER_ROWS]) == (
        Decimal("1.944"),
        70,
        f"2.08@4 {MG_4};2.099@1 {MG_1}",
    )
    assert OTHER_ROWS not in obs[("FUEL_MONTHLY#GASOLINE#SP", date(2021, 5, 1))].attrs
    assert any("FUEL_MONTHLY#CNG#MG 2014-08-01" in p for p in parsed.problems)


# The figures after price@stations of the real monthly file's repeated 2014-08 GNV rows
# (eduardoicosta__mensal-estados-desde-jan2013.xlsx; margin and distribution '-' in these).
ES_14 = "std=0.091 min=1.84 max=2.38 cv=0.049 unit=BRL/m3"
ES_42 = (
    "std=0.091 min=1.79 max=1.99 margin=0.543 cv=0.051 dist_price=1.256 dist_std=0.025 "
    "dist_min=1.2378 dist_max=1.2733 dist_cv=0.02 unit=BRL/m3"
)
MG_70 = (
    "std=0.119 min=1.795 max=2.18 margin=0.317 cv=0.061 dist_price=1.627 dist_std=0.122 "
    "dist_min=1.409 dist_max=1.67 dist_cv=0.075 unit=BRL/m3"
)
MG_4 = "std=0.119 min=1.999 max=2.16 cv=0.057 unit=BRL/m3"
MG_1 = "std=0.119 min=2.099 max=2.099 cv=0.057 unit=BRL/m3"


def _monthly_rows(sheet: Any, uf_name: str) -> list[Any]:
    """The 2014-08 GNV rows of a state in the monthly cut (cells, in the sheet's order)."""
    return [
        row
        for row in sheet.iter_rows()
        if row[1].value == "GNV" and row[3].value == uf_name and row[0].value.year == 2014
    ]


def _read_monthly(content: bytes) -> tuple[list[Any], list[str]]:
    problems: list[str] = []
    stream = stream_workbook(content, "anp:monthly:estados", MONTHLY, missing={}, problems=problems)
    return list(stream), problems


def test_a_key_date_is_yielded_once_on_a_tie_the_later_row_synthetic(payload) -> None:
    def edit(sheet: Any) -> None:
        first, second = _monthly_rows(sheet, "ESPIRITO SANTO")
        second[4].value = 14  # synthetic: as many stations as the first row (1.863)
        most = _monthly_rows(sheet, "MINAS GERAIS")[0]
        most[4].value = "-"  # synthetic: the 70-station row (1.944) without its count

    observations, _ = _read_monthly(_rewritten(payload(MONTHLY), edit))
    slots = Counter((o.key, o.date) for o in observations)
    assert max(slots.values()) == 1  # the stream gives each key-date once
    obs = _by_key_date(observations)
    es = obs[("FUEL_MONTHLY#CNG#ES", date(2014, 8, 1))]
    assert (es.value, es.attrs["stations"], es.attrs[OTHER_ROWS]) == (
        Decimal("1.799"),
        14,
        f"1.863@14 {ES_14}",
    )
    mg = obs[("FUEL_MONTHLY#CNG#MG", date(2014, 8, 1))]  # no count loses to any count
    assert (mg.value, mg.attrs["stations"], mg.attrs[OTHER_ROWS]) == (
        Decimal("2.08"),
        4,
        f"1.944@- {MG_70};2.099@1 {MG_1}",
    )


def test_other_rows_read_back_whatever_the_unit_text_synthetic(payload) -> None:
    def edit(sheet: Any) -> None:
        first, _ = _monthly_rows(sheet, "ESPIRITO SANTO")
        first[5].value = "R$ / m³; 100%=x"  # synthetic: a unit text with the separators

    observations, _ = _read_monthly(_rewritten(payload(MONTHLY), edit))
    es = _by_key_date(observations)[("FUEL_MONTHLY#CNG#ES", date(2014, 8, 1))]
    assert es.attrs[OTHER_ROWS] == (
        "1.863@14 std=0.091 min=1.84 max=2.38 cv=0.049 unit=R$%20/%20m%C2%B3%3B%20100%25%3Dx"
    )
    [(price, other)] = anp.read_other_rows(str(es.attrs[OTHER_ROWS]))
    assert price == Decimal("1.863")
    assert other == {
        "std": Decimal("0.091"),
        "min": Decimal("1.84"),
        "max": Decimal("2.38"),
        "margin": None,
        "cv": Decimal("0.049"),
        "dist_price": None,
        "dist_std": None,
        "dist_min": None,
        "dist_max": None,
        "dist_cv": None,
        "stations": 14,
        "unit": "R$ / m³; 100%=x",
    }


def test_a_row_repeated_with_every_figure_equal_is_one_row_synthetic(payload) -> None:
    """A sheet (or a download) that repeats a row gives the record one copy gives: the copy
    is not another row in OTHER_ROWS (make chaos's 'dup' fault found it: the record's
    attributes then depended on the repeat)."""

    def edit(sheet: Any) -> None:
        for uf in ("ESPIRITO SANTO", "MINAS GERAIS"):
            rows = _monthly_rows(sheet, uf)
            at = rows[0][0].row  # synthetic: the key-date's first row, again right after it
            cells = [cell.value for cell in rows[0]]
            sheet.insert_rows(at + 1)
            for column, value in enumerate(cells, start=1):
                sheet.cell(row=at + 1, column=column, value=value)

    once, _ = _read_monthly(payload(MONTHLY))
    twice, problems = _read_monthly(_rewritten(payload(MONTHLY), edit))
    assert [(o.key, o.date, o.value, o.attrs) for o in twice] == [
        (o.key, o.date, o.value, o.attrs) for o in once
    ]
    es = _by_key_date(twice)[("FUEL_MONTHLY#CNG#ES", date(2014, 8, 1))]
    assert es.attrs[OTHER_ROWS] == f"1.863@14 {ES_14}"
    notes = [p for p in problems if "row again, every figure equal" in p]
    assert len(notes) == 2 and "FUEL_MONTHLY#CNG#ES 2014-08-01" in notes[0]


def test_a_row_apart_from_its_key_dates_rows_is_noted_not_yielded_synthetic(payload) -> None:
    def edit(sheet: Any) -> None:
        _, second = _monthly_rows(sheet, "ESPIRITO SANTO")
        cells = [cell.value for cell in second]
        sheet.delete_rows(second[0].row)
        sheet.append(cells)  # synthetic: ES's 42-station row (1.799) after every other row

    observations, problems = _read_monthly(_rewritten(payload(MONTHLY), edit))
    assert max(Counter((o.key, o.date) for o in observations).values()) == 1
    es = _by_key_date(observations)[("FUEL_MONTHLY#CNG#ES", date(2014, 8, 1))]
    # Yielded (and perhaps stored) before the later row was read, it stands as it was.
    assert (es.value, es.attrs["stations"], OTHER_ROWS in es.attrs) == (Decimal("1.863"), 14, False)
    [note] = [p for p in problems if "FUEL_MONTHLY#CNG#ES" in p]
    assert note.endswith(
        "another row for FUEL_MONTHLY#CNG#ES 2014-08-01, apart from its first rows; "
        "not kept: 1.799 (42 stations)"
    )


def test_weekly_states_layout(server, client, payload, series) -> None:
    server.expect_request("/shlp/semanal/semanal-estados-desde-2013.xlsx").respond_with_data(
        payload(STATES), content_type=XLSX
    )
    wanted = tuple(series(f"FUEL#{p}#SP") for p in ("GASOLINE", "ETHANOL"))
    request = FetchRequest("anp:weekly:estados", wanted, date(2024, 6, 1), date(2024, 7, 31))
    result = _source(server, client).fetch(request)
    # strongylis__anp_shlp_estados.csv: week ending 2024-06-29, SP gasolina_c 5.63, hidratado 3.66
    got = {(o.key, o.date): (o.value, o.attrs["stations"]) for o in result.observations}
    assert got == {
        ("FUEL#ETHANOL#SP", date(2024, 6, 23)): (Decimal("3.66"), 1235),
        ("FUEL#ETHANOL#SP", date(2024, 6, 30)): (Decimal("3.68"), 1148),
        ("FUEL#GASOLINE#SP", date(2024, 6, 23)): (Decimal("5.63"), 1260),
        ("FUEL#GASOLINE#SP", date(2024, 6, 30)): (Decimal("5.62"), 1170),
    }


def test_html_instead_of_workbook(server, client, html_page, series) -> None:
    server.expect_request("/shlp/mensal/mensal-estados-desde-jan2013.xlsx").respond_with_data(
        html_page, content_type="text/html"
    )
    request = FetchRequest(
        "anp:monthly:estados",
        (series("FUEL_MONTHLY#GASOLINE#SP"),),
        date(2021, 1, 1),
        date(2021, 2, 1),
    )
    with pytest.raises(
        InvalidPayload, match=r"mensal-estados-desde-jan2013\.xlsx: not a workbook: got HTML"
    ):
        _source(server, client).fetch(request)


def test_unknown_fetch_unit(client) -> None:
    with pytest.raises(ValueError, match="unknown fetch unit"):
        parse_workbook(b"PK\x03\x04", "anp:weekly:municipios", "x.xlsx")


# --- the real, full workbooks from datasets/ (a missing one fails) ---------------------------


def test_full_real_regions_workbook(real_data) -> None:
    path = real_data("anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx")
    parsed = parse_workbook_detailed(path.read_bytes(), "anp:weekly:regioes", path.name)
    assert parsed.problems == []
    assert len(parsed.observations) == 14_588  # every data row of the file
    assert all(o.date.weekday() == 6 for o in parsed.observations)
    per_product = Counter(o.key.split("#")[1] for o in parsed.observations)
    assert per_product["GASOLINE"] == per_product["ETHANOL"] == 2_395
    assert per_product["GASOLINE_PREMIUM"] == 405
    obs = _by_key_date(parsed.observations)
    assert obs[("FUEL#GASOLINE#REGION_SE", date(2022, 5, 1))].value == Decimal("7.272")
    assert obs[("FUEL#GASOLINE#REGION_S", date(2022, 5, 1))].value == Decimal("7.145")


def test_full_real_monthly_states_workbook(real_data) -> None:
    path = real_data("anp/eduardoicosta__mensal-estados-desde-jan2013.xlsx")
    parsed = parse_workbook_detailed(path.read_bytes(), "anp:monthly:estados", path.name)
    # 21,938 data rows; a few (GNV, 2014-08) repeat a state and month and collapse into one,
    # the others' figures in its other_rows. The stream gives each key-date once.
    assert len(parsed.observations) == 21_933
    assert len({(o.key, o.date) for o in parsed.observations}) == 21_933
    assert all("another row for FUEL_MONTHLY#CNG#" in p for p in parsed.problems)
    several = {
        (o.key, o.date.isoformat()): (str(o.value), o.attrs[OTHER_ROWS])
        for o in parsed.observations
        if OTHER_ROWS in o.attrs
    }
    assert several == {  # eduardoicosta__mensal-estados-desde-jan2013.xlsx, 2014-08 GNV
        ("FUEL_MONTHLY#CNG#ES", "2014-08-01"): ("1.799", f"1.863@14 {ES_14}"),
        ("FUEL_MONTHLY#CNG#MG", "2014-08-01"): ("1.944", f"2.08@4 {MG_4};2.099@1 {MG_1}"),
        ("FUEL_MONTHLY#CNG#PE", "2014-08-01"): (
            "1.88",
            "1.897@9 std=0.077 min=1.89 max=1.899 cv=0.041 unit=BRL/m3",
        ),
        ("FUEL_MONTHLY#CNG#RN", "2014-08-01"): (
            "1.999",
            "2.012@3 std=0.033 min=2.012 max=2.012 cv=0.016 unit=BRL/m3",
        ),
        # RS's and SP's other rows publish every figure: SP's 30 stations bottom out at
        # 1.557, below the kept row's minimum (1.589), and they have their own margin.
        ("FUEL_MONTHLY#CNG#RS", "2014-08-01"): (
            "2.194",
            "2.28@2 std=0.088 min=2.28 max=2.28 margin=0.503 cv=0.039 dist_price=1.777 "
            "dist_std=0.233 dist_min=1.7766 dist_max=1.7766 dist_cv=0.131 unit=BRL/m3",
        ),
        ("FUEL_MONTHLY#CNG#SP", "2014-08-01"): (
            "1.793",
            "1.806@30 std=0.161 min=1.557 max=2.08 margin=0.422 cv=0.089 dist_price=1.384 "
            "dist_std=0.19 dist_min=1.1678 dist_max=1.5696 dist_cv=0.137 unit=BRL/m3",
        ),
    }
    sp = _by_key_date(parsed.observations)[("FUEL_MONTHLY#CNG#SP", date(2014, 8, 1))]
    assert (sp.attrs["min"], sp.attrs["margin"]) == (Decimal("1.589"), Decimal("0.35"))
    [(price, other)] = anp.read_other_rows(sp.attrs[OTHER_ROWS])
    assert (price, other["stations"], other["min"], other["margin"]) == (
        Decimal("1.806"),
        30,
        Decimal("1.557"),
        Decimal("0.422"),
    )
    assert all(o.date.day == 1 for o in parsed.observations)
    obs = _by_key_date(parsed.observations)
    assert obs[("FUEL_MONTHLY#GASOLINE#SP", date(2024, 5, 1))].value == Decimal("5.64")
    assert obs[("FUEL_MONTHLY#GASOLINE#SP", date(2024, 5, 1))].attrs["stations"] == 5221


# Every published column -> the attribute holding it (the price is the value, the dates and
# the product and area make the key): stated here, not taken from the adapter.
PUBLISHED = {
    "NÚMERO DE POSTOS PESQUISADOS": "stations",
    "UNIDADE DE MEDIDA": "unit",
    "DESVIO PADRÃO REVENDA": "std",
    "PREÇO MÍNIMO REVENDA": "min",
    "PREÇO MÁXIMO REVENDA": "max",
    "MARGEM MÉDIA REVENDA": "margin",
    "COEF DE VARIAÇÃO REVENDA": "cv",
    "PREÇO MÉDIO DISTRIBUIÇÃO": "dist_price",
    "DESVIO PADRÃO DISTRIBUIÇÃO": "dist_std",
    "PREÇO MÍNIMO DISTRIBUIÇÃO": "dist_min",
    "PREÇO MÁXIMO DISTRIBUIÇÃO": "dist_max",
    "COEF DE VARIAÇÃO DISTRIBUIÇÃO": "dist_cv",
}
KEY_COLUMNS = {"DATA INICIAL", "DATA FINAL", "MÊS", "PRODUTO", "REGIÃO", "ESTADO", None}
UNITS = {"R$/l": "BRL/l", "R$/13Kg": "BRL/13kg", "R$/13kg": "BRL/13kg", "R$/m3": "BRL/m3",
         "R$/m³": "BRL/m3"}  # fmt: skip


def _published(cell: object) -> object:
    """A cell as the attribute must hold it: numbers exact (at most 4 decimals in ANP's
    floats, so their repr is the published figure), '-' as None."""
    if cell == "-" or cell is None:
        return None
    if isinstance(cell, float):
        return Decimal(repr(cell))
    if isinstance(cell, int):
        return cell
    assert isinstance(cell, str)
    return UNITS[cell]


def _published_rows(content: bytes) -> list[list[tuple[Decimal, dict[str, object]]]]:
    """Each key-date's priced rows, (price, figures by attribute), read by openpyxl: adjacent
    rows with the same date, product and area are one key-date's."""
    sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(row for row in rows if "PRODUTO" in row)
    assert set(header) <= set(PUBLISHED) | KEY_COLUMNS | {"PREÇO MÉDIO REVENDA"}, header
    groups: list[list[tuple[Decimal, dict[str, object]]]] = []
    last: tuple[object, ...] = ()
    for row in rows:
        cells = dict(zip(header, row, strict=False))
        price = cells.get("PREÇO MÉDIO REVENDA")
        if not isinstance(price, (int, float)):
            continue  # '-' (no price) or a blank row
        slot = tuple(cells.get(c) for c in ("DATA INICIAL", "MÊS", "PRODUTO", "REGIÃO", "ESTADO"))
        figures = {attr: _published(cells[column]) for column, attr in PUBLISHED.items()}
        if slot != last:
            groups.append([])
            last = slot
        groups[-1].append((Decimal(repr(price)), figures))
    return groups


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("anp/maikereis__semanal-brasil-desde-2013.xlsx", "anp:weekly:brasil"),
        ("anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx", "anp:weekly:regioes"),
        ("anp/eduardoicosta__mensal-estados-desde-jan2013.xlsx", "anp:monthly:estados"),
    ],
)
def test_every_published_figure_of_the_real_workbooks_is_stored(
    name: str, unit: str, real_data
) -> None:
    """Each priced row of the real full workbooks, every column: the kept row's figures are
    the record's attributes, each other row of its key-date is in its other_rows, exactly."""
    content = real_data(name).read_bytes()
    observations = parse_workbook(content, unit, "w.xlsx")
    groups = _published_rows(content)
    assert len(observations) == len(groups)
    for obs, rows in zip(observations, groups, strict=True):
        attrs = dict(obs.attrs)
        stored = [(obs.value, attrs)]
        if OTHER_ROWS in attrs:
            stored += anp.read_other_rows(str(attrs.pop(OTHER_ROWS)))
        key = lambda row: (row[0], str(sorted(row[1].items())))  # noqa: E731
        assert sorted(stored, key=key) == sorted(rows, key=key), (obs.key, obs.date)


def _station_counts_as_text(sheet: Any) -> None:
    """SP's counts as text, as a sheet typed by hand writes them (synthetic): a thousands
    separator in one, a figure that is no count in another."""
    for row in sheet.iter_rows(min_row=19):
        if row[3].value == "SAO PAULO" and row[4].value == "GASOLINA COMUM":
            row[5].value = f"{row[5].value:,.0f}".replace(",", ".")  # 1260 -> "1.260"
        elif row[3].value == "SAO PAULO" and row[4].value == "ETANOL HIDRATADO":
            row[5].value = "1.235,5"


def test_a_station_count_with_a_thousands_separator_is_kept_a_bad_one_named_synthetic(
    server, client, payload, series
) -> None:
    """NÚMERO DE POSTOS PESQUISADOS written as text "1.260" was read as 1.26, not a whole
    number, and left out without a word: the count ANP published was dropped. A thousands
    separator is read now; a count that still is not one is noted, its row kept without it."""
    server.expect_request("/shlp/semanal/semanal-estados-desde-2013.xlsx").respond_with_data(
        _rewritten(payload(STATES), _station_counts_as_text), content_type=XLSX
    )
    wanted = tuple(series(f"FUEL#{p}#SP") for p in ("GASOLINE", "ETHANOL"))
    request = FetchRequest("anp:weekly:estados", wanted, date(2024, 6, 1), date(2024, 7, 31))
    source = _source(server, client)
    result = source.fetch(request)
    got = {(o.key, o.date): (o.value, o.attrs["stations"]) for o in result.observations}
    assert got == {  # the values of test_weekly_states_layout
        ("FUEL#ETHANOL#SP", date(2024, 6, 23)): (Decimal("3.66"), None),
        ("FUEL#ETHANOL#SP", date(2024, 6, 30)): (Decimal("3.68"), None),
        ("FUEL#GASOLINE#SP", date(2024, 6, 23)): (Decimal("5.63"), 1260),
        ("FUEL#GASOLINE#SP", date(2024, 6, 30)): (Decimal("5.62"), 1170),
    }
    bad = [p for p in source.last_problems if "NUMERO DE POSTOS PESQUISADOS" in p]
    assert len(bad) == 2
    assert all("'1.235,5' is not a whole number; kept the row without it" in p for p in bad)
    assert all(re.match(r"anp: semanal-estados-desde-2013\.xlsx row \d+: ", p) for p in bad)


def test_a_workbook_cut_short_is_named_so(server, client, payload, series) -> None:
    """A download that stopped part-way (a close-delimited answer carries no length to check)
    starts like a workbook and was reported as "BadZipFile: File is not a zip file", which
    reads as if ANP had published something else; it is named for what it is."""
    whole = payload(BRASIL)
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        whole[: len(whole) // 2], content_type=XLSX
    )
    request = FetchRequest(
        "anp:weekly:brasil", (series("FUEL#GASOLINE#BR"),), date(2022, 1, 1), date(2022, 2, 1)
    )
    with pytest.raises(
        InvalidPayload,
        match=rf"semanal-brasil-desde-2013\.xlsx: the workbook is cut short: {len(whole) // 2} "
        r"bytes and no zip end record",
    ):
        _source(server, client).fetch(request)


def _rename_std_and_repeat_price(sheet: Any) -> None:
    header = next(r for r in sheet.iter_rows() if any(c.value == "PRODUTO" for c in r))
    for cell in header:
        if cell.value == "DESVIO PADRÃO REVENDA":
            cell.value = "DESVIO PADRÃO DA REVENDA"  # synthetic: a renamed column
        elif cell.value == "PREÇO MÉDIO DISTRIBUIÇÃO":
            cell.value = "PREÇO MÉDIO REVENDA"  # synthetic: a column named twice


def test_a_column_the_reader_does_not_read_is_named_not_dropped_quietly_synthetic(
    server, client, payload, series
) -> None:
    """A header cell the reader does not know (ANP renaming DESVIO PADRÃO REVENDA, say) left
    that column's figures out of every record without a word, and so did a second column of a
    name already read. Each is now a problem naming the file, the header row, the column and
    its name; the rows are read as before (the price and the other figures are stored)."""
    server.expect_request("/shlp/semanal/semanal-brasil-desde-2013.xlsx").respond_with_data(
        _rewritten(payload(BRASIL), _rename_std_and_repeat_price), content_type=XLSX
    )
    gasoline, week = series("FUEL#GASOLINE#BR"), date(2012, 12, 30)
    source = _source(server, client)
    result = source.fetch(FetchRequest("anp:weekly:brasil", (gasoline,), week, week))
    [obs] = list(result.observations)
    assert obs.value == Decimal("2.758")  # the real week's price, read as before
    assert obs.attrs["std"] is None and obs.attrs["min"] == Decimal("2.269")
    assert source.last_problems == (
        f"anp: {BRASIL_FILE} header row 18: column G 'DESVIO PADRÃO DA REVENDA' is not one "
        "the reader knows; its figures are not stored",
        f"anp: {BRASIL_FILE} header row 18: column L 'PREÇO MÉDIO REVENDA' repeats column F's "
        "name; only column F is read",
    )


def _respell_products(sheet: Any) -> None:
    spellings = {  # synthetic: each differs from ANP's survey spelling in hyphens/spaces/accents
        "OLEO DIESEL S10": "ÓLEO DIESEL S-10",  # ANP's spelling in its sales data
        "OLEO DIESEL": "ÓLEO  DIESEL",
        "GASOLINA COMUM": "Gasolina-Comum",
        "ETANOL HIDRATADO": " ETANOL HIDRATADO ",
    }
    for (cell,) in sheet.iter_rows(min_col=3, max_col=3):
        cell.value = spellings.get(cell.value, cell.value)


def test_product_spellings_differing_in_hyphens_spaces_or_accents_match_synthetic(
    payload,
) -> None:
    """Labels were matched with hyphens turned into spaces, so "ÓLEO DIESEL S-10" (ANP's
    spelling outside the survey workbooks) became "OLEO DIESEL S 10", no product: every S10
    row skipped. Every spelling in the real workbooks (all years: 2012-12 to 2026-03 weekly
    Brazil, 2013-2022 regions, 2013-2024 monthly states) is the catalog's own; one differing
    only in hyphens, spaces or accents now reads as it."""
    as_published = parse_workbook(payload(BRASIL), "anp:weekly:brasil", BRASIL)
    respelled = parse_workbook_detailed(
        _rewritten(payload(BRASIL), _respell_products), "anp:weekly:brasil", BRASIL
    )
    assert respelled.problems == []
    assert _by_key_date(respelled.observations) == _by_key_date(as_published)
    assert len([o for o in as_published if o.key == "FUEL#DIESEL_S10#BR"]) == 5


def test_no_two_catalog_names_are_one_label() -> None:
    """Labels are matched without spaces: no two products, regions or states may meet."""
    for table, names in (
        (anp._PRODUCT_BY_LABEL, [label for label, _ in anp.FUEL_PRODUCTS.values()]),
        (anp._REGION_BY_NAME, list(anp.REGIONS.values())),
        (anp._UF_BY_NAME, [name for name, _ in anp.STATES.values()]),
    ):
        assert len(table) == len(names)


def _odd_week_ends(sheet: Any) -> None:
    rows = {row[0].row: row for row in sheet.iter_rows(min_row=19, max_col=3)}
    rows[19][1].value = rows[19][1].value + timedelta(days=7)  # synthetic: 13 days after
    rows[20][1].value = "05/01/2O13"  # synthetic: not a date (a letter O)
    rows[21][1].value = None  # synthetic: blank


def test_a_data_final_that_is_not_six_days_on_is_named_the_row_still_read_synthetic(
    payload,
) -> None:
    """DATA FINAL was not read at all: a row whose week did not end on the Saturday after its
    DATA INICIAL (a wrong week in the file) passed without a word. Such a row is now named in
    the workbook's problems (row number, both dates), and still read as the week of its DATA
    INICIAL. Every row of the real weekly workbooks (18,949) ends 6 days on: none is named."""
    content = _rewritten(payload(BRASIL), _odd_week_ends)
    parsed = parse_workbook_detailed(content, "anp:weekly:brasil", BRASIL)
    as_published = parse_workbook(payload(BRASIL), "anp:weekly:brasil", BRASIL)
    assert _by_key_date(parsed.observations) == _by_key_date(as_published)
    read_as = "the row is read as the week of 2012-12-30"
    assert parsed.problems == [
        f"anp: {BRASIL} row 19: DATA FINAL 2013-01-12 is not DATA INICIAL 2012-12-30 + 6 days; "
        + read_as,
        f"anp: {BRASIL} row 20: DATA FINAL '05/01/2O13' is not a date; " + read_as,
        f"anp: {BRASIL} row 21: DATA FINAL None is not a date; " + read_as,
    ]
    assert parse_workbook_detailed(payload(BRASIL), "anp:weekly:brasil", BRASIL).problems == []
