"""`run`'s cycle summary shows what happened: the counters that are not 0 and those saying the
run's shape (keys scanned, gaps found, messages sent, records written, source requests, due),
then how many counters at 0 it left out; `--all-counters` shows every one, `--json` gives
every one as before. It printed all 38 rows, about 30 of them at 0. The real CLI in a
subprocess, on PTAX's real answers from the replay."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import fuelpipe

from fuelpipe.replay.server import ReplayServer
from fuelpipe.stages.cycle import CycleReport

NOW = "2022-05-07T23:59"
USD = ("--series", "CURRENCY#USD", "--since", "2022-04-01")


def _rows(out: str) -> dict[tuple[str, str], str]:
    """The cycle summary's rows: (stage, counter) -> value as printed."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 3 and cells[0] in ("orchestrate", "scrape", "recheck"):
            rows[(cells[0], cells[1])] = cells[2]
    return rows


def _every_counter() -> set[tuple[str, str]]:
    return {
        (stage, name.replace("_", " "))
        for stage, counters in CycleReport().as_dict().items()
        for name in counters
    }


def test_the_table_leaves_out_the_counters_at_0_and_says_how_many(tmp_path: Path) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    with ReplayServer(quiet=True) as replay:
        first = fuelpipe("--now", NOW, "run", *USD, env={**env, **replay.env()}).stdout
        again = fuelpipe("--now", NOW, "run", *USD, env={**env, **replay.env()}).stdout
    rows = _rows(first)
    written = int(rows[("scrape", "records written")].replace(",", ""))
    assert written > 0, first
    assert rows[("orchestrate", "keys audited")] == "1"  # not the shape, but not 0: shown
    assert ("recheck", "lost race") not in rows and ("scrape", "dead lettered") not in rows
    assert all(v != "0" for k, v in rows.items() if k[1] not in ("due",)), rows
    hidden = len(_every_counter()) - len(rows)
    assert f"{hidden:,} counters at 0 not shown (--all-counters shows every counter)" in first
    _docs_show(first)
    # nothing left to fetch: the shape's counters still say so at 0, the audit done is left out
    rows = _rows(again)
    assert rows[("orchestrate", "gaps found")] == "0"
    assert rows[("scrape", "source requests")] == "0"
    assert rows[("scrape", "records written")] == "0"
    assert ("orchestrate", "keys audited") not in rows


def _docs_show(printed: str) -> None:
    """docs/CLI.md shows this very run's summary, and the number of counters it has: each
    was one behind after a counter was added (the docs said 31 not shown, of 38), and how many
    a quiet run leaves out."""
    docs = (Path(__file__).parents[2] / "docs" / "CLI.md").read_text()
    block = docs.split("the replay serving PTAX):\n\n```\n", 1)[1].split("```", 1)[0]
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if "cycle summary" in line)
    end = next(i for i, line in enumerate(lines) if "not shown" in line)
    assert block.splitlines() == [line.rstrip() for line in lines[start : end + 1]]
    hidden = int(lines[end].split(" counters at 0 not shown", 1)[0].replace(",", ""))
    # and how many a quiet run leaves out, to the nearest ten (it said "about 30" at 39 of 46)
    about = f"(about {round(hidden, -1)} of its {len(_every_counter())} on a quiet"
    assert about in " ".join(docs.split())


def test_all_counters_shows_every_row_and_json_every_counter(tmp_path: Path) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    with ReplayServer(quiet=True) as replay:
        out = fuelpipe(
            "--now", NOW, "run", *USD, "--all-counters", env={**env, **replay.env()}
        ).stdout
    rows = _rows(out)
    assert set(rows) == _every_counter()
    assert rows[("recheck", "lost race")] == "0"
    assert "not shown" not in out

    env = {"FUELPIPE_DB": str(tmp_path / "j.sqlite")}
    with ReplayServer(quiet=True) as replay:
        report = json.loads(
            fuelpipe("--now", NOW, "run", *USD, "--json", env={**env, **replay.env()}).stdout
        )
    sources = report.pop("sources")
    assert set(sources) == {"bcb"}
    assert report.pop("rests") == {}  # no source asked for a pause (its Retry-After)
    assert {k: set(v) for k, v in report.items()} == {
        k: set(v) for k, v in CycleReport().as_dict().items()
    }
    assert report["recheck"]["lost_race"] == 0 and report["scrape"]["records_written"] > 0


def test_all_counters_with_json_is_refused(tmp_path: Path) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite")}
    done = fuelpipe("run", "--json", "--all-counters", *USD, env=env, check=False)
    assert done.returncode == 2, done
    assert "--json always gives every counter" in done.stderr
    assert not (tmp_path / "s.sqlite").exists()  # refused before a store was made
