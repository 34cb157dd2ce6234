"""`fuelpipe dlq list` says, per dead letter, whether every date it asked for is settled now.

Before, a dead letter whose dates a later poll, the recheck or a release had all stored was
listed like any other until the dead-letter alert rule's next run removed it: a person reading
the list could not tell it from one still missing a date, and purged by hand what needed
nothing, or checked each date. Real embedded home (SQLite store and queue), the real CLI.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.domain.models import Record, Status
from fuelpipe.ports.queue import DeadLetter
from fuelpipe.stages.dead_letter_settled import SettleCheck

NOW = datetime(2022, 5, 4, 16, 30, tzinfo=UTC)
USD, EUR = "CURRENCY#USD", "CURRENCY#EUR"
D1, D2, D3 = date(2022, 5, 2), date(2022, 5, 3), date(2022, 5, 4)
REASON = "received 5 times without being processed; the last time: SourceError: HTTP 503"
MALFORMED = '{"not": "a download request"}'


def _request(key: str, *days: date, origin: str = "gap") -> str:
    return DownloadRequest(
        partition_key=key, dates_to_download=list(days),
        fetch_unit=DEFAULT_CATALOG[key].fetch_unit, origin=origin,  # type: ignore[arg-type]
    ).to_body()  # fmt: skip


SETTLED = _request(USD, D1, D2, D3)
WAITING = _request(EUR, D1, D2)
REVISE = _request(USD, D1, origin="revise")


def _fill(db: Path, usd_third: bool = True) -> None:
    """USD's three dates stored (two OK, one ABSENT; not the third if not ``usd_third``), EUR's
    first alone; four dead letters: USD's (settled), EUR's (waits on its second date), a
    revise of USD, a malformed one."""
    clock = ManualClock(NOW)
    records = [
        Record(USD, D1, Decimal("5.1"), Status.OK, updated_at=NOW),
        Record(USD, D2, Decimal("5.2"), Status.OK, updated_at=NOW),
        Record(EUR, D1, Decimal("5.4"), Status.OK, updated_at=NOW),
    ]
    with SqliteStore(db, clock) as store:
        store.put_records(records)
        if usd_third:
            absent = Record(USD, D3, None, Status.ABSENT, reason="no value", updated_at=NOW)
            assert store.put_pending(absent)
    queue = SqliteQueue(db.with_name(db.stem + "-queue.sqlite"), clock, timedelta(seconds=30))
    try:
        for body in (SETTLED, WAITING, REVISE, MALFORMED):
            queue.send([body])
            (message,) = queue.receive(1)
            queue.dead_letter(message, REASON)
    finally:
        queue.close()


def _env(db: Path) -> dict[str, str]:
    return {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": NOW.isoformat(), "COLUMNS": "400"}


def test_dlq_list_says_which_dead_letters_are_settled_and_what_the_others_wait_on(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    _fill(db)

    listed = fuelpipe("dlq", "list", "--json", env=_env(db))
    by_body = {d["body"]: d for d in json.loads(listed.stdout)}
    out = fuelpipe("dlq", "list", env=_env(db))
    lines = out.stdout.splitlines()

    def row(body: str) -> str:  # the first line of its row (the id is cut to 12 characters)
        (found,) = [line for line in lines if f"│ {by_body[body]['id'][:12]} │" in line]
        return found

    assert "│ yes (2 OK, 1 ABSENT) " in row(SETTLED)
    assert f"│ waits on {EUR} 2022-05-03 " in row(WAITING)
    assert "│ never (a revise) " in row(REVISE)
    assert "│ never (malformed) " in row(MALFORMED)
    hint = " ".join(out.stderr.split())
    assert hint.startswith("note: 1 settled dead letter(s): the dead-letter alert rule removes")
    assert "(`fuelpipe watch`; on AWS within the hour)" in hint
    assert "`fuelpipe dlq purge --settled` removes them now" in hint

    assert by_body[SETTLED]["settled"] is True
    assert by_body[SETTLED]["settled_statuses"] == {"OK": 2, "ABSENT": 1}
    assert by_body[SETTLED]["waits_on"] is None
    assert by_body[WAITING]["settled"] is False
    assert by_body[WAITING]["waits_on"] == f"{EUR} 2022-05-03"
    assert by_body[WAITING]["not_checked"] is None
    assert (by_body[REVISE]["settled"], by_body[REVISE]["not_checked"]) == (False, "revise")
    assert (by_body[MALFORMED]["settled"], by_body[MALFORMED]["not_checked"]) == (
        False,
        "malformed",
    )
    assert all(d["reason"] == REASON for d in by_body.values())  # nothing renamed
    assert "1 settled dead letter(s)" in listed.stderr  # stdout stays JSON


def test_dlq_list_with_no_settled_dead_letter_prints_no_hint(tmp_path: Path) -> None:
    db = tmp_path / "fuelpipe.sqlite"
    _fill(db, usd_third=False)
    out = fuelpipe("dlq", "list", "--json", env=_env(db))
    assert out.stderr == ""
    by_body = {d["body"]: d for d in json.loads(out.stdout)}
    assert by_body[SETTLED]["waits_on"] == f"{USD} 2022-05-04"


def test_a_dead_letter_naming_a_key_the_catalog_dropped_is_listed_as_settled_with_the_key(
    tmp_path: Path,
) -> None:
    """An older release's message about a series this catalog no longer has: no record of it
    will be stored and a redrive would be dead-lettered again. Before, `dlq list` said it
    waited on that key's first date, for good; now it is settled, naming the key, and
    `dlq purge --settled` removes it."""
    db = tmp_path / "fuelpipe.sqlite"
    gone = "CURRENCY#XYZ"
    assert gone not in DEFAULT_CATALOG
    body = DownloadRequest(
        partition_key=gone, dates_to_download=[D1], fetch_unit="bcb:XYZ", origin="gap"
    ).to_body()
    queue = SqliteQueue(
        db.with_name(db.stem + "-queue.sqlite"), ManualClock(NOW), timedelta(seconds=30)
    )
    try:
        queue.send([body])
        (message,) = queue.receive(1)
        queue.dead_letter(message, f"malformed message: {gone!r} is not in the series catalog")
    finally:
        queue.close()
    SqliteStore(db, ManualClock(NOW)).close()

    (listed,) = json.loads(fuelpipe("dlq", "list", "--json", env=_env(db)).stdout)
    assert (listed["settled"], listed["dropped_keys"]) == (True, [gone])
    assert listed["settled_statuses"] == {} and listed["waits_on"] is None
    out = fuelpipe("dlq", "list", env=_env(db))
    (row,) = [line for line in out.stdout.splitlines() if f"│ {listed['id'][:12]} │" in line]
    assert "│ yes (1 key no longer in the " in row  # the cell wraps in its column
    purged = fuelpipe("dlq", "purge", "--settled", "--yes", env=_env(db))
    assert f"removing dead letter {listed['id']}" in " ".join(purged.stderr.split())
    assert json.loads(fuelpipe("dlq", "list", "--json", env=_env(db)).stdout) == []


def test_a_dead_letter_past_the_reads_a_list_spends_is_not_checked(tmp_path: Path) -> None:
    """The list spends the rule's budget of store reads: one it does not reach is shown as not
    checked (settled: null), never as settled or waiting."""
    from fuelpipe.cli.main import _settle_state

    db = tmp_path / "fuelpipe.sqlite"
    _fill(db)
    letter = DeadLetter("m1", SETTLED, REASON, 5, NOW)
    with SqliteStore(db, ManualClock(NOW)) as store:
        assert _settle_state(SettleCheck(store, DEFAULT_CATALOG, 1, now=NOW), letter)[0] is True
        done, cell, fields = _settle_state(SettleCheck(store, DEFAULT_CATALOG, 0, now=NOW), letter)
    assert (done, fields["settled"], fields["not_checked"]) == (False, None, "reads")
    assert cell == "not checked (past 2,000 reads)"


def test_dlq_purge_settled_deletes_exactly_the_settled_ones_each_logged_whole(
    tmp_path: Path,
) -> None:
    """`dlq purge --settled` asks as `dlq purge` does (no terminal, no --yes: refused, nothing
    changed), then logs the settled dead letter whole and deletes it alone: the three not
    settled stay, and are not taken for ones dead-lettered after the read."""
    db = tmp_path / "fuelpipe.sqlite"
    _fill(db)
    env = _env(db)
    before = {
        d["id"]: d["body"] for d in json.loads(fuelpipe("dlq", "list", "--json", env=env).stdout)
    }
    (gone,) = [i for i, body in before.items() if body == SETTLED]

    refused = fuelpipe("dlq", "purge", "--settled", env=env, check=False)  # stdin: no terminal
    assert refused.returncode == 2
    assert "1 settled dead letter(s) would be deleted for good; add --yes" in refused.stderr
    assert len(json.loads(fuelpipe("dlq", "list", "--json", env=env).stdout)) == 4

    done = fuelpipe("dlq", "purge", "--settled", "--yes", env=env)
    assert "purged 1 settled dead letter(s)" in done.stdout
    logged = " ".join(done.stderr.split())
    assert f"removing dead letter {gone} (1 copy/copies)" in logged
    assert "(2 OK, 1 ABSENT)" in logged and REASON in logged and SETTLED in logged
    assert "3 dead letter(s) not settled are kept" in logged
    assert "more arrived after" not in logged
    after = {
        d["id"]: d["body"] for d in json.loads(fuelpipe("dlq", "list", "--json", env=env).stdout)
    }
    assert after == {i: body for i, body in before.items() if i != gone}

    again = fuelpipe("dlq", "purge", "--settled", "--yes", env=env)
    assert "no settled dead letters: nothing to purge" in again.stdout
    assert len(json.loads(fuelpipe("dlq", "list", "--json", env=env).stdout)) == 3


def test_a_date_more_than_a_year_ahead_is_listed_as_settled_unread(tmp_path: Path) -> None:
    """`dlq list` checks a dead letter as the rule does: a date more than a year after the
    clock's São Paulo day, which the scraper never fetches, is settled unread and counted in
    its own field (`ahead`); the same letter checked a year later waits on that date."""
    from fuelpipe.cli.main import _settle_state

    db = tmp_path / "fuelpipe.sqlite"
    _fill(db)
    far = D1 + timedelta(days=400)
    letter = DeadLetter("m1", _request(USD, D1, far), REASON, 5, NOW)
    with SqliteStore(db, ManualClock(NOW)) as store:
        done, cell, fields = _settle_state(SettleCheck(store, DEFAULT_CATALOG, now=NOW), letter)
        assert (done, fields["settled"], fields["ahead"]) == (True, True, 1)
        assert fields["settled_statuses"] == {"OK": 1} and fields["before_start"] is None
        assert cell == "yes (1 OK, 1 date more than a year ahead)"
        later = NOW + timedelta(days=100)
        done, cell, fields = _settle_state(SettleCheck(store, DEFAULT_CATALOG, now=later), letter)
    assert (done, fields["ahead"], fields["waits_on"]) == (False, None, f"{USD} {far}")
