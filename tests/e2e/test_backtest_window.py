"""`outlook backtest` with a --from/--to window no forecast week of the history falls in: its
rows say n 0 and every figure empty, and a `note:` on stderr names the series, the window and
the history's span (it printed the empty rows alone, as if the model had been scored). Real
bundled history (datasets/)."""

from __future__ import annotations

import json

import pytest

from .conftest import fuelpipe

pytest.importorskip("numpy", reason="the outlook needs the dashboard extra (numpy)")


@pytest.mark.parametrize(
    ("window", "words"),
    [
        (["--from", "2027-01-01"], "from 2027-01-01"),  # after the history's last week
        (["--from", "2013-01-01", "--to", "2013-03-01"], "from 2013-01-01 to 2013-03-01"),
    ],
    ids=["after the history", "before the model can be trained"],
)
def test_a_window_with_no_scored_week_says_so_on_stderr(window: list[str], words: str) -> None:
    done = fuelpipe("outlook", "backtest", "--fuel", "LPG", *window, "--json", env={})
    rows = json.loads(done.stdout)  # stdout stays the JSON array
    assert [(r["horizon"], r["n"]) for r in rows] == [(h, 0) for h in (1, 2, 3, 4, 5)]
    said = " ".join(done.stderr.split())
    assert said == (
        f"note: FUEL#LPG#BR: no forecast week scored {words}: its history runs 2012-12-30 to "
        "2026-03-08, and the model trains on its first weeks before its first forecast "
        "(without --from and --to: every week it can score)"
    )
    table = fuelpipe("outlook", "backtest", "--fuel", "LPG", *window, env={"COLUMNS": "200"})
    assert " ".join(table.stderr.split()) == said  # the table form says it too


def test_a_window_with_scored_weeks_has_no_note() -> None:
    done = fuelpipe(
        "outlook", "backtest", "--fuel", "LPG", "--from", "2025-06-01", "--json", env={}
    )
    assert all(r["n"] > 0 for r in json.loads(done.stdout))
    assert "note:" not in done.stderr


def test_the_table_and_the_help_say_which_history_is_scored() -> None:
    """The CLI scores datasets/'s history, the dashboard's Outlook accuracy the store's last
    three years: the same area and horizon gave other MAEs, which docs/OUTLOOK.md explained
    but neither the table nor --help said."""
    table = fuelpipe(
        "outlook", "backtest", "--fuel", "LPG", "--from", "2025-06-01", env={"COLUMNS": "200"}
    )
    said = " ".join(table.stdout.split())
    assert "scored on the history in " in said and "datasets" in said
    assert "the dashboard's Outlook accuracy scores the store's last three years" in said
    helped = " ".join(
        fuelpipe("outlook", "backtest", "--help", env={"COLUMNS": "200"}).stdout.split()
    )
    assert "not the store's: the dashboard's Outlook accuracy scores the store's last" in helped
