"""`fuelpipe demo`: the whole pipeline, offline, over the bundled snapshot of real data."""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from datetime import datetime
from typing import Any

import typer
from rich.console import Console

from fuelpipe.cli import display
from fuelpipe.cli.demo_parts import has_records, plan_phases, requests_line, snapshot_dir
from fuelpipe.cli.extras import demo_no_outlook, outlook_model_missing
from fuelpipe.cli.precompute_hook import HealthReads, health_reads, view_refresher
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes import alert_reader, open_home, prepare_home, uncreatable_message
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.store import Store

DEMO_CLOCK = "demo_clock"
"""The store setting that names the clock the demo filled the store at (read by the CLI)."""
DEMO_SERIES_CLOCKS = "demo_series_clocks"
"""Meta entry: each series' own demo clock (JSON key -> ISO instant). The bundled real files
end in different years, so each phase runs at its own --now; status counts each key there."""


def demo_series_clocks(store: Store, stored: str | None = None) -> dict[str, datetime]:
    """Each series' demo clock, if ``fuelpipe demo`` filled this store (else empty);
    ``stored``: the meta entry's text, when the caller read it already."""
    stored = stored if stored is not None else store.get_meta(DEMO_SERIES_CLOCKS)
    if not stored:
        return {}
    try:
        return {key: datetime.fromisoformat(at) for key, at in json.loads(stored).items()}
    except (ValueError, AttributeError):
        return {}


def demo_panel_clock(window: datetime, series_clocks: Mapping[str, datetime]) -> datetime:
    """The clock the dashboard on a demo store runs at: the newest of the demo's clocks (the
    window's and each series' own), the instant its data reaches. Its live header, Health "as
    of" and Today panel then name the days its default views show (2026) rather than the
    window's (2022), while each series is still read, and judged late, at its own clock."""
    return max([window, *series_clocks.values()])


class StoredDemoClocks(Mapping[str, datetime]):
    """A demo store's clocks as it keeps them now, read again at each look: each series' own
    (this mapping) and the panel's (:meth:`now`, :func:`demo_panel_clock` of them). A
    dashboard started apart from `demo --live` serves its store while the replay stamps the
    clock it has reached at each tick (:func:`record_demo_clocks`), so it follows that clock
    rather than the one the store held when it started. The series' clocks are parsed again
    only when the stored text changed. ``window``: the window clock the store held when the
    dashboard started, used if the stored one is gone or is not an instant.

    Each call is one look, one read of the store (``now``: two), and sees one stored text:
    iterating, ``keys``, ``items``, ``values`` and ``get`` each read the clocks once. A reader
    of many series' clocks (the health view: one a series) takes :meth:`snapshot` once
    (:func:`~fuelpipe.ports.clock.one_look`) rather than ``[]`` each, a read each."""

    def __init__(self, store: Store, window: datetime) -> None:
        self._store = store
        self._window = window
        self._held: tuple[str | None, dict[str, datetime]] = (None, {})

    def _clocks(self) -> dict[str, datetime]:
        """The series' clocks the store keeps now: one read. The dict is never changed after
        (a new stored text makes a new one), so a look may iterate it while others read."""
        stored = self._store.get_meta(DEMO_SERIES_CLOCKS)
        if stored != self._held[0]:
            self._held = (stored, demo_series_clocks(self._store, stored))
        return self._held[1]

    def snapshot(self) -> dict[str, datetime]:
        """The series' clocks as the store keeps them now, in one read: a plain dict."""
        return dict(self._clocks())

    def __getitem__(self, key: str) -> datetime:
        return self._clocks()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._clocks())

    def __len__(self) -> int:
        return len(self._clocks())

    def __contains__(self, key: object) -> bool:
        return key in self._clocks()

    def get(self, key: str, default: Any = None) -> Any:
        return self._clocks().get(key, default)

    def keys(self) -> KeysView[str]:
        return self._clocks().keys()

    def items(self) -> ItemsView[str, datetime]:
        return self._clocks().items()

    def values(self) -> ValuesView[datetime]:
        return self._clocks().values()

    def now(self) -> datetime:
        """The panel's clock: the newest of the stored window clock and the series' clocks."""
        stored, window = self._store.get_meta(DEMO_CLOCK), self._window
        with contextlib.suppress(ValueError):  # not an instant: the one held at the start
            window = datetime.fromisoformat(stored) if stored else window
        return demo_panel_clock(window, self._clocks())


def record_demo_clocks(
    store: Store, clock: datetime, series_clocks: Mapping[str, datetime]
) -> None:
    """Remember the clock the demo filled ``store`` at, and each series' own: later commands
    (`status`, `dashboard`) count completeness there, not at this machine's date."""
    store.put_meta(DEMO_CLOCK, clock.isoformat())
    clocks = {key: at.isoformat() for key, at in series_clocks.items()}
    store.put_meta(DEMO_SERIES_CLOCKS, json.dumps(clocks, sort_keys=True))


def refuse_a_store_it_did_not_fill(
    cfg: Settings, fail: Callable[[str], typer.Exit], **wiring: Any
) -> None:
    """The demo fills the store with the bundled data and stamps the demo's clock in it, which
    every later command on it then runs at: a store with records of its own (the operator's,
    at the same default FUELPIPE_DB, or a production DynamoDB table) is refused, untouched. A
    store the demo filled before (it carries the stamp) is the demo's to fill again.
    ``wiring`` goes to :func:`open_home` (the AWS home's clients, in tests); the AWS home's
    table and queues must exist (:func:`prepare_home`)."""
    if cfg.backend == "embedded" and (not cfg.db.is_file() or cfg.db.stat().st_size == 0):
        return
    from fuelpipe.domain.models import Status

    with open_home(cfg, read_only=True, queue_on_demand=True, **wiring) as context:
        store = context.store
        if store.get_meta(DEMO_CLOCK) is not None:
            return
        # Every run leaves its log and its watermarks; a record waiting for a retry counts too.
        filled = bool(store.last_runs() or store.watermarks()) or any(
            store.count_status(s) for s in (Status.PENDING, Status.QUARANTINED)
        )
    if filled:
        aws = cfg.backend == "aws"
        raise fail(
            f"{f'the table {cfg.table_name}' if aws else cfg.db} already holds data "
            "`fuelpipe demo` did not put there: the demo would mix the bundled data into it "
            "and stamp its 2022 clock on it, which every later command would then run at. Run "
            f"the demo on a fresh store, e.g. {'FUELPIPE_BACKEND=embedded ' if aws else ''}"
            "FUELPIPE_DB=data/demo.sqlite fuelpipe demo"
        )


def _refuse_before_filling(
    home: Settings, *, live: bool, fail: Callable[[str], typer.Exit]
) -> None:
    """What the demo refuses before it writes anything, each in one line."""
    if home.backend == "embedded":
        from fuelpipe.cli.main import _check_store_path  # here: main imports this module

        _check_store_path(home.db, writes=True, creates=True)  # as `run` checks it
    if home.backend == "aws":
        if live:
            raise fail("demo --live runs the embedded home")
        prepare_home(home)  # the table and queues the check reads (the demo makes them anyway)
    refuse_a_store_it_did_not_fill(home, fail)
    if not live:  # the live demo ingests no station sample
        from fuelpipe.cli.stations import refuse_a_lake_it_did_not_fill

        refuse_a_lake_it_did_not_fill(home, fail)


def status_command(cfg: Settings) -> str:
    """The `fuelpipe status` that reads the demo's store, its settings named when they are
    not the defaults (a new shell, or one without the demo's environment, reads another)."""
    default = Settings.model_fields
    if cfg.backend == "aws":
        table = cfg.table_name
        named = "" if table == default["table_name"].default else f" FUELPIPE_TABLE_NAME={table}"
        return f"FUELPIPE_BACKEND=aws{named} fuelpipe status"
    if cfg.db == default["db"].default:
        return "fuelpipe status"
    return f"FUELPIPE_DB={shlex.quote(str(cfg.db))} fuelpipe status"


def _run_live(
    console: Console,
    overrides: Mapping[str, Any],
    *,
    serve: bool,
    port: int,
    speed: float,
) -> None:
    """`demo --live`: the window's last two weeks as if live (see fuelpipe.cli.demo_live)."""
    from fuelpipe.cli.demo_live import run_live_demo

    coverage = json.loads((snapshot_dir() / "coverage.json").read_text())
    # Every series with real data in the window, each from its own first date (PTAX, Brent,
    # PETR3 and PRIO3 have phases of their own: phase 0 alone left them out).
    phases = [p for p in plan_phases(coverage) if p.in_window]
    cfg = Settings(**{**overrides, "now": None})  # embedded: _refuse_before_filling checked
    from fuelpipe.cli.watch import only_watch

    # It watches the store as `fuelpipe watch` does: one of them per store.
    with only_watch(cfg, "fuelpipe demo --live"):
        run_live_demo(
            console, cfg, DEFAULT_CATALOG, speed=speed, serve=serve, port=port,
            snapshot_coverage=coverage, phases=phases,
        )  # fmt: skip


def _say_hidden(console: Console, hidden: int, cycles: int) -> None:
    """After the demo's cycles: how many counters at 0 their lines left out, and the option
    that prints every one (nothing when none was left out)."""
    if hidden:
        console.print(
            f"\n{hidden:,} counters at 0 not shown in the lines of the {cycles} cycles "
            f"(`fuelpipe demo {display.ALL_COUNTERS}`: every counter of each cycle)",
            markup=False,
            highlight=False,
        )


def _record_clocks(
    cfg: Settings,
    now: datetime,
    series_clocks: Mapping[str, datetime],
    fail: Callable[[str], typer.Exit],
) -> None:
    """The demo's first write: its clocks into the store, which opening creates; a store that
    cannot be created there is one line, as `run` says it."""
    from fuelpipe.adapters.clock import FixedClock

    with contextlib.ExitStack() as stack:
        try:
            context = stack.enter_context(open_home(cfg, clock=FixedClock(now)))
        except Exception as exc:
            if (problem := uncreatable_message(cfg, exc)) is None:
                raise
            raise fail(problem) from None
        record_demo_clocks(context.store, now, series_clocks)


def run_demo(
    console: Console,
    overrides: Mapping[str, Any],
    *,
    serve: bool,
    port: int,
    fail: Callable[[str], typer.Exit],
    live: bool = False,
    speed: float = 600.0,
    all_counters: bool = False,
) -> None:
    """Start the replay, run every phase with progress bars, print the status, serve the panel.
    Each phase's cycle summary is a line a stage, its counters that are not 0 and those saying
    the run's shape (:func:`display.print_cycle_lines`); ``all_counters``: the full table each."""
    _refuse_before_filling(Settings(**{**overrides, "now": None}), live=live, fail=fail)
    if live:
        _run_live(console, overrides, serve=serve, port=port, speed=speed)
        return
    from fuelpipe.adapters.clock import FixedClock
    from fuelpipe.replay.server import ReplayServer
    from fuelpipe.stages.cycle import run_cycle
    from fuelpipe.stages.status import status

    coverage = json.loads((snapshot_dir() / "coverage.json").read_text())
    phases = plan_phases(coverage)
    started = time.perf_counter()
    with ReplayServer(quiet=True) as replay:
        urls = {f"source_{name}_url": url for name, url in replay.source_urls().items()}
        cfg = Settings(**{**overrides, **urls, "now": None})
        prepare_home(cfg)
        series_clocks = {s.key: p.now for p in phases for s in p.series}
        # The store remembers the clock it is filled at (later commands on it use that clock),
        # from the start: a demo stopped part-way is still a demo's store, run again at will.
        _record_clocks(cfg, phases[0].now, series_clocks, fail)
        # each phase's precompute stores health as the panel (and a later `fuelpipe
        # dashboard`) serves it: at the newest of the demo's clocks, each series at its own,
        # with the alerts
        panel = FixedClock(demo_panel_clock(phases[0].now, series_clocks))
        reads = HealthReads(alert_reader(cfg), series_clocks, panel)
        where = f"store {cfg.db}" if cfg.backend == "embedded" else f"table {cfg.table_name}"
        console.print(f"[bold]fuelpipe demo[/]: replaying real data on {replay.url}, {where}")
        rows = []
        hidden = 0
        for phase in phases:
            console.print(
                f"\n[bold]{phase.name}[/]: {len(phase.series)} series from {phase.since}, "
                f"now = {phase.now.isoformat()}"
            )
            with open_home(cfg, clock=FixedClock(phase.now)) as context:
                with display.bar(console) as progress:
                    report = run_cycle(
                        context,
                        series=phase.series,
                        since=phase.since,
                        progress=progress,
                        on_change=view_refresher(context, reads),
                    )
                hidden += display.print_cycle_lines(console, report.as_dict(), every=all_counters)
                rows.extend(status(context, phase.series, phase.since))
        _say_hidden(console, hidden, len(phases))
        if outlook_model_missing():  # the cycles stored no forecast: the Outlook view is empty
            console.print(f"\n{demo_no_outlook()}", markup=False, highlight=False, soft_wrap=True)
        from fuelpipe.cli.stations import demo_stations

        lake = demo_stations(cfg)  # the station-level sample, beside the weekly series
        requests = dict(replay.request_counts)
    # A series none of whose real values is published by its clock (FUEL_MONTHLY#CNG#MA: its
    # one month comes out after the window) has no record and nothing expected: like `status`
    # and the panel's health, the table leaves it out. One with expected dates stays, records
    # or not, so a series missing everything still counts and fails the demo.
    idle = [r.key for r in rows if not (r.expected or has_records(r))]
    rows = [r for r in rows if r.key not in idle]
    console.print()
    display.print_status_summary(console, rows)
    missing = sum(r.missing for r in rows)
    console.print(
        f"\n{len(rows)} series, {sum(r.present + r.unexpected for r in rows):,} records, "
        f"{missing} missing, {sum(r.pending for r in rows)} pending, "
        f"{sum(r.quarantined for r in rows)} quarantined, "
        f"{sum(r.absent for r in rows)} absent (the source has no value), "
        f"{sum(r.unexpected for r in rows)} on days their calendar skips; "
        f"source requests: {requests_line(requests)}; "
        f"{time.perf_counter() - started:.1f} s"
    )
    if idle:
        console.print(f"not counted (no value published by their demo clock): {', '.join(idle)}")
    # unwrapped: the command is copied whole (the terminal folds a long line)
    hint = f"every series, one row each: {status_command(cfg)}"
    console.print(hint, markup=False, highlight=False, soft_wrap=True)
    if missing:
        raise fail(f"{missing} expected dates are still missing after the demo")
    if serve:
        serve_panel(console, cfg, port=port, stations=lake)


def serve_panel(console: Console, cfg: Settings, *, port: int, stations: Any) -> None:
    """Serve the dashboard on the demo's store as `fuelpipe dashboard` serves it: at the
    newest of the demo's clocks, each series at its own (:func:`health_reads`). The port is
    checked again first: another demo may have taken it while this one ran (the CLI checked it
    at the start), and its URL must not be printed as this one's before the bind fails."""
    from fuelpipe.cli.main import _check_port  # here: main imports this module
    from fuelpipe.dashboard.server import serve as serve_dashboard
    from fuelpipe.homes import damage_namer, open_intraday

    _check_port("127.0.0.1", port)
    with open_home(cfg, clock_meta=DEMO_CLOCK) as context, open_intraday(cfg) as points:
        reads = health_reads(cfg, context.store)
        console.print(f"\ndashboard: [bold]http://127.0.0.1:{port}/[/] (Ctrl+C to stop)")
        serve_dashboard(
            context.store,
            context.catalog,
            context.queue,
            host="127.0.0.1",
            port=port,
            clock=reads.clock or context.clock,
            stations=stations,
            series_clocks=reads.series_clocks,
            intraday=points,
            alerts=reads.alerts,
            # a store damaged while served: a 503 naming it, saying to restart the demo
            faults=damage_namer(cfg, reopen="restart `fuelpipe demo`"),
        )
