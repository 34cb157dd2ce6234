"""PTAX and Yahoo cells read with their fast paths give what json_decimal gives, cell by cell.

``parse_chart`` and ``parse_ptax`` take a finite Decimal as it is and send any other cell through
``json_decimal``; random cells of every JSON type must give the observations, notes and errors
that reading every cell with ``json_decimal`` gives (restated below as the reference).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fuelpipe.adapters.sources import bcb, yahoo
from fuelpipe.adapters.sources._http import json_decimal
from fuelpipe.domain.models import Observation
from fuelpipe.ports.source import InvalidPayload

ZONE = "America/Sao_Paulo"
FIRST = 1_600_000_000  # 2020-09-13

cells = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=0, max_value=10**6),
    st.sampled_from([Decimal("Infinity"), Decimal("NaN"), Decimal("1.0"), Decimal(0)]),
    st.integers(0, 10**9),
    st.booleans(),
    st.none(),
    st.just("5.1"),
)


def _reference_bar(quote: dict[str, Any], adj: list[Any], i: int, day: date) -> object:
    """One bar: its observation, or the note it is."""
    values = {name: json_decimal(quote[name][i]) for name in yahoo._FIELDS}
    if values["close"] is None:  # only the close is required: it is the value
        nulls = ", ".join(name for name in yahoo._FIELDS if values[name] is None)
        return f"yahoo: null {nulls} in the bar: missing, not zero"
    o, h, low, c, v = (values[name] for name in yahoo._FIELDS)
    if v is not None and v == 0 and o == h == low == c:
        return "yahoo: stale bar (open=high=low=close, volume 0): no trading"
    if v is not None and v != v.to_integral_value():  # the bar's day, not the answer
        return f"w: volume {v} on {day} is not whole; the day is retried"
    attrs = {"open": o, "high": h, "low": low, "close": c, "adj_close": json_decimal(adj[i]),
             "volume": None if v is None else int(v)}  # fmt: skip
    lacked = sorted(name for name, x in attrs.items() if x is None)  # asked for again
    if lacked:
        attrs["lacking"] = ",".join(lacked)  # type: ignore[assignment]
    return Observation("K", day, c, attrs)  # type: ignore[arg-type]


def _reference_chart(payload: dict[str, Any], start: date, end: date) -> object:
    result = payload["chart"]["result"][0]
    quote = result["indicators"]["quote"][0]
    adj = result["indicators"]["adjclose"][0]["adjclose"]
    stamps = result["timestamp"]
    last: dict[date, list[int]] = {}  # each day's bars of its latest instant, good or bad
    for i, stamp in enumerate(stamps):
        day = datetime.fromtimestamp(stamp, UTC).astimezone(yahoo.ZoneInfo(ZONE)).date()
        if not start <= day <= end:
            continue
        if day not in last or stamp > stamps[last[day][0]]:
            last[day] = [i]
        elif stamp == stamps[last[day][0]]:
            last[day].append(i)
    bars: list[Observation] = []
    notes: dict[tuple[str, date], str] = {}
    for day, indices in sorted(last.items()):
        first, *others = (_reference_bar(quote, adj, i, day) for i in indices)
        other = next((b for b in others if b != first), None)
        if other is not None:  # two bars of one instant: which is the day's is unknown
            closes = [b.value if isinstance(b, Observation) else None for b in (first, other)]
            said = (
                f"closes {closes[0]} and {closes[1]}"
                if None not in closes and closes[0] != closes[1]
                else "different figures"
            )
            first = (
                f"w: two bars at {stamps[indices[0]]} with {said}: which one is the day's close "
                "is unknown; the day is retried"
            )
        if isinstance(first, Observation):
            bars.append(first)
        else:
            notes[("K", day)] = str(first)
    return bars, notes


@st.composite
def charts(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 12))
    stamps = sorted(FIRST + 86_400 * draw(st.integers(0, 20)) for _ in range(n))
    quote = {name: draw(st.lists(cells, min_size=n, max_size=n)) for name in yahoo._FIELDS}
    if draw(st.booleans()):  # most bars are whole: the same number four times is stale
        quote["volume"] = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    adj = draw(st.lists(cells, min_size=n, max_size=n))
    return {
        "chart": {
            "result": [
                {
                    "meta": {"exchangeTimezoneName": ZONE},
                    "timestamp": stamps,
                    "indicators": {"quote": [quote], "adjclose": [{"adjclose": adj}]},
                }
            ],
            "error": None,
        }
    }


@settings(max_examples=300, deadline=None)
@given(charts(), st.integers(0, 10))
def test_chart_bars_are_read_as_json_decimal_reads_them(payload: dict[str, Any], cut: int) -> None:
    start, end = date(2020, 9, 13 + cut), date(2020, 10, 1)
    want = _reference_chart(payload, start, end)
    try:
        got: object = yahoo.parse_chart(payload, "K", ZONE, start, end, "w")
    except InvalidPayload as exc:
        got = str(exc).removeprefix("w: ")
    assert got == want
    if isinstance(want, tuple):
        assert [str(o.attrs) for o in got[0]] == [str(o.attrs) for o in want[0]]  # type: ignore[index]


@st.composite
def ptax_rows(draw: st.DrawFn) -> list[dict[str, object]]:
    rows = []
    for day in range(1, draw(st.integers(1, 8)) + 1):
        row: dict[str, object] = {
            "paridadeCompra": draw(cells),
            "paridadeVenda": draw(cells),
            "cotacaoCompra": draw(cells),
            "cotacaoVenda": draw(cells),
            "dataHoraCotacao": f"2022-03-0{day} 13:03:00.000",
            "tipoBoletim": "Fechamento PTAX",
        }
        if draw(st.integers(0, 9)) == 0:
            del row[draw(st.sampled_from(sorted(row)))]
        rows.append(row)
    return rows


def _first_bad(row: dict[str, object]) -> list[str]:
    """The field _bulletin names first for a bad row: a missing one, or a number in its order."""
    missing = [name for name in bcb._FIELDS if name not in row]
    if missing:
        return missing[:1]
    numbers = ("cotacaoCompra", "cotacaoVenda", "paridadeCompra", "paridadeVenda")
    return [name for name in numbers if json_decimal(row[name]) is None][:1]


@settings(max_examples=300, deadline=None)
@given(ptax_rows())
def test_ptax_numbers_are_read_as_json_decimal_reads_them(rows: list[dict[str, object]]) -> None:
    start, end = date(2022, 3, 1), date(2022, 3, 31)
    obs, notes = bcb.parse_ptax({"value": rows}, "K", start, end, "w")
    good = [r for r in rows if not _first_bad(r)]
    assert [o.value for o in obs] == [json_decimal(r["cotacaoVenda"]) for r in good]
    assert [o.attrs["buy"] for o in obs] == [json_decimal(r["cotacaoCompra"]) for r in good]
    for index, row in enumerate(rows):  # a bad row is a retry for its day, naming it
        bad = _first_bad(row)
        if bad and "dataHoraCotacao" in row:
            note = notes[("K", date(2022, 3, index + 1))]
            assert note.startswith(f"w: value[{index}]")
            assert bad[0] in note
    undated = [i for i, row in enumerate(rows) if "dataHoraCotacao" not in row]
    if undated:  # a row without a time may be any day's: each day no row answers names it
        first = f"w: value[{undated[0]}] lacks dataHoraCotacao"
        assert any(note.startswith(first) for note in notes.values())


def test_a_missing_ptax_field_is_named() -> None:
    row = {"cotacaoCompra": Decimal("5.1"), "dataHoraCotacao": "2022-03-01 13:00:00.000"}
    day = date(2022, 3, 1)
    obs, notes = bcb.parse_ptax({"value": [row]}, "K", day, day, "w")
    assert obs == []
    assert notes[("K", day)].startswith("w: value[0] lacks paridadeCompra, paridadeVenda, ")
