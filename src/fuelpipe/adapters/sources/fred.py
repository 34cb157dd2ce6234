"""FRED's public CSV download (fredgraph.csv): Brent spot, no API key."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import chain

from fuelpipe.adapters.sources._http import HttpSource, looks_like_html, single_series, snippet
from fuelpipe.adapters.sources._unsure import unsure_days
from fuelpipe.domain.models import Observation
from fuelpipe.ports.source import FetchRequest, FetchResult, InvalidPayload

DEFAULT_BASE_URL = "https://fred.stlouisfed.org"
# The current download says observation_date; files saved before 2024 say DATE.
_DATE_HEADERS = ("observation_date", "DATE")
# FRED marks a day without a value with an empty cell (now) or "." (older downloads).
_MISSING = ("", ".")
_SERIES_ID = re.compile(r"^[A-Z0-9_]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Notes = dict[tuple[str, date], str]


def fred_url(base_url: str, series_id: str, start: date, end: date) -> str:
    """The fredgraph.csv URL for one series and an inclusive date range."""
    if not _SERIES_ID.match(series_id):
        raise ValueError(f"fred: {series_id!r} is not a FRED series id")
    return (
        f"{base_url.rstrip('/')}/graph/fredgraph.csv"
        f"?id={series_id}&cosd={start.isoformat()}&coed={end.isoformat()}"
    )


def parse_fred_csv(
    content: bytes,
    series_id: str,
    key: str,
    start: date,
    end: date,
    where: str = "fred",
    *,
    retry: Notes | None = None,
) -> tuple[list[Observation], Notes]:
    """Observations in ``[start, end]`` from a fredgraph.csv body and the days FRED left empty.

    A body that is not such a file is an InvalidPayload. A row that cannot be read is one too,
    unless ``retry`` is given: then the row's date goes there with the reason (every unseen
    date of the range when the row's date is what cannot be read), and the other rows are kept.
    So is a date given twice with two values (or a value and an empty cell): which one is FRED's
    cannot be told, so neither is kept (:func:`_one_row_a_date`); the same value again is read
    once.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidPayload(f"{where}: body is not UTF-8 text: {snippet(content)!r}") from None
    if looks_like_html(text):
        raise InvalidPayload(f"{where}: expected CSV, got HTML: {snippet(text)!r}")
    if not text.strip():  # FRED always sends its header: nothing at all is no file, not a cut
        raise InvalidPayload(f"{where}: empty body, not even the header row")
    # A body cut short can end inside a number ("67.0" for "67.05"): FRED always ends with a
    # newline, so its absence is the one sign of truncation a CSV gives.
    if not text.endswith("\n"):
        raise InvalidPayload(f"{where}: truncated body (no final newline): ends {text[-40:]!r}")
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        return _parse_rows(rows, series_id, key, (start, end), where, retry)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise InvalidPayload(f"{where}: line {rows.line_num} is not CSV ({exc})") from None


def _row_date(row: list[str]) -> date | None:
    """The date of a row's first cell, or None if it is not a YYYY-MM-DD date."""
    if not _ISO_DATE.match(row[0]):
        return None
    try:
        return date.fromisoformat(row[0])
    except ValueError:
        return None


def _value(row: list[str], line_no: int, where: str) -> Decimal | None:
    """A dated row's value; None for FRED's "no value" markers; ValueError naming the row."""
    if len(row) != 2:
        raise ValueError(f"{where}: row {line_no} is not 'YYYY-MM-DD,value': {row!r}")
    cell = row[1].strip()
    if cell in _MISSING:
        return None
    try:
        value = Decimal(cell)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValueError(f"{where}: row {line_no}: {cell!r} is not a number")
    return value


def _one_row_a_date(
    observations: list[Observation], notes: Notes, key: str, where: str, strict: bool
) -> tuple[list[Observation], Notes, Notes]:
    """The observations and "no value" notes with each date once, and a note for each date
    the file gives with two values (a value and an empty cell count as two): neither is kept,
    and the day is retried (an InvalidPayload when ``strict``). A date given again with the
    same value is harmless: its first row is kept."""
    first: dict[date, Decimal | None] = {}
    again: dict[date, list[Decimal | None]] = {}
    empty = ((day, None) for _, day in notes)
    for day, value in chain(((o.date, o.value) for o in observations), empty):
        if day in first:
            again.setdefault(day, [first[day]]).append(value)
        else:
            first[day] = value
    if not again:
        return observations, notes, {}
    repeated: Notes = {}
    for day, values in again.items():
        distinct = list(dict.fromkeys(values))
        if len(distinct) > 1:
            shown = " and ".join("an empty cell" if v is None else str(v) for v in distinct)
            repeated[(key, day)] = (
                f"{where}: {day} is given {len(values)} times, with {shown}: "
                "which one is FRED's is unknown; the day is retried"
            )
    if strict and repeated:
        raise InvalidPayload(next(iter(repeated.values())))
    seen: set[date] = set()
    kept = []
    for obs in observations:
        if obs.date not in seen and (key, obs.date) not in repeated:
            kept.append(obs)
        seen.add(obs.date)
    return kept, {slot: note for slot, note in notes.items() if slot not in repeated}, repeated


def _parse_rows(
    rows: Iterator[list[str]],
    series_id: str,
    key: str,
    window: tuple[date, date],
    where: str,
    retry: Notes | None,
) -> tuple[list[Observation], Notes]:
    """The header check and every row of a fredgraph.csv body."""
    header = next(rows, [])
    if len(header) != 2 or header[0] not in _DATE_HEADERS or header[1] != series_id:
        raise InvalidPayload(
            f"{where}: unexpected header {header!r}, want observation_date|DATE,{series_id}"
        )
    start, end = window
    observations: list[Observation] = []
    notes: Notes = {}
    bad: Notes = {}
    undated: str | None = None  # the first row whose date cannot be read
    for line_no, row in enumerate(rows, start=2):
        if not row:
            continue
        day = _row_date(row)
        if day is None:
            problem = (
                f"{where}: row {line_no}: bad date {row[0]!r}"
                if len(row) == 2
                else f"{where}: row {line_no} is not 'YYYY-MM-DD,value': {row!r}"
            )
            if retry is None:
                raise InvalidPayload(problem)
            undated = undated or problem
            continue
        if not start <= day <= end:
            continue
        try:
            value = _value(row, line_no, where)
        except ValueError as exc:
            if retry is None:
                raise InvalidPayload(str(exc)) from None
            bad[(key, day)] = f"{exc}; the day is retried"
            continue
        if value is None:
            # FRED's own file says "no value" for this day: by design, not a gap to retry.
            cell = row[1].strip()
            notes[(key, day)] = f"fred: no value published for {day} ({cell or 'empty'!r})"
            continue
        observations.append(Observation(key=key, date=day, value=value))
    observations, notes, repeated = _one_row_a_date(observations, notes, key, where, retry is None)
    bad.update(repeated)
    if retry is not None:
        retry.update(bad)
        if undated is not None:
            answered = {o.date for o in observations} | {d for _, d in (*notes, *bad)}
            retry.update(unsure_days(key, window, answered, undated))
    return observations, notes


class FredCsvSource(HttpSource):
    """One FRED series per request, from the keyless CSV download."""

    name = "fred"
    default_base_url = DEFAULT_BASE_URL

    def fetch(self, request: FetchRequest) -> FetchResult:
        """The series' daily values between the request's start and end."""
        series = single_series(request, self.name)
        url = fred_url(self.base_url, series.symbol, request.start, request.end)
        response = self.get(url)
        retry: Notes = {}
        observations, empty = parse_fred_csv(
            response.content,
            series.symbol,
            series.key,
            request.start,
            request.end,
            f"{self.name}: {url}",
            retry=retry,
        )
        # An empty cell of FRED's own file is the source's word that there is none; a row that
        # cannot be read is not, and its day stays a retry while the other days are stored.
        return FetchResult(observations, {**empty, **retry}, requests=1, no_value=dict(empty))
