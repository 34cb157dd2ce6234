"""The deploy's health check: an event every Lambda handler answers without touching data.

After publishing a new version, the deploy invokes that version (never the ``live`` alias)
with :data:`PING_EVENT`. The handler module is imported (settings validated, dependencies
loaded: what breaks a bad zip) and answers :func:`pong` before it builds a home, reads the
table or sends a message. No invoker can send it: the schedules' inputs are fixed in the
template, SQS delivers ``Records`` and a function URL an HTTP request shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

PING_EVENT: dict[str, str] = {"fuelpipe": "ping"}

R = TypeVar("R")


def is_ping(event: Any) -> bool:
    """True for exactly :data:`PING_EVENT`."""
    return isinstance(event, Mapping) and dict(event) == PING_EVENT


def pong(function: str) -> dict[str, str]:
    """What a healthy handler answers to the ping."""
    return {"fuelpipe": "pong", "function": function}


def answers_ping(
    function: str, handler: Callable[[dict[str, Any], Any], R]
) -> Callable[[dict[str, Any], Any], R | dict[str, str]]:
    """``handler``, except that the ping is answered with :func:`pong` and goes no further."""

    @wraps(handler)
    def wrapped(event: dict[str, Any], context: Any) -> R | dict[str, str]:
        if is_ping(event):
            return pong(function)
        return handler(event, context)

    return wrapped
