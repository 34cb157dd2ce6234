"""Bounded reads of meta entries behave the same in every Store adapter: ``count_meta`` counts
a prefix's entries without returning them, ``meta_names`` lists their names without their
values, ``latest_meta`` reads the few with the latest rank
(the instant ``replace_meta`` was given), however many there are. The health view and
``fuelpipe status`` read the values set aside through them (``stages/set_aside.py``); before,
both read every entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def test_count_meta_counts_every_entry_of_a_prefix(store_opener) -> None:
    one, other = store_opener(), store_opener()
    assert other.count_meta("set_aside#") == 0
    for i in range(7):
        one.replace_meta(f"set_aside#K#2022-01-0{i + 1}", None, f"v{i}", ranked=T0)
    one.put_meta("set_aside#K#2022-02-01", "unranked")  # counted too
    one.put_meta("set_asides", "another family")
    one.put_meta("data_version", "1")
    assert other.count_meta("set_aside#") == 8
    assert other.count_meta("set_aside#K#2022-01") == 7
    assert other.count_meta("nothing") == 0
    assert one.delete_meta("set_aside#K#2022-01-01", "v0")
    assert other.count_meta("set_aside#") == 7
    with pytest.raises(ValueError):
        other.count_meta("")


def test_meta_names_lists_a_prefix_s_names_in_name_order(store_opener) -> None:
    """What `fuelpipe status` counts each key's values set aside from, in one read."""
    one, other = store_opener(), store_opener()
    assert other.meta_names("set_aside#") == []
    one.replace_meta("set_aside#K#2022-01-02", None, "v", ranked=T0)
    one.replace_meta("set_aside#A#B#2022-01-01", None, "v", ranked=T0)
    one.put_meta("set_aside#K#2022-01-01", "unranked")  # listed too
    one.put_meta("set_asides", "another family")
    assert other.meta_names("set_aside#") == [
        "set_aside#A#B#2022-01-01",
        "set_aside#K#2022-01-01",
        "set_aside#K#2022-01-02",
    ]
    assert other.meta_names("set_aside#K#") == ["set_aside#K#2022-01-01", "set_aside#K#2022-01-02"]
    assert one.delete_meta("set_aside#K#2022-01-01", "unranked")
    assert other.meta_names("set_aside#K#") == ["set_aside#K#2022-01-02"]
    with pytest.raises(ValueError):
        other.meta_names("")


def test_latest_meta_reads_the_newest_ranked_entries_of_a_family(store_opener) -> None:
    one, other = store_opener(), store_opener()
    names = [f"set_aside#CURRENCY#USD#2022-01-{d:02d}" for d in range(1, 11)]
    for i, name in enumerate(names):  # ranked oldest first, in no name order
        ranked = T0 + timedelta(minutes=(i * 7) % 10)
        assert one.replace_meta(name, None, f"value {i}", ranked=ranked)
    one.put_meta("set_aside#CURRENCY#USD#2021-12-31", "unranked: never among them")
    one.replace_meta("other#x", None, "another family", ranked=T0 + timedelta(days=1))

    newest = other.latest_meta("set_aside#", 3)
    by_rank = sorted(range(10), key=lambda i: (i * 7) % 10, reverse=True)
    assert newest == [(names[i], f"value {i}") for i in by_rank[:3]]
    assert len(other.latest_meta("set_aside#", 100)) == 10  # every ranked one, no more

    # A rewrite with a later rank moves the entry to the front; its value is the new one.
    oldest = by_rank[-1]
    assert one.replace_meta(names[oldest], f"value {oldest}", "moved", ranked=T0 + timedelta(1))
    assert other.latest_meta("set_aside#", 1) == [(names[oldest], "moved")]
    # A rewrite with the same rank keeps its place; a deleted entry is gone from the order.
    assert one.replace_meta(names[oldest], "moved", "again", ranked=T0 + timedelta(1))
    assert other.latest_meta("set_aside#", 1) == [(names[oldest], "again")]
    assert one.delete_meta(names[oldest], "again")
    assert other.latest_meta("set_aside#", 3) == [(names[i], f"value {i}") for i in by_rank[:3]]
    # Written without a rank (put_meta), an entry leaves the order but stays readable.
    first = by_rank[0]
    one.put_meta(names[first], "unranked now")
    assert names[first] not in dict(other.latest_meta("set_aside#", 100))
    assert other.get_meta(names[first]) == "unranked now"

    assert other.latest_meta("nothing#", 5) == []
    for family in ("", "set_aside", "set_aside#CURRENCY#"):  # a family: text up to its first #
        with pytest.raises(ValueError):
            other.latest_meta(family, 5)
    with pytest.raises(ValueError):
        other.latest_meta("set_aside#", 0)
    with pytest.raises(ValueError):
        one.replace_meta("no family", None, "x", ranked=T0)
