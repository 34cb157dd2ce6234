"""`fuelpipe outlook show`'s table on `fuelpipe demo`'s store: the default fits a 100-column
terminal with "as of" in its title, `--wide` has it on every row."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.e2e.conftest import fuelpipe, on_terminal
from tests.support.tables import TERMINAL, box_lines, cells, widest

SP = ("outlook", "show", "--area", "SP")


def _as_of(env: dict[str, str]) -> dict[str, datetime]:
    """Each fuel's "as of" from `--json`: an instant in UTC, as every CLI JSON gives one
    (`status --json`'s published_at and stored_at); it gave São Paulo time (-03:00)."""
    rows = json.loads(fuelpipe(*SP, "--json", env=env).stdout)
    out = {r["fuel"]: datetime.fromisoformat(r["as_of"]) for r in rows}
    assert all(r["as_of"].endswith("+00:00") for r in rows), rows
    return out


def _same_minute(json_at: datetime, shown: str) -> bool:
    """Whether the table's "as of" (São Paulo time to the minute, with its offset) is the
    JSON's instant: the instants compared, not the strings (the zones differ)."""
    at = datetime.fromisoformat(shown)
    return at.utcoffset() == SAO_PAULO_OFFSET and at == json_at.replace(second=0, microsecond=0)


SAO_PAULO_OFFSET = timedelta(hours=-3)  # no daylight saving since 2019


def test_the_default_table_fits_a_100_column_terminal(demo_store):
    """Gasoline and ethanol, 5 weeks each (the table was 109 wide, "as of" cut when squeezed)."""
    env, _, _ = demo_store
    done = fuelpipe(*SP, env=env)
    table = box_lines(done.stdout)
    assert widest(table) <= TERMINAL, "\n".join(table[:3])
    (as_of,) = set(_as_of(env).values())  # one refresh made both
    title = done.stdout.splitlines()[0].strip()
    assert title.startswith("SP, as of ")
    assert _same_minute(as_of, title.removeprefix("SP, as of ")), (title, as_of)
    row = cells(table, "GASOLINE", "2026-06-21", "6.450", "2026-06-28")
    assert "as of" not in row
    assert (row["nowcast"], row["80%"], row["95%"]) == ("6.450", "6.418–6.482", "6.360–6.542")


def test_brazil_on_a_100_column_terminal_shows_every_figure_whole(demo_store):
    """Brazil's seven fuels: GASOLINE_PREMIUM's name and LPG's three-digit bands made the table
    102 wide, and squeezed onto 100 columns it cut LPG's 95% band (`110.555–112.8…`). Now a
    fuel's name folds over two lines and every figure is whole."""
    env, _, _ = demo_store
    table = box_lines(on_terminal("outlook", "show", env=env, columns=TERMINAL))
    assert widest(table) <= TERMINAL, "\n".join(table[:3])
    assert not any("…" in ln for ln in table), "\n".join(ln for ln in table if "…" in ln)
    steps = json.loads(fuelpipe("outlook", "show", "--fuel", "LPG", "--json", env=env).stdout)
    (lpg,) = steps
    step = lpg["steps"][-1]
    row = cells(table, "LPG", lpg["last_week"], f"{lpg['last_price']:.3f}", step["week"])
    assert row["95%"] == f"{step['lo95']:.3f}–{step['hi95']:.3f}"
    assert row["80%"] == f"{step['lo80']:.3f}–{step['hi80']:.3f}"
    fuels = [ln.split("│")[1].strip() for ln in table if ln.startswith("│")]
    assert "GASOLINE_PREMI" in fuels and "UM" in fuels  # folded, not cut


def test_wide_has_as_of_on_every_row(demo_store):
    env, _, _ = demo_store
    as_of = _as_of(env)
    table = box_lines(fuelpipe(*SP, "--wide", env=env).stdout)
    rows = [ln for ln in table if ln.startswith("│")]
    assert len(rows) == 10
    last = {"GASOLINE": "6.450", "ETHANOL": "3.820"}
    for fuel, at in as_of.items():
        shown = [ln.split("│")[2].strip() for ln in rows if ln.split("│")[1].strip() == fuel]
        assert shown and shown[0], (fuel, rows)  # on the fuel's first row (the rest continue)
        assert _same_minute(at, shown[0]), (fuel, shown, at)
        row = cells(table, fuel, shown[0], "2026-06-21", last[fuel], "2026-06-28")
        assert row["as of"] == shown[0]
    helped = " ".join(fuelpipe("outlook", "show", "--help", env=env).stdout.split())
    assert "--wide puts it on every row" in helped


def test_a_stale_driver_is_noted_once_for_every_fuel_it_holds_for(demo_store):
    """Brazil's seven fuels share BZ=F, bundled to the snapshot window's end: `outlook show`
    printed the same note seven times, one per fuel, its date coloured (the other notes are
    printed plain). Now one line names the fuels; one fuel asked for is named."""
    env, _, _ = demo_store
    done = fuelpipe("outlook", "show", env={**env, "FORCE_COLOR": "1", "COLUMNS": "200"})
    notes = [ln for ln in done.stdout.splitlines() if "has no value after" in ln]
    assert notes == ["note: all 7 fuels: futures has no value after 2022-05-06 (driver kept)"]
    lpg = fuelpipe("outlook", "show", "--fuel", "LPG", env={**env, "COLUMNS": "200"}).stdout
    assert "note: LPG: futures has no value after 2022-05-06 (driver kept)" in lpg.splitlines()
    sp = fuelpipe(*SP, env={**env, "COLUMNS": "200"}).stdout
    assert [ln for ln in sp.splitlines() if "has no value after" in ln] == [
        "note: both fuels: brent has no value after 2026-05-01 (not used: the forecast is no "
        "change)",
        "note: both fuels: futures has no value after 2022-05-06 (not used: the forecast is no "
        "change)",
    ]
