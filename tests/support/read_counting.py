"""A store mixin counting what view builders read: whole-history reads and records returned.

``class Counting(ReadCounting, SqliteStore)`` (or ``DynamoDbStore``): injected where a test
proves a view is served without being built, or built from a series' edges only."""

from __future__ import annotations

from typing import Any

from fuelpipe.domain.models import PresentDate, Record
from fuelpipe.ports.store import Store


class ReadCounting(Store):
    """Counts ``present`` calls, ``query`` calls (all, and those without a ``limit``) and the
    records the queries returned."""

    presents = queries = unlimited = records_read = 0

    def present(self, key: str) -> list[PresentDate]:
        self.presents += 1
        return super().present(key)  # type: ignore[safe-super]

    def query(self, key: str, *args: Any, **kwargs: Any) -> list[Record]:
        found: list[Record] = super().query(key, *args, **kwargs)  # type: ignore[safe-super]
        self.queries += 1
        self.unlimited += kwargs.get("limit") is None
        self.records_read += len(found)
        return found

    def reset_counts(self) -> None:
        self.presents = self.queries = self.unlimited = self.records_read = 0
