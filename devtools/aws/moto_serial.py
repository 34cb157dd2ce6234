"""moto_server, serving one request at a time: ``python -m devtools.aws.moto_serial -H h -p p``.

moto's DynamoDB checks a ConditionExpression and then writes, without a lock: under concurrent
requests two conditional updates of one item can both succeed, which DynamoDB (and dynalite)
never allow. The contract suite races conditional claims from several clients, so this runs the
very app moto_server runs, with a lock around each request, making every write atomic as in
DynamoDB. A receive waits inside a request only where it long-polls: the SQS queue's DLQ reads
(peek, redrive, purge) long-poll 1 s, and one that finds nothing holds every other request
that long.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """A WSGI app that runs ``app`` for one request at a time."""
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serve


def main() -> None:
    """Parse ``-H``/``-p`` like moto_server and serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host, args.port, serialized(app), threaded=True, request_handler=MotoRequestHandler
    )


if __name__ == "__main__":
    main()
