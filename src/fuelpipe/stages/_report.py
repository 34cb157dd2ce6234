"""Stage reports: plain counters that add up across runs and print as dicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class Counters:
    """Base for stage reports: integer fields that can be summed and dumped."""

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return {k: int(v) for k, v in asdict(self).items()}

    def add(self, other: Counters) -> None:
        """Add another report's counts into this one."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
