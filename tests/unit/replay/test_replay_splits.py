"""`fuelpipe replay --split`: Yahoo's prices re-based before the ex-date, the split reported.

The split is synthetic (PETR4 did not split in 2022): the replay divides every earlier
price by its ratio and lists it in ``events.splits`` of the answers whose window holds it, as
Yahoo does; ``--dividend`` reports its dividend in ``events.dividends`` the same way.
"""

from __future__ import annotations

import socket
import sys
from datetime import date

import httpx
import pytest
from tests.unit.replay.replay_helpers import chart_params, child, interrupt, run_cli

from fuelpipe.replay import ReplayServer
from fuelpipe.replay.revisions import apply_splits, parse_dividend, parse_split
from fuelpipe.replay.routes.yahoo import bar_timestamp
from fuelpipe.replay.snapshot_data import Snapshot, SplitEvent

EX_DATE = date(2022, 4, 25)
SYNTHETIC_SPLIT = f"STOCK#PETR4@{EX_DATE}=2:1"


def test_a_split_divides_earlier_prices_multiplies_volumes_and_is_an_event() -> None:
    before, after = Snapshot(), Snapshot()
    apply_splits(after, dict([parse_split(SYNTHETIC_SPLIT)]))
    old, new = before.bars["PETR4.SA"], after.bars["PETR4.SA"]
    earlier = [(o, n) for o, n in zip(old, new, strict=True) if o.day < EX_DATE]
    assert earlier
    for o, n in earlier:
        assert (n.open, n.high, n.low) == tuple(round(x / 2, 6) for x in (o.open, o.high, o.low))
        assert (n.close, n.adj_close) == (round(o.close / 2, 6), round(o.adj_close / 2, 6))
        assert n.volume == o.volume * 2
    assert [n for n in new if n.day >= EX_DATE] == [o for o in old if o.day >= EX_DATE]
    assert after.splits == {"PETR4.SA": [SplitEvent(EX_DATE, 2, 1)]}
    assert after.bars["PETR3.SA"] == before.bars["PETR3.SA"]


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        (SYNTHETIC_SPLIT, (2, 1)),
        (f"stock#petr4@{EX_DATE}=3", (3, 1)),
        ("STOCK#XOM@2022-04-25=1:10", (1, 10)),
    ],
)
def test_a_split_is_key_at_ex_date_equals_n_to_d(spec: str, parsed: tuple[int, int]) -> None:
    (key, day), ratio = parse_split(spec)
    assert (key.startswith("STOCK#"), day, ratio) == (True, EX_DATE, parsed)


@pytest.mark.parametrize(
    "spec",
    [
        "STOCK#PETR4@2022-04-25=1:1",
        "STOCK#PETR4@2022-04-25=0:1",
        "STOCK#PETR4@2022-04-25=1.5:1",
        "STOCK#PETR4@2022-04-25",
        "STOCK#PETR4@25/04/2022=2:1",
    ],
)
def test_a_malformed_split_is_refused_in_one_line(spec: str) -> None:
    with pytest.raises(ValueError, match="split"):
        parse_split(spec)


def test_only_a_yahoo_bar_day_can_split() -> None:
    with pytest.raises(KeyError, match="not a Yahoo series"):
        apply_splits(Snapshot(), dict([parse_split(f"CURRENCY#USD@{EX_DATE}=2:1")]))
    with pytest.raises(KeyError, match="no STOCK#PETR4 bar on 2022-04-24"):
        apply_splits(Snapshot(), dict([parse_split("STOCK#PETR4@2022-04-24=2:1")]))


def _events(replay: ReplayServer, start: date, end: date) -> object:
    url = f"{replay.source_urls()['yahoo']}/v8/finance/chart/PETR4.SA"
    result = httpx.get(url, params=chart_params(start, end), timeout=10).json()["chart"]["result"]
    return result[0].get("events")


def test_the_chart_lists_a_split_and_a_dividend_only_in_windows_that_hold_them() -> None:
    stamp = bar_timestamp("PETR4.SA", EX_DATE)
    with ReplayServer(
        quiet=True,
        splits=dict([parse_split(SYNTHETIC_SPLIT)]),
        dividends=dict([parse_dividend(f"STOCK#PETR4@{EX_DATE}=0.97")]),
    ) as replay:
        close_before = next(
            b.close for b in reversed(replay.snapshot.bars["PETR4.SA"]) if b.day < EX_DATE
        )
        held = _events(replay, date(2022, 4, 20), date(2022, 4, 29))
        assert _events(replay, date(2022, 4, 1), date(2022, 4, 22)) is None
        assert _events(replay, date(2022, 4, 26), date(2022, 5, 6)) is None
    assert held == {
        "splits": {
            str(stamp): {"date": stamp, "numerator": 2.0, "denominator": 1.0, "splitRatio": "2:1"}
        },
        # on the basis the chart is served on: the split first, then the dividend's amount
        "dividends": {str(stamp): {"amount": round(close_before * 0.03, 6), "date": stamp}},
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_fuelpipe_replay_split_serves_the_split() -> None:
    """The CLI option reaches the server: a child `fuelpipe replay --split` answers with it."""
    port = _free_port()
    args = ["replay", "--port", str(port), "--split", SYNTHETIC_SPLIT]
    with child([sys.executable, "-m", "fuelpipe.cli", *args]) as proc:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("# fuelpipe replay on ")
        # it said "(seed=0 no faults)" alone, as if the data were served unchanged
        assert banner.rstrip().endswith(f"(seed=0 no faults; serving --split {SYNTHETIC_SPLIT})")
        base = f"http://127.0.0.1:{port}/yahoo/v8/finance/chart/PETR4.SA"
        body = httpx.get(base, params=chart_params(EX_DATE, EX_DATE), timeout=10).json()
        assert body["chart"]["result"][0]["events"]["splits"]
        assert interrupt(proc) == 0


def test_fuelpipe_replay_refuses_a_bad_split_in_one_line() -> None:
    done = run_cli("replay", "--split", "STOCK#PETR4@2022-04-25=1:1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: split 'STOCK#PETR4@2022-04-25=1:1': N and D must be whole numbers from 1, not equal"
    ]
