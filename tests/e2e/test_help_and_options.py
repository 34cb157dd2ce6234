"""What `--help` says and what the options accept, as a user sees them in a real subprocess:
every query and status column named, every --json explained, a group typed alone shows its
help, and an option a command would silently ignore is refused in one `error:` line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.conftest import EMPTY_RUN

from fuelpipe.adapters.lake.queries import QUERIES
from fuelpipe.cli.display import STATUS_COLUMNS
from fuelpipe.domain.catalog import STATES

WIDE = {"COLUMNS": "200", "TERM": "dumb"}


def _run(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    module: str = "fuelpipe.cli",
):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **WIDE, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_python_dash_m_fuelpipe_is_the_cli() -> None:
    """`python -m fuelpipe` runs the command line, as `fuelpipe` and `python -m fuelpipe.cli`
    do (it said "No module named fuelpipe.__main__")."""
    done = _run("--help", module="fuelpipe")
    assert done.returncode == 0, done.stderr
    assert "Usage: fuelpipe" in done.stdout


def _one_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    return lines[0]


def test_stations_query_help_names_every_query() -> None:
    done = _run("stations", "query", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for name in QUERIES:
        assert name in text, name
    assert "coverage" in text


@pytest.mark.parametrize(
    "command", [["quarantine", "list"], ["dlq", "list"], ["stations", "status"]]
)
def test_json_is_explained_in_help(command: list[str]) -> None:
    done = _run(*command, "--help")
    assert done.returncode == 0, done.stderr
    # the option's own line (the description or another option's help may name it too)
    (line,) = [ln for ln in done.stdout.splitlines() if ln.lstrip("│ ").startswith("--json")]
    assert "Print" in line and "JSON" in line, line


@pytest.mark.parametrize("group", ["stations", "outlook", "quarantine", "dlq", "aws"])
def test_a_group_alone_shows_its_help(group: str) -> None:
    alone = _run(group)
    top = _run()  # `fuelpipe` alone: its help, and the same exit code
    assert "Missing command" not in alone.stderr, alone.stderr
    assert f"Usage: fuelpipe {group}" in alone.stdout
    assert "Commands" in alone.stdout
    assert alone.returncode == top.returncode


def test_the_top_help_gives_the_exit_codes() -> None:
    """A script's author reading `fuelpipe --help` (a pip install has no README at hand) found
    no exit code: each code the commands exit with is named there, with what it means."""
    from fuelpipe.cli import main

    done = _run("--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.replace("│", " ").split())
    codes = [
        main.EXIT_INCOMPLETE,
        main.EXIT_FAILED,
        main.EXIT_BAD_INPUT,
        main.EXIT_UNREACHABLE,
        main.EXIT_ALREADY_WATCHING,
        main.EXIT_INTERRUPTED,
        main.EXIT_BROKEN_PIPE,
        main.EXIT_TERMINATED,
    ]
    assert "Exit codes: 0 done" in text, text
    for code in codes:
        assert f"; {code} " in text, (code, text)


def test_status_help_names_every_column() -> None:
    done = _run("status", "--help")
    assert done.returncode == 0, done.stderr
    for column in STATUS_COLUMNS:
        assert column in done.stdout, column


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_without_a_key_says_the_key_is_missing(fmt: str, tmp_path: Path) -> None:
    done = _run("export", "-f", fmt, env={"FUELPIPE_DB": str(tmp_path / "none.sqlite")})
    line = _one_error(done)
    assert "missing KEY" in line
    assert "--series is for" not in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["stations", "query"], "stations query: Missing argument 'NAME'."),
    ],
)
def test_an_argument_left_out_points_to_the_help_that_says_what_it_takes(
    args: list[str], said: str, tmp_path: Path
) -> None:
    """`fuelpipe stations query` said only "Missing argument 'NAME'.": which names there are,
    and a DATE's form, are in the command's --help, and the line now says so."""
    env = {"FUELPIPE_DB": str(tmp_path / "none.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    line = _one_error(_run(*args, env=env))
    assert line == f"error: {said} `fuelpipe {' '.join(args[:2])} --help` says what it takes."
    assert list(tmp_path.iterdir()) == []


def test_a_release_without_a_date_says_what_else_it_takes(tmp_path: Path) -> None:
    """DATE is optional since a range (--from, --to) or --all settles many dates: left out
    with neither, the line says all three and where the help is, before any store is opened."""
    env = {"FUELPIPE_DB": str(tmp_path / "none.sqlite")}
    line = _one_error(_run("quarantine", "release", "CURRENCY#USD", env=env))
    assert line == (
        "error: missing DATE: give one date, a range (--from, --to) or --all, e.g. `fuelpipe "
        "quarantine release CURRENCY#USD --all` (`fuelpipe quarantine release --help` says what "
        "it takes)"
    )
    assert list(tmp_path.iterdir()) == []


def test_export_with_series_in_csv_still_points_to_parquet(tmp_path: Path) -> None:
    done = _run("export", "-s", "FUEL#*", env={"FUELPIPE_DB": str(tmp_path / "none.sqlite")})
    assert "--series is for --format parquet" in _one_error(done)


def test_parquet_export_to_a_missing_folder_is_refused_first(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    env = {"FUELPIPE_DB": str(db)}
    created = _run(*EMPTY_RUN, env=env)
    assert created.returncode == 0, created.stderr
    target = tmp_path / "nodir" / "g.parquet"
    done = _run("export", "-f", "parquet", "-s", "FUEL#GASOLINE#*", "-o", str(target), env=env)
    line = _one_error(done)
    assert f"--output {target}: the folder {target.parent} does not exist" in line
    assert "FileNotFoundError" not in line
    into_dir = _run("export", "-f", "parquet", "-s", "FUEL#*", "-o", str(tmp_path), env=env)
    assert "is a directory" in _one_error(into_dir)


UNUSED = {
    "state_weekly --state": (["state_weekly", "--state", "SP"], "--state"),
    "station_search --state": (["station_search", "--state", "SP"], "--state"),
    "station_search --fuel": (["station_search", "--fuel", "LPG", "--text", "x"], "--fuel"),
    "dispersion --municipality": (["dispersion", "--municipality", "CAMPINAS"], "--municipality"),
    "municipality_ranking --text": (["municipality_ranking", "--text", "SHELL"], "--text"),
    "coverage --since": (["coverage", "--since", "2025-03-01"], "--since"),
}


@pytest.mark.parametrize("case", list(UNUSED))
def test_an_option_the_query_does_not_take_is_refused(case: str, tmp_path: Path) -> None:
    args, option = UNUSED[case]
    done = _run("stations", "query", *args, env={"FUELPIPE_LAKE": str(tmp_path / "lake")})
    line = _one_error(done)
    name = args[0]
    assert f"{name} does not take {option}" in line
    takes = line.split("its options:")[1]
    assert option not in takes
    assert "--format" in takes
    if name == "station_search":
        assert "--text" in takes and "--since" in takes
    if name == "state_weekly":
        assert "--fuel" in takes and "--until" in takes
    assert list(tmp_path.iterdir()) == []  # refused before the lake is looked at


def test_state_must_be_one_of_the_27_ufs(tmp_path: Path) -> None:
    assert len(STATES) == 27
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    bad = _run("stations", "query", "municipality_weekly", "--state", "XX",
               "--municipality", "CAMPINAS", env=env)  # fmt: skip
    line = _one_error(bad)
    assert "--state 'XX' is not a UF" in line and "SP" in line
    # A valid UF in lower case passes the check (then the missing lake is what is refused).
    good = _run("stations", "query", "municipality_weekly", "--state", "sp",
                "--municipality", "CAMPINAS", env=env)  # fmt: skip
    assert "no station lake at" in _one_error(good)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        (["--state", "sp"], "--municipality"),
        (["--municipality", "CAMPINAS"], "--state"),
        ([], ""),
        (["--state", "sp", "--municipality", "  "], "--municipality"),
    ],
)
def test_municipality_weekly_names_the_option_it_lacks(
    given: list[str], missing: str, tmp_path: Path
) -> None:
    """With --state given it said "municipality_weekly needs --state and --municipality", as if
    --state were missing too; it names what is missing, and an example to copy. A blank
    --municipality is none (it was queried, "none of the 95 municipalities of SP is close" to
    ' ')."""
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake")}
    line = _one_error(_run("stations", "query", "municipality_weekly", *given, env=env))
    lacks = missing or "--state and --municipality"
    assert line == (
        f"error: municipality_weekly needs {lacks} (it takes both), e.g. `fuelpipe stations "
        "query municipality_weekly --state SP --municipality 'SAO PAULO'`"
    )


@pytest.mark.parametrize("ticks", ["0", "-1"])
def test_watch_refuses_a_tick_count_below_one(ticks: str, tmp_path: Path) -> None:
    """`watch --ticks -1` said "watching (Ctrl+C to stop)" and stopped at once with exit 0."""
    done = _run("watch", "--ticks", ticks, env={"FUELPIPE_DB": str(tmp_path / "fp.sqlite")})
    assert "--ticks" in _one_error(done)
    assert list(tmp_path.iterdir()) == []  # refused before the store is opened


def test_python_m_fuelpipe_is_the_command() -> None:
    """`python -m fuelpipe` said "'fuelpipe' is a package and cannot be directly executed"."""
    done = _run("status", "--help", module="fuelpipe")
    assert done.returncode == 0, done.stderr
    assert "Usage: fuelpipe status" in done.stdout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("hooks.example.com/T0/SECRET", "'hooks.example.com/…'"),
        ("ftp://example.com/x", "'ftp://example.com/…'"),
        ("https://", "'https://'"),
        ("localhost:8080/hook", "'localhost:8080/…'"),  # was shown as "localhost://?/…"
        # a query, a user's password, a fragment: shown up to the host only
        ("htps://hooks.example.com?token=SECRET", "'htps://hooks.example.com/…'"),
        ("htps://user:SECRET@hooks.example.com/x", "'htps://hooks.example.com/…'"),
        ("hooks.example.com?token=SECRET", "'hooks.example.com/…'"),
        ("ftp://hooks.example.com#SECRET", "'ftp://hooks.example.com/…'"),
    ],
)
def test_watch_refuses_a_webhook_that_is_not_an_http_url(
    url: str, shown: str, tmp_path: Path
) -> None:
    """Taken as given, it failed every delivery, tick after tick, until someone read the log.
    The message shows the scheme and host given, never what may hold the secret."""
    env = {"FUELPIPE_DB": str(tmp_path / "fp.sqlite"), "FUELPIPE_ALERT_WEBHOOK_URL": url}
    line = _one_error(_run("watch", "--ticks", "1", env=env))
    assert line.endswith(f"must be an http:// or https:// URL, not {shown}")
    assert "SECRET" not in line  # a webhook's path is its secret: never printed
    assert list(tmp_path.iterdir()) == []  # refused before the store is opened


def test_watch_reads_the_webhook_setting_in_any_case_as_every_setting(tmp_path: Path) -> None:
    """Settings read ``FUELPIPE_*`` names in any case; the webhook, read by its option's
    exact name alone, was left out without a word when written ``fuelpipe_alert_webhook_url``
    (this one refused as the exact name is, so the test reaches no network)."""
    env = {"FUELPIPE_DB": str(tmp_path / "fp.sqlite"), "fuelpipe_alert_webhook_url": "ftp://h/x"}
    line = _one_error(_run("watch", "--ticks", "1", env=env))
    assert line.endswith("must be an http:// or https:// URL, not 'ftp://h/…'")
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_speed_without_live(tmp_path: Path) -> None:
    """`demo --speed 10` ran the ordinary demo, the speed ignored without a word."""
    env = {"FUELPIPE_DB": str(tmp_path / "fp.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    line = _one_error(_run("demo", "--no-serve", "--speed", "10", env=env))
    assert "--speed is for --live" in line
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_a_port_with_no_serve(tmp_path: Path) -> None:
    """`demo --no-serve --port 9999` ran the whole demo and served nothing, the port ignored
    without a word (`--port 8050`, the default spelled out, likewise)."""
    env = {"FUELPIPE_DB": str(tmp_path / "fp.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    for port in ("9999", "8050"):
        line = _one_error(_run("demo", "--no-serve", "--port", port, env=env))
        assert line == "error: --port is for the dashboard, and --no-serve serves none", line
    assert list(tmp_path.iterdir()) == []


def _description(help_text: str) -> list[str]:
    """The lines of a command's description: after the usage line, before the first box."""
    lines = help_text.split("╭", maxsplit=1)[0].splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Usage:"))
    return [line.strip() for line in lines[start + 1 :] if line.strip()]


@pytest.mark.parametrize(
    "command",
    [
        ["revise"],
        ["repair"],
        ["stations", "ingest"],
        ["stations", "query"],
        ["stations", "reconcile"],
        ["status"],
    ],
    ids=" ".join,
)
def test_help_reflows_its_paragraphs(command: list[str]) -> None:
    """At 200 columns no sentence of a command's description is cut by a line break: the
    docstring's own wrapping is not kept (only a literal block, `status`'s columns, is)."""
    done = _run(*command, "--help")
    assert done.returncode == 0, done.stderr
    columns = {f"{c}:" for c in STATUS_COLUMNS} | {"first, last:"}
    lines = _description(done.stdout)
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if any(line.startswith(c) for c in columns) or line.endswith((".", ":", ")")):
            continue  # a column per line on purpose, or the end of a sentence
        # otherwise the terminal wrapped it: its next word did not fit in the 200 columns
        assert len(line) + 1 + len(after.split(" ")[0]) > 190, f"a line break in: {line!r}"


@pytest.mark.parametrize(
    ("command", "option", "says"),
    [
        (["status"], "--since", ["YYYY-MM-DD"]),
        (["run"], "--since", ["1987-05-20", "2000-01-03", "backfills decades"]),
        (["export"], "--format", ["--output", "frames", "extension"]),
        # KEY was "A partition key" (the store's jargon), and the history went unmentioned
        (["export"], "Usage:", ["revision history", "series key (e.g. CURRENCY#USD, FUEL#GAS"]),
        (["watch"], "--ticks", ["A tick is one look", "up to 6 hours"]),
        (["repair"], "--json", ["JSON object"]),  # it said "a JSON array"
        # each --series says its three forms with an example of each (status said "Keys,
        # prefixes or globs." alone, revise gave one key, export no prefix)
        *(
            (command, "--series", ["CURRENCY#USD", "FUEL#GASOLINE", "'FUEL#*#SP'", "repeatable"])
            for command in (["run"], ["status"], ["revise"], ["watch"], ["export"])
        ),
        # it said "Fuel(s); default: every fuel.", "Area." and "Print JSON."
        (["outlook", "show"], "--fuel", ["GASOLINE_PREMIUM", "DIESEL_S10", "every fuel"]),
        (["outlook", "show"], "--area", ["BR", "REGION_N", "a UF, e.g. SP"]),
        (["outlook", "show"], "--json", ["JSON array", "[]"]),
    ],
)
def test_an_options_help_says_what_a_user_needs(
    command: list[str], option: str, says: list[str]
) -> None:
    """--since without its date format or default, --format without parquet's needs, --ticks
    without what a tick is."""
    done = _run(*command, "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    part = text[text.index(option) :]
    for words in says:
        assert words in part, (option, words)


@pytest.mark.parametrize(
    "args", [["status", "-s", ""], ["status", "-s", "  "], ["revise", "-s", ""]]
)
def test_a_blank_series_is_refused_naming_the_option(args: list[str], tmp_path: Path) -> None:
    """`status -s ""` said "no series matches " with nothing after it."""
    db = tmp_path / "s.sqlite"
    created = _run(*EMPTY_RUN, env={"FUELPIPE_DB": str(db)})
    assert created.returncode == 0, created.stderr
    line = _one_error(_run(*args, env={"FUELPIPE_DB": str(db)}))
    assert "--series/-s is blank" in line, line


def test_a_series_typed_with_spaces_around_it_is_the_series(tmp_path: Path) -> None:
    """`status -s " CURRENCY#USD"` (pasted with a space) said "no series matches
    CURRENCY#USD", naming a key the catalog has: the error line folds the spaces away. Keys
    are read without them, as `export " CURRENCY#USD "` reads its KEY."""
    db = tmp_path / "s.sqlite"
    created = _run(*EMPTY_RUN, env={"FUELPIPE_DB": str(db)})
    assert created.returncode == 0, created.stderr
    done = _run("status", "-s", " currency#usd ", "--all", "--json", env={"FUELPIPE_DB": str(db)})
    assert done.returncode == 0, done.stderr
    assert [row["key"] for row in json.loads(done.stdout)] == ["CURRENCY#USD"]


@pytest.mark.parametrize(
    ("pattern", "keys"),
    [
        ("FUEL#GASOLINE#S?", ["FUEL#GASOLINE#SC", "FUEL#GASOLINE#SP", "FUEL#GASOLINE#SE"]),
        ("stock#petr*", ["STOCK#PETR3", "STOCK#PETR4"]),
    ],
)
def test_a_series_glob_picks_the_series_as_the_parquet_export_s_does(
    pattern: str, keys: list[str], tmp_path: Path
) -> None:
    """`export --format parquet --series 'FUEL#GASOLINE#*'` (the README's example) takes a
    glob, and `fuelpipe.select_keys` too; `status`, `run`, `revise` and `watch` said "no series
    matches FUEL#GASOLINE#*" for the same pattern. Each --series now takes a glob as well as a
    key or prefix, and lists the series in catalog order."""
    db = tmp_path / "s.sqlite"
    created = _run(*EMPTY_RUN, env={"FUELPIPE_DB": str(db)})
    assert created.returncode == 0, created.stderr
    done = _run("status", "-s", pattern, "--all", "--json", env={"FUELPIPE_DB": str(db)})
    assert done.returncode == 0, done.stderr
    assert [row["key"] for row in json.loads(done.stdout)] == keys


@pytest.mark.parametrize("port", ["0", "8765"])
def test_replay_on_an_address_it_cannot_listen_on_names_the_address(port: str) -> None:
    """`replay --host 192.0.2.1 --port 0` (an address of no interface here; port 0: any free
    port) said "`fuelpipe replay` failed: OSError: [Errno 99] Cannot assign requested
    address", naming no address; with a port given it named both, as `dashboard` does."""
    line = _one_error(_run("replay", "--host", "192.0.2.1", "--port", port))
    assert f"cannot listen on 192.0.2.1:{port}" in line, line


def _store_with_a_garbled_date(tmp_path: Path) -> dict[str, str]:
    """A store whose one row's date is not a date: reading it is an unexpected error."""
    import sqlite3
    from datetime import date
    from decimal import Decimal

    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.domain.models import Record, Status

    db = tmp_path / "fuelpipe.sqlite"
    with SqliteStore(db) as store:
        store.put_records([Record("CURRENCY#USD", date(2022, 5, 6), Decimal("4.9"), Status.OK)])
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE items SET date = 'garbage'")
    conn.close()
    return {"FUELPIPE_DB": str(db)}


def test_debug_after_the_command_shows_the_traceback(tmp_path: Path) -> None:
    """The failure line says "rerun with --debug"; added at the end of the command, as a user
    does, it was refused: "No such option: --debug". (A damaged row: an unexpected error.)"""
    env = _store_with_a_garbled_date(tmp_path)
    failed = _one_error(_run("export", "CURRENCY#USD", env=env), code=1)
    assert "`fuelpipe export` failed" in failed and "rerun with --debug" in failed, failed
    debug = _run("export", "CURRENCY#USD", "--debug", env=env)
    assert "No such option" not in debug.stderr, debug.stderr
    assert "Traceback" in debug.stderr and "ValueError" in debug.stderr, debug.stderr
    # a `--debug` after `--` is an argument, not the option
    assert "No such option" not in _run("export", "--", "--debug", env=env).stderr


@pytest.mark.parametrize("args", [["export", "CURRENCY#USD"], ["status"]])
def test_an_unexpected_error_is_not_the_exit_code_of_bad_input(
    args: list[str], tmp_path: Path
) -> None:
    """An unexpected error (here a store row whose date is not one) exited 2, the code the
    README gives a script for its own mistake (a bad option, date or path), so a script could
    not tell a command typed wrong from one that failed: it exits 1, as Python does on an
    error it did not expect, with its one `failed:` line."""
    env = _store_with_a_garbled_date(tmp_path)
    line = _one_error(_run(*args, env=env), code=1)
    assert f"`fuelpipe {args[0]}` failed: " in line and "rerun with --debug" in line, line


def test_create_resources_help_names_the_indexes_it_creates() -> None:
    """It said "the table, its GSI": the table has two, as docs/AWS.md says."""
    from fuelpipe.adapters._dynamo_items import PENDING_INDEX, STATUS_INDEX

    done = _run("aws", "create-resources", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "two GSIs" in text and PENDING_INDEX in text and STATUS_INDEX in text, text


WIDE_WITH_ANOTHER_OUTPUT = {
    "status": (["status", "--wide", "--json"], "--json gives every count"),
    "outlook show": (
        ["outlook", "show", "--json", "--wide"],
        "--json gives every field (as_of too)",
    ),
    "stations status": (["stations", "status", "--wide", "--json"], "--json gives every field"),
    "stations query -f csv": (
        ["stations", "query", "state_weekly", "-f", "csv", "--wide"],
        "-f csv gives every column",
    ),
    "stations reconcile -f JSON": (
        ["stations", "reconcile", "-f", "JSON", "--wide"],
        "-f json gives every column",
    ),
}


@pytest.mark.parametrize("case", list(WIDE_WITH_ANOTHER_OUTPUT))
def test_wide_with_json_or_csv_is_refused_naming_both(case: str, tmp_path: Path) -> None:
    """`status --wide --json` (and the other commands with a wide table and an output that is
    not a table) printed the JSON and ignored --wide without a word; it is refused, as
    `status --summary --json` is, before the store or the lake is opened."""
    args, gives = WIDE_WITH_ANOTHER_OUTPUT[case]
    env = {"FUELPIPE_DB": str(tmp_path / "fp.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "lake")}
    line = _one_error(_run(*args, env=env))
    assert line == f"error: --wide is for the table, and {gives} already: give one", line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "group"), [(["help"], "fuelpipe"), (["quarantine", "show"], "fuelpipe quarantine")]
)
def test_a_command_like_none_says_where_the_commands_are_listed(
    args: list[str], group: str
) -> None:
    """`fuelpipe help` (what a new user types first) said "No such command 'help'." and no
    more; it names the --help that lists the group's commands. A close one is still named
    (`fuelpipe stat`: "Did you mean 'status', 'stations'?") without it."""
    line = _one_error(_run(*args))
    assert line.endswith(f"No such command '{args[-1]}'. `{group} --help` lists the commands.")
    close = _one_error(_run("stat"))
    assert close == "error: No such command 'stat'. Did you mean 'status', 'stations'?", close


@pytest.mark.parametrize(
    ("command", "lead"),
    [(["watch"], "Series to keep fresh:"), (["export"], "With --format parquet:")],
)
def test_a_series_help_after_a_lead_reads_as_one_sentence(command: list[str], lead: str) -> None:
    """`watch --help` read "Series to keep fresh: Keys, prefixes or globs", a capital in the
    middle of the sentence (`export`'s --series too)."""
    done = _run(*command, "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.replace("│", " ").split())
    assert f"{lead} keys, prefixes or globs (repeatable, or comma-separated)" in text, text


@pytest.mark.parametrize(
    ("given", "keys"),
    [
        (["-s", "CURRENCY#USD,currency#eur"], ["CURRENCY#USD", "CURRENCY#EUR"]),
        (["-s", "STOCK#PETR4, CURRENCY#USD,"], ["CURRENCY#USD", "STOCK#PETR4"]),
        (
            ["-s", "FUEL#GASOLINE#[S,R]J", "-s", "FUEL#ETHANOL#SP"],
            ["FUEL#GASOLINE#RJ", "FUEL#ETHANOL#SP"],
        ),
    ],
)
def test_a_series_takes_comma_separated_patterns(
    given: list[str], keys: list[str], tmp_path: Path
) -> None:
    """`--series A,B` was one pattern, refused as "no series matches A,B", though `stations
    reconcile --state SP,RJ` takes a list so: now it is `-s A -s B` (a comma inside a glob's
    [...] is the glob's)."""
    env = {"FUELPIPE_DB": str(tmp_path / "none.sqlite")}  # `status --all` needs no store
    done = _run("status", *given, "--all", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert [row["key"] for row in json.loads(done.stdout)] == keys


def test_a_series_of_commas_alone_is_blank(tmp_path: Path) -> None:
    line = _one_error(_run("status", "-s", ",", env={"FUELPIPE_DB": str(tmp_path / "s.sqlite")}))
    assert "--series/-s is blank" in line, line
