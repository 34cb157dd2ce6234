"""Query-parameter types every API route shares (the panel's and the station lake's)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator

from fuelpipe.domain.calendars import EARLIEST_DATE, LATEST_DATE


def in_range(day: date | None) -> date | None:
    """Dates the domain computes with; anything else is a 422, never an overflow (500)."""
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"{day} is outside {EARLIEST_DATE}..{LATEST_DATE}")
    return day


DateParam = Annotated[date | None, AfterValidator(in_range)]
