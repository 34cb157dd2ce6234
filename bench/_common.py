"""The row every benchmark reports, so `make bench` can print one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchRow:
    """One measured quantity with its goal; ``ok`` is None when there is no goal."""

    area: str
    metric: str
    value: float
    unit: str
    goal: str = ""
    ok: bool | None = None

    def fmt_value(self) -> str:
        """The value, with a sensible number of digits."""
        v = self.value
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}"
