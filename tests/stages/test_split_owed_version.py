"""A stock split's re-read newly owed, or done, moves the data version even when no value
changed, and the served health view follows.

The health view lists the series that owe a whole-history re-read after a split
(``split_owed#<key>``). A message can write or empty that entry and store nothing else: its
own answer equal to what is stored (``revise`` re-reading a window that starts on the
ex-date), the re-read failing, or succeeding with the closes already stored. The data
version followed only values, statuses and revisions, so such a message left it alone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from tests.stages.conftest import NOW, START
from tests.support.fakes import TableSource

from fuelpipe.dashboard.precomputed import precomputer
from fuelpipe.dashboard.repository import SeriesReader
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Split
from fuelpipe.ports.source import FetchRequest, FetchResult, InvalidPayload
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.data_version import data_version
from fuelpipe.stages.revise import revise
from fuelpipe.stages.scrape import owed_entry, split_owed_name

PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]


class _Ticker(TableSource):
    """PETR4's closes from a table, as Yahoo's chart serves them: ``split_on_start`` makes an
    answer report a 2:1 split on its first date (a window starting on the ex-date), and the
    whole-history re-read (a request from the first stored date) fails while ``reread_fails``
    (a maintenance page)."""

    def __init__(self) -> None:
        days = expected_between(get_calendar(PETR4.calendar), START, NOW.date())
        values = {(PETR4.key, d): Decimal("30") + Decimal(i) / 100 for i, d in enumerate(days)}
        super().__init__("yahoo", values)
        self.first = min(d for _, d in values)
        self.split_on_start = False
        self.reread_fails = False

    def fetch(self, request: FetchRequest) -> FetchResult:
        if self.reread_fails and request.start == self.first:
            self.calls.append(request)
            raise InvalidPayload("HTTP 200 with an HTML maintenance page")
        result = super().fetch(request)
        if not self.split_on_start:
            return result
        return replace(result, splits=(Split(PETR4.key, request.start, Decimal(2), Decimal(1)),))


def _health_split_owed(pre) -> dict | None:  # type: ignore[no-untyped-def]
    """PETR4's ``split_owed`` in the health view as served (precomputed) now."""
    served = pre.serve("/api/health", ())
    assert served is not None
    body = json.loads(served[1])
    (row,) = [s for s in body["series"] if s["key"] == PETR4.key]
    return row["split_owed"]


def test_an_owed_split_written_or_emptied_alone_moves_the_data_version(make_app) -> None:
    source = _Ticker()
    app = make_app(source)
    pre = precomputer(
        SeriesReader(app.store, DEFAULT_CATALOG), app.store, app.catalog, None, app.clock
    )
    run_cycle(app, series=[PETR4], since=START, outlook=False, on_change=pre.refresh)
    filled = data_version(app.store)
    assert _health_split_owed(pre) is None

    # revise's window starts on the ex-date: its closes are equal, the older history is not
    # re-based, and its re-read fails.
    source.split_on_start = source.reread_fails = True
    revise(app, series=[PETR4])
    failed = drain(app)
    assert (failed.records_written, failed.revised, failed.redelivered) == (0, 0, 0)
    assert (failed.split_rereads_failed, failed.split_owed_written) == (1, 1)
    owed = owed_entry(app.store, PETR4)
    assert owed.since == NOW
    [split] = owed.splits
    owing = data_version(app.store)
    assert owing != filled  # the health view lists it now
    assert _health_split_owed(pre) == {
        "splits": [{"date": split.date.isoformat(), "ratio": "2:1"}],
        "text": f"{split.date.isoformat()}=2:1",
        "since": NOW.isoformat(),
    }

    # Failing again with the same split owed writes nothing: the version stays.
    source.split_on_start = False
    revise(app, series=[PETR4])
    again = drain(app)
    assert (again.split_rereads_failed, again.split_owed_written) == (1, 0)
    assert data_version(app.store) == owing
    assert app.store.get_meta(split_owed_name(PETR4.key)) == f"{split.date.isoformat()}=2:1"

    # The next message re-reads the closes, already on the new basis: nothing revised, the
    # entry emptied, and the version moves again (the health view no longer lists it).
    source.reread_fails = False
    revise(app, series=[PETR4])
    done = drain(app)
    assert (done.records_written, done.revised, done.split_rereads, done.split_owed_written) == (
        0,
        0,
        1,
        1,
    )
    assert owed_entry(app.store, PETR4).splits == ()
    settled = data_version(app.store)
    assert settled != owing
    assert _health_split_owed(pre) is None

    revise(app, series=[PETR4])  # nothing owed, nothing changed: the same version
    assert drain(app).split_owed_written == 0
    assert data_version(app.store) == settled
