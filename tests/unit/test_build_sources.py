"""The composition roots build only the HTTP sources a function asks for."""

from __future__ import annotations

import ssl

import pytest

from fuelpipe.homes.settings import Settings
from fuelpipe.homes.sources import build_sources


def test_builds_every_source_or_only_those_named() -> None:
    settings = Settings()
    every = build_sources(settings)
    some = build_sources(settings, {"bcb", "yahoo"})
    try:
        assert sorted(every) == ["anp", "bcb", "fred", "yahoo"]
        assert sorted(some) == ["bcb", "yahoo"]  # the intraday Lambda's: no ANP client
        assert some["bcb"].base_url == settings.source_url("bcb")
    finally:
        for source in (*every.values(), *some.values()):
            source.close()


def test_an_unknown_source_name_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown source\(s\) bcbx; known: bcb, yahoo"):
        build_sources(Settings(), {"bcb", "bcbx"})


def test_the_sources_share_one_tls_context() -> None:
    # Each new context loads the CA bundle again (tens of ms): a cold start building four
    # sources paid that four times. One context serves them all, and verifies certificates.
    sources = build_sources(Settings())
    try:
        contexts = {id(s.client._transport._pool._ssl_context) for s in sources.values()}  # type: ignore[attr-defined]
        assert len(contexts) == 1
        context = next(iter(sources.values())).client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    finally:
        for source in sources.values():
            source.close()
