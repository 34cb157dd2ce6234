"""FRED's public CSV download (fredgraph.csv): Brent spot, no API key."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation

from fuelpipe.adapters.sources._http import HttpSource, looks_like_html, single_series, snippet
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
    content: bytes, series_id: str, key: str, start: date, end: date, where: str = "fred"
) -> tuple[list[Observation], Notes]:
    """Observations in ``[start, end]`` from a fredgraph.csv body; InvalidPayload when malformed."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidPayload(f"{where}: body is not UTF-8 text: {snippet(content)!r}") from None
    if looks_like_html(text):
        raise InvalidPayload(f"{where}: expected CSV, got HTML: {snippet(text)!r}")
    # A body cut short can end inside a number ("67.0" for "67.05"): FRED always ends with a
    # newline, so its absence is the one sign of truncation a CSV gives.
    if not text.endswith("\n"):
        raise InvalidPayload(f"{where}: truncated body (no final newline): ends {text[-40:]!r}")
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        return _parse_rows(rows, series_id, key, start, end, where)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise InvalidPayload(f"{where}: line {rows.line_num} is not CSV ({exc})") from None


def _parse_rows(
    rows: Iterator[list[str]], series_id: str, key: str, start: date, end: date, where: str
) -> tuple[list[Observation], Notes]:
    """The header check and every row of a fredgraph.csv body."""
    header = next(rows, [])
    if len(header) != 2 or header[0] not in _DATE_HEADERS or header[1] != series_id:
        raise InvalidPayload(
            f"{where}: unexpected header {header!r}, want observation_date|DATE,{series_id}"
        )
    observations: list[Observation] = []
    notes: Notes = {}
    for line_no, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != 2 or not _ISO_DATE.match(row[0]):
            raise InvalidPayload(f"{where}: row {line_no} is not 'YYYY-MM-DD,value': {row!r}")
        try:
            day = date.fromisoformat(row[0])
        except ValueError:
            raise InvalidPayload(f"{where}: row {line_no}: bad date {row[0]!r}") from None
        if not start <= day <= end:
            continue
        cell = row[1].strip()
        if cell in _MISSING:
            # FRED's own file says "no value" for this day: by design, not a gap to retry.
            notes[(key, day)] = f"fred: no value published for {day} ({cell or 'empty'!r})"
            continue
        try:
            value = Decimal(cell)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise InvalidPayload(f"{where}: row {line_no}: {cell!r} is not a number")
        observations.append(Observation(key=key, date=day, value=value))
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
        observations, notes = parse_fred_csv(
            response.content,
            series.symbol,
            series.key,
            request.start,
            request.end,
            f"{self.name}: {url}",
        )
        # Every note is an empty cell of FRED's own file: the source's word that there is none.
        return FetchResult(observations, notes, requests=1, no_value=dict(notes))
