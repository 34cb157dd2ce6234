"""ANP's rows repeating a state, fuel and month are stored once, whatever the store batch.

The real monthly workbook (eduardoicosta__mensal-estados-desde-jan2013.xlsx, datasets/anp)
has several rows for some key-dates: CNG ES 2014-08 is 14 stations at 1.863, then 42 at
1.799. The adapter used to yield such a key-date again for each later row covering at least
as many stations; when a store batch ended between the two, the scraper recorded a revision
ANP never made, and every re-read flipped it back and forth (reviewer's dup.py). The records
must not depend on FUELPIPE_STORE_BATCH, a re-read must revise nothing, and the figures of
the rows not kept stay in the kept record (``other_rows``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from devtools.datasets import dataset
from openpyxl import load_workbook
from pytest_httpserver import HTTPServer
from tests.stages.conftest import POLICY

from fuelpipe.adapters.clock import ManualClock
from fuelpipe.adapters.sources._http import make_client
from fuelpipe.adapters.sources.anp import OTHER_ROWS, AnpWorkbookSource
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.messages import DownloadRequest
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.scrape import ScrapeReport, scrape

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
ROUTE = "/shlp/mensal/mensal-estados-desde-jan2013.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOW = datetime(2015, 3, 1, 12, tzinfo=UTC)
MONTHS = [date(2014, 7, 1), date(2014, 8, 1), date(2014, 9, 1)]
# The six states with several CNG rows for 2014-08 in the real file, and two with one.
STATES = ("ES", "PE", "MG", "RN", "RS", "SP", "RJ", "BA")
KEYS = [f"FUEL_MONTHLY#CNG#{uf}" for uf in STATES]
BATCHES = (1, 2, 3, 5000)  # 1: a batch ends between every two rows; 5000: the default
Stored = dict[tuple[str, date], tuple[Any, ...]]


@pytest.fixture(scope="module")
def anp_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def _serve(server: HTTPServer, content: bytes) -> None:
    server.clear()
    server.expect_request(ROUTE).respond_with_data(content, content_type=XLSX)


def _app(tmp_path: Path, server: HTTPServer, batch: int) -> StageContext:
    clock = ManualClock(NOW)
    folder = tmp_path / f"batch-{batch}"
    folder.mkdir()
    source = AnpWorkbookSource(server.url_for("/shlp"), make_client(timeout_s=10.0), attempts=1)
    return StageContext(
        catalog=DEFAULT_CATALOG,
        store=SqliteStore(folder / "store.sqlite"),
        queue=SqliteQueue(folder / "queue.sqlite", clock, visibility_timeout=timedelta(30)),
        sources={"anp": source},
        clock=clock,
        policy=POLICY,
        store_batch=batch,
    )


def _read_three_times(app: StageContext, months: list[date]) -> list[ScrapeReport]:
    """The months asked for once as a gap, then re-read twice (``fuelpipe revise``)."""
    unit = DEFAULT_CATALOG[KEYS[0]].fetch_unit
    reports = []
    for origin in ("gap", "revise", "revise"):
        request = DownloadRequest(
            partition_key=KEYS[0],
            dates_to_download=months,
            fetch_unit=unit,
            origin=origin,
            also_keys=KEYS[1:],
        )
        reports.append(scrape(app, request))
    return reports


def _stored(app: StageContext, months: list[date]) -> Stored:
    return {
        (key, r.date): (r.value, r.status, r.attrs, r.revisions)
        for key in KEYS
        for r in app.store.query(key, months[0], months[-1])
    }


def _stores_by_batch(
    tmp_path: Path, server: HTTPServer, content: bytes, months: list[date]
) -> dict[int, Stored]:
    """Each batch size's store after three reads of ``months``; each read checked: all
    written once, nothing revised afterwards."""
    _serve(server, content)
    out: dict[int, Stored] = {}
    for batch in BATCHES:
        app = _app(tmp_path, server, batch)
        try:
            reports = _read_three_times(app, months)
            assert [(r.records_written, r.revised, r.adjusted) for r in reports] == [
                (len(KEYS) * len(months), 0, 0),
                (0, 0, 0),
                (0, 0, 0),
            ], f"store batch {batch}"
            out[batch] = _stored(app, months)
        finally:
            app.close()
    return out


def test_real_duplicate_rows_store_the_same_whatever_the_batch_and_revise_nothing(
    tmp_path: Path, anp_server: HTTPServer
) -> None:
    content = dataset("anp/eduardoicosta__mensal-estados-desde-jan2013.xlsx").read_bytes()
    stores = _stores_by_batch(tmp_path, anp_server, content, MONTHS)
    default = stores[5000]
    assert len(default) == len(KEYS) * len(MONTHS)
    for batch, stored in stores.items():
        assert stored == default, f"store batch {batch} differs from the default's"
    assert not any(revisions for *_, revisions in default.values())

    def kept(uf: str) -> tuple[Decimal, object, object]:
        value, _, attrs, _ = default[(f"FUEL_MONTHLY#CNG#{uf}", date(2014, 8, 1))]
        return value, attrs["stations"], attrs.get(OTHER_ROWS)

    # The row with the most stations is the value; every published figure of the others stays,
    # in the workbook's order (eduardoicosta__mensal-estados-desde-jan2013; the adapter's
    # tests check each figure): here their price@stations, and SP's minimum (below the kept
    # row's 1.589) and margin.
    def heads(uf: str) -> tuple[Decimal, object, list[str]]:
        value, stations, others = kept(uf)
        return value, stations, [row.split(" ")[0] for row in str(others).split(";")]

    assert heads("ES") == (Decimal("1.799"), 42, ["1.863@14"])
    assert heads("PE") == (Decimal("1.88"), 134, ["1.897@9"])
    assert heads("MG") == (Decimal("1.944"), 70, ["2.08@4", "2.099@1"])
    assert heads("RN") == (Decimal("1.999"), 69, ["2.012@3"])
    assert heads("RS") == (Decimal("2.194"), 146, ["2.28@2"])
    assert heads("SP") == (Decimal("1.793"), 325, ["1.806@30"])
    assert " min=1.557 max=2.08 margin=0.422 " in str(kept("SP")[2])
    # A key-date with one row, and every other month, has no such attribute.
    assert OTHER_ROWS not in default[("FUEL_MONTHLY#CNG#RJ", date(2014, 8, 1))][2]
    assert not any(OTHER_ROWS in attrs for (_, day), (_, _, attrs, _) in default.items()
                   if day != date(2014, 8, 1))  # fmt: skip


def _split_es_rows_synthetic(content: bytes) -> bytes:
    """The cut of the real file with ES's second 2014-08 CNG row (42 stations at 1.799) moved to the end
    of the sheet, apart from its first (synthetic: no real ANP file splits a key-date)."""
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    found = [
        row[0].row
        for row in sheet.iter_rows()
        if row[1].value == "GNV"
        and row[3].value == "ESPIRITO SANTO"
        and isinstance(row[0].value, datetime)
        and row[0].value.date() == date(2014, 8, 1)
    ]
    assert len(found) == 2
    second = [cell.value for cell in sheet[found[1]]]
    assert second[4:7] == [42, "R$/m3", 1.799]
    sheet.delete_rows(found[1])
    sheet.append(second)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_rows_apart_keep_the_first_figure_whatever_the_batch_synthetic(
    tmp_path: Path, anp_server: HTTPServer
) -> None:
    cut = (PAYLOADS / "anp_mensal-estados-desde-jan2013_cut.xlsx").read_bytes()
    august = [date(2014, 8, 1)]
    stores = _stores_by_batch(tmp_path, anp_server, _split_es_rows_synthetic(cut), august)
    default = stores[5000]
    for batch, stored in stores.items():
        assert stored == default, f"store batch {batch} differs from the default's"
    # The key-date was stored with its first rows' figure before the later row was read; the
    # later one is noted (a warning), not made a revision of it.
    value, _, attrs, revisions = default[("FUEL_MONTHLY#CNG#ES", date(2014, 8, 1))]
    assert (value, attrs["stations"], OTHER_ROWS in attrs) == (Decimal("1.863"), 14, False)
    assert not revisions
    # The rows still adjacent are settled as in the real file.
    assert default[("FUEL_MONTHLY#CNG#PE", date(2014, 8, 1))][2][OTHER_ROWS] == (
        "1.897@9 std=0.077 min=1.89 max=1.899 cv=0.041 unit=BRL/m3"
    )
