"""Outlook: the walk-forward backtest on the bundled real history (Brazil, 2016-10 → end).

Prints per fuel and horizon the ratio of the model's MAE to the no-change MAE and the 80%/95%
interval coverage, checks the goals (average 1-week ratio over gasoline, ethanol and diesel
S10 ≤ 0.90; coverage within 5 points of nominal), and writes the full table to
docs/OUTLOOK_BACKTEST.md, with the coverage per area class (Brazil, regions, states on their
long 2004–2019 history and on their short one since 2024-06, where few training weeks make the
bands least sure).
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
from fuelpipe.domain.catalog import DEFAULT_CATALOG, REGIONS, STATES
from fuelpipe.outlook.backtest import Score, Scored, score, walk_forward, walk_forward_segments
from fuelpipe.outlook.series import Lags, inputs_for

ROOT = Path(__file__).resolve().parent.parent
FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10", "DIESEL", "LPG")
GOAL_FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10")
START = date(2016, 10, 1)
SHORT = date(2024, 6, 1)  # the state files restart on 2024-06-23 after a five-year hole
CLASSES = (
    ("regions (2016-10 → 2022-05)", REGIONS, FUELS, START, None),
    ("states, long history (2016-10 → 2019-06)", STATES, ("GASOLINE",), START, SHORT),
    ("states, short history (2024-06 →)", STATES, ("GASOLINE", "ETHANOL"), SHORT, None),
)
"""Area classes scored beside Brazil: (name, areas, fuels, first forecast week, last)."""


def backtest_table() -> tuple[dict[str, list[Score]], date, dict[str, list[Score]]]:
    """Scores per fuel (horizons 1, 2, 4), the last week of the bundled history, and the
    scores pooled per area class (Brazil's fuels, then ``CLASSES``)."""
    history = load_history(ROOT / "datasets")
    out: dict[str, list[Score]] = {}
    brazil: list[Scored] = []
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
        brazil += scored
    classes = {"Brazil (2016-10 →)": score(brazil)}
    for name, areas, fuels, first, end in CLASSES:
        pooled: list[Scored] = []
        for area in areas:
            for fuel in fuels:
                key = f"FUEL#{fuel}#{area}"
                if key not in history.series:
                    continue
                inputs = inputs_for(
                    history.series,
                    key,
                    usd_key=USD_KEY,
                    brent_key=BRENT_KEY,
                    futures_key=BRENT_FUTURES_KEY,
                )
                lags = Lags.from_catalog(DEFAULT_CATALOG)
                pooled += walk_forward_segments(inputs, first, end, lags)
        classes[name] = score(pooled)
    return out, last, classes


def _verdict(s: Score) -> str:
    if s.ratio < 0.97:
        return "beats no-change"
    if s.ratio <= 1.03:
        return "no better than no-change"
    return "worse than no-change"


def run() -> Iterator[BenchRow]:
    """The outlook section of `make bench`."""
    table, last, classes = backtest_table()
    lines = [
        "# Outlook backtest",
        "",
        f"Written by `python -m bench bench_outlook`. Brazil, forecast weeks {START} … {last} "
        "(the end of the bundled ANP history), walk-forward: each week's forecast uses only "
        "what was published by the moment that week's predecessor became known, and is the "
        "forecast the pipeline serves until ANP publishes the next week "
        "(`outlook.series.served_at`).",
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
    lines += [
        "",
        "## Coverage per area class",
        "",
        "Every fuel and area of a class pooled, each area walked forward on its own (a hole of"
        " over 26 weeks starts it afresh, as the served model does). Bands take the finite-sample"
        " conformal rank of the training errors. The states' short history (about 85–105 weeks,"
        " so 52–75 training weeks) is where they cover least: the rank widens them there, but"
        " beyond one week they still fall short, as the model's errors on those weeks are 1.5–2"
        " times no-change's. Coverage only: a pooled MAE would add BRL per litre to BRL per"
        " 13 kg.",
        "",
        "| class | horizon (weeks) | n | coverage 80% | coverage 95% |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, scores in classes.items():
        for s in scores:
            lines.append(
                f"| {name} | {s.horizon} | {s.n} | {s.coverage80:.3f} | {s.coverage95:.3f} |"
            )
            for nominal, got in ((0.80, s.coverage80), (0.95, s.coverage95)):
                yield BenchRow(
                    "outlook",
                    f"{name} h{s.horizon} coverage of the {nominal:.0%} interval (n={s.n})",
                    got,
                    "share",
                )
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
