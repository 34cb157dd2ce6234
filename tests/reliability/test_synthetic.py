"""The replay's synthetic mode, and a whole-history backfill on it (the load bench, small).

The load bench found that a FRED stream of ~10,000 weekdays (Brent spot since 1987) became one
message over the 5,000-date limit of the time, so the orchestrator crashed on a first full run.
The planner now splits any stream longer than a message can hold.
"""

from __future__ import annotations

from datetime import date, datetime

import httpx
from devtools.chaos.harness import RecordingQueue, embedded_home, pipeline_settings
from devtools.synthetic import HEADER, SyntheticSnapshot

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.calendars import SAO_PAULO, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.domain.messages import MAX_DATES_PER_MESSAGE, DownloadRequest
from fuelpipe.domain.models import Status
from fuelpipe.domain.planning import plan_requests
from fuelpipe.replay import ReplayServer
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.status import key_status

NOW = datetime(2025, 12, 31, 23, 0, tzinfo=SAO_PAULO)
SERIES = ["CURRENCY#USD", "COMMODITY#BRENT", "STOCK#PETR4", "FUEL#GASOLINE#BR"]


def snapshot() -> SyntheticSnapshot:
    chosen = Catalog(DEFAULT_CATALOG.select(SERIES))
    return SyntheticSnapshot(date(1987, 1, 1), NOW.date(), chosen)


def test_synthetic_values_are_deterministic_and_labelled():
    first, again = snapshot(), snapshot()
    assert first.ptax["USD"] == again.ptax["USD"] and first.fred == again.fred
    with ReplayServer(snapshot=first, quiet=True) as replay:
        url = replay.source_urls()["fred"] + "/graph/fredgraph.csv?id=DCOILBRENTEU"
        response = httpx.get(url, timeout=30)
        assert response.headers[HEADER] == "1"
        assert replay.stats()["synthetic"] is True
    with ReplayServer(quiet=True) as real:
        assert HEADER not in httpx.get(real.url + "/_replay/stats", timeout=30).headers


def test_a_whole_history_backfill_fills_every_expected_date(tmp_path):
    with ReplayServer(snapshot=snapshot(), quiet=True) as replay:
        app = embedded_home()(pipeline_settings(replay, tmp_path / "s.sqlite"), FixedClock(NOW))
        queue = RecordingQueue(app.queue)
        app.queue = queue
        try:
            chosen = DEFAULT_CATALOG.select(SERIES)
            report = run_cycle(app, series=chosen, since=None)  # from each series' own start
            statuses = [key_status(app, s) for s in chosen]
            stored = app.store.query("COMMODITY#BRENT")
        finally:
            app.close()
    messages = [DownloadRequest.from_body(b) for b in queue.sent]
    assert all(len(m.dates_to_download) <= MAX_DATES_PER_MESSAGE for m in messages)
    assert report.scrape.flagged == 0 and report.scrape.pending_written == 0
    for st in statuses:
        assert (st.missing, st.pending, st.quarantined, st.unexpected) == (0, 0, 0, 0), st
        assert st.present == st.expected > 0
    assert stored[0].date == DEFAULT_CATALOG["COMMODITY#BRENT"].default_start
    assert all(r.status is Status.OK for r in stored)


def test_a_stream_longer_than_a_message_holds_is_split():
    brent = DEFAULT_CATALOG["COMMODITY#BRENT"]
    cal = get_calendar(brent.calendar)
    day, days = brent.default_start, []
    while len(days) <= MAX_DATES_PER_MESSAGE * 2:  # one unbroken stream, two limits long
        days.append(day)
        day = cal.next_expected(day)
    requests = plan_requests([(brent, days)])
    assert len(requests) == 3
    assert all(len(r.dates_to_download) <= MAX_DATES_PER_MESSAGE for r in requests)
    assert [d for r in requests for d in r.dates_to_download] == days
