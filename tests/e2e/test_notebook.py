"""docs/notebook.ipynb runs against the demo store and prints the dashboard's figures.

The notebook is executed with nbclient on a real Python kernel, reading the store through
``fuelpipe.open()`` (FUELPIPE_DB, as a user's shell would set it). Its printed headline lines
are compared with what the dashboard's API answers for the same store and the same defaults.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from fastapi.testclient import TestClient
from nbclient import NotebookClient

from fuelpipe.adapters.clock import FixedClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.domain.calendars import SAO_PAULO
from fuelpipe.domain.catalog import DEFAULT_CATALOG

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebook.ipynb"
DEMO_NOW = datetime(2022, 5, 7, 23, 59, tzinfo=SAO_PAULO)
PLOTLY = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def executed(demo_store, tmp_path_factory):
    """The notebook after a run on the demo store: (cells' printed text, output mime types)."""
    env, _, _ = demo_store
    nb = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("notebook")
    client = NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env={**os.environ, **env})
    text, mimes = [], set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append(out["text"])
            mimes |= set(out.get("data", {}))
    return "".join(text), mimes


@pytest.fixture(scope="module")
def dashboard(demo_store):
    """The dashboard's API on the same store."""
    env, _, _ = demo_store
    store = SqliteStore(Path(env["FUELPIPE_DB"]))
    with TestClient(create_app(store, DEFAULT_CATALOG, clock=FixedClock(DEMO_NOW))) as http:
        yield http
    store.close()


def test_the_notebook_shows_the_dashboards_lag_and_pass_through(executed, dashboard) -> None:
    text, mimes = executed
    lags = dashboard.get("/api/lags", params={"fuel": "GASOLINE"}).json()
    best, reg = lags["best"], lags["regression"]
    top = max(lags["cross"], key=lambda c: abs(c["r"]))
    if best is None:
        line = f"largest |r| at a lag of {top['lag']} weeks (r = {top['r']:.2f}): not named"
    else:
        line = f"best lag: {best['lag']} weeks (r = {best['r']:.2f})"
    assert line in text
    assert (
        f"moves the pump price {reg['pump_pct_per_10pct']:.2f}% "
        f"(95% CI {reg['pump_pct_ci_low']:.2f}% to {reg['pump_pct_ci_high']:.2f}%) "
        f"within {reg['lags']} weeks, n = {reg['n']}"
    ) in text
    assert PLOTLY in mimes  # the lag chart and the map are Plotly figures


def test_the_notebook_shows_the_dashboards_parity_and_map(executed, dashboard) -> None:
    text, _ = executed
    parity = dashboard.get("/api/parity").json()
    states = [a for a in parity["areas"] if a["level"] == "STATE"]
    pays = sum(a["ethanol_pays"] for a in states)
    assert f"parity week {parity['week']}: ethanol pays in {pays} of {len(states)} states" in text

    regional = dashboard.get("/api/regional", params={"fuel": "GASOLINE"}).json()
    priced = [a for a in regional["areas"] if a["level"] == "STATE" and a["price"] is not None]
    cheap = min(priced, key=lambda a: a["price"])
    dear = max(priced, key=lambda a: a["price"])
    assert (
        f"gasoline week {regional['week']}: cheapest {cheap['area']} R$ {cheap['price']:.3f}, "
        f"dearest {dear['area']} R$ {dear['price']:.3f}"
    ) in text
