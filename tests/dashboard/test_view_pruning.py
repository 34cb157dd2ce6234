"""The sweep of stored views never deletes one another process serves, or is about to serve,
as current: writers that land between its reads keep their views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.dashboard.precomputed import decode, encode, entry_name, prune_views
from fuelpipe.stages.data_version import data_version, mark_changed

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
OVERVIEW = entry_name("/api/overview", ())
INDICES = entry_name("/api/indices", (("keys", ("CURRENCY#USD",)),))
HEALTH = entry_name("/api/health", ())


class _Meanwhile(SqliteStore):
    """A store on which another process acts once, at a given point of the sweep's listing."""

    def __init__(self, path: Path, *, before: bool, act: Callable[[], None]) -> None:
        super().__init__(path)
        self._before, self._act = before, act

    def meta_entries(self, prefix: str) -> list[tuple[str, str]]:
        if self._before:
            self._act()
        found = super().meta_entries(prefix)
        if not self._before:
            self._act()
        return found


def test_views_of_a_version_that_landed_before_the_listing_are_kept(tmp_path: Path) -> None:
    """Before the sweep lists the views, another run lands its version (its views stored
    ahead of it), the dashboard stores a view at that version, and a third run stores one
    ahead of its own version over it. The sweep reads the current version after its listing,
    so it judges them by the version now served (read first, every one of them looked dead)."""
    path = tmp_path / "store.sqlite"
    other = SqliteStore(path)
    old = mark_changed(other, NOW, "filled")
    other.put_meta(OVERVIEW, encode(old, (), b"{}", "older"))
    landed: list[str] = []

    def others_meanwhile() -> None:
        def precompute(version: str) -> None:
            other.put_meta(OVERVIEW, encode(version, (), b"{}", old))

        landed.append(mark_changed(other, NOW, "another run", before=precompute))
        other.put_meta(INDICES, encode(landed[0], (), b"{}", landed[0]))  # the dashboard's
        other.put_meta(HEALTH, encode("ahead.0123abcd", (), b"{}", landed[0]))  # a third run's

    sweeping = _Meanwhile(path, before=True, act=others_meanwhile)
    assert prune_views(sweeping) == 0
    assert data_version(other) == landed[0]
    assert decode(other.get_meta(OVERVIEW) or "")[0] == landed[0]
    assert decode(other.get_meta(INDICES) or "")[0] == landed[0]
    assert decode(other.get_meta(HEALTH) or "")[0] == "ahead.0123abcd"
    sweeping.close()
    other.close()


def test_a_view_stored_again_after_the_listing_is_not_deleted(tmp_path: Path) -> None:
    """The sweep listed a view of a past version; the dashboard then recomputed it at the
    current one (its first request after the change). The delete holds the version it read:
    the fresh view stays."""
    path = tmp_path / "store.sqlite"
    other = SqliteStore(path)
    other.put_meta(OVERVIEW, encode("past", (), b"{}", "older"))
    current = mark_changed(other, NOW, "filled")

    def dashboard_recomputes() -> None:
        other.put_meta(OVERVIEW, encode(current, (), b'{"fresh": 1}', current))

    sweeping = _Meanwhile(path, before=False, act=dashboard_recomputes)
    assert prune_views(sweeping) == 0
    assert decode(other.get_meta(OVERVIEW) or "") == (current, (), b'{"fresh": 1}')
    sweeping.close()
    other.close()
