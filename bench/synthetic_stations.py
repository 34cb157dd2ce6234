"""SYNTHETIC station data for the stations benchmark, generated from the real ANP sample.

The real sample (datasets/anp/stations/*.parquet, 78,901 rows, 2025-03-24..04-19) is repeated
``copies`` times, each copy moved 28 days further back, so every copy keeps the real mix of
stations, municipalities, brands and fuels and the real within-week price spread. Each copy's
prices are scaled by a smooth trend (prices about 2.5% lower per year back) and a per-row noise
of ±2% drawn from a hash of the row and copy, so repeated runs give the same bytes. Nothing
here is real data beyond the first copy's shape: the output is named ``synthetic``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from fuelpipe.adapters.lake.engine import FILE_COLUMNS
from fuelpipe.domain.stations import ANP_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "datasets" / "anp" / "stations" / "*.parquet"
REAL_ROWS = 78_901
BOM = b"\xef\xbb\xbf"


def _q(name: str) -> str:
    return '"' + name + '"'


# The real sample with typed columns and fuel codes (the mapping the lake applies on ingest).
_REAL = f"""
    SELECT *, strptime({_q("Data da Coleta")}, '%d/%m/%Y')::DATE AS d,
           replace({_q("Valor de Venda")}, ',', '.')::DOUBLE AS v,
           row_number() OVER () AS rid
    FROM read_parquet('{REAL}')
"""
_SCALED = """
    SELECT r.*, c.k,
           CAST(r.d - INTERVAL (28 * c.k) DAY AS DATE) AS sd,
           round(r.v * (1 - 0.025 * c.k * 28 / 365.0)
                 * (1 + (CAST(hash(r.rid, c.k) % 4001 AS INTEGER) - 2000) / 100000.0), 2) AS sv
    FROM real r CROSS JOIN range({copies}) c(k)
"""


def connect(threads: int = 2) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": threads, "memory_limit": "1500MB"})
    con.execute(f"CREATE TEMP VIEW real AS {_REAL}")
    return con


def _anp_columns() -> str:
    """The scaled rows as ANP's 16 CSV columns (dd/mm/yyyy, decimal comma)."""
    cols = []
    for c in ANP_COLUMNS:
        if c == "Data da Coleta":
            cols.append(f"strftime(sd, '%d/%m/%Y') AS {_q(c)}")
        elif c == "Valor de Venda":
            cols.append(f"replace(printf('%.2f', sv), '.', ',') AS {_q(c)}")
        elif c == "Valor de Compra":
            cols.append(f"NULL::VARCHAR AS {_q(c)}")
        else:
            cols.append(_q(c))
    return ", ".join(cols)


_CSV = "(FORMAT csv, DELIMITER ';', HEADER true, QUOTE '\"'"


def _with_bom(body: Path, target: Path) -> None:
    with target.open("wb") as out, body.open("rb") as src:
        out.write(BOM)
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()


def write_anp_csv(target: Path, rows: int, threads: int = 2) -> int:
    """A SYNTHETIC station file of about ``rows`` rows in ANP's CSV format (BOM, ``;``,
    decimal comma, dd/mm/yyyy, 16 columns)."""
    copies = max(1, -(-rows // REAL_ROWS))
    con = connect(threads)
    body = target.with_suffix(".body")
    con.execute(
        f"COPY (SELECT {_anp_columns()} FROM ({_SCALED.format(copies=copies)}) LIMIT {rows}) "
        f"TO '{body}' {_CSV})"
    )
    con.close()
    _with_bom(body, target)
    return rows


def write_anp_semesters(folder: Path, copies: int, threads: int = 2) -> list[Path]:
    """``copies`` × the real sample as SYNTHETIC ANP-format CSV files split the way ANP splits
    its history: one file per half-year, ``synthetic-ca-<YYYY>-0<1|2>.csv`` (ANP's own are
    ``ca-<YYYY>-0<1|2>.csv``), each in the format of ``write_anp_csv``, oldest first."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    con = connect(threads)
    parts = folder / "parts"
    half = "strftime(sd, '%Y') || '-0' || CASE WHEN month(sd) <= 6 THEN '1' ELSE '2' END"
    con.execute(
        f"COPY (SELECT {_anp_columns()}, {half} AS half "
        f"FROM ({_SCALED.format(copies=copies)})) "
        f"TO '{parts}' {_CSV}, PARTITION_BY (half))"
    )
    con.close()
    files = []
    for part in sorted(parts.glob("half=*")):
        (body,) = part.glob("*.csv")
        target = folder / f"synthetic-ca-{part.name.removeprefix('half=')}.csv"
        _with_bom(body, target)
        files.append(target)
    shutil.rmtree(parts)
    return files


_FUEL = """CASE Produto WHEN 'GASOLINA' THEN 'GASOLINE' WHEN 'GASOLINA ADITIVADA'
    THEN 'GASOLINE_PREMIUM' WHEN 'ETANOL' THEN 'ETHANOL' WHEN 'DIESEL' THEN 'DIESEL'
    WHEN 'DIESEL S10' THEN 'DIESEL_S10' WHEN 'GNV' THEN 'CNG' WHEN 'GLP' THEN 'LPG' END"""
_UNIT = """CASE Produto WHEN 'GNV' THEN 'BRL/m3' WHEN 'GLP' THEN 'BRL/13kg' ELSE 'BRL/l' END"""


def write_lake(root: Path, copies: int, threads: int = 2) -> int:
    """A SYNTHETIC lake of ``copies`` × the real sample, in the lake's own layout
    (``product=<fuel>/month=<YYYY-MM>/part-0.parquet``, rows in file order as the lake
    writes them)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    con = connect(threads)
    names = {
        "region": "Regiao - Sigla",
        "state": "Estado - Sigla",
        "municipality": "Municipio",
        "station": "Revenda",
        "cnpj": "CNPJ da Revenda",
        "street": "Nome da Rua",
        "number": "Numero Rua",
        "complement": "Complemento",
        "neighbourhood": "Bairro",
        "cep": "Cep",
        "brand": "Bandeira",
    }
    exprs = []
    for c in FILE_COLUMNS:
        if c in names:
            exprs.append(
                # the lake's layout 2: the CNPJ's 14 digits (the real sample's are all 14)
                f"regexp_replace({_q(names[c])}, '[^0-9]', '', 'g') AS {c}"
                if c == "cnpj"
                else f"{_q(names[c])} AS {c}"
            )
        elif c == "collected":
            exprs.append("sd AS collected")
        elif c == "week":
            exprs.append("CAST(sd - CAST(dayofweek(sd) AS INTEGER) AS DATE) AS week")
        elif c == "price":
            exprs.append("sv AS price")
        elif c == "purchase_price":
            exprs.append("NULL::DOUBLE AS purchase_price")
        elif c == "unit":
            exprs.append(f"{_UNIT} AS unit")
        elif c == "source_file":
            exprs.append("'synthetic-' || k AS source_file")
    exprs += [f"{_FUEL} AS product", "strftime(sd, '%Y-%m') AS month"]
    con.execute(
        f"CREATE TEMP TABLE synth AS SELECT {', '.join(exprs)} "
        f"FROM ({_SCALED.format(copies=copies)})"
    )
    (total,) = con.execute("SELECT count(*) FROM synth").fetchone()  # type: ignore[misc]
    con.execute(
        f"COPY (SELECT * FROM synth) "
        f"TO '{root}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (product, month), "
        "FILENAME_PATTERN 'part-{i}', ROW_GROUP_SIZE 100000)"
    )
    con.close()
    return int(total)
