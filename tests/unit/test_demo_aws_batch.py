"""`make demo-aws` hands the scraper handler the batches AWS would: the template's BatchSize."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from scripts.demo_aws import TEMPLATE, drain, scraper_batch_size

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue


def test_the_batch_size_is_the_templates() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    mapping = text.split("\n  ScraperDownloads:\n", 1)[1].split("\n\n", 1)[0]
    assert scraper_batch_size() == int(re.findall(r"BatchSize: (\d+)", mapping)[0])


def test_each_scraper_event_carries_at_most_the_templates_batch(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2022, 5, 7, 12, 0, tzinfo=UTC))
    queue = SqliteQueue(tmp_path / "queue.sqlite", clock, timedelta(minutes=5))
    queue.send([f'{{"n": {n}}}' for n in range(3)])
    app: Any = SimpleNamespace(queue=queue)
    events: list[int] = []

    def invoke(name: str, handler: Any, event: dict[str, Any]) -> dict[str, Any]:
        events.append(len(event["Records"]))
        return {"batchItemFailures": []}

    handled = drain(app, lambda event, context: {}, invoke, "fuelpipe-downloads")
    assert handled == 3
    assert events == [scraper_batch_size()] * 3
