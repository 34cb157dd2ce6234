"""The health page's runs table names each count of a scraper run log in the page's language
(health.js's TEXT, ``count.<name>``); one without a text shows as its name with spaces, in
English on the pt-BR page too. A scraper run log carries its report's counters and, when its
data version write failed, ``version_owed`` (lambdas/scraper/handler.py)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from fuelpipe.stages.data_version import RUN_VERSION_OWED
from fuelpipe.stages.scrape import ScrapeReport

HEALTH_JS = (
    Path(__file__).resolve().parents[2] / "src" / "fuelpipe" / "dashboard" / "static" / "health.js"
)


def test_every_count_a_scraper_run_log_carries_has_its_text_in_both_languages() -> None:
    text = HEALTH_JS.read_text(encoding="utf-8")
    english, portuguese = text.split('\n    "pt-BR": {\n', 1)
    portuguese = portuguese.split("\n  };\n", 1)[0]
    counts = {f.name for f in fields(ScrapeReport)} | {RUN_VERSION_OWED}
    for language in (english, portuguese):
        named = set(re.findall(r'"count\.(\w+)":', language))
        assert counts <= named, sorted(counts - named)
