"""`fuelpipe quarantine release` moves the data version (the health view counts quarantined
records, and the stored views are keyed by the version); a release that finds nothing to
release leaves it alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.e2e.conftest import fuelpipe

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.demo import DEMO_CLOCK
from fuelpipe.domain.models import Record, Status
from fuelpipe.stages.data_version import INITIAL, data_version

KEY, DAY = "CURRENCY#USD", date(2022, 1, 3)


def test_a_release_moves_the_data_version_and_a_refused_one_does_not(tmp_path) -> None:
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        stuck = Record(KEY, DAY, None, Status.QUARANTINED, retry_count=5, reason="test")
        assert store.put_pending(stuck.with_(updated_at=datetime(2022, 1, 4, tzinfo=UTC)))
        assert data_version(store) == INITIAL
    env = {"FUELPIPE_DB": str(db)}

    fuelpipe("--now", "2022-02-01T12:00", "quarantine", "release", KEY, DAY.isoformat(), env=env)
    with SqliteStore(db) as store:
        released = data_version(store)
        (record,) = store.query(KEY, DAY, DAY)
    assert record.status is Status.PENDING
    assert released != INITIAL

    again = fuelpipe(
        "--now", "2022-02-01T12:00", "quarantine", "release", KEY, DAY.isoformat(),
        env=env, check=False,
    )  # fmt: skip
    assert again.returncode == 1
    with SqliteStore(db) as store:
        assert data_version(store) == released


def test_on_a_demo_store_the_store_stamps_the_demo_clock_the_stages_see(tmp_path) -> None:
    """Only the stages' clock was swapped for the demo's: the store stamped updated_at with
    this machine's date, so a released (or revised) record looked stored years after the demo
    clock the panel counts freshness at."""
    db = tmp_path / "demo.sqlite"
    with SqliteStore(db) as store:
        stuck = Record(KEY, DAY, None, Status.QUARANTINED, retry_count=5, reason="test")
        assert store.put_pending(stuck.with_(updated_at=datetime(2022, 1, 4, tzinfo=UTC)))
        store.put_meta(DEMO_CLOCK, "2022-05-07T23:59:00-03:00")
    out = fuelpipe("quarantine", "release", KEY, DAY.isoformat(), env={"FUELPIPE_DB": str(db)})
    assert "using its clock 2022-05-07T23:59:00-03:00" in out.stderr
    with SqliteStore(db) as store:
        (record,) = store.query(KEY, DAY, DAY)
    assert record.status is Status.PENDING
    assert record.updated_at == datetime(2022, 5, 8, 2, 59, tzinfo=UTC)
