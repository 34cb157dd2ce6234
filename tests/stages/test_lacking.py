"""A close Yahoo publishes without its volume is stored OK at once, and the date is asked for
again (retry_recheck, the retry policy's backoff, at most five times) until the volume comes:
then the record is completed (a ``completion`` in its history, no revision); when it never
comes, the date is given up and listed for a person, the close still stored.

The real Yahoo adapter reads the synthetic chart of PETR4 17-21 May 2021 (a null close on the
18th, a null volume on the 20th) from a loopback server; the scraper and recheck run on a store
of each home (SQLite file, DynamoDB on dynalite), with a manual clock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.stages.conftest import POLICY
from tests.support.yahoo_home import yahoo_home

from fuelpipe.dashboard.health import health_view
from fuelpipe.domain.calendars import SAO_PAULO
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.lacking import Lacking, lacking_name, note_text, parse_note
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import HistoryKind, Record, Status
from fuelpipe.ports.source import RateLimited
from fuelpipe.stages.lacking import given_up_dates, release
from fuelpipe.stages.recheck import RecheckReport, recheck
from fuelpipe.stages.scrape import ScrapeReport, handle_message
from fuelpipe.stages.source_rest import SourceRests
from fuelpipe.stages.status import key_status

PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
CHART = (
    Path(__file__).parents[1]
    / "fixtures/payloads/yahoo_chart_PETR4.SA_2021-05-17_2021-05-21_nulls-synthetic.json"
)
DAYS = [date(2021, 5, d) for d in (17, 18, 19, 20, 21)]
MAY20 = date(2021, 5, 20)
VOLUME = 71_234_500  # the volume a later answer brings (synthetic)
NOW = datetime(2021, 5, 24, 12, 0, tzinfo=SAO_PAULO)


def _chart(*, volume: int | None = None, **day20: float | None) -> str:
    """The synthetic chart; ``volume``: the 20th's volume published after all; ``day20``:
    the 20th's other figures (``open``, ``close``, ...) answered otherwise."""
    body: dict[str, Any] = json.loads(CHART.read_text())
    quote = body["chart"]["result"][0]["indicators"]["quote"][0]
    for name, figure in {**day20, "volume": volume}.items():
        quote[name][3] = figure
    return json.dumps(body)


class _Home:
    """A :class:`Home` and what these tests read of it."""

    def __init__(self, home: _Home) -> None:
        self.app, self.clock, self.server = home.app, home.clock, home.server
        self.serve = home.serve

    def note(self) -> dict[date, Lacking]:
        return parse_note(self.app.store.get_meta(lacking_name(PETR4.key)))

    def stored(self, day: date) -> Record:
        [record] = self.app.store.query(PETR4.key, day, day, consistent=True)
        return record

    def drain(self) -> ScrapeReport:
        """Scrape every queued message (the scraper's side of a cycle)."""
        total = ScrapeReport()
        while messages := self.app.queue.receive(10):
            for message in messages:
                total.add(handle_message(self.app, message))
                self.app.queue.delete([message.receipt])
        return total

    def asked(self) -> int:
        """Requests the loopback Yahoo answered so far."""
        return len(self.server.log)


@pytest.fixture(params=["sqlite", "dynamodb-dynalite"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_Home]:
    with yahoo_home(request, tmp_path, NOW) as built:
        yield _Home(built)


def _first_answer(home: _Home) -> ScrapeReport:
    """The week asked for once (a gap scan's message), Yahoo answering without the volume."""
    return _answer(home, _chart())


def _answer(home: _Home, body: str, origin: str = "gap") -> ScrapeReport:
    """The week asked for once (by ``origin``), Yahoo answering ``body``."""
    home.serve(body)
    request = DownloadRequest(
        partition_key=PETR4.key,
        dates_to_download=DAYS,
        fetch_unit=PETR4.fetch_unit,
        origin=origin,
    )
    assert home.app.queue.send([request.to_body()]) == 1
    return home.drain()


def test_a_close_without_its_volume_is_stored_ok_and_completed_when_the_volume_comes(
    home: _Home,
) -> None:
    app = home.app
    first = _first_answer(home)

    lacking = home.stored(MAY20)
    assert lacking.status is Status.OK and lacking.value == Decimal("25.93")  # visible at once
    assert lacking.attrs["volume"] is None and lacking.attrs["lacking"] == "volume"
    assert first.lacking_noted == 1
    assert home.note() == {MAY20: Lacking("volume", 0, NOW + POLICY.delay(0))}

    home.clock.set(NOW + POLICY.delay(0) - timedelta(seconds=1))
    assert recheck(app).lacking_retried == 0  # its first backoff is not over
    home.serve(_chart(volume=VOLUME))  # Yahoo has the volume now
    home.clock.set(NOW + POLICY.delay(0))
    again = recheck(app)
    assert again.lacking_retried == 1
    assert home.note()[MAY20].attempts == 1  # counted before the message went out
    done = home.drain()

    assert done.completed == 1 and done.revised == 0 and done.lacking_dropped == 1
    completed = home.stored(MAY20)
    assert completed.status is Status.OK and completed.value == lacking.value
    assert completed.attrs["volume"] == VOLUME and "lacking" not in completed.attrs
    [entry] = completed.revisions
    assert entry.kind is HistoryKind.COMPLETION
    assert entry.previous == entry.new == lacking.value
    assert entry.previous_attrs == lacking.attrs
    assert app.store.revised(PETR4.key) == []  # a completion is no revision
    assert key_status(app, PETR4, since=DAYS[0]).revised == 0
    assert not any(p.revised for p in app.store.present(PETR4.key))
    assert home.note() == {}
    asked = home.asked()
    home.clock.set(NOW + timedelta(days=30))
    assert recheck(app).lacking_retried == 0 and home.asked() == asked


def test_a_volume_that_never_comes_is_asked_five_times_with_backoff_then_given_up(
    home: _Home,
) -> None:
    app = home.app
    _first_answer(home)
    close = home.stored(MAY20).value
    waits = []
    for attempt in range(1, POLICY.max_retries + 1):
        due_at = home.note()[MAY20].next_at
        home.clock.set(due_at - timedelta(seconds=1))
        assert recheck(app).lacking_retried == 0  # still waiting out its backoff
        home.clock.set(due_at)
        asked = home.asked()
        assert recheck(app).lacking_retried == 1
        home.drain()
        assert home.asked() > asked  # re-downloaded
        note = home.note()
        assert note[MAY20].attempts == attempt and not note[MAY20].given_up
        waits.append(note[MAY20].next_at - due_at)
        assert home.stored(MAY20).status is Status.OK  # the close stays visible all along
    assert waits == [POLICY.delay(n) for n in range(1, POLICY.max_retries + 1)]

    home.clock.set(home.note()[MAY20].next_at)
    asked = home.asked()
    spent = recheck(app)
    assert (spent.lacking_retried, spent.lacking_given_up) == (0, 1)
    assert home.asked() == asked
    [listed] = given_up_dates(app.store)
    assert (listed.key, listed.date, listed.lacking.attempts) == (PETR4.key, MAY20, 5)
    assert listed.lacking.given_up and listed.lacking.figures == "volume"
    record = home.stored(MAY20)
    assert (record.status, record.value) == (Status.OK, close)
    view = health_view(app.store, DEFAULT_CATALOG, None, home.clock)
    assert view.lacking_given_up == 1
    assert {s.key: s.lacking_given_up for s in view.series}[PETR4.key] == 1
    home.clock.advance(timedelta(days=30))
    assert recheck(app).lacking_retried == 0  # given up: not asked again by itself

    assert release(app.store, PETR4.key, [MAY20], home.clock.now()) == [MAY20]
    assert home.note()[MAY20] == Lacking("volume", 0, home.clock.now())
    assert recheck(app).lacking_retried == 1  # a person's release: a fresh budget


class _OtherRunFirst:
    """The real store; the first read of the lacking notes lets another recheck run do its
    whole work before the read's answer (read before that run's writes) comes back."""

    def __init__(self, store: object, other: Any) -> None:
        self._store, self._other = store, other
        self.other_report: RecheckReport | None = None

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        read = self._store.meta_entries(prefix)  # type: ignore[attr-defined]
        if prefix == "lacking#" and self.other_report is None:
            self.other_report = self._other()
        return read

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_two_recheck_runs_at_once_send_a_date_once_per_attempt(home: _Home) -> None:
    app = home.app
    _first_answer(home)
    home.clock.set(home.note()[MAY20].next_at)
    racing = _OtherRunFirst(app.store, lambda: recheck(app))
    late = recheck(dataclasses.replace(app, store=racing))

    assert racing.other_report is not None and racing.other_report.lacking_retried == 1
    assert late.lacking_retried == 0  # it read the note again: the attempt was taken
    assert home.note()[MAY20].attempts == 1
    bodies = [json.loads(m.body) for m in app.queue.receive(10)]
    asked = [d for b in bodies for d in b["dates_to_download"] if d == MAY20.isoformat()]
    assert asked == [MAY20.isoformat()]


def test_recheck_asks_no_lacking_date_of_a_resting_source_nor_past_its_time_budget(
    home: _Home,
) -> None:
    """Yahoo resting after a Retry-After: its lacking dates stay due, none counted; a run
    without time left reads no note; once the rest is over the date is asked for."""
    _first_answer(home)
    home.clock.set(home.note()[MAY20].next_at)
    rests = SourceRests(monotonic=lambda: 0.0)
    rests.note("yahoo", RateLimited("HTTP 429", retry_after=3600))
    resting = recheck(dataclasses.replace(home.app, rests=rests))
    assert resting.lacking_retried == 0 and home.note()[MAY20].attempts == 0
    assert recheck(home.app, remaining_s=lambda: 1.0).lacking_retried == 0  # no time left
    assert home.note()[MAY20].attempts == 0
    assert recheck(home.app).lacking_retried == 1


def test_an_answer_without_a_figure_the_stored_bar_has_changes_nothing(home: _Home) -> None:
    """A bar stored whole, answered again (the revision window) with the same close and a null
    volume: the volume published is kept, no revision, no note (nothing to re-download)."""
    _answer(home, _chart(volume=VOLUME))
    whole = home.stored(MAY20)
    assert whole.attrs["volume"] == VOLUME and "lacking" not in whole.attrs

    again = _answer(home, _chart(), origin="revise")

    assert (again.revised, again.adjusted, again.completed) == (0, 0, 0)
    assert again.lacking_noted == 0 and home.note() == {}
    kept = home.stored(MAY20)
    assert kept.attrs == whole.attrs and not kept.revisions
    assert home.app.store.revised(PETR4.key) == []


def test_an_answer_lacking_another_figure_completes_the_bar_with_both(home: _Home) -> None:
    """Stored lacking its volume; the re-download brings the volume but a null open: the
    record is completed with the volume, the open stored before kept, and leaves the note."""
    _first_answer(home)
    lacking = home.stored(MAY20)
    home.clock.set(home.note()[MAY20].next_at)

    done = _answer(home, _chart(volume=VOLUME, open=None), origin="retry")

    assert (done.revised, done.completed, done.lacking_noted) == (0, 1, 0)
    record = home.stored(MAY20)
    assert record.attrs["open"] == lacking.attrs["open"] == Decimal("26.15")
    assert record.attrs["volume"] == VOLUME and "lacking" not in record.attrs
    assert [e.kind for e in record.revisions] == [HistoryKind.COMPLETION]
    assert home.note() == {}


def test_a_changed_close_without_a_figure_is_a_revision_noted_lacking(home: _Home) -> None:
    """Another close is another bar: stored as a revision as it came (without the volume,
    the whole bar kept in its history), and its date noted for a re-download."""
    _answer(home, _chart(volume=VOLUME))
    whole = home.stored(MAY20)

    revised = _answer(home, _chart(close=25.99), origin="revise")

    assert (revised.revised, revised.lacking_noted) == (1, 1)
    record = home.stored(MAY20)
    assert record.value == Decimal("25.99") and record.attrs["lacking"] == "volume"
    [entry] = record.revisions
    assert entry.kind is HistoryKind.REVISION and entry.previous_attrs == whole.attrs
    assert set(home.note()) == {MAY20}


def test_a_split_reread_notes_the_bars_it_stores_lacking_figures(home: _Home) -> None:
    """The week stored whole; Friday's answer shows a 2:1 split, so the whole history is
    re-read, and the re-read re-bases the 20th's close without its volume: that revision is
    noted for re-downloads as a message's own answer would be."""
    _answer(home, _chart(volume=VOLUME))
    body = json.loads(_chart(close=12.965))
    result = body["chart"]["result"][0]
    friday = result["timestamp"][4]
    split = {"date": friday, "numerator": 2, "denominator": 1, "splitRatio": "2:1"}
    result["events"] = {"splits": {str(friday): split}}
    home.serve(json.dumps(body))
    request = DownloadRequest(
        partition_key=PETR4.key,
        dates_to_download=[DAYS[-1]],
        fetch_unit=PETR4.fetch_unit,
        origin="gap",
    )
    assert home.app.queue.send([request.to_body()]) == 1

    done = home.drain()

    assert (done.split_rereads, done.revised, done.lacking_noted) == (1, 1, 1)
    record = home.stored(MAY20)
    assert record.value == Decimal("12.965") and record.attrs["lacking"] == "volume"
    assert home.note() == {MAY20: Lacking("volume", 0, NOW + POLICY.delay(0))}


def test_recheck_deletes_the_note_of_a_key_the_catalog_no_longer_has(home: _Home) -> None:
    """A ticker dropped from the catalog by a release: its note (a date due, one given up) is
    deleted by the next recheck, nothing asked for it; a catalog key's note stays."""
    gone = lacking_name("STOCK#GONE3")
    app = home.app
    spent = Lacking("volume", 5, NOW, given_up=True)
    app.store.put_meta(gone, note_text({DAYS[0]: Lacking("volume", 0, NOW), MAY20: spent}))
    _first_answer(home)
    assert [g.key for g in given_up_dates(app.store)] == ["STOCK#GONE3"]
    home.clock.set(home.note()[MAY20].next_at)

    run = recheck(app)

    assert app.store.get_meta(gone) is None
    assert run.lacking_retried == 1  # PETR4's date only
    bodies = [json.loads(m.body) for m in app.queue.receive(10)]
    assert {b["partition_key"] for b in bodies} == {PETR4.key}  # its lacking and PENDING dates
    assert given_up_dates(app.store) == [] and home.note()[MAY20].attempts == 1


def test_recheck_deletes_the_empty_note_of_a_key_the_catalog_no_longer_has(home: _Home) -> None:
    """A dropped ticker's note whose text lists nothing (every date of it dropped before the
    release) stayed for good: recheck skipped empty notes before it looked at the key. It is
    deleted now; a catalog key's empty note stays (its key may be noted again)."""
    app = home.app
    gone, kept = lacking_name("STOCK#GONE3"), lacking_name(PETR4.key)
    app.store.put_meta(gone, "")
    app.store.put_meta(kept, "")

    run = recheck(app)

    assert app.store.get_meta(gone) is None
    assert app.store.get_meta(kept) == ""
    assert run.lacking_retried == 0 and app.queue.receive(10) == []
