"""Errors the API turns into 404 and 422 answers with a message, and the store's faults it
answers 503 with one."""

from __future__ import annotations

from collections.abc import Callable

FaultNamer = Callable[[BaseException], str | None]
"""Names an error that is a known state of the store's file rather than a fault of the server
(a damaged SQLite file: :func:`fuelpipe.homes.damage_namer`): the one line the API answers
503 with and logs, without a traceback; None for any other error."""


def no_fault(_: BaseException) -> str | None:
    """The namer of a home with no such faults to name: every error is the server's."""
    return None


class NotFoundError(LookupError):
    """A series, area or week the store or the catalog does not know (HTTP 404)."""


class InvalidRequestError(ValueError):
    """A well-typed request that still cannot be answered as asked (HTTP 422). ``params``: the
    query parameters at fault, which the answer's ``errors`` names as a validation error's do
    (``loc`` ``["query", name]``), so every 422 has one shape."""

    def __init__(self, message: str, *, params: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.params = params
