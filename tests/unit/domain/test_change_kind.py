"""A re-read that changes only a series' derived attributes is an adjustment, not a revision."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import AttrValue, HistoryKind, change_kind

DERIVED = frozenset({"adj_close"})
CLOSE = Decimal("16.72")
BAR: dict[str, AttrValue] = {"close": CLOSE, "adj_close": Decimal("8.42"), "volume": 29399400}


@pytest.mark.parametrize(
    ("value", "attrs", "kind"),
    [
        (CLOSE, {**BAR, "adj_close": Decimal("8.17")}, HistoryKind.ADJUSTMENT),
        (CLOSE, {**BAR, "adj_close": None}, HistoryKind.ADJUSTMENT),  # Yahoo left it out
        (CLOSE, {k: v for k, v in BAR.items() if k != "adj_close"}, HistoryKind.ADJUSTMENT),
        (Decimal("16.5"), {**BAR, "adj_close": Decimal("8.17")}, HistoryKind.REVISION),
        (CLOSE, {**BAR, "adj_close": Decimal("8.17"), "volume": 1}, HistoryKind.REVISION),
        (CLOSE, {**BAR, "volume": 1}, HistoryKind.REVISION),
    ],
)
def test_only_derived_attributes_changed_is_an_adjustment(
    value: Decimal, attrs: dict[str, AttrValue], kind: HistoryKind
) -> None:
    assert change_kind(DERIVED, (CLOSE, BAR), (value, attrs)) is kind


def test_a_series_without_derived_attributes_only_ever_revises() -> None:
    rebased = {**BAR, "adj_close": Decimal("8.17")}
    assert change_kind(frozenset(), (CLOSE, BAR), (CLOSE, rebased)) is HistoryKind.REVISION


def test_every_yahoo_series_declares_adj_close_derived_and_no_other_source_does() -> None:
    for series in DEFAULT_CATALOG:
        expected = {"adj_close"} if series.source == "yahoo" else set()
        assert series.derived_attrs == expected, series.key
