"""Host lookups bounded by the connect timeout, for fuelpipe's HTTP clients (the sources' and
the alerts webhook's).

httpcore connects with ``socket.create_connection``, whose lookup (getaddrinfo) no timeout
bounds, and an attempt's watchdog only learns a socket once it is connected: a resolver that
hangs held an attempt past its deadline, for as long as it hung. Here each lookup runs in a
thread of its own and is given up at the connect timeout (which the clients cut to the
attempt's deadline); each address is then connected to within the connect timeout, as
``socket.create_connection`` does. A lookup cannot be cancelled: an abandoned one (a daemon
thread) runs on until the resolver answers, so a later lookup of the same host waits on it
rather than start another, and at most :data:`MAX_UNANSWERED_LOOKUPS` run at once.

The transport is built from httpcore's public API (a pool given our ``network_backend``), and
the environment's HTTP(S) proxies are mounted as httpx would mount them, each reached through
a bounded lookup of its own host; a ``NO_PROXY`` host goes direct, through the bounded
transport too. Behind a proxy the target's lookup is the proxy's.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from urllib.request import getproxies

import httpcore
import httpx

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port)`` -> the host's addresses (IP literals), in the order to try them; it
raises ``socket.gaierror`` when the name does not resolve."""

MAX_UNANSWERED_LOOKUPS = 8
"""Lookups running at once (given up or still waited for): one more is refused at once with a
ConnectError naming the hosts, so a resolver that hangs cannot pile up threads without bound."""


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


class _Pending:
    """One lookup under way: its answer or error once ``done``."""

    def __init__(self, resolve: Resolver, host: str, port: int) -> None:
        self.resolve, self.host, self.port = resolve, host, port
        self.done = threading.Event()
        self.answer: Sequence[str] = ()
        self.error: Exception | None = None


class Lookups:
    """Runs each lookup in a daemon thread and waits for it at most the timeout given. A later
    lookup of the same host and port by the same resolver, while one runs (abandoned or not),
    waits on that one instead of starting another; at most ``limit`` run at once."""

    def __init__(self, limit: int = MAX_UNANSWERED_LOOKUPS) -> None:
        if limit < 1:
            raise ValueError(f"the lookup limit must be at least 1, got {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._running: dict[tuple[int, str, int], tuple[_Pending, threading.Thread]] = {}

    def running(self) -> list[threading.Thread]:
        """The threads of the lookups still running."""
        with self._lock:
            return [thread for _, thread in self._running.values()]

    def __call__(
        self, resolve: Resolver, host: str, port: int, timeout: float | None
    ) -> Sequence[str]:
        """``host``'s addresses from ``resolve``, waited for at most ``timeout`` seconds (None:
        as long as it takes): past it an httpcore.ConnectTimeout, a failed lookup an
        httpcore.ConnectError caused by the resolver's error, as is one refused at the limit.
        An IP literal is its own answer."""
        if _is_address(host):
            return [host]
        key = (id(resolve), host, port)  # the pending entry holds ``resolve``: its id is its own
        with self._lock:
            entry = self._running.get(key)
            if entry is None:
                if len(self._running) >= self.limit:
                    hosts = ", ".join(sorted({p.host for p, _ in self._running.values()}))
                    raise httpcore.ConnectError(
                        f"DNS lookup of {host} not started: {len(self._running)} lookups are "
                        f"still unanswered ({hosts})"
                    )
                pending = _Pending(resolve, host, port)
                worker = threading.Thread(
                    target=self._run, args=(key, pending), name=f"fuelpipe-dns-{host}", daemon=True
                )
                self._running[key] = entry = (pending, worker)
                worker.start()
        pending = entry[0]
        if not pending.done.wait(timeout):
            raise httpcore.ConnectTimeout(f"DNS lookup of {host} took over {timeout:g} s")
        if pending.error is not None:
            error = pending.error
            raise httpcore.ConnectError(f"DNS lookup of {host} failed: {error}") from error
        if not pending.answer:
            gaierror = socket.gaierror(socket.EAI_NONAME, "no address")
            raise httpcore.ConnectError(f"DNS lookup of {host}: no address") from gaierror
        return pending.answer

    def _run(self, key: tuple[int, str, int], pending: _Pending) -> None:
        try:
            pending.answer = pending.resolve(pending.host, pending.port)
        except Exception as exc:  # handed to the waiting threads, which raise it
            pending.error = exc
        finally:
            with self._lock:
                del self._running[key]
            pending.done.set()


LOOKUPS = Lookups()
"""The process's lookups: what :data:`MAX_UNANSWERED_LOOKUPS` counts."""


def lookup(resolve: Resolver, host: str, port: int, timeout: float | None) -> Sequence[str]:
    """``host``'s addresses from ``resolve`` through the process's :data:`LOOKUPS`."""
    return LOOKUPS(resolve, host, port, timeout)


class BoundedLookupBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend with the lookup bounded: ``connect_tcp`` looks the host
    up through ``resolve`` (see :class:`Lookups`), then connects to its addresses in turn."""

    def __init__(
        self,
        resolve: Resolver = system_resolver,
        backend: httpcore.NetworkBackend | None = None,
        *,
        lookups: Lookups | None = None,
    ) -> None:
        self._resolve = resolve
        self._backend = backend if backend is not None else httpcore.SyncBackend()
        self._lookups = lookups if lookups is not None else LOOKUPS

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
        for address in self._lookups(self._resolve, host, port, timeout):
            try:
                return self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # a lookup gives at least one address
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:  # pragma: no cover - the clients connect over TCP
        """As httpcore's backend."""
        return self._backend.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        """As httpcore's backend."""
        self._backend.sleep(seconds)


_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
"""httpcore's errors as httpx's, each before its base classes (as httpx's transport maps
them)."""


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    """httpcore's response body, its errors httpx's."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's default pool limits (its DEFAULT_LIMITS)."""


class BoundedLookupTransport(httpx.BaseTransport):
    """httpx's default transport (certificates verified, HTTP/1.1, its default pool limits),
    direct or through an HTTP(S) ``proxy``, its connections opened by a
    :class:`BoundedLookupBackend` over ``resolve``: an httpcore pool given the backend, with
    httpx's requests, answers and errors mapped as httpx's own transport maps them."""

    def __init__(
        self,
        resolve: Resolver = system_resolver,
        *,
        proxy: httpx.Proxy | str | None = None,
        lookups: Lookups | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        backend = BoundedLookupBackend(resolve, lookups=lookups)
        # One context serves every pool that is given it: each new one loads the CA bundle
        # again (20-80 ms here), which a cold start with four sources paid four times.
        ssl_context = ssl_context or httpx.create_ssl_context()
        self._pool: httpcore.ConnectionPool
        if proxy is None:
            self._pool = httpcore.ConnectionPool(
                ssl_context=ssl_context,
                max_connections=_LIMITS.max_connections,
                max_keepalive_connections=_LIMITS.max_keepalive_connections,
                keepalive_expiry=_LIMITS.keepalive_expiry,
                network_backend=backend,
            )
            return
        proxy = proxy if isinstance(proxy, httpx.Proxy) else httpx.Proxy(proxy)
        if proxy.url.scheme not in ("http", "https"):
            raise ValueError(f"not an HTTP(S) proxy: {proxy.url.scheme}://")
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=proxy.url.raw_scheme,
                host=proxy.url.raw_host,
                port=proxy.url.port,
                target=proxy.url.raw_path,
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            ssl_context=ssl_context,
            proxy_ssl_context=proxy.ssl_context,
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """``request`` sent through the pool; its answer's body streamed."""
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            answer = self._pool.handle_request(core_request)
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_ResponseStream(answer.stream),
            extensions=answer.extensions,
        )

    def __enter__(self) -> BoundedLookupTransport:
        self._pool.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        with _as_httpx_errors():
            self._pool.__exit__(exc_type, exc_value, traceback)

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()


def _no_proxy_pattern(host: str) -> str:
    """A ``NO_PROXY`` entry as the mount pattern httpx makes of it (curl's reading: ``.a.com``
    spares ``www.a.com`` only, ``a.com`` spares ``a.com`` and ``www.a.com``)."""
    # Not httpx._utils.get_environment_proxies: private, and it reads the environment itself,
    # where ``bounded_transports`` is given its proxies (tests, and hosts httpx misreads).
    if "://" in host:
        return host
    if _is_address(address := host.split("/", maxsplit=1)[0]):  # httpx reads 10.0.0.0/8 as 10.0.0.0
        return f"all://{host}" if ":" not in address else f"all://[{host}]"
    if host.lower() == "localhost":
        return f"all://{host}"
    return f"all://*{host}"


def bounded_transports(
    resolve: Resolver = system_resolver,
    proxies: Mapping[str, str] | None = None,
    *,
    lookups: Lookups | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[httpx.BaseTransport, dict[str, httpx.BaseTransport | None]]:
    """An httpx client's ``transport`` and ``mounts`` with every lookup they make bounded: the
    proxies of ``proxies`` (as ``urllib.request.getproxies()`` gives them; None: the
    environment's HTTP(S)_PROXY, ALL_PROXY and NO_PROXY) mounted as httpx mounts them from the
    environment, a ``NO_PROXY`` host sent through ``transport``. A SOCKS proxy is left to
    httpx (which needs ``socksio`` for it), its lookups its own. ``ssl_context`` (None: a new
    one with httpx's defaults) verifies the servers' certificates."""
    proxies = getproxies() if proxies is None else proxies
    ssl_context = ssl_context or httpx.create_ssl_context()
    transport = BoundedLookupTransport(resolve, lookups=lookups, ssl_context=ssl_context)
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for scheme in ("http", "https", "all"):
        if url := proxies.get(scheme):
            proxy = httpx.Proxy(url if "://" in url else f"http://{url}")
            mounts[f"{scheme}://"] = (
                BoundedLookupTransport(
                    resolve, proxy=proxy, lookups=lookups, ssl_context=ssl_context
                )
                if proxy.url.scheme in ("http", "https")
                else httpx.HTTPTransport(proxy=proxy, verify=ssl_context)
            )
    hosts = [host.strip() for host in proxies.get("no", "").split(",")]
    if "*" in hosts:
        return transport, {}
    mounts.update({_no_proxy_pattern(host): None for host in hosts if host})
    return transport, mounts
