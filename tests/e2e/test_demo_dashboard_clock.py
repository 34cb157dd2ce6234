"""The dashboard on a demo store runs at the newest of the demo's clocks (2026-06-26, the state
weeks'), the instant its data reaches, while each series keeps its own clock for its reads and
its lateness. It ran at the window's (2022-05-07), so above the 2026 prices its default views
show, the live header said "checked 5/7/22", Health "as of 5/7/22" and the Today panel looked
for the dollar's points of 2022-05-06 beside a dollar card of 2026-06-26. Both ways of serving
it are checked: `fuelpipe dashboard` on the store and the demo's own (`serve_panel`)."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from tests.e2e.conftest import store_copy
from typer.testing import CliRunner

from fuelpipe.cli.demo import serve_panel
from fuelpipe.cli.main import cli
from fuelpipe.dashboard.server import dashboard_app
from fuelpipe.homes.settings import Settings

NEWEST = "2026-06-26T18:01:00-03:00"
"""The state weeks' clock, the latest of the demo's (its USD's is 13:11 that day)."""
WINDOW = "2022-05-07T23:59:00-03:00"
PATHS = ("/api/live", "/api/health", "/api/intraday?series=CURRENCY%23USD")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the dashboard a command serves answers on PATHS: uvicorn is replaced by the app
    `serve` builds, asked each path once while the command still holds its store open."""
    answers: dict[str, Any] = {}

    def serve(store: Any, catalog: Any, queue: Any = None, *, port: int, **wiring: Any) -> None:
        app = dashboard_app(store, catalog, queue, **wiring)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            for path in PATHS:
                got = client.get(path)
                assert got.status_code == 200, got.text
                answers[path.split("?")[0]] = got.json()
        answers["computed"] = app.state.precomputer.computed

    monkeypatch.setattr("fuelpipe.dashboard.server.serve", serve)
    return answers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dashboard(env: dict[str, str], *now: str) -> str:
    done = CliRunner().invoke(
        cli, [*now, "dashboard", "--port", str(_free_port())], env=env, catch_exceptions=False
    )
    assert done.exit_code == 0, done.output
    return done.output


def _check_at_the_newest_clock(answers: dict[str, Any]) -> None:
    live, health, today = answers["/api/live"], answers["/api/health"], answers["/api/intraday"]
    assert live["as_of"] == NEWEST  # the header's "checked" (and X-Fuelpipe-As-Of)
    assert health["as_of"] == NEWEST  # Health's "as of"
    dollar = next(s for s in live["series"] if s["key"] == "CURRENCY#USD")
    assert dollar["date"] == today["day"] == "2026-06-26"  # the Today panel: the card's day
    assert dollar["age_s"] == pytest.approx(4 * 3600 + 51 * 60)  # published 13:10 that day
    # Lateness is still each series' own: the window's 2022 shares and regions, PETR4 of
    # 2025-09 are not late by years at the 2026 clock, and each is read up to its own.
    assert health["problems"] == []
    rows = {r["key"]: r for r in health["series"]}
    assert rows["STOCK#PETR3"]["last"] == "2022-03-14"
    assert rows["STOCK#PETR4"]["last"] == "2025-09-29"
    assert rows["FUEL#GASOLINE#REGION_SE"]["last"] == "2022-05-01"
    assert all(r["missing"] == 0 for r in rows.values())
    # the health view the demo stored (at that clock too) is the one served, not recomputed
    assert answers["computed"] == 0


def test_fuelpipe_dashboard_on_a_demo_store_runs_at_its_newest_clock(
    demo_store, tmp_path: Path, served: dict[str, Any]
) -> None:
    env = store_copy(demo_store, tmp_path)
    out = _dashboard({**env, "FUELPIPE_LAKE": str(tmp_path / "lake")})
    _check_at_the_newest_clock(served)
    assert f"the dashboard runs at {NEWEST}, the newest of the demo's clocks" in out


def test_the_demo_serves_its_panel_at_its_newest_clock(
    demo_store, tmp_path: Path, served: dict[str, Any]
) -> None:
    env = store_copy(demo_store, tmp_path)
    cfg = Settings(db=Path(env["FUELPIPE_DB"]), lake=tmp_path / "lake")
    serve_panel(Console(file=io.StringIO()), cfg, port=_free_port(), stations=None)
    _check_at_the_newest_clock(served)


def test_now_still_puts_the_dashboard_and_every_series_at_one_clock(
    demo_store, tmp_path: Path, served: dict[str, Any]
) -> None:
    env = store_copy(demo_store, tmp_path)
    out = _dashboard({**env, "FUELPIPE_LAKE": str(tmp_path / "lake")}, "--now", WINDOW)
    assert "the dashboard runs at" not in out
    assert served["/api/live"]["as_of"] == served["/api/health"]["as_of"] == WINDOW
    assert served["/api/intraday"]["day"] == "2022-05-06"  # Saturday: Friday's session
