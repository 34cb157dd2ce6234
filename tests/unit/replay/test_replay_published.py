"""The publication-aware plan over HTTP: one request sees one instant, however the clock runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.homes.settings import Settings
from fuelpipe.homes.sources import build_sources
from fuelpipe.ports.source import FetchRequest, Source
from fuelpipe.replay.anp_workbook import (
    WORKBOOK_LEVELS,
    Row,
    SheetRows,
    read_sheet,
    row_date,
    row_key,
)
from fuelpipe.replay.live import PublishedPlan
from fuelpipe.replay.server import ReplayServer

BRASIL = "semanal/semanal-brasil-desde-2013.xlsx"
SP = ZoneInfo("America/Sao_Paulo")


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


def _rows_of(data: bytes, sheet: SheetRows, day: date) -> set[Row]:
    return {r for r in read_sheet(data).rows if row_date(sheet, r) == day}


@pytest.mark.parametrize("route", sorted(WORKBOOK_LEVELS))
def test_a_workbook_gains_a_publication_for_every_product_and_area_at_once(
    route: str, client: httpx.Client
) -> None:
    """The plan's catalog watches no ANP key at all: the workbook still follows ANP's schedule,
    so a week (a month) is in it for every row or for none."""
    bundled = ReplayServer(quiet=True).snapshot.sheet(route)
    latest = max(d for d in (row_date(bundled, r) for r in bundled.rows) if d is not None)
    level = WORKBOOK_LEVELS[route]
    key = next(k for r in bundled.rows if (k := row_key(bundled, level, r)) is not None)
    released = DEFAULT_CATALOG[key].schedule.published_at(latest)
    clock = ManualClock(released - timedelta(seconds=1))
    watched = Catalog([DEFAULT_CATALOG["CURRENCY#USD"]])
    with ReplayServer(faults=PublishedPlan(clock, catalog=watched), quiet=True) as replay:
        url = f"{replay.source_urls()['anp']}/{route}"
        assert _rows_of(client.get(url).content, bundled, latest) == set()
        clock.set(released)
        whole = _rows_of(replay.snapshot.workbook_bytes(route), bundled, latest)
        assert len(whole) > 1
        assert _rows_of(client.get(url).content, bundled, latest) == whole


def test_before_the_release_anp_says_nothing_of_the_week_not_no_price(tmp_path: Path) -> None:
    """The freshness bench's week: gasoline watched alone, ANP's release at 19:00. At 18:30 the
    brasil workbook must not hold the week's other fuels, which the client would read as ANP's
    word that gasoline has no price that week (and watch would stop polling it)."""
    gas = DEFAULT_CATALOG["FUEL#GASOLINE#BR"]
    week = date(2022, 4, 24)
    clock = ManualClock(datetime(2022, 4, 29, 18, 30, tzinfo=SP))
    plan = PublishedPlan(
        clock, catalog=Catalog([gas]), jitter={"anp": (timedelta(hours=1), timedelta(hours=1))}
    )
    request = FetchRequest(gas.fetch_unit, (gas,), week - timedelta(days=7), week)
    with ReplayServer(faults=plan, quiet=True) as replay:
        anp = _source(replay, tmp_path, "anp")
        try:
            result = anp.fetch(request)
            assert max(o.date for o in result.observations) == week - timedelta(days=7)
            assert result.no_value == {}
            clock.set(datetime(2022, 4, 29, 19, 0, tzinfo=SP))
            assert max(o.date for o in anp.fetch(request).observations) == week
        finally:
            anp.close()


@pytest.mark.parametrize(
    ("key", "day"),
    [
        ("CURRENCY#USD", date(2022, 4, 29)),
        ("STOCK#PETR4", date(2022, 4, 29)),
        ("STOCK#XOM", date(2022, 4, 29)),
        ("COMMODITY#BRENT_FUTURES", date(2022, 4, 29)),
        ("COMMODITY#BRENT", date(2022, 4, 22)),
    ],
)
def test_a_source_publishes_on_its_schedule_whatever_keys_the_plan_watches(
    key: str, day: date, tmp_path: Path
) -> None:
    """PTAX's closing, a daily bar, FRED's spot: released at the schedule's instant although
    the plan's catalog watches only ANP's gasoline (it was served from the start)."""
    series = DEFAULT_CATALOG[key]
    released = series.schedule.published_at(day)
    clock = ManualClock(released - timedelta(seconds=1))
    watched = Catalog([DEFAULT_CATALOG["FUEL#GASOLINE#BR"]])
    request = FetchRequest(series.fetch_unit, (series,), day - timedelta(days=7), day)
    with ReplayServer(faults=PublishedPlan(clock, catalog=watched), quiet=True) as replay:
        source = _source(replay, tmp_path, series.source)
        try:
            before = {o.date for o in source.fetch(request).observations}
            clock.set(released)
            after = {o.date for o in source.fetch(request).observations}
        finally:
            source.close()
    assert day not in before
    assert day in after


def _source(replay: ReplayServer, tmp_path: Path, name: str) -> Source:
    urls = {f"source_{n}_url": u for n, u in replay.source_urls().items()}
    settings = Settings(db=tmp_path / "f.sqlite", yahoo_min_interval_s=0, **urls)
    return build_sources(settings, [name])[name]
