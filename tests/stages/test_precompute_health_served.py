"""The health view `fuelpipe run` stores is the one `fuelpipe dashboard` then serves."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

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


class _MetaCounting(SqliteStore):
    """A store counting its reads of each meta entry by name (``get_meta``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meta_gets: Counter[str] = Counter()

    def get_meta(self, name: str) -> str | None:
        self.meta_gets[name] += 1
        return super().get_meta(name)


def test_a_health_request_on_a_demo_store_reads_its_clocks_once(tmp_path: Path) -> None:
    """The dashboard on a demo store read the series' clocks from the store once per stored
    series on every health request (``clocks.get(key)`` on :class:`StoredDemoClocks`, a read
    each: about 100 on the demo's store). It reads them once for the series and once for the
    panel's clock, however many series there are, and still follows the clocks the store
    keeps. Synthetic: a few values of five currencies, an edge case for the count of reads."""
    from datetime import date, datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from fuelpipe.cli.demo import DEMO_SERIES_CLOCKS, record_demo_clocks
    from fuelpipe.domain.models import Record, Status

    sp = ZoneInfo("America/Sao_Paulo")
    first, later = datetime(2022, 4, 23, 0, 0, tzinfo=sp), datetime(2022, 4, 25, 13, 16, tzinfo=sp)
    keys = [f"CURRENCY#{c}" for c in ("USD", "EUR", "GBP", "JPY", "CHF")]
    assert all(k in DEFAULT_CATALOG for k in keys)
    settings = Settings(db=tmp_path / "demo.sqlite")
    store = _MetaCounting(settings.db)
    store.put_records(
        [Record(k, date(2022, 4, d), Decimal("5"), Status.OK) for k in keys for d in (19, 20)]
    )
    record_demo_clocks(store, first, dict.fromkeys(keys, first))
    reads = health_reads(settings, store)
    api = create_app(
        store,
        DEFAULT_CATALOG,
        None,
        reads.clock,
        precompute=False,
        cache_ttl_s=0,
        series_clocks=reads.series_clocks,
    )
    with TestClient(api) as client:
        store.meta_gets.clear()
        served = client.get("/api/health")
        assert served.status_code == 200, served.text
        assert served.json()["stored_series"] == len(keys)
        assert store.meta_gets[DEMO_SERIES_CLOCKS] == 2  # the series', the panel clock's
        record_demo_clocks(store, later, dict.fromkeys(keys, later))
        moved = client.get("/api/health").json()
    assert datetime.fromisoformat(moved["as_of"]) == later
    store.close()


def test_the_stored_demo_clocks_are_iterated_from_one_read(tmp_path: Path) -> None:
    """Iterating the stored clocks and reading them by key each read the store: a dict made
    of them read it once a key, and a key the store dropped meanwhile raised KeyError. Each
    look now reads one stored text; ``snapshot`` is a plain dict of one read."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from fuelpipe.cli.demo import DEMO_SERIES_CLOCKS, StoredDemoClocks, record_demo_clocks

    sp = ZoneInfo("America/Sao_Paulo")
    at = datetime(2022, 4, 23, 0, 0, tzinfo=sp)
    store = _MetaCounting(tmp_path / "demo.sqlite")
    record_demo_clocks(store, at, {"CURRENCY#USD": at, "STOCK#PETR3": at})
    clocks = StoredDemoClocks(store, at)
    store.meta_gets.clear()
    assert dict(clocks.items()) == {"CURRENCY#USD": at, "STOCK#PETR3": at}
    assert clocks.get("CURRENCY#USD") == at and clocks.get("FUEL#X") is None
    snap = clocks.snapshot()
    assert type(snap) is dict and snap == {"CURRENCY#USD": at, "STOCK#PETR3": at}
    assert store.meta_gets[DEMO_SERIES_CLOCKS] == 4  # items, two gets, snapshot: one each
    seen = []
    for key in clocks:  # the store drops a series mid-iteration: the look keeps its text
        seen.append(key)
        record_demo_clocks(store, at, {"CURRENCY#USD": at})
    assert seen == ["CURRENCY#USD", "STOCK#PETR3"]
    assert dict(clocks.items()) == {"CURRENCY#USD": at}
    store.close()
