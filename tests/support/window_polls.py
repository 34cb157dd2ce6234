"""One scenario for both homes: a window poll does not ask again for a PENDING date while the
message an earlier poll sent for it may still be queued or being fetched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.store import Store

SP = ZoneInfo("America/Sao_Paulo")
USD = "CURRENCY#USD"
FRIDAY = date(2022, 5, 6)
FAILED_AT = datetime(2022, 5, 6, 13, 12, tzinfo=SP)
"""The scraper's answer to the window's first poll: BCB timed out, the date stays PENDING."""


def seed_a_failed_friday(store: Store, clock: ManualClock) -> None:
    """USD stored to Thursday; Friday's PTAX PENDING after a source error (at FAILED_AT)."""
    clock.set(FAILED_AT)
    store.put_records(
        [Record(USD, date(2022, 5, d), Decimal("5.0"), Status.OK) for d in range(2, 6)]
    )
    _scraper_answers(store)


def _scraper_answers(store: Store) -> None:
    """What the scraper writes when the source fails again: the PENDING record, rewritten."""
    record = Record(
        USD, FRIDAY, None, Status.PENDING, next_attempt_at=FAILED_AT + timedelta(hours=1),
        reason="bcb: read timeout",
    )  # fmt: skip
    assert store.put_pending(record)


def assert_polls_wait_for_the_one_in_flight(
    store: Store, clock: ManualClock, poll: Callable[[], int], in_flight_for: timedelta
) -> None:
    """``poll``: one window poll at the clock's time, returning the PENDING dates' messages.

    Before, every 5-minute poll sent one more message for the failing date (~12 an hour in
    the PTAX window, behind a scraper capped at two concurrent fetches of the slow source)."""
    step = in_flight_for / 3  # the window polls every 5 minutes; the queue's timeout varies
    first = datetime(2022, 5, 6, 13, 15, tzinfo=SP)
    clock.set(first)
    assert poll() == 1
    clock.set(first + step)
    assert poll() == 0  # that message is not answered yet: still in flight
    clock.set(first + 1.5 * step)
    _scraper_answers(store)  # the scraper got to it: the source failed again
    second = first + 2 * step
    clock.set(second)
    assert poll() == 1  # answered since it was sent: asked again, as every window poll does
    clock.set(second + step)
    assert poll() == 0
    clock.set(second + in_flight_for)
    assert poll() == 1  # never answered within the visibility timeout: asked again
