"""The health view `fuelpipe run` stores is the one `fuelpipe dashboard` then serves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from tests.stages.conftest import NOW, usd_values
from tests.support.fakes import TableSource
from tests.support.read_counting import ReadCounting

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.precompute_hook import health_reads, view_refresher
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.precomputed import Precomputer, decode, entry_name, view_etag
from fuelpipe.dashboard.server import dashboard_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.cycle import run_cycle
from fuelpipe.stages.data_version import data_version


class _Counting(ReadCounting, SqliteStore):
    """The dashboard's store on the run's file, counting the series reads a builder makes."""


def test_the_health_view_a_run_stores_is_served_without_computing_it_again(
    make_app, tmp_path: Path
) -> None:
    """`run`'s precompute read no alert state while `fuelpipe dashboard` reads the store's
    (an empty one: no active alert), so the stored health view's version, which follows what
    health shows (``health_inputs``), never matched the one the dashboard asked for, and it
    computed health again once after every run. Both now take it from ``health_reads``: the
    dashboard answers from the stored entry, reading no series, the same answer the routes
    compute."""
    app = make_app(TableSource("bcb", usd_values()))
    settings = Settings(db=tmp_path / "store.sqlite")  # make_app's file
    usd = [DEFAULT_CATALOG["CURRENCY#USD"]]
    run_cycle(
        app,
        series=usd,
        since=NOW.date() - timedelta(days=20),
        on_change=view_refresher(app, health_reads(settings, app.store)),
    )
    stored = app.store.get_meta(entry_name("/api/health", ()))
    assert stored is not None
    version = decode(stored)[0]
    assert version.split(".")[0] == data_version(app.store)

    # as `fuelpipe dashboard` serves this store (cli/main.py's dashboard command)
    counting = _Counting(settings.db)
    reads = health_reads(settings, counting)
    api = dashboard_app(
        counting,
        DEFAULT_CATALOG,
        app.queue,
        clock=app.clock,
        series_clocks=reads.series_clocks,
        store_views=False,
        alerts=reads.alerts,
    )
    pre: Precomputer = api.state.precomputer
    with TestClient(api, base_url="http://127.0.0.1") as client:
        served = client.get("/api/health")
    assert served.status_code == 200, served.text
    assert served.headers["etag"] == view_etag(version)
    assert pre.computed == 0  # answered from the stored entry
    assert (counting.presents, counting.queries) == (0, 0)  # no series read: nothing built

    on_demand = create_app(
        app.store,
        DEFAULT_CATALOG,
        app.queue,
        app.clock,
        precompute=False,
        cache_ttl_s=0,
        alerts=reads.alerts,
        series_clocks=reads.series_clocks,
    )
    with TestClient(on_demand) as client:
        computed = client.get("/api/health")
    assert computed.status_code == 200 and "etag" not in computed.headers
    assert served.json() == computed.json()  # the stored answer is the computed one
    counting.close()


def test_the_dashboard_on_a_demo_store_follows_the_clocks_the_store_keeps(tmp_path: Path) -> None:
    """`fuelpipe dashboard` started apart on a store `demo --live` is filling read the demo's
    clocks once, at its start, and kept that "as of" while the replay moved on; it now reads
    them from the store at each look, as the replay stamps them each tick."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from fuelpipe.cli.demo import record_demo_clocks

    sp = ZoneInfo("America/Sao_Paulo")
    first, later = datetime(2022, 4, 23, 0, 0, tzinfo=sp), datetime(2022, 4, 25, 13, 16, tzinfo=sp)
    petr3 = datetime(2022, 3, 14, 18, 31, tzinfo=sp)  # a series whose file ended before
    store = SqliteStore(tmp_path / "demo.sqlite")
    settings = Settings(db=tmp_path / "demo.sqlite")
    record_demo_clocks(store, first, {"CURRENCY#USD": first, "STOCK#PETR3": petr3})
    reads = health_reads(settings, store)
    assert reads.clock is not None
    assert reads.clock.now() == first
    assert dict(reads.series_clocks) == {"CURRENCY#USD": first, "STOCK#PETR3": petr3}

    record_demo_clocks(store, later, {"CURRENCY#USD": later, "STOCK#PETR3": petr3})
    assert reads.clock.now() == later
    assert dict(reads.series_clocks) == {"CURRENCY#USD": later, "STOCK#PETR3": petr3}
    # with --now every series is at one clock: no demo clocks read at all
    assert health_reads(Settings(db=settings.db, now=later), store).clock is None
