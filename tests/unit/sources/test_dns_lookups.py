"""Abandoned host lookups cannot pile up: a lookup given up at its timeout runs on until the
resolver answers, so a later lookup of the same host waits on it, and at most a bounded number
run at once (one more is refused at once, naming the hosts)."""

from __future__ import annotations

import httpcore
import pytest
from tests.support.dns import HangingResolver

from fuelpipe.adapters.sources._dns import LOOKUPS, BoundedLookupBackend, Lookups, lookup


def test_lookups_of_a_hanging_host_wait_on_the_one_already_running() -> None:
    """Before, each attempt's lookup started a thread of its own, left hanging: a host
    retried on every attempt of every fetch piled one up per attempt."""
    resolver = HangingResolver()
    try:
        for _ in range(3):
            with pytest.raises(httpcore.ConnectTimeout):
                lookup(resolver, "hanging.test", 80, 0.05)
        assert resolver.asked == ["hanging.test"]
    finally:
        resolver.release.set()
        for thread in LOOKUPS.running():
            thread.join(5)


def test_lookups_past_the_limit_are_refused_not_started() -> None:
    """Before, twenty hosts that hang left twenty threads."""
    resolver = HangingResolver()
    hosts = [f"h{i}.test" for i in range(20)]
    try:
        for host in hosts:
            with pytest.raises((httpcore.ConnectTimeout, httpcore.ConnectError)):
                lookup(resolver, host, 80, 0.01)
        assert len(resolver.asked) < len(hosts)
    finally:
        resolver.release.set()
        for thread in LOOKUPS.running():
            thread.join(5)


def test_the_limit_names_the_unanswered_hosts_and_frees_up_once_they_answer(server) -> None:
    resolver = HangingResolver()
    lookups = Lookups(limit=1)
    backend = BoundedLookupBackend(resolver, lookups=lookups)
    try:
        with pytest.raises(httpcore.ConnectTimeout, match=r"DNS lookup of a\.test took over"):
            backend.connect_tcp("a.test", server.port, timeout=0.05)
        refused = r"DNS lookup of b\.test not started: 1 lookups are still unanswered \(a\.test\)"
        with pytest.raises(httpcore.ConnectError, match=refused):
            backend.connect_tcp("b.test", server.port, timeout=5.0)
        assert resolver.asked == ["a.test"]
        (thread,) = lookups.running()
    finally:
        resolver.release.set()
    thread.join(5)
    assert lookups.running() == []
    backend.connect_tcp("b.test", server.port, timeout=5.0).close()
    assert resolver.asked == ["a.test", "b.test"]


def test_an_ip_literal_is_no_lookup() -> None:
    lookups = Lookups(limit=1)
    resolver = HangingResolver()
    assert lookups(resolver, "127.0.0.1", 80, 0.01) == ["127.0.0.1"]
    assert lookups(resolver, "::1", 80, 0.01) == ["::1"]
    assert resolver.asked == []
