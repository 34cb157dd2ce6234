"""Runs that stored changes owe the data version each its own debt (``data_unmarked``): one
run's version pays only what was stored before it, so a run that goes on storing after another
wrote its version and is then killed (kill -9: nothing after is called) still leaves its debt
to the next run. Two stage contexts on one SQLite store and queue stand for two processes."""

from __future__ import annotations

from datetime import date

from tests.stages.conftest import usd_values
from tests.support.fakes import TableSource

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.cycle import Owe, drain, work_queue
from fuelpipe.stages.data_version import INITIAL, data_version, unmarked

USD = DEFAULT_CATALOG["CURRENCY#USD"]


def _send(app: StageContext, day: date) -> None:
    request = DownloadRequest(
        partition_key=USD.key, dates_to_download=[day], fetch_unit=USD.fetch_unit, origin="gap"
    )
    assert app.queue.send([request.to_body()]) == 1


def _stored(app: StageContext, day: date) -> bool:
    return [r.date for r in app.store.query(USD.key, day, day)] == [day]


def test_a_run_paying_its_debt_leaves_the_debt_of_a_run_that_stores_after_its_version(
    make_app,
) -> None:
    source = TableSource("bcb", usd_values())
    a, b = make_app(source), make_app(source)  # two processes: one store, one queue
    first, second, third = sorted(day for _, day in source.values)[:3]

    _send(a, first)
    owe_b = Owe(b, unmarked(b.store))  # B's drain: it goes on taking messages
    work_queue(b, wait_in_flight=False, owe=owe_b)
    assert _stored(b, first) and unmarked(b.store)  # stored, deleted: its debt is entered

    _send(a, second)
    drain(a)  # A stores one too, writes its version and pays the debts it read before it
    paid = data_version(a.store)
    assert _stored(a, second) and paid != INITIAL

    _send(b, third)
    work_queue(b, wait_in_flight=False, owe=owe_b)  # B stores after A's version...
    assert _stored(b, third) and b.queue.depth().visible == 0
    # ... and is killed before writing its own: what it stored is in no written version yet

    assert unmarked(a.store)  # the debt is still there
    c = make_app(source)
    drain(c)  # the next run, with nothing new to store, writes the version owed
    assert data_version(c.store) != paid
    assert not unmarked(c.store)  # and, written after B's last store, it paid B's debt
