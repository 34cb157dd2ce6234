"""`fuelpipe replay --dividend`: Yahoo's adjusted close re-based before the ex-date only; and
what a bad `--revise` or `--dividend` says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from fuelpipe.replay.revisions import apply_dividends, parse_dividend, parse_revision
from fuelpipe.replay.snapshot_data import Snapshot

EX_DATE = date(2022, 4, 25)


def test_a_dividend_rebases_earlier_adjusted_closes_and_leaves_the_closes() -> None:
    before, after = Snapshot(), Snapshot()
    apply_dividends(after, dict([parse_dividend(f"STOCK#PETR4@{EX_DATE}=0.97")]))
    old, new = before.bars["PETR4.SA"], after.bars["PETR4.SA"]
    assert [b.close for b in new] == [b.close for b in old]
    earlier = [(o, n) for o, n in zip(old, new, strict=True) if o.day < EX_DATE]
    assert earlier and all(n.adj_close == round(o.adj_close * 0.97, 6) for o, n in earlier)
    assert [n for n in new if n.day >= EX_DATE] == [o for o in old if o.day >= EX_DATE]
    assert after.bars["PETR3.SA"] == before.bars["PETR3.SA"]


@pytest.mark.parametrize("factor", ["0", "1.5", "-0.9"])
def test_a_factor_outside_zero_to_one_is_refused(factor: str) -> None:
    with pytest.raises(ValueError, match="at most 1"):
        parse_dividend(f"STOCK#PETR4@{EX_DATE}={factor}")


def test_only_yahoo_series_pay_dividends() -> None:
    slot, factor = parse_dividend(f"CURRENCY#USD@{EX_DATE}=0.9")
    assert factor == Decimal("0.9")
    with pytest.raises(KeyError, match="not a Yahoo series"):
        apply_dividends(Snapshot(), {slot: factor})


@pytest.mark.parametrize(
    ("parse", "spec", "message"),
    [
        (
            parse_revision,
            "COMMODITY#BRENT@2025-02-30=1",
            "revision 'COMMODITY#BRENT@2025-02-30=1': '2025-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            parse_dividend,
            "STOCK#PETR4@2025-13-01=0.9",
            "dividend 'STOCK#PETR4@2025-13-01=0.9': '2025-13-01' is not a date (YYYY-MM-DD)",
        ),
        (parse_dividend, "STOCK#PETR4=0.9", "dividend 'STOCK#PETR4=0.9' is not KEY@EX-DATE=FACTOR"),
        (
            parse_revision,
            "X@2025-01-01=abc",
            "revision 'X@2025-01-01=abc' is not KEY@YYYY-MM-DD=VALUE",
        ),
    ],
)
def test_a_bad_scenario_says_which_option_and_what_is_wrong(
    parse: Callable[[str], object], spec: str, message: str
) -> None:
    """A date out of its month read "sort key '2025-02-30': day is out of range for month", the
    store's words, not the option's; a dividend was called a revision."""
    with pytest.raises(ValueError) as raised:
        parse(spec)
    assert str(raised.value) == message


def test_a_currency_the_snapshot_lacks_is_named_as_such() -> None:
    """EUR is a PTAX series: the refusal blamed its kind, not the USD-only snapshot."""
    from fuelpipe.replay.revisions import apply_revisions

    slot, value = parse_revision("CURRENCY#EUR@2022-04-25=6.1")
    with pytest.raises(KeyError, match="its snapshot serves PTAX for USD only"):
        apply_revisions(Snapshot(), {slot: value})


def test_the_replay_serves_on_an_ipv6_host() -> None:
    """`fuelpipe replay --host ::1` failed with "Address family for hostname not supported"."""
    import socket

    import httpx

    from fuelpipe.replay.server import ReplayServer

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("this host has no IPv6 loopback")
    with ReplayServer(host="::1", port=0, quiet=True) as replay:
        assert replay.url.startswith("http://[::1]:")
        answer = httpx.get(
            replay.source_urls()["fred"] + "/graph/fredgraph.csv", params={"id": "DCOILBRENTEU"}
        )
        assert answer.status_code == 200 and "DCOILBRENTEU" in answer.text
