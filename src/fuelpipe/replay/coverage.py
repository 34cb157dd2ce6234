"""Read ``coverage.json``: the window and, per catalog key, its first and last real date."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR


@dataclass(frozen=True)
class Span:
    """The first and last dates with a real value, and how many dates have one."""

    first: date
    last: date
    count: int


@dataclass(frozen=True)
class Coverage:
    """The snapshot's window and the real span of every catalog key it holds."""

    start: date
    end: date
    series: dict[str, Span]

    def keys_covering(self, start: date, end: date) -> list[str]:
        """Keys whose real data starts on or before ``start`` and ends on or after ``end``."""
        return [k for k, s in self.series.items() if s.first <= start and s.last >= end]


def load_coverage(snapshot_dir: Path | None = None) -> Coverage:
    """Parse ``coverage.json`` of a snapshot directory (the bundled one by default)."""
    doc = json.loads(((snapshot_dir or SNAPSHOT_DIR) / "coverage.json").read_text("utf-8"))
    series = {
        key: Span(date.fromisoformat(v["first"]), date.fromisoformat(v["last"]), int(v["count"]))
        for key, v in doc["series"].items()
    }
    window = doc["window"]
    return Coverage(date.fromisoformat(window["start"]), date.fromisoformat(window["end"]), series)
