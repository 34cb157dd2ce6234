"""The three stages end to end on the embedded home with an injected source."""

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from tests.stages.conftest import NOW, START
from tests.support.fakes import TableSource

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.models import Record, Status
from fuelpipe.failpoints import Failpoints
from fuelpipe.ports.source import ServerError
from fuelpipe.stages.cycle import drain, run_cycle
from fuelpipe.stages.data_version import INITIAL, data_version
from fuelpipe.stages.orchestrate import orchestrate
from fuelpipe.stages.recheck import recheck
from fuelpipe.stages.scrape import handle_message
from fuelpipe.stages.status import key_status


def _dump(app, key="CURRENCY#USD"):
    return [(r.date, r.value, r.status, r.retry_count, r.attrs) for r in app.store.query(key)]


def test_a_cycle_fills_every_banking_day_once(make_app, table_source, usd):
    source = table_source()
    app = make_app(source)
    report = run_cycle(app, series=[usd], since=START)
    expected = len(source.values)
    assert report.orchestrate.gaps_found == expected
    assert report.scrape.records_written == expected
    assert len(source.calls) == 1  # one contiguous stream, one request
    st = key_status(app, usd, START)
    assert (st.expected, st.present, st.missing, st.pending, st.unexpected) == (
        expected,
        expected,
        0,
        0,
        0,
    )
    again = run_cycle(app, series=[usd], since=START)
    assert again.orchestrate.gaps_found == 0 and len(source.calls) == 1


def test_a_date_never_returned_is_retried_five_times_with_growing_delays(
    make_app, table_source, usd
):
    hole = date(2022, 2, 10)
    source = table_source(never=[("CURRENCY#USD", hole)])
    app = make_app(source)
    run_cycle(app, series=[usd], since=START)
    (rec,) = [r for r in app.store.pending() if r.date == hole]
    assert rec.retry_count == 0 and "no value" in rec.reason

    due_times = [rec.next_attempt_at]
    for _ in range(10):
        app.clock.set(due_times[-1])
        assert recheck(app).retried in (0, 1)
        drain(app)
        current = app.store.query("CURRENCY#USD", hole, hole)[0]
        if current.status is Status.QUARANTINED:
            break
        due_times.append(current.next_attempt_at)
    assert current.status is Status.QUARANTINED
    assert "5 re-downloads" in current.reason
    assert source.asked[("CURRENCY#USD", hole)] == 1 + 5  # first attempt + 5 re-downloads
    delays = [b - a for a, b in zip(due_times, due_times[1:], strict=False)]
    assert delays == sorted(delays) and len(set(delays)) == len(delays) == 4
    # quarantined records are never re-enqueued automatically
    app.clock.advance(timedelta(days=365))
    assert recheck(app).messages_sent == 0


def test_transient_failure_makes_pending_then_recheck_fills(make_app, table_source, usd):
    source = table_source(failures=[ServerError("503 from test double")])
    app = make_app(source)
    run_cycle(app, series=[usd], since=START)
    assert {r.reason for r in app.store.pending()} == {"ServerError: 503 from test double"}
    app.clock.advance(timedelta(hours=2))
    run_cycle(app, series=[usd], since=START)
    assert app.store.pending() == []
    assert key_status(app, usd, START).present == len(source.values)


def test_the_same_message_twice_leaves_the_same_store(make_app, table_source, usd):
    once = make_app(table_source(), db_name="once.sqlite")
    twice = make_app(table_source(), db_name="twice.sqlite")
    orchestrate(once, series=[usd], since=START)
    orchestrate(twice, series=[usd], since=START)
    drain(once)
    messages = twice.queue.receive(10)
    twice.queue.send([m.body for m in messages])  # a duplicate delivery of each message
    drain(twice, wait_in_flight=False)
    twice.clock.advance(timedelta(minutes=5))  # the originals come back after their timeout
    drain(twice, wait_in_flight=False)
    assert twice.queue.depth().visible == twice.queue.depth().in_flight == 0
    assert _dump(once) == _dump(twice)


def test_a_malformed_message_is_dead_lettered_and_the_rest_go_on(make_app, table_source, usd):
    app = make_app(table_source())
    orchestrate(app, series=[usd], since=START)
    app.queue.send(['{"schema_version": 1, "partition_key": "CURRENCY#XYZ"}', "garbage"])
    drain(app)
    letters = app.queue.dead_letters()
    assert len(letters) == 2
    assert all(d.reason.startswith("malformed message") for d in letters)
    assert any("dates_to_download" in d.reason for d in letters)
    assert key_status(app, usd, START).missing == 0


def test_an_unknown_key_in_a_wellformed_message_is_dead_lettered(make_app, table_source):
    app = make_app(table_source())
    body = json.dumps(
        {
            "schema_version": 1,
            "partition_key": "CURRENCY#XYZ",
            "dates_to_download": ["2022-01-03"],
            "fetch_unit": "bcb:XYZ",
        }
    )
    app.queue.send([body])
    drain(app)
    (letter,) = app.queue.dead_letters()
    assert "not in the series catalog" in letter.reason


@pytest.mark.parametrize("release", ["drops", "moves"])
def test_a_key_a_release_drops_or_moves_costs_that_key_not_the_message(make_app, release):
    """A retry message for an ANP workbook (189 keys) was queued, then a release dropped one
    of its keys from the catalog (or moved it to another fetch unit): the scraper dead-lettered
    the whole message, so every other key's claimed re-download was spent with no download.
    Now the other key is fetched and stored, the dropped one counted, the message acknowledged."""
    units: dict[str, list[Series]] = {}
    for s in DEFAULT_CATALOG:
        units.setdefault(s.fetch_unit, []).append(s)
    kept, gone = max(units.values(), key=len)[:2]
    day = next(d for d in expected_between(get_calendar(kept.calendar), START, NOW.date()))
    source = TableSource(kept.source, {(kept.key, day): Decimal("6.1"), (gone.key, day): 6})
    app = make_app(source)
    for s in (kept, gone):
        assert app.store.put_pending(
            Record(s.key, day, None, Status.PENDING, next_attempt_at=app.clock.now(), reason="x")
        )
    assert recheck(app).messages_sent == 1
    moved = [replace(gone, fetch_unit="anp:elsewhere")] if release == "moves" else []
    app.catalog = Catalog([s for s in DEFAULT_CATALOG if s is not gone] + moved)

    report = drain(app)

    assert app.queue.dead_letters() == [] and app.queue.depth().visible == 0
    assert (report.dead_lettered, report.unknown_keys, report.source_requests) == (0, 1, 1)
    assert [[s.key for s in c.series] for c in source.calls] == [[kept.key]]
    (stored,) = app.store.query(kept.key, day, day)
    assert (stored.status, stored.value) == (Status.OK, Decimal("6.1"))
    (left,) = app.store.query(gone.key, day, day)  # claimed again later (moved) or never
    assert (left.status, left.retry_count) == (Status.PENDING, 1)


def test_a_message_with_no_key_its_fetch_unit_fetches_is_dead_lettered(make_app, table_source):
    """Every key dropped or moved: nothing to fetch, so the message goes to the dead letters
    with the first key's reason, as a wholly unknown message always did."""
    app = make_app(table_source())
    app.queue.send([_usd_message(START).replace('"bcb:USD"', '"bcb:EUR"')])

    report = drain(app)

    assert (report.dead_lettered, report.unknown_keys, report.source_requests) == (1, 0, 0)
    (letter,) = app.queue.dead_letters()
    assert letter.reason == (
        "malformed message: 'CURRENCY#USD' is fetched by 'bcb:USD', not 'bcb:EUR'"
    )


def _usd_message(*days: date) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "partition_key": "CURRENCY#USD",
            "dates_to_download": [d.isoformat() for d in days],
            "fetch_unit": "bcb:USD",
            "origin": "retry",
        }
    )


def test_a_date_no_message_may_ask_for_costs_that_date_not_the_message(make_app, table_source, usd):
    """A message queued by an older release (or built by hand) asks for a date before the
    series starts beside two valid ones: the scraper refused it whole, and the two valid
    dates were dead-lettered with it. Now the valid dates are stored, the bad one is counted
    and its PENDING record quarantined with the reason, and the message is acknowledged."""
    before = date(1999, 12, 31)
    assert before < usd.default_start
    first, second = START, START + timedelta(days=1)
    source = table_source()
    app = make_app(source)
    stuck = Record(usd.key, before, None, Status.PENDING, 2, app.clock.now(), "HTTP 503")
    assert app.store.put_pending(stuck)
    app.queue.send([_usd_message(before, first, second)])

    report = drain(app)

    assert app.queue.dead_letters() == []
    depth = app.queue.depth()
    assert (depth.visible, depth.in_flight) == (0, 0)  # acknowledged
    assert (report.dead_lettered, report.unservable, report.quarantined) == (0, 1, 1)
    assert (report.records_written, report.pending_written) == (2, 0)
    # From New Year's Day, the day after 2021-12-31 (the days before the first servable date
    # that ANBIMA skips are asked for with it), never from the refused 1999 date.
    assert [(c.start, c.end) for c in source.calls] == [(date(2022, 1, 1), second)]
    got = {r.date: r for r in app.store.query(usd.key)}
    assert [(d, r.status) for d, r in sorted(got.items())] == [
        (before, Status.QUARANTINED),
        (first, Status.OK),
        (second, Status.OK),
    ]
    reason = got[before].reason
    assert "1999-12-31 is before 'CURRENCY#USD' starts (2000-01-03)" in reason
    assert "(was: HTTP 503)" in reason and got[before].retry_count == 2
    assert data_version(app.store) != INITIAL  # the quarantine is a status a view shows


def test_a_message_of_dates_no_message_may_ask_for_fetches_nothing_and_succeeds(
    make_app, table_source
):
    """Nothing to fetch (a date before the start, one more than a year ahead, no PENDING
    record of either): no source request, nothing written, each date counted."""
    source = table_source()
    app = make_app(source)
    ahead = app.clock.now().date() + timedelta(days=400)
    app.queue.send([_usd_message(date(1, 1, 1), ahead)])

    report = drain(app)

    assert app.queue.dead_letters() == [] and app.queue.depth().visible == 0
    assert (report.unservable, report.source_requests, report.quarantined) == (2, 0, 0)
    assert source.calls == [] and app.store.query("CURRENCY#USD") == []
    assert data_version(app.store) == INITIAL


def test_implausible_values_are_flagged_and_never_overwrite_a_good_value(
    make_app, table_source, usd
):
    from decimal import Decimal

    source = table_source()
    app = make_app(source)
    run_cycle(app, series=[usd], since=START)
    good_day, spike_day = date(2022, 2, 10), date(2022, 2, 11)
    good = app.store.query("CURRENCY#USD", good_day, good_day)[0].value
    # the source now serves garbage for three dates: a spike, a negative, one in the future
    source.values[("CURRENCY#USD", good_day)] = Decimal("-1")
    source.values[("CURRENCY#USD", spike_day)] = Decimal("55.0")
    future = date(2022, 4, 29)
    source.values[("CURRENCY#USD", future)] = Decimal("5.5")
    body = json.dumps(
        {
            "schema_version": 1,
            "partition_key": "CURRENCY#USD",
            "dates_to_download": [good_day.isoformat(), spike_day.isoformat(), future.isoformat()],
            "fetch_unit": "bcb:USD",
        }
    )
    app.queue.send([body])
    report = drain(app)
    assert report.flagged == 3
    # the good stored values stay as they were
    assert app.store.query("CURRENCY#USD", good_day, good_day)[0].value == good
    assert app.store.query("CURRENCY#USD", spike_day, spike_day)[0].value < 6
    (pending,) = [r for r in app.store.pending() if r.date == future]
    assert "future" in pending.reason


def test_a_spike_in_a_fresh_backfill_is_flagged_with_its_neighbours(make_app, table_source, usd):
    from decimal import Decimal

    source = table_source()
    spike = date(2022, 2, 10)
    source.values[("CURRENCY#USD", spike)] = Decimal("550")
    app = make_app(source)
    run_cycle(app, series=[usd], since=START)
    (rec,) = [r for r in app.store.pending() if r.date == spike]
    assert "more than 5x from its neighbours" in rec.reason


class _InterruptedClaims:
    """A store (the real one underneath) whose ``claim_retry`` is interrupted on its Nth call,
    as Ctrl+C (or a SIGTERM the CLI turns into it) would interrupt a recheck mid-way."""

    def __init__(self, store, interrupt_at):
        self._store = store
        self._calls = 0
        self._at = interrupt_at

    def claim_retry(self, *args, **kwargs):
        self._calls += 1
        if self._calls == self._at:
            raise KeyboardInterrupt
        return self._store.claim_retry(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_an_interrupted_recheck_sends_every_retry_it_claimed(make_app, table_source, usd):
    """A claim spends one of five re-downloads: the claims made before an interruption are
    sent before it propagates, so none is spent without a download."""
    source = table_source(failures=[ServerError("503 from test double")])
    app = make_app(source)
    run_cycle(app, series=[usd], since=START)
    pending = app.store.pending()
    assert len(pending) > 3
    app.clock.advance(timedelta(hours=2))
    app.store = _InterruptedClaims(app.store, interrupt_at=4)
    try:
        recheck(app)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interruption must propagate")
    sent = [json.loads(m.body) for m in app.queue.receive(10)]
    asked = {d for body in sent for d in body["dates_to_download"]}
    claimed = [r for r in app.store.pending() if r.retry_count == 1]
    assert len(claimed) == 3
    assert {r.date.isoformat() for r in claimed} <= asked


def _interrupting(name: str, nth: int = 1) -> Failpoints:
    def interrupt(_signum: object) -> None:
        raise KeyboardInterrupt

    return Failpoints(f"{name}:{nth}", kill=interrupt)


def test_an_interrupted_cycle_moves_the_data_version_for_what_it_stored(
    make_app, table_source, usd
):
    """Ctrl+C after a message's records are stored: the rerun finds them stored and writes
    nothing, so unless the interrupted run moves the version the dashboard's stored views
    (and their ETags) keep showing the store as it was before it."""
    app = make_app(table_source())
    app.failpoints = _interrupting("drain.before_delete")
    with pytest.raises(KeyboardInterrupt):
        run_cycle(app, series=[usd], since=START)
    assert app.store.query("CURRENCY#USD")  # stored before the interruption
    interrupted = data_version(app.store)
    assert interrupted != INITIAL
    app.failpoints = Failpoints()
    again = run_cycle(app, series=[usd], since=START)
    assert again.scrape.records_written == 0  # the redelivered message found them stored


def test_an_interrupted_drain_moves_the_data_version(make_app, table_source, usd):
    app = make_app(table_source())
    orchestrate(app, series=[usd], since=START)
    app.failpoints = _interrupting("drain.before_delete")
    with pytest.raises(KeyboardInterrupt):
        drain(app)
    assert data_version(app.store) != INITIAL


def test_a_drain_of_a_message_a_killed_run_stored_moves_the_data_version(
    make_app, table_source, usd
):
    """kill -9 after a message's records are stored, before it is deleted and before the run
    moved the version: the message comes back and finds its records stored, so it writes
    nothing; a redelivered message moves the version all the same (as the scraper Lambda)."""
    app = make_app(table_source())
    orchestrate(app, series=[usd], since=START)
    (message,) = app.queue.receive(1)
    handle_message(app, message)  # stored; the "killed" run never deletes it nor marks
    assert data_version(app.store) == INITIAL
    app.clock.advance(timedelta(minutes=1))  # past the visibility timeout: it comes back
    report = drain(app)
    assert (report.records_written, report.redelivered) == (0, 1)
    assert data_version(app.store) != INITIAL


class _Killed(BaseException):
    """kill -9 as a test can have it: raised where the process dies (:func:`killing`)."""


def killing(app):
    """A failpoint's kill that takes the process's store connection with it: the handlers a
    run has on its way out (a failed cycle writes the version it owes), which a killed process
    never runs, then reach nothing. The next process opens the files afresh (``make_app``)."""

    def kill(_signum: object) -> None:
        app.store.close()
        raise _Killed

    return kill


def test_a_cycle_killed_after_its_drain_leaves_its_version_owed_to_the_next(
    make_app, table_source, usd
):
    """kill -9 in the recheck (or the outlook refresh), after the drain stored changes and
    before the cycle wrote their data version: the next cycle stores nothing new, yet writes
    the version the killed one owed, or the dashboard's stored views stay as they were."""
    app = make_app(table_source())

    app.failpoints = Failpoints("recheck.after_claim:1", kill=killing(app))
    with pytest.raises(_Killed):
        run_cycle(app, series=[usd], since=START)
    app = make_app(table_source())  # the next process
    assert data_version(app.store) == INITIAL and key_status(app, usd, START).present > 0
    again = _rerun_pays_what_it_owed(app, usd)
    assert again.scrape.records_written == 0


def test_a_cycle_killed_after_deleting_its_last_message_leaves_its_version_owed(
    make_app, table_source, usd
):
    """kill -9 after the drain deleted the message whose records it stored, before the cycle
    noted or wrote their data version: nothing comes back to redeliver and the rerun stores
    nothing, yet it writes the version (the drain set the flag before the delete)."""
    app = make_app(table_source())

    app.failpoints = Failpoints("drain.after_delete:1", kill=killing(app))
    with pytest.raises(_Killed):
        run_cycle(app, series=[usd], since=START)
    app = make_app(table_source())  # the next process
    assert data_version(app.store) == INITIAL and app.queue.depth().visible == 0
    again = _rerun_pays_what_it_owed(app, usd)
    assert (again.scrape.records_written, again.scrape.redelivered) == (0, 0)


def test_a_drain_killed_after_deleting_its_last_message_leaves_its_version_owed(
    make_app, table_source, usd
):
    """As the cycle's: `watch` and `revise` drain on their own and mark the version there."""
    app = make_app(table_source())
    orchestrate(app, series=[usd], since=START)

    app.failpoints = Failpoints("drain.after_delete:1", kill=killing(app))
    with pytest.raises(_Killed):
        drain(app)
    app = make_app(table_source())  # the next process
    assert data_version(app.store) == INITIAL
    drain(app)  # an empty queue: only the owed version
    moved = data_version(app.store)
    assert moved != INITIAL
    drain(app)
    assert data_version(app.store) == moved


def _rerun_pays_what_it_owed(app, usd):
    """Run the cycle again without the failpoint: it writes the owed version (whatever it
    stores), and a third run, owing nothing and changing nothing, leaves it."""
    app.failpoints = Failpoints("")
    again = run_cycle(app, series=[usd], since=START)
    moved = data_version(app.store)
    assert moved != INITIAL
    run_cycle(app, series=[usd], since=START)  # nothing owed now, nothing changed
    assert data_version(app.store) == moved
    return again
