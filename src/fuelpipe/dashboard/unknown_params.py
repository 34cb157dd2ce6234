"""A query parameter an API route does not take is a 422 naming it and the ones it takes; a
single-valued one given twice is a 422 naming it.

FastAPI ignores a parameter a route does not declare, so a misspelt one (``maxlag=2`` for
``max_lag``) was answered 200 with the default instead; and it reads the last of a repeated
single-valued one, so ``format=json&format=csv`` was a CSV. :data:`KNOWN_PARAMS_ONLY` is the
dependency every ``/api`` router carries (app.py, stations.py); the page routes (``/``,
``/stations``, ``/docs``, ``/static``) do not, since the page's own state (``view``, ``lang``,
...) lives in their query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

_LISTS = (list, tuple, set, frozenset, Sequence)


def query_names(dependant: Dependant) -> list[str]:
    """The query parameters a route reads, its dependencies' (the date window's) too, in the
    order declared."""
    names: dict[str, None] = {}
    todo = [dependant]
    while todo:
        current = todo.pop()
        names.update(dict.fromkeys(f.alias for f in current.query_params))
        todo.extend(reversed(current.dependencies))
    return list(names)


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter of this type takes a list (``keys``), ``X | None`` too."""
    if get_origin(annotation) in _LISTS:
        return True
    return get_origin(annotation) in (Union, UnionType) and any(
        _takes_many(a) for a in get_args(annotation)
    )


def list_names(dependant: Dependant) -> set[str]:
    """The query parameters of a route (and its dependencies) that take several values."""
    names: set[str] = set()
    todo = [dependant]
    while todo:
        current = todo.pop()
        names.update(f.alias for f in current.query_params if _takes_many(f.field_info.annotation))
        todo.extend(current.dependencies)
    return names


def _repeated(request: Request, route: APIRoute) -> None:
    """Raise a validation error for every single-valued parameter given more than once."""
    many = list_names(route.dependant)
    counts = Counter(name for name, _ in request.query_params.multi_items())
    twice = [n for n, count in counts.items() if count > 1 and n not in many]
    if twice:
        raise RequestValidationError(
            [
                {
                    "type": "repeated",
                    "loc": ("query", name),
                    "msg": f"given {counts[name]} times; give it once",
                    "input": request.query_params.getlist(name),
                }
                for name in twice
            ]
        )


def known_params_only(request: Request) -> None:
    """Raise a validation error (the API's 422 with a message) for every query parameter the
    matched route does not take, naming the ones it does; then for every single-valued one
    given more than once (FastAPI would read its last value)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    taken = query_names(route.dependant)
    unknown = [n for n in dict.fromkeys(request.query_params.keys()) if n not in taken]
    if not unknown:
        _repeated(request, route)
        return
    accepted = f"{route.path} takes {', '.join(taken)}" if taken else f"{route.path} takes none"
    raise RequestValidationError(
        [
            {
                "type": "extra_forbidden",
                "loc": ("query", name),
                "msg": f"unknown parameter: {accepted}",
                "input": request.query_params[name],
            }
            for name in unknown
        ]
    )


KNOWN_PARAMS_ONLY = Depends(known_params_only)
"""The dependency an API router is given: ``APIRouter(dependencies=[KNOWN_PARAMS_ONLY])``."""
