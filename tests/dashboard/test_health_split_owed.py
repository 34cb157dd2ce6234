"""The health view names each series owing a whole-history re-read after a stock split.

A split re-bases every earlier close of a Yahoo ticker; when re-reading the stored history
fails, the scraper records it owed (``split_owed#<key>``) and `fuelpipe status` says so. The
health view said nothing, so an analyst looking at a chart with a false step at the split
had no warning. The entries here are written as the scraper writes them (``_owe``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from devtools.dashboard.serving import serving

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.app import create_app
from fuelpipe.dashboard.health import health_view
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Record, Split, Status
from fuelpipe.stages.scrape import owed_text, split_owed_name, split_owed_since_name

SP = ZoneInfo("America/Sao_Paulo")
USD = DEFAULT_CATALOG["CURRENCY#USD"]
PETR4 = DEFAULT_CATALOG["STOCK#PETR4"]
XOM = DEFAULT_CATALOG["STOCK#XOM"]
MONDAY = date(2022, 5, 2)
EX_DATE = date(2022, 4, 25)
OWED_AT = datetime(2022, 4, 26, 19, 5, tzinfo=SP)
SPLITS = (
    Split(PETR4.key, EX_DATE, Decimal(2), Decimal(1)),
    Split(PETR4.key, date(2022, 4, 28), Decimal(1), Decimal(10)),
)


def _owe(store: SqliteStore, key: str, splits: Iterable[Split], since: datetime) -> None:
    """As the scraper records a failed re-read: since when, then the splits owed."""
    store.put_meta(split_owed_since_name(key), since.astimezone(UTC).isoformat())
    store.put_meta(split_owed_name(key), owed_text(splits))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """USD, PETR4 and XOM stored up to Monday; PETR4 owes a re-read after two splits."""
    s = SqliteStore(tmp_path / "h.sqlite")
    s.put_records([Record(k.key, MONDAY, Decimal("5"), Status.OK) for k in (USD, PETR4, XOM)])
    _owe(s, PETR4.key, reversed(SPLITS), OWED_AT)
    yield s
    s.close()


def test_the_health_view_names_the_owed_splits_of_each_series_and_since_when(store) -> None:
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    view = health_view(store, DEFAULT_CATALOG, None, clock)
    by_key = {s.key: s for s in view.series}
    owed = by_key[PETR4.key].split_owed
    assert owed is not None
    assert [(s.date, s.ratio) for s in owed.splits] == [
        (EX_DATE, "2:1"),
        (date(2022, 4, 28), "1:10"),
    ]
    assert owed.text == "2022-04-25=2:1 2022-04-28=1:10" == owed_text(SPLITS)  # status's words
    assert owed.since == OWED_AT and owed.since.utcoffset() == OWED_AT.utcoffset()  # São Paulo
    assert by_key[USD.key].split_owed is None and by_key[XOM.key].split_owed is None
    assert view.split_owed == 1

    # An entry emptied once the re-read is stored: nothing owed (its instant is not read);
    # one without an instant (written before they were kept) still names its splits.
    store.put_meta(split_owed_name(PETR4.key), "")
    settled = health_view(store, DEFAULT_CATALOG, None, clock)
    assert settled.split_owed == 0
    assert all(s.split_owed is None for s in settled.series)
    store.put_meta(split_owed_name(XOM.key), "2022-04-25=2:1")
    (older,) = [s for s in health_view(store, DEFAULT_CATALOG, None, clock).series if s.split_owed]
    assert older.split_owed is not None
    assert (older.key, older.split_owed.text, older.split_owed.since) == (
        XOM.key,
        "2022-04-25=2:1",
        None,
    )


def test_the_health_api_and_its_csv_carry_the_owed_splits(store) -> None:
    clock = ManualClock(datetime(2022, 5, 3, 9, 0, tzinfo=SP))
    with serving(create_app(store, DEFAULT_CATALOG, clock=clock)) as url:
        body = httpx.get(url + "/api/health").json()
        text = httpx.get(url + "/api/health?format=csv").text
    assert body["split_owed"] == 1
    rows = {s["key"]: s["split_owed"] for s in body["series"]}
    assert rows == {
        USD.key: None,
        XOM.key: None,
        PETR4.key: {
            "splits": [
                {"date": "2022-04-25", "ratio": "2:1"},
                {"date": "2022-04-28", "ratio": "1:10"},
            ],
            "text": "2022-04-25=2:1 2022-04-28=1:10",
            "since": "2022-04-26T19:05:00-03:00",
        },
    }
    table = list(csv.DictReader(io.StringIO(text)))
    owed = {r["key"]: (r["split_owed"], r["split_owed_since"]) for r in table}
    assert owed == {
        USD.key: ("", ""),
        XOM.key: ("", ""),
        PETR4.key: ("2022-04-25=2:1 2022-04-28=1:10", "2022-04-26T19:05:00-03:00"),
    }
