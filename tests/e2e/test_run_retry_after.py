"""`fuelpipe run` against a source that answers 429 with a Retry-After of 10 minutes, longer
than the 20 s a fetch waits (real data on the replay server, the default 4 attempts): the
fetch sends that one request and gives up at once, its dates stay PENDING (none quarantined,
none lost), and a later run retries and stores them.

Before, the adapter asked three more times in the same fetch, waiting its 20 s cap between
them (4 requests, a minute), though the source had said when to come back."""

from __future__ import annotations

import json

from tests.e2e.conftest import fuelpipe

from fuelpipe.replay import FaultPlan
from fuelpipe.replay.server import ReplayServer

RUN = ("run", "-s", "CURRENCY#USD", "--since", "2022-05-02", "--json")


def test_run_sends_one_request_to_a_source_asking_for_ten_minutes(tmp_path) -> None:
    store = {"FUELPIPE_DB": str(tmp_path / "r.sqlite")}
    faults = FaultPlan.parse("bcb:429=1,retry_after=600")
    with ReplayServer(quiet=True, faults=faults) as replay:
        done = fuelpipe("--now", "2022-05-06T14:00", *RUN, env={**store, **replay.env()},
                        check=False)  # fmt: skip
        assert replay.request_counts["bcb"] == 1
    assert done.returncode == 3, done.stderr
    first = json.loads(done.stdout)
    assert first["sources"]["bcb"] == {
        "requests": 1, "failures": 1, "last_error": "HTTP 429", "not_sent": 0,
    }  # fmt: skip
    # 2022-05-02 .. 05-05 and the 6th's bulletin, asked in one request: all PENDING
    assert first["scrape"]["pending_written"] == 5
    assert first["scrape"]["quarantined"] == 0

    with ReplayServer(quiet=True) as replay:  # an hour later the source answers
        done = fuelpipe("--now", "2022-05-06T15:00", *RUN, env={**store, **replay.env()})
    later = json.loads(done.stdout)
    assert later["recheck"]["retried"] == 5
    assert later["scrape"]["records_written"] == 5
    assert later["scrape"]["quarantined"] == 0
