"""`outlook show --json` with nothing to show: stdout stays valid JSON (``[]``), and stderr
says why it is empty and what to run, as the table form says it on stdout. It printed ``[]``
and nothing else, which reads as "no forecast at all" on a store that has some elsewhere."""

from __future__ import annotations

import json

from fuelpipe.domain.catalog import STATES

from .conftest import EMPTY_RUN, fuelpipe


def test_an_empty_store_prints_an_empty_array_and_says_what_stores_one(tmp_path) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "fuelpipe.sqlite"), "FUELPIPE_LAKE": str(tmp_path / "l")}
    fuelpipe(*EMPTY_RUN, env=env)
    done = fuelpipe("outlook", "show", "--json", env=env)
    assert json.loads(done.stdout) == []
    assert done.stderr.splitlines() == [
        "no stored outlook for BR yet: no weekly price of BR is stored; `fuelpipe run` stores "
        "one once a fuel has 83 published weeks"
    ]
    table = fuelpipe("outlook", "show", env=env)  # the same words the table form prints
    assert table.stdout.splitlines() == done.stderr.splitlines()


def test_the_demo_store_names_the_areas_and_fuels_that_have_one(demo_store) -> None:
    env, _, _ = demo_store
    # Brazil's real weeks run to 2026-03-08 in the demo: one stored outlook per fuel
    brazil = json.loads(fuelpipe("outlook", "show", "--json", env=env).stdout)
    assert len({row["fuel"] for row in brazil}) == 7
    assert {row["last_week"] for row in brazil} == {"2026-03-08"}
    region = fuelpipe("outlook", "show", "--json", "--area", "REGION_SE", env=env)
    assert json.loads(region.stdout) == []
    demo_clock, *lines = region.stderr.splitlines()  # the demo store's own first note
    assert demo_clock.startswith("note: this store was filled by `fuelpipe demo`")
    said = " ".join(" ".join(lines).split())  # the console wraps at its width
    # why the region has none (the demo's 51 weeks: said once, after the fuels it holds for;
    # it was said seven times over), then where one is: it named none before
    assert said.startswith(
        "no stored outlook for REGION_SE: GASOLINE, GASOLINE_PREMIUM, ETHANOL, DIESEL, "
        "DIESEL_S10, LPG, CNG: the last refresh made none from the week of 2022-05-01 "
        "(too_short: 51 published weeks, the model needs 83); stored for: "
    )
    listed, hint = said.rsplit("; stored for: ", 1)[1].split(" (")
    assert sorted(listed.split(", ")) == sorted(["BR", *STATES]) and hint == "`--area BR`)"
    table = fuelpipe("outlook", "show", "--area", "REGION_SE", env=env)  # the same on stdout
    assert " ".join(table.stdout.split()).startswith(said)  # then its demo-clock note
    diesel = fuelpipe("outlook", "show", "--json", "--fuel", "DIESEL", "--area", "SP", env=env)
    assert json.loads(diesel.stdout) == []
    assert diesel.stderr.splitlines()[1:] == [
        "no stored outlook for DIESEL in SP; stored there for: GASOLINE, ETHANOL "
        "(`--fuel GASOLINE`)"
    ]
