"""Outlook: the walk-forward backtest on the bundled real history (Brazil, 2016-10 → end).

Prints per fuel and horizon the ratio of the model's MAE to the no-change MAE and the 80%/95%
interval coverage, checks the goals (average 1-week ratio over gasoline, ethanol and diesel
S10 ≤ 0.90; coverage within 5 points of nominal), and writes the full table to
docs/OUTLOOK_BACKTEST.md, with the coverage and accuracy per area class (Brazil, regions, states
on their long 2004–2019 history and on their short one since 2024-06). The states are scored as
they are served: the pooled fit over every state of a fuel (``walk_forward_panel``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import fmean

from bench._common import BenchRow
from fuelpipe.adapters.history_files import (
    BRENT_FUTURES_KEY,
    BRENT_KEY,
    USD_KEY,
    History,
    load_history,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG, REGIONS, STATES
from fuelpipe.outlook.backtest import (
    Score,
    Scored,
    score,
    walk_forward,
    walk_forward_panel,
    walk_forward_segments,
)
from fuelpipe.outlook.series import Inputs, Lags, inputs_for

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


STATES_BEFORE = [
    "",
    "## The states before (pooled ridge) and the alternatives measured",
    "",
    "Fixed numbers from the walk-forward above (same weeks, same scoring) when the states were"
    " served by one ridge regression pooled over every state (ridge 0.1), and the alternatives"
    " tried before Brazil's forecast change was kept (coverage 80/95, MAE ratio).",
    "",
    "| states' model | long h1 | long h2 | long h4 | short h1 | short h2 | short h4 |",
    "|---|---|---|---|---|---|---|",
    "| pooled ridge (before) | .789/.946 1.011 | .770/.944 1.011 | .762/.944 1.004"
    " | .789/.947 1.045 | .778/.924 1.068 | .746/.871 1.082 |",
    "| no change, panel bands | .784/.945 1.000 | .761/.942 1.000 | .754/.944 1.000"
    " | .802/.952 1.000 | .806/.921 1.000 | .788/.888 1.000 |",
    "| pooled ridge shrunk ×0.25 | 1.002 | 1.001 | 0.999 | 1.009 | 1.013 | 1.016 |",
    "| Brazil's change × slope fitted on past rows | 0.980 | 0.986 | 0.996 | 1.022 | 0.996"
    " | 1.014 |",
    "| same, slope shrunk toward 1 | 0.980 | 0.985 | 0.996 | 0.969 | 0.949 | 0.952 |",
    "| region's change × 1 | 1.001 | 1.011 | 1.011 | (no regions) | | |",
    "| pooled ridge + Brazil's change | 0.989 | 0.997 | 1.010 | 1.018 | 1.022 | 1.070 |",
    "| **Brazil's change × 1 (served)** | see above | | | | | |",
    "",
    "On the short history, over the weeks Brazil's bundled file covers (its forecasts from"
    " 2026-01-18 … 2026-03-08), the MAE ratio is 0.911 / 0.872 / 0.918 at 1 / 2 / 4 weeks; the"
    " later weeks are served no change.",
]
"""The states' model before this one and the alternatives measured (`pooled` docstring)."""


@dataclass(frozen=True, slots=True)
class ClassScore:
    """One area class at one horizon: coverage over every fuel and area pooled, and the mean
    over its fuels of each fuel's MAE ratio to no-change (MAEs in BRL/l and BRL/13 kg do not
    pool)."""

    score: Score
    ratio: float


def _inputs(history: History, key: str) -> Inputs:
    return inputs_for(
        history.series, key, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
    )


def _class_scores(per_fuel: list[list[Scored]]) -> list[ClassScore]:
    pooled = score([s for rows in per_fuel for s in rows])
    ratios = [[s.ratio for s in score(rows)] for rows in per_fuel]
    return [ClassScore(s, fmean(r[i] for r in ratios)) for i, s in enumerate(pooled)]


def backtest_table() -> tuple[dict[str, list[Score]], date, dict[str, list[ClassScore]]]:
    """Scores per fuel (horizons 1, 2, 4), the last week of the bundled history, and the
    scores per area class (Brazil's fuels, then ``CLASSES``)."""
    history = load_history(ROOT / "datasets")
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    out: dict[str, list[Score]] = {}
    brazil: list[list[Scored]] = []
    last = START
    for fuel in FUELS:
        key = f"FUEL#{fuel}#BR"
        last = max(last, history.series[key][-1][0])
        _, scored = walk_forward(_inputs(history, key), START, lags=lags)
        out[fuel] = score(scored)
        brazil.append(scored)
    classes = {"Brazil (2016-10 →)": _class_scores(brazil)}
    for name, areas, fuels, first, end in CLASSES:
        per_fuel: list[list[Scored]] = []
        for fuel in fuels:
            keys = {a: f"FUEL#{fuel}#{a}" for a in areas if f"FUEL#{fuel}#{a}" in history.series}
            members = {a: _inputs(history, k) for a, k in keys.items()}
            if areas is STATES:  # served by the pooled fit over every state of the fuel
                national = _inputs(history, f"FUEL#{fuel}#BR")
                by_area = walk_forward_panel(members, first, end, lags, national=national)
                per_fuel.append([s for rows in by_area.values() for s in rows])
            else:  # each area walked on its own (a hole over 26 weeks starts it afresh)
                per_fuel.append(
                    [
                        s
                        for m in members.values()
                        for s in walk_forward_segments(m, first, end, lags)
                    ]
                )
        classes[name] = _class_scores(per_fuel)
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
        "## Coverage and accuracy per area class",
        "",
        "Every fuel and area of a class pooled for coverage; the ratio is the mean over the"
        " class's fuels of each fuel's MAE over no-change's MAE (a pooled MAE would add BRL per"
        " litre to BRL per 13 kg). Brazil and the regions: each area walked forward on its own"
        " regression (a hole of over 26 weeks starts it afresh, as the served model does). The"
        " states: as served, each state's last price moved by Brazil's forecast change from the"
        " same week (`outlook.pooled`; the states' files restart in 2024-06 after a five-year"
        " hole, each era walked on its own), no change where Brazil has no forecast from that"
        " week (the bundled Brazil file ends 2026-03-08: the short history's weeks after it are"
        " no change), with bands from every state's walk-forward errors of the last two years"
        " (finite-sample conformal rank, scaled by each state's recent volatility). The short"
        " history's scored weeks all fall in 2026-01 … 2026-06 (a state is served from its 83rd"
        " week): few, and the states move together, so its"
        " coverage is less sure than its n suggests.",
        "",
        "| class | horizon (weeks) | n | coverage 80% | coverage 95% "
        "| MAE ratio (mean over fuels) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, scores in classes.items():
        for c in scores:
            s = c.score
            lines.append(
                f"| {name} | {s.horizon} | {s.n} | {s.coverage80:.3f} | {s.coverage95:.3f} | "
                f"{c.ratio:.3f} |"
            )
            for nominal, got in ((0.80, s.coverage80), (0.95, s.coverage95)):
                yield BenchRow(
                    "outlook",
                    f"{name} h{s.horizon} coverage of the {nominal:.0%} interval (n={s.n})",
                    got,
                    "share",
                )
            yield BenchRow(
                "outlook",
                f"{name} h{s.horizon} MAE / no-change MAE, mean over fuels",
                c.ratio,
                "ratio",
            )
    lines += STATES_BEFORE
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
