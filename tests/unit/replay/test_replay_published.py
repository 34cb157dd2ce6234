"""The publication-aware plan over HTTP: one request sees one instant, however the clock runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.replay.anp_workbook import Row, read_sheet, row_date
from fuelpipe.replay.live import PublishedPlan
from fuelpipe.replay.server import ReplayServer

BRASIL = "semanal/semanal-brasil-desde-2013.xlsx"


class TickingClock:
    """A clock that moves one second on every read, as the demo's fast clock moves between
    two reads inside one request."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        """The current instant; the next read is a second later."""
        at = self.at
        self.at += timedelta(seconds=1)
        return at


def test_a_week_is_served_whole_or_not_at_all_while_the_clock_moves(
    client: httpx.Client,
) -> None:
    bundled = ReplayServer(quiet=True).snapshot.sheet(BRASIL)
    week = max(d for d in (row_date(bundled, r) for r in bundled.rows) if d is not None)
    first = min(i for i, r in enumerate(bundled.rows) if row_date(bundled, r) == week)
    released = DEFAULT_CATALOG["FUEL#GASOLINE#BR"].schedule.published_at(week)  # no jitter
    # Read once per row, the clock would cross the release inside the week's own rows.
    clock = TickingClock(released - timedelta(seconds=first + 1))

    def week_rows(data: bytes) -> set[Row]:
        return {r for r in read_sheet(data).rows if row_date(bundled, r) == week}

    with ReplayServer(faults=PublishedPlan(clock), quiet=True) as replay:
        url = f"{replay.source_urls()['anp']}/{BRASIL}"
        assert week_rows(client.get(url).content) == set()  # before the release: none of it
        clock.at = released
        # After it: the whole week, not a half week cached under the released tag.
        assert week_rows(client.get(url).content) == week_rows(
            replay.snapshot.workbook_bytes(BRASIL)
        )
