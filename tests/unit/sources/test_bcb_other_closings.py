"""BCB PTAX's other_closings text read back: each earlier closing bulletin of a day, exact."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.adapters.sources.bcb import (
    OTHER_CLOSINGS,
    OtherClosing,
    _Bulletin,
    _other_closings,
    parse_ptax,
    read_other_closings,
)

_DECIMALS = st.decimals(allow_nan=False, allow_infinity=False)
_TIMESPECS = ("seconds", "milliseconds", "microseconds")


@st.composite
def _stamps(draw: st.DrawFn) -> tuple[str, datetime]:
    """A dataHoraCotacao text (Olinda's naive Brasília time, or with an offset) and its instant
    as parse_ptax orders it."""
    at = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)))
    sep, spec = draw(st.sampled_from(" T")), draw(st.sampled_from(_TIMESPECS))
    if draw(st.booleans()):
        offset = timezone(timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60))))
        return at.replace(tzinfo=offset).isoformat(sep, spec), at  # order: any, it is a test
    return at.isoformat(sep, spec), at


@st.composite
def _bulletins(draw: st.DrawFn) -> list[_Bulletin]:
    out = []
    for place in range(draw(st.integers(1, 6))):
        stamp, at = draw(_stamps())
        figures = [draw(_DECIMALS) for _ in range(4)]
        out.append(_Bulletin(at, stamp, *figures, closing=True, kind="Fechamento", place=place))
    if draw(st.booleans()):  # the same bulletin given twice is said once
        out.append(out[0]._replace(place=len(out)))
    return out


def _exact(closing: OtherClosing) -> tuple[str, ...]:
    """A bulletin with each figure's exact text (Decimal("1.0") == Decimal("1.00"))."""
    return (closing.at, *(str(figure) for figure in closing[1:]))


@settings(max_examples=300, deadline=None)
@given(_bulletins())
def test_other_closings_read_back_exactly_what_was_written_synthetic(
    bulletins: list[_Bulletin],
) -> None:
    """Nothing read the other_closings text back; every bulletin the writer keeps comes back,
    in its time order, with its instant text and each figure exact (exponents, signs, zeros)."""
    written = sorted(bulletins, key=lambda b: (b.at, b.place))
    expected = list(
        dict.fromkeys(
            (b.stamp, str(b.sell), str(b.buy), str(b.parity_buy), str(b.parity_sell))
            for b in written
        )
    )
    read = read_other_closings(_other_closings(bulletins))
    assert all(isinstance(figure, Decimal) for closing in read for figure in closing[1:])
    assert [_exact(closing) for closing in read] == expected


def test_a_corrected_ptax_days_earlier_closings_read_back_synthetic() -> None:
    """The record parse_ptax keeps for a day with three closings (synthetic, around the real
    2024-01-15 USD closing 4.8741 at 13:38:08.191): its other_closings give the two earlier
    bulletins, typed."""
    rows = [
        {
            "paridadeCompra": Decimal("1.0"),
            "paridadeVenda": Decimal("1.0"),
            "cotacaoCompra": Decimal(sell) - Decimal("0.0006"),
            "cotacaoVenda": Decimal(sell),
            "dataHoraCotacao": stamp,
            "tipoBoletim": "Fechamento",
        }
        for stamp, sell in (
            ("2024-01-15 13:38:08.191", "4.8741"),
            ("2024-01-15 13:40:01.5", "4.8750"),
            ("2024-01-15 13:39:00", "4.8745"),
        )
    ]
    day = date(2024, 1, 15)
    [obs], _ = parse_ptax({"value": rows}, "CURRENCY#USD", day, day)
    assert read_other_closings(str(obs.attrs[OTHER_CLOSINGS])) == [
        OtherClosing(
            "2024-01-15 13:38:08.191",
            Decimal("4.8741"),
            Decimal("4.8735"),
            Decimal("1.0"),
            Decimal("1.0"),
        ),
        OtherClosing(
            "2024-01-15 13:39:00",
            Decimal("4.8745"),
            Decimal("4.8739"),
            Decimal("1.0"),
            Decimal("1.0"),
        ),
    ]


_GOOD = "2024-01-15 13:38:08.191 sell=4.8741 buy=4.8735 parity_buy=1.0 parity_sell=1.0"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "no ' sell=' after an instant"),
        ("2024-01-15 13:38:08.191", "no ' sell=' after an instant"),
        (_GOOD.replace("2024-01-15 ", "2024-01-15  "), "bad instant '2024-01-15  13:38:08.191'"),
        (_GOOD.replace("2024-01-15 13", "2024-01-15 25"), "bad instant '2024-01-15 25:38:08.191'"),
        (_GOOD.replace("4.8741", "4,8741"), "'sell=4,8741' is not a decimal number"),
        (_GOOD.replace("4.8735", "NaN"), "'buy=NaN' is not a decimal number"),
        (_GOOD.replace("parity_sell=1.0", "parity_sell=1_0"), "'parity_sell=1_0' is not a"),
        (_GOOD.replace("parity_sell=1.0", "parity_sell="), "'parity_sell=' is not a decimal"),
        (_GOOD.replace(" buy=4.8735", ""), "got 'sell=4.8741 parity_buy=1.0 parity_sell=1.0'"),
        (_GOOD.replace(" sell=", " ask="), "no ' sell=' after an instant"),
        (_GOOD.replace("buy=", "bid=", 1), "expected sell= buy= parity_buy= parity_sell= after"),
        (_GOOD + " venda=4.9", "got 'sell=4.8741 buy=4.8735 parity_buy=1.0 parity_sell=1.0 ven"),
        (f"{_GOOD};{_GOOD}", "parity_sell=1.0;2024-01-15 13:38:08.191 sell=4.8741 "),
    ],
)
def test_a_part_that_does_not_read_is_a_value_error_naming_it_synthetic(
    text: str, named: str
) -> None:
    with pytest.raises(ValueError, match=OTHER_CLOSINGS) as caught:
        read_other_closings(f"{_GOOD}; {text}")
    assert named in str(caught.value)
    assert repr(text) in str(caught.value)  # the bulletin it is in
