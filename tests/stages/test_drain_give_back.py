"""A drain stopped by an interruption gives the rest of its batch back to the queue, so the
rerun takes them at once instead of waiting out their visibility timeout. An ordinary error in
one message (a parser bug) gives back that message only: the rest of its batch is worked, as
the scraper Lambda's partial batch response does, and the error is raised once it is. On its
last delivery the failing message goes to the dead letters with the error as its reason."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest
from tests.stages.conftest import START, usd_values
from tests.support.fakes import TableSource

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Status
from fuelpipe.failpoints import Failpoints
from fuelpipe.ports.queue import Message
from fuelpipe.ports.source import FetchRequest, FetchResult
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.last_delivery import asked_for
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.scrape import stopped_reason

SERIES = [DEFAULT_CATALOG[k] for k in ("CURRENCY#USD", "CURRENCY#EUR", "CURRENCY#GBP")]


class _BrokenParser(TableSource):
    """Serves the three currencies; its ``broken``-th fetch raises what no source error
    covers, as a parser bug would."""

    def __init__(self, broken: int | None) -> None:
        values = {
            (s.key, day): value + Decimal(i) for i, s in enumerate(SERIES)
            for (_k, day), value in usd_values().items()
        }  # fmt: skip
        super().__init__("bcb", values)
        self.broken = broken

    def fetch(self, request: FetchRequest) -> FetchResult:
        if len(self.calls) + 1 == self.broken:
            self.calls.append(request)
            raise ValueError("unexpected token in the payload")
        return super().fetch(request)


def test_an_error_in_one_message_gives_back_that_one_and_the_batch_goes_on(make_app) -> None:
    source = _BrokenParser(broken=2)
    app = make_app(source)
    assert orchestrate(app, series=SERIES, since=START).messages_sent == 3

    with pytest.raises(ValueError, match="unexpected token"):
        drain(app)

    # Before, the failed message and the one after it both came back, the later one unworked.
    stored = [bool(app.store.query(s.key)) for s in SERIES]
    assert stored.count(True) == 2
    # the clock has not moved: nothing waits out the visibility timeout
    [back] = app.queue.receive(10)
    assert back.receive_count == 2
    assert SERIES[stored.index(False)].key in back.body
    app.queue.release([back.receipt])
    source.broken = None
    drain(app)
    assert all(app.store.query(s.key) for s in SERIES)
    assert app.queue.depth().visible == app.queue.depth().in_flight == 0


@pytest.mark.parametrize("stage", ["drain", "run_cycle"])
def test_a_drain_ending_with_an_error_logs_what_it_did(make_app, stage: str) -> None:
    """The run log of a drain (or a cycle) the error of one message ends: the other messages'
    counts. Before, the error skipped the log, so a failed `fuelpipe run` left no scraper entry
    (or an earlier run's as the last one) for the values it did store."""
    app = make_app(_BrokenParser(broken=2))
    if stage == "drain":
        assert orchestrate(app, series=SERIES, since=START).messages_sent == 3
        with pytest.raises(ValueError, match="unexpected token"):
            drain(app)
    else:
        with pytest.raises(ValueError, match="unexpected token"):
            run_cycle(app, series=SERIES, since=START, outlook=False)

    [run] = [r for r in app.store.last_runs() if r.stage == "scraper"]
    stored = [r for s in SERIES for r in app.store.query(s.key) if r.status is Status.OK]
    assert run.counts["records_written"] == len(stored) > 0
    assert run.counts["source_requests"] == 2  # the failed message's is not among them


def test_the_log_line_of_a_failed_message_names_what_it_asked_for(make_app, caplog) -> None:
    """A store refusing a write or a parser bug costs one message: its warning names the
    message's origin, key and dates, not only a message id, so a person knows which series and
    days wait for its redelivery."""
    source = _BrokenParser(broken=2)
    app = make_app(source)
    assert orchestrate(app, series=SERIES, since=START).messages_sent == 3

    with (
        caplog.at_level(logging.WARNING, logger="fuelpipe.stages.cycle"),
        pytest.raises(ValueError, match="unexpected token"),
    ):
        drain(app)

    [logged] = [r.getMessage() for r in caplog.records if "failed on delivery" in r.getMessage()]
    [back] = app.queue.receive(10)
    request = DownloadRequest.from_body(back.body)
    days = request.dates_to_download
    # Before, the line named the message id and the error alone.
    assert (
        f"message {back.message_id} (gap {request.partition_key} {days[0]}..{days[-1]}, "
        f"{len(days)} dates) failed on delivery 1 of 5, given back; the rest of its batch goes "
        "on: ValueError: unexpected token in the payload"
    ) == logged


def test_asked_for_names_a_message_it_cannot_read_as_such() -> None:
    one_day = DownloadRequest(
        partition_key="FUEL#GASOLINE#SP",
        dates_to_download=[date(2022, 5, 1)],
        fetch_unit="anp:weekly-states",
        also_keys=["FUEL#GASOLINE#RJ", "FUEL#DIESEL#SP"],
        origin="retry",
    )
    assert asked_for(Message("m", "r", one_day.to_body(), 1)) == (
        "retry FUEL#GASOLINE#SP and 2 more keys 2022-05-01, 1 date"
    )
    assert asked_for(Message("m", "r", '{"not": "a request"}', 1)) == (
        "a body that is no download request"
    )


class _AlwaysBroken(_BrokenParser):
    """Every fetch of one fetch unit raises, as a parser bug its payload always hits would."""

    def __init__(self, unit: str) -> None:
        super().__init__(broken=None)
        self.unit = unit

    def fetch(self, request: FetchRequest) -> FetchResult:
        if request.fetch_unit == self.unit:
            raise ValueError(f"unexpected token in {request.fetch_unit}'s payload")
        return super().fetch(request)


def test_a_message_failing_on_its_last_delivery_is_dead_lettered_with_its_error(
    make_app,
) -> None:
    unit = SERIES[1].fetch_unit
    app = make_app(_AlwaysBroken(unit))
    assert orchestrate(app, series=SERIES, since=START).messages_sent == 3

    for _ in range(app.queue.max_receives - 1):  # each delivery but the last: raised, given back
        with pytest.raises(ValueError, match="unexpected token"):
            drain(app)
    report = drain(app)  # the last one: dead-lettered, and the drain ends as usual

    assert report.dead_lettered == 1
    [dead] = app.queue.dead_letters()
    # Before, the receive after the last delivery moved it there naming no error.
    assert dead.reason == (
        "received 5 times without being processed; the last time: "
        f"ValueError: unexpected token in {unit}'s payload"
    )
    assert dead.receive_count == 5
    assert [bool(app.store.query(s.key)) for s in SERIES] == [True, True, True]
    # its dates PENDING since its last delivery (before: none, a gap sent again), for recheck
    broken = app.store.query(SERIES[1].key)
    assert {(r.status, r.retry_count, r.reason) for r in broken} == {
        (Status.PENDING, 0, stopped_reason(5))
    }
    depth = app.queue.depth()
    assert (depth.visible, depth.in_flight, depth.dead) == (0, 0, 1)


def _stopped_drain(make_app, spec: str, stop: type[BaseException]):
    """The three currencies' messages drained with the failpoints ``spec`` raising ``stop``;
    the app, once the drain was stopped."""

    def stopping(_signum: object) -> None:
        raise stop

    app = make_app(_BrokenParser(broken=None))
    app.failpoints = Failpoints(spec, kill=stopping)
    assert orchestrate(app, series=SERIES, since=START).messages_sent == 3
    with pytest.raises(stop):
        drain(app)
    return app


def test_an_interruption_after_a_delete_gives_the_rest_back_too(make_app) -> None:
    """Ctrl+C right after a message is deleted: the batch's later messages go back as well."""
    app = _stopped_drain(make_app, "drain.after_delete:1", KeyboardInterrupt)

    assert len(app.queue.receive(10)) == 2
    # the run log counts the message it finished (before: no entry at all)
    [run] = [r for r in app.store.last_runs() if r.stage == "scraper"]
    assert run.counts["source_requests"] == 1
    stored = [r for s in SERIES for r in app.store.query(s.key) if r.status is Status.OK]
    assert run.counts["records_written"] == len(stored) > 0


class _Killed(BaseException):
    """The process killed (here raised: what the drain held is given back, as the embedded
    queue takes back at once what a killed process held)."""


def test_a_message_that_kills_the_drain_takes_no_other_delivery_with_it(make_app) -> None:
    """A poison message (here EUR's: it kills the process at every delivery) counts its own
    receives only: the drain takes one message at a time, so the one after it was never
    received and comes with no delivery counted toward the dead letters. Before, the batch of
    ten received all three at once: GBP's delivery was counted at each kill, and it went to
    the dead letters with EUR, never handled."""
    app = _stopped_drain(make_app, "scrape.after_fetch@CURRENCY#EUR:*", _Killed)

    assert [bool(app.store.query(s.key)) for s in SERIES] == [True, False, False]
    back = {
        DownloadRequest.from_body(m.body).partition_key: m.receive_count
        for m in app.queue.receive(10)
    }
    assert back == {"CURRENCY#EUR": 2, "CURRENCY#GBP": 1}  # GBP: its first delivery now
