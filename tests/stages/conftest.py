from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.retry import RetryPolicy
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.scrape import ScrapeReport, handle_message

SP = ZoneInfo("America/Sao_Paulo")
START = date(2022, 1, 3)
NOW = datetime(2022, 3, 31, 20, 0, tzinfo=SP)
POLICY = RetryPolicy(max_retries=5, base_delay=timedelta(hours=1), factor=2.0)


def deliver_one(app: StageContext, *, delete: bool = True) -> ScrapeReport:
    """Receive the queue's one message and scrape it; delete it, or leave it to come back
    after its visibility timeout (a worker that died before deleting it)."""
    [message] = app.queue.receive()
    report = handle_message(app, message)
    if delete:
        app.queue.delete([message.receipt])
    return report


def usd_values() -> dict:
    """Synthetic USD values on every ANBIMA day of Q1 2022 (shape tests, not real data)."""
    cal = get_calendar("ANBIMA")
    days = list(expected_between(cal, START, NOW.date()))
    return {("CURRENCY#USD", d): Decimal("5.5") + Decimal(i) / 1000 for i, d in enumerate(days)}


@pytest.fixture
def make_app(tmp_path):
    """A stage context around a source double, on real SQLite files; no settings, no environment.

    The retry policy is the domain's default, stated here, so a ``FUELPIPE_*`` variable in the
    shell cannot change what a stage test sees.
    """
    apps = []

    def build(source, *, clock=None, db_name="store.sqlite"):
        clock = clock or ManualClock(NOW)
        app = StageContext(
            catalog=DEFAULT_CATALOG,
            store=SqliteStore(tmp_path / db_name),
            queue=SqliteQueue(
                tmp_path / f"{db_name}.queue", clock=clock, visibility_timeout=timedelta(seconds=30)
            ),
            sources={source.name: source},
            clock=clock,
            policy=POLICY,
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.store.close()
        app.queue.close()


@pytest.fixture
def usd():
    return DEFAULT_CATALOG["CURRENCY#USD"]


@pytest.fixture
def table_source():
    return lambda **kw: TableSource("bcb", usd_values(), **kw)
