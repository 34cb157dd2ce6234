"""Test doubles for the source and alert-sink ports: injected into stages, never patched in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from fuelpipe.domain.alerts import Alert
from fuelpipe.domain.models import Observation
from fuelpipe.ports.alerts import AlertSink
from fuelpipe.ports.source import FetchRequest, FetchResult, Source, SourceError


class TableSource(Source):
    """Serves values from a dict; some dates are never returned, some requests fail."""

    def __init__(
        self,
        name: str,
        values: dict[tuple[str, date], Decimal],
        *,
        never: Iterable[tuple[str, date]] = (),
        failures: list[SourceError] | None = None,
    ) -> None:
        self.name = name
        self.values = values
        self.never = set(never)
        self.failures = list(failures or [])
        self.calls: list[FetchRequest] = []
        self.asked: Counter[tuple[str, date]] = Counter()

    def fetch(self, request: FetchRequest) -> FetchResult:
        self.calls.append(request)
        keys = {s.key for s in request.series}
        for key, day in set(self.values) | self.never:
            if key in keys and request.start <= day <= request.end:
                self.asked[(key, day)] += 1
        if self.failures:
            raise self.failures.pop(0)
        return FetchResult(
            observations=[
                Observation(key, day, value, {"buy": value - Decimal("0.0006")})
                for (key, day), value in sorted(self.values.items())
                if key in keys
                and request.start <= day <= request.end
                and (key, day) not in self.never
            ]
        )


class SaysNoValue(TableSource):
    """A source double that answers some dates with "no value" (like FRED's empty cells, or
    ANP's '-' in a workbook that has the week). ``noted``: the reason is in the answer's
    notes too, as FRED's empty cells and ANP's '-' cells are; without it only in
    ``no_value``, as ANP's week without a row for the key. ``no_row``: those dates are also
    in the answer's ``no_row`` (ANP's week without a row for the key, not a '-' row)."""

    def __init__(
        self,
        *args,
        no_value: set[tuple[str, date]],
        noted: bool = False,
        no_row: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.no_value = no_value
        self.noted = noted
        self.no_row = no_row

    def fetch(self, request: FetchRequest) -> FetchResult:
        result = super().fetch(request)
        keys = {s.key for s in request.series}
        said = {
            slot: "the source says: no value"
            for slot in self.no_value
            if slot[0] in keys and request.start <= slot[1] <= request.end
        }
        notes = {**result.notes, **said} if self.noted else result.notes
        return replace(
            result, notes=notes, no_value=said, no_row=set(said) if self.no_row else set()
        )


class Collect(AlertSink):
    """A sink keeping what it is sent."""

    name = "collect"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)
