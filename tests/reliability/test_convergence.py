"""About 30% of source requests go wrong, every source, every transient kind, plus a few dates
that are never served: after the retries the store equals a fault-free run's, record for record,
the never-served dates are QUARANTINED after exactly five re-downloads, and the requests spent
stay within the bound the retry policy implies. Both homes: embedded and AWS (dynalite + moto).
"""

from __future__ import annotations

import pytest
from devtools.chaos.harness import (
    FAST_SERIES,
    OUTAGES,
    DuplicatingQueue,
    Run,
    absent_problems,
    compare,
    duplicating,
    embedded_home,
    fault_spec,
    run_to_quiet,
    snapshot_series,
)
from tests.support.convergence import assert_same_as_clean

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.replay import FaultKind

MIXED = fault_spec("all:0.3")
HOMES = ["embedded", pytest.param("aws", marks=pytest.mark.aws)]


def check_converged(clean: Run, faulty: Run, series: list[str] | tuple[str, ...]) -> None:
    """Every property the brief asks of a faulty run, with the failing records named."""
    policy_retries = faulty.bound.max_retries if faulty.bound else 5
    # a bounded loop: quiet within max_retries + 2 cycles, nothing left PENDING
    assert faulty.cycles_to_quiet is not None, "the run never went quiet: a retry loop is open"
    assert faulty.cycles_to_quiet <= policy_retries + 2
    assert all(status is not Status.PENDING for _, status, _ in faulty.export.values())
    # nothing lost, added, changed or duplicated
    diff = compare(clean, faulty)
    assert diff.identical_outside_absent, (
        f"lost {diff.lost[:5]}, extra {diff.extra[:5]}, changed {diff.changed[:5]}, "
        f"duplicated {diff.duplicated}"
    )
    # every source had dates withheld, and each was given up after exactly five re-downloads
    sources = {DEFAULT_CATALOG[key].source for key in series}
    assert {DEFAULT_CATALOG[key].source for key, _ in diff.absent} == sources
    assert absent_problems(faulty, diff.absent, policy_retries) == []
    for slot in diff.absent:
        assert faulty.queue.downloads(*slot)["gap"] == 1
    # the faults really happened, and the requests stayed within the policy's bound
    assert sum(faulty.faults.values()) > 0
    assert faulty.bound is not None
    assert faulty.bound.redelivered == 0  # one worker, no crash: every message fetched once
    assert faulty.bound.violations() == []
    assert faulty.total_requests <= faulty.bound.policy_limit


@pytest.mark.parametrize("home", HOMES, indirect=True)
@pytest.mark.parametrize("seed", [7])
def test_thirty_percent_faults_converge_to_the_fault_free_store(home, run_dir, clean_fast, seed):
    faulty = run_to_quiet(home, run_dir, FAST_SERIES, MIXED, seed)
    check_converged(clean_fast, faulty, FAST_SERIES)
    # the transient faults cost requests, but were not free: more than the clean run spent
    assert faulty.total_requests > clean_fast.total_requests


def test_every_message_sent_twice_and_delivered_twice_changes_nothing(run_dir, clean_fast):
    """At-least-once delivery on the embedded queue, under the same faults and withheld dates:
    every batch sent twice and half the receives carrying a message twice. The store still
    equals the fault-free one, and no withheld date counts a re-download twice: each ends
    QUARANTINED after exactly five claims, however many copies of each message were fetched."""
    faulty = run_to_quiet(
        embedded_home(), run_dir, FAST_SERIES, MIXED, 7, prepare=duplicating(3, redeliver=0.5)
    )
    twice = faulty.queue.inner
    assert isinstance(twice, DuplicatingQueue)
    assert twice.counts["sent_twice"] == len(faulty.queue.sent)
    assert twice.counts["delivered_twice"] > 0
    diff = compare(clean_fast, faulty)
    assert diff.identical_outside_absent, (
        f"lost {diff.lost[:5]}, extra {diff.extra[:5]}, changed {diff.changed[:5]}, "
        f"duplicated {diff.duplicated}"
    )
    assert diff.absent and absent_problems(faulty, diff.absent, 5) == []
    assert all(status is not Status.PENDING for _, status, _ in faulty.export.values())
    # every copy was fetched: far more fetches than messages the pipeline sent
    assert faulty.bound is not None and faulty.bound.fetches > len(faulty.queue.sent)


@pytest.mark.parametrize("outage", list(OUTAGES.values()), ids=list(OUTAGES))
def test_a_source_out_for_a_while_then_back_converges(run_dir, clean_fast, outage):
    """A source down, throttling or answering garbage for whole cycles (not a share of the
    requests), then healthy: every date it failed is retried once it is back, and the store
    ends equal to the fault-free one, nothing left PENDING or quarantined."""
    faulty = run_to_quiet(embedded_home(), run_dir, FAST_SERIES, outage=outage)
    assert sum(faulty.faults.values()) > 0
    assert_same_as_clean(clean_fast, faulty)


@pytest.mark.aws
def test_every_source_down_for_two_cycles_converges_on_the_aws_home(
    aws_factory, run_dir, clean_fast
):
    """The same outage through the Lambda handlers on dynalite and moto_server's SQS."""
    from devtools.chaos.aws_faults import LambdaCycle

    outage = OUTAGES["every source 5xx, two cycles"]
    faulty = run_to_quiet(
        aws_factory,
        run_dir,
        FAST_SERIES,
        outage=outage,
        settings={"visibility_timeout_s": 2},
        drive=LambdaCycle(),
    )
    assert faulty.faults.get("5xx", 0) > 0
    assert_same_as_clean(clean_fast, faulty)


def test_the_clean_run_is_itself_quiet_and_within_its_bound(clean_fast):
    assert clean_fast.cycles_to_quiet is not None
    assert clean_fast.bound is not None and clean_fast.bound.violations() == []
    # a fault-free run sends one request per message: no adapter retry was needed
    assert clean_fast.total_requests == clean_fast.bound.fetches
    assert clean_fast.bound.redelivered == 0


# the AWS home takes about 100 s per full run on dynalite + moto_server: one seed there
FULL_RUNS = [
    *(("embedded", seed) for seed in (1, 2, 3)),
    pytest.param("aws", 1, marks=pytest.mark.aws),
]


@pytest.mark.slow
@pytest.mark.parametrize(("home", "seed"), FULL_RUNS, indirect=["home"])
def test_full_snapshot_converges_under_thirty_percent_faults(home, run_dir, clean_full, seed):
    series = snapshot_series()
    faulty = run_to_quiet(home, run_dir, series, MIXED, seed)
    check_converged(clean_full, faulty, series)


@pytest.mark.slow
@pytest.mark.parametrize("kind", [k.value for k in FaultKind])
def test_each_fault_kind_alone_converges(run_dir, clean_fast, kind):
    from devtools.chaos.harness import embedded_home

    faulty = run_to_quiet(embedded_home(), run_dir, FAST_SERIES, fault_spec(f"all:{kind}=0.5"), 11)
    check_converged(clean_fast, faulty, FAST_SERIES)
