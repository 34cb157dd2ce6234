"""Stored views and the data version behave the same in every Store adapter (meta entries)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from fuelpipe.dashboard.precomputed import decode, encode, entry_name, prune_views
from fuelpipe.ports.store import Store
from fuelpipe.stages.data_version import (
    INITIAL,
    UNMARKED,
    Debt,
    data_version,
    mark_changed,
    mark_owed,
    settle,
    unmarked,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PARAMS = (("end", ("2022-05-01",)), ("keys", ("FUEL#GASOLINE#BR", "CURRENCY#USD")))


def _body(points: int, seed: int) -> bytes:
    """A view-shaped JSON body: weekly points with noisy values (compresses like real ones)."""
    rng = random.Random(seed)
    day = datetime(2000, 1, 2).date()
    pts = [
        {"date": (day + timedelta(weeks=i)).isoformat(), "value": round(rng.uniform(1, 9), 6)}
        for i in range(points)
    ]
    return json.dumps({"series": [{"key": "FUEL#GASOLINE#BR", "points": pts}]}).encode()


def test_a_stored_view_round_trips_and_is_replaced_by_a_newer_version(store: Store) -> None:
    name = entry_name("/api/indices", PARAMS)
    assert store.get_meta(name) is None
    big = _body(20 * 52 * 6, seed=1)  # six series over 20 years of weeks
    store.put_meta(name, encode("v1", PARAMS, big))
    version, params, body = decode(store.get_meta(name) or "")
    assert (version, params, body) == ("v1", PARAMS, big)
    newer = _body(20 * 52 * 6, seed=2)
    store.put_meta(name, encode("v2", PARAMS, newer))
    assert decode(store.get_meta(name) or "") == ("v2", PARAMS, newer)


def test_each_change_writes_a_new_version_seen_by_every_client(store_opener) -> None:
    first, second = store_opener(), store_opener()
    assert data_version(first) == INITIAL
    v1 = mark_changed(first, NOW, "run-1")
    assert data_version(second) == v1
    # Two writers at the same instant still leave a version unlike any before.
    v2 = mark_changed(second, NOW, "message-a")
    v3 = mark_changed(first, NOW, "message-b")
    assert len({INITIAL, v1, v2, v3}) == 4
    assert data_version(second) == v3


def test_replace_meta_writes_only_over_the_expected_value(store_opener) -> None:
    first, second = store_opener(), store_opener()
    assert first.replace_meta("setting", None, "a")  # unset: written
    assert not second.replace_meta("setting", None, "b")  # set meanwhile: refused
    assert not second.replace_meta("setting", "x", "b")
    assert second.replace_meta("setting", "a", "b")
    assert not first.replace_meta("setting", "a", "c")  # already replaced by the other client
    assert first.get_meta("setting") == "b"


def test_views_computed_while_another_writer_moved_the_version_are_never_current(
    store_opener,
) -> None:
    """A run computes the views under its new version; another process stores a change and
    writes its version meanwhile. The run's version must not land over it with views that
    never saw that change: a fresh version with no stored views is left instead."""
    run, other = store_opener(), store_opener()
    v0 = mark_changed(run, NOW, "filled")
    name = entry_name("/api/overview", ())
    moved: list[str] = []

    def precompute(version: str) -> None:
        run.put_meta(name, encode(version, (), b'{"value": 5}'))  # the view, before the change
        moved.append(mark_changed(other, NOW, "revise"))  # the other writer lands now

    written = mark_changed(run, NOW, "cycle", before=precompute)
    stored_under, _, _ = decode(run.get_meta(name) or "")
    assert data_version(other) == written
    assert written not in {v0, moved[0], stored_under}  # the stale view is not current
    # Undisturbed, the precomputed version is the one written.
    again = mark_changed(
        run, NOW, "cycle", before=lambda v: run.put_meta(name, encode(v, (), b"{}"))
    )
    assert data_version(other) == again == decode(run.get_meta(name) or "")[0]


def test_meta_entries_list_a_prefix_and_delete_meta_deletes_only_what_it_still_holds(
    store_opener,
) -> None:
    one, other = store_opener(), store_opener()
    views = {f"VIEW#/api/{p}#{h}": f'{{"v": "{h}", "b": "..."}}' for p, h in (("a", 1), ("b", 2))}
    for name, value in {**views, "VIEW": "x", "VIEWS#x": "x", "data_version": "1"}.items():
        one.put_meta(name, value)
    assert other.meta_entries("VIEW#") == sorted(views.items())
    assert other.meta_entries("VIEW#/api/b") == [("VIEW#/api/b#2", views["VIEW#/api/b#2"])]
    assert other.meta_entries("nothing") == []
    with pytest.raises(ValueError):
        other.meta_entries("")

    name = "VIEW#/api/a#1"
    assert not other.delete_meta(name, '{"v": "2",')  # it holds another version: kept
    one.put_meta(name, '{"v": "3", "b": "..."}')  # rewritten by another client meanwhile
    assert not other.delete_meta(name, '{"v": "1",')
    assert one.get_meta(name) == '{"v": "3", "b": "..."}'
    assert other.delete_meta(name, '{"v": "3",')
    assert one.get_meta(name) is None
    assert not other.delete_meta(name, '{"v": "3",')  # gone already
    assert [n for n, _ in one.meta_entries("VIEW#")] == ["VIEW#/api/b#2"]
    assert one.get_meta("VIEW") == one.get_meta("VIEWS#x") == "x"


def test_views_no_version_can_serve_are_pruned_and_nothing_else(store_opener) -> None:
    """Kept: views at the current data version (health's ``<version>.<inputs>`` too) and views
    computed ahead over it (a run's precompute before its version is written). Pruned: views
    of versions that can never be current again; one stored before views kept their base, once
    its version is not current. Left: an entry that does not decode, every other meta entry."""
    run, other = store_opener(), store_opener()
    current = mark_changed(run, NOW, "filled")
    body = _body(10, seed=3)

    def view(path: str, version: str, base: str | None) -> tuple[str, str]:
        return entry_name(path, PARAMS), encode(version, PARAMS, body, base)

    legacy = json.dumps({"v": "old", "p": PARAMS, "b": "eJwDAAAAAAE="})  # no base
    legacy_current = json.dumps({"v": current, "p": [], "b": "eJwDAAAAAAE="})
    kept = dict(
        [
            view("/api/overview", current, "before"),
            view("/api/indices", "ahead", current),  # a precompute's, before its version lands
            view("/api/health", f"{current}.0123abcd", current),
            (entry_name("/api/meta", ()), legacy_current),
            (entry_name("/api/parity", ()), "not a stored view"),
        ]
    )
    pruned = dict(
        [
            view("/api/lags", "old", "older"),
            view("/api/regional", "old.0123abcd", "old"),  # health of an old version
            view("/api/correlations", "ahead-of-old", "old"),  # its version never landed
            (entry_name("/api/outlook", ()), legacy),
        ]
    )
    others = {"views_version": "old", "VIEWS#old": encode("old", PARAMS, body, "older")}
    for name, value in {**kept, **pruned, **others}.items():
        run.put_meta(name, value)

    assert prune_views(other) == len(pruned)
    assert dict(run.meta_entries("VIEW#")) == kept
    assert {n: run.get_meta(n) for n in others} == others
    assert data_version(run) == current
    assert prune_views(other) == 0  # nothing more to prune


def test_a_version_pays_only_the_debts_read_unchanged_before_it(store_opener) -> None:
    """Two processes' debts in one meta entry (UNMARKED), each rewritten conditionally: a
    version pays the entries read before it, never one entered or stamped anew after it; a
    debt entered over a cleared list is a conditional write over an empty value; one an older
    fuelpipe entered (its flag, ``1``) is paid like any other."""
    run, other = store_opener(), store_opener()
    run.put_meta(UNMARKED, "1")
    mine, theirs = Debt(run, UNMARKED), Debt(other, UNMARKED)
    mine()
    mine()  # the version did not move: nothing to write again
    seen = run.get_meta(UNMARKED)
    assert seen is not None and seen.split()[0] == "1" and len(seen.split()) == 2
    mark_changed(run, NOW, "run")
    theirs()  # stored after that version
    settle(run, UNMARKED, seen)
    (left,) = (other.get_meta(UNMARKED) or "").split()
    assert left.startswith(f"{theirs.owner}@")
    mark_owed(other, NOW, "other")
    assert run.get_meta(UNMARKED) == "" and not unmarked(run)
    mine()  # the version moved since its stamp: entered again, over ""
    assert (other.get_meta(UNMARKED) or "").startswith(f"{mine.owner}@")


def test_delete_meta_whole_deletes_only_the_value_read_an_empty_one_too(store_opener) -> None:
    """``whole``: deleted only while the value is the one given, not one starting with it,
    and an empty value (a note emptied) can be deleted so, which a start cannot name."""
    one, other = store_opener(), store_opener()
    one.put_meta("gap_sent#A", "")
    one.put_meta("gap_sent#B", "2022-03-01/2022-03-04=2022-05-01T12:00:00+00:00")
    with pytest.raises(ValueError):
        other.delete_meta("gap_sent#A", "")  # a start must be given
    assert not other.delete_meta("gap_sent#B", "", whole=True)  # not empty: kept
    assert not other.delete_meta("gap_sent#B", "2022-03-01/2022-03-04", whole=True)
    assert one.get_meta("gap_sent#B") is not None
    assert other.delete_meta("gap_sent#A", "", whole=True)
    assert one.get_meta("gap_sent#A") is None
    assert not other.delete_meta("gap_sent#A", "", whole=True)  # gone already
    one.put_meta("gap_sent#A", "x")  # written again by another client
    assert not other.delete_meta("gap_sent#A", "", whole=True)
    assert other.delete_meta("gap_sent#B", one.get_meta("gap_sent#B") or "?", whole=True)
    assert [n for n, _ in one.meta_entries("gap_sent#")] == ["gap_sent#A"]
