"""The refresh's input check (``refresh_outlook(full=False)``): from bounded reads it finds the
series whose forecast inputs did not move, and the forecasts and scores it stores equal the
full refresh's, record for record, in every scenario below; the reads are counted by a store
that remembers each query (injected, no patching).

Each scenario builds two identical stores on a SYNTHETIC panel (six gasoline states and a
long Brazil series, :func:`led_panel`), refreshes both in full, changes both alike, then
refreshes one in full and one checked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Revision, Status
from fuelpipe.outlook.records import from_record, to_record, with_actuals
from fuelpipe.outlook.series import RECENT_DAYS, Inputs, Lags, day_number, day_of, known_at
from fuelpipe.stages.data_version import data_version
from fuelpipe.stages.outlook import (
    FULL_EVERY,
    OUTLOOK_FULL_AT,
    OUTLOOK_UNMARKED,
    OUTLOOK_VERSION,
    SKIPPED_META,
    OutlookReport,
    after_cycle,
    fuel_series,
    outlook_key_for,
    refresh_outlook,
    refresh_when_changed,
    version_written,
)

from .test_outlook_pooled import led_panel

USD, BRENT = "CURRENCY#USD", "COMMODITY#BRENT"
LAG = Lags.from_catalog(DEFAULT_CATALOG).fuel
STORED_WEEKS = 100


SHORT = "FUEL#GASOLINE#PA"
"""A state with ten weeks only: too short for a forecast (its reason is recorded)."""


def held_day(panel: Panel) -> date:
    """The Friday the last stored week is published: its PTAX is held back, then lands."""
    return panel.week(STORED_WEEKS) + timedelta(days=5)


def hole_day(panel: Panel) -> date:
    """A Wednesday 11 days before the last stored week: its PTAX is PENDING (the source did
    not answer), days after it are stored, then it is stored OK late."""
    return panel.week(STORED_WEEKS) - timedelta(days=11)


@dataclass(frozen=True)
class Query:
    key: str
    start: date | None
    end: date | None
    limit: int | None


class CountingStore(SqliteStore):
    """A SQLite store that remembers every query it answers."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        super().__init__(path, clock)
        self.queries: list[Query] = []

    def query(  # type: ignore[override]
        self,
        key: str,
        start: date | None = None,
        end: date | None = None,
        fields: Sequence[str] | None = None,
        **kwargs: object,
    ) -> list[Record]:
        limit = kwargs.get("limit")
        self.queries.append(Query(key, start, end, limit if isinstance(limit, int) else None))
        return super().query(key, start, end, fields, **kwargs)  # type: ignore[arg-type]

    def whole(self) -> list[str]:
        """The keys read whole (no start, no limit), in order."""
        return [q.key for q in self.queries if q.start is None and q.limit is None]


@dataclass(frozen=True)
class Panel:
    states: dict[str, Inputs]
    national: Inputs

    def week(self, n: int) -> date:
        """The n-th stored week (1-based) of the states."""
        return day_of(int(next(iter(self.states.values())).fuel.days[n - 1]))

    def fuel(self, uf: str, n: int) -> Record:
        """State ``uf``'s (or Brazil's, ``BR``) price of its n-th state week."""
        week = self.week(n)
        series = self.national.fuel if uf == "BR" else self.states[uf].fuel
        value = dict(zip(map(int, series.days), series.values, strict=True))[day_number(week)]
        return Record(f"FUEL#GASOLINE#{uf}", week, Decimal(f"{value:.6f}"), Status.OK)

    def usd(self, day: date) -> Record:
        usd = self.national.usd
        value = dict(zip(map(int, usd.days), usd.values, strict=True))[day_number(day)]
        return Record(USD, day, Decimal(f"{value:.6f}"), Status.OK)


@pytest.fixture(scope="module")
def panel() -> Panel:
    states, national = led_panel(6, 110)
    return Panel(states, national)


def _fill(store: SqliteStore, panel: Panel, drivers_to: date, held: date | None) -> None:
    """The panel's first STORED_WEEKS weeks but AL's last (Brazil's up to the same week), a
    state with ten weeks only, the drivers up to ``drivers_to`` but the USD day ``held`` and,
    given ``held``, the USD day :func:`hole_day`, stored PENDING."""
    last, hole = panel.week(STORED_WEEKS), hole_day(panel)
    nat = panel.national.fuel
    store.put_records(
        [
            Record("FUEL#GASOLINE#BR", day_of(int(d)), Decimal(f"{v:.6f}"), Status.OK)
            for d, v in zip(nat.days, nat.values, strict=True)
            if day_of(int(d)) <= last
        ]
    )
    for uf in panel.states:  # AL's last week is late
        last = STORED_WEEKS - (uf == "AL")
        store.put_records([panel.fuel(uf, n) for n in range(1, last + 1)])
    store.put_records(
        [panel.fuel("AC", n).with_(key=SHORT) for n in range(STORED_WEEKS - 9, STORED_WEEKS + 1)]
    )
    for key, series in ((USD, panel.national.usd), (BRENT, panel.national.brent)):
        store.put_records(
            [
                Record(key, day_of(int(d)), Decimal(f"{v:.6f}"), Status.OK)
                for d, v in zip(series.days, series.values, strict=True)
                if day_of(int(d)) <= drivers_to
                and not (key == USD and held is not None and day_of(int(d)) in (held, hole))
            ]
        )
    if held is not None:
        store.put_pending(Record(USD, hole, None, Status.PENDING, reason="no answer"))


def _stored(store: SqliteStore) -> tuple[dict[str, list[Record]], str | None]:
    """Every stored forecast by outlook key, and the skip reasons."""
    keys = [outlook_key_for(s) for s in fuel_series(DEFAULT_CATALOG)]
    return {k: store.query(k) for k in keys}, store.get_meta(SKIPPED_META)


def _said(report: OutlookReport) -> tuple[object, ...]:
    return (report.as_dict(), report.skipped, report.reasons, report.problems, report.stale_drivers)


Change = Callable[[SqliteStore, Panel], None]


def _nothing(store: SqliteStore, panel: Panel) -> None:
    """A PTAX day after the last week's publication lands: no forecast reads it yet."""
    store.put_records([panel.usd(panel.week(STORED_WEEKS) + timedelta(days=6))])


def _late_usd(store: SqliteStore, panel: Panel) -> None:
    """The PTAX of the day the last week was published (Friday 18:00; PTAX is out at 13:10)
    lands late: every forecast reads it."""
    store.put_records([panel.usd(held_day(panel))])


def _late_usd_in_hole(store: SqliteStore, panel: Panel) -> None:
    """The PENDING PTAX of :func:`hole_day`, before the last day stored, is stored OK late:
    every forecast's driver history reads it (its last PTAX day does not move)."""
    assert not store.add_records([panel.usd(hole_day(panel))])


def _revised_brent(store: SqliteStore, panel: Panel) -> None:
    """Brent spot of a day two weeks before the last stored week is revised (FRED's
    correction): every forecast's driver history reads it."""
    day = panel.week(STORED_WEEKS) - timedelta(days=15)
    (stored,) = store.query(BRENT, day, day)
    assert stored.value is not None
    revision = Revision(stored.value, stored.value + Decimal("1.5"), store.wall_now(), "revise")
    assert store.revise(BRENT, day, revision, {})


def _revised_recent_week(store: SqliteStore, panel: Panel) -> None:
    """Brazil's week before the last stored one is revised: Brazil's forecast reads it (its
    own lags), and every state's pooled fit (Brazil leads them)."""
    week = panel.fuel("BR", STORED_WEEKS - 1)
    store.put_records([week.with_(value=week.value + Decimal("0.05"))])


def _new_week(store: SqliteStore, panel: Panel) -> None:
    store.put_records([panel.fuel(uf, STORED_WEEKS + 1) for uf in (*panel.states, "BR")])


def _one_state_week(store: SqliteStore, panel: Panel) -> None:
    """One state publishes the next week, the others and Brazil not yet."""
    store.put_records([panel.fuel("AL", STORED_WEEKS + 1)])


def _late_state_week(store: SqliteStore, panel: Panel) -> None:
    """AL's late week lands: the others' forecasts read it (the panel's weeks up to theirs)."""
    store.put_records([panel.fuel("AL", STORED_WEEKS)])


def _older_forecast(store: SqliteStore) -> Record:
    """Brazil's forecast as if made three weeks earlier, stored two weeks earlier."""
    (latest,) = store.query("OUTLOOK#GASOLINE#BR")
    made = from_record(latest).forecast
    back = timedelta(weeks=3)
    older = replace(
        made,
        as_of=made.as_of - timedelta(days=14),
        last_week=made.last_week - back,
        steps=tuple(replace(s, week=s.week - back) for s in made.steps),
    )
    return to_record("OUTLOOK#GASOLINE#BR", older, str(latest.attrs["inputs"]))


def _unscored_older_forecast(store: SqliteStore, panel: Panel) -> None:
    """A forecast stored two weeks earlier whose first weeks were never scored (its weeks are
    before the week the latest was made from): scoring reads the prices from its first week."""
    store.put_records([_older_forecast(store)])


def _revised_scored_week(store: SqliteStore, panel: Panel) -> None:
    """That older forecast scored on its first three weeks, then Brazil's first of them revised
    (older than the week the latest forecast was made from): its ``a1`` follows."""
    older = _older_forecast(store)
    steps = from_record(older).forecast.steps[:3]
    prices = {r.date: r.value for r in store.query("FUEL#GASOLINE#BR")}
    store.put_records([with_actuals(older, {s.horizon: float(prices[s.week]) for s in steps})])
    (first,) = store.query("FUEL#GASOLINE#BR", steps[0].week, steps[0].week)
    assert first.value is not None
    store.put_records([first.with_(value=first.value + Decimal("0.05"))])


def _revised_base_week(store: SqliteStore, panel: Panel) -> None:
    """The week each forecast was made from revised, every state's and Brazil's: each is redone
    from its revised price."""
    for uf in (*panel.states, "BR"):
        last = panel.fuel(uf, STORED_WEEKS - (uf == "AL"))
        store.put_records([last.with_(value=last.value + Decimal("0.05"))])


def _revised_old_week(store: SqliteStore, panel: Panel) -> None:
    """An old week's value of a state and of Brazil revised, 50 weeks before the last: the
    checked refresh does not read it, the full one does (:func:`test_an_old_revision_is_redone_by_the_full_refresh`)."""
    for uf in ("AC", "BR"):
        old = panel.fuel(uf, 50)
        store.put_records([old.with_(value=old.value + Decimal("0.05"))])


SCENARIOS: dict[str, tuple[Change, timedelta, int, int]] = {
    # change, as-of after the first refresh, forecasts made, steps scored
    "nothing": (_nothing, timedelta(days=1), 0, 0),
    "late_driver": (_late_usd, timedelta(days=1), 6, 0),  # AL's forecast, a week older, does
    # not read that day
    "new_week_known": (_new_week, timedelta(days=7), 7, 7),
    "new_week_not_yet_known": (_new_week, timedelta(days=5), 0, 7),
    "one_state_week": (_one_state_week, timedelta(days=7), 1, 1),  # the others' count is
    # of the weeks up to their own last
    "late_state_week": (_late_state_week, timedelta(days=1), 6, 1),
    "unscored_older_forecast": (_unscored_older_forecast, timedelta(days=1), 0, 3),
    "revised_scored_week": (_revised_scored_week, timedelta(days=1), 7, 1),  # Brazil's week
    # two before the last: Brazil's forecast and the states' pooled fit read it
    "late_driver_in_hole": (_late_usd_in_hole, timedelta(days=1), 7, 0),
    "revised_brent": (_revised_brent, timedelta(days=1), 7, 0),
    "revised_recent_week": (_revised_recent_week, timedelta(days=1), 7, 0),
    "revised_base_week": (_revised_base_week, timedelta(days=1), 7, 0),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_checked_refresh_stores_what_the_full_refresh_stores(tmp_path, panel, name):
    change, later, made, scored = SCENARIOS[name]
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    then = as_of + later
    held = held_day(panel)
    clock = ManualClock(as_of)  # both stores stamp updated_at alike
    with (
        SqliteStore(tmp_path / "full.sqlite", clock) as full,
        CountingStore(tmp_path / "checked.sqlite", clock) as checked,
    ):
        for store in (full, checked):
            _fill(store, panel, as_of.date(), held)
            refresh_outlook(store, DEFAULT_CATALOG, as_of)
            change(store, panel)
        assert _stored(full) == _stored(checked)
        assert SHORT in str(_stored(full)[1])  # its reason, which the check reads
        checked.queries.clear()
        clock.set(then)
        want = refresh_outlook(full, DEFAULT_CATALOG, then)
        got = refresh_outlook(checked, DEFAULT_CATALOG, then, full=False)
        whole = checked.whole()
        assert (want.made, want.scored) == (made, scored)
        assert _said(got) == _said(want)
        assert _stored(checked) == _stored(full)
        if made == 0:  # nothing redone: no whole history read
            assert whole == []


def test_nothing_new_costs_three_small_reads_a_forecast_and_four_a_cut_off(tmp_path, panel):
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    with CountingStore(tmp_path / "checked.sqlite", ManualClock(as_of)) as store:
        _fill(store, panel, as_of.date(), None)
        refresh_outlook(store, DEFAULT_CATALOG, as_of)
        _nothing(store, panel)
        store.queries.clear()
        report = refresh_outlook(store, DEFAULT_CATALOG, as_of + timedelta(days=1), full=False)
        assert (report.made, report.unchanged) == (0, 7)
        forecasts = 7  # Brazil's and six states': the forecast, the weeks since, the scores
        empty = len(fuel_series(DEFAULT_CATALOG)) - 7  # its forecast (none); a record, or its
        # weeks since the too-short reason's (PA)
        assert store.whole() == []
        cutoffs = 2  # each driver up to the weeks' served cut-offs: AL's last week is older
        drivers = 3 + 1  # each driver's last RECENT_DAYS; BZ=F has none: its newest before
        assert len(store.queries) == 3 * forecasts + drivers * cutoffs + 2 * empty
        reads = [q for q in store.queries if q.key in (USD, BRENT)]
        assert len(reads) == 2 * cutoffs
        for q in reads:  # bounded: the days the mark digests, whatever the history's length
            assert q.start is not None and q.end is not None and q.limit is None
            assert (q.end - q.start).days == RECENT_DAYS - 1


def test_an_old_revision_is_redone_by_the_full_refresh(tmp_path, panel):
    """A week revised 50 weeks back is read by every forecast's model: the full refresh (at
    least daily, :func:`test_a_full_refresh_runs_at_least_daily`) redoes them; the checked
    one, which reads no whole history, does not see it."""
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    then = as_of + timedelta(days=1)
    with CountingStore(tmp_path / "old.sqlite", ManualClock(as_of)) as store:
        _fill(store, panel, as_of.date(), None)
        refresh_outlook(store, DEFAULT_CATALOG, as_of)
        _revised_old_week(store, panel)
        store.queries.clear()
        checked = refresh_outlook(store, DEFAULT_CATALOG, then, full=False)
        assert (checked.made, checked.unchanged, store.whole()) == (0, 7, [])
        full = refresh_outlook(store, DEFAULT_CATALOG, then)
        assert (full.made, full.unchanged) == (7, 0)
        again = refresh_outlook(store, DEFAULT_CATALOG, then + timedelta(hours=1))
        assert (again.made, again.unchanged) == (0, 7)


def test_a_full_refresh_runs_at_least_daily(tmp_path, panel):
    """The checked refresh cannot see a week backfilled before the stored forecasts' week:
    refresh_when_changed reads every whole history FULL_EVERY after the last full refresh."""
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    with CountingStore(tmp_path / "checked.sqlite", ManualClock(as_of)) as store:
        _fill(store, panel, as_of.date(), None)
        assert refresh_when_changed(store, DEFAULT_CATALOG, as_of, force=True) is not None
        assert store.get_meta(OUTLOOK_FULL_AT) == as_of.isoformat()
        store.queries.clear()
        assert refresh_when_changed(store, DEFAULT_CATALOG, as_of + FULL_EVERY / 2, force=True)
        assert len(store.whole()) == len(fuel_series(DEFAULT_CATALOG)) + 3  # forced: full
        store.queries.clear()
        store.put_meta("data_version", "moved")
        assert refresh_when_changed(store, DEFAULT_CATALOG, as_of + FULL_EVERY / 2)
        assert store.whole() == []  # checked: nothing moved
        store.put_meta("data_version", "moved again")
        assert refresh_when_changed(store, DEFAULT_CATALOG, as_of + FULL_EVERY * 3 / 2)
        assert len(store.whole()) == len(fuel_series(DEFAULT_CATALOG)) + 3
        assert store.get_meta(OUTLOOK_FULL_AT) == (as_of + FULL_EVERY * 3 / 2).isoformat()


class VersionCrashStore(CountingStore):
    """Stops (as a Lambda's timeout or a kill would) when the data version is written, while
    ``crash`` is set: what the refresh stored before stays stored."""

    crash = False

    def put_meta(self, name: str, value: str) -> None:
        if self.crash and name == "data_version":
            raise KeyboardInterrupt("stopped before the version was written")
        super().put_meta(name, value)


def test_a_refresh_stopped_before_its_version_is_owed_one_by_the_next(tmp_path, panel):
    """The dashboard stores the outlook views by data version: forecasts stored by a refresh
    that stopped before writing its version would stay hidden behind the old one, since the
    next refresh finds them stored and makes none. It writes the version owed."""
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    with VersionCrashStore(tmp_path / "crash.sqlite", ManualClock(as_of)) as store:
        _fill(store, panel, as_of.date(), None)
        store.put_meta("data_version", "filled")
        store.crash = True
        with pytest.raises(KeyboardInterrupt):
            refresh_when_changed(store, DEFAULT_CATALOG, as_of)
        outlooks = [outlook_key_for(s) for s in fuel_series(DEFAULT_CATALOG)]
        assert any(store.query(key) for key in outlooks)  # its forecasts are stored
        assert data_version(store) == "filled"
        store.crash = False
        again = refresh_when_changed(store, DEFAULT_CATALOG, as_of)
        assert again is not None and again.made == 0 and again.owed  # nothing new, owed one
        moved = data_version(store)
        assert moved != "filled"
        store.put_meta("data_version", "moved")  # then a refresh with nothing new owes none
        quiet = refresh_when_changed(store, DEFAULT_CATALOG, as_of)
        assert quiet is not None and not quiet.changed
        assert data_version(store) == "moved"


class MetaWrites(CountingStore):
    """Remembers every meta entry written; stops (as a kill would) at the outlook's forecast
    write number ``stop_at`` (1: the first) while it is set."""

    stop_at: int | None = None

    def __init__(self, path: Path, clock: ManualClock) -> None:
        super().__init__(path, clock)
        self.meta_writes: list[tuple[str, str]] = []
        self._outlooks = {outlook_key_for(s) for s in fuel_series(DEFAULT_CATALOG)}
        self._forecasts = 0

    def put_meta(self, name: str, value: str) -> None:
        self.meta_writes.append((name, value))
        super().put_meta(name, value)

    def put_records(self, records: Sequence[Record]) -> int:
        if self.stop_at is not None and any(r.key in self._outlooks for r in records):
            self._forecasts += 1
            if self._forecasts == self.stop_at:
                raise KeyboardInterrupt("stopped amid the refresh's forecasts")
        return super().put_records(records)


def test_a_refresh_that_changes_nothing_writes_no_meta_entry(tmp_path, panel):
    """The steady state: `refresh_when_changed` after a data change that moved no forecast
    input writes only the version it refreshed at, and a cycle's refresh (checked, nothing
    moved) with the version step after it reads OUTLOOK_UNMARKED once and writes nothing."""
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    with MetaWrites(tmp_path / "steady.sqlite", ManualClock(as_of)) as store:
        _fill(store, panel, as_of.date(), None)
        first = refresh_when_changed(store, DEFAULT_CATALOG, as_of)  # the first forecasts
        assert first is not None and first.made
        assert store.get_meta(OUTLOOK_UNMARKED) == ""  # cleared once their version is written
        store.put_meta("data_version", "moved")  # by data no forecast reads
        store.meta_writes.clear()
        quiet = refresh_when_changed(store, DEFAULT_CATALOG, as_of + FULL_EVERY / 2)
        assert quiet is not None and not quiet.changed
        assert store.meta_writes == [(OUTLOOK_VERSION, "moved")]
        store.meta_writes.clear()
        again = after_cycle(store, DEFAULT_CATALOG, as_of + FULL_EVERY / 2)
        assert again is not None and not again.changed and not again.marked
        version_written(store, again)  # as run_cycle calls it
        assert store.meta_writes == []
        assert store.get_meta(OUTLOOK_UNMARKED) == ""


def test_a_refresh_stopped_amid_its_forecasts_is_owed_a_version_by_the_next(tmp_path, panel):
    """The mark is set before the refresh's first write, not at its end: a refresh stopped
    after storing some forecasts leaves it, and the next writes the version owed."""
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    with MetaWrites(tmp_path / "amid.sqlite", ManualClock(as_of)) as store:
        _fill(store, panel, as_of.date(), None)
        store.put_meta("data_version", "filled")
        store.stop_at = 2
        with pytest.raises(KeyboardInterrupt):
            refresh_when_changed(store, DEFAULT_CATALOG, as_of)
        assert store.get_meta(OUTLOOK_UNMARKED)  # its debt's entry
        assert data_version(store) == "filled"
        store.stop_at = None
        again = refresh_when_changed(store, DEFAULT_CATALOG, as_of)
        assert again is not None and again.owed and again.made  # the rest, and the version
        assert data_version(store) != "filled"
        assert store.get_meta(OUTLOOK_UNMARKED) == ""


class RefreshBeside(VersionCrashStore):
    """Runs ``beside`` (another process's refresh, on another client of the same file) before
    its own refresh's first forecast write; counts the forecast writes after it."""

    beside: Callable[[], object] | None = None
    written_after = 0

    def put_records(self, records: Sequence[Record]) -> int:
        outlooks = {outlook_key_for(s) for s in fuel_series(DEFAULT_CATALOG)}
        if any(r.key in outlooks for r in records):
            if self.beside is not None:
                beside, self.beside = self.beside, None
                beside()
            else:
                self.written_after += 1
        return super().put_records(records)


def test_a_refresh_writing_after_another_ones_version_keeps_its_debt(tmp_path, panel):
    """Refresh B enters its debt before its first write; refresh A (another process, on an
    earlier clock) finds it, stores its own forecasts, writes its version and clears the debts
    it read; B goes on writing forecasts after that version and is stopped before its own.
    A shared flag was cleared by A, so the next refresh owed nothing for B's forecasts; B's
    entry, stamped anew at its next write, is still there, and the next refresh pays it."""
    early = known_at(panel.week(STORED_WEEKS - 1), LAG) + timedelta(hours=3)
    as_of = known_at(panel.week(STORED_WEEKS), LAG) + timedelta(hours=3)
    path = tmp_path / "two.sqlite"
    with RefreshBeside(path, ManualClock(as_of)) as b, SqliteStore(path, ManualClock(early)) as a:
        _fill(b, panel, as_of.date(), None)
        b.put_meta("data_version", "filled")
        b.beside = lambda: refresh_when_changed(a, DEFAULT_CATALOG, early)
        b.crash = True
        with pytest.raises(KeyboardInterrupt):
            refresh_when_changed(b, DEFAULT_CATALOG, as_of)
        paid = data_version(a)
        assert paid != "filled" and b.written_after > 0  # B wrote after A's version
        assert a.get_meta(OUTLOOK_UNMARKED)  # and its debt is still owed
        again = refresh_when_changed(a, DEFAULT_CATALOG, as_of, force=True)
        assert again is not None and again.owed  # (it also scores A's forecast: B never did)
        assert data_version(a) != paid
        assert not a.get_meta(OUTLOOK_UNMARKED)
