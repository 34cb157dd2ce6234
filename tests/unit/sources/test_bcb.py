"""BCB PTAX: the request it sends and how the Olinda body becomes closing rates."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from decimal import Decimal

import pytest

from fuelpipe.adapters.sources.bcb import OTHER_CLOSINGS, BcbPtaxSource, parse_ptax, ptax_url
from fuelpipe.domain.intraday import PTAX_BULLETIN_KINDS, bulletin_kind
from fuelpipe.ports.source import FetchRequest, InvalidPayload

FIXTURE = "bcb_ptax_USD_2021-05-19_2021-06-01_intermediate-bulletins-synthetic.json"
MOUNT = "/olinda/servico/PTAX/versao/v1/odata"
PATH = (
    f"{MOUNT}/CotacaoMoedaPeriodo("
    "moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)"
)


@pytest.fixture
def usd(series):
    return series("CURRENCY#USD")


def _source(server, client) -> BcbPtaxSource:
    return BcbPtaxSource(server.url_for(MOUNT), client, attempts=2, backoff_s=0.0)


def _rows(payload) -> list[dict[str, object]]:
    body = json.loads(payload(FIXTURE), parse_float=Decimal)
    assert "@odata.context" in body
    return body["value"]


def test_request_shape(server, client, payload, usd) -> None:
    server.expect_request(PATH).respond_with_data(payload(FIXTURE), content_type="application/json")
    req = FetchRequest("bcb:USD", (usd,), date(2021, 5, 19), date(2021, 6, 1))
    _source(server, client).fetch(req)
    request, _ = server.log[0]
    assert request.query_string.decode() == (
        "@moeda='USD'&@dataInicial='05-19-2021'&@dataFinalCotacao='06-01-2021'"
        "&$format=json&$top=100000"
    )


def test_keeps_only_closing_bulletins(server, client, payload, usd) -> None:
    server.expect_request(PATH).respond_with_data(payload(FIXTURE), content_type="application/json")
    req = FetchRequest("bcb:USD", (usd,), date(2021, 5, 19), date(2021, 6, 1))
    result = _source(server, client).fetch(req)
    closings = [r for r in _rows(payload) if str(r["tipoBoletim"]).startswith("Fechamento")]
    assert len(_rows(payload)) == 5 * len(closings)  # five bulletins a day since 2011
    assert [
        (o.date, o.value, o.attrs["buy"], o.attrs["bulletin_at"]) for o in result.observations
    ] == [
        (
            date.fromisoformat(str(r["dataHoraCotacao"])[:10]),
            r["cotacaoVenda"],
            r["cotacaoCompra"],
            r["dataHoraCotacao"],
        )
        for r in closings
    ]
    first = result.observations[0]
    assert first.date == date(2021, 5, 19)
    assert first.value == Decimal("5.2822")
    assert first.attrs["buy"] == Decimal("5.2816")
    assert first.attrs["parity_buy"] == Decimal("1.0") == first.attrs["parity_sell"]
    assert result.notes == {}


def test_values_equal_the_real_ptax_file(server, client, payload, usd, real_data) -> None:
    server.expect_request(PATH).respond_with_data(payload(FIXTURE), content_type="application/json")
    req = FetchRequest("bcb:USD", (usd,), date(2021, 5, 19), date(2021, 6, 1))
    got = {
        o.date: (o.value, o.attrs["buy"]) for o in _source(server, client).fetch(req).observations
    }
    with real_data("fx/strongylis__ptax.csv").open() as fh:
        real = {
            date.fromisoformat(r["data"]): (Decimal(r["venda"]), Decimal(r["compra"]))
            for r in csv.DictReader(fh)
            if r["data"] <= "2021-06-01"
        }
    assert got == real


def test_drops_rows_outside_the_range(server, client, payload, usd) -> None:
    server.expect_request(PATH).respond_with_data(payload(FIXTURE), content_type="application/json")
    req = FetchRequest("bcb:USD", (usd,), date(2021, 5, 20), date(2021, 5, 25))
    result = _source(server, client).fetch(req)
    assert [o.date.isoformat() for o in result.observations] == [
        "2021-05-20",
        "2021-05-21",
        "2021-05-24",
        "2021-05-25",
    ]


def _row(stamp: str, kind: str, sell: str = "5.0") -> dict[str, object]:
    return {
        "paridadeCompra": Decimal("1.0"),
        "paridadeVenda": Decimal("1.0"),
        "cotacaoCompra": Decimal(sell) - Decimal("0.0006"),
        "cotacaoVenda": Decimal(sell),
        "dataHoraCotacao": stamp,
        "tipoBoletim": kind,
    }


def test_latest_closing_wins_and_open_days_are_noted() -> None:
    body = {
        "value": [
            _row("2024-01-15 13:38:08.191", "Fechamento PTAX", "4.8741"),
            _row("2024-01-15 13:40:01.5", "Fechamento", "4.8750"),  # a corrected closing
            _row("2024-01-15 13:10:00.1", "Intermediário", "4.9"),
            _row("2024-01-16 10:05:00.0", "Abertura", "4.9"),  # the day is not closed yet
        ]
    }
    obs, notes = parse_ptax(body, "CURRENCY#USD", date(2024, 1, 15), date(2024, 1, 16))
    assert [(o.date, o.value) for o in obs] == [(date(2024, 1, 15), Decimal("4.8750"))]
    assert obs[0].attrs["bulletin_at"] == "2024-01-15 13:40:01.5"
    assert list(notes) == [("CURRENCY#USD", date(2024, 1, 16))]
    assert "no closing" in notes[("CURRENCY#USD", date(2024, 1, 16))]


def test_an_earlier_closing_bulletin_is_kept_beside_the_ptax_synthetic() -> None:
    """A day with two closing bulletins at different times (a corrected PTAX) kept the later
    and the earlier one's figures nowhere. They are now in the record's other_closings, in
    time order, whatever the answer's order; the same bulletin twice is said once. Synthetic
    rows around the real 2024-01-15 USD closing (4.8741 at 13:38:08.191)."""
    ptax = _row("2024-01-15 13:38:08.191", "Fechamento PTAX", "4.8741")
    corrected = _row("2024-01-15 13:40:01.5", "Fechamento", "4.8750")
    intermediate = _row("2024-01-15 13:10:00.1", "Intermediário", "4.9")
    day = date(2024, 1, 15)
    said = "2024-01-15 13:38:08.191 sell=4.8741 buy=4.8735 parity_buy=1.0 parity_sell=1.0"
    for rows in ([ptax, corrected, intermediate], [corrected, ptax, ptax, intermediate]):
        obs, notes = parse_ptax({"value": rows}, "CURRENCY#USD", day, day)
        assert notes == {}
        [o] = obs
        assert (o.value, o.attrs["bulletin_at"]) == (Decimal("4.8750"), "2024-01-15 13:40:01.5")
        assert o.attrs[OTHER_CLOSINGS] == said
    obs, _ = parse_ptax({"value": [ptax]}, "CURRENCY#USD", day, day)
    assert OTHER_CLOSINGS not in obs[0].attrs  # one closing: nothing else to keep


def test_a_tie_settled_by_a_later_closing_keeps_both_tied_bulletins_synthetic() -> None:
    day = date(2024, 1, 15)
    rows = [
        _row("2024-01-15 13:05:00", "Fechamento", "4.87"),
        _row("2024-01-15 13:05:00", "Fechamento", "4.88"),
        _row("2024-01-15 14:00:00", "Fechamento", "4.89"),
    ]
    obs, notes = parse_ptax({"value": rows}, "CURRENCY#USD", day, day)
    assert notes == {} and [o.value for o in obs] == [Decimal("4.89")]
    assert obs[0].attrs[OTHER_CLOSINGS] == (
        "2024-01-15 13:05:00 sell=4.87 buy=4.8694 parity_buy=1.0 parity_sell=1.0; "
        "2024-01-15 13:05:00 sell=4.88 buy=4.8794 parity_buy=1.0 parity_sell=1.0"
    )


def test_a_bulletin_of_a_type_bcb_has_not_used_is_named_not_taken_for_an_opening_synthetic() -> (
    None
):
    """A tipoBoletim other than Abertura, Intermediário or Fechamento* was taken for an opening
    or intermediate bulletin: a day with a renamed closing was noted "only opening/intermediate
    bulletins", and one after the closing passed without a word. Such a row is now a row that
    cannot be read (as parse_bulletins has it): named, and the day a retry when it is the
    day's latest (it may be a correction); an earlier one is superseded by the closing."""
    key, day = "CURRENCY#USD", date(2024, 1, 15)
    renamed = _row("2024-01-15 13:38:08.191", "PTAX de fechamento", "4.8741")
    obs, notes = parse_ptax({"value": [renamed]}, key, day, day, "w")
    assert obs == []
    assert notes[(key, day)] == (
        "w: value[0]: unknown bulletin type 'PTAX de fechamento'; the day's closing PTAX is retried"
    )
    later = _row("2024-01-15 15:00:00", "Extraordinário", "4.88")
    obs, notes = parse_ptax({"value": [GOOD, later]}, key, day, day, "w")
    assert obs == [] and "value[1]: unknown bulletin type 'Extraordinário'" in notes[(key, day)]
    earlier = _row("2024-01-15 09:00:00", "Extraordinário", "4.88")
    obs, notes = parse_ptax({"value": [earlier, GOOD]}, key, day, day, "w")
    assert [o.value for o in obs] == [Decimal("4.8741")] and notes == {}


RESPELLED = {
    "Abertura": "abertura",
    "Intermediário": "Intermediario",
    "Fechamento PTAX": "FECHAMENTO PTAX",
}


def test_bulletin_types_match_whatever_their_accents_and_case_synthetic(payload) -> None:
    """An unaccented "Intermediario" (or a type in other case) read as a type BCB has not used:
    in the fixture the last intermediate bulletin (13:09:44) comes after the closing (13:02:41),
    so each day's PTAX was dropped and retried, and a day not closed yet was noted for an unknown
    type instead of "no closing PTAX yet". Types now match as ANP's labels do (accents, case and
    spaces aside). Synthetic: the fixture's bulletins with their types respelled."""
    key, start, end = "CURRENCY#USD", date(2021, 5, 19), date(2021, 6, 1)
    rows = _rows(payload)
    respelled = [{**r, "tipoBoletim": RESPELLED[str(r["tipoBoletim"])]} for r in rows]
    assert parse_ptax({"value": respelled}, key, start, end) == parse_ptax(
        {"value": rows}, key, start, end
    )
    open_day = [r for r in respelled if r["tipoBoletim"] != "FECHAMENTO PTAX"]
    obs, notes = parse_ptax({"value": open_day}, key, start, start)
    assert obs == []
    assert notes == {(key, start): "bcb: only opening/intermediate bulletins, no closing PTAX yet"}
    assert [bulletin_kind(t) for t in RESPELLED.values()] == list(PTAX_BULLETIN_KINDS)
    assert bulletin_kind(" intermediário ") == "Intermediário"


def test_empty_value_list_is_no_data(server, client, usd) -> None:
    server.expect_request(PATH).respond_with_json({"@odata.context": "x", "value": []})
    req = FetchRequest("bcb:USD", (usd,), date(2021, 1, 1), date(2021, 1, 1))
    result = _source(server, client).fetch(req)
    assert result.observations == []
    assert result.notes == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [([], "'value' list"), ({"value": {"a": 1}}, "'value' list")],
)
def test_wrong_shapes_are_invalid_payload(body, message) -> None:
    with pytest.raises(InvalidPayload, match=message):
        parse_ptax(body, "CURRENCY#USD", date(2024, 1, 1), date(2024, 12, 31))


GOOD = _row("2024-01-15 13:00:00", "Fechamento PTAX", "4.8741")
LACKING_SELL = _row("2024-01-16 13:00:00", "Fechamento")
del LACKING_SELL["cotacaoVenda"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (LACKING_SELL, r"value\[1\] lacks cotacaoVenda"),
        (
            {**_row("2024-01-16 13:00:00", "Fechamento"), "cotacaoVenda": "4,87"},
            r"value\[1\]: cotacaoVenda is not a number: '4,87'",
        ),
        (  # the time cannot be read: the row may be any day's
            _row("16/01/2024 13:00", "Fechamento"),
            r"value\[1\]: bad dataHoraCotacao '16/01/2024 13:00'",
        ),
        (1, r"value\[1\] is not an object"),
    ],
)
def test_a_bad_row_is_a_retry_and_the_other_days_are_stored_synthetic(bad, message) -> None:
    start, end = date(2024, 1, 15), date(2024, 1, 16)
    obs, notes = parse_ptax({"value": [GOOD, bad]}, "CURRENCY#USD", start, end, "w")
    assert [(o.date, o.value) for o in obs] == [(start, Decimal("4.8741"))]
    assert list(notes) == [("CURRENCY#USD", end)]
    assert re.match(rf"w: {message}", notes[("CURRENCY#USD", end)])


def test_a_bad_row_outside_the_window_is_not_read_synthetic() -> None:
    late = {**_row("2024-02-01 13:00:00", "Fechamento"), "cotacaoVenda": "4,87"}
    obs, notes = parse_ptax(
        {"value": [GOOD, late]}, "CURRENCY#USD", date(2024, 1, 15), date(2024, 1, 15)
    )
    assert [o.value for o in obs] == [Decimal("4.8741")]
    assert notes == {}


def test_an_unreadable_correction_leaves_its_day_a_retry_synthetic() -> None:
    """The latest closing bulletin is the PTAX: one that cannot be read after a readable one
    leaves the day a retry (storing the earlier one would store a corrected value); one before
    a readable one is superseded by it."""
    earlier = {**_row("2024-01-15 12:00:00", "Fechamento"), "cotacaoVenda": None}
    later = {**_row("2024-01-15 14:00:00", "Fechamento"), "cotacaoVenda": None}
    key, day = "CURRENCY#USD", date(2024, 1, 15)
    obs, notes = parse_ptax({"value": [GOOD, later]}, key, day, day, "w")
    assert obs == []
    assert "value[1]: cotacaoVenda is not a number: None" in notes[(key, day)]
    obs, notes = parse_ptax({"value": [earlier, GOOD]}, key, day, day, "w")
    assert [o.value for o in obs] == [Decimal("4.8741")]
    assert notes == {}


def test_a_bad_intermediate_bulletin_does_not_touch_the_closing_synthetic() -> None:
    odd = {**_row("2024-01-15 11:00:00", "Intermediário"), "cotacaoVenda": "x"}
    day = date(2024, 1, 15)
    obs, notes = parse_ptax({"value": [odd, GOOD]}, "CURRENCY#USD", day, day, "w")
    assert [o.value for o in obs] == [Decimal("4.8741")]
    assert notes == {}


def test_a_stamp_with_an_offset_is_read_as_the_brasilia_time_it_names_synthetic() -> None:
    """Rows of one day mixing naive stamps with stamps carrying an offset used to raise a
    TypeError comparing them (no SourceError: it ended the run, or dead-lettered the
    message). An offset names an instant: it is taken in Brasília time, and the latest
    closing bulletin is still the PTAX."""
    key, start, end = "CURRENCY#USD", date(2024, 1, 2), date(2024, 1, 5)
    body = {
        "value": [
            _row("2024-01-02 13:10:00.000", "Fechamento", "4.91"),
            _row("2024-01-02T13:30:00-03:00", "Fechamento", "4.92"),  # later: the PTAX
            _row("2024-01-03T16:05:00Z", "Fechamento", "4.87"),  # 13:05 in Brasília
            _row("2024-01-03 13:10:00.000", "Fechamento", "4.88"),  # later: the PTAX
            _row("2024-01-05T01:30:00+02:00", "Fechamento", "4.86"),  # 20:30 on the 4th
            _row("0001-01-01T00:00:00+01:00", "Fechamento", "4.85"),  # no instant there is
        ]
    }
    obs, notes = parse_ptax(body, key, start, end, "w")
    assert [(o.date, o.value, o.attrs["bulletin_at"]) for o in obs] == [
        (start, Decimal("4.92"), "2024-01-02T13:30:00-03:00"),
        (date(2024, 1, 3), Decimal("4.88"), "2024-01-03 13:10:00.000"),
        (date(2024, 1, 4), Decimal("4.86"), "2024-01-05T01:30:00+02:00"),
    ]
    assert notes == {  # a row whose time cannot be read may be any unanswered day's
        (key, end): "w: value[5]: bad dataHoraCotacao '0001-01-01T00:00:00+01:00'; "
        "that row may be 2024-01-05's, so the day is retried"
    }


def test_wrong_shape_over_http_names_source_and_url(server, client, usd) -> None:
    server.expect_request(PATH).respond_with_json({"error": "moeda inválida"})
    req = FetchRequest("bcb:USD", (usd,), date(2021, 1, 4), date(2021, 1, 5))
    with pytest.raises(
        InvalidPayload, match=r"^bcb: http://127\.0\.0\.1:\d+/olinda/.*'value' list"
    ):
        _source(server, client).fetch(req)


def test_rejects_a_symbol_that_is_not_a_currency_code() -> None:
    with pytest.raises(ValueError, match="ISO currency code"):
        ptax_url("http://x", "US D'", date(2021, 1, 1), date(2021, 1, 2))


def test_a_paged_answer_is_an_error_not_a_silent_gap() -> None:
    """OData pages a long answer with @odata.nextLink; reading only the first page would leave
    the window's later days out without a word (synthetic payload)."""
    payload = {
        "value": [
            {
                "paridadeCompra": 1,
                "paridadeVenda": 1,
                "cotacaoCompra": 5.1,
                "cotacaoVenda": 5.2,
                "dataHoraCotacao": "2022-03-02 13:03:00.000",
                "tipoBoletim": "Fechamento PTAX",
            }
        ],
        "@odata.nextLink": "https://olinda.bcb.gov.br/...&$skip=100",
    }
    with pytest.raises(InvalidPayload, match="paged"):
        parse_ptax(payload, "CURRENCY#USD", date(2022, 3, 1), date(2022, 3, 31))


def test_two_closings_at_one_instant_with_two_rates_leave_the_day_a_retry_synthetic() -> None:
    """The latest closing bulletin is the PTAX; of two stamped alike neither is later, so
    which rate BCB means cannot be told (before, the first was stored and the other rate
    dropped without a word). The same bulletin given twice is one bulletin."""
    key, day = "CURRENCY#USD", date(2024, 1, 15)
    twin = _row("2024-01-15 13:00:00.000", "Fechamento", "4.8760")
    obs, notes = parse_ptax({"value": [GOOD, twin]}, key, day, day, "w")
    assert obs == []
    assert notes[(key, day)] == (
        "w: two closing bulletins at 2024-01-15 13:00:00 with rates 4.8741 and 4.8760: "
        "which one is the PTAX is unknown; the day's closing PTAX is retried"
    )
    later = _row("2024-01-15 14:00:00", "Fechamento", "4.8800")  # a correction settles it
    obs, notes = parse_ptax({"value": [GOOD, twin, later]}, key, day, day, "w")
    assert [o.value for o in obs] == [Decimal("4.8800")] and notes == {}
    obs, notes = parse_ptax({"value": [GOOD, dict(GOOD)]}, key, day, day, "w")
    assert [o.value for o in obs] == [Decimal("4.8741")] and notes == {}


DAY_PATH = f"{MOUNT}/CotacaoMoedaDia(moeda=@moeda,dataCotacao=@dataCotacao)"


def _body(rows: list[dict[str, object]]) -> str:
    """An Olinda answer with the rows' numbers as JSON numbers, exact as written."""
    return json.dumps({"value": rows}, default=float)


def test_one_unreadable_bulletin_costs_its_own_point_not_the_day_s(
    server, client, usd, caplog
) -> None:
    """A row of the day's bulletins that cannot be read (a null rate, a bulletin type BCB has
    not used, a time that cannot be read, a bad row of another day) refused the whole answer:
    every bulletin BCB published that day was dropped with it. Each such row is now logged
    and skipped, and the others are the day's points."""
    day = date(2022, 3, 16)
    rows = [
        {**_row("2022-03-15 13:05:00.1", "Fechamento PTAX"), "cotacaoVenda": "x"},  # another day
        _row("2022-03-16 10:04:12.3", "Abertura", "5.1310"),
        {**_row("2022-03-16 11:04:40.1", "Intermediário"), "cotacaoVenda": None},
        _row("2022-03-16 12:03:31.1", "Intermediário", "5.1276"),
        _row("2022-03-16 12:30:00.0", "Extraordinário", "5.1290"),  # no such type
        _row("16/03/2022 12:45", "Intermediário", "5.1280"),  # a time that cannot be read
        _row("2022-03-16 13:04:07.4", "Fechamento PTAX", "5.1287"),
    ]
    server.expect_request(DAY_PATH).respond_with_data(_body(rows), content_type="application/json")
    with caplog.at_level("WARNING", logger="fuelpipe.adapters.sources.bcb"):
        points = _source(server, client).fetch_bulletins(usd, day)
    assert [(p.kind, p.at.strftime("%H:%M"), p.value) for p in points] == [
        ("Abertura", "10:04", Decimal("5.1310")),
        ("Intermediário", "12:03", Decimal("5.1276")),
        ("Fechamento", "13:04", Decimal("5.1287")),
    ]
    logged = " | ".join(r.getMessage() for r in caplog.records if r.name.endswith(".bcb"))
    assert "value[2]: cotacaoVenda is not a number: None" in logged
    assert "value[4]: unknown PTAX bulletin type 'Extraordinário'" in logged
    assert "value[5]: bad dataHoraCotacao '16/03/2022 12:45'" in logged
    assert "value[0]" not in logged  # the other day's row is not this day's problem
    assert logged.startswith(f"bcb: {server.url_for(MOUNT)}")
    # Nothing of the day readable and something unreadable: a failure naming the row, not
    # "no bulletin yet".
    server.clear()
    server.expect_request(DAY_PATH).respond_with_data(
        _body(rows[:1] + rows[2:3]), content_type="application/json"
    )
    with pytest.raises(InvalidPayload, match=r"value\[1\]: cotacaoVenda is not a number: None"):
        _source(server, client).fetch_bulletins(usd, day)
