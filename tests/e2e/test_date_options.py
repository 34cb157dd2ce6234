"""Every date option of the CLI is read one way, on the real demo store and its station lake:
the spaces around a date are dropped (as a series key's are: `--since ' 2022-01-01'` was
refused while `--series ' X'` was trimmed), a date that is not one is refused naming the
option, the text and the form, and every command that takes a window takes both spellings
(`outlook backtest` had --from/--to, `status` and `stations` --since/--until: a user who
learnt one was refused by the other)."""

from __future__ import annotations

import json

import pytest

from .conftest import fuelpipe

DEMO_NOW = "2022-05-07T23:59"


def _same_output(env: dict[str, str], *runs: list[str]) -> str:
    """Runs each argument list; they must all succeed with the same stdout, which is
    returned."""
    outs = {fuelpipe(*args, env=env).stdout for args in runs}
    assert len(outs) == 1, outs
    return outs.pop()


def test_spaces_around_a_date_are_dropped_in_every_date_option(demo_store) -> None:
    env, _, _ = demo_store
    status = ["status", "--json", "-s", "CURRENCY#USD", "--since"]
    rows = json.loads(_same_output(env, [*status, "2023-01-02"], [*status, " 2023-01-02 "]))
    assert rows[0]["expected"] > 500
    query = ["stations", "query", "state_weekly", "-f", "json", "--since"]
    listed = _same_output(
        env,
        [*query, "2025-04-01", "--until", "2025-04-19"],
        [*query, "\t2025-04-01", "--until", "2025-04-19 "],
    )
    assert json.loads(listed)
    backtest = ["outlook", "backtest", "-f", "GASOLINE", "--json", "--from"]
    scored = _same_output(
        env,
        [*backtest, "2024-01-01", "--to", "2024-03-01"],
        [*backtest, " 2024-01-01", "--to", "2024-03-01 "],
    )
    assert json.loads(scored) and all(r["n"] > 0 for r in json.loads(scored))
    at = ["status", "--json", "-s", "STOCK#PETR3"]
    _same_output(env, ["--now", DEMO_NOW, *at], ["--now", f" {DEMO_NOW} ", *at])
    # a positional DATE too: read as the date it is, and the record is not quarantined
    released = fuelpipe(
        "quarantine", "release", "CURRENCY#USD", " 2022-05-02", env=env, check=False
    )
    assert (released.returncode, released.stderr.splitlines()[-1]) == (
        1,
        "error: CURRENCY#USD 2022-05-02 is not quarantined: its value is stored (OK)",
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["status", "--since", " 2022-13-01"], "--since ' 2022-13-01'"),
        (["stations", "query", "state_weekly", "--until", "2025-02-30 "], "--until '2025-02-30 '"),
        (["outlook", "backtest", "--to", " 31/12/2021"], "--to ' 31/12/2021'"),
        (["quarantine", "release", "CURRENCY#USD", " 2022-1-3"], "DATE ' 2022-1-3'"),
    ],
)
def test_a_bad_date_is_refused_naming_the_option_the_text_and_the_form(
    demo_store, args: list[str], said: str
) -> None:
    env, _, _ = demo_store
    done = fuelpipe(*args, env=env, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == f"error: {said} is not a date (YYYY-MM-DD)"


def test_every_windowed_command_takes_both_spellings_of_its_window(demo_store) -> None:
    env, _, _ = demo_store
    status = ["status", "--json", "-s", "CURRENCY#USD"]
    _same_output(env, [*status, "--since", "2023-01-02"], [*status, "--from", "2023-01-02"])
    for name in ("query", "reconcile"):
        window = ["stations", name, "-f", "json"]
        if name == "query":
            window.append("municipality_ranking")
        _same_output(
            env,
            [*window, "--since", "2025-04-01", "--until", "2025-04-19"],
            [*window, "--from", "2025-04-01", "--to", "2025-04-19"],
        )
    backtest = ["outlook", "backtest", "-f", "GASOLINE", "--json"]
    _same_output(
        env,
        [*backtest, "--from", "2024-01-01", "--to", "2024-03-01"],
        [*backtest, "--since", "2024-01-01", "--until", "2024-03-01"],
    )
    # `run` looks from --since (alias --from): refused here for a date after the demo's
    # clock, before anything is fetched; it was "No such option: --from", then named the
    # refused date "--since 2023-01-02", a spelling the user had not typed
    ran = fuelpipe("run", "-s", "CURRENCY#USD", "--from", "2023-01-02", env=env, check=False)
    assert ran.returncode == 2
    assert ran.stderr.splitlines()[-1].startswith(
        "error: --from 2023-01-02 is after the clock (2022-05-07): run looks for gaps"
    )


def test_a_since_after_the_demo_series_clocks_says_which_date_is_which(demo_store) -> None:
    """`status --since 2030-01-01` on the demo store noted the store's clock (2022-05-07),
    then refused the date as "more than a year after the clock (2026-06-26)": two clocks a
    line apart, and no word on which applied or what to give instead."""
    env, _, _ = demo_store
    done = fuelpipe("status", "--since", "2030-01-01", env=env, check=False)
    assert done.returncode == 2
    note, error = done.stderr.splitlines()
    assert note.startswith("note: this store was filled by `fuelpipe demo`: using its clock 2022")
    assert error == (
        "error: --since 2030-01-01 is after 2026-06-26, the latest of the series' own clocks "
        "(FUEL#GASOLINE#AC's): on this demo store status counts each series up to the end of "
        "its bundled file, not up to the store's clock 2022-05-07 named above; give --since "
        "2026-06-26 or earlier, or --now to look from a later instant"
    )
    given = fuelpipe("status", "--json", "--since", "2026-06-26", env=env)  # as it says
    assert json.loads(given.stdout)
