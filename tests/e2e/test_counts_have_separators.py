"""Counts a person reads have their thousands separator, as `export`'s "wrote 1,234 records"
and `run`'s cycle summary do: `revise`'s summary line said "1084 value(s) revised", and
`quarantine list` titled its table "1234 quarantined". ``--json`` keeps plain numbers. Each
check is the real CLI in a subprocess."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.models import Record, Status
from fuelpipe.replay.revisions import parse_split
from fuelpipe.replay.server import ReplayServer

NOW = "2025-09-30T10:00"
"""After PETR4's last bundled close (2025-09-29): its whole real history, 2021-05-19 on."""


def test_a_revise_past_a_thousand_values_says_them_with_separators(tmp_path: Path) -> None:
    """PETR4's real closes from the replay, then a revise with a (synthetic) 2:1 split in its
    window: the whole history is re-read and every earlier close halved, over a thousand."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    petr4 = ("--series", "STOCK#PETR4")
    with ReplayServer(quiet=True) as replay:
        fuelpipe("--now", NOW, "run", *petr4, env={**env, **replay.env()})
    splits = dict([parse_split("STOCK#PETR4@2025-09-22=2:1")])
    with ReplayServer(quiet=True, splits=splits) as replay:
        out = fuelpipe("--now", NOW, "revise", *petr4, env={**env, **replay.env()}).stdout
    [line] = [line for line in out.splitlines() if "value(s) revised" in line]
    revised = int(line.split(": ")[1].split(" value(s)")[0].replace(",", ""))
    assert revised > 1000, line
    assert f": {revised:,} value(s) revised, " in line, line
    counts = json.loads(fuelpipe("--now", NOW, "status", "--json", *petr4, env=env).stdout)
    assert counts[0]["revised"] == revised  # --json: the plain number


def test_a_quarantine_list_past_a_thousand_titles_it_with_separators(tmp_path: Path) -> None:
    """Synthetic: 1,234 quarantined dates of USD, an edge case for the count's form alone."""
    db = tmp_path / "q.sqlite"
    start = date(2020, 1, 1)
    with SqliteStore(db) as s:
        days = [start + timedelta(i) for i in range(1234)]
        s.put_pendings([Record("CURRENCY#USD", d, None, Status.PENDING, 5) for d in days])
        for d in days:
            assert s.quarantine("CURRENCY#USD", d, 5, "bcb: HTTP 503")
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}
    out = fuelpipe("quarantine", "list", env=env).stdout
    assert "1,234 quarantined" in out.splitlines()[0], out[:300]
    listed = json.loads(fuelpipe("quarantine", "list", "--json", env=env).stdout)
    assert len(listed) == 1234


def test_a_quarantine_lists_retries_column_has_separators(tmp_path: Path) -> None:
    """Synthetic: a date quarantined after 1,234 retries (an edge case for the column's form
    alone): the table's retries cell says "1,234", as its title counts; --json and the CSV of
    `export` keep the plain number."""
    db = tmp_path / "q.sqlite"
    day = date(2022, 5, 4)
    with SqliteStore(db) as s:
        s.put_pendings([Record("CURRENCY#USD", day, None, Status.PENDING, 1234)])
        assert s.quarantine("CURRENCY#USD", day, 1234, "bcb: HTTP 503")
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}
    out = fuelpipe("quarantine", "list", env=env).stdout
    [row] = [line for line in out.splitlines() if "CURRENCY#USD" in line]
    assert " 1,234 " in row and "1234" not in row, row
    [listed] = json.loads(fuelpipe("quarantine", "list", "--json", env=env).stdout)
    assert listed["retry_count"] == 1234


def test_a_dlq_lists_receives_column_has_separators(tmp_path: Path) -> None:
    """A message received 1,000 times (SQS's largest maxReceiveCount, FUELPIPE_MAX_RECEIVES
    here) and then dead-lettered: `dlq list`'s receives cell says "1,000"; --json keeps 1000."""
    from fuelpipe.adapters.clock import ManualClock
    from fuelpipe.homes.embedded import build_context
    from fuelpipe.homes.settings import Settings

    db = tmp_path / "d.sqlite"
    app = build_context(
        Settings(db=db, max_receives=1000),
        clock=ManualClock(datetime(2022, 5, 4, 12, 0, tzinfo=UTC)),
    )
    try:
        app.queue.send(['{"key": "CURRENCY#USD"}'])
        for _ in range(1000):
            (message,) = app.queue.receive(1)
            app.queue.release([message.receipt])
        assert app.queue.receive(1) == []  # the 1,001st receive dead-letters it
    finally:
        app.store.close()
        app.queue.close()
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}
    out = fuelpipe("dlq", "list", env=env).stdout
    [row] = [line for line in out.splitlines() if "CURRENCY#USD" in line]
    assert " 1,000 " in row, out
    [letter] = json.loads(fuelpipe("dlq", "list", "--json", env=env).stdout)
    assert letter["receive_count"] == 1000, letter
