"""The failpoint spec (FUELPIPE_FAILPOINTS): a hit number, every hit (``*``), one series key."""

from __future__ import annotations

import re
import signal

import pytest

from fuelpipe.failpoints import Failpoints


def _recording(spec: str) -> tuple[Failpoints, list[signal.Signals]]:
    fired: list[signal.Signals] = []
    return Failpoints(spec, kill=fired.append), fired


def test_the_nth_hit_fires_once() -> None:
    points, fired = _recording("scrape.after_fetch:2:SIGINT")
    for _ in range(4):
        points.hit("scrape.after_fetch", ["CURRENCY#USD"])
    assert fired == [signal.SIGINT]


def test_a_key_counts_only_the_hits_of_messages_serving_it_and_star_fires_at_each() -> None:
    """A poison message: every process that handles it is killed, and no other's hit counts."""
    points, fired = _recording("scrape.after_fetch@COMMODITY#BRENT:*")
    points.hit("scrape.after_fetch", ["CURRENCY#USD"])
    points.hit("scrape.after_fetch", ["FUEL#GASOLINE#BR", "FUEL#DIESEL#BR"])
    points.hit("scrape.after_write", ["COMMODITY#BRENT"])  # another point
    assert fired == []
    for _ in range(3):
        points.hit("scrape.after_fetch", ["COMMODITY#BRENT"])
    assert fired == [signal.SIGKILL] * 3


def test_a_key_with_a_hit_number_counts_that_keys_hits() -> None:
    points, fired = _recording("scrape.after_pending@FUEL#DIESEL#BR:2")
    points.hit("scrape.after_pending", ["CURRENCY#USD"])
    points.hit("scrape.after_pending", ["FUEL#GASOLINE#BR", "FUEL#DIESEL#BR"])
    points.hit("scrape.after_pending", ["CURRENCY#USD"])
    assert fired == []
    points.hit("scrape.after_pending", ["FUEL#GASOLINE#BR", "FUEL#DIESEL#BR"])
    assert fired == [signal.SIGKILL]


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("drain.before_delete@CURRENCY#USD:1", "'drain.before_delete' is reached with no series"),
        ("scrape.after_fetch@:1", "no series key after '@'"),
        ("scrape.after_fetch:0", "N must be a whole number from 1, or '*'"),
        ("scrape.after_fetch:two", "N must be a whole number from 1, or '*'"),
        ("scrape.after_fetched:1", "unknown failpoint 'scrape.after_fetched'"),
    ],
)
def test_a_spec_that_could_never_fire_is_refused_saying_why(spec: str, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        Failpoints(spec)
