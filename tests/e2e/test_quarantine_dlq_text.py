"""`fuelpipe quarantine list` and `fuelpipe dlq list` print reasons and bodies as they are.

Both come from outside: a dead letter's body is whatever was put on the queue (a message
built by hand), its reason quotes the body's bad part (pydantic names an unknown field by its
text), and a quarantine's reason quotes the source's error. Printed into a rich table as
markup, a ``[/x]`` in any of them stopped the command with ``MarkupError`` (exit 2, not one
dead letter or quarantined record shown), and a ``[bold]`` vanished from the text. Real
embedded home (SQLite store and queue), the real scraper and recheck, the real CLI.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

from tests.e2e.conftest import fuelpipe
from tests.stages.conftest import NOW, SP
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.recheck import recheck
from fuelpipe.stages.scrape import handle_message

BODY = '{"[/x]": 1, "note": "[bold]by hand[/bold]"}'
ERROR = "bcb: HTTP 503 server error: [/] Service [bold]Unavailable"
DAY = NOW.date() - timedelta(days=30)


def _env(db: Path) -> dict[str, str]:
    """The CLI on ``db``, at NOW, in a terminal wide enough that no short text wraps."""
    return {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": NOW.isoformat(), "COLUMNS": "400"}


def _fill(db: Path) -> None:
    """One dead letter of BODY (by the scraper), one record quarantined with ERROR (by
    recheck, its retries spent)."""
    app = build_context(
        Settings(db=db), clock=ManualClock(NOW), sources={"bcb": TableSource("bcb", {})}
    )
    try:
        app.queue.send([BODY])
        (message,) = app.queue.receive(1)
        assert handle_message(app, message).dead_lettered == 1
        spent = Record("CURRENCY#USD", DAY, None, Status.PENDING, 5, NOW, ERROR)
        assert app.store.put_pending(spent)
        assert recheck(app).quarantined == 1
    finally:
        app.store.close()
        app.queue.close()


def _listed(tmp_path: Path, *command: str) -> str:
    """What ``fuelpipe *command`` prints on a store filled by :func:`_fill` (it succeeds)."""
    db = tmp_path / "fuelpipe.sqlite"
    _fill(db)
    out = fuelpipe(*command, env=_env(db), check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_dlq_list_prints_a_reason_and_body_holding_brackets_as_they_are(tmp_path):
    listed = _listed(tmp_path, "dlq", "list")

    assert "1 dead letters" in listed
    assert BODY in listed  # [bold] kept, [/x] printed
    assert "; [/x]: Extra" in listed  # the reason naming the field (it wraps after)


def test_quarantine_list_prints_a_reason_holding_brackets_as_it_is(tmp_path):
    listed = _listed(tmp_path, "quarantine", "list")

    assert "1 quarantined" in listed
    # the reason wraps after its error at 150 columns (a pipe's width), beside when and retries
    assert f"{ERROR} (gave up after 5" in listed


def test_quarantine_list_says_when_each_record_was_quarantined(tmp_path):
    """The list showed why and how many retries, not when: a person could not tell a record
    quarantined an hour ago from one a year old (the record carries it, as updated_at)."""
    db = tmp_path / "fuelpipe.sqlite"
    _fill(db)
    at = NOW.astimezone(SP).isoformat(timespec="minutes")  # the store stamps the CLI's clock

    listed = fuelpipe("quarantine", "list", env=_env(db)).stdout
    as_json = json.loads(fuelpipe("quarantine", "list", "--json", env=_env(db)).stdout)

    assert "quarantined at" in listed and at in listed
    assert [r["quarantined_at"] for r in as_json] == [NOW.astimezone(UTC).isoformat()]
    assert [(r["retry_count"], r["status"], r["reason"]) for r in as_json] == [
        (5, "QUARANTINED", f"{ERROR} (gave up after 5 re-downloads)")
    ]
