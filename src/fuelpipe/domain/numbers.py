"""The one form a number is stored in, whichever home holds it.

DynamoDB keeps a number, not its text: ``68.80`` comes back ``68.8`` and ``1E+2`` comes back
``100``, while SQLite kept the text it was given. So every store writes the canonical form
(:func:`canonical`): the same number, exactly, with no trailing zeros after the point and no
exponent above zero, and both homes hold and return the same Decimal. DynamoDB holds at most
38 significant digits; a number that needs more in that form is refused in both homes
(:class:`TooManyDigits`), never rounded. DynamoDB also refuses a non-zero number whose
magnitude is below ``1E-130`` or above ``9.99…E+125`` (SQLite keeps it): the scraper sets
such a published number aside (:func:`digits_problem`) before either home sees it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

MAX_DIGITS = 38
"""Significant digits a stored number may have (DynamoDB's limit)."""
MIN_ADJUSTED = -130
MAX_ADJUSTED = 125
"""The exponents (``Decimal.adjusted()``) a non-zero stored number may have: DynamoDB's range,
``1E-130`` to ``9.9999999999999999999999999999999999999E+125`` in magnitude."""


def positional(value: float) -> str:
    """``value``'s shortest decimal text in positional notation, never an exponent: Python
    writes a float under 1e-4 as ``1.2e-05``; this gives ``0.000012``."""
    return format(Decimal(repr(value)), "f")


class TooManyDigits(ValueError):
    """A number with more significant digits than a store holds exactly (:data:`MAX_DIGITS`)."""

    def at(self, key: str, day: date | str) -> TooManyDigits:
        """The same refusal naming the record it was for (``key`` and ``day``)."""
        return TooManyDigits(f"{key} {day}: {self}")


def canonical(number: Decimal) -> Decimal:
    """``number`` exactly, with trailing zeros after the point trimmed and no positive
    exponent: ``68.80`` -> ``68.8``, ``27.0`` -> ``27``, ``1E+2`` -> ``100`` (not
    ``normalize()``'s ``1E+2``), ``0.00`` -> ``0``. A number that is not finite is given back
    as it is (each store refuses it in its own words).

    TooManyDigits when it has more than :data:`MAX_DIGITS` digits written so (significant
    digits, and an integer's trailing zeros: ``1E+40`` is refused).
    """
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):  # NaN or Infinity
        return number
    if not any(digits):
        return Decimal(0)
    end = len(digits)
    while exponent < 0 and digits[end - 1] == 0:
        end -= 1
        exponent += 1
    trimmed = digits[:end]
    if exponent > 0:
        trimmed += (0,) * exponent
        exponent = 0
    significant = len(trimmed)  # a coefficient has no leading zeros (zero is out above)
    if significant > MAX_DIGITS:
        raise TooManyDigits(
            f"{number} has {significant} digits written out without an exponent; a store "
            f"holds at most {MAX_DIGITS} exactly"
        )
    return Decimal((sign, trimmed, exponent))


def digits_problem(number: Decimal | int) -> str | None:
    """Why ``number`` cannot be stored exactly (:class:`TooManyDigits`'s words, or the range a
    store holds: :data:`MIN_ADJUSTED`, :data:`MAX_ADJUSTED`), or None when it can. Cheap for
    the usual short number (no exponent, few characters): a scraper asks this of every value
    and attribute a source publishes, before any store sees it. A number out of the range
    has an exponent in its text or many characters (``1E-131``, ``10`` followed by 126 zeros),
    so the short path never misses one."""
    text = str(number)
    if len(text) <= MAX_DIGITS and "E" not in text:
        return None
    exact = Decimal(number)
    if exact.is_finite() and exact and not MIN_ADJUSTED <= exact.adjusted() <= MAX_ADJUSTED:
        return (
            f"{number} is out of the range a store holds (a magnitude from 1E{MIN_ADJUSTED} to "
            f"9.99…E+{MAX_ADJUSTED}, or zero)"
        )
    try:
        canonical(exact)
    except TooManyDigits as exc:
        return str(exc)
    return None


def canonical_text(number: Decimal) -> str:
    """:func:`canonical`'s number as text without an exponent (``0.0000001``, not ``1E-7``),
    cheaply: most numbers are canonical already (no trailing zero after a point, no
    exponent, few digits), and their text is ``str(number)``."""
    text = str(number)
    if len(text) <= MAX_DIGITS and "E" not in text:
        if text[-1] != "0":
            return text
        if "." in text:
            text = text.rstrip("0").rstrip(".")  # 68.80 -> 68.8, 27.0 -> 27, 0.00 -> 0
        return "0" if text == "-0" else text
    return format(canonical(number), "f")
