"""Re-serialise the real ANP station sample (datasets/anp/stations/*.parquet) in ANP's own CSV
format for the replay snapshot: UTF-8 with a BOM, CRLF, ``;`` separators, ``"`` quoting only
where a field holds ``;``, decimal commas and dd/mm/yyyy dates exactly as the sample has them,
the 16 columns in ANP's order. Each file is stored xz-compressed (storage only: the replay
serves the plain CSV). Dev tooling: needs the ``lake`` extra (duckdb) to read the Parquet.
"""

# ruff: noqa: S608 - column names are constants

from __future__ import annotations

import argparse
import csv
import io
import lzma
import math
import sys
from pathlib import Path

import duckdb

from fuelpipe.domain.stations import ANP_COLUMNS
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets" / "anp" / "stations"
# sample file -> the name ANP gives the rolling "últimas 4 semanas" file of that product group
FILES = {
    "anp_revenda_2025-03-24_2025-04-19_Gasoline_and_Ethanol_Prices.parquet": (
        "ultimas-4-semanas-gasolina-etanol.csv"
    ),
    "anp_revenda_2025-03-24_2025-04-19_Diesel_and_CNG_Prices.parquet": (
        "ultimas-4-semanas-diesel-gnv.csv"
    ),
    "anp_revenda_2025-03-24_2025-04-19_LPG_Prices.parquet": "ultimas-4-semanas-glp.csv",
}


def anp_csv(parquet: Path) -> tuple[bytes, int]:
    """The sample's rows, in file order, as ANP writes them."""
    con = duckdb.connect()
    cols = ", ".join(f'"{c}"' for c in ANP_COLUMNS)
    rows = con.execute(f"SELECT {cols} FROM read_parquet(?)", [str(parquet)]).fetchall()
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(ANP_COLUMNS)
    for row in rows:
        # Valor de Compra is NaN in the sample: ANP leaves it empty since October 2020.
        writer.writerow(
            "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in row
        )
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"), len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=SNAPSHOT_DIR / "shpc" / "qus")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for source, name in FILES.items():
        data, count = anp_csv(DATASETS / source)
        target = args.out / f"{name}.xz"
        target.write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
        print(
            f"{name:42} {count:6} rows {len(data) / 1024:8.1f} KiB csv "
            f"{target.stat().st_size / 1024:8.1f} KiB xz"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
