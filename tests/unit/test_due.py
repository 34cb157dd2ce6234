"""Which series are due for a poll: a date the source has no value for (ABSENT) is not."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import PresentDate, Record, Status
from fuelpipe.homes import build_home
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.source import RateLimited
from fuelpipe.stages.due import (
    LAST_POLL_SLACK,
    Due,
    _due,
    due_status,
    hold_resting,
    latest_expected,
    next_wake,
    note_sent_in_rest,
)
from fuelpipe.stages.source_rest import SourceRests

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
SP_TZ = ZoneInfo("America/Sao_Paulo")


def test_a_latest_date_the_source_has_no_value_for_is_not_due() -> None:
    """ANP's '-' for CNG in Acre: ABSENT is the source's final word, so the series is not
    polled every few minutes for ever."""
    series = DEFAULT_CATALOG["FUEL#CNG#AC"]
    latest, before = date(2025, 6, 22), date(2025, 6, 15)
    absent = _due(series, latest, {before: Status.OK, latest: Status.ABSENT}, NOW)
    assert not absent.is_due and absent.stored == before
    missing = _due(series, latest, {before: Status.OK}, NOW)
    assert missing.is_due  # nothing stored for the latest date: still asked


def test_a_no_value_answer_stands_until_the_series_publishes_again() -> None:
    """ANP's '-' for CNG in Acre, answered on Friday's fetch: the week stays PENDING (ANP may
    yet publish a price) but is not due again on Saturday or Tuesday (it was polled every 5
    minutes until Wednesday evening); a week still PENDING without such an answer is."""
    series = DEFAULT_CATALOG["FUEL#CNG#AC"]
    latest, before = date(2025, 6, 22), date(2025, 6, 15)
    answered = datetime(2025, 6, 27, 18, 0, 20, tzinfo=ZoneInfo("America/Sao_Paulo"))
    present = {before: Status.ABSENT, latest: Status.PENDING}  # no price the week before either
    for now in (datetime(2025, 6, 28, 3, 0, tzinfo=NOW.tzinfo), NOW):
        assert latest_expected(series, now) == latest
        assert not _due(series, latest, present, now, answered).is_due
        assert _due(series, latest, present, now).is_due
    # an answer from before the week's publication was "not out yet", not ANP's word
    early = series.schedule.published_at(latest) - timedelta(minutes=1)
    assert _due(series, latest, present, NOW, early).is_due


def test_a_workbook_row_left_out_after_a_week_with_a_value_stays_due() -> None:
    """ANP's week without CNG in Acre's row, the week before having a price: the workbook may
    have been published before ANP finished it, so the week stays due (polled at the
    schedule's interval) while its window is open; after the window, recheck's. FRED's empty
    cell after a day with a value still stands: its answer is one series' range, not a
    workbook republished whole."""
    series = DEFAULT_CATALOG["FUEL#CNG#AC"]
    latest, before = date(2025, 6, 22), date(2025, 6, 15)
    answered = datetime(2025, 6, 27, 18, 0, 20, tzinfo=SP_TZ)
    present = {before: Status.OK, latest: Status.PENDING}
    for now in (datetime(2025, 6, 28, 3, 0, tzinfo=SP_TZ), NOW):
        left = _due(series, latest, present, now, answered, no_row=True)
        assert left.is_due and left.left_out
    after = series.schedule.stale_at(latest) + timedelta(minutes=1)
    assert not _due(series, latest, present, after, answered, no_row=True).is_due

    from fuelpipe.stages.due import row_left_out

    assert row_left_out(series, Status.OK, no_row=True)
    assert not any(
        row_left_out(series, st, no_row=True) for st in (Status.ABSENT, Status.PENDING, None)
    )

    brent = DEFAULT_CATALOG["COMMODITY#BRENT"]
    day = date(2025, 6, 24)
    prev = date(2025, 6, 23)
    now = brent.schedule.published_at(day) + timedelta(hours=1)
    seen = brent.schedule.published_at(day)
    assert not row_left_out(brent, Status.OK, no_row=True)
    assert not _due(brent, day, {prev: Status.OK, day: Status.PENDING}, now, seen).is_due


def test_a_dash_row_after_a_week_with_a_value_stands_as_anps_answer() -> None:
    """ANP's workbook with a row for CNG in Acre in the week but '-' in its price cell, the
    week before having a price: the row is there, so this is ANP's answer for the week, not a
    row it may still add. It stands like any other "no value" (not due, no next ask planned,
    not reported as left out) until the series publishes again; the window's recheck settles
    it. Before, it was asked again as a left-out row, ~25 times over the window."""
    from fuelpipe.stages.due import row_left_out

    series = DEFAULT_CATALOG["FUEL#CNG#AC"]
    latest, before = date(2025, 6, 22), date(2025, 6, 15)
    answered = datetime(2025, 6, 27, 18, 0, 20, tzinfo=SP_TZ)
    present = {before: Status.OK, latest: Status.PENDING}
    for now in (answered + timedelta(minutes=5), datetime(2025, 6, 28, 3, 0, tzinfo=SP_TZ), NOW):
        dash = _due(series, latest, present, now, answered)
        assert (dash.is_due, dash.left_out, dash.again_at) == (False, False, None)
    assert not row_left_out(series, Status.OK, no_row=False)


def test_a_no_value_answer_is_asked_again_once_a_later_date_is_published() -> None:
    """FRED's empty cell for a day inside its window: once a later date's value is out, the
    source has published again and the day may have been filled, so it is asked again. FRED
    publishes a week at once (domain/publication.py): the days of the same batch are out at the
    same instant, so the answer stands for all of them, until the next batch."""
    from fuelpipe.stages.due import answer_stands

    brent = DEFAULT_CATALOG["COMMODITY#BRENT"]
    day = date(2025, 6, 24)  # a Tuesday: its batch runs to Monday 06-30
    answered = brent.schedule.published_at(day)
    assert answer_stands(brent, day, answered)
    calendar = get_calendar(brent.calendar)
    nxt = calendar.next_expected(day)
    assert brent.schedule.published_at(nxt) == answered  # same batch: nothing new
    assert answer_stands(brent, nxt, answered)
    while brent.schedule.published_at(nxt) == answered:
        nxt = calendar.next_expected(nxt)
    assert nxt == date(2025, 7, 1)  # the next batch's first day
    assert not answer_stands(brent, nxt, answered)
    assert not answer_stands(brent, day, None)


def test_no_value_is_known_before_it_is_out_in_any_zone() -> None:
    """``available_after`` counts from midnight in São Paulo; for a schedule in New York
    (BZ=F's 17:30 close, NYSE shares) it must cover every date's real publication instant,
    whichever side keeps daylight-saving time (São Paulo did until 2019)."""
    from fuelpipe.domain.calendars import SAO_PAULO

    for key in ("COMMODITY#BRENT_FUTURES", "STOCK#XOM", "CURRENCY#USD", "FUEL#GASOLINE#BR"):
        series = DEFAULT_CATALOG[key]
        day = date(2016, 1, 1)
        while day < date(2026, 1, 1):
            midnight = datetime.combine(day, datetime.min.time(), SAO_PAULO)
            assert midnight + series.available_after >= series.schedule.published_at(day), (
                key,
                day,
            )
            day += timedelta(days=7)


class _ReadLog(SqliteStore):
    """A real SQLite store that notes which dates each read asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads: list[tuple[str, date | None]] = []

    def present(self, key: str) -> list[PresentDate]:
        self.reads.append((key, None))
        return super().present(key)

    def present_after(self, key: str, after: date | None) -> list[PresentDate]:
        self.reads.append((key, after))
        return super().present_after(key, after)


def test_due_status_reads_the_lookback_only_and_answers_as_the_whole_history(
    tmp_path: Path,
) -> None:
    """`watch` and the AWS window polls ask every few minutes: reading twenty years of dates
    per key each time (~100 RCU a key on DynamoDB) grows with the history. One read from the
    lookback's start gives the same answer: a date stored on or after the latest expected one
    lies inside it."""
    now = datetime(2025, 7, 5, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    weekly = DEFAULT_CATALOG["FUEL#GASOLINE#SP"]
    daily = DEFAULT_CATALOG["CURRENCY#USD"]
    stamp = datetime(2025, 7, 1, tzinfo=ZoneInfo("UTC"))
    with _ReadLog(tmp_path / "due.sqlite") as store:
        for series, last in ((weekly, date(2025, 6, 1)), (daily, date(2025, 7, 4))):
            days = list(expected_between(get_calendar(series.calendar), date(2005, 1, 1), last))
            store.put_records(
                [Record(series.key, d, Decimal("1.0"), Status.OK, updated_at=stamp) for d in days]
            )
        statuses = due_status(store, [weekly, daily], now)
        whole = [
            _due(s, latest_expected(s, now), {p.date: p.status for p in store.present(s.key)}, now)
            for s in (weekly, daily)
        ]
        reads = store.reads[:2]
    assert [(d.is_due, d.expected) for d in statuses] == [(d.is_due, d.expected) for d in whole]
    assert statuses[0].is_due and not statuses[1].is_due  # weeks after 06-01 are out; USD is in
    assert statuses[1].stored == date(2025, 7, 4)
    for key, after in reads:
        assert after is not None and after >= now.date() - timedelta(days=80), (key, after)


def test_watch_sleeps_through_a_ptax_holiday_to_the_next_days_first_bulletin() -> None:
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    stored = Due(usd, date(2026, 12, 24), date(2026, 12, 24), False)  # up to date
    for now in (
        datetime(2026, 12, 25, 8, 0, tzinfo=SP_TZ),
        datetime(2026, 12, 26, 12, 0, tzinfo=SP_TZ),
    ):
        wake = next_wake([stored], now, intraday=True, catalog=DEFAULT_CATALOG)
        assert wake == datetime(2026, 12, 28, 10, 10, tzinfo=SP_TZ)


def test_a_resting_source_is_held_only_while_the_windows_last_poll_comes_after_its_rest(
    tmp_path: Path,
) -> None:
    """BCB rests 30 minutes from 13:15 (to 13:45): a poll holds USD only when the window's
    last poll comes at least LAST_POLL_SLACK after that, so the last poll surely finds the rest
    over; a window ending sooner, no known last poll, or a poll at the last one itself holds
    nothing. The Yahoo series due beside it is never held."""
    now = datetime(2022, 5, 6, 13, 15, tzinfo=SP_TZ)
    rests = SourceRests(monotonic=lambda: 0.0)
    rests.note("bcb", RateLimited("HTTP 429", retry_after=30 * 60))
    app = build_home(Settings(db=tmp_path / "a.sqlite"), clock=FixedClock(now), rests=rests)
    usd, petr4 = DEFAULT_CATALOG["CURRENCY#USD"], DEFAULT_CATALOG["STOCK#PETR4"]
    due = [Due(usd, date(2022, 5, 6), None, True), Due(petr4, date(2022, 5, 5), None, True)]
    ends = now + timedelta(minutes=30)

    def held(last_poll: datetime | None, at: datetime = now) -> list[str]:
        hold = hold_resting(app, due, at, last_poll)
        ask, kept = hold.ask, hold.held
        assert sorted(d.series.key for d in ask + kept) == sorted(d.series.key for d in due)
        # what is asked during the rest is noted with its rest's end, to be held after
        assert [keys for _, keys in hold.sent_in_rest.values()] == ([] if kept else [{usd.key}])
        return [d.series.key for d in kept]

    assert held(ends + LAST_POLL_SLACK) == ["CURRENCY#USD"]
    assert held(ends + LAST_POLL_SLACK - timedelta(seconds=1)) == []  # too near to be sure
    assert held(ends - timedelta(minutes=10)) == []  # the rest outlasts the window
    assert held(None) == []  # no later poll known (an event naming no last poll)
    last = datetime(2022, 5, 6, 13, 55, tzinfo=SP_TZ)
    assert held(last, at=last) == []  # the last poll holds nothing
    app.close()


def test_a_rest_outlasting_the_window_has_its_series_sent_once_then_held_until_it_ends(
    tmp_path: Path,
) -> None:
    """BCB rests an hour from 13:15 (to 14:15), past the window's last poll (13:55): the 13:15
    poll asks USD and notes the rest's end once the send is done; the polls after it, the last
    one included, hold USD; a poll at or after that end asks it again (the one message may have
    been lost), as does any poll once the rest is over. Before, every poll asked it."""
    now = datetime(2022, 5, 6, 13, 15, tzinfo=SP_TZ)
    ticks = [0.0]
    rests = SourceRests(monotonic=lambda: ticks[0])
    rests.note("bcb", RateLimited("HTTP 429", retry_after=60 * 60))
    app = build_home(Settings(db=tmp_path / "a.sqlite"), clock=FixedClock(now), rests=rests)
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    due = [Due(usd, date(2022, 5, 6), None, True)]
    last_poll = datetime(2022, 5, 6, 13, 55, tzinfo=SP_TZ)
    ends = now + timedelta(hours=1)

    first = hold_resting(app, due, now, last_poll)
    assert (first.held, first.sent_in_rest) == ([], {"bcb": (ends, {usd.key})})
    assert hold_resting(app, due, now + timedelta(minutes=5), last_poll).held == []  # unsent
    note_sent_in_rest(app, first.sent_in_rest)
    for minutes in (5, 20, 40):  # 13:20, 13:35, 13:55 (the last poll)
        ticks[0] = minutes * 60.0
        at = now + timedelta(minutes=minutes)
        hold = hold_resting(app, due, at, last_poll)
        assert ([d.series.key for d in hold.held], hold.sent_in_rest) == ([usd.key], {})
    eur = Due(DEFAULT_CATALOG["CURRENCY#EUR"], date(2022, 5, 6), None, True)
    newly = hold_resting(app, [*due, eur], now + timedelta(minutes=40), last_poll)
    assert (newly.ask, newly.held) == ([eur], due)  # a series due later in the rest: sent once
    assert newly.sent_in_rest == {"bcb": (ends, {usd.key, eur.series.key})}
    assert hold_resting(app, due, ends, None).ask == due  # at the noted end, rest or not
    ticks[0] = 60 * 60.0  # the rest is over
    over = hold_resting(app, due, ends, last_poll)
    assert (over.ask, over.sent_in_rest) == (due, {})
    app.close()


def test_a_pending_date_in_its_grace_is_due_every_grace_every_from_its_last_answer() -> None:
    """A PTAX close missing after its window (13:10-14:00) stays due in its grace (to 18:00),
    15 minutes after its last answer, and the watch wakes for that; past the grace it is
    recheck's alone (not due, no wake for it). Before: not due from 14:00 on."""
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    wed, tue = date(2022, 5, 4), date(2022, 5, 3)
    present = {tue: Status.OK, wed: Status.PENDING}
    answered = datetime(2022, 5, 4, 15, 0, tzinfo=SP_TZ)
    early = _due(usd, wed, present, answered + timedelta(minutes=10), answered=answered)
    assert not early.is_due and early.again_at == answered + timedelta(minutes=15)
    assert next_wake([early], answered + timedelta(minutes=10)) == early.again_at
    due = _due(usd, wed, present, answered + timedelta(minutes=15), answered=answered)
    assert due.is_due
    assert next_wake([due], answered + timedelta(minutes=15)) == answered + timedelta(minutes=30)
    last = datetime(2022, 5, 4, 17, 50, tzinfo=SP_TZ)  # the next ask would be past 18:00
    late = _due(usd, wed, present, last + timedelta(minutes=5), answered=last)
    assert not late.is_due and late.again_at is None
    over = _due(usd, wed, present, datetime(2022, 5, 4, 18, 1, tzinfo=SP_TZ), answered=last)
    assert not over.is_due and over.again_at is None
    thursday = datetime(2022, 5, 5, 13, 10, tzinfo=SP_TZ)
    assert next_wake([over], datetime(2022, 5, 4, 18, 1, tzinfo=SP_TZ)) == thursday


def test_a_schedule_polling_every_5_minutes_asks_a_grace_date_every_15_not_20() -> None:
    """The AWS PTAX schedule polls on minutes 1/5, and the scraper writes each answer (the
    PENDING record's updated_at) seconds after the poll that asked for it. The poll 15
    minutes after an ask found it short by those seconds, so a close missing after 14:00 was
    asked only every 20 minutes: one out at 15:20 waited to 15:36, not 15:26. Synthetic
    timings: the last window ask at 13:56, each answer 20 seconds after its poll."""
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    wed, tue = date(2022, 5, 4), date(2022, 5, 3)
    present = {tue: Status.OK, wed: Status.PENDING}
    answer_takes = timedelta(seconds=20)
    answered = datetime(2022, 5, 4, 13, 56, tzinfo=SP_TZ) + answer_takes
    asks = []
    poll = datetime(2022, 5, 4, 14, 1, tzinfo=SP_TZ)
    while poll <= datetime(2022, 5, 4, 17, 56, tzinfo=SP_TZ):
        at = poll + timedelta(seconds=2)  # the invocation's own small delay
        if _due(usd, wed, present, at, answered=answered).is_due:
            asks.append(poll.strftime("%H:%M"))
            answered = at + answer_takes
        poll += timedelta(minutes=5)
    assert asks[:6] == ["14:11", "14:26", "14:41", "14:56", "15:11", "15:26"]
    assert len(asks) == 16  # the grace's bound (4 hours over 15 minutes), not more
