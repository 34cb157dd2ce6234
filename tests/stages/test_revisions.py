"""A source revises a value it published: the replay serves the new value for a stored date.

Real replay server (real wire formats from the bundled real snapshot), real SQLite store and
queue, the real stages: the first run stores the original values; a replay with a revision
scenario then serves a different value for a stored date; `revise` re-reads each fetch unit
once, the revision is stored with its history, and a second re-read changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.domain.calendars import SAO_PAULO
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.replay.revisions import parse_revision
from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.revise import revise
from fuelpipe.stages.status import key_status

NOW = datetime(2022, 5, 7, 23, 59, tzinfo=SAO_PAULO)
LATER = datetime(2022, 5, 8, 9, 0, tzinfo=SAO_PAULO)
KEYS = ("COMMODITY#BRENT", "CURRENCY#USD", "STOCK#PETR4")
BRENT_DAY, USD_DAY, PETR4_DAY = date(2022, 4, 20), date(2022, 4, 22), date(2022, 4, 25)


def _settings(tmp_path, replay: ReplayServer) -> Settings:
    urls = {f"source_{name}_url": url for name, url in replay.source_urls().items()}
    return Settings(db=tmp_path / "store.sqlite", yahoo_min_interval_s=0, **urls)


def _value(app, key: str, day: date):
    (rec,) = app.store.query(key, day, day)
    return rec


def test_a_revised_value_is_kept_with_its_history_and_a_second_reread_changes_nothing(
    tmp_path,
):
    series = [DEFAULT_CATALOG[k] for k in KEYS]
    with ReplayServer(quiet=True) as replay:
        app = build_context(_settings(tmp_path, replay), clock=FixedClock(NOW))
        try:
            run_cycle(app, series=series, since=date(2022, 3, 1))
            original = {
                k: _value(app, k, d).value
                for k, d in zip(KEYS, (BRENT_DAY, USD_DAY, PETR4_DAY), strict=True)
            }
        finally:
            app.close()

    scenario = dict(
        parse_revision(spec)
        for spec in (
            f"COMMODITY#BRENT@{BRENT_DAY}=107.01",
            f"CURRENCY#USD@{USD_DAY}=4.7001",
            f"STOCK#PETR4@{PETR4_DAY}=31.5",
        )
    )
    with ReplayServer(quiet=True, revisions=scenario) as replay:
        app = build_context(_settings(tmp_path, replay), clock=FixedClock(LATER))
        try:
            asked = revise(app, series=series)
            first = drain(app)
            # one request per fetch unit: FRED, PTAX USD, PETR4.SA
            assert asked.messages_sent == 3
            assert replay.request_counts == {"bcb": 1, "yahoo": 1, "fred": 1, "anp": 0}
            assert first.revised == 3
            assert first.records_written == 0 and first.pending_written == 0

            for key, day, new in (
                ("COMMODITY#BRENT", BRENT_DAY, "107.01"),
                ("CURRENCY#USD", USD_DAY, "4.7001"),
                ("STOCK#PETR4", PETR4_DAY, "31.5"),
            ):
                rec = _value(app, key, day)
                assert rec.value == Decimal(new)
                (rev,) = rec.revisions
                assert rev.previous == original[key] != rev.new == Decimal(new)
                assert rev.seen_at == LATER
                unit = DEFAULT_CATALOG[key].fetch_unit
                assert rev.request.startswith(f"revise {unit} ")
                assert key_status(app, DEFAULT_CATALOG[key]).revised == 1

            second_ask = revise(app, series=series)
            second = drain(app)
            assert second_ask.messages_sent == 3
            assert second.revised == 0 and second.records_written == 0
            assert len(_value(app, "COMMODITY#BRENT", BRENT_DAY).revisions) == 1
        finally:
            app.close()
