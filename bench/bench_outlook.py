"""Outlook: the walk-forward backtest on the bundled real history (Brazil, 2016-10 → end).

Prints per fuel and horizon the ratio of the model's MAE to the no-change MAE and the 80%/95%
interval coverage, checks the goals (average 1-week ratio over gasoline, ethanol and diesel
S10 ≤ 0.90; coverage within 5 points of nominal), and writes the full table to
docs/OUTLOOK_BACKTEST.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from bench._common import BenchRow
from fuelpipe.adapters.history_files import (
    BRENT_FUTURES_KEY,
    BRENT_KEY,
    USD_KEY,
    load_history,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import Score, score, walk_forward
from fuelpipe.outlook.series import Lags, inputs_for

ROOT = Path(__file__).resolve().parent.parent
FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10", "DIESEL", "LPG")
GOAL_FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10")
START = date(2016, 10, 1)


def backtest_table() -> tuple[dict[str, list[Score]], date]:
    """Scores per fuel (horizons 1, 2, 4) and the last week of the bundled history."""
    history = load_history(ROOT / "datasets", with_areas=False)
    out: dict[str, list[Score]] = {}
    last = START
    for fuel in FUELS:
        key = f"FUEL#{fuel}#BR"
        last = max(last, history.series[key][-1][0])
        inputs = inputs_for(
            history.series,
            key,
            usd_key=USD_KEY,
            brent_key=BRENT_KEY,
            futures_key=BRENT_FUTURES_KEY,
        )
        _, scored = walk_forward(inputs, START, lags=Lags.from_catalog(DEFAULT_CATALOG))
        out[fuel] = score(scored)
    return out, last


def _verdict(s: Score) -> str:
    if s.ratio < 0.97:
        return "beats no-change"
    if s.ratio <= 1.03:
        return "no better than no-change"
    return "worse than no-change"


def run() -> Iterator[BenchRow]:
    """The outlook section of `make bench`."""
    table, last = backtest_table()
    lines = [
        "# Outlook backtest",
        "",
        f"Written by `python -m bench bench_outlook`. Brazil, forecast weeks {START} … {last} "
        "(the end of the bundled ANP history), walk-forward: each week's forecast uses only "
        "what was published by the moment that week's predecessor became known.",
        "",
        "| fuel | horizon (weeks) | n | MAE (BRL) | no-change MAE | ratio | bias | "
        "coverage 80% | coverage 95% | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for fuel, scores in table.items():
        for s in scores:
            lines.append(
                f"| {fuel} | {s.horizon} | {s.n} | {s.mae:.4f} | {s.naive_mae:.4f} | "
                f"{s.ratio:.3f} | {s.bias:+.4f} | {s.coverage80:.3f} | {s.coverage95:.3f} | "
                f"{_verdict(s)} |"
            )
            unit = "BRL/13kg" if fuel == "LPG" else "BRL/l"
            yield BenchRow(
                "outlook",
                f"{fuel} h{s.horizon} MAE / no-change MAE (n={s.n}, MAE {s.mae:.4f} vs "
                f"{s.naive_mae:.4f} {unit}, bias {s.bias:+.4f}): {_verdict(s)}",
                s.ratio,
                "ratio",
            )
            for nominal, got in ((0.80, s.coverage80), (0.95, s.coverage95)):
                yield BenchRow(
                    "outlook",
                    f"{fuel} h{s.horizon} coverage of the {nominal:.0%} interval",
                    got,
                    "share",
                    f"{nominal - 0.05:.2f}–{nominal + 0.05:.2f}",
                    abs(got - nominal) <= 0.05,
                )
    one_week = [table[f][0].ratio for f in GOAL_FUELS]
    average = sum(one_week) / len(one_week)
    lines += [
        "",
        f"Average 1-week ratio over {', '.join(GOAL_FUELS)}: {average:.3f} (goal ≤ 0.90).",
    ]
    out = ROOT / "docs" / "OUTLOOK_BACKTEST.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    yield BenchRow(
        "outlook",
        "average 1-week MAE ratio, gasoline + ethanol + diesel S10 (Brazil, 2016-10 → end)",
        average,
        "ratio",
        "≤ 0.90",
        average <= 0.90,
    )
