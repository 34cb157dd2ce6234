"""The line `run` (and `revise`) ends with when a source could not be used: a source whose
last answer was a 429 or a 503 said something about its own load, so the line says it asked
us to slow down or is unavailable, and when to try again; only a source that could not be
reached is left to the network and its URL setting. Before, every one was told "check the
network", a 429 with a ten-minute Retry-After too (tests/e2e/test_run_retry_after.py runs
the 429s through the CLI; the replay server draws its 5xx among 500, 502, 503 and 504, so a
503 alone is checked here)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import typer

from fuelpipe.cli.main import EXIT_INCOMPLETE, EXIT_UNREACHABLE, refuse_unreachable
from fuelpipe.ports.source import SourceStats

SP = ZoneInfo("America/Sao_Paulo")
THEN = "the dates stay PENDING and are retried later"


def _line(capsys: pytest.CaptureFixture[str], **stats: SourceStats) -> str:
    rests = {"yahoo": datetime(2022, 5, 6, 14, 10, tzinfo=SP)}
    with pytest.raises(typer.Exit) as exited:
        refuse_unreachable(stats, THEN, rests=rests, retry_at=datetime(2022, 5, 6, 15, tzinfo=SP))
    assert exited.value.exit_code == EXIT_UNREACHABLE
    return " ".join(capsys.readouterr().err.split())


def test_a_503_says_the_source_is_unavailable_and_when_to_try_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = _line(capsys, bcb=SourceStats(4, 4, "HTTP 503"), yahoo=SourceStats(1, 1, "HTTP 503"))
    assert line == (
        f"error: could not use bcb, yahoo: every request failed (bcb: HTTP 503; yahoo: HTTP "
        f"503); {THEN} (bcb is unavailable: try again after "
        "2022-05-06T15:00:00-03:00, when its dates are first retried; yahoo is unavailable: "
        "its Retry-After says try again after 2022-05-06T14:10:00-03:00)"
    )


def test_only_the_sources_not_reached_are_left_to_the_network(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = _line(
        capsys, bcb=SourceStats(4, 4, "connection refused"), fred=SourceStats(1, 1, "HTTP 429")
    )
    assert line.endswith(
        "(fred asked us to slow down: try again after "
        "2022-05-06T15:00:00-03:00, when its dates are first retried; check the network and "
        "FUELPIPE_SOURCE_BCB_URL)"
    ), line


REST_END = datetime(2022, 5, 6, 14, 10, tzinfo=SP)


def test_a_source_that_only_asked_us_to_wait_is_a_warning_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every source not used rests past the run's end on its own Retry-After (a 429's, a
    503's): nothing failed, the run could not do all it was asked (their dates stay PENDING,
    due when the rest ends), so a `warning:` line and exit 1. Before, exit 3 and an `error:`
    line saying every request failed, as for a source that could not be reached."""
    with pytest.raises(typer.Exit) as exited:
        refuse_unreachable(
            {"bcb": SourceStats(1, 1, "HTTP 429"), "yahoo": SourceStats(1, 1, "HTTP 503")},
            THEN,
            rests={"bcb": REST_END, "yahoo": REST_END},
        )
    assert exited.value.exit_code == EXIT_INCOMPLETE
    assert " ".join(capsys.readouterr().err.split()) == (
        f"warning: could not use bcb, yahoo in this run: each asked us to wait (bcb: HTTP 429; "
        f"yahoo: HTTP 503); {THEN} (bcb asked us to slow down: its Retry-After says try again "
        "after 2022-05-06T14:10:00-03:00; yahoo is unavailable: its Retry-After says try again "
        "after 2022-05-06T14:10:00-03:00)"
    )


@pytest.mark.parametrize(
    ("other", "rests"),
    [
        (SourceStats(4, 4, "connection refused"), {"bcb": REST_END}),
        (SourceStats(1, 1, "HTTP 429"), {"bcb": REST_END}),  # no rest: its dates an hour on
        (SourceStats(1, 1, "connection refused"), {"bcb": REST_END, "fred": REST_END}),
    ],
)
def test_a_source_that_failed_beside_one_that_rests_is_still_exit_3(
    capsys: pytest.CaptureFixture[str], other: SourceStats, rests: dict[str, datetime]
) -> None:
    """A source not used that does not rest on its Retry-After (unreached; a 429 whose rest is
    over, or had none; one resting whose last request could not connect) failed: exit 3."""
    with pytest.raises(typer.Exit) as exited:
        refuse_unreachable({"bcb": SourceStats(1, 1, "HTTP 429"), "fred": other}, THEN, rests=rests)
    assert exited.value.exit_code == EXIT_UNREACHABLE
    assert capsys.readouterr().err.startswith("error: could not use bcb, fred: every request")
