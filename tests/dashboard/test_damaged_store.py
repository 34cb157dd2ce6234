"""The dashboard on a store file damaged past its first page: every view that reads the store
answered 500 "internal error; see the server log", with three tracebacks in that log per
request, where the CLI names the file and says what to do. Now each answers 503 with the
CLI's line (the file, SQLite's finding, restore it from a backup, then restart the dashboard),
logged as that one line, and nothing of it is kept: once the file is restored the same request
is answered again."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.dashboard.conftest import ManualTimer
from tests.support.damaged_sqlite import damage_all_but_the_first_page, sound_store_file

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.security import CONTENT_SECURITY_POLICY
from fuelpipe.dashboard.server import dashboard_app
from fuelpipe.dashboard.versions import VERSION_TTL_S, DataVersion
from fuelpipe.homes import damage_namer, open_home
from fuelpipe.homes.settings import Settings
from fuelpipe.stages.context import StageContext

NOW = datetime(2022, 5, 9, 12, 0, tzinfo=UTC)
RESTART = "restart `fuelpipe dashboard`"
"""How `fuelpipe dashboard` builds its namer of damaged files."""
USD = "CURRENCY%23USD"
READS_THE_STORE = (
    "/api/meta",
    "/api/overview",
    f"/api/series?key={USD}",
    f"/api/series?key={USD}&format=csv",
    f"/api/indices?keys={USD}",
    f"/api/correlations?keys={USD},BRENT_BRL",
    "/api/lags?fuel=GASOLINE",
    "/api/parity",
    "/api/regional?fuel=GASOLINE",
    "/api/health",
    "/api/health?format=csv",
    "/api/live",
    "/api/outlook?fuel=GASOLINE",
    "/api/outlook/map?fuel=GASOLINE",
)


@contextmanager
def _opened(cfg: Settings) -> Iterator[tuple[Settings, StageContext]]:
    """The store opened as `fuelpipe dashboard` opens it (read only, with its queue)."""
    with open_home(cfg, read_only=True, clock=FixedClock(NOW)) as context:
        yield cfg, context


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Settings, StageContext]]:
    """A sound store, opened as `fuelpipe dashboard` opens it."""
    cfg = Settings(db=tmp_path / "fuelpipe.sqlite")
    sound_store_file(cfg.db)
    with _opened(cfg) as opened:
        yield opened


def _client(cfg: Settings, context: StageContext) -> TestClient:
    """The app `fuelpipe dashboard` serves, with the CLI's namer of damaged files."""
    app = dashboard_app(
        context.store,
        context.catalog,
        context.queue,
        clock=context.clock,
        store_views=False,
        faults=damage_namer(cfg, reopen=RESTART),
    )
    return TestClient(app, base_url="http://127.0.0.1")


def _logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("fuelpipe")]


@pytest.mark.parametrize("path", READS_THE_STORE)
def test_a_damaged_store_is_a_503_naming_the_file_in_one_log_line(
    path: str, home: tuple[Settings, StageContext], caplog: pytest.LogCaptureFixture
) -> None:
    cfg, context = home
    damage_all_but_the_first_page(cfg.db)
    with _client(cfg, context) as client:
        caplog.clear()
        caplog.set_level(logging.INFO, logger="fuelpipe")
        r = client.get(path)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/json"
    detail = r.json()["detail"]
    assert detail.startswith(f"{cfg.db} is damaged ("), detail
    assert "malformed" in detail, detail
    assert detail.endswith("restore it from a backup, then restart `fuelpipe dashboard`"), detail
    assert "\n" not in detail, detail  # SQLite's finding is two lines
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["cache-control"] == "no-store"
    (line,) = _logged(caplog)
    assert line.levelno == logging.ERROR and line.exc_info is None
    assert line.getMessage() == f"GET {path.partition('?')[0]}: {detail}"


def test_the_answer_after_the_file_is_restored_is_the_stores_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing of a 503 is kept: not by the response cache (on, as `fuelpipe dashboard` runs
    it), not as a stored view or its tag, not by the namer of damaged files; once the file is
    restored from a backup (in place, the server left running) the same requests get the
    store's answers."""
    cfg = Settings(db=tmp_path / "fuelpipe.sqlite")
    backup = sound_store_file(cfg.db, days=1999)
    sound_store_file(cfg.db, days=2000)  # a day stored since the backup
    damage_all_but_the_first_page(cfg.db)
    paths = (f"/api/series?key={USD}&start=2021-01-01", "/api/meta", "/api/health", "/api/live")
    with _opened(cfg) as (_, context), _client(cfg, context) as client:
        for p in paths:
            r = client.get(p)
            assert r.status_code == 503, (p, r.text[:300])
        cfg.db.write_bytes(backup)
        caplog.clear()
        for p in paths:
            r = client.get(p)
            assert r.status_code == 200, (p, r.text[:300])
            if "etag" in r.headers:  # a stored view's tag is the restored store's version
                tagged = client.get(p, headers={"If-None-Match": r.headers["etag"]})
                assert tagged.status_code == 304
        points = client.get(paths[0]).json()["points"]
    assert points[0] == {"date": "2021-01-01", "value": 4.9}
    assert points[-1]["date"] == "2025-06-21"  # the backup's last day (2020-01-01 + 1998)
    assert not [r for r in _logged(caplog) if r.levelno >= logging.WARNING]


def test_a_backup_moved_over_the_served_file_is_a_503_saying_to_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A backup moved over the damaged file (``mv``: a new file at the path) is not read by
    the running server: SQLite reads the file it opened, still the damaged one. Its requests
    were answered 500 "internal error" with tracebacks, the check of the file now at the path
    finding nothing wrong; now 503 saying the file was replaced and to restart the server."""
    cfg = Settings(db=tmp_path / "fuelpipe.sqlite")
    backup = tmp_path / "backup.sqlite"
    backup.write_bytes(sound_store_file(cfg.db, days=1999))
    sound_store_file(cfg.db, days=2000)
    damage_all_but_the_first_page(cfg.db)
    with _opened(cfg) as (_, context), _client(cfg, context) as client:
        assert client.get("/api/meta").status_code == 503
        os.replace(backup, cfg.db)
        caplog.clear()
        caplog.set_level(logging.INFO, logger="fuelpipe")
        r = client.get(f"/api/series?key={USD}&start=2021-01-01")
    assert r.status_code == 503, r.text[:300]
    detail = r.json()["detail"]
    assert detail.startswith(f"{cfg.db} was replaced since it was opened"), detail
    assert "database disk image is malformed" in detail, detail
    assert detail.endswith("restart `fuelpipe dashboard` to read the file now there"), detail
    logged = _logged(caplog)
    assert logged and all(x.exc_info is None for x in logged), [x.getMessage() for x in logged]
    assert f"GET /api/series: {detail}" in [x.getMessage() for x in logged]


def test_a_store_damaged_while_served_is_named_in_one_line_per_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Damaged after the server read its data version: the version read that fails serves
    the last one (said in one line, no traceback), the answers cached before it are served,
    and a request they do not answer is a 503 naming the file."""
    cfg = Settings(db=tmp_path / "fuelpipe.sqlite")
    sound = sound_store_file(cfg.db, days=1999)
    sound_store_file(cfg.db, days=2000)  # a later write: SQLite rereads the pages once it lands
    damage_all_but_the_first_page(cfg.db)
    damaged = cfg.db.read_bytes()
    cfg.db.write_bytes(sound)
    timer = ManualTimer()
    with _opened(cfg) as (_, context):
        named = damage_namer(cfg, reopen=RESTART)
        app = create_app(
            context.store,
            context.catalog,
            context.queue,
            context.clock,
            versions=DataVersion(context.store, timer=timer, faults=named),
            store_views=False,
            faults=named,
        )
        with TestClient(app) as client:
            cached = client.get(f"/api/series?key={USD}")
            assert cached.status_code == 200
            cfg.db.write_bytes(damaged)
            caplog.clear()
            caplog.set_level(logging.INFO, logger="fuelpipe")
            timer.now += VERSION_TTL_S  # the next request reads the version again
            r = client.get(f"/api/series?key={USD}&start=2021-01-01")
            assert r.status_code == 503, r.text[:300]
            assert r.json()["detail"].startswith(f"{cfg.db} is damaged (")
            again = client.get(f"/api/series?key={USD}")
            assert again.status_code == 200 and again.content == cached.content
    logged = _logged(caplog)
    assert logged and all(x.exc_info is None for x in logged), [x.getMessage() for x in logged]
    assert all("\n" not in x.getMessage() for x in logged)
    assert f"GET /api/series: {r.json()['detail']}" in [x.getMessage() for x in logged]


def test_an_error_that_is_not_damage_is_still_a_500(
    home: tuple[Settings, StageContext], caplog: pytest.LogCaptureFixture
) -> None:
    """A sound file read through a closed connection (sqlite3.ProgrammingError, a
    DatabaseError too): the server's fault, answered 500 with its traceback in the log."""
    cfg, context = home
    with _client(cfg, context) as client:
        context.store.close()
        r = client.get(f"/api/series?key={USD}")
    assert r.status_code == 500, r.text
    assert r.json() == {"detail": "internal error; see the server log"}
    assert any(r.exc_info for r in _logged(caplog))
