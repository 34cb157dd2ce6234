"""Offline replay of every source from a bundled real-data snapshot, with seeded faults."""

from __future__ import annotations

from fuelpipe.replay.cli import run_replay
from fuelpipe.replay.coverage import Coverage, load_coverage
from fuelpipe.replay.faults import FaultKind, FaultPlan, FaultSpecError
from fuelpipe.replay.server import ReplayServer
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR, Snapshot

__all__ = [
    "SNAPSHOT_DIR",
    "Coverage",
    "FaultKind",
    "FaultPlan",
    "FaultSpecError",
    "ReplayServer",
    "Snapshot",
    "load_coverage",
    "run_replay",
]
