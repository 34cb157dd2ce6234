"""`fuelpipe quarantine list` filters and sums up; `release` and `accept` take a range or
--all, ask first (--yes: not), and settle exactly the quarantined dates asked for. Before,
`list` printed every quarantined date in one table (~100,000 after a failed backfill) and
release and accept took one DATE, one command a date. Synthetic records; the real CLI (typer's
CliRunner, in process, for its input; a subprocess on the AWS home)."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from devtools.aws.servers import LocalServer
from tests.e2e.conftest import fuelpipe
from tests.e2e.test_dlq_purge_prompt import HANG_GUARD_S, _read_until
from tests.support.aws_backends import aws_cli_env, unique_name
from typer.testing import CliRunner, Result

from fuelpipe.adapters.dynamodb_store import DynamoDbStore
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.main import LIST_ROWS, cli
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes.aws import create_resources
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import INITIAL, data_version
from fuelpipe.stages.quarantine import earlier_releases

USD, EUR = "CURRENCY#USD", "CURRENCY#EUR"
DAYS = [date(2022, 1, 3) + timedelta(days=i) for i in range(6)]  # 3 to 8 January
PENDING_DAY, OK_DAY = DAYS[2], DAYS[3]
NOW = "2022-02-01T12:00"


def _fill(store: Store, days: list[date] = DAYS) -> None:
    """USD quarantined on ``days`` but a PENDING and an OK one; EUR on the first."""
    for day in days:
        if day == OK_DAY:
            store.put_records([Record(USD, day, Decimal("5.5"), Status.OK)])
        elif day == PENDING_DAY:
            assert store.put_pending(Record(USD, day, None, Status.PENDING, reason="not yet"))
        else:
            reason = "HTTP 404" if day == days[0] else "HTTP 503"
            assert store.put_pending(
                Record(USD, day, None, Status.QUARANTINED, retry_count=5, reason=reason)
            )
    assert store.put_pending(
        Record(EUR, days[0], None, Status.QUARANTINED, retry_count=5, reason="x")
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "store.sqlite"
    with SqliteStore(db) as store:
        _fill(store)
    return {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": NOW, "COLUMNS": "200"}


def _run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def _statuses(env: dict[str, str], key: str = USD) -> dict[date, Status]:
    with SqliteStore(Path(env["FUELPIPE_DB"])) as store:
        return {r.date: r.status for r in store.query(key)}


def _listed(env: dict[str, str], *args: str) -> list[tuple[str, str]]:
    done = _run(env, "quarantine", "list", "--json", *args)
    assert done.exit_code == 0, done.output
    return [(r["key"], r["date"]) for r in json.loads(done.stdout)]


def test_list_keeps_the_keys_and_dates_asked_for(env: dict[str, str]) -> None:
    quarantined = [d.isoformat() for d in DAYS if d not in (PENDING_DAY, OK_DAY)]
    assert _listed(env) == [(EUR, DAYS[0].isoformat()), *[(USD, d) for d in quarantined]]
    assert _listed(env, "--series", "currency#usd") == [(USD, d) for d in quarantined]
    assert _listed(env, "-s", "CURRENCY#USD", "--from", "2022-01-05") == [
        (USD, d) for d in quarantined[2:]
    ]
    assert _listed(env, "--to", "2022-01-03", "-s", "currency#eur,CURRENCY#USD") == [
        (EUR, "2022-01-03"), (USD, "2022-01-03")
    ]  # fmt: skip
    assert _listed(env, "-s", "CURRENCY", "--since", "2022-01-04", "--until", "2022-01-05") == [
        (USD, "2022-01-04")
    ]
    table = _run(env, "quarantine", "list", "-s", "CURRENCY#EUR").stdout
    assert "1 quarantined" in table and "CURRENCY#USD" not in table


def test_list_refuses_a_misspelt_key_and_a_range_backwards(env: dict[str, str]) -> None:
    typo = _run(env, "quarantine", "list", "--series", "CURRENCY#USX")
    assert typo.exit_code == 2
    assert "no series matches CURRENCY#USX; did you mean CURRENCY#USD?" in typo.stderr
    backwards = _run(env, "quarantine", "list", "--from", "2022-01-08", "--to", "2022-01-03")
    assert backwards.exit_code == 2
    assert "error: --from 2022-01-08 is after --to 2022-01-03" in backwards.stderr
    none = _run(env, "quarantine", "list", "-s", "CURRENCY#GBP", "--json")
    assert (none.exit_code, none.stdout.strip()) == (0, "[]")
    assert "none of the 5 quarantined records is of the keys and dates" in none.stderr


def test_list_summary_counts_per_key(env: dict[str, str]) -> None:
    done = _run(env, "quarantine", "list", "--summary", "--json")
    assert done.exit_code == 0, done.output
    eur, usd = json.loads(done.stdout)
    assert (usd["key"], usd["quarantined"], usd["first"], usd["last"]) == (
        USD, 4, "2022-01-03", "2022-01-08"
    )  # fmt: skip
    assert (usd["reason"], usd["reason_count"]) == ("HTTP 503", 3)
    assert (eur["key"], eur["quarantined"], eur["reason"]) == (EUR, 1, "x")
    table = _run(env, "quarantine", "list", "--summary").stdout
    assert "5 quarantined, 2 key(s)" in table
    assert "HTTP 503 (3 of 4)" in table
    none = _run(env, "quarantine", "list", "--summary", "-s", "CURRENCY#GBP", "--json")
    assert (none.exit_code, none.stdout.strip()) == (0, "[]")
    assert "none of the 5 quarantined records is of the keys and dates" in none.stderr
    some = _run(env, "quarantine", "list", "--summary", "-s", "currency#eur", "--json")
    assert [s["key"] for s in json.loads(some.stdout)] == [EUR]


def test_list_sums_up_by_itself_above_its_rows_and_all_lists_each(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    days = [date(2020, 1, 1) + timedelta(days=i) for i in range(LIST_ROWS + 1)]
    with SqliteStore(db) as store:
        _fill(store, days)
    env = {"FUELPIPE_DB": str(db), "FUELPIPE_NOW": NOW, "COLUMNS": "200"}
    many = _run(env, "quarantine", "list")
    assert many.exit_code == 0, many.output
    assert f"{LIST_ROWS + 2:,} quarantined, 2 key(s)" in many.stdout
    assert many.stdout.count("\n") < 20  # a row per key, not one a date
    assert f"note: {LIST_ROWS + 2:,} quarantined dates, so one row per key: `--all`" in many.stderr
    every = _run(env, "quarantine", "list", "--all")
    assert every.stdout.count("│ CURRENCY#USD") == LIST_ROWS + 1
    assert len(_listed(env)) == LIST_ROWS + 2  # --json gives each date


def test_a_range_release_asks_and_settles_exactly_the_quarantined_dates(
    env: dict[str, str],
) -> None:
    args = ("quarantine", "release", "currency#usd", "--from", "2022-01-04", "--to", "2022-01-08")
    declined = _run(env, *args, input="n\n")
    assert declined.exit_code == 1
    assert "Release 3 quarantined date(s) of CURRENCY#USD (2022-01-04 to 2022-01-08)?" in (
        declined.stdout
    )
    assert "error: nothing released" in declined.stderr
    unanswered = _run(env, *args)  # the input ends: a script without --yes
    assert unanswered.exit_code == 1
    assert "nothing released: no answer to the question (--yes skips it)" in unanswered.stderr
    with SqliteStore(Path(env["FUELPIPE_DB"])) as store:
        assert data_version(store) == INITIAL

    done = _run(env, *args, input="y\n")

    assert done.exit_code == 0, done.output
    assert "released 3 date(s) of CURRENCY#USD from 2022-01-04 to 2022-01-08" in done.stdout
    assert "dates released: 3/3" in done.stdout
    statuses = _statuses(env)
    assert statuses == {
        DAYS[0]: Status.QUARANTINED,  # before the range
        DAYS[1]: Status.PENDING,
        PENDING_DAY: Status.PENDING,
        OK_DAY: Status.OK,
        DAYS[4]: Status.PENDING,
        DAYS[5]: Status.PENDING,
    }
    assert _statuses(env, EUR) == {DAYS[0]: Status.QUARANTINED}
    with SqliteStore(Path(env["FUELPIPE_DB"])) as store:
        assert set(earlier_releases(store)) == {(USD, DAYS[1]), (USD, DAYS[4]), (USD, DAYS[5])}
        (pending,) = store.query(USD, PENDING_DAY, PENDING_DAY)
    assert pending.reason == "not yet"


def test_yes_accepts_every_date_of_a_key_without_asking(env: dict[str, str]) -> None:
    done = _run(env, "quarantine", "accept", "CURRENCY#USD", "--all", "--yes")

    assert done.exit_code == 0, done.output
    assert "?" not in done.stdout  # no question
    assert "accepted 4 date(s) of CURRENCY#USD as having no value" in done.stdout
    assert [d for d, s in _statuses(env).items() if s is Status.ABSENT] == [
        DAYS[0], DAYS[1], DAYS[4], DAYS[5]
    ]  # fmt: skip
    assert _statuses(env, EUR) == {DAYS[0]: Status.QUARANTINED}
    again = _run(env, "quarantine", "accept", "CURRENCY#USD", "--all", "-y")
    assert again.exit_code == 1
    assert "error: no date of CURRENCY#USD is quarantined: nothing accepted" in again.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["2022-01-03", "--all"], "release takes one DATE or a range (--from, --to) or --all"),
        (["--all", "--to", "2022-01-05"], "--all and --from/--to: give one"),
        ([], "missing DATE: give one date, a range (--from, --to) or --all"),
        (["--from", "2022-01-03x"], "--from '2022-01-03x' is not a date (YYYY-MM-DD)"),
    ],
)
def test_release_refuses_what_it_cannot_take(
    env: dict[str, str], args: list[str], said: str
) -> None:
    done = _run(env, "quarantine", "release", USD, *args, "--yes")
    assert done.exit_code == 2
    assert said in done.stderr
    assert _statuses(env)[DAYS[0]] is Status.QUARANTINED


def test_a_range_release_on_the_aws_home(
    dynalite_server: LocalServer, moto_server: LocalServer
) -> None:
    """The same range on DynamoDB (dynalite), through the real CLI: the quarantined dates read
    once from the status index, each settled as one date is."""
    name = unique_name("bulk")
    cfg = Settings(backend="aws", table_name=name, queue_name=name, dlq_name=name + "-dlq")
    dynamodb, sqs = dynalite_server.client("dynamodb"), moto_server.client("sqs")
    create_resources(cfg, dynamodb_client=dynamodb, sqs_client=sqs, poll_s=0.05)
    store = DynamoDbStore(dynamodb, name, cfg.pending_shards)
    _fill(store)
    env = {**aws_cli_env(name, dynalite_server, moto_server), "FUELPIPE_NOW": NOW}

    done = fuelpipe(
        "quarantine", "release", USD, "--from", "2022-01-04", "--to", "2022-01-06", "--yes",
        env=env,
    )  # fmt: skip

    assert "released 1 date(s) of CURRENCY#USD from 2022-01-04 to 2022-01-06" in done.stdout
    assert {r.date: r.status for r in store.query(USD)} == {
        DAYS[0]: Status.QUARANTINED,
        DAYS[1]: Status.PENDING,
        PENDING_DAY: Status.PENDING,
        OK_DAY: Status.OK,
        DAYS[4]: Status.QUARANTINED,  # after the range
        DAYS[5]: Status.QUARANTINED,
    }
    assert set(earlier_releases(store)) == {(USD, DAYS[1])}
    assert data_version(store) != INITIAL
    summed = json.loads(fuelpipe("quarantine", "list", "--summary", "--json", env=env).stdout)
    assert [(s["key"], s["quarantined"]) for s in summed] == [(EUR, 1), (USD, 3)]


def _reading_its_input(pid: int) -> None:
    """Wait until the CLI's main thread is blocked reading the answer (Linux: the read(2) of
    fd 0 in /proc/PID/syscall). A SIGINT that lands after the prompt is written but before
    that read begins is only flagged, and the read then waits for an answer for good: a
    person's Ctrl+C comes later than that, a test's may not."""
    syscall = Path(f"/proc/{pid}/syscall")
    deadline = time.monotonic() + HANG_GUARD_S
    while not syscall.read_text().startswith("0 0x0 "):
        assert time.monotonic() < deadline, f"the CLI never read its input: {syscall.read_text()}"
        time.sleep(0.01)  # polling a state, not waiting out a time


@pytest.mark.parametrize("verb", ["release", "accept"])
def test_ctrl_c_at_the_question_cancels_with_130(env: dict[str, str], verb: str) -> None:
    """Ctrl+C at `Release N quarantined date(s)?` (on a terminal) exited 1 with `error:
    nothing released: no answer to the question`, as if the input had ended: a Ctrl+C exits
    130 in every other command (docs/CLI.md's exit codes). Nothing was changed."""
    primary, secondary = pty.openpty()  # a terminal, as a person answers on
    with subprocess.Popen(
        [sys.executable, "-m", "fuelpipe.cli", "quarantine", verb, USD, "--all"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, **env, "NO_COLOR": "1", "COLUMNS": "200"},
    ) as cli:
        os.close(secondary)
        seen = bytearray()
        try:
            _read_until(primary, b"[y/N]", seen)
            _reading_its_input(cli.pid)
            cli.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl+C
            _read_until(primary, b"\0", seen)  # to the end of its output
        finally:
            os.close(primary)
        code = cli.wait(HANG_GUARD_S)

    said = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", seen.decode(errors="replace")).split())
    assert code == 130, said
    assert said.endswith("[y/N]: error: cancelled: nothing was changed"), said
    with SqliteStore(Path(env["FUELPIPE_DB"])) as store:
        assert data_version(store) == INITIAL
        assert earlier_releases(store) == {}
    assert {d for d, s in _statuses(env).items() if s is Status.PENDING} == {PENDING_DAY}
