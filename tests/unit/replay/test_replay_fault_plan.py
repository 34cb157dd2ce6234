"""The fault grammar, file loading, seeded decisions and the row fault helpers (no HTTP)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from fuelpipe.replay.faults import DateSet, FaultKind, FaultPlan, FaultSpecError
from fuelpipe.replay.rowfaults import add_outside, apply_row_fault, duplicate, reorder

ALL_KINDS = list(FaultKind)


def test_all_spreads_the_rate_over_every_transient_kind() -> None:
    plan = FaultPlan.parse("all:0.3", seed=1)
    for source in ("bcb", "yahoo", "fred", "anp"):
        assert sum(plan.rates[source].values()) == pytest.approx(0.3)
        assert set(plan.rates[source]) == set(ALL_KINDS)
    assert plan.absent == {}


def test_clauses_apply_in_order_and_options_are_read() -> None:
    plan = FaultPlan.parse(
        "all:0.22; anp:html=0; bcb:5xx=0.1,429=0.05; yahoo:slow=0.1,slow_s=3,retry_after=7",
        seed=2,
    )
    assert plan.rate("anp", FaultKind.HTML) == 0.0
    assert plan.rate("anp", FaultKind.DROP) == pytest.approx(0.02)
    assert plan.rate("bcb", FaultKind.SERVER_ERROR) == 0.1
    assert plan.rate("bcb", FaultKind.RATE_LIMITED) == 0.05
    assert plan.rate("yahoo", FaultKind.SLOW) == 0.1
    assert (plan.slow_s, plan.retry_after_s) == (3.0, 7)


def test_absent_targets_source_key_and_prefix() -> None:
    plan = FaultPlan.parse(
        "*:absent=2021-06-01..2021-06-03;STOCK#PETR4:absent=2021-07-01|2021-07-05;"
        "FUEL#GASOLINE:absent=2021-08-01;fred:absent=2021-09-01",
        seed=0,
    )
    assert date(2021, 6, 2) in plan.absent_days("bcb", "CURRENCY#USD")
    petr4 = plan.absent_days("yahoo", "STOCK#PETR4")
    assert date(2021, 7, 5) in petr4
    assert date(2021, 7, 2) not in petr4
    assert date(2021, 7, 1) not in plan.absent_days("yahoo", "STOCK#PETR3")
    assert date(2021, 8, 1) in plan.absent_days("anp", "FUEL#GASOLINE#SP")
    assert date(2021, 8, 1) not in plan.absent_days("anp", "FUEL#GASOLINE_PREMIUM#SP")
    assert date(2021, 9, 1) in plan.absent_days("fred", "COMMODITY#BRENT")
    assert date(2021, 9, 1) not in plan.absent_days("bcb", "CURRENCY#USD")
    assert DateSet.parse("2021-06-01..2021-06-03").days() == [
        date(2021, 6, 1),
        date(2021, 6, 2),
        date(2021, 6, 3),
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bcb:5xx=0.7,429=0.5", "add up to"),
        ("bcb:teapot=0.1", "unknown fault kind"),
        ("bcb:5xx=1.5", "outside"),
        ("bcb:5xx=abc", "not a number"),
        ("*:absent=2021-13-01", "bad date"),
        ("*:absent=2021-06-03..2021-06-01", "ends before"),
        ("STOCK#PETR4:5xx=0.1", "source target"),
        ("bcb", "TARGET:ITEM"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        FaultPlan.parse(spec, seed=0)


def test_toml_and_json_files_give_the_same_plan_as_the_spec(tmp_path: Path) -> None:
    spec = "all:0.11;bcb:5xx=0.2;*:absent=2021-06-01..2021-06-03;STOCK#PETR4:absent=2021-07-01"
    toml = tmp_path / "plan.toml"
    toml.write_text(
        'seed = 9\nslow_s = 2\n[targets."*"]\nall = 0.11\nabsent = ["2021-06-01..2021-06-03"]\n'
        '[targets.bcb]\n"5xx" = 0.2\n[targets."STOCK#PETR4"]\nabsent = "2021-07-01"\n'
    )
    doc = {
        "seed": 9,
        "slow_s": 2,
        "targets": {
            "*": {"all": 0.11, "absent": ["2021-06-01..2021-06-03"]},
            "bcb": {"5xx": 0.2},
            "STOCK#PETR4": {"absent": ["2021-07-01"]},
        },
    }
    js = tmp_path / "plan.json"
    js.write_text(json.dumps(doc))
    expected = FaultPlan.parse(spec + ";*:slow_s=2", seed=9)
    for path in (toml, js):
        plan = FaultPlan.load(path)
        assert plan.seed == 9
        assert plan.rates == expected.rates
        assert plan.slow_s == 2.0
        assert (
            plan.absent_days("yahoo", "STOCK#PETR4").days()
            == expected.absent_days("yahoo", "STOCK#PETR4").days()
        )
    assert FaultPlan.from_arg(str(toml)).seed == 9  # no seed given: the file's
    assert FaultPlan.from_arg(str(toml), seed=4).seed == 4  # the command line seed wins
    assert FaultPlan.from_arg(str(toml), seed=0).seed == 0  # even when it is 0
    assert FaultPlan.from_arg("fred:drop=0.5").rate("fred", FaultKind.DROP) == 0.5
    assert FaultPlan.from_arg("fred:drop=0.5").seed == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.toml", b"seed = \n", "not valid TOML: "),
        ("plan.json", b"{", "not valid JSON: "),
        ("plan.toml", b"\xff\xfe", "not UTF-8 text"),
        ("plan.json", b"[1, 2]", "the top level must be a table of names, got list"),
        ("plan.toml", b'seed = "x"\n', "seed must be a whole number, got 'x'"),
        ("plan.json", b'{"seed": 1.5}', "seed must be a whole number, got 1.5"),
        ("plan.toml", b"spec = 3\n", "spec must be a string, got 3"),
        ("plan.toml", b"targets = 3\n", "targets must be a table of names, got int"),
        ("plan.toml", b"[targets]\nbcb = 0.3\n", "targets.bcb must be a table of names"),
        ("plan.toml", b'[targets."*"]\nabsent = 5\n', "targets.*.absent must be a date"),
        ("plan.toml", b'[targets.bcb]\n"5xx" = "lots"\n', "targets.bcb.5xx: 'lots' is not a"),
    ],
)
def test_a_bad_plan_file_says_which_file_and_what_is_wrong(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FaultSpecError) as caught:
        FaultPlan.from_arg(str(path))
    assert str(caught.value).startswith(f"fault plan file {path}: {message}")


def test_a_toml_plan_may_list_bare_dates(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text('[targets."*"]\nabsent = [2021-06-01, "2021-06-03"]\n')
    days = FaultPlan.load(path).absent_days("bcb", None).days()
    assert days == [date(2021, 6, 1), date(2021, 6, 3)]


def test_decisions_are_pure_and_seeded() -> None:
    a = FaultPlan.parse("all:0.5", seed=42)
    b = FaultPlan.parse("all:0.5", seed=42)
    c = FaultPlan.parse("all:0.5", seed=43)
    seq_a = [a.decide("yahoo", i).kind for i in range(1, 300)]
    assert seq_a == [b.decide("yahoo", i).kind for i in range(1, 300)]
    assert seq_a != [c.decide("yahoo", i).kind for i in range(1, 300)]
    assert seq_a != [a.decide("bcb", i).kind for i in range(1, 300)]
    assert a.decide("yahoo", 7).rng.random() == b.decide("yahoo", 7).rng.random()


def test_each_kind_is_drawn_at_its_rate() -> None:
    rates = dict(
        zip(
            ALL_KINDS,
            [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12],
            strict=True,
        )
    )
    spec = "fred:" + ",".join(f"{k.value}={r}" for k, r in rates.items())
    plan = FaultPlan.parse(spec, seed=5)
    n = 20_000
    counts = Counter(plan.decide("fred", i).kind for i in range(1, n + 1))
    for kind, rate in rates.items():
        sd = (n * rate * (1 - rate)) ** 0.5
        assert abs(counts[kind] - n * rate) < 4 * sd, kind
    assert abs(counts[None] - n * (1 - sum(rates.values()))) < 4 * (n * 0.25) ** 0.5
    assert FaultPlan.none().decide("fred", 1).kind is None


def test_row_helpers_only_use_the_rows_given() -> None:
    rng = random.Random(0)
    rows = list(range(10, 20))
    dup = duplicate(rows, rng)
    assert dup is not None
    assert len(dup) > len(rows)
    assert sorted(set(dup)) == rows
    shuffled = reorder(rows, rng)
    assert shuffled is not None
    assert shuffled != rows
    assert sorted(shuffled) == rows
    assert reorder([1], rng) is None
    for seed in range(30):
        out = add_outside(rows, [1, 2, 3, 4], [30, 31], random.Random(seed))
        assert out is not None
        extra = [x for x in out if x not in rows]
        assert extra
        assert set(extra) <= {2, 3, 4, 30, 31}  # the nearest rows only
    assert add_outside(rows, [], [], rng) is None
    same, kind = apply_row_fault(FaultKind.OUTSIDE, rows, rng)
    assert (same, kind) == (rows, None)
