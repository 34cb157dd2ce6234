"""`fuelpipe quarantine release` moves the data version (the health view counts quarantined
records, and the stored views are keyed by the version); a release that finds nothing to
release leaves it alone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from devtools.aws.servers import LocalServer
from tests.e2e.conftest import fuelpipe
from tests.support.aws_backends import aws_cli_env, unique_name

from fuelpipe.adapters.dynamodb_store import DynamoDbStore
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.demo import DEMO_CLOCK
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import create_resources
from fuelpipe.homes.settings import Settings
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
    assert again.stderr.splitlines()[-1] == (
        f"error: {KEY} {DAY} is not quarantined: it is PENDING, its retries not spent: "
        "`fuelpipe run` retries it when due"
    )
    with SqliteStore(db) as store:
        assert data_version(store) == released


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (None, "the store has no record of that date (`fuelpipe quarantine list` lists those"),
        (Status.OK, "its value is stored (OK)"),
        (Status.ABSENT, "it is ABSENT: the source answered that it has no value for that date"),
    ],
)
def test_a_release_of_a_record_not_quarantined_says_what_it_is(
    tmp_path, status: Status | None, why: str
) -> None:
    """It said only "is not quarantined", leaving what the record is to guess (a typo in the
    date, a value stored since, a date the source has nothing for). Synthetic records."""
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        other = date(2022, 1, 4)  # so the store is not empty when DAY has no record
        store.put_records([Record(KEY, other, Decimal("5.5"), Status.OK)])
        if status is Status.OK:
            store.put_records([Record(KEY, DAY, Decimal("5.6"), Status.OK)])
        elif status is Status.ABSENT:
            store.put_pending(Record(KEY, DAY, None, Status.ABSENT, reason="no value"))
    refused = fuelpipe(
        "--now", "2022-02-01T12:00", "quarantine", "release", KEY, DAY.isoformat(),
        env={"FUELPIPE_DB": str(db)}, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].startswith(
        f"error: {KEY} {DAY} is not quarantined: {why}"
    ), refused.stderr


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


def test_an_aws_table_the_demo_filled_runs_on_its_clock(
    dynalite_server: LocalServer, moto_server: LocalServer
) -> None:
    """The CLI's AWS home takes a table's demo clock the same way as the embedded one (the
    home reads it once, tests/aws/test_aws_home_stamps_business_time.py): said on stderr,
    and the release is stamped at it."""
    name = unique_name("release")
    cfg = Settings(backend="aws", table_name=name, queue_name=name, dlq_name=name + "-dlq")
    dynamodb, sqs = dynalite_server.client("dynamodb"), moto_server.client("sqs")
    create_resources(cfg, dynamodb_client=dynamodb, sqs_client=sqs, poll_s=0.05)
    store = DynamoDbStore(dynamodb, name, cfg.pending_shards)
    stuck = Record(KEY, DAY, None, Status.QUARANTINED, retry_count=5, reason="test")
    assert store.put_pending(stuck.with_(updated_at=datetime(2022, 1, 4, tzinfo=UTC)))
    store.put_meta(DEMO_CLOCK, "2022-05-07T23:59:00-03:00")
    env = aws_cli_env(name, dynalite_server, moto_server)
    out = fuelpipe("quarantine", "release", KEY, DAY.isoformat(), env=env)
    assert "using its clock 2022-05-07T23:59:00-03:00" in out.stderr
    (record,) = store.query(KEY, DAY, DAY)
    assert record.status is Status.PENDING
    assert record.updated_at == datetime(2022, 5, 8, 2, 59, tzinfo=UTC)


def test_accept_makes_a_quarantined_record_absent_and_moves_the_data_version(tmp_path) -> None:
    """A person can accept that a quarantined date has no value (before, the only way out of
    the quarantine was a release, retried until quarantined again): the record is ABSENT with
    its retry count, leaves `quarantine list`, and `status` counts it absent. Synthetic record,
    real CLI on an embedded store."""
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        stuck = Record(KEY, DAY, None, Status.QUARANTINED, retry_count=5, reason="HTTP 503")
        assert store.put_pending(stuck.with_(updated_at=datetime(2022, 1, 4, tzinfo=UTC)))
        store.put_records([Record(KEY, date(2022, 1, 4), Decimal("5.5"), Status.OK)])
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": "2022-02-01T12:00"}

    out = fuelpipe("quarantine", "accept", KEY.lower(), DAY.isoformat(), env=env)

    assert f"accepted {KEY} {DAY} as having no value" in out.stdout
    with SqliteStore(db) as store:
        (record,) = store.query(KEY, DAY, DAY)
        assert data_version(store) != INITIAL
    assert (record.status, record.retry_count, record.next_attempt_at) == (Status.ABSENT, 5, None)
    assert record.reason == (
        "accepted by hand as no value at 2022-02-01T12:00:00-03:00; quarantined for: HTTP 503"
    )
    listed = fuelpipe("quarantine", "list", env=env)
    assert "nothing is quarantined" in listed.stdout + listed.stderr
    status = fuelpipe("status", "--series", KEY, "--json", env=env, check=False)
    (counts,) = json.loads(status.stdout)
    assert (counts["quarantined"], counts["absent"], counts["pending"]) == (0, 1, 0)
    again = fuelpipe("quarantine", "accept", KEY, DAY.isoformat(), env=env, check=False)
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1] == (
        f"error: {KEY} {DAY} is not quarantined: it is ABSENT: the source answered that it has "
        "no value for that date, or a person accepted that it has none"
    )
    released = fuelpipe("quarantine", "release", KEY, DAY.isoformat(), env=env, check=False)
    assert released.returncode == 1  # accepted: no retry to give back


def test_accept_takes_one_key_as_release_does(tmp_path) -> None:
    refused = fuelpipe(
        "quarantine", "accept", "FUEL#GASOLINE#*", DAY.isoformat(),
        env={"FUELPIPE_DB": str(tmp_path / "none.sqlite")}, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "accept takes one key, e.g. `fuelpipe quarantine accept" in refused.stderr
    assert not (tmp_path / "none.sqlite").exists()  # refused before any store is opened


def test_quarantine_list_shows_the_releases_before_a_quarantine_again(tmp_path) -> None:
    """Released, then quarantined again after a fresh budget: the list showed `5` re-downloads
    and the new error only, as if the date had never been quarantined before."""
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        stuck = Record(KEY, DAY, None, Status.QUARANTINED, retry_count=5, reason="HTTP 503")
        assert store.put_pending(stuck)
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": "2022-02-01T12:00", "COLUMNS": "400"}
    fuelpipe("quarantine", "release", KEY, DAY.isoformat(), env=env)
    with SqliteStore(db) as store:  # five more re-downloads fail
        assert store.claim_retry(KEY, DAY, 0, 5, datetime(2022, 2, 2, tzinfo=UTC))
        assert store.quarantine(KEY, DAY, 5, "HTTP 404 (gave up after 5 re-downloads)")

    listed = fuelpipe("quarantine", "list", env=env).stdout
    (row,) = json.loads(fuelpipe("quarantine", "list", "--json", env=env).stdout)

    assert "HTTP 404 (gave up after 5 re-downloads)" in listed
    assert "(released by hand at 2022-02-01T12:00-03:00, after 5 re-downloads)" in listed
    assert (row["retry_count"], row["reason"]) == (5, "HTTP 404 (gave up after 5 re-downloads)")
    assert row["released_before"] == [
        {"at": "2022-02-01T15:00:00+00:00", "retry_count": 5, "reason": "HTTP 503"}
    ]


def test_list_history_shows_a_released_date_after_its_next_failure(tmp_path) -> None:
    """Released, then failing again (PENDING, its reason the new error): its release was in
    no output at all, `quarantine list` lists quarantined records only and `export` reads no
    ``released#`` entry. `--history` shows each date released before, as it is now."""
    db = tmp_path / "store.sqlite"
    other = date(2022, 1, 4)
    with SqliteStore(db) as store:
        for day, reason in ((DAY, "HTTP 503"), (other, None)):
            stuck = Record(KEY, day, None, Status.QUARANTINED, retry_count=5, reason=reason)
            assert store.put_pending(stuck)
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": "2022-02-01T12:00", "COLUMNS": "400"}
    fuelpipe("quarantine", "release", KEY, "--all", "--yes", env=env)
    with SqliteStore(db) as store:  # the next re-download fails: its error is the reason now
        assert store.claim_retry(KEY, DAY, 0, 1, datetime(2022, 2, 2, tzinfo=UTC))
        assert store.put_pending(
            Record(KEY, DAY, None, Status.PENDING, retry_count=1, reason="HTTP 500")
        )
    assert "nothing is quarantined" in fuelpipe("quarantine", "list", env=env).stdout

    table = fuelpipe("quarantine", "list", "--history", env=env).stdout
    rows = json.loads(fuelpipe("quarantine", "list", "--history", "--json", env=env).stdout)

    assert "2 date(s) released by hand before" in table
    assert "(released by hand at 2022-02-01T12:00-03:00, after 5 re-downloads: HTTP 503)" in table
    assert "HTTP 500" in table
    release = {"at": "2022-02-01T15:00:00+00:00", "retry_count": 5}
    assert rows == [
        {
            "key": KEY,
            "date": "2022-01-03",
            "status": "PENDING",
            "retry_count": 1,
            "reason": "HTTP 500",
            "released_before": [{**release, "reason": "HTTP 503"}],
        },
        {
            "key": KEY,
            "date": "2022-01-04",
            "status": "PENDING",
            "retry_count": 0,
            "reason": rows[1]["reason"],
            "released_before": [{**release, "reason": None}],
        },
    ]
    assert rows[1]["reason"].startswith("released by hand at ")
    later = fuelpipe("quarantine", "list", "--history", "--from", "2022-01-04", "--json", env=env)
    assert [r["date"] for r in json.loads(later.stdout)] == ["2022-01-04"]
    none = fuelpipe("quarantine", "list", "--history", "-s", "CURRENCY#EUR", env=env)
    assert "no date was released by hand" in none.stdout
    both = fuelpipe("quarantine", "list", "--history", "--summary", env=env, check=False)
    assert both.returncode == 2
    assert "--history and --summary: give one" in both.stderr
