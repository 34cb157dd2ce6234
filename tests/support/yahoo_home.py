"""A scraper's context around the real Yahoo adapter answering from a loopback server, on a
store of one home (the contract suite's store factories: a SQLite file, DynamoDB on
dynalite), with a SQLite queue and a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from tests.contract.conftest import STORE_FACTORIES
from tests.stages.conftest import POLICY

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.yahoo import YahooChartSource
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.stages.context import StageContext

VISIBILITY = timedelta(seconds=30)


@dataclass
class Home:
    """The scraper's context, its manual clock and the loopback server Yahoo answers from."""

    app: StageContext
    clock: ManualClock
    server: HTTPServer

    def serve(self, body: str, symbol: str = "PETR4.SA") -> None:
        self.server.clear()
        self.server.expect_request(f"/v8/finance/chart/{symbol}").respond_with_data(
            body, content_type="application/json"
        )


@contextmanager
def yahoo_home(request: pytest.FixtureRequest, tmp_path: Path, now: datetime) -> Iterator[Home]:
    """A :class:`Home` on the store ``request.param`` names, its clock at ``now``."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    clock = ManualClock(now)
    app = StageContext(
        catalog=DEFAULT_CATALOG,
        store=STORE_FACTORIES[request.param](request, tmp_path)(),
        queue=SqliteQueue(tmp_path / "queue.sqlite", clock, VISIBILITY),
        sources={"yahoo": YahooChartSource(server.url_for(""), make_client(timeout_s=5.0))},
        clock=clock,
        policy=POLICY,
    )
    try:
        yield Home(app, clock, server)
    finally:
        app.close()
        server.clear()
        server.stop()
