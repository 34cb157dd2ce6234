"""ANP workbooks read by python-calamine and by openpyxl's read-only stream give the same rows.

The scraper reads a workbook with python-calamine unless its worksheet XML is larger than
CALAMINE_MAX_SHEET_BYTES; then openpyxl streams it. Both must give identical observations,
missing rows and problems, row numbers included.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fuelpipe.adapters.sources.anp import CALAMINE_MAX_SHEET_BYTES, stream_workbook
from fuelpipe.ports.source import InvalidPayload

WEEKLY_BR = "anp:weekly:brasil"
CASES = [
    ("payload", "anp_semanal-brasil_malformed-rows-synthetic.xlsx", WEEKLY_BR),
    ("payload", "anp_mensal-estados-desde-jan2013_cut.xlsx", "anp:monthly:estados"),
    ("payload", "anp_semanal-estados_layout-inferred_values-from-strongylis.xlsx",
     "anp:weekly:estados"),
    ("real", "anp/maikereis__semanal-brasil-desde-2013.xlsx", WEEKLY_BR),
    ("real", "anp/regions/semanal-regioes-desde-2013_to2022-06.xlsx", "anp:weekly:regioes"),
]  # fmt: skip


def _read(
    content: bytes, unit: str, limit: int
) -> tuple[list[object], dict[object, str], list[str]]:
    missing: dict[object, str] = {}
    problems: list[str] = []
    stream = stream_workbook(
        content, unit, "w.xlsx", missing=missing, problems=problems, calamine_max_bytes=limit
    )
    return list(stream), dict(missing), problems  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "name", "unit"), CASES)
def test_calamine_and_openpyxl_read_the_same(
    kind: str,
    name: str,
    unit: str,
    payload: Callable[[str], bytes],
    real_data: Callable[[str], Path],
) -> None:
    content = payload(name) if kind == "payload" else real_data(name).read_bytes()
    by_calamine = _read(content, unit, CALAMINE_MAX_SHEET_BYTES)
    by_openpyxl = _read(content, unit, 0)  # every sheet is "too large": openpyxl streams it
    assert by_calamine[0], "no observations read"
    assert by_calamine == by_openpyxl


@pytest.mark.parametrize("limit", [CALAMINE_MAX_SHEET_BYTES, 0])
def test_corrupt_zip_is_one_invalid_payload_either_way(limit: int) -> None:
    with pytest.raises(InvalidPayload, match=r"w\.xlsx: not a readable workbook"):
        _read(b"PK\x03\x04" + b"\x00" * 64, WEEKLY_BR, limit)
