"""Every Lambda handler answers the deploy's ping without building a home or touching data."""

from __future__ import annotations

from pathlib import Path

import pytest
from devtools.aws.lambda_events import FakeLambdaContext, load_handler

from fuelpipe.ping import PING_EVENT

FUNCTIONS = sorted(
    p.parent.name for p in (Path(__file__).resolve().parents[2] / "lambdas").glob("*/handler.py")
)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_handler_answers_the_ping(name: str) -> None:
    module = load_handler(name)

    answer = module.lambda_handler(dict(PING_EVENT), FakeLambdaContext(name))

    assert answer == {"fuelpipe": "pong", "function": name}


def test_every_function_is_pinged() -> None:
    assert FUNCTIONS == [
        "dashboard_api",
        "data_clustering",
        "intraday",
        "outlook",
        "retry_recheck",
        "scraper",
    ]
