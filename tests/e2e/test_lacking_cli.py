"""`fuelpipe quarantine list` lists the dates stored OK whose lacking figures did not come after
their five re-downloads (the value still stored), and `quarantine release KEY DATE` gives such
a date a fresh budget."""

from __future__ import annotations

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
