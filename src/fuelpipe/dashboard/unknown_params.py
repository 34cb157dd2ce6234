"""A query parameter an API route does not take is a 422 naming it and the ones it takes.

FastAPI ignores a parameter a route does not declare, so a misspelt one (``maxlag=2`` for
``max_lag``) was answered 200 with the default instead. :data:`KNOWN_PARAMS_ONLY` is the
dependency every ``/api`` router carries (app.py, stations.py); the page routes (``/``,
``/stations``, ``/docs``, ``/static``) do not, since the page's own state (``view``, ``lang``,
...) lives in their query.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


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


def known_params_only(request: Request) -> None:
    """Raise a validation error (the API's 422 with a message) for every query parameter the
    matched route does not take, naming the ones it does."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    taken = query_names(route.dependant)
    unknown = [n for n in dict.fromkeys(request.query_params.keys()) if n not in taken]
    if not unknown:
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
