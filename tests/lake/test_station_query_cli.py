"""`fuelpipe stations query` refuses, in one `error:` line naming the option and the value,
what it cannot answer: a date that is not one, a search without a text to look for, and
--athena outside the AWS home."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.lake.conftest import BOM, real_lines, set_cell
from tests.support.station_lake import fuels_apart_lake, lpg_earlier_weeks_lake
from typer.testing import CliRunner

from fuelpipe.cli.main import cli
from fuelpipe.cli.stations import _query_help
from fuelpipe.domain.stations import FIGURE_DECIMALS, figure_text, parse_day, week_start

COLLECTED = 11  # "Data da Coleta"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A small local lake (the first 50 records of the real LPG file), embedded home."""
    folder = tmp_path_factory.mktemp("query")
    path = folder / "glp.csv"
    path.write_bytes(BOM + "\r\n".join(real_lines("glp", 50)).encode())
    env = {
        "FUELPIPE_LAKE": str(folder / "lake"),
        "FUELPIPE_DB": str(folder / "x.sqlite"),
        "FUELPIPE_BACKEND": "embedded",
    }
    done = CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=env)
    assert done.exit_code == 0, done.output
    return env


def test_a_table_s_counts_have_thousands_separators_csv_s_not(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """`coverage` printed 1200 observations where `stations status` writes 1,200: the table
    (default and --wide) now does too; CSV keeps the bare number. The first 1,200 records of
    the real LPG file."""
    folder = tmp_path_factory.mktemp("many")
    path = folder / "glp.csv"
    path.write_bytes(BOM + "\r\n".join(real_lines("glp", 1200)).encode())
    env = {"FUELPIPE_LAKE": str(folder / "lake"), "FUELPIPE_BACKEND": "embedded"}
    assert CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=env).exit_code == 0

    def run(*args: str) -> str:
        done = CliRunner().invoke(cli, ["stations", "query", "coverage", *args], env=env)
        assert done.exit_code == 0, done.output
        return done.output

    [row] = list(csv.DictReader(io.StringIO(run("-f", "csv"))))
    assert row["observations"] == "1200"
    for table in (run(), run("--wide")):
        assert "1,200" in table and "1200" not in table, table


def _refused(args: list[str], env: dict[str, str]) -> str:
    done = CliRunner().invoke(cli, ["stations", "query", *args], env=env)
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output
    errors = [ln for ln in done.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, done.output
    return errors[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "2025-13-01"], "error: --since '2025-13-01' is not a date (YYYY-MM-DD)"),
        (["--until", "2025-02-30"], "error: --until '2025-02-30' is not a date (YYYY-MM-DD)"),
        (["--since", "01/03/2025"], "error: --since '01/03/2025' is not a date (YYYY-MM-DD)"),
    ],
)
def test_a_bad_date_is_refused_as_status_refuses_it(
    args: list[str], expected: str, env: dict[str, str]
) -> None:
    assert _refused(["state_weekly", "--fuel", "LPG", *args], env) == expected


@pytest.mark.parametrize("text", [None, "a", " b ", "x" * 61])
def test_a_search_without_a_text_to_look_for_is_refused(
    text: str | None, env: dict[str, str]
) -> None:
    args = ["station_search"] + ([] if text is None else ["--text", text])
    line = _refused(args, env)
    if text is None:
        assert line.startswith("error: station_search needs --text")
    else:
        assert line.startswith(f"error: --text {text!r}: give a station name, CNPJ or town")


def test_a_search_with_two_characters_runs(env: dict[str, str]) -> None:
    done = CliRunner().invoke(
        cli, ["stations", "query", "station_search", "--text", "sp", "-f", "csv"], env=env
    )
    assert done.exit_code == 0, done.output
    assert done.output.startswith("cnpj,station,")


def test_a_search_text_is_trimmed_as_the_dashboard_trims_it(env: dict[str, str]) -> None:
    """The real sample's first station name, padded with spaces (synthetic): the same
    stations as without them, as /api/stations/search answers for ``q``."""
    name = real_lines("glp", 1)[1].split(";")[3].strip()

    def search(text: str) -> str:
        args = ["stations", "query", "station_search", "--text", text, "-f", "csv"]
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
        return done.output

    found = search(name)
    assert name in found
    assert search(f"  {name} ") == found


def test_a_table_is_titled_with_the_whole_weeks_it_covers(env: dict[str, str]) -> None:
    """A day of the real sample is answered over its whole survey week: the title says that
    week (Sunday..Saturday), not the day asked for."""
    day = parse_day(real_lines("glp", 1)[1].split(";")[11])
    assert day is not None
    sunday = week_start(day)
    args = ["stations", "query", "dispersion", "--fuel", "LPG", "--since", str(day)]
    done = CliRunner().invoke(cli, [*args, "--until", str(day)], env=env)
    assert done.exit_code == 0, done.output
    assert f"dispersion LPG {sunday}..{sunday + timedelta(days=6)}" in done.output


def test_athena_in_the_embedded_home_says_it_needs_the_aws_home(env: dict[str, str]) -> None:
    line = _refused(["coverage", "--athena"], env)
    assert line.startswith("error: --athena needs the AWS home")
    assert "FUELPIPE_BACKEND is 'embedded'" in line
    assert "region" not in line


@pytest.mark.parametrize("name", ["dispersion", "state_weekly", "brand_national"])
def test_csv_and_json_give_the_figures_as_the_api_does(name: str, env: dict[str, str]) -> None:
    """`-f csv` printed DOUBLEs to their last digit (a mean of 6.33737881508079, a cv of
    0.06269172609838516): csv and json now give each figure to FIGURE_DECIMALS places, as
    /api/stations does, and the same in both."""

    def run(fmt: str) -> str:
        args = ["stations", "query", name, "--fuel", "LPG", "-f", fmt]
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
        return done.output

    rows = list(csv.DictReader(io.StringIO(run("csv"))))
    records = json.loads(run("json"))
    assert rows and len(rows) == len(records)
    floats = [(k, v) for r in records for k, v in r.items() if isinstance(v, float)]
    assert floats, records
    for key, value in floats:
        assert value == round(value, FIGURE_DECIMALS), (key, value)
    assert [{k: str(v) for k, v in r.items() if v is not None} for r in records] == [
        {k: v for k, v in r.items() if v} for r in rows
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0000123, "0.000012"),  # was "1.2e-05"
        (-0.0000001, "0.0"),  # was "-0.0"
        (5.99, "5.99"),
        (6.33737881508079, "6.337379"),
        (1234567.5, "1234567.5"),  # was "1234567.5" already: no exponent above either
        (12, 12),
        ("SP", "SP"),
        (None, None),
    ],
)
def test_a_csv_figure_is_written_in_positional_notation(value: object, text: object) -> None:
    """`stations query -f csv` wrote a figure under 1e-4 as Python does, with an exponent,
    where /api/stations' CSV and the JSON give its decimals."""
    assert figure_text(value) == text


def _town() -> tuple[str, str]:
    """The state and municipality of the real sample's first LPG record."""
    cells = real_lines("glp", 1)[1].split(";")
    return cells[1], cells[2]


@pytest.mark.parametrize("name", ["STATE_WEEKLY", " state_weekly "])
def test_the_query_name_is_read_in_any_case(name: str, env: dict[str, str]) -> None:
    """A query's name in capitals or with spaces around it was "unknown query", while the
    keys, fuels and states beside it are read in any case."""

    def run(name: str) -> str:
        args = ["stations", "query", name, "--fuel", "LPG", "-f", "csv"]
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
        return done.output

    assert run(name) == run("state_weekly")


@pytest.mark.parametrize("fmt", ["CSV", "Json", " table "])
def test_the_format_is_read_in_any_case_as_export_reads_it(fmt: str, env: dict[str, str]) -> None:
    """`-f CSV` was refused while `fuelpipe export -f CSV` and this command's --fuel and
    --state take any case."""

    def run(fmt: str) -> str:
        args = ["stations", "query", "state_weekly", "--fuel", "LPG", "-f", fmt]
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
        return done.output

    assert run(fmt) == run(fmt.strip().lower())


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_a_town_that_matches_none_is_a_note_naming_the_closest(
    fmt: str, env: dict[str, str]
) -> None:
    """`--municipality "SAO PAULOO"` printed `[]` and exit 0, nothing more: stdout stays the
    (empty) result, and stderr says no row matched, the lake's days and the closest names."""
    state, town = _town()
    args = ["municipality_weekly", "--fuel", "LPG", "--state", state, "--municipality"]
    done = CliRunner().invoke(cli, ["stations", "query", *args, town + "X", "-f", fmt], env=env)
    assert done.exit_code == 0, done.output
    if fmt == "json":
        assert json.loads(done.stdout) == []
    elif fmt == "csv":
        assert done.stdout.splitlines()[0].startswith("state,municipality,week,")
        assert len(done.stdout.splitlines()) == 1
    note = " ".join(done.stderr.split())
    assert note.startswith("note: no row: municipality_weekly found nothing for LPG "), note
    assert f"--state {state} --municipality {town + 'X'!r}" in note
    assert "; the lake holds collection days " in note
    assert f"the closest names in {state}: {town}" in note
    assert "station_search --text" in note


def test_a_window_outside_the_lake_is_a_note_with_the_lake_days(env: dict[str, str]) -> None:
    args = ["state_weekly", "--fuel", "LPG", "--since", "1901-01-01", "--until", "1901-02-01"]
    done = CliRunner().invoke(cli, ["stations", "query", *args, "-f", "csv"], env=env)
    assert done.exit_code == 0, done.output
    assert done.stdout == (
        "state,week,stations,observations,mean,median,p10,p90,min_price,max_price,"
        "start,end,covered_start,covered_end\n"
    )
    note = " ".join(done.stderr.split())
    assert note.startswith(
        "note: no row: state_weekly found nothing for LPG 1900-12-30..1901-02-02"
    )
    assert note.endswith(", none in the weeks asked"), note
    assert "the lake holds collection days 2025-" in note


def test_an_until_alone_before_the_lake_is_the_four_weeks_up_to_it(env: dict[str, str]) -> None:
    """Without --since a query covers the 4 weeks up to --until, from the lake's first day at
    the earliest: an --until before that day was refused for that --since, never given
    ("--since 2025-... is after --until 1901-02-01"); now those 4 weeks' note, as when both
    are given."""
    args = ["state_weekly", "--fuel", "LPG", "--until", "1901-02-01"]
    done = CliRunner().invoke(cli, ["stations", "query", *args, "-f", "csv"], env=env)
    assert done.exit_code == 0, done.output
    note = " ".join(done.stderr.split())
    assert note.startswith(  # 1901-01-06..02-01 (a Friday), as whole survey weeks
        "note: no row: state_weekly found nothing for LPG 1901-01-06..1901-02-02"
    ), note
    assert "the lake holds collection days 2025-" in note


def test_a_since_alone_after_the_lake_names_the_lake_s_last_day(env: dict[str, str]) -> None:
    """Without --until a query ends on the lake's last day of its fuel: a --since after it was
    refused as "--since ... is after --until ...", naming an --until never given; now that
    last day, which --until defaults to, and the days the lake holds of the fuel."""
    done = CliRunner().invoke(cli, ["stations", "query", "window", "-f", "json"], env=env)
    assert done.exit_code == 0, done.output
    (window,) = json.loads(done.stdout)
    first, last = date.fromisoformat(window["first_day"]), date.fromisoformat(window["last_day"])
    since = last + timedelta(days=7)
    line = " ".join(_refused(["state_weekly", "--fuel", "LPG", "--since", str(since)], env).split())
    assert line == (
        f"error: --since {since} is after the lake's last LPG collection day {last}, where the "
        f"query ends without --until: the lake holds LPG collection days {first} to {last}"
    ), line


def test_a_query_with_rows_has_no_note(env: dict[str, str]) -> None:
    state, town = _town()
    args = ["municipality_weekly", "--fuel", "LPG", "--state", state, "--municipality", town]
    done = CliRunner().invoke(cli, ["stations", "query", *args, "-f", "json"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) and done.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "2025-01-01"],
        ["--until", "2025-06-30"],
        ["--since", "2025-04-01", "--until", "2025-04-05"],
    ],
)
def test_window_refuses_a_span_as_it_is_the_lake_s_own(
    args: list[str], env: dict[str, str]
) -> None:
    """`window` is the lake's first and last collection day (its first and last month's
    partitions): a span asked for was taken as the two months to read, which answered NULL for a
    span holding the whole lake and days outside a span inside it."""
    line = _refused(["window", *args], env)
    assert line.startswith("error: window does not take --"), line
    assert line.endswith("its options: --format, --athena"), line


def test_window_is_the_whole_lake_s_first_and_last_day(tmp_path: Path) -> None:
    """A lake of three months (the real LPG records, their collection day moved to the 3rd of
    January, February and April 2025: a synthetic edit): the first day is January's, which
    the last four weeks asked for before did not reach."""
    lines = real_lines("glp", 30)
    days = ["03/01/2025", "03/02/2025", "03/04/2025"]
    moved = [lines[0]] + [
        set_cell(line, COLLECTED, days[n % 3]) for n, line in enumerate(lines[1:])
    ]
    path = tmp_path / "three-months.csv"
    path.write_bytes(BOM + "\r\n".join(moved).encode())
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_BACKEND": "embedded"}
    assert CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=env).exit_code == 0
    done = CliRunner().invoke(cli, ["stations", "query", "window", "-f", "csv"], env=env)
    assert done.exit_code == 0, done.output
    assert done.stdout == "first_day,last_day\n2025-01-03,2025-04-03\n"


def test_a_query_without_a_span_covers_its_fuels_last_four_weeks(tmp_path: Path) -> None:
    """In a lake whose fuels end apart (real files: diesel to December 2023, LPG in 2025) a
    query without --since/--until covered the lake's last four weeks, empty for diesel; it
    covers the fuel's own, as the stations page does."""
    lake = fuels_apart_lake(tmp_path, datetime(2025, 4, 22, tzinfo=UTC))
    lake.close()
    env = {
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        "FUELPIPE_DB": str(tmp_path / "x.sqlite"),
        "FUELPIPE_BACKEND": "embedded",
    }
    for fuel, weeks in (
        ("DIESEL", ["2023-12-03", "2023-12-10", "2023-12-17", "2023-12-24"]),
        ("LPG", ["2025-03-23", "2025-03-30", "2025-04-06", "2025-04-13"]),
    ):
        args = ["stations", "query", "dispersion", "--fuel", fuel, "-f", "json"]
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 0, done.output
        assert [r["week"] for r in json.loads(done.stdout)] == weeks, fuel


def test_a_query_without_a_span_covers_four_survey_weeks_when_the_fuel_ends_on_a_friday(
    tmp_path: Path,
) -> None:
    """LPG ends on a Friday (2025-04-18) in a lake holding it from 2025-02-24: the default span
    was the 28 days 2025-03-22..04-18, whose Saturday 03-22 brought in a fifth survey week
    (2025-03-16's). It is the last four survey weeks, 2025-03-23..04-18."""
    lake_ = lpg_earlier_weeks_lake(tmp_path, datetime(2025, 4, 22, tzinfo=UTC))
    lake_.close()
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_BACKEND": "embedded"}
    args = ["stations", "query", "dispersion", "--fuel", "LPG", "-f", "json"]
    done = CliRunner().invoke(cli, args, env=env)
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    weeks = ["2025-03-23", "2025-03-30", "2025-04-06", "2025-04-13"]
    assert [r["week"] for r in rows] == weeks
    assert {(r["start"], r["end"], r["covered_start"]) for r in rows} == {
        ("2025-03-23", "2025-04-18", "2025-03-23")
    }
    since = ["--since", "2025-03-16"]  # the fifth week is there, asked for
    done = CliRunner().invoke(cli, [*args, *since], env=env)
    assert done.exit_code == 0, done.output
    assert [r["week"] for r in json.loads(done.stdout)] == ["2025-03-16", *weeks]


def test_a_figure_with_no_value_is_a_dash_in_the_table_not_none(env: dict[str, str]) -> None:
    """A flag with one price has no standard deviation (null in JSON, empty in CSV): the table,
    default and --wide, printed Python's `None` for it. The first 50 real LPG records."""
    args = ["stations", "query", "brand_national", "--fuel", "LPG"]
    done = CliRunner().invoke(cli, [*args, "-f", "json"], env=env)
    assert done.exit_code == 0, done.output
    single = [r["brand"] for r in json.loads(done.stdout) if r["sd"] is None]
    assert single, done.stdout  # (the sample has flags with one price)
    for wide in ([], ["--wide"]):
        table = CliRunner().invoke(cli, [*args, *wide], env=env)
        assert table.exit_code == 0, table.output
        assert "None" not in table.stdout, table.stdout
        for brand in single:
            (row,) = [ln for ln in table.stdout.splitlines() if f" {brand} " in ln]
            cells = [c.strip() for c in row.strip("│┃ ").split("│")]
            assert cells[cells.index(brand) + 4] == "-", row  # brand, stations, obs, mean, sd


def test_window_and_coverage_of_a_lake_with_no_record_say_it(tmp_path: Path) -> None:
    """A lake whose only file is a header (real) holds no record: `window` printed a row of
    `None`, `coverage` an empty table, neither saying why."""
    path = tmp_path / "header-only.csv"
    path.write_bytes(BOM + real_lines("glp", 0)[0].encode() + b"\r\n")
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_BACKEND": "embedded"}
    assert CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=env).exit_code == 0
    for name in ("window", "coverage"):
        done = CliRunner().invoke(cli, ["stations", "query", name], env=env)
        assert done.exit_code == 0, done.output
        assert "None" not in done.stdout, done.stdout
        assert done.stderr == (
            "note: the lake holds no record yet: run `fuelpipe stations ingest`\n"
        ), done.stderr
    done = CliRunner().invoke(cli, ["stations", "query", "window", "-f", "csv"], env=env)
    assert done.stdout == "first_day,last_day\n,\n"  # machine-readable as ever


def test_a_town_asked_in_another_state_is_a_note_naming_its_state(env: dict[str, str]) -> None:
    """`--state SP --municipality 'Campo Grande'` (a town of MS) said only that none of SP's
    towns is close, or named SP's closest names, other towns: now the note says which
    state holds it and the option to give."""
    args = ["municipality_weekly", "--fuel", "LPG", "--state", "SP", "--municipality"]
    done = CliRunner().invoke(cli, ["stations", "query", *args, "Campo Grande"], env=env)
    assert done.exit_code == 0, done.output
    note = " ".join(done.stderr.split())
    assert "; CAMPO GRANDE is a municipality of MS, not SP: give --state MS" in note, note
    assert "closest names" not in note


def test_a_town_without_the_fuel_asked_is_a_note_naming_the_fuels_it_has(
    env: dict[str, str],
) -> None:
    """`--fuel CNG --state MS --municipality 'CAMPO GRANDE'` (its LPG prices in the lake,
    no CNG) said only that nothing was found, as if the town were unknown: now the note says
    the town has no price of that fuel in those months, and which fuels it has."""
    args = ["municipality_weekly", "--fuel", "CNG", "--state", "MS", "--municipality"]
    since = ["--since", "2025-03-24", "--until", "2025-04-19"]
    done = CliRunner().invoke(cli, ["stations", "query", *args, "campo grande", *since], env=env)
    assert done.exit_code == 0, done.output
    note = " ".join(done.stderr.split())
    assert "; CAMPO GRANDE (MS) has no CNG price in those months, only prices of LPG" in note, note


def test_the_ranking_takes_a_state_as_the_page_s_ranking_does(env: dict[str, str]) -> None:
    """`municipality_ranking --state MG` was refused ("does not take --state") while the
    page and /api/stations/ranking?state=MG rank one state's towns: now it keeps the rows of
    that state, in the national ranking's order, and a state without a town is the no-row
    note naming it."""
    base = ["stations", "query", "municipality_ranking", "--fuel", "LPG", "-f", "csv"]

    def rows(*more: str) -> list[dict[str, str]]:
        done = CliRunner().invoke(cli, [*base, *more], env=env)
        assert done.exit_code == 0, done.output
        return list(csv.DictReader(io.StringIO(done.stdout)))

    every = rows()
    mg = rows("--state", "mg")
    assert mg == [r for r in every if r["state"] == "MG"]
    assert {r["municipality"] for r in mg} == {
        "GOVERNADOR VALADARES",
        "JOAO PINHEIRO",
        "MONTES CLAROS",
    }
    done = CliRunner().invoke(cli, [*base, "--state", "SP"], env=env)
    assert done.exit_code == 0, done.output
    assert len(done.stdout.splitlines()) == 1  # the header alone
    assert "found nothing for LPG " in done.stderr
    assert "--state SP" in " ".join(done.stderr.split())
    assert "municipality_ranking (--fuel --since --until --state)" in _query_help()


def test_a_town_s_weeks_without_a_price_are_a_note(tmp_path: Path) -> None:
    """Real: Belo Horizonte's ethanol prices in the 2025 sample fall in the survey weeks of
    03-23 and 04-13 only. Its weekly rows were those two, with nothing to say that the two
    weeks between had no price (a chart of them draws one line across): a note now names them.
    São Paulo's, with a price every week, gets none."""
    text = real_lines("gasolina-etanol", 10**6)
    towns = (["MG", "BELO HORIZONTE"], ["SP", "SAO PAULO"])
    town = [ln for ln in text[1:] if ln.split(";")[1:3] in towns]
    path = tmp_path / "bh.csv"
    path.write_bytes(BOM + "\r\n".join([text[0], *town]).encode() + b"\r\n")
    env = {"FUELPIPE_LAKE": str(tmp_path / "lake"), "FUELPIPE_BACKEND": "embedded"}
    done = CliRunner().invoke(cli, ["stations", "ingest", str(path)], env=env)
    assert done.exit_code == 0, done.output

    def weekly(fuel: str, state: str, name: str) -> tuple[list[str], str]:
        args = ["municipality_weekly", "--fuel", fuel, "--state", state, "-f", "csv"]
        done = CliRunner().invoke(
            cli, ["stations", "query", *args, "--municipality", name], env=env
        )
        assert done.exit_code == 0, done.output
        weeks = [r["week"] for r in csv.DictReader(io.StringIO(done.stdout))]
        return weeks, " ".join(done.stderr.split())

    weeks, said = weekly("ETHANOL", "MG", "Belo Horizonte")
    assert weeks == ["2025-03-23", "2025-04-13"]
    assert said == (
        "note: BELO HORIZONTE (MG) has no ETHANOL price in the lake in the survey week(s) of "
        "2025-03-30, 2025-04-06, inside the lake's ETHANOL days (2025-03-24 to 2025-04-17): "
        "those weeks have no row"
    )
    weeks, said = weekly("ETHANOL", "SP", "São Paulo")  # a price every week
    assert len(weeks) == 4
    assert said == ""
