"""One renderer per source, keyed by the URL prefix the replay server gives it."""

from __future__ import annotations

from collections.abc import Callable

from fuelpipe.replay.reply import Reply, RouteContext
from fuelpipe.replay.routes import anp, bcb, fred, shpc, yahoo

ROUTES: dict[str, Callable[[RouteContext], Reply]] = {
    "bcb": bcb.handle,
    "yahoo": yahoo.handle,
    "fred": fred.handle,
    "anp": anp.handle,
    "shpc": shpc.handle,
}

# The path each source's real base URL ends with (settings.DEFAULT_SOURCE_URLS), kept below
# the replay prefix so adapters append the same paths they use against the real services.
BASE_PATHS: dict[str, str] = {
    "bcb": "/olinda/servico/PTAX/versao/v1/odata",
    "yahoo": "",
    "fred": "",
    "anp": "",
    "shpc": "",
}
