"""Bad input, generated: malformed queue messages among valid ones, and garbage source payloads.

- Every malformed message is dead-lettered with a reason, every valid one is processed, and
  nothing else is dead-lettered: a well-formed message asking for dates no message may ask for
  (before its series starts, more than a year ahead) is processed, those dates counted and
  never fetched, its other dates stored; so is one naming, beside its own, keys its fetch unit
  does not fetch (not in the catalog, or another unit's): those keys counted, never fetched.
- Every source parser answers garbage (random bytes, mutated real payloads, real payloads with
  random JSON or XML spliced in) with InvalidPayload and never another exception; a workbook or
  CSV problem names the file and the row.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sources._http import parse_json
from fuelpipe.adapters.sources.anp import parse_workbook_detailed
from fuelpipe.adapters.sources.bcb import parse_ptax
from fuelpipe.adapters.sources.fred import parse_fred_csv
from fuelpipe.adapters.sources.yahoo import parse_chart
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import InvalidKeyError, parse_key
from fuelpipe.domain.messages import MAX_DATES_PER_MESSAGE, DownloadRequest
from fuelpipe.domain.models import Status
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.ports.source import InvalidPayload, NotFound
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import drain

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2022, 3, 31, 20, 0, tzinfo=SP)
PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DEEP = settings(FUZZ, max_examples=600)
"""make chaos: ten times the examples."""

# --- queue messages -------------------------------------------------------------------------

VALID_KEYS = ("CURRENCY#USD", "STOCK#PETR4", "COMMODITY#BRENT", "FUEL#GASOLINE#BR")
Q1 = {
    key: list(
        expected_between(
            get_calendar(DEFAULT_CATALOG[key].calendar), date(2022, 1, 2), date(2022, 3, 25)
        )
    )
    for key in VALID_KEYS
}
VALUES = {
    (k, d): Decimal("5") + Decimal(i) / 100 for k, days in Q1.items() for i, d in enumerate(days)
}


@st.composite
def unservable_bodies(draw: st.DrawFn) -> tuple[str, list[tuple[str, date]], int]:
    """A well-formed message with dates no message may ask for (before its series starts,
    more than a year after NOW), perhaps beside valid ones: the valid (key, date) slots and
    how many dates are refused."""
    key = draw(st.sampled_from(VALID_KEYS))
    before = DEFAULT_CATALOG[key].default_start - timedelta(days=1)
    refused = st.dates(date(1, 1, 1), before) | st.dates(date(2023, 4, 2), date(9999, 12, 31))
    bad = draw(st.lists(refused, min_size=1, max_size=3, unique=True))
    good = draw(st.lists(st.sampled_from(Q1[key]), max_size=4, unique=True))
    body = DownloadRequest(
        partition_key=key,
        dates_to_download=bad + good,
        fetch_unit=DEFAULT_CATALOG[key].fetch_unit,
        origin=draw(st.sampled_from(["gap", "retry"])),
    ).to_body()
    return body, [(key, d) for d in good], len(bad)


@st.composite
def unknown_key_bodies(draw: st.DrawFn) -> tuple[str, list[tuple[str, date]], int]:
    """A well-formed message for a catalog key that also names keys its fetch unit does not
    fetch (a release dropped or moved them while it was queued): its (key, date) slots and
    how many keys are not fetched."""
    key = draw(st.sampled_from(VALID_KEYS))
    others = [k for k in ("CURRENCY#XYZ", *VALID_KEYS) if k != key]
    unknown = draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True))
    days = draw(st.lists(st.sampled_from(Q1[key]), min_size=1, max_size=4, unique=True))
    body = DownloadRequest(
        partition_key=key,
        dates_to_download=days,
        fetch_unit=DEFAULT_CATALOG[key].fetch_unit,
        also_keys=unknown,
        origin=draw(st.sampled_from(["gap", "retry"])),
    ).to_body()
    return body, [(key, d) for d in days], len(unknown)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def valid_bodies(draw: st.DrawFn) -> tuple[str, list[tuple[str, date]]]:
    """A well-formed message for a catalog key, and the (key, date) slots it asks for."""
    key = draw(st.sampled_from(VALID_KEYS))
    days = draw(st.lists(st.sampled_from(Q1[key]), min_size=1, max_size=8, unique=True))
    origin = draw(st.sampled_from(["gap", "retry"]))
    body = DownloadRequest(
        partition_key=key,
        dates_to_download=days,
        fetch_unit=DEFAULT_CATALOG[key].fetch_unit,
        origin=origin,
    ).to_body()
    return body, [(key, d) for d in days]


def _base(key: str = "CURRENCY#USD") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "partition_key": key,
        "dates_to_download": ["2022-01-03"],
        "fetch_unit": DEFAULT_CATALOG[key].fetch_unit,
    }


def _not_a_key(text: str) -> bool:
    try:
        parse_key(text)
    except InvalidKeyError:
        return True
    return False


def _not_a_date(text: str) -> bool:
    try:
        return not (len(text) == 10 and date.fromisoformat(text))
    except ValueError:
        return True


non_string = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.lists(st.integers(), max_size=2)
)
non_list = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=10)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


def _with(field: str, value: Any) -> str:
    return json.dumps({**_base(), field: value})


MALFORMED: dict[str, st.SearchStrategy[str]] = {
    "not json": st.text(max_size=60).filter(lambda t: not t.strip().startswith(("{", "["))),
    "random json": json_values.map(json.dumps),
    "key of the wrong type": non_string.map(lambda v: _with("partition_key", v)),
    "bad key": st.text(max_size=30).filter(_not_a_key).map(lambda v: _with("partition_key", v)),
    "key not in the catalog": st.sampled_from(
        ["CURRENCY#XYZ", "STOCK#NOPE3", "FUEL#GASOLINE#XX"]
    ).map(lambda k: _with("partition_key", k)),
    "dates of the wrong type": non_list.map(lambda v: _with("dates_to_download", v)),
    "dates as numbers": st.lists(st.integers(0, 2**33), min_size=1, max_size=3).map(
        lambda v: _with("dates_to_download", v)
    ),
    "bad date": st.text(max_size=12)
    .filter(_not_a_date)
    .map(lambda v: _with("dates_to_download", [v])),
    "impossible date": st.sampled_from(
        ["2022-02-30", "2021-13-01", "2022-1-5", "2022-01-03T00:00:00"]
    ).map(lambda v: _with("dates_to_download", ["2022-01-04", v])),
    "no dates": st.just(_with("dates_to_download", [])),
    "too many dates": st.just(
        _with(
            "dates_to_download",
            [
                (date(2000, 1, 1) + timedelta(days=i)).isoformat()
                for i in range(MAX_DATES_PER_MESSAGE + 1)
            ],
        )
    ),
    "unknown fetch unit": st.text(min_size=1, max_size=30)
    .filter(lambda u: u != "bcb:USD")
    .map(lambda u: _with("fetch_unit", u)),
    "fetch unit of another key": st.just(_with("fetch_unit", "yahoo:PETR4.SA")),
    "fetch unit of the wrong type": non_string.map(lambda v: _with("fetch_unit", v)),
    "also_keys repeating the key": st.just(_with("also_keys", ["CURRENCY#USD"])),
    "also_keys of the wrong type": non_list.filter(lambda v: v != {}).map(
        lambda v: _with("also_keys", v)
    ),
    "unknown field": st.text(min_size=1, max_size=10)
    .filter(lambda f: f not in _base() and f not in ("also_keys", "origin"))
    .map(lambda f: _with(f, 1)),
    "another schema version": st.integers()
    .filter(lambda v: v != 1)
    .map(lambda v: _with("schema_version", v)),
    "unknown origin": st.text(max_size=10)
    .filter(lambda o: o not in ("gap", "retry"))
    .map(lambda o: _with("origin", o)),
    "not an object": st.sampled_from(["[]", "1", '"x"', "null", "true"]),
}


def _app(folder: Path) -> StageContext:
    settings_ = Settings(db=folder / "store.sqlite")
    clock = FixedClock(NOW)
    sources = {name: TableSource(name, VALUES) for name in ("bcb", "yahoo", "fred", "anp")}
    return StageContext(
        catalog=DEFAULT_CATALOG,
        store=SqliteStore(settings_.db),
        queue=SqliteQueue(
            folder / "queue.sqlite", clock=clock, visibility_timeout=timedelta(seconds=30)
        ),
        sources=sources,
        clock=clock,
        policy=policy_from(settings_),
    )


def check_messages(valid, malformed, data, unservable=(), unknown=()) -> None:
    """Send the mix, drain, and check what was dead-lettered and what was stored."""
    valid = [*valid, *((body, slots) for body, slots, _ in unknown)]
    bodies = [body for body, _ in valid] + malformed + [body for body, _, _ in unservable]
    bodies = data.draw(st.permutations(bodies))
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp))
        try:
            app.queue.send(bodies)
            report = drain(app, wait_in_flight=False)
            letters = app.queue.dead_letters()
            stored = {(r.key, r.date): r.status for key in VALID_KEYS for r in app.store.query(key)}
            depth = app.queue.depth()
        finally:
            app.close()
    assert Counter(d.body for d in letters) == Counter(malformed)
    assert all(d.reason.startswith("malformed message") for d in letters)
    assert report.dead_lettered == len(malformed)
    assert report.unservable == sum(refused for _, _, refused in unservable)
    assert report.unknown_keys == sum(count for _, _, count in unknown)
    # a message whose every date is refused asks the source nothing
    served = [slots for _, slots in valid] + [slots for _, slots, _ in unservable if slots]
    assert report.source_requests == len(served)
    for slots in served:
        assert all(stored.get(slot) is Status.OK for slot in slots)
    # Every value the source returns for a message's key inside its date range is stored, the
    # dates between those asked for included (a published value is never dropped), no other.
    in_range = {
        (key, day)
        for slots in served
        for key, day in VALUES
        if key == slots[0][0] and min(d for _, d in slots) <= day <= max(d for _, d in slots)
    }
    assert set(stored) == in_range
    assert (depth.visible, depth.in_flight) == (0, 0)


@FUZZ
@given(
    valid=st.lists(valid_bodies(), max_size=4),
    malformed=st.lists(
        st.sampled_from(sorted(MALFORMED)).flatmap(lambda k: MALFORMED[k]), min_size=1, max_size=6
    ),
    unservable=st.lists(unservable_bodies(), max_size=3),
    unknown=st.lists(unknown_key_bodies(), max_size=2),
    data=st.data(),
)
def test_malformed_messages_are_dead_lettered_and_valid_ones_processed(
    valid, malformed, unservable, unknown, data
):
    check_messages(valid, malformed, data, unservable, unknown)


@pytest.mark.slow
@DEEP
@given(
    valid=st.lists(valid_bodies(), max_size=4),
    malformed=st.lists(
        st.sampled_from(sorted(MALFORMED)).flatmap(lambda k: MALFORMED[k]), min_size=1, max_size=6
    ),
    unservable=st.lists(unservable_bodies(), max_size=3),
    unknown=st.lists(unknown_key_bodies(), max_size=2),
    data=st.data(),
)
def test_many_more_malformed_messages(valid, malformed, unservable, unknown, data):
    check_messages(valid, malformed, data, unservable, unknown)


@FUZZ
@given(st.text(max_size=40))
@example("CURRENCY#USD\n")
def test_a_key_parses_only_if_it_is_exactly_what_build_key_makes(text):
    try:
        parsed = parse_key(text)
    except InvalidKeyError:
        return
    assert str(parsed) == text
    assert text == text.strip() and "\n" not in text


# --- source payloads ------------------------------------------------------------------------

START, END = date(1980, 1, 1), date(2030, 12, 31)


def _bcb(data: bytes) -> object:
    return parse_ptax(
        parse_json(data, "bcb", "ptax.json"), "CURRENCY#USD", START, END, "bcb: ptax.json"
    )


def _yahoo(data: bytes) -> object:
    payload = parse_json(data, "yahoo", "chart.json")
    try:
        return parse_chart(
            payload, "STOCK#PETR4", "America/Sao_Paulo", START, END, "yahoo: chart.json"
        )
    except NotFound:
        # the one other answer: Yahoo's own "Not Found" error body
        assert payload["chart"]["error"]["code"] == "Not Found"  # type: ignore[index]
        return None


def _fred(data: bytes) -> object:
    return parse_fred_csv(
        data, "DCOILBRENTEU", "COMMODITY#BRENT", START, END, "fred: fredgraph.csv"
    )


def _anp(data: bytes) -> object:
    return parse_workbook_detailed(data, "anp:weekly:brasil", "semanal-brasil.xlsx")


PARSERS: dict[str, tuple[Callable[[bytes], object], str]] = {
    "bcb": (_bcb, "bcb_ptax_USD_2021-05-19_2021-06-01_intermediate-bulletins-synthetic.json"),
    "yahoo": (_yahoo, "yahoo_chart_PETR4.SA_2017-11-09_2017-11-24.json"),
    "fred": (_fred, "fred_DCOILBRENTEU_2020-03-30_2020-05-15_current-layout.csv"),
    "anp": (_anp, "anp_semanal-brasil-desde-2013_cut.xlsx"),
}


def only_invalid_payload(parse: Callable[[bytes], object], data: bytes) -> InvalidPayload | None:
    """Parse; the only exception allowed is InvalidPayload (returned for further checks)."""
    try:
        parse(data)
    except InvalidPayload as exc:
        assert str(exc)
        return exc
    return None


@pytest.mark.parametrize("source", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=3000))
@example(data=b"observation_date,DCOILBRENTEU\n2020-01-01," + b"9" * 200_000 + b"\n")
def test_garbage_bytes_raise_invalid_payload_only(source, data):
    only_invalid_payload(PARSERS[source][0], data)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """The real payload with a few bytes changed, inserted or cut off."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["set", "insert", "cut"]))
        byte = draw(st.integers(0, 255))
        if action == "set":
            data[at] = byte
        elif action == "insert":
            data.insert(at, byte)
        else:
            del data[at:]
            break
    return bytes(data)


@pytest.mark.parametrize("source", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_real_payloads_raise_invalid_payload_only(source, data):
    parse, fixture = PARSERS[source]
    only_invalid_payload(parse, data.draw(mutated((PAYLOADS / fixture).read_bytes())))


@pytest.mark.slow
@pytest.mark.parametrize("source", sorted(PARSERS))
@DEEP
@given(data=st.data())
def test_many_more_mutated_real_payloads(source, data):
    parse, fixture = PARSERS[source]
    only_invalid_payload(parse, data.draw(mutated((PAYLOADS / fixture).read_bytes())))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.copy(doc)
    doc[path[0]] = _replace(doc[path[0]], path[1:], value)
    return doc


def splice_json(source: str, data: st.DataObject) -> None:
    """Replace one to three parts of a real JSON payload with random JSON, then parse."""
    parse, fixture = PARSERS[source]
    doc = json.loads((PAYLOADS / fixture).read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        doc = _replace(doc, path, data.draw(json_values))
    only_invalid_payload(parse, json.dumps(doc).encode())


@pytest.mark.parametrize("source", ["bcb", "yahoo"])
@FUZZ
@given(data=st.data())
def test_real_json_with_random_values_spliced_in_raises_invalid_payload_only(source, data):
    splice_json(source, data)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["bcb", "yahoo"])
@DEEP
@given(data=st.data())
def test_many_more_spliced_json_payloads(source, data):
    splice_json(source, data)


def _rezip(original: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item)
            zout.writestr(item, change(body) if item.filename == part else body)
    return out.getvalue()


def break_sheet(data: st.DataObject) -> None:
    """Cut the sheet XML short or splice junk into it, re-zipped with valid checksums."""
    original = (PAYLOADS / PARSERS["anp"][1]).read_bytes()

    def damage(xml: bytes) -> bytes:
        at = data.draw(st.integers(0, len(xml) - 1))
        junk = data.draw(st.binary(min_size=1, max_size=12))
        return data.draw(st.sampled_from([xml[:at], xml[:at] + junk + xml[at:]]))

    error = only_invalid_payload(_anp, _rezip(original, "xl/worksheets/sheet1.xml", damage))
    if error is not None:
        assert "semanal-brasil.xlsx" in str(error)


@FUZZ
@given(data=st.data())
def test_a_workbook_with_a_broken_sheet_names_the_file(data):
    break_sheet(data)


def test_a_sheet_the_stream_reader_hands_to_openpyxl_broken_is_a_bad_payload():
    """Found by make chaos: junk spliced before <dimension> makes the stream reader hand the
    sheet to openpyxl, whose XML error escaped instead of being reported as a bad payload."""
    original = (PAYLOADS / PARSERS["anp"][1]).read_bytes()
    broken = _rezip(
        original, "xl/worksheets/sheet1.xml", lambda xml: xml[:158] + b"<row" + xml[158:]
    )
    error = only_invalid_payload(_anp, broken)
    assert error is not None and "semanal-brasil.xlsx" in str(error)


@pytest.mark.slow
@DEEP
@given(data=st.data())
def test_many_more_broken_sheets(data):
    break_sheet(data)


printable = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="<&")


@FUZZ
@given(cell=st.text(printable, min_size=1, max_size=15))
def test_a_bad_price_cell_is_reported_with_its_file_and_row(cell):
    original = (PAYLOADS / PARSERS["anp"][1]).read_bytes()

    def put_text_in_first_price(xml: bytes) -> bytes:
        # the price (column F) of the first data row (row 19) becomes a text cell
        text = b'<c r="F19" t="inlineStr"><is><t>' + cell.encode() + b"</t></is></c>"
        changed, n = re.subn(rb'<c r="F19"[^>]*>.*?</c>', lambda _: text, xml, count=1)
        assert n == 1, "the fixture's first data row moved"
        return changed

    parsed = parse_workbook_detailed(
        _rezip(original, "xl/worksheets/sheet1.xml", put_text_in_first_price),
        "anp:weekly:brasil",
        "semanal-brasil.xlsx",
    )
    problems = [p for p in parsed.problems if "row 19" in p]
    missing = [m for m in parsed.missing.values() if "row 19" in m]
    try:
        number: Decimal | None = Decimal(cell.strip().replace(",", "."))
    except ArithmeticError:
        number = None
    if cell.strip() in ("", "-"):  # how ANP marks a missing price: a note, not a problem
        assert missing and "semanal-brasil.xlsx row 19" in missing[0]
    elif number is None or not number.is_finite():
        assert problems and all("semanal-brasil.xlsx row 19" in p for p in problems)
    else:
        assert not problems


def fred_row(line: str) -> tuple[str, date | None, Decimal | None]:
    """What parse_fred_csv must make of ``line`` as a body's row, by FRED's rules: ``blank``
    (skipped); ``bad`` (it must raise): not CSV, or not ``YYYY-MM-DD,value`` with a number
    or FRED's no-value marker (an empty cell or "."); ``outside`` (a date outside the window:
    skipped unread); ``missing`` (FRED's marker: a note); else ``value`` with the number."""
    try:
        row: list[str] | None = next(csv.reader(io.StringIO(line + "\n", newline="")), [])
    except csv.Error:
        row = None
    if row == []:
        return "blank", None, None
    day = _iso_day(row[0]) if row else None
    if row is None or day is None:
        return "bad", None, None
    if not START <= day <= END:
        return "outside", day, None
    cell = row[1].strip() if len(row) == 2 else None
    if cell in ("", "."):
        return "missing", day, None
    value = _finite(cell)
    return ("bad", day, None) if value is None else ("value", day, value)


def _iso_day(cell: str) -> date | None:
    try:
        return date.fromisoformat(cell) if ISO_DAY.fullmatch(cell) else None
    except ValueError:
        return None


def _finite(cell: str | None) -> Decimal | None:
    try:
        value = Decimal(cell) if cell is not None else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
one_line = st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t)
fred_cells = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", ".", " . ", "-", "NaN", "1,5", "1e3", " 67.05 ", '"22.5"']),
    one_line.map(lambda t: t[:8]),
)
fred_lines = st.one_of(
    one_line,  # mostly bad rows
    st.builds(  # mostly dated rows, in the window or not, with a good or bad value
        "{}{}{}".format,
        st.one_of(st.dates(START, END), st.dates()).map(date.isoformat),
        st.sampled_from([",", ",", ",", ";", ", ", ",,"]),
        fred_cells,
    ),
)


@FUZZ
@given(line=fred_lines)
@example(line="")
@example(line="2020-04-02,.")
@example(line="2020-04-02,abc")
@example(line="2020-04-02,67.05")
def test_a_bad_csv_row_is_reported_with_its_file_and_row_and_a_good_one_kept(line):
    body = f"observation_date,DCOILBRENTEU\n2020-04-01,22.74\n{line}\n".encode()
    verdict, day, value = fred_row(line)
    error = only_invalid_payload(_fred, body)
    if verdict == "bad":
        assert error is not None, f"{line!r} is not a FRED row, yet it parsed"
        assert "fredgraph.csv" in str(error) and "row 3" in str(error)
        return
    assert error is None, f"{line!r} is a FRED row ({verdict}), yet: {error}"
    observations, notes = _fred(body)
    got = [(o.date, o.value) for o in observations]
    first = (date(2020, 4, 1), Decimal("22.74"))
    assert got == ([first, (day, value)] if verdict == "value" else [first])
    assert list(notes) == ([("COMMODITY#BRENT", day)] if verdict == "missing" else [])
