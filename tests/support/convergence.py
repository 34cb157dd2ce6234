"""The reliability suite's check that a faulty run ended as the fault-free one."""

from __future__ import annotations

from devtools.chaos.harness import Run, compare

from fuelpipe.domain.models import Status


def assert_same_as_clean(clean: Run, run: Run) -> None:
    """Record for record the clean store; quarantined records spent exactly five retries."""
    diff = compare(clean, run, absent_days=())
    assert diff.identical_outside_absent, (
        f"lost {diff.lost[:5]}, extra {diff.extra[:5]}, changed {diff.changed[:5]}, "
        f"duplicated {diff.duplicated}"
    )
    assert run.cycles_to_quiet is not None
    quarantined = [r for r in run.records.values() if r.status is Status.QUARANTINED]
    # PETR4 has no bar on 2021-07-09, a São Paulo holiday: the B3 calendar no longer expects
    # it, so no date of the fast series ends quarantined; the clean run agrees record for record.
    assert quarantined == [r for r in clean.records.values() if r.status is Status.QUARANTINED]
    assert all(r.retry_count == 5 and r.reason for r in quarantined)
    assert all(r.status is not Status.PENDING for r in run.records.values())
