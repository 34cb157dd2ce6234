"""The End-date field's hint says when FRED's Brent is known, as its schedule does."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from fuelpipe.domain.publication import PUBLICATIONS

I18N = Path(__file__).parents[2] / "src" / "fuelpipe" / "dashboard" / "static" / "i18n.js"
WORDS = {
    "en": ("Monday", "Friday after"),
    "pt-BR": ("segunda-feira", "sexta-feira seguinte"),
}


def _hints() -> list[str]:
    return [
        line.split(":", 1)[1].strip().strip('",')
        for line in I18N.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith('"ctl.dateHint"')
    ]


def test_brent_is_published_in_batches_through_a_monday_out_the_friday_after() -> None:
    """What the hint below says, from the schedule itself: a Tuesday's value waits 10 days."""
    fred = PUBLICATIONS["fred_brent"]
    monday, tuesday = date(2026, 3, 9), date(2026, 3, 10)
    out = {day: fred.published_at(day).date() for day in (monday, tuesday)}
    assert out[monday] - monday == timedelta(days=4)
    assert out[monday].weekday() == 4  # a Friday
    assert out[tuesday] - tuesday == timedelta(days=10)


@pytest.mark.parametrize(("index", "lang"), [(0, "en"), (1, "pt-BR")])
def test_the_date_hint_gives_brent_its_weekly_batch_not_a_week(index: int, lang: str) -> None:
    """It said "FRED Brent a week after its date" (session 44 moved the schedule to FRED's
    weekly batches: a value 4 to 10 days after its date)."""
    hint = _hints()[index]
    monday, friday = WORDS[lang]
    assert monday in hint and friday in hint, hint
    assert "week after its date" not in hint and "semana após a data" not in hint, hint


def test_both_languages_have_one_hint() -> None:
    assert len(_hints()) == 2
