"""The health page's runs table names each count of a scraper run log in the page's language
(health.js's TEXT, ``count.<name>``); one without a text shows as its name with spaces, in
English on the pt-BR page too. A scraper run log carries its report's counters and, when its
data version write failed, ``version_owed`` (lambdas/scraper/handler.py)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from fuelpipe.stages.data_version import RUN_VERSION_OWED
from fuelpipe.stages.orchestrate import OrchestrateReport
from fuelpipe.stages.scrape import ScrapeReport

HEALTH_JS = (
    Path(__file__).resolve().parents[2] / "src" / "fuelpipe" / "dashboard" / "static" / "health.js"
)


def _without_text(counts: set[str]) -> list[str]:
    """Those of ``counts`` with no ``count.<name>`` text in one of the page's languages."""
    text = HEALTH_JS.read_text(encoding="utf-8")
    english, portuguese = text.split('\n    "pt-BR": {\n', 1)
    portuguese = portuguese.split("\n  };\n", 1)[0]
    missing: set[str] = set()
    for language in (english, portuguese):
        missing |= counts - set(re.findall(r'"count\.(\w+)":', language))
    return sorted(missing)


def test_every_count_a_scraper_run_log_carries_has_its_text_in_both_languages() -> None:
    assert _without_text({f.name for f in fields(ScrapeReport)} | {RUN_VERSION_OWED}) == []


def test_every_count_an_orchestrator_run_log_carries_has_its_text_in_both_languages() -> None:
    """The orchestrator's run log (``data_clustering``) is its report's counters, and the
    AWS home's gap scans count the gaps they hold (``gaps_held``) in it."""
    assert _without_text({f.name for f in fields(OrchestrateReport)}) == []
