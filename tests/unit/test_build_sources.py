"""The composition roots build only the HTTP sources a function asks for."""

from __future__ import annotations

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
