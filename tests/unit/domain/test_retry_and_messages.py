import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest, MalformedMessage
from fuelpipe.domain.planning import plan_requests
from fuelpipe.domain.retry import Decision, RetryPolicy

T0 = datetime(2022, 5, 7, 12, tzinfo=UTC)


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(
        max_retries=5, base_delay=timedelta(hours=1), max_delay=timedelta(hours=10)
    )
    assert [policy.delay(n) for n in range(5)] == [timedelta(hours=h) for h in (1, 2, 4, 8, 10)]


def test_a_date_is_retried_max_retries_times_then_quarantined():
    policy = RetryPolicy(max_retries=5)
    now, count, due = T0, 0, policy.first_attempt_due(T0)
    delays = []
    while True:
        assert policy.decide(count, due, due - timedelta(seconds=1), T0) is Decision.WAIT
        now = due
        decision = policy.decide(count, due, now, T0)
        if decision is Decision.QUARANTINE:
            break
        assert decision is Decision.RETRY
        count, due = policy.after_retry(count, now)
        delays.append(due - now)
    assert count == 5
    assert delays == sorted(delays) and len(set(delays)) == 5


def test_limits_are_settings():
    assert RetryPolicy(max_retries=2).decide(2, None, T0, T0) is Decision.QUARANTINE
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_a_next_attempt_only_a_clock_ahead_sets_is_due_now():
    """A recheck with its clock a year ahead (``--simulate-future``) claimed a retry: its next
    attempt is a year off, and real-clock rechecks waited for it, neither retrying nor
    quarantining. Now it is due; the longest wait the policy sets, and a date ahead waiting
    for its own publication window, still wait."""
    policy = RetryPolicy()
    assert policy.longest_delay == policy.delay(policy.max_retries) == timedelta(hours=32)
    _, from_ahead = policy.after_retry(0, T0 + timedelta(days=365))
    assert policy.set_ahead(from_ahead, T0, T0)
    assert policy.decide(1, from_ahead, T0, T0) is Decision.RETRY
    assert policy.decide(policy.max_retries, from_ahead, T0, T0) is Decision.QUARANTINE
    longest = T0 + policy.longest_delay
    assert policy.decide(4, longest, T0, T0) is Decision.WAIT
    assert policy.decide(4, longest + timedelta(microseconds=1), T0, T0) is Decision.RETRY
    window = T0 + timedelta(days=60)  # a date ahead: late only from then
    assert policy.decide(0, window, T0, window) is Decision.WAIT
    assert policy.decide(0, window + timedelta(seconds=1), T0, window) is Decision.RETRY
    assert not policy.set_ahead(None, T0, T0)


def _msg(**kw):
    body = {
        "schema_version": 1,
        "partition_key": "CURRENCY#USD",
        "dates_to_download": ["2022-01-04", "2022-01-03"],
        "fetch_unit": "bcb:USD",
    }
    body.update(kw)
    return json.dumps(body)


def test_message_round_trip_sorts_dates():
    req = DownloadRequest.from_body(_msg())
    assert req.dates_to_download == [date(2022, 1, 3), date(2022, 1, 4)]
    assert DownloadRequest.from_body(req.to_body()) == req


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("not json", "body"),
        (_msg(schema_version=2), "schema_version"),
        (_msg(partition_key="USD"), "partition_key"),
        (_msg(dates_to_download=[]), "dates_to_download"),
        (_msg(dates_to_download=["2022-13-01"]), "dates_to_download"),
        # pydantic's strict JSON mode read "0" as 1970-01-01 (a Unix timestamp): only ISO
        # YYYY-MM-DD text is a message's date (tests/reliability/test_fuzz.py found it)
        (_msg(dates_to_download=["0"]), "'0' is not an ISO date"),
        (_msg(dates_to_download=[0]), "0 is not an ISO date"),
        (_msg(dates_to_download=["20220103"]), "not an ISO date"),
        (_msg(dates_to_download=["2022-01-03T00:00:00"]), "not an ISO date"),
        (_msg(dates_to_download=["２０２２-01-03"]), "not an ISO date"),
        (_msg(surprise=1), "surprise"),
        (_msg(also_keys=["CURRENCY#USD"]), "repeats"),
    ],
)
def test_malformed_messages_say_what_is_wrong(body, needle):
    with pytest.raises(MalformedMessage, match=needle):
        DownloadRequest.from_body(body)


@given(st.text(max_size=300))
def test_any_text_either_parses_or_raises_malformed(text):
    try:
        DownloadRequest.from_body(text)
    except MalformedMessage as exc:
        assert str(exc).startswith("malformed message")


def test_planning_groups_anp_keys_into_one_download_per_workbook():
    keys = [s for s in DEFAULT_CATALOG if s.fetch_unit == "anp:weekly:estados"]
    weeks = [date(2021, 5, 23), date(2021, 6, 6), date(2022, 1, 2)]
    reqs = plan_requests([(s, weeks) for s in keys])
    assert len(reqs) == 1
    assert set(reqs[0].keys) == {s.key for s in keys}
    assert reqs[0].dates_to_download == weeks


def test_planning_splits_ptax_streams_at_holes_and_range():
    usd = DEFAULT_CATALOG["CURRENCY#USD"]
    dates = [date(2022, 1, 3), date(2022, 1, 4), date(2022, 1, 6)]  # the 5th is present
    reqs = plan_requests([(usd, dates)])
    assert [r.dates_to_download for r in reqs] == [dates[:2], dates[2:]]


@pytest.mark.parametrize(
    ("policy", "retry_count"),
    [
        (RetryPolicy(max_retries=50), 34),  # 3600 s · 2^34 is past what a timedelta holds
        (RetryPolicy(max_retries=50), 49),
        (RetryPolicy(factor=1000.0), 4),
        (RetryPolicy(max_retries=50, factor=1e6), 49),  # the float itself overflows
    ],
)
def test_a_long_backoff_is_capped_not_an_overflow(policy: RetryPolicy, retry_count: int) -> None:
    """``timedelta(seconds=base · factor^n)`` was built before the cap: with the retries the
    settings allow, recheck raised OverflowError at that record on every run."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert policy.delay(retry_count) == policy.max_delay
    assert policy.after_retry(retry_count, now) == (retry_count + 1, now + policy.max_delay)
