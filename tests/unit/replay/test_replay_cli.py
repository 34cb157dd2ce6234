"""``run_replay`` in a real child process: prints the env lines, serves, stops on Ctrl-C."""

from __future__ import annotations

import sys

import httpx
from tests.unit.replay.replay_helpers import child, interrupt

CHILD = (
    "import sys\n"
    "from fuelpipe.replay import run_replay\n"
    "sys.exit(run_replay('127.0.0.1', 0, None, 'fred:html=1', 5, quiet=True))\n"
)


def test_run_replay_prints_exports_serves_and_stops_on_sigint() -> None:
    with child([sys.executable, "-c", CHILD]) as proc:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("# fuelpipe replay on http://127.0.0.1:")
        exports = dict(
            proc.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(4)
        )
        assert set(exports) == {f"FUELPIPE_SOURCE_{s}_URL" for s in ("BCB", "YAHOO", "FRED", "ANP")}
        with httpx.Client(timeout=10) as client:
            fred = client.get(exports["FUELPIPE_SOURCE_FRED_URL"] + "/graph/fredgraph.csv")
            assert fred.status_code == 200
            assert fred.headers["content-type"].startswith("text/html")  # the html fault
            moedas = client.get(exports["FUELPIPE_SOURCE_BCB_URL"] + "/Moedas")
            assert len(moedas.json()["value"]) == 10
        assert interrupt(proc) == 0
