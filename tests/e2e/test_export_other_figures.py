"""`fuelpipe export KEY --other-figures`: the figures a record keeps beside its value, as rows.

PTAX's earlier closing bulletins (``other_closings``) and ANP's other rows of one state, fuel
and month (``other_rows``) were stored, and read back by ``read_other_closings`` and
``read_other_rows``, but no command showed them but as the one stored text. The records here
are the real parsers' own: ANP's real monthly states workbook (CNG in MG, August 2014: three
rows, 70, 4 and 1 stations) and the bundled PTAX fixture's 2021-05-19 closing with a corrected
closing after it (synthetic). Each check is the real CLI in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.sources.anp import OTHER_ROWS, parse_workbook
from fuelpipe.adapters.sources.bcb import OTHER_CLOSINGS, parse_ptax
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status

PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads"
MONTHLY = "anp_mensal-estados-desde-jan2013_cut.xlsx"
PTAX = "bcb_ptax_USD_2021-05-19_2021-06-01_intermediate-bulletins-synthetic.json"
MG, USD = "FUEL_MONTHLY#CNG#MG", "CURRENCY#USD"
AUGUST_2014, DAY = date(2014, 8, 1), date(2021, 5, 19)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    workbook = parse_workbook((PAYLOADS / MONTHLY).read_bytes(), "anp:monthly:estados", MONTHLY)
    [cng] = [o for o in workbook if (o.key, o.date) == (MG, AUGUST_2014)]
    rows = json.loads((PAYLOADS / PTAX).read_text(), parse_float=Decimal)["value"]
    corrected = {  # synthetic: the day's closing corrected four minutes later
        **next(r for r in rows if r["dataHoraCotacao"] == "2021-05-19 13:02:41.330"),
        "dataHoraCotacao": "2021-05-19 13:06:41.5",
        "cotacaoVenda": Decimal("5.2830"),
    }
    [ptax], notes = parse_ptax({"value": [*rows, corrected]}, USD, DAY, DAY)
    assert notes == {} and OTHER_ROWS in cng.attrs and OTHER_CLOSINGS in ptax.attrs
    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as store:
        store.put_records(
            [Record(o.key, o.date, o.value, Status.OK, attrs=o.attrs) for o in (cng, ptax)]
        )
    return {"FUELPIPE_DB": str(db)}


def test_anp_other_rows_are_rows_of_their_own(env: dict[str, str]) -> None:
    rows = json.loads(fuelpipe("export", MG, "--other-figures", "-f", "json", env=env).stdout)
    assert [(r["figure"], r["value"], r["stations"], r.get("status")) for r in rows] == [
        ("value", "1.944", 70, "OK"),
        ("other_rows", "2.08", 4, None),
        ("other_rows", "2.099", 1, None),
    ]
    assert rows[1] == {  # eduardoicosta__mensal-estados-desde-jan2013.xlsx, MG, CNG, 2014-08
        "date": "2014-08-01",
        "value": "2.08",
        "stations": 4,
        "std": "0.119",
        "min": "1.999",
        "max": "2.16",
        "cv": "0.057",
        "unit": "BRL/m3",
        "figure": "other_rows",
    }
    plain = json.loads(fuelpipe("export", MG, "-f", "json", env=env).stdout)
    assert len(plain) == 1 and "figure" not in plain[0]  # without the option: as before


def test_ptax_earlier_closings_line_up_under_the_record_s_columns(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "usd.csv"
    done = fuelpipe("export", USD, "--other-figures", "-o", str(out), env=env)
    assert done.stderr.splitlines() == [f"wrote 1 records and 1 other figures of {USD} to {out}"]
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(table[0])[:5] == ["date", "value", "status", "retry_count", "figure"]
    got = [
        (r["figure"], r["value"], r["status"], r["bulletin_at"], r["buy"], r["parity_sell"])
        for r in table
    ]
    assert got == [
        ("value", "5.283", "OK", "2021-05-19 13:06:41.5", "5.2816", "1"),  # as stored
        ("other_closings", "5.2822", "", "2021-05-19 13:02:41.330", "5.2816", "1.0"),
    ]  # strongylis__ptax.csv, 2021-05-19: venda 5.2822, compra 5.2816 (the text: exact)


def test_other_figures_are_refused_for_parquet_and_a_text_that_does_not_read(
    env: dict[str, str], tmp_path: Path
) -> None:
    parquet = fuelpipe(
        "export", USD, "--other-figures", "-o", str(tmp_path / "u.parquet"), env=env, check=False
    )
    assert parquet.returncode != 0 and "--other-figures writes csv or json" in parquet.stderr
    db = Path(env["FUELPIPE_DB"])
    with SqliteStore(db) as store:  # synthetic: a text cut short, as no reader wrote it
        store.put_records(
            [Record(USD, DAY, Decimal("5.283"), Status.OK, attrs={OTHER_CLOSINGS: "13:02 5.28"})]
        )
    bad = fuelpipe("export", USD, "--other-figures", env=env, check=False)
    assert bad.returncode != 0 and bad.stdout == ""
    assert f"--other-figures: {USD} 2021-05-19: other_closings: no ' sell='" in bad.stderr
