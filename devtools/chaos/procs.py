"""One pipeline process of the concurrency test: an orchestrator or a worker, run in rounds.

``python -m devtools.chaos.procs ROLE NAME DIR`` builds the embedded home from the
``FUELPIPE_*`` environment (like the CLI) and then follows files the test writes in DIR:

- ``round-K.json`` ``{"now": ISO, "series": [...], "since": DATE}`` starts round K at that
  business time (``"stop": true`` ends the process);
- an orchestrator runs orchestrate in round 0 and recheck in later rounds, then writes
  ``done-K-NAME.json`` with its report;
- a worker drains the queue until ``closed-K`` exists (every orchestrator of the round is done)
  and a drain finds nothing visible or in flight, then writes ``done-K-NAME.json``.

Processes are started once and reused for every round, so the test pays the imports once.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.domain.keys import parse_date_key
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings, parse_now
from fuelpipe.stages.cycle import drain
from fuelpipe.stages.orchestrate import OrchestrateReport, orchestrate
from fuelpipe.stages.recheck import RecheckReport, recheck
from fuelpipe.stages.scrape import ScrapeReport

POLL_S = 0.01


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(POLL_S)


def _write(path: Path, payload: Mapping[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.rename(path)  # atomic: the test never reads half a file


def main(role: str, name: str, where: str) -> int:
    """Follow the rounds until told to stop."""
    folder = Path(where)
    settings = Settings()
    clock = ManualClock(settings.now or parse_now("2022-05-07T00:30"))
    app = build_context(settings, clock=clock)
    _write(folder / f"ready-{name}.json", {})
    try:
        for k in range(1000):
            _wait_for(folder / f"round-{k}.json")
            spec = json.loads((folder / f"round-{k}.json").read_text())
            if spec.get("stop"):
                return 0
            clock.set(parse_now(spec["now"]))
            series = app.catalog.select(spec["series"])
            report: OrchestrateReport | RecheckReport | ScrapeReport
            if role == "orchestrator":
                if k == 0:
                    report = orchestrate(app, series=series, since=parse_date_key(spec["since"]))
                else:
                    report = recheck(app, {s.key for s in series})
            else:
                report = ScrapeReport()
                while True:
                    closed = (folder / f"closed-{k}").exists()
                    got = drain(app, batch_size=2, sleep=lambda _: time.sleep(POLL_S))
                    report.add(got)
                    if closed and got.source_requests == 0 and got.dead_lettered == 0:
                        break
                    time.sleep(POLL_S)
            _write(folder / f"done-{k}-{name}.json", report.as_dict())
    finally:
        app.close()
    return 1


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
