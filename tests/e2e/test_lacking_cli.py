"""`fuelpipe quarantine list` lists the dates stored OK whose lacking figures did not come after
their five re-downloads (the value still stored), and `quarantine release KEY DATE` gives such
a date a fresh budget."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.lacking import Lacking, lacking_name, note_text, parse_note
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import data_version

KEY, DAY = "STOCK#PETR4", date(2021, 5, 20)
SPENT = Lacking("volume", 5, datetime(2021, 5, 27, 3, tzinfo=UTC), given_up=True)
NOW = "2021-06-01T12:00"


def test_a_date_given_up_is_listed_and_a_release_gives_it_a_fresh_budget(tmp_path) -> None:
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        attrs = {"close": Decimal("25.93"), "volume": None, "lacking": "volume"}
        store.put_records([Record(KEY, DAY, Decimal("25.93"), Status.OK, attrs=attrs)])
        store.put_meta(lacking_name(KEY), note_text({DAY: SPENT}))
        before = data_version(store)
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}

    listed = fuelpipe("--now", NOW, "quarantine", "list", env=env).stdout
    assert "nothing is quarantined" in listed  # no record is QUARANTINED
    assert "1 date(s) stored OK, lacking figures: re-downloads spent" in listed
    [row] = [line for line in listed.splitlines() if KEY in line]
    assert "2021-05-20" in row and "OK, lacking volume after 5 re-downloads" in row

    done = fuelpipe("--now", NOW, "quarantine", "release", KEY, DAY.isoformat(), env=env)
    assert "released STOCK#PETR4 2021-05-20" in done.stdout
    with SqliteStore(db) as store:
        [note] = parse_note(store.get_meta(lacking_name(KEY))).values()
        assert (note.attempts, note.given_up) == (0, False)
        assert data_version(store) != before  # the health view's count moved
        [record] = store.query(KEY, DAY, DAY)
        assert (record.status, record.value) == (Status.OK, Decimal("25.93"))
    again = fuelpipe("--now", NOW, "quarantine", "list", env=env).stdout
    assert "lacking" not in again


def test_json_lists_the_dates_given_up_after_the_quarantined_records(tmp_path) -> None:
    """`--json`: each quarantined record as before, then each date given up lacking figures
    (status OK, ``lacking`` naming them); alone, they are the array."""
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        attrs = {"close": Decimal("25.93"), "volume": None, "lacking": "volume"}
        store.put_records([Record(KEY, DAY, Decimal("25.93"), Status.OK, attrs=attrs)])
        store.put_meta(lacking_name(KEY), note_text({DAY: SPENT}))
    env = {"FUELPIPE_DB": str(db)}
    given_up = {
        "key": KEY,
        "date": "2021-05-20",
        "status": "OK",
        "retry_count": 5,
        "reason": "OK, lacking volume after 5 re-downloads",
        "lacking": "volume",
    }

    alone = fuelpipe("--now", NOW, "quarantine", "list", "--json", env=env)
    assert json.loads(alone.stdout) == [given_up]
    assert "nothing is quarantined" in alone.stderr
    assert json.loads(fuelpipe("--now", NOW, "quarantine", "list", "--json", "--to",
                               "2021-05-19", env=env).stdout) == []  # fmt: skip

    stuck = date(2021, 5, 21)
    with SqliteStore(db) as store:
        assert store.put_pending(Record(KEY, stuck, None, Status.PENDING))
        assert store.quarantine(KEY, stuck, 0, "HTTP 503 (gave up after 5 re-downloads)")
    [quarantined, listed] = json.loads(
        fuelpipe("--now", NOW, "quarantine", "list", "--json", env=env).stdout
    )
    assert listed == given_up
    assert set(quarantined) == {
        "key", "date", "value", "status", "retry_count", "reason", "quarantined_at",
        "released_before",
    }  # fmt: skip
    assert (quarantined["date"], quarantined["status"]) == ("2021-05-21", "QUARANTINED")
    summed = fuelpipe("--now", NOW, "quarantine", "list", "--summary", "--json", env=env)
    assert [s["key"] for s in json.loads(summed.stdout)] == [KEY]  # quarantined ones only
    table = fuelpipe("--now", NOW, "quarantine", "list", "--summary", env=env).stdout
    assert "OK, lacking volume after 5 re-downloads" in table  # below the summary, as below a list
