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


class MetaReadCounting(Store):
    """Counts the reads of meta settings by name, each a read of the store (one Query or
    SELECT, or more when paged): ``meta_reads`` lists them as (method, prefix or family)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meta_reads: list[tuple[str, str]] = []

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        self.meta_reads.append(("meta_entries", prefix))
        return super().meta_entries(prefix)  # type: ignore[safe-super]

    def meta_names(self, prefix: str) -> list[str]:
        self.meta_reads.append(("meta_names", prefix))
        return super().meta_names(prefix)

    def count_meta(self, prefix: str) -> int:
        self.meta_reads.append(("count_meta", prefix))
        return super().count_meta(prefix)

    def latest_meta(self, family: str, limit: int) -> list[tuple[str, str]]:
        self.meta_reads.append(("latest_meta", family))
        return super().latest_meta(family, limit)  # type: ignore[safe-super]
