"""Host lookups bounded by the connect timeout, for the sources' HTTP clients.

httpcore connects with ``socket.create_connection``, whose lookup (getaddrinfo) no timeout
bounds, and the attempt's watchdog only learns a socket once it is connected: a resolver that
hangs held an attempt past its deadline, for as long as it hung. Here each lookup runs in a
thread of its own and is given up at the connect timeout (which the sources cut to the
attempt's deadline); each address is then connected to within the connect timeout, as
``socket.create_connection`` does. A lookup cannot be cancelled: the abandoned thread (a
daemon) ends when the resolver answers.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Sequence

import httpcore
import httpx

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port)`` -> the host's addresses (IP literals), in the order to try them; it
raises ``socket.gaierror`` when the name does not resolve."""


def system_resolver(host: str, port: int) -> list[str]:
    """The system's lookup, as ``socket.create_connection`` makes it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def lookup(resolve: Resolver, host: str, port: int, timeout: float | None) -> Sequence[str]:
    """``host``'s addresses from ``resolve``, waited for at most ``timeout`` seconds (None:
    as long as it takes): past it an httpcore.ConnectTimeout, a failed lookup an
    httpcore.ConnectError caused by the resolver's error. An IP literal is its own answer."""
    if _is_address(host):
        return [host]
    answers: list[Sequence[str]] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            answers.append(resolve(host, port))
        except Exception as exc:  # handed to the waiting thread, which raises it
            errors.append(exc)

    worker = threading.Thread(target=run, name=f"fuelpipe-dns-{host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"DNS lookup of {host} took over {timeout:g} s")
    if errors:
        raise httpcore.ConnectError(f"DNS lookup of {host} failed: {errors[0]}") from errors[0]
    if not answers[0]:
        error = socket.gaierror(socket.EAI_NONAME, "no address")
        raise httpcore.ConnectError(f"DNS lookup of {host}: no address") from error
    return answers[0]


class BoundedLookupBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend with the lookup bounded: ``connect_tcp`` looks the host
    up through ``resolve`` (see :func:`lookup`), then connects to its addresses in turn."""

    def __init__(
        self, resolve: Resolver = system_resolver, backend: httpcore.NetworkBackend | None = None
    ) -> None:
        self._resolve = resolve
        self._backend = backend if backend is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """The first of the host's addresses that accepts a connection, each given the whole
        connect timeout as ``socket.create_connection`` gives it: an address that drops
        connections (a dead IPv6 route) must not use up the next one's time, or the host
        would be unreachable on every retry. The attempt's deadline bounds the whole."""
        error: Exception | None = None
        for address in lookup(self._resolve, host, port, timeout):
            try:
                return self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # lookup gives at least one address
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:  # pragma: no cover - the sources connect over TCP
        """As httpcore's backend."""
        return self._backend.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        """As httpcore's backend."""
        self._backend.sleep(seconds)


class BoundedLookupTransport(httpx.HTTPTransport):
    """httpx's default transport (certificates verified, HTTP/1.1, its default pool limits),
    its connections opened by a :class:`BoundedLookupBackend` over ``resolve``."""

    def __init__(self, resolve: Resolver = system_resolver) -> None:
        # Not super().__init__(): it would build a pool (and load the certificates) only for
        # this one to replace it. HTTPTransport's requests go through ``_pool`` alone.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,  # httpx's DEFAULT_LIMITS
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=BoundedLookupBackend(resolve),
        )
