"""The queue message between orchestrator/recheck and the scraper: versioned and validated."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fuelpipe.domain.keys import InvalidKeyError, parse_key

# 15,000 ISO dates make a ~200 KB body, inside SQS's 256 KiB limit, and cover FRED's whole
# daily history since 1987 in one message (one request), so a full backfill stays minimal.
MAX_DATES_PER_MESSAGE = 15_000


class MalformedMessage(ValueError):
    """A queue message that cannot be processed; the reason goes to the dead-letter store."""


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    """A message's date as ISO ``YYYY-MM-DD`` text only: pydantic's strict JSON mode still
    reads ``"0"`` as 1970-01-01 (a Unix timestamp), which sent a message the orchestrator
    never writes to the source for 1970 instead of to the dead-letter store. A ``date``
    itself (a message built in code) passes as it is; a ``datetime`` does not."""
    if isinstance(value, str):
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)")
        return date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)")


IsoDay = Annotated[date, BeforeValidator(_iso_day)]


class DownloadRequest(BaseModel):
    """One source request: a stream of dates for a key, plus keys the same fetch unit serves."""

    # strict: a date is an ISO string, never a Unix timestamp or a datetime pydantic would coerce
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    schema_version: Literal[1] = 1
    partition_key: str
    dates_to_download: list[IsoDay] = Field(min_length=1, max_length=MAX_DATES_PER_MESSAGE)
    fetch_unit: str = Field(min_length=1, max_length=200)
    also_keys: list[str] = Field(default_factory=list, max_length=1000)
    origin: Literal["gap", "retry", "revise"] = "gap"

    @field_validator("partition_key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        try:
            parse_key(value)
        except InvalidKeyError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("also_keys")
    @classmethod
    def _valid_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            cls._valid_key(key)
        return value

    @field_validator("dates_to_download")
    @classmethod
    def _sorted_unique(cls, value: list[date]) -> list[date]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _no_repeat(self) -> DownloadRequest:
        if self.partition_key in self.also_keys or len(set(self.also_keys)) != len(self.also_keys):
            raise ValueError("also_keys repeats a key")
        return self

    @property
    def keys(self) -> list[str]:
        """Every key this request writes."""
        return [self.partition_key, *self.also_keys]

    def to_body(self) -> str:
        """The JSON body put on the queue."""
        return self.model_dump_json()

    @classmethod
    def from_body(cls, body: str) -> DownloadRequest:
        """Parse a queue body, or raise MalformedMessage with a one-line reason."""
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in exc.errors()[:5]
            )
            raise MalformedMessage(f"malformed message (schema v1): {problems}") from None
