"""`outlook backtest`'s table writes its counts (n, fallback) with thousands separators, as
the other human tables of the CLI do; ``--json`` keeps the plain numbers. The bundled history
scores about 600 weeks a horizon: a history reaching back further passes a thousand."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from fuelpipe.cli.outlook import _backtest_table


def test_the_backtest_tables_counts_have_separators() -> None:
    """Synthetic: one row with 1,190 weeks scored, 1,024 of them the no-change fallback."""
    row = {
        "fuel": "GASOLINE",
        "area": "SP",
        "horizon": 1,
        "n": 1190,
        "no_change_n": 1024,
        **dict.fromkeys(("mae", "naive_mae", "ratio", "bias", "coverage80", "coverage95"), 0.5),
        **dict.fromkeys(("coverage80_model", "coverage95_model", "dm_p"), None),
    }
    console = Console(record=True, width=250)
    _backtest_table(SimpleNamespace(console=console), [row], Path("datasets"))
    [line] = [line for line in console.export_text().splitlines() if "GASOLINE" in line]
    cells = [cell.strip() for cell in line.split("│")[1:-1]]
    assert cells[:5] == ["GASOLINE", "SP", "1", "1,190", "1,024"], cells
