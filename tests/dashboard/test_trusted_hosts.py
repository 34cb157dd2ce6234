"""DNS rebinding: a dashboard on a loopback address answers only its own Host names, so a web
page whose name is rebound to 127.0.0.1 cannot read it; the 400 still carries the headers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import NOW

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.intraday_store import SqliteIntradayStore
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.cli.demo_live import live_app
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.security import CONTENT_SECURITY_POLICY
from fuelpipe.dashboard.server import LOOPBACK_NAMES, allowed_hosts, dashboard_app
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.embedded import build_context
from fuelpipe.homes.settings import Settings


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_a_loopback_server_answers_only_its_own_names(bind: str) -> None:
    assert allowed_hosts(bind) == LOOPBACK_NAMES


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.168.1.20", "::", "dashboard.example.org"])
def test_a_server_others_reach_answers_any_name(bind: str) -> None:
    # the operator exposed it: its names (a LAN address, a proxy's name) are theirs to choose
    assert allowed_hosts(bind) is None


def _client(tmp_path: Path, hosts: tuple[str, ...] | None) -> TestClient:
    store = SqliteStore(tmp_path / "hosts.sqlite", clock=FixedClock(NOW))
    app = create_app(store, DEFAULT_CATALOG, clock=FixedClock(NOW), allowed_hosts=hosts)
    return TestClient(app, base_url="http://127.0.0.1:8050")


@pytest.mark.parametrize("host", ["127.0.0.1:8050", "localhost:8050", "[::1]:8050", "LOCALHOST"])
def test_the_page_and_api_answer_their_own_names(tmp_path: Path, host: str) -> None:
    with _client(tmp_path, LOOPBACK_NAMES) as client:
        for path in ("/", "/api/health"):
            assert client.get(path, headers={"host": host}).status_code == 200, (host, path)


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8050", "127.0.0.1.nip.io"])
def test_a_rebound_name_is_refused_with_the_security_headers(tmp_path: Path, host: str) -> None:
    with _client(tmp_path, LOOPBACK_NAMES) as client:
        r = client.get("/api/health", headers={"host": host})
    assert r.status_code == 400
    assert "Invalid host header" in r.text
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_without_a_list_any_name_is_answered(tmp_path: Path) -> None:
    # the AWS home: the function URL's own name, which the app cannot know in advance
    with _client(tmp_path, None) as client:
        assert (
            client.get("/api/health", headers={"host": "abc.lambda-url.on.aws"}).status_code == 200
        )


def _create_app_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "create_app"
    ]


def test_every_app_the_cli_builds_is_given_its_host_names() -> None:
    # `fuelpipe dashboard`, `demo` and `demo --live` serve on this machine: each app they build
    # must name the Host headers it answers, or a rebound name reads the local dashboard
    src = Path(__file__).resolve().parents[2] / "src" / "fuelpipe"
    files = [*sorted((src / "cli").rglob("*.py")), src / "dashboard" / "server.py"]
    calls = [(f.name, c) for f in files for c in _create_app_calls(f)]
    assert calls, "no create_app call found: the scan looks in the wrong place"
    bare = [
        f"{name}:{c.lineno}"
        for name, c in calls
        if "allowed_hosts" not in {k.arg for k in c.keywords}
    ]
    assert bare == []


def test_the_live_demo_panel_refuses_a_rebound_name(tmp_path: Path) -> None:
    cfg = Settings(db=tmp_path / "live.sqlite")
    context = build_context(cfg, clock=FixedClock(NOW))
    try:
        app = live_app(context, DEFAULT_CATALOG, SqliteIntradayStore(tmp_path / "i.sqlite"), {})
        with TestClient(app, base_url="http://127.0.0.1:8050") as client:
            assert (
                client.get("/api/health", headers={"host": "attacker.example"}).status_code == 400
            )
            assert client.get("/api/health").status_code == 200
    finally:
        context.close()


@pytest.mark.parametrize(("bind", "refused"), [("127.0.0.1", True), ("0.0.0.0", False)])
def test_the_served_dashboard_app_refuses_a_rebound_name_on_loopback(
    tmp_path: Path, bind: str, refused: bool
) -> None:
    store = SqliteStore(tmp_path / "served.sqlite", clock=FixedClock(NOW))
    app = dashboard_app(store, DEFAULT_CATALOG, host=bind, clock=FixedClock(NOW))
    with TestClient(app, base_url="http://127.0.0.1:8050") as client:
        r = client.get("/api/health", headers={"host": "attacker.example"})
    assert r.status_code == (400 if refused else 200)
