"""The scheduled Lambdas ship without pandas or numpy, and the dashboard's without pandas or
plotly: their handlers must import without them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCKED_IMPORT = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"{name} is not in the Lambda package")
            return None

    BLOCKED = set(sys.argv[3].split(","))
    sys.meta_path.insert(0, Block())
    sys.path.insert(0, sys.argv[2])
    from devtools.aws.lambda_events import load_handler

    module = load_handler(sys.argv[1])
    assert callable(module.lambda_handler)
    assert callable(module.make_handler)
    if sys.argv[1] == "data_clustering":
        # The gap scan's calendars work without holidays and bizdays (their days are tables).
        from datetime import date
        from fuelpipe.domain.calendars import expected_between, get_calendar
        from fuelpipe.domain.catalog import DEFAULT_CATALOG

        for cal in {s.calendar for s in DEFAULT_CATALOG}:
            assert list(expected_between(get_calendar(cal), date(2024, 1, 1), date(2024, 3, 1)))
    if sys.argv[1] == "dashboard_api":
        # The app is built on the first request: build it, and read the page and its Plotly.
        import fuelpipe.dashboard.app
        from fuelpipe.dashboard.static_assets import PLOTLY_PARTIAL, asset, asset_paths

        assert "plotly.min.js" not in asset_paths()
        assert b"/static/plotly-partial.min.js?h=" in asset("index.html").body
        assert asset(PLOTLY_PARTIAL).body.startswith(b"/** plotly.js v")
    if sys.argv[1] == "retry_recheck":
        # It evaluates the outlook's alert rules, which read stored forecasts: without numpy.
        import tempfile
        from datetime import datetime
        from pathlib import Path
        from types import SimpleNamespace

        from fuelpipe.adapters.clock import FixedClock
        from fuelpipe.adapters.sqlite_store import SqliteStore
        from fuelpipe.domain.catalog import DEFAULT_CATALOG
        from fuelpipe.domain.instants import SAO_PAULO
        from fuelpipe.stages.outlook_rules import outlook_rules
        from tests.support.outlook import rising_forecast

        as_of = datetime(2022, 5, 4, 15, 0, tzinfo=SAO_PAULO)
        with tempfile.TemporaryDirectory() as tmp:
            with SqliteStore(Path(tmp) / "s.sqlite", clock=FixedClock(as_of)) as store:
                store.put_records([rising_forecast(as_of)])
                context = SimpleNamespace(now=as_of, store=store, catalog=DEFAULT_CATALOG)
                fired = [c.subject for rule in outlook_rules() for c in rule.evaluate(context)]
        assert fired == ["FUEL#GASOLINE#BR:rise"], fired
    leaked = sorted(m for m in BLOCKED if m in sys.modules)
    print("leaked:", leaked)
    """
)


# What each function's requirements.txt leaves out, so its import must not need it. No
# function ships holidays or bizdays: the calendars read domain/holiday_tables.py.
NOT_SHIPPED = {
    "data_clustering": "pandas,numpy,httpx,openpyxl,holidays,bizdays",
    "retry_recheck": "pandas,numpy,httpx,openpyxl,holidays,bizdays",
    "scraper": "pandas,numpy,holidays,bizdays",
    "intraday": "pandas,numpy,openpyxl,holidays,bizdays",
    # The page loads the committed partial plotly.js bundle: no plotly package (nor the narwhals
    # and packaging only it pulls in) in the dashboard's zip.
    "dashboard_api": "pandas,plotly,narwhals,packaging,holidays,bizdays",
}


@pytest.mark.parametrize("name", sorted(NOT_SHIPPED))
def test_handler_imports_without_what_its_package_leaves_out(name: str) -> None:
    for module in NOT_SHIPPED[name].split(","):
        requirements = (ROOT / "lambdas" / name / "requirements.txt").read_text()
        assert f"\n{module}==" not in requirements
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED_IMPORT, name, str(ROOT), NOT_SHIPPED[name]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "leaked: []" in done.stdout


def test_dashboard_lock_carries_no_plotly() -> None:
    lock = (ROOT / "requirements" / "lambda-dashboard_api.txt").read_text().lower()
    for name in ("plotly", "narwhals", "packaging", "pandas"):
        assert f"\n{name}==" not in lock, name
        assert f"via {name}" not in lock, name
