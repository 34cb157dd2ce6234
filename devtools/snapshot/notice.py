"""NOTICE.md of the bundled snapshot: where each file comes from and what was changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Origin:
    """The public file a snapshot file was cut from."""

    repo: str
    path: str
    commit: str
    license: str
    changes: str


_HB = "henriquebrnetto/analise-de-ativos"
_HB_COMMIT = "6c5860b7"
_ROWRIAS = "Rowrias/PythonParaAnaliseDeDados_CNJ"
_PYROOKIE = "andrew-pyrookie/Empirical-Investigation-of-Stock-Market-Data"
_PYROOKIE_COMMIT = "333e0c1ce1796d749f320a0364ead54b68efe19b"
_ADJUSTED = (
    "window rows only; column `Ticker` dropped. **The source OHLC is already dividend/split "
    "adjusted (yfinance auto_adjust) and has no Adj Close: `Adj Close` is set equal to `Close`**, "
    "so Open/High/Low/Close here are adjusted prices, not the raw prices Yahoo shows as Close."
)

_REWRITTEN = (
    "the original ANP workbook re-written with only the kept data rows: sheet name, "
    "institutional and notes rows, header row, merged cells, column widths, number formats and "
    "cell types (Excel dates, numbers, `-` for missing) copied from the original; text stored "
    "as shared strings as Excel does; panes frozen below the header. "
)

ORIGINS: dict[str, Origin] = {
    "bcb/USD.csv": Origin(
        "strongylis/sugar-intel",
        "data/ptax.csv",
        "f8cbd465",
        "MIT",
        "columns renamed data,venda,compra → date,sell,buy; rows from the window's start through "
        "{drivers_end} (past the window, for the state weeks' outlook). Real closing PTAX "
        "(both sides). Not used: lucagpgirardi `ptax.csv`, which holds the *buy* rate only.",
    ),
    "yahoo/PETR4.SA.csv": Origin(
        "sheep-farm/assets-data",
        "PETR4.SA.csv",
        "02056fa1626760eed05c49591fccef71eafd457a",
        "none",
        "rows from the window's start to the file's end (2025-09-29, past the window, beside "
        "the drivers), from this one source: its yfinance layout (symbol,date,open,high,low,"
        "close,volume,adjclose,dividends,splits) written in the classic Yahoo download layout "
        "(Date,Open,High,Low,Close,Adj Close,Volume; symbol, dividends and splits dropped, "
        "no split in the span), each price with the classic file's six decimals (the source "
        "holds yfinance's float32 values: 26.149999618530273 → 26.150000), volume as a whole "
        "number. On the 370 days it shares with the window's former source (henriquebrnetto/"
        "analise-de-ativos `PETR4.SA.csv` @ 6c5860b7, 2021-05-19 … 2022-11-09) Open, High, Low, "
        "Close and Volume are then equal, so the window's values are unchanged; **Adj Close is "
        "this source's, adjusted for dividends up to 2025-08-22** (so lower than the former "
        "file's, adjusted in 2022-11): one adjustment for the whole span, where two files "
        "adjusted at different dates would not join. The pipeline stores Close (raw) as the "
        "value; Adj Close is an attribute.",
    ),
    "yahoo/PETR3.SA.csv": Origin(
        _ROWRIAS,
        "00PETR3.SA.csv",
        "21ab52e8",
        "none",
        "window rows only; the source ends on 2022-03-14, so the file stops there.",
    ),
    "yahoo/PRIO3.SA.csv": Origin(
        _ROWRIAS,
        "00PRIO3.SA.csv",
        "21ab52e8",
        "none",
        "window rows only; the source starts on 2021-10-25, so the file starts there.",
    ),
    **{
        f"yahoo/{t}.csv": Origin(_PYROOKIE, f"{t}.csv", _PYROOKIE_COMMIT, "none", _ADJUSTED)
        for t in ("XOM", "CVX", "BP", "SHEL", "TTE")
    },
    "yahoo/BZ=F.csv": Origin(
        _HB,
        "BZ=F.csv",
        _HB_COMMIT,
        "none",
        "yfinance `history()` export: tz-aware dates cut to YYYY-MM-DD, Dividends/Stock Splits "
        "(all zero) dropped, `Adj Close` = `Close` (a future has no adjustment; Yahoo repeats "
        "Close); window rows only.",
    ),
    "fred/DCOILBRENTEU.csv": Origin(
        "kianezimmermann94/Barril-de-Incertezas",
        "DCOILBRENTEU.csv",
        "1cc06d59a50d81331fb320ab3f5e633826470934",
        "none",
        "rows from the window's start to the file's end (2026-05-01, past the window, for the "
        "outlook of the state weeks and of Brazil); current FRED layout kept (empty value = "
        "FRED has none: UK holidays). On the 1,305 days it shares with the former source "
        "(jackthompsondb/OilCausalities `data/DCOILBRENTEU.csv` @ b61f6915, 2020-01-02 … "
        "2025-01-01) every value, and every empty one, is the same.",
    ),
    "anp/semanal/semanal-brasil-desde-2013.xlsx": Origin(
        "maikereis/diesel",
        "semanal-brasil-desde-2013.xlsx",
        "c9603b02",
        "none",
        _REWRITTEN
        + "Kept: the weeks whose DATA FINAL ≥ window start and DATA INICIAL ≤ {drivers_end}, "
        "that is every week from the window's first to the file's last (2026-03-08 … "
        "2026-03-14; the source has no later one): past the window, so that the Brazil "
        "series overlap the weekly state prices (2024-06 … 2026-06) and the outlook's drivers "
        "(a map week from 2024-06 to 2026-03 has Brazil beside the states; Brazil's outlook "
        "has the history it needs). "
        "GLP has no row for the week of 2022-09-18 in the source, as here.",
    ),
    "anp/semanal/semanal-regioes-desde-2013.xlsx": Origin(
        "GabrielDeOliveiraAlmeida/PriceForecastingModels",
        "semanal-regioes-desde-2013.xlsx",
        "668953c599145d17f5d37d8a4963237fabf8ed12",
        "none (ANP open data)",
        _REWRITTEN
        + "Kept: the window's weeks (DATA FINAL ≥ window start and DATA INICIAL ≤ window "
        "end); the source ends there (the week of 2022-05-01), so the regions do not run on "
        "past the window as the Brasil workbook does.",
    ),
    "anp/mensal/mensal-estados-desde-jan2013.xlsx": Origin(
        "eduardoicosta/Analise_Combustiveis_R",
        "mensal-estados-desde-jan2013.xlsx",
        "f44f1845",
        "none",
        _REWRITTEN + "Kept: the months 2021-05 … 2022-05 (header on row 17, as in the original).",
    ),
    "anp/semanal/semanal-estados-desde-2013.xlsx": Origin(
        "strongylis/sugar-intel",
        "data/anp_shlp_estados.csv",
        "e2719973",
        "MIT",
        "**rebuilt**: no copy of the real weekly-by-state workbook is small enough, so the real "
        "weekly state values of this CSV (a re-shaped extract of that sheet, 2024-06 … 2026-06) "
        "are written into the real weekly layout: the notes rows and header row 18 of the Brasil "
        "workbook (maikereis/diesel @ c9603b02), sheet `ESTADOS - DESDE 30.12.2012`, the title "
        "row `TIPO RELATÓRIO: ESTADO`, and REGIÃO/ESTADO columns after DATA FINAL. Every week "
        "is kept. `gasolina_c` → GASOLINA COMUM, `hidratado` → ETANOL HIDRATADO; "
        "its dates are the week's Saturday (DATA FINAL), DATA INICIAL = Saturday − 6 days; "
        "NÚMERO DE POSTOS, PREÇO MÉDIO/MÍNIMO/MÁXIMO REVENDA come from the CSV; unit `R$/l`; "
        "REGIÃO and the state name from the UF code; every other column is `-` (missing, the "
        "real workbook's marker) because the CSV lacks it.",
    ),
}


def write_notice(
    out: Path, rows: dict[str, int], start: date, end: date, drivers_end: date
) -> None:
    """Write NOTICE.md for the files in ``rows`` (path -> data rows)."""
    lines = [
        "# Replay snapshot: origin of every file",
        "",
        "Real data copied from public GitHub repositories (the underlying data come from ANP, "
        "BCB, Yahoo Finance and FRED); built by `scripts/build_snapshot.py` from `datasets/` "
        "(see its MANIFEST.md). Most repositories state no license: these are third-party "
        "copies of public data, bundled for offline tests and the demo.",
        "",
        f"Window: {start.isoformat()} … {end.isoformat()}, the span where every kind of series "
        f"has real data. PTAX (to {drivers_end.isoformat()}) and FRED's Brent (to its file's "
        "end, 2026-05-01) run on past it, beside the weekly state prices (2024-06 … 2026-06), "
        "for the outlook of those states and of Brazil; so do ANP's weekly Brazil prices, to "
        "their file's last week (2026-03-08 … 2026-03-14), so that the Brazil series overlap "
        "the states and the drivers, and PETR4, to its file's end (2025-09-29). The other files "
        "(regions, monthly states, the other shares, Brent futures) stop at the window's end, "
        "or before it where their source does (PETR3). `coverage.json` "
        "lists, per catalog key, the first and last date with a real value, parsed from these "
        "files.",
        "",
        "**Nothing in the snapshot is synthetic**: every value is a real value of its source, "
        "rows were only dropped, and layouts aligned as described below.",
        "",
        "What the replay server adds at serving time (not data): the time of day of each PTAX "
        "bulletin (`dataHoraCotacao`, derived from the date; the files carry the date or the "
        "window's hour only: each window's bulletin a few minutes into its window, the closing "
        "after the last one, 13:05-13:10, or 15:35-15:40 on Ash Wednesday), "
        "the Yahoo bar timestamps (the exchange's session open, midnight New York time for BZ=F) "
        "and Yahoo `meta` fields.",
        "",
        "| file | rows | origin (repo / path @ commit) | license | changes |",
        "|---|---|---|---|---|",
    ]
    # Rows for files other tools bundle beside these (the intraday files, the station sample)
    # are kept as they are: this builder does not write those files.
    target = out / "NOTICE.md"
    previous = target.read_text(encoding="utf-8").splitlines() if target.exists() else []
    others = [
        line for line in previous if line.startswith("| `") and line.split("`", 2)[1] not in rows
    ]
    for path in sorted(rows):
        o = ORIGINS[path]
        changes = o.changes.replace("{drivers_end}", drivers_end.isoformat())
        lines.append(
            f"| `{path}` | {rows[path]} | {o.repo} `{o.path}` @ {o.commit} | {o.license} "
            f"| {changes} |"
        )
    lines += [*others, ""]
    target.write_text("\n".join(lines), encoding="utf-8")
