"""A re-read that changes only a series' derived attributes is an adjustment, not a revision."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import AttrValue, HistoryKind, change_kind, kept_figures

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


LACKED: dict[str, AttrValue] = {**BAR, "volume": None, "lacking": "volume"}


@pytest.mark.parametrize(
    ("attrs", "kind"),
    [
        (BAR, HistoryKind.COMPLETION),  # the volume an earlier answer lacked, published now
        ({**BAR, "adj_close": Decimal("8.17")}, HistoryKind.COMPLETION),  # and re-based
        ({**BAR, "open": Decimal("16")}, HistoryKind.REVISION),  # a figure it had, changed
        ({**LACKED, "adj_close": None, "lacking": "adj_close,volume"}, HistoryKind.ADJUSTMENT),
        ({**LACKED, "lacking": "adj_close"}, HistoryKind.REVISION),  # says it lacks another
    ],
)
def test_a_lacking_figure_now_published_is_a_completion(
    attrs: dict[str, AttrValue], kind: HistoryKind
) -> None:
    """A record stored OK without its volume (``lacking``), completed by a later answer with
    the same close: no correction, so no revision. A changed close is one still."""
    assert change_kind(DERIVED, (CLOSE, LACKED), (CLOSE, attrs)) is kind
    assert change_kind(DERIVED, (CLOSE, LACKED), (Decimal("16.5"), BAR)) is HistoryKind.REVISION
    no_adj = {**BAR, "adj_close": None, "lacking": "adj_close"}  # Yahoo left adj_close out
    assert change_kind(DERIVED, (CLOSE, BAR), (CLOSE, no_adj)) is HistoryKind.ADJUSTMENT


def test_figures_an_answer_lacks_are_kept_from_the_stored_bar_of_the_same_value() -> None:
    """An answer without the volume (or adj_close) of a bar stored whole, the close the same:
    the stored figures kept, nothing lacked, so the same bar again. A figure neither has stays
    lacked; another close is another bar, its attributes as they came."""
    no_volume = {**BAR, "volume": None, "lacking": "volume"}
    assert kept_figures((CLOSE, BAR), (CLOSE, no_volume)) == BAR
    no_adj = {**BAR, "adj_close": None, "lacking": "adj_close"}
    assert kept_figures((CLOSE, BAR), (CLOSE, no_adj)) == BAR
    stored = {**BAR, "open": None, "lacking": "open"}
    both = {**BAR, "open": None, "volume": None, "lacking": "open,volume"}
    assert kept_figures((CLOSE, stored), (CLOSE, both)) == stored
    assert kept_figures((Decimal("16.5"), BAR), (CLOSE, no_volume)) is no_volume
    assert kept_figures((CLOSE, no_volume), (CLOSE, no_volume)) is no_volume
    assert kept_figures((CLOSE, BAR), (CLOSE, BAR)) is BAR
