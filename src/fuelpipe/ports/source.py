"""The source port and its typed errors: transient failures are retried, permanent are not."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from fuelpipe.domain.catalog import Series
from fuelpipe.domain.models import Observation, Split


class SourceError(Exception):
    """A source request failed after the adapter's own bounded retries.

    Whether it is worth retrying is its class: a TransientSourceError or a PermanentSourceError.
    """


class TransientSourceError(SourceError):
    """Worth retrying later: timeouts, dropped connections, 429, 5xx."""


class RateLimited(TransientSourceError):
    """HTTP 429; ``retry_after`` seconds when the source said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(TransientSourceError):
    """HTTP 5xx, or a body cut short; ``retry_after`` seconds when a 503 said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceTimeout(TransientSourceError):
    """The request timed out."""


class SourceUnreachable(TransientSourceError):
    """No answer at all: connection refused, DNS lookup failed, connection dropped."""


class PermanentSourceError(SourceError):
    """Retrying the same request will not help soon: 4xx, unknown symbol."""


class NotFound(PermanentSourceError):
    """The source does not know this symbol or file."""


class InvalidPayload(TransientSourceError):
    """A 200 response that is not what it should be: HTML, truncated or wrong-shaped body.

    Transient: the real sources serve such pages during outages, so it is retried with backoff.
    """


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One request: the fetch unit, the series it should return, and the date range."""

    fetch_unit: str
    series: tuple[Series, ...]
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a source returned, and rows it dropped with the reason (bad cells, stale bars).

    ``observations`` may be a stream (read once, lazily; it may raise a SourceError part-way);
    ``notes`` is complete once the observations have been read.
    """

    observations: Iterable[Observation]
    notes: dict[tuple[str, date], str] = field(default_factory=dict)
    requests: int = 1
    no_value: dict[tuple[str, date], str] = field(default_factory=dict)
    """Dates the answer covers with, by the source's own word, no value for the key (an empty
    FRED cell, an ANP week without this area and fuel), with the reason. Stored as ABSENT,
    not retried: asking again cannot bring what the source says it does not have (inside the
    date's publication window: PENDING, marked so that it is not polled again). Never a date
    the answer does not reach (not out yet: a week not in the workbook, a day past the last
    row or bulletin or bar): that one stays polled."""
    no_row: set[tuple[str, date]] = field(default_factory=set)
    """Of ``no_value``, the dates the answer covers with no row at all for the key (ANP's
    workbook with the week for other areas and fuels but not this one), complete once the
    observations have been read: a row the source may add hours later to a file it had not
    finished, asked again inside the window while the key normally has a row (``stages/due.py``,
    ``row_left_out``). A row of the key's own that says "no value" (ANP's '-', FRED's empty
    cell) is the source's answer for the date, not one of these."""
    splits: tuple[Split, ...] = ()
    """Stock splits the answer reports (Yahoo's ``events.splits``: those dated inside the
    requested window), complete once the observations have been read. A split re-bases
    every earlier price of a split-adjusted source: the scraper re-reads the stored history
    (``stages/scrape.py``, ``follow_splits``). Sources without splits leave it empty."""


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What one source's requests came to in this process: for the end-of-run table."""

    requests: int
    failures: int
    last_error: str | None = None
    """The last failure in words: "connection refused", "timed out after 20 s reading",
    "HTTP 503"."""
    not_sent: int = 0
    """Requests refused unsent while the source's breaker was open: neither requests nor
    failures."""
    refusal: str | None = None
    """Why the last of those was not sent, in the breaker's words."""

    @property
    def unreachable(self) -> bool:
        """Every request sent failed, and one at least was sent or refused: the source could
        not be used at all (a tick whose requests were all refused reached nothing)."""
        return (self.requests > 0 or self.not_sent > 0) and self.failures >= self.requests

    def plus(self, later: SourceStats) -> SourceStats:
        """Both counts summed; the words are ``later``'s where it has them."""
        return SourceStats(
            self.requests + later.requests,
            self.failures + later.failures,
            later.last_error or self.last_error,
            self.not_sent + later.not_sent,
            later.refusal or self.refusal,
        )

    def since(self, before: SourceStats) -> SourceStats | None:
        """What moved from ``before`` to these (cumulative) counts, None if nothing did; the
        words only where their count moved."""
        requests, failures = self.requests - before.requests, self.failures - before.failures
        not_sent = self.not_sent - before.not_sent
        if requests <= 0 and failures <= 0 and not_sent <= 0:
            return None
        return SourceStats(
            requests,
            failures,
            self.last_error if failures else None,
            not_sent,
            self.refusal if not_sent else None,
        )


class Source(abc.ABC):
    """One HTTP data source."""

    name: str

    def stats(self) -> SourceStats | None:
        """Requests and failures so far, when the adapter counts them."""
        return None

    @abc.abstractmethod
    def fetch(self, request: FetchRequest) -> FetchResult:
        """Fetch one request's observations, or raise a SourceError."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the HTTP client."""
