"""`fuelpipe quarantine set-aside` lists the values sources published that were set aside where
no record keeps them (a date stored already); `quarantine list` says how many there are, and
`status` how many and the newest.

Before, such a value survived in the scraper's log line only: `quarantine list`, `status`
and the dead letters said nothing, so an operator never learnt the source had published
something else. The store is filled by real scrapes (a ``revise`` whose answer carries a value
too long to store for a date stored OK), on each home."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from devtools.aws.servers import LocalServer
from tests.e2e.conftest import fuelpipe
from tests.stages.conftest import NOW, POLICY
from tests.support.aws_backends import aws_cli_env, unique_name
from tests.support.fakes import TableSource

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.dynamodb_store import DynamoDbStore
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.homes.aws import create_resources
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.scrape import scrape

BRENT = DEFAULT_CATALOG["COMMODITY#BRENT"]
DAYS = [date(2022, 1, 4), date(2022, 1, 5), date(2022, 1, 6)]
LONG = "78.1000000000000000000000000000000000000001"  # 42 significant digits; a store holds 38


def _fill(store: Store, tmp_path, now: datetime = NOW) -> None:
    """Brent's three days stored, then a ``revise`` whose answer carries LONG for the middle,
    at ``now``."""
    clock = ManualClock(now)
    source = TableSource(
        "fred",
        {(BRENT.key, d): Decimal(v) for d, v in zip(DAYS, ("77.1", "78.0", "78.2"), strict=True)},
    )
    queue = SqliteQueue(tmp_path / "q.sqlite", clock, timedelta(seconds=30))
    app = StageContext(
        catalog=DEFAULT_CATALOG,
        store=store,
        queue=queue,
        sources={"fred": source},
        clock=clock,
        policy=POLICY,
    )

    def request(origin: str) -> DownloadRequest:
        return DownloadRequest(
            partition_key=BRENT.key,
            dates_to_download=DAYS,
            fetch_unit=BRENT.fetch_unit,
            origin=origin,
        )

    scrape(app, request("gap"))
    source.values[(BRENT.key, DAYS[1])] = Decimal(LONG)
    assert scrape(app, request("revise")).set_aside_kept == 1
    queue.close()


def _check(env: dict[str, str]) -> None:
    listed = json.loads(fuelpipe("quarantine", "set-aside", "--json", env=env).stdout)
    assert listed == [
        {
            "key": BRENT.key,
            "date": "2022-01-05",
            "value": LONG,
            "reason": f"value no store can keep: {LONG} has 42 digits written out without an "
            "exponent; a store holds at most 38 exactly",
            "seen_by": "revise fred:DCOILBRENTEU 2022-01-04..2022-01-06",
            "first_seen": NOW.astimezone(UTC).isoformat(),
            "last_seen": NOW.astimezone(UTC).isoformat(),
        }
    ]
    table = fuelpipe("quarantine", "set-aside", env=env).stdout
    assert "1 set aside" in table and LONG in table and BRENT.key in table
    quarantined = fuelpipe("quarantine", "list", env=env).stdout
    assert quarantined.startswith("nothing is quarantined: ")  # not a table titled "0 ..."
    assert "1 value(s) published for a date stored already were set aside" in quarantined
    assert json.loads(fuelpipe("quarantine", "list", "--json", env=env).stdout) == []

    # `status` says so too (before, it said nothing): the count and the newest, below its
    # table and on the key's JSON row, pointing to the full list.
    status = fuelpipe("status", env=env).stdout
    assert "1 value(s) published for a date stored already were set aside" in status
    assert f"{BRENT.key} 2022-01-05 {LONG}" in " ".join(status.split())
    assert "fuelpipe quarantine set-aside" in status
    rows = {r["key"]: r for r in json.loads(fuelpipe("status", "--json", env=env).stdout)}
    assert rows[BRENT.key]["set_aside"] == 1
    [newest] = rows[BRENT.key]["set_aside_newest"]
    assert newest == {k: v for k, v in listed[0].items() if k != "key"}
    assert {r["set_aside"] for k, r in rows.items() if k != BRENT.key} <= {0}


def test_the_cli_lists_a_value_set_aside_for_a_stored_date(tmp_path) -> None:
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        _fill(store, tmp_path)
    _check({"FUELPIPE_DB": str(db)})


def test_the_cli_lists_them_on_the_aws_home(
    tmp_path, dynalite_server: LocalServer, moto_server: LocalServer
) -> None:
    name = unique_name("setaside")
    cfg = Settings(backend="aws", table_name=name, queue_name=name, dlq_name=name + "-dlq")
    dynamodb, sqs = dynalite_server.client("dynamodb"), moto_server.client("sqs")
    create_resources(cfg, dynamodb_client=dynamodb, sqs_client=sqs, poll_s=0.05)
    _fill(DynamoDbStore(dynamodb, name, cfg.pending_shards), tmp_path)
    _check(aws_cli_env(name, dynalite_server, moto_server))


def _seen_in_utc(tmp_path) -> dict[str, str]:
    """A store whose value was set aside at the system clock's UTC instant (NOW), and its env."""
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        _fill(store, tmp_path, NOW.astimezone(UTC))  # SystemClock's zone
    return {"FUELPIPE_DB": str(db)}


def test_quarantine_set_aside_shows_when_in_sao_paulo_time(tmp_path) -> None:
    """The table shows last and first seen in São Paulo time with its offset, as the other
    commands show instants (before: ``2022-03-31T23:00:00+00:00``); --json gives them in
    UTC."""
    env = _seen_in_utc(tmp_path)
    table = fuelpipe("quarantine", "set-aside", env=env).stdout
    assert table.count("2022-03-31T20:00:00-03:00") == 2  # last seen, first seen
    assert "+00:00" not in table
    [listed] = json.loads(fuelpipe("quarantine", "set-aside", "--json", env=env).stdout)
    assert listed["first_seen"] == listed["last_seen"] == "2022-03-31T23:00:00+00:00"


def test_status_shows_when_set_aside_in_sao_paulo_time(tmp_path) -> None:
    """`status`'s lines below its table say first and last seen in São Paulo time too;
    --json gives them in UTC."""
    env = _seen_in_utc(tmp_path)
    status = " ".join(fuelpipe("status", env=env).stdout.split())
    assert "(first seen 2022-03-31T20:00:00-03:00, last seen 2022-03-31T20:00:00-03:00)" in status
    assert "+00:00" not in status
    rows = {r["key"]: r for r in json.loads(fuelpipe("status", "--json", env=env).stdout)}
    [newest] = rows[BRENT.key]["set_aside_newest"]
    assert newest["first_seen"] == newest["last_seen"] == "2022-03-31T23:00:00+00:00"


def test_json_gives_when_set_aside_in_utc_whatever_the_clock_s_zone(tmp_path) -> None:
    """A value set aside by a clock in São Paulo time (a `--now` without an offset, the demo's
    clock) kept that zone in `quarantine set-aside --json` and `status --json`
    (``2022-03-31T20:00:00-03:00``), where every other instant the CLI prints as JSON is UTC
    (`status --json`'s published_at and stored_at): both give UTC now."""
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        _fill(store, tmp_path)  # NOW: 2022-03-31T20:00-03:00
    env = {"FUELPIPE_DB": str(db)}
    [listed] = json.loads(fuelpipe("quarantine", "set-aside", "--json", env=env).stdout)
    assert listed["first_seen"] == listed["last_seen"] == "2022-03-31T23:00:00+00:00"
    rows = {r["key"]: r for r in json.loads(fuelpipe("status", "--json", env=env).stdout)}
    [newest] = rows[BRENT.key]["set_aside_newest"]
    assert newest["first_seen"] == newest["last_seen"] == "2022-03-31T23:00:00+00:00"
    assert rows[BRENT.key]["stored_at"].endswith("+00:00")  # as the other instants
