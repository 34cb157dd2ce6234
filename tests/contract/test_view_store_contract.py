"""Stored views and the data version behave the same in every Store adapter (meta entries)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from fuelpipe.dashboard.precomputed import decode, encode, entry_name
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
