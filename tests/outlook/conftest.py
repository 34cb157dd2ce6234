"""The outlook's tests read the real history bundled in datasets/ (Brazil only: fast enough)."""

from pathlib import Path

import pytest

from fuelpipe.adapters.history_files import History, load_history

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


@pytest.fixture(scope="session")
def history() -> History:
    return load_history(DATASETS, with_areas=False)
