"""`fuelpipe outlook backtest` on the bundled history, and `outlook show` on a real store."""

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.outlook.conftest import store_known
from typer.testing import CliRunner

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.main import cli
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.keys import fuel_key, outlook_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.install_hint import install_hint
from fuelpipe.outlook.params import HORIZONS
from fuelpipe.stages.outlook import refresh_outlook

from .conftest import DATASETS

SP = ZoneInfo("America/Sao_Paulo")
FIELDS = {"fuel", "area", "horizon", "n", "mae", "naive_mae", "ratio", "bias", "coverage80",
          "coverage95", "dm_p", "no_change_n", "coverage80_model", "coverage95_model"}  # fmt: skip


def test_backtest_prints_every_field_per_fuel_area_and_horizon():
    result = CliRunner().invoke(
        cli,
        [
            "outlook",
            "backtest",
            "--fuel",
            "GASOLINE",
            "--fuel",
            "LPG",
            "--from",
            "2024-01-01",
            "--to",
            "2025-12-31",
            "--history",
            str(DATASETS),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    # every horizon the outlook serves: 3 and 5 weeks were served but not backtested
    assert [(r["fuel"], r["horizon"]) for r in rows] == [
        (f, h) for f in ("GASOLINE", "LPG") for h in HORIZONS
    ]
    assert HORIZONS == (1, 2, 3, 4, 5)
    assert all(set(r) == FIELDS and r["area"] == "BR" for r in rows)
    assert all(100 <= r["n"] <= 105 for r in rows)  # two years of survey weeks
    assert all(abs(r["ratio"] - r["mae"] / r["naive_mae"]) < 0.01 for r in rows)
    assert all(0.0 <= r["dm_p"] <= 1.0 for r in rows)  # Diebold-Mariano, vs no-change
    assert all(r["no_change_n"] == 0 for r in rows)  # Brazil's own model: no fallback
    assert all(r["coverage80_model"] == r["coverage80"] for r in rows)  # so its every week
    assert all(r["coverage95_model"] == r["coverage95"] for r in rows)


def test_a_states_backtest_is_the_pooled_panels():
    """`--area UF` scores the state as its forecast is served: by the fit pooled over every
    state of the fuel (real bundled state files since 2024-06), not by its own regression."""
    from datetime import date

    from fuelpipe.adapters.history_files import (
        BRENT_FUTURES_KEY,
        BRENT_KEY,
        USD_KEY,
        load_history,
    )
    from fuelpipe.domain.catalog import STATES
    from fuelpipe.outlook.backtest import (
        model_weeks,
        score,
        served_score,
        walk_forward_panel,
        walk_forward_segments,
    )
    from fuelpipe.outlook.series import Lags, inputs_for

    args = ["outlook", "backtest", "--fuel", "ETHANOL", "--area", "SP", "--from", "2025-06-01"]
    result = CliRunner().invoke(cli, [*args, "--history", str(DATASETS), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    history = load_history(DATASETS)
    lags = Lags.from_catalog(DEFAULT_CATALOG)

    def inputs(uf):
        return inputs_for(
            history.series,
            f"FUEL#ETHANOL#{uf}",
            usd_key=USD_KEY,
            brent_key=BRENT_KEY,
            futures_key=BRENT_FUTURES_KEY,
        )

    members = {uf: inputs(uf) for uf in STATES if f"FUEL#ETHANOL#{uf}" in history.series}
    national = inputs("BR")
    scored = walk_forward_panel(members, date(2025, 6, 1), None, lags, national=national)["SP"]
    pooled = score(scored)
    alone = score(walk_forward_panel(members, date(2025, 6, 1), None, lags)["SP"])
    assert [r["mae"] for r in rows] != [round(s.mae, 4) for s in alone]  # Brazil leads it
    own = score(walk_forward_segments(inputs("SP"), date(2025, 6, 1), None, lags))
    assert [r["n"] for r in rows] == [s.n for s in pooled]
    assert [r["mae"] for r in rows] != [round(s.mae, 4) for s in own]
    # Brazil's bundled file ends 2026-03-08: the later weeks are the no-change fallback,
    # counted beside and left out of the comparison, as the dashboard's (served_score)
    led = score(model_weeks(scored))
    assert [r["no_change_n"] for r in rows] == [s.no_change_n for s in pooled]
    assert all(0 < r["no_change_n"] < r["n"] for r in rows)
    assert [r["ratio"] for r in rows] == [round(s.ratio, 3) for s in led]
    assert [r["ratio"] for r in rows] != [round(s.ratio, 3) for s in pooled]
    assert [r["mae"] for r in rows] == [round(s.mae, 4) for s in led]
    # the bands' coverage over every scored week, and over the model's own beside it
    assert [r["coverage80"] for r in rows] == [round(s.coverage80, 3) for s in pooled]
    assert [r["coverage80_model"] for r in rows] == [round(s.coverage80, 3) for s in led]
    assert [r["coverage95_model"] for r in rows] == [round(s.coverage95, 3) for s in led]
    assert rows == [{"fuel": "ETHANOL", "area": "SP"} | s.as_dict() for s in served_score(scored)]


def test_backtest_without_history_says_so_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["outlook", "backtest", "--history", str(tmp_path), "--json"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no bundled history found" in lines[0]


def test_backtest_with_a_file_for_its_history_says_it_is_not_a_folder(tmp_path):
    file = tmp_path / "history.csv"
    file.write_text("not a folder\n")
    result = CliRunner().invoke(cli, ["outlook", "backtest", "--history", str(file), "--json"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"--history {file}: not a folder" in lines[0]


def test_backtest_rejects_an_unknown_fuel():
    result = CliRunner().invoke(cli, ["outlook", "backtest", "--fuel", "KEROSENE"])
    assert result.exit_code == 2
    assert "--fuel KEROSENE" in result.output


def test_a_fuel_or_area_given_twice_is_backtested_once():
    """`--fuel LPG --fuel lpg` (the same fuel in another case) ran the backtest twice and
    printed each row twice."""

    def rows(*picked: str) -> list[tuple[str, str, int]]:
        args = ["outlook", "backtest", *picked, "--from", "2024-01-01", "--to", "2025-12-31"]
        result = CliRunner().invoke(cli, [*args, "--history", str(DATASETS), "--json"])
        assert result.exit_code == 0, result.output
        return [(r["fuel"], r["area"], r["horizon"]) for r in json.loads(result.stdout)]

    once = rows("--fuel", "LPG", "--area", "BR")
    assert once == [("LPG", "BR", h) for h in HORIZONS]
    assert rows("--fuel", "LPG", "--fuel", " lpg", "--area", "BR", "--area", "br") == once


def test_show_prints_the_stored_nowcast(tmp_path, history):
    now = datetime(2024, 3, 20, 18, 0, tzinfo=SP)
    db = tmp_path / "store.sqlite"
    store = SqliteStore(db)
    store_known(
        store,
        history,
        ("FUEL#DIESEL_S10#BR", "CURRENCY#USD", "COMMODITY#BRENT", "COMMODITY#BRENT_FUTURES"),
        now,
    )
    refresh_outlook(store, DEFAULT_CATALOG, now, keys=["FUEL#DIESEL_S10#BR"])
    store.close()
    result = CliRunner().invoke(
        cli, ["outlook", "show", "--fuel", "DIESEL_S10", "--json"], env={"FUELPIPE_DB": str(db)}
    )
    assert result.exit_code == 0, result.output
    (shown,) = json.loads(result.stdout)
    assert shown["last_week"] == "2024-03-10"
    assert (shown["stale_drivers"], shown["drivers_dropped"]) == ([], False)  # all current
    assert [s["week"] for s in shown["steps"]][:2] == ["2024-03-17", "2024-03-24"]
    assert all(
        s["lo95"] <= s["lo80"] <= s["point"] <= s["hi80"] <= s["hi95"] for s in shown["steps"]
    )
    # "as of" in UTC in the JSON, as every CLI JSON's instants; São Paulo time in the table
    assert shown["as_of"] == "2024-03-20T21:00:00+00:00"
    table = CliRunner().invoke(
        cli,
        ["outlook", "show", "--fuel", "DIESEL_S10"],
        env={"FUELPIPE_DB": str(db), "COLUMNS": "200"},
    )
    assert table.exit_code == 0, table.output
    assert "2024-03-20T18:00-03:00" in table.output


def _strict(constant: str) -> float:
    raise ValueError(f"not JSON: {constant}")


def _two_synthetic_states(tmp_path) -> Path:
    """A store of two SYNTHETIC states' gasoline (a repeating five-step pattern, no Brazil
    series, no driver) and the outlook refreshed from them: a fallback forecast each."""
    first, weeks = date(2024, 6, 2), 100
    db = tmp_path / "store.sqlite"
    store = SqliteStore(db)
    for uf, base in (("SP", 5.8), ("RJ", 6.1)):
        store.put_records(
            [
                Record(f"FUEL#GASOLINE#{uf}", first + timedelta(weeks=i), price, Status.OK)
                for i in range(weeks)
                for price in [Decimal(f"{base + 0.01 * ((i * 7) % 5):.3f}")]
            ]
        )
    as_of = datetime.combine(first + timedelta(weeks=weeks - 1, days=6), time(), SP)
    keys = ["FUEL#GASOLINE#SP", "FUEL#GASOLINE#RJ"]
    assert refresh_outlook(store, DEFAULT_CATALOG, as_of, keys=keys).made == 2
    store.close()
    return db


def test_show_prints_valid_json_for_a_fallback_without_a_driver_move(tmp_path):
    """Two SYNTHETIC states (a repeating five-step pattern, no Brazil series, no driver stored):
    their forecasts are the no-change fallback with no driver move. `show --json` prints it as
    null (not ``NaN``, which is not JSON), and the store holds none."""
    db = _two_synthetic_states(tmp_path)
    store = SqliteStore(db)
    (stored,) = store.query(outlook_key("GASOLINE", "SP"))
    assert stored.attrs.get("driver_move") is None and stored.attrs["no_change"] == "no_national"
    store.close()
    result = CliRunner().invoke(
        cli,
        ["outlook", "show", "--fuel", "GASOLINE", "--area", "SP", "--json"],
        env={"FUELPIPE_DB": str(db)},
    )
    assert result.exit_code == 0, result.output
    (shown,) = json.loads(result.stdout, parse_constant=_strict)
    assert (shown["method"], shown["driver_move"]) == ("no_change", None)
    # the bare command (Brazil, which has none here) names the areas that have one, as on
    # the demo store, instead of advising a `run` that would store none for Brazil
    bare = CliRunner().invoke(cli, ["outlook", "show"], env={"FUELPIPE_DB": str(db)})
    assert bare.exit_code == 0, bare.output
    assert "no stored outlook for BR; stored for: RJ, SP (`--area RJ`)" in bare.output
    assert "fuelpipe run" not in bare.output


def test_fuels_and_areas_may_be_comma_separated():
    """`--fuel gasoline,lpg -a sp,br` was refused ("--fuel GASOLINE,LPG: choose from ..."),
    though `--series` and `stations reconcile --state` take a comma-separated list: it is the
    fuels and areas it names, as the repeated options give them."""

    def rows(*picked: str) -> list[tuple[str, str, int]]:
        args = ["outlook", "backtest", *picked, "--from", "2024-01-01", "--to", "2025-12-31"]
        result = CliRunner().invoke(cli, [*args, "--history", str(DATASETS), "--json"])
        assert result.exit_code == 0, result.output
        return [(r["fuel"], r["area"], r["horizon"]) for r in json.loads(result.stdout)]

    repeated = rows("--fuel", "LPG", "--fuel", "GASOLINE", "--area", "BR")
    assert {(f, a) for f, a, _h in repeated} == {("LPG", "BR"), ("GASOLINE", "BR")}
    assert rows("--fuel", "lpg, gasoline,", "--area", "br") == repeated


def test_a_blank_fuel_or_area_list_and_two_areas_to_show_are_refused(tmp_path):
    """`-f ,` said "--fuel : choose from ..."; `outlook show -a sp,rj`, which shows one area,
    is refused naming both rather than taken as an area named 'SP,RJ'."""
    env = {"FUELPIPE_DB": str(tmp_path / "none.sqlite")}
    for args, said in [
        (["outlook", "backtest", "--fuel", ","], "error: --fuel is blank: choose from GASOLINE"),
        (["outlook", "show", "--area", " "], "error: --area is blank: choose from BR"),
        (["outlook", "show", "-a", "sp,rj"], "error: --area takes one area, not SP, RJ"),
    ]:
        done = CliRunner().invoke(cli, args, env=env)
        assert done.exit_code == 2, done.output
        assert done.output.startswith(said), done.output
    assert not (tmp_path / "none.sqlite").exists()


def test_show_of_a_fuel_without_an_outlook_names_that_fuel_and_those_that_have_one(tmp_path):
    """`outlook show --fuel DIESEL --area SP` said "no stored outlook for SP yet: `fuelpipe
    run` stores one once a fuel has 83 published weeks", though SP has one for gasoline (the
    demo's states do): it names the fuel asked for, and the fuels that have one there."""
    env = {"FUELPIPE_DB": str(_two_synthetic_states(tmp_path))}
    args = ["outlook", "show", "--fuel", "diesel", "--area", "SP"]
    done = CliRunner().invoke(cli, args, env=env)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        "no stored outlook for DIESEL in SP; stored there for: GASOLINE (`--fuel GASOLINE`)"
    ]
    nowhere = CliRunner().invoke(cli, ["outlook", "show", "--fuel", "DIESEL"], env=env)
    assert nowhere.stdout.splitlines() == [
        "no stored outlook for DIESEL in BR yet: no weekly price of DIESEL in BR is stored; "
        "`fuelpipe run` stores one once a fuel has 83 published weeks"
    ]


def test_show_with_no_outlook_says_whether_a_price_asked_for_is_stored(tmp_path):
    """With no stored outlook, no reason recorded and none elsewhere, `outlook show` said
    "`fuelpipe run` stores one once a fuel has 83 published weeks" alike on a store with no
    ANP price and on one whose prices await their first refresh (the page says "0 stored"):
    it says when no price asked for is stored. SYNTHETIC prices, ten weeks of one fuel."""
    db = tmp_path / "store.sqlite"
    store = SqliteStore(db)
    store.put_records(
        [
            Record(fuel_key("GASOLINE", "BR"), date(2025, 1, 5) + timedelta(weeks=i), p, Status.OK)
            for i in range(10)
            for p in [Decimal("6.1")]
        ]
    )
    store.close()
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}
    lines = {
        fuels: CliRunner().invoke(cli, ["outlook", "show", *fuels], env=env).stdout.splitlines()
        for fuels in ((), ("--fuel", "GASOLINE"), ("--fuel", "LPG"))
    }
    wait = "`fuelpipe run` stores one once a fuel has 83 published weeks"
    assert lines[()] == [f"no stored outlook for BR yet: {wait}"]  # gasoline's are stored
    assert lines[("--fuel", "GASOLINE")] == [f"no stored outlook for GASOLINE in BR yet: {wait}"]
    assert lines[("--fuel", "LPG")] == [
        f"no stored outlook for LPG in BR yet: no weekly price of LPG in BR is stored; {wait}"
    ]


def test_show_names_a_fuel_asked_for_with_no_outlook_under_the_others_table(tmp_path):
    """`outlook show --fuel GASOLINE,DIESEL --area SP` printed gasoline's table and left diesel
    out unsaid when no refresh had recorded why it has none (the demo's states hold no diesel
    price): a fuel asked for by name is never dropped silently, in the table or with --json."""
    db = _two_synthetic_states(tmp_path)
    env = {"FUELPIPE_DB": str(db), "COLUMNS": "200"}
    args = ["outlook", "show", "--fuel", "gasoline,diesel", "--area", "SP"]
    done = CliRunner().invoke(cli, args, env=env)
    assert done.exit_code == 0, done.output
    assert "GASOLINE" in done.stdout  # the table
    assert "note: DIESEL: no stored outlook: no FUEL#DIESEL#SP price is stored" in done.stdout
    as_json = CliRunner().invoke(cli, [*args, "--json"], env=env)
    assert [r["fuel"] for r in json.loads(as_json.stdout)] == ["GASOLINE"]
    assert "note: DIESEL: no stored outlook: no FUEL#DIESEL#SP price is stored" in as_json.stderr
    # a price stored, but no refresh since: none made yet, not "no price"
    store = SqliteStore(db)
    store.put_records([Record("FUEL#DIESEL#SP", date(2026, 5, 3), Decimal("6.1"), Status.OK)])
    store.close()
    later = CliRunner().invoke(cli, args, env=env)
    assert (
        "note: DIESEL: no stored outlook: none made yet: `fuelpipe run` stores one once a fuel "
        "has 83 published weeks"
    ) in " ".join(later.stdout.split())
    # the bare command (every fuel) lists no note for each fuel SP has no price of
    bare = CliRunner().invoke(cli, ["outlook", "show", "--area", "SP"], env=env)
    assert "no stored outlook" not in bare.stdout


def test_show_help_says_where_the_accuracy_is():
    """`outlook show` prints a nowcast with bands and no word on whether it beats no change
    (for LPG it does not, docs/OUTLOOK.md): its help says where that is."""
    done = CliRunner().invoke(cli, ["outlook", "show", "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    said = " ".join(done.stdout.split())
    assert "whether the model beats the no-change forecast" in said
    assert "`fuelpipe outlook backtest`" in said and "Outlook view" in said


def test_outlook_without_numpy_prints_one_line_and_exits_2(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['numpy'] = None\n"  # how Python marks an absent module
        "from fuelpipe.cli.main import cli\n"
        "cli(sys.argv[1:], prog_name='fuelpipe')\n"
    )
    for args in (["outlook", "backtest", "--json"], ["outlook", "show"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "PATH": "/usr/bin:/bin"},
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and install_hint("dashboard") in lines[0], done.stderr
        assert "Traceback" not in done.stderr


def _synthetic_brazil(tmp_path: Path, *, drivers: bool) -> Path:
    """A store of SYNTHETIC Brazil series (a repeating five-step pattern): gasoline and LPG
    with 100 weeks, CNG with 40 (short of the model's 83), SYNTHETIC daily PTAX and Brent
    when ``drivers``; and the outlook refreshed from them."""
    first, weeks = date(2022, 6, 5), 100
    db = tmp_path / "store.sqlite"
    store = SqliteStore(db)
    for fuel, base, count in (("GASOLINE", 5.8, weeks), ("LPG", 100.0, weeks), ("CNG", 4.5, 40)):
        store.put_records(
            [
                Record(fuel_key(fuel, "BR"), first + timedelta(weeks=i), price, Status.OK)
                for i in range(weeks - count, weeks)
                for price in [Decimal(f"{base * (1 + 0.002 * ((i * 7) % 5)):.3f}")]
            ]
        )
    if drivers:
        days = [first - timedelta(days=400 - d) for d in range(400 + 7 * weeks)]
        for key, base in (("CURRENCY#USD", 5.0), ("COMMODITY#BRENT", 80.0)):
            store.put_records(
                [
                    Record(key, d, Decimal(f"{base * (1 + 0.01 * (i % 3)):.4f}"), Status.OK)
                    for i, d in enumerate(days)
                    if d.weekday() < 5
                ]
            )
    as_of = datetime.combine(first + timedelta(weeks=weeks - 1, days=8), time(), SP)
    refresh_outlook(store, DEFAULT_CATALOG, as_of, keys=[fuel_key(f, "BR") for f in FUELS])
    store.close()
    return db


FUELS = ("GASOLINE", "LPG", "CNG")


def test_show_says_why_a_fuel_asked_for_has_no_stored_outlook(tmp_path):
    """SYNTHETIC Brazil series. `outlook show` left out a fuel without a stored forecast
    unsaid (CNG, 40 weeks, under the table of the others), and with none stored said "`fuelpipe
    run` stores one once a fuel has 83 published weeks" of LPG's 100, which the refresh found
    no forecast for as no driver was stored: the refresh recorded why, as /api/outlook's page
    says it; show says it too, per fuel."""
    env = {"FUELPIPE_DB": str(_synthetic_brazil(tmp_path, drivers=True)), "COLUMNS": "200"}
    shown = CliRunner().invoke(cli, ["outlook", "show", *(f"--fuel={f}" for f in FUELS)], env=env)
    assert shown.exit_code == 0, shown.output
    assert "GASOLINE" in shown.stdout and "LPG" in shown.stdout  # the table
    assert (
        "note: CNG: no stored outlook: the last refresh made none from the week of 2024-04-28"
        " (too_short: FUEL#CNG#BR: 40 published weeks, the model needs 83)"
    ) in " ".join(shown.stdout.split())
    as_json = CliRunner().invoke(cli, ["outlook", "show", "--json"], env=env)
    assert [r["fuel"] for r in json.loads(as_json.stdout)] == ["GASOLINE", "LPG"]  # unchanged
    assert "note: CNG: no stored outlook: the last refresh made none" in as_json.stderr  # why

    env["FUELPIPE_DB"] = str(_synthetic_brazil(tmp_path / "bare", drivers=False))
    none = CliRunner().invoke(cli, ["outlook", "show", "--fuel=LPG", "--fuel=CNG"], env=env)
    assert none.exit_code == 0, none.output
    assert " ".join(none.stdout.split()) == (
        "no stored outlook for LPG, CNG in BR: "
        "LPG: the last refresh made none from the week of 2024-04-28 (no_forecast: FUEL#LPG#BR:"
        " 100 published weeks, but too few have their outcome h weeks on published (survey"
        " pauses) or the drivers have no value; the model needs 83 weeks without a pause); "
        "CNG: the last refresh made none from the week of 2024-04-28 (too_short: FUEL#CNG#BR:"
        " 40 published weeks, the model needs 83)"
    )


def test_fuels_the_refresh_gave_one_reason_for_are_named_once_with_it():
    """`outlook show --area REGION_N` on the demo store said one sentence seven times over
    (six fuels 51 weeks short at one week, CNG 44): nine wrapped lines to read for two reasons.
    Fuels with the same reason are named together before it, the reason said once, without
    the series key the refresh's line starts with; a fuel alone keeps its words as they were."""
    from fuelpipe.cli.outlook import grouped_whys
    from fuelpipe.stages.outlook import SkipReason

    week = date(2022, 5, 1)

    def short(fuel: str, weeks: int) -> tuple[str, SkipReason]:
        why = f"FUEL#{fuel}#REGION_N: {weeks} published weeks, the model needs 83"
        return fuel, SkipReason("too_short", week, why)

    missing = [short("GASOLINE", 51), short("ETHANOL", 51), short("CNG", 44), short("LPG", 51)]
    assert grouped_whys(missing, "REGION_N") == (
        "GASOLINE, ETHANOL, LPG: the last refresh made none from the week of 2022-05-01 "
        "(too_short: 51 published weeks, the model needs 83); "
        "CNG: the last refresh made none from the week of 2022-05-01 "
        "(too_short: FUEL#CNG#REGION_N: 44 published weeks, the model needs 83)"
    )
    failed = ("DIESEL", SkipReason("failed", week, "boom"))  # a line not starting with its key
    assert grouped_whys([failed, ("LPG", SkipReason("failed", week, "boom"))], "BR") == (
        "DIESEL, LPG: the last refresh made none from the week of 2022-05-01 (failed: boom)"
    )


def test_backtest_json_help_says_what_each_object_is_and_its_field_names():
    """`outlook backtest --help` said "--json  Print a JSON array." and no more: its objects'
    names differ from the table's headers (fallback, cov80), which a script reading them
    could only find by running it."""
    done = CliRunner().invoke(cli, ["outlook", "backtest", "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    said = " ".join(done.stdout.replace("│", " ").split())
    assert "Print a JSON array, one object per fuel, area and horizon" in said
    named = "(h: horizon; fallback: no_change_n; cov80: coverage80; cov80 model: coverage80_model)"
    assert named in said
