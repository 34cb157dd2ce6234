"""scraper: one source request per message; values stored, every unreturned date made PENDING."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fuelpipe.domain.calendars import SAO_PAULO
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.messages import DownloadRequest, MalformedMessage
from fuelpipe.domain.models import Observation, Record, Status
from fuelpipe.domain.plausibility import check_observation, far_from_neighbours
from fuelpipe.homes.app import App
from fuelpipe.ports.queue import Message
from fuelpipe.ports.source import FetchRequest, FetchResult, SourceError
from fuelpipe.stages._report import Counters

NO_VALUE = "source returned no value for this date"
NEIGHBOUR_SPAN = timedelta(days=45)  # far enough to reach the previous week or month
# A date a little ahead is stored as PENDING and flagged "in the future" (clock skew, a bad
# bulletin); one more than a year ahead comes from no scan of ours and is refused outright.
FUTURE_SLACK = timedelta(days=366)


@dataclass
class ScrapeReport(Counters):
    """What one message did to the store."""

    records_written: int = 0
    pending_written: int = 0
    quarantined: int = 0
    flagged: int = 0
    source_requests: int = 0
    dead_lettered: int = 0


def resolve(app: App, request: DownloadRequest) -> list[Series]:
    """The catalog series a message names, checked against its fetch unit and date range."""
    series: list[Series] = []
    first, last = request.dates_to_download[0], request.dates_to_download[-1]
    for key in request.keys:
        if key not in app.catalog:
            raise MalformedMessage(f"malformed message: {key!r} is not in the series catalog")
        s = app.catalog[key]
        if s.fetch_unit != request.fetch_unit:
            raise MalformedMessage(
                f"malformed message: {key!r} is fetched by {s.fetch_unit!r}, "
                f"not {request.fetch_unit!r}"
            )
        # No gap scan asks for a date before a series starts; such dates (year 1, say) would
        # also overflow the date arithmetic of the neighbour check and of the adapters.
        if first < s.default_start:
            raise MalformedMessage(
                f"malformed message: {first} is before {key!r} starts ({s.default_start})"
            )
        series.append(s)
    if last > app.clock.now().astimezone(SAO_PAULO).date() + FUTURE_SLACK:
        raise MalformedMessage(f"malformed message: {last} is more than a year in the future")
    return series


def scrape(app: App, request: DownloadRequest) -> ScrapeReport:
    """Fetch one request and store what came back; the rest becomes PENDING with its reason."""
    series = resolve(app, request)
    now = app.clock.now()
    wanted = set(request.dates_to_download)
    keys = {s.key for s in series}
    report = ScrapeReport(source_requests=1)
    fetch = FetchRequest(request.fetch_unit, tuple(series), min(wanted), max(wanted))
    error: str | None = None
    try:
        result = app.sources[series[0].source].fetch(fetch)
    except SourceError as exc:
        error = f"{type(exc).__name__}: {exc}"
        result = FetchResult(observations=[])
    app.failpoints.hit("scrape.after_fetch")

    got: dict[tuple[str, date], Observation] = {}
    flagged: dict[tuple[str, date], str] = {}
    for obs in result.observations:
        slot = (obs.key, obs.date)
        if obs.key not in keys or obs.date not in wanted:
            continue  # rows out of the requested range or for other keys are not ours to write
        problem = check_observation(obs, now)
        if problem:
            flagged[slot] = problem
        else:
            got[slot] = obs
    _flag_outliers(app, got, flagged)
    ok = [
        Record(
            key=o.key, date=o.date, value=o.value, status=Status.OK, attrs=o.attrs, updated_at=now
        )
        for o in got.values()
    ]
    report.records_written = app.store.put_records(ok)
    report.flagged = len(flagged)
    app.failpoints.hit("scrape.after_write")

    for s in series:
        missing = sorted(d for d in wanted if (s.key, d) not in got)
        if not missing:
            continue
        existing = {
            r.date: r
            for r in app.store.query(
                s.key, missing[0], missing[-1], fields=("status", "retry_count")
            )
        }
        for day in missing:
            reason = error or flagged.get((s.key, day)) or result.notes.get((s.key, day), NO_VALUE)
            report.add(_mark_missing(app, s.key, day, existing.get(day), reason, now))
    app.failpoints.hit("scrape.after_pending")
    return report


def _flag_outliers(
    app: App,
    got: dict[tuple[str, date], Observation],
    flagged: dict[tuple[str, date], str],
) -> None:
    """Move values more than 5x away from both neighbours (stored or new) to ``flagged``."""
    by_key: dict[str, list[Observation]] = defaultdict(list)
    for obs in got.values():
        by_key[obs.key].append(obs)
    for key, batch in by_key.items():
        lo, hi = min(o.date for o in batch), max(o.date for o in batch)
        merged = {
            r.date: r.value
            for r in app.store.query(key, lo - NEIGHBOUR_SPAN, hi + NEIGHBOUR_SPAN, ("value",))
            if r.status is Status.OK and r.value is not None
        }
        merged.update((o.date, o.value) for o in batch)
        days = sorted(merged)
        index = {d: i for i, d in enumerate(days)}
        for obs in batch:
            i = index[obs.date]
            near = [merged[days[j]] for j in (i - 1, i + 1) if 0 <= j < len(days)]
            if far_from_neighbours(obs.value, near):
                flagged[(key, obs.date)] = (
                    f"implausible value {obs.value}: more than 5x from its neighbours "
                    f"({', '.join(str(n) for n in near)})"
                )
                del got[(key, obs.date)]


def _mark_missing(
    app: App, key: str, day: date, current: Record | None, reason: str, now: datetime
) -> ScrapeReport:
    """PENDING for a new failure, QUARANTINED once the last allowed re-download failed too."""
    out = ScrapeReport()
    if current is not None and current.status is not Status.PENDING:
        return out  # OK stays OK; QUARANTINED waits for a person
    if current is not None and current.retry_count >= app.policy.max_retries:
        note = f"{reason} (still failing after {current.retry_count} re-downloads)"
        if app.store.quarantine(key, day, current.retry_count, note):
            out.quarantined = 1
        return out
    pending = Record(
        key=key,
        date=day,
        value=None,
        status=Status.PENDING,
        retry_count=0,
        next_attempt_at=app.policy.first_attempt_due(now),
        reason=reason,
        updated_at=now,
    )
    if app.store.put_pending(pending):
        out.pending_written = 1
    return out


def handle_message(app: App, message: Message) -> ScrapeReport:
    """Process one queue message: malformed ones are dead-lettered with their reason."""
    try:
        request = DownloadRequest.from_body(message.body)
        resolve(app, request)
    except MalformedMessage as exc:
        app.queue.dead_letter(message, str(exc))
        return ScrapeReport(dead_lettered=1)
    return scrape(app, request)
