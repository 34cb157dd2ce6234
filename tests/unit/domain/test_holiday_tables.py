"""The calendars' holiday tables are the libraries' own days (domain/holiday_tables.py is
written by ``python -m devtools.holiday_tables`` from holidays and bizdays, dev dependencies)."""

from __future__ import annotations

from datetime import date

import holidays
from devtools.holiday_tables import TARGET, YEARS, render

from fuelpipe.domain import holiday_tables
from fuelpipe.domain.calendars import _YEARS, holiday_dates


def test_the_committed_tables_are_what_the_installed_libraries_give():
    assert TARGET.read_text(encoding="utf-8") == render(), (
        "src/fuelpipe/domain/holiday_tables.py differs from the installed holidays/bizdays: "
        "run `.venv/bin/python -m devtools.holiday_tables` and review the diff"
    )


def test_a_table_reads_back_as_the_library_days():
    bvmf = holidays.financial_holidays("BVMF", years=YEARS)
    assert holiday_dates(holiday_tables.BVMF) == frozenset(bvmf)
    assert date(2024, 11, 20) in holiday_dates(holiday_tables.BVMF)  # national from 2024
    assert _YEARS == YEARS
