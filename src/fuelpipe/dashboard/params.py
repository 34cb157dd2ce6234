"""Query-parameter types every API route shares (the panel's and the station lake's)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BeforeValidator

from fuelpipe.domain.calendars import EARLIEST_DATE, LATEST_DATE


def in_range(day: date | None) -> date | None:
    """Dates the domain computes with; anything else is a 422, never an overflow (500)."""
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"{day} is outside {EARLIEST_DATE}..{LATEST_DATE}")
    return day


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_text(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` text is a date here: pydantic would also read ``0.0`` or ``86400``
    as seconds since 1970 (a 200 for a malformed URL instead of a 422). A day the calendar
    lacks (``2021-13-01``, ``2021-02-30``) is refused here too, in words of the same kind, not
    in pydantic's own ("month value is outside expected range of 1-12")."""
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:  # "month must be in 1..12", "day is out of range for month"
            raise ValueError(f"{value!r} is not a date ({exc}); write it YYYY-MM-DD") from None
    return value


DateParam = Annotated[date | None, BeforeValidator(iso_text), AfterValidator(in_range)]


def one_of(
    what: str,
    allowed: Sequence[str],
    why_not: Callable[[str], str | None] | None = None,
) -> Callable[[str], str]:
    """A validator of a case-insensitive code (a fuel, a state): the code upper-cased, or a
    ValueError naming the values allowed, which the API answers as a 422 naming the parameter.
    ``why_not`` may say why a known kind of wrong code is refused (its text replaces
    "unknown")."""

    def check(value: str) -> str:
        code = value.strip().upper()
        if code not in allowed:
            choices = ", ".join(allowed)
            reason = why_not(code) if why_not else None
            if reason:
                raise ValueError(f"{what} {value!r} {reason}; choose one of {choices}")
            raise ValueError(f"unknown {what} {value!r}: use one of {choices}")
        return code

    return check


def any_case(choices: Any) -> BeforeValidator:
    """A parameter of the ``Literal`` ``choices`` read in any case, its outer spaces aside
    (``CSV`` is ``csv``), before the Literal checks it: the reference still lists the
    canonical values, and any other value is a ValueError naming it and them (a 422 naming
    the parameter)."""
    canonical = {str(c).casefold(): c for c in get_args(choices)}

    def read(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if (known := canonical.get(value.strip().casefold())) is None:
            raise ValueError(f"{value!r} is not one of {', '.join(canonical.values())}")
        return known

    return BeforeValidator(read)
