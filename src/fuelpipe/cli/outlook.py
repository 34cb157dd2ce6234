"""`fuelpipe outlook`: backtest the pass-through nowcast offline, show the stored outlook."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from fuelpipe.domain.catalog import FUEL_PRODUCTS, REGIONS, STATES
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.keys import fuel_key, outlook_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from fuelpipe.outlook.accuracy import Scores
    from fuelpipe.outlook.records import StoredForecast
    from fuelpipe.ports.store import Store
    from fuelpipe.stages.outlook import SkipReason

outlook_app = typer.Typer(
    help="The outlook: where pump prices are heading (nowcast, backtest, stored forecasts).",
    no_args_is_help=True,
)

DEFAULT_FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10", "DIESEL", "LPG")
AREAS = ("BR", *REGIONS, *STATES)


def _cli() -> Any:
    from fuelpipe.cli import main  # the shared console, fail() and settings (no import cycle)

    return main


def _check(values: list[str], allowed: tuple[str, ...], option: str) -> list[str]:
    """The codes given, in any case, repeated or comma-separated (``-a SP,RJ`` as
    ``--series`` and ``stations reconcile --state`` take theirs), each once in the order first
    given (``-f LPG -f lpg`` is one fuel, not a backtest run and printed twice)."""
    parts = [p.strip().upper() for v in values for p in v.split(",")]
    out = list(dict.fromkeys(p for p in parts if p))
    if not out:
        raise _cli().fail(f"{option} is blank: choose from {', '.join(allowed)}")
    bad = [v for v in out if v not in allowed]
    if bad:
        raise _cli().fail(f"{option} {', '.join(bad)}: choose from {', '.join(allowed)}")
    return out


def _needs_numpy(cli: Any, what: str) -> None:
    """One line and exit 2 when the dashboard extra (numpy) is missing."""
    from fuelpipe.install_hint import install_hint

    if find_spec("numpy") is None:
        hint = install_hint("dashboard")
        raise cli.fail(f"{what} needs numpy from the dashboard extra: {hint}")


def _unscored(
    key: str, weeks: list[tuple[date, float]], first: date | None, last: date | None
) -> str:
    """`outlook backtest`'s note for a series no forecast week of which is in --from/--to."""
    parts = [f"from {first}" if first else "", f"to {last}" if last else ""]
    window = " ".join(p for p in parts if p) or "in the whole history"
    return (
        f"note: {key}: no forecast week scored {window}: its history runs {weeks[0][0]} to "
        f"{weeks[-1][0]}, and the model trains on its first weeks before its first forecast "
        "(without --from and --to: every week it can score)"
    )


def _number(value: float) -> float | None:
    """A number as JSON can say it: None (null) when not finite."""
    return value if math.isfinite(value) else None


@outlook_app.command("backtest")
def backtest(
    fuel: Annotated[
        list[str] | None,
        typer.Option(
            "--fuel",
            "-f",
            help="Fuel(s), any case, repeatable or comma-separated: "
            f"{', '.join(FUEL_PRODUCTS)} (default: {', '.join(DEFAULT_FUELS)}).",
        ),
    ] = None,
    area: Annotated[
        list[str] | None,
        typer.Option(
            "--area",
            "-a",
            help="Area(s), any case, repeatable or comma-separated: BR, REGION_N … REGION_S, or "
            "a UF (default: BR).",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            "--since",
            help="First forecast week scored (YYYY-MM-DD; default: the first week the model "
            "can be trained for; docs/OUTLOOK.md's table is --from 2016-10-01).",
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            "--until",
            help="Last forecast week scored (YYYY-MM-DD; default: the history's last).",
        ),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="Folder with the bundled real history (default: the checkout's datasets/).",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON array, one object per fuel, area and horizon: the table's "
            "columns under their field names (h: horizon; fallback: no_change_n; cov80: "
            "coverage80; cov80 model: coverage80_model).",
        ),
    ] = False,
) -> None:
    """Walk-forward backtest on the real history: per fuel, area and horizon (1 to 5 weeks).

    It scores the history in --history (every week it holds), not the store's: the dashboard's
    Outlook accuracy scores the store's last three years, so their MAEs differ.

    A state's weeks served no change (Brazil had no forecast from them) are counted under
    `fallback` (`no_change_n`) and left out of the MAEs, ratio, bias and DM p, as on the
    dashboard: they are no evidence either way. The bands' coverage is given over every scored
    week (`cov80`, `cov95`) and over the model's own (`cov80 model`, `cov95 model`)."""
    cli = _cli()
    fuels = _check(fuel or list(DEFAULT_FUELS), tuple(FUEL_PRODUCTS), "--fuel")
    areas = _check(area or ["BR"], AREAS, "--area")
    first, last = cli._date(start, "--from"), cli._date(end, "--to")
    if first and last and first > last:  # each named as typed (--since, --until: aliases)
        raise cli.fail(f"{cli._typed('--from')} {first} is after {cli._typed('--to')} {last}")
    _needs_numpy(cli, "fuelpipe outlook backtest")
    from fuelpipe.adapters.history_files import (
        BRENT_FUTURES_KEY,
        BRENT_KEY,
        USD_KEY,
        HistoryFileError,
        HistoryNotFoundError,
        find_history,
        load_history,
    )
    from fuelpipe.cli import display
    from fuelpipe.domain.catalog import DEFAULT_CATALOG
    from fuelpipe.outlook.backtest import (
        Scored,
        served_score,
        walk_forward_panel,
        walk_forward_segments,
    )
    from fuelpipe.outlook.series import Inputs, Lags, inputs_for

    try:
        folder = find_history(history, [Path.cwd(), Path(__file__).resolve()])
        loaded = load_history(folder, with_areas=any(a != "BR" for a in areas))
    except HistoryNotFoundError as exc:
        raise cli.fail(str(exc)) from None
    except HistoryFileError as exc:  # the user's files: a plain error, not a crash
        given = "--history " if history is not None else "the history folder "
        raise cli.fail(
            f"{given}{exc.folder}: {exc.name} {exc.detail}; the backtest needs it"
        ) from None
    for line in loaded.warnings():  # the results differ from the bundled history's: say why
        cli.warn(f"history {folder}: {line}")
    rows: list[dict[str, Any]] = []
    panels: dict[str, dict[str, list[Scored]]] = {}

    def inputs(key: str) -> Inputs:
        return inputs_for(
            loaded.series,
            key,
            usd_key=USD_KEY,
            brent_key=BRENT_KEY,
            futures_key=BRENT_FUTURES_KEY,
        )

    lags = Lags.from_catalog(DEFAULT_CATALOG)  # the same publication lags the stored outlook uses

    def scored_for(a: str, f: str) -> list[Scored] | None:
        key = fuel_key(f, a)
        if key not in loaded.series:
            cli.err.print(
                f"note: no history for {key} in {folder}; skipped", highlight=False, markup=False
            )
            return None
        if a not in STATES:
            return walk_forward_segments(inputs(key), first, last, lags)
        if f not in panels:  # served led by Brazil's forecast, bands from every state's errors
            keys = {uf: fuel_key(f, uf) for uf in STATES}
            members = {uf: inputs(k) for uf, k in keys.items() if k in loaded.series}
            national = fuel_key(f, "BR")
            led = inputs(national) if national in loaded.series else None
            panels[f] = walk_forward_panel(members, first, last, lags, national=led)
        return panels[f][a]

    pairs = _pairs_held(cli, areas, fuels, loaded.series, folder)
    with display.bar(cli.console, disable=as_json) as progress:  # ~17 s for every fuel
        for n, (a, f) in enumerate(pairs, 1):
            scored = scored_for(a, f)
            if scored == []:  # a window outside the history: rows of n = 0, else unexplained
                note = _unscored(fuel_key(f, a), loaded.series[fuel_key(f, a)], first, last)
                cli.err.print(note, highlight=False, markup=False)
            rows += [
                {"fuel": f, "area": a}
                | {k: (_number(v) if isinstance(v, float) else v) for k, v in s.as_dict().items()}
                for s in (served_score(scored) if scored is not None else [])
            ]
            progress("backtest", n, len(pairs))
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        _backtest_table(cli, rows, folder)


def _pairs_held(
    cli: Any, areas: list[str], fuels: list[str], held: Mapping[str, object], folder: Path
) -> list[tuple[str, str]]:
    """Every (area, fuel) asked; one error, exit 1, when the history holds none of them
    (else an empty table and exit 0 read as a backtest run)."""
    pairs = [(a, f) for a in areas for f in fuels]
    if any(fuel_key(f, a) in held for a, f in pairs):
        return pairs
    has = "; ".join(
        f"{a}'s history holds "
        + (", ".join(f for f in FUEL_PRODUCTS if fuel_key(f, a) in held) or "none")
        for a in dict.fromkeys(areas)
    )
    missing = ", ".join(fuel_key(f, a) for a, f in pairs)
    raise cli.fail(f"no history for {missing} in {folder}: nothing to backtest ({has})", 1)


def _backtest_table(cli: Any, rows: list[dict[str, Any]], folder: Path) -> None:
    """`outlook backtest`'s table of ``rows`` (``--json``'s), titled with the history it
    scored (``folder``): the dashboard's accuracy, on the store's, gives other MAEs."""
    from rich.markup import escape

    # A state's no-change fallback weeks (Brazil had no forecast from them) are no evidence:
    # mae, naive_mae, ratio, bias and dm_p are the model's own weeks' (`served_score`, as the
    # dashboard's), n and the coverage every scored week's, and `fallback` counts the others;
    # the coverage over the model's own weeks is given beside (the fallback's bands differ).
    table = Table(
        "fuel",
        "area",
        "h",
        "n",
        "fallback",
        "mae",
        "naive_mae",
        "ratio",
        "bias",
        "cov80",
        "cov95",
        "cov80 model",
        "cov95 model",
        "dm_p",
        title=escape(
            f"scored on the history in {folder} (the dashboard's Outlook accuracy scores the "
            "store's last three years: other MAEs)"
        ),
    )
    for r in rows:
        table.add_row(
            r["fuel"],
            r["area"],
            str(r["horizon"]),
            f"{r['n']:,}",
            f"{r['no_change_n']:,}",
            *(
                "—" if r[k] is None else f"{r[k]:.4g}"
                for k in (
                    "mae",
                    "naive_mae",
                    "ratio",
                    "bias",
                    "coverage80",
                    "coverage95",
                    "coverage80_model",
                    "coverage95_model",
                    "dm_p",
                )
            ),
        )
    cli.console.print(table)


@outlook_app.command("show")
def show(
    ctx: typer.Context,
    fuel: Annotated[
        list[str] | None,
        typer.Option(
            "--fuel",
            "-f",
            help=f"Fuel(s): {', '.join(FUEL_PRODUCTS)} (any case, repeatable or "
            "comma-separated; default: every fuel).",
        ),
    ] = None,
    area: Annotated[
        str,
        typer.Option("--area", "-a", help="One area: BR, REGION_N … REGION_S, or a UF, e.g. SP."),
    ] = "BR",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON array, one object per stored forecast, with /api/outlook's "
            "field names and shapes (none: [], and why on stderr).",
        ),
    ] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help='The table with an "as of" column on every row (about 110 wide); by '
            "default the title says when the forecasts were made. --json always has it.",
        ),
    ] = False,
) -> None:
    """The latest stored nowcast of each fuel in one area, with its 80% and 95% bands.

    The table fits 100 columns: when the forecasts were made ("as of", São Paulo time) is in
    its title, a fuel at a time when they differ; --wide puts it on every row, and --json
    gives every field (as_of in UTC, as every CLI JSON gives instants).

    A note under the table gives each fuel's verdict, as the dashboard's Outlook view does:
    whether the model beats the no-change forecast 1 week ahead in a backtest on this store's
    last three years (--json: `verdict` and every horizon's `accuracy`; `fuelpipe outlook
    backtest` scores the bundled history). That backtest is kept in the store for its data
    version and model, so only the first show after a change walks it (in a store it cannot
    write: every show).
    """
    cli = _cli()
    cli.refuse_wide(wide, "--json" if as_json else None, "every field (as_of too)")
    fuels = _check(fuel or list(FUEL_PRODUCTS), tuple(FUEL_PRODUCTS), "--fuel")
    chosen_area = _one_area(cli, area)
    _needs_numpy(cli, "fuelpipe outlook show")
    from fuelpipe.outlook.accuracy import (
        area_accuracy,
        drivers_once,
        kept_accuracy,
        model_mark,
        stored_points,
    )
    from fuelpipe.outlook.records import from_record
    from fuelpipe.stages.data_version import data_version
    from fuelpipe.stages.outlook import skip_reasons

    out: list[dict[str, Any]] = []
    writable = cli.store_writable(ctx)  # a read-only store: each accuracy computed, none kept
    with cli.wired(ctx, writes=writable) as a:
        version = data_version(a.store)  # read before the series its kept accuracies follow
        mark = model_mark(a.catalog)
        points = partial(stored_points, a.store)
        drivers = drivers_once(points)  # read once, for every fuel's backtest
        reasons: dict[str, SkipReason] | None = None  # read once, only for a forecast behind

        def reason(key: str) -> SkipReason | None:
            nonlocal reasons
            reasons = skip_reasons(a.store) if reasons is None else reasons
            return reasons.get(key)

        missing: list[tuple[str, SkipReason]] = []  # asked for, none stored, the refresh said why
        unsaid: list[str] = []  # asked for, none stored, no reason recorded
        for f in fuels:
            records = a.store.query(outlook_key(f, chosen_area))
            if not records:
                why_none = reason(fuel_key(f, chosen_area))
                if why_none is not None:
                    missing.append((f, why_none))
                else:
                    unsaid.append(f)
                continue
            try:
                stored = from_record(records[-1])
            except ValueError as exc:  # one unreadable record: say so, show the other fuels
                cli.err.print(escape(f"note: {exc}; skipped"), highlight=False)
                continue
            fc = stored.forecast
            key = fuel_key(f, chosen_area)
            out.append(
                {
                    "fuel": f,
                    "area": chosen_area,
                    "unit": a.catalog[key].unit if key in a.catalog else FUEL_PRODUCTS[f][1],
                    # UTC, as every CLI JSON's instants; the table says it in São Paulo time
                    "as_of": fc.as_of.astimezone(UTC).isoformat(),
                    "last_week": fc.last_week.isoformat(),
                    **_staleness(a.store, key, fc.last_week, partial(reason, key)),
                    **_forecast_fields(stored),
                    # the backtest the dashboard's Outlook view gives beside it, with its
                    # verdict: the one kept at this data version and model, else computed
                    **_accuracy_fields(
                        kept_accuracy(
                            a.store,
                            key,
                            partial(area_accuracy, a.catalog, f, chosen_area, points, drivers),
                            version=version,
                            mark=mark,
                            write=writable,
                        )
                    ),
                }
            )
        elsewhere, other_fuels, priced = _pointers(
            a.store, chosen_area, fuels, asked=fuel is not None, shown=bool(out), unsaid=unsaid
        )
    if as_json:
        print(json.dumps(out, indent=2))
    say = cli.err if as_json else cli.console  # with --json, notes on stderr: stdout stays JSON
    if not out:
        asked = chosen_area if fuel is None else f"{', '.join(fuels)} in {chosen_area}"
        _none_stored(say, chosen_area, asked, missing, other_fuels, elsewhere, priced=bool(priced))
        return
    if not as_json:
        _table(cli, out, wide=wide)
    _left_out(say, missing, unsaid if fuel is not None else [], chosen_area, priced)


def _one_area(cli: Any, area: str) -> str:
    """`outlook show`'s --area: one code, any case; two (``-a SP,RJ``) are refused."""
    chosen = _check([area], AREAS, "--area")
    if len(chosen) > 1:
        raise cli.fail(f"--area takes one area, not {', '.join(chosen)}: run one show for each")
    return chosen[0]


def _staleness(
    store: Store, key: str, last_week: date, reason: Callable[[], SkipReason | None]
) -> dict[str, Any]:
    """`outlook show --json`'s ``newest_week``, ``stale``, ``stale_reason`` and
    ``stale_detail``, as /api/outlook's: a forecast older than its series' newest stored week
    is stale, with why the last refresh made none from it (``reason``)."""
    from fuelpipe.stages.outlook import behind_newest, newest_after

    newest = newest_after(store, key, last_week)
    late = behind_newest(last_week, newest, reason)
    why = late.why if late is not None else None
    return {
        "newest_week": (newest or last_week).isoformat(),
        "stale": late is not None,
        "stale_reason": why.reason if why is not None else None,
        "stale_detail": why.detail if why is not None else None,
    }


def _accuracy_fields(scores: Scores) -> dict[str, Any]:
    """`outlook show --json`'s ``verdict``, ``accuracy_from`` and ``accuracy``: the backtest of
    the model on this store's history (its last three years of forecast weeks, ``scores``), as
    /api/outlook gives them."""
    from fuelpipe.outlook.accuracy import verdict_of

    accuracy, accuracy_from = scores
    return {
        "verdict": verdict_of(accuracy) or "unknown",
        "accuracy_from": _iso(accuracy_from),
        "accuracy": [row.model_dump(mode="json") for row in accuracy],
    }


def _forecast_fields(stored: StoredForecast) -> dict[str, Any]:
    """A stored forecast's own fields in `outlook show --json`, named and shaped as
    /api/outlook gives them (its instants apart: ``as_of`` is in UTC)."""
    from fuelpipe.outlook.accuracy import DRIVER_KEYS
    from fuelpipe.outlook.forecast import bands_of

    fc = stored.forecast
    return {
        "last_price": round(fc.last_price, 4),
        "driver_move": _number(round(fc.driver_move, 6)),  # as stored, as /api/outlook
        "driver_day": _iso(fc.driver_day),
        "stale_drivers": [
            {
                "driver": d.name,
                "key": DRIVER_KEYS.get(d.name, d.name),
                "last_day": d.last_day.isoformat(),
            }
            for d in fc.stale
        ],
        "drivers_dropped": fc.drivers_dropped,
        "method": "model" if fc.no_change is None else "no_change",
        "no_change_reason": None if fc.no_change is None else fc.no_change.reason,
        "national_last_week": _iso(
            None if fc.no_change is None else fc.no_change.national_last_week
        ),
        "steps": [
            {
                "horizon": s.horizon,
                "week": s.week.isoformat(),
                "point": round(s.point, 4),
                "lo80": round(s.lo80, 4),
                "hi80": round(s.hi80, 4),
                "lo95": round(s.lo95, 4),
                "hi95": round(s.hi95, 4),
                "published": stored.actuals.get(s.horizon),
                "bands": bands_of(fc, s.horizon),
            }
            for s in fc.steps
        ],
    }


def _pointers(
    store: Store, area: str, fuels: list[str], *, asked: bool, shown: bool, unsaid: list[str]
) -> tuple[list[str], list[str], set[str]]:
    """Where `outlook show` points when what was asked has no stored forecast: the other
    areas that have one (none ``shown``), the other fuels ``area`` has one for (fuels
    ``asked`` by name, none shown), and which of the fuels ``unsaid`` have a price stored
    there (some shown, fuels asked by name)."""
    # none here: the areas that have one (the demo's states for REGION_N, and Brazil)
    elsewhere = (
        []
        if shown
        else [
            other
            for other in AREAS
            if other != area and any(store.query(outlook_key(f, other)) for f in fuels)
        ]
    )
    # with --fuel: the other fuels this area has one for (the demo's states: gasoline and
    # ethanol), else "no stored outlook for SP" read as if SP had none at all
    other_fuels = (
        []
        if shown or not asked
        else [f for f in FUEL_PRODUCTS if f not in fuels and store.query(outlook_key(f, area))]
    )
    # with --fuel, a fuel asked for that has none and no recorded reason: said under the
    # table too (`-f GASOLINE,DIESEL -a SP` on the demo store dropped diesel unsaid); none
    # shown: whether any price asked for is stored (a store with no ANP price is told so)
    priced: set[str] = (
        store.stored_keys([fuel_key(f, area) for f in (unsaid if shown else fuels)])
        if not shown or (asked and unsaid)
        else set()
    )
    return elsewhere, other_fuels, priced


def _left_out(
    console: Any,
    missing: list[tuple[str, SkipReason]],
    unsaid: list[str],
    area: str,
    priced: set[str],
) -> None:
    """`outlook show`'s notes under the table on the fuels asked for that have no stored
    forecast: why, where the last refresh recorded it (``missing``), else whether a price of
    the fuel is stored (``unsaid``, asked for by name: never left out unsaid)."""
    lines = [f"note: {f}: no stored outlook: {none_made(why)}" for f, why in missing]
    lines += [f"note: {f}: no stored outlook: {never_made(f, area, priced)}" for f in unsaid]
    for line in lines:
        console.print(escape(line), highlight=False)


def _table(cli: Any, out: list[dict[str, Any]], *, wide: bool) -> None:
    """`outlook show`'s table of ``out`` (``--json``'s rows) and the notes under it: "as of" on
    every row (``wide``), or in the title to fit 100 columns."""
    as_of = {
        row["fuel"]: sao_paulo_iso(datetime.fromisoformat(row["as_of"]), "minutes") for row in out
    }
    # no figure is cut short (LPG's bands, 15 wide, were on a 100-column terminal): where
    # the table must narrow, a fuel's name and its last week fold over lines instead
    last = Column("last", justify="right", no_wrap=True)
    figures = [Column(h, justify="right", no_wrap=True) for h in ("nowcast", "80%", "95%")]
    bands = [last, Column("week", no_wrap=True), *figures]
    fuel, last_week = Column("fuel", overflow="fold"), Column("last week", overflow="fold")
    if wide:
        table = Table(fuel, "as of", last_week, *bands)
    else:
        one = set(as_of.values())
        title = (
            f"{out[0]['area']}, as of {one.pop()}"
            if len(one) == 1
            else f"{out[0]['area']}, as of " + ", ".join(f"{f} {t}" for f, t in as_of.items())
        )
        table = Table(fuel, last_week, *bands, title=title)
    for row in out:
        for s in row["steps"]:
            table.add_row(
                row["fuel"],
                *((as_of[row["fuel"]],) if wide else ()),
                row["last_week"] + (" (stale)" if row["stale"] else ""),
                f"{row['last_price']:.3f}",
                s["week"],
                f"{s['point']:.3f}",
                f"{s['lo80']:.3f}–{s['hi80']:.3f}",
                f"{s['lo95']:.3f}–{s['hi95']:.3f}",
            )
    cli.console.print(table)
    _notes(cli, out)


def _none_stored(
    console: Any,
    area: str,
    asked: str,
    missing: list[tuple[str, SkipReason]],
    other_fuels: list[str],
    elsewhere: list[str],
    *,
    priced: bool,
) -> None:
    """`outlook show`'s one line (on ``console``) when nothing asked for has a stored forecast:
    why, where the last refresh recorded it (``missing``), else where one is stored, else what
    stores one, saying when no price asked for is stored (not ``priced``)."""
    from fuelpipe.stages.outlook import MIN_WEEKS

    there = f"stored for: {', '.join(elsewhere)} (`--area {elsewhere[0]}`)" if elsewhere else ""
    if missing:  # what the last refresh recorded beats a guess at what it lacked
        whys = grouped_whys(missing, area)
        # then where one is stored (the demo's states, not Brazil): else a dead end
        line = f"no stored outlook for {asked}: {whys}" + (f"; {there}" if there else "")
        console.print(escape(line), highlight=False)
    elif other_fuels:
        console.print(
            f"no stored outlook for {asked}; stored there for: {', '.join(other_fuels)} "
            f"(`--fuel {other_fuels[0]}`)"
        )
    elif there:
        console.print(f"no stored outlook for {asked}; {there}")
    else:
        unpriced = "" if priced else f"no weekly price of {asked} is stored; "
        console.print(
            f"no stored outlook for {asked} yet: {unpriced}`fuelpipe run` stores one once a "
            f"fuel has {MIN_WEEKS} published weeks"
        )


def _notes(cli: Any, out: list[dict[str, Any]]) -> None:
    """The notes under `outlook show`'s table: out of date, no change, stale drivers."""
    for row in out:  # a forecast behind its series' newest week: not the current outlook
        if row["stale"]:
            because = (
                f"{row['stale_reason']}: {row['stale_detail']}"
                if row["stale_reason"]
                else "the outlook was not refreshed since that week was stored"
            )
            cli.console.print(
                escape(
                    f"note: {row['fuel']}: out of date: made from the week of "
                    f"{row['last_week']}, but the week of {row['newest_week']} is stored and "
                    f"no forecast was made from it ({because}); its first weeks are already "
                    "published"
                ),
                highlight=False,
            )
    for row in out:  # the no-change fallback is no model's forecast: say so, and why
        if row["method"] == "no_change":
            cli.console.print(escape(no_change_note(row)), highlight=False)
    for row in out:  # bands not from the model's own errors: too few of them yet
        note = loo_note(row)
        if note:
            cli.console.print(escape(note), highlight=False)
    # A driver too old when the forecast was made: said under the table once, naming the
    # fuels it holds for (every fuel's forecast shares the drivers: one line, not seven).
    stale: dict[str, list[str]] = {}
    for row in out:
        for d in row["stale_drivers"]:
            stale.setdefault(
                f"{d['driver']} has no value after {d['last_day']} ({used(row)})", []
            ).append(row["fuel"])
    for what, fuels in stale.items():
        every = "both fuels" if len(out) == 2 else f"all {len(out)} fuels"
        who = every if len(fuels) == len(out) > 1 else ", ".join(fuels)
        cli.console.print(escape(f"note: {who}: {what}"), highlight=False)
    for row in out:  # whether the model beats no change here, as the Outlook view says it
        cli.console.print(escape(verdict_note(row)), highlight=False)


def verdict_note(row: dict[str, Any]) -> str:
    """The note under the table on whether the model beats the no-change forecast in this
    store's backtest at 1 week (``row``'s ``verdict`` and ``accuracy``, as /api/outlook's)."""
    from fuelpipe.outlook.accuracy import MIN_SCORED_WEEKS

    one = next((a for a in row["accuracy"] if a["horizon"] == 1), None)
    verdict, head = row["verdict"], f"note: {row['fuel']}: "
    if one is None or verdict == "not_applicable":
        return head + (
            "no verdict on the model: the forecasts scored here were no change themselves"
            if one is not None
            else "no verdict on the model: no forecast scored here"
        )
    own = one["n"] - one["no_change_n"]
    weeks = f"{own} scored 1-week forecast{'s' if own != 1 else ''}"
    if verdict == "unknown":
        return head + f"no verdict on the model yet: {weeks} here, {MIN_SCORED_WEEKS} needed"
    since = f" since {one['first_week']}" if one["first_week"] else ""
    error = f"its 1-week MAE was {one['ratio']:.0%} of no-change's over {weeks}{since}"
    said = {
        "beats": "the model beats the no-change forecast here",
        "does_not_beat": "the model does NOT beat the no-change forecast here",
        "no_clear_difference": "no clear difference from the no-change forecast here",
    }[verdict]
    p = "" if one["dm_p"] is None else f" (Diebold-Mariano p = {one['dm_p']:.2f})"
    return head + f"{said}: {error}{p}"


def grouped_whys(missing: list[tuple[str, SkipReason]], area: str) -> str:
    """Why each fuel in ``missing`` has no stored forecast in ``area``, the fuels the last
    refresh gave the same reason for said once: REGION_N's seven fuels, too short at one week,
    read as seven copies of one sentence. A fuel alone keeps its series' key in its words (as
    /api/outlook's ``stale_detail`` gives it); fuels together are named before them."""
    from fuelpipe.stages.outlook import SkipReason as Reason

    groups: dict[tuple[str, date, str], list[tuple[str, SkipReason]]] = {}
    for f, why in missing:  # the refresh's line starts with the series' key: left out here
        before, keyed, rest = why.detail.partition(f"{fuel_key(f, area)}: ")
        detail = rest if keyed and not before else why.detail
        groups.setdefault((why.reason, why.week, detail), []).append((f, why))
    return "; ".join(
        f"{together[0][0]}: {none_made(together[0][1])}"
        if len(together) == 1
        else f"{', '.join(f for f, _ in together)}: " + none_made(Reason(reason, week, detail))
        for (reason, week, detail), together in groups.items()
    )


def none_made(why: SkipReason) -> str:
    """Why a fuel has no stored forecast, as the last refresh recorded it (the same words as
    /api/outlook's ``stale_reason`` and ``stale_detail``)."""
    return (
        f"the last refresh made none from the week of {why.week.isoformat()} "
        f"({why.reason}: {why.detail})"
    )


def never_made(fuel: str, area: str, priced: set[str]) -> str:
    """Why a fuel asked for has no stored forecast when no refresh recorded a reason: no price
    of it is stored in that area (``priced``: the keys that have one), or none was made yet."""
    from fuelpipe.stages.outlook import MIN_WEEKS

    key = fuel_key(fuel, area)
    if key not in priced:
        return f"no {key} price is stored"
    return f"none made yet: `fuelpipe run` stores one once a fuel has {MIN_WEEKS} published weeks"


def used(row: dict[str, Any]) -> str:
    """Whether the forecast of ``row`` (``show --json``'s) uses Brent in BRL, as its stale
    driver's note says it."""
    if row["method"] == "no_change":
        return "not used: the forecast is no change"
    return "fitted without Brent in BRL" if row["drivers_dropped"] else "driver kept"


NO_CHANGE_WHY = {
    "no_national": "no Brazil {fuel} week is stored up to that week",
    "national_ends_before": (
        "Brazil's {fuel} series stored here ends in the week of {national}, before that week"
    ),
    "national_no_forecast": (
        "Brazil's model made no forecast from that week (too few weeks since its last long "
        "pause, or untrainable)"
    ),
}


def no_change_note(row: dict[str, Any]) -> str:
    """The note under the table for a forecast that is the no-change fallback."""
    why = NO_CHANGE_WHY.get(row["no_change_reason"] or "", "Brazil has no forecast from it")
    because = why.format(fuel=row["fuel"], national=row["national_last_week"])
    return (
        f"note: {row['fuel']}: no change: a state's forecast is its last price moved by "
        f"Brazil's forecast change from the week of {row['last_week']}, and {because}; so the "
        "forecast is the last price at every week (no model forecast, no driver used)"
    )


def loo_note(row: dict[str, Any]) -> str | None:
    """The note under the table for a forecast some of whose bands are the leave-one-out
    residuals' (``bands`` of its steps in ``show --json``), None when none are."""
    from fuelpipe.outlook.params import Params

    loo = [str(s["horizon"]) for s in row["steps"] if s["bands"] == "leave_one_out"]
    if not loo:
        return None
    at = loo[0] if len(loo) == 1 else f"{', '.join(loo[:-1])} and {loo[-1]}"
    weeks = "week" if loo == ["1"] else "weeks"
    others = "" if len(loo) == len(row["steps"]) else " (the other horizons' are from those)"
    return (
        f"note: {row['fuel']}: the bands at {at} {weeks} ahead are from the regression's "
        f"leave-one-out residuals: fewer than {Params().least_errors} of the model's own "
        f"walk-forward errors there yet{others}"
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


__all__ = ["outlook_app"]
