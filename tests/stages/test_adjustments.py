"""Yahoo re-bases adj_close for every past date after a dividend: an adjustment, not a revision.

The real Yahoo adapter reads a real recorded chart (PETR4, November 2017) from a loopback
server; the scraper stores it in a real store of each home (SQLite file, DynamoDB on
dynalite). The same chart served again with every adjclose re-based (a dividend, synthetic
factor 0.97) and the closes unchanged is an adjustment: the new attributes are stored, the
previous ones kept in the history marked ``adjustment``, and nothing counts it as a revision.
A changed close is still a revision. The message is delivered twice (at least once, as a
queue whose visibility timeout passed redelivers it): the history gains one entry, not two.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.stages.conftest import deliver_one
from tests.support.yahoo_home import Home, yahoo_home

from fuelpipe.domain.calendars import SAO_PAULO, expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import HistoryKind, Status
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.data_version import scrape_changed
from fuelpipe.stages.status import key_status

PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
CHART = (
    Path(__file__).parents[1] / "fixtures/payloads/yahoo_chart_PETR4.SA_2017-11-09_2017-11-24.json"
)
FIRST, LAST = date(2017, 11, 9), date(2017, 11, 24)
NOW = datetime(2017, 12, 4, 12, 0, tzinfo=SAO_PAULO)
VISIBILITY = timedelta(seconds=30)
CORRECTED_DAY, CORRECTED_CLOSE = date(2017, 11, 14), 16.5


def _chart(*, adj_factor: float = 1.0, close_of: dict[int, float] | None = None) -> str:
    """The real chart, its adjclose re-based by ``adj_factor`` and some closes replaced."""
    body: dict[str, Any] = json.loads(CHART.read_text())
    indicators = body["chart"]["result"][0]["indicators"]
    adj = indicators["adjclose"][0]["adjclose"]
    indicators["adjclose"][0]["adjclose"] = [round(x * adj_factor, 6) for x in adj]
    for i, close in (close_of or {}).items():
        indicators["quote"][0]["close"][i] = close
    return json.dumps(body)


@pytest.fixture(params=["sqlite", "dynamodb-dynalite"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Home]:
    """A store of each home, a SQLite queue and the real Yahoo adapter on 127.0.0.1."""
    with yahoo_home(request, tmp_path, NOW) as built:
        yield built


def _send(app: StageContext, origin: str) -> None:
    days = list(expected_between(get_calendar(PETR4.calendar), FIRST, LAST))
    request = DownloadRequest(
        partition_key=PETR4.key,
        dates_to_download=days,
        fetch_unit=PETR4.fetch_unit,
        origin=origin,  # type: ignore[arg-type]
    )
    assert app.queue.send([request.to_body()]) == 1


def _stored(app: StageContext) -> dict[date, Any]:
    return {r.date: r for r in app.store.query(PETR4.key, FIRST, LAST) if r.status is Status.OK}


def test_a_rebased_adj_close_is_an_adjustment_and_a_redelivery_adds_nothing(
    home: Home,
) -> None:
    app = home.app
    home.serve(_chart())
    _send(app, "gap")
    stored = deliver_one(app)
    before = _stored(app)
    assert stored.records_written == len(before) == 10  # 12 bars, 2 stale holiday bars

    home.serve(_chart(adj_factor=0.97))  # a dividend: every past adj_close re-based
    _send(app, "revise")
    first = deliver_one(app, delete=False)  # the worker dies before deleting it
    home.clock.advance(VISIBILITY + timedelta(seconds=1))
    again = deliver_one(app)  # at least once: the same message again

    assert (first.adjusted, first.revised, first.records_written) == (10, 0, 0)
    assert (again.adjusted, again.revised, again.records_written) == (0, 0, 0)
    assert not scrape_changed(first)  # no view shows adj_close: the data version stands
    after = _stored(app)
    for day, old in before.items():
        new = after[day]
        assert new.value == old.value
        assert new.attrs["adj_close"] == round(old.attrs["adj_close"] * Decimal("0.97"), 6)
        assert {k: v for k, v in new.attrs.items() if k != "adj_close"} == {
            k: v for k, v in old.attrs.items() if k != "adj_close"
        }
        [entry] = new.revisions  # one entry, though the message came twice
        assert entry.kind is HistoryKind.ADJUSTMENT
        assert entry.previous == entry.new == old.value
        assert entry.previous_attrs == old.attrs
        assert entry.request.startswith("revise yahoo:PETR4.SA ")
    assert app.store.revised(PETR4.key) == []
    assert key_status(app, PETR4, since=FIRST).revised == 0
    assert not any(p.revised for p in app.store.present(PETR4.key))


def test_a_changed_close_is_still_a_revision(home: Home) -> None:
    app = home.app
    home.serve(_chart())
    _send(app, "gap")
    deliver_one(app)
    before = _stored(app)

    # 14 November is the fourth bar; Yahoo re-bases every adj_close and corrects one close.
    home.serve(_chart(adj_factor=0.97, close_of={3: CORRECTED_CLOSE}))
    _send(app, "revise")
    report = deliver_one(app)

    assert (report.revised, report.adjusted) == (1, 9)
    assert scrape_changed(report)
    [revised] = app.store.revised(PETR4.key)
    assert revised.date == CORRECTED_DAY
    assert revised.value == Decimal(str(CORRECTED_CLOSE))
    [entry] = revised.revisions
    assert entry.kind is HistoryKind.REVISION
    assert (entry.previous, entry.new) == (before[CORRECTED_DAY].value, revised.value)
    assert entry.previous_attrs == before[CORRECTED_DAY].attrs
    assert key_status(app, PETR4, since=FIRST).revised == 1
