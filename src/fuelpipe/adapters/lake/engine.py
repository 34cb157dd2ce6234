"""``StationLake``: ingest ANP station files into partitioned Parquet and query them, with DuckDB.

One ingest reads each CSV once with DuckDB's CSV reader (structural rejects keep their line),
validates every record in SQL (date, prices, product, unit, plausibility), keeps one record
per (CNPJ, product, collection date), and merges each touched (product, month) partition with
what the lake already holds. A record already in the lake wins over a re-sent one, so
re-ingesting a file changes nothing; a partition nobody adds to is not rewritten.
"""

# ruff: noqa: S608 - SQL is composed here from our own constants and quoted literals (_sql_str); user values are bound parameters

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuelpipe.adapters.lake.formats import CsvInput, UnreadableFile, csv_inputs
from fuelpipe.adapters.lake.queries import QUERIES
from fuelpipe.adapters.lake.storage import PART_FILE
from fuelpipe.domain.stations import (
    ANP_COLUMNS,
    FUEL_UNITS,
    LAKE_COLUMNS,
    PRICE_BOUNDS,
    PRODUCTS,
    UNITS,
    BadRow,
    lines_of_accepted,
)
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.lake import LakeStorage

if TYPE_CHECKING:
    import duckdb

# The partition files' columns (product and month are the partition's path, not in the file).
FILE_COLUMNS = (
    "region",
    "state",
    "municipality",
    "station",
    "cnpj",
    "street",
    "number",
    "complement",
    "neighbourhood",
    "cep",
    "collected",
    "week",
    "price",
    "purchase_price",
    "unit",
    "brand",
    "source_file",
)
_SORT = "state, municipality, collected, cnpj"
Progress = Callable[[str, int], None]


class LakeUnavailable(RuntimeError):
    """DuckDB (the ``lake`` extra) is not installed."""


def connect(
    threads: int = 2, memory_limit: str = "768MB", temp_directory: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded threads and memory; one clear error without the extra."""
    try:
        import duckdb
    except ImportError:
        raise LakeUnavailable(
            "the station lake needs DuckDB: pip install 'fuelpipe[lake]'"
        ) from None
    config: dict[str, Any] = {"threads": threads, "memory_limit": memory_limit}
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)  # spill here past the memory limit
    con = duckdb.connect(config=config)
    con.execute("SET preserve_insertion_order = true")
    return con


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class FileReport:
    """What one ingested CSV gave."""

    name: str
    fmt: str
    rows: int = 0
    written: int = 0
    duplicates_in_file: int = 0
    already_in_lake: int = 0
    rejected: int = 0
    bad: list[BadRow] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.fmt,
            "rows": self.rows,
            "written": self.written,
            "duplicates_in_file": self.duplicates_in_file,
            "already_in_lake": self.already_in_lake,
            "rejected": self.rejected,
            "partitions": self.partitions,
            "skipped": self.skipped,
            "bad_rows": [str(b) for b in self.bad[:20]],
        }

    def accounted(self) -> bool:
        """Every data row is written, a duplicate, already stored or rejected."""
        return self.rows == (
            self.written + self.duplicates_in_file + self.already_in_lake + self.rejected
        )


class StationLake:
    """The station-level lake on a storage (local directory or S3), with DuckDB as engine."""

    def __init__(
        self,
        storage: LakeStorage,
        clock: Clock,
        *,
        threads: int = 2,
        memory_limit: str = "768MB",
        workdir: Path | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.threads = threads
        self.memory_limit = memory_limit
        self.workdir = workdir
        self._db: duckdb.DuckDBPyConnection | None = None
        self._mirror: Path | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _scratch(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="fuelpipe-lake-", dir=self.workdir) as tmp:
            yield Path(tmp)

    # --- ingest --------------------------------------------------------------------------
    def already_ingested(self, sha256: str) -> str | None:
        """The name a file with this content was ingested under, if any."""
        for name, entry in self.storage.read_manifest()["files"].items():
            if entry.get("sha256") == sha256:
                return str(name)
        return None

    def ingest_path(
        self,
        path: Path,
        name: str | None = None,
        *,
        source: str | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> list[FileReport]:
        """Ingest one downloaded file (any format ANP has used); one report per CSV in it.

        A file whose content was ingested before is skipped unless ``force``; ingesting it
        again would change nothing anyway.
        """
        name = name or path.name
        digest = _sha256(path)
        seen = self.already_ingested(digest)
        if seen and not force:
            return [FileReport(name, "-", skipped=f"same content as {seen}, already ingested")]
        with self._scratch() as scratch:
            try:
                inputs = csv_inputs(path, name, scratch)
            except UnreadableFile as exc:
                report = FileReport(name, "unreadable", skipped=str(exc))
                self._record(name, digest, source, path.stat().st_size, [report])
                return [report]
            reports = [self._ingest_csv(part, scratch, progress) for part in inputs]
        self._record(name, digest, source, path.stat().st_size, reports)
        return reports

    def _record(
        self,
        name: str,
        digest: str,
        source: str | None,
        size: int,
        reports: Sequence[FileReport],
    ) -> None:
        manifest = self.storage.read_manifest()
        manifest["files"][name] = {
            "sha256": digest,
            "source": source,
            "bytes": size,
            "ingested_at": self.clock.now().isoformat(),
            "parts": [r.as_dict() for r in reports],
        }
        self.storage.write_manifest(manifest)
        bad = [str(b) for r in reports for b in r.bad]
        if bad:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            self.storage.put_text(f"{safe}.rejected.txt", "\n".join(bad) + "\n")

    def _header_problem(self, part: CsvInput) -> str | None:
        with part.path.open("rb") as fh:
            first = fh.readline().decode(part.encoding, errors="replace")
        cells = [c.strip().strip('"') for c in first.lstrip("\ufeff").rstrip("\r\n").split(";")]
        if [c.upper() for c in cells] == [c.upper() for c in ANP_COLUMNS]:
            return None
        return f"header is not ANP's 16 station columns: {first.strip()[:160]!r}"

    def _ingest_csv(self, part: CsvInput, scratch: Path, progress: Progress | None) -> FileReport:
        report = FileReport(part.name, part.fmt.value)
        problem = self._header_problem(part)
        if problem:
            report.skipped = problem
            return report
        con = connect(self.threads, self.memory_limit, scratch / "spill")
        try:
            self._load(con, part)
            report.rows = _one(con, "SELECT count(*) FROM checked") + _one(
                con, "SELECT count(DISTINCT line) FROM reject_errors"
            )
            report.bad = self._bad_rows(con, part.name)
            report.rejected = len(report.bad)
            valid, distinct = _pair(
                con,
                "SELECT count(*), count(DISTINCT (cnpj, product, collected)) FROM checked "
                "WHERE reason IS NULL",
            )
            cols = f"{', '.join(FILE_COLUMNS)}, product, month"
            if distinct == valid:  # the usual case: no duplicate, no costly window
                con.execute(
                    f"CREATE TEMP VIEW good AS SELECT {cols} FROM checked WHERE reason IS NULL"
                )
            else:
                con.execute(
                    f"CREATE TEMP TABLE good AS SELECT {cols} FROM checked WHERE reason IS NULL "
                    "QUALIFY row_number() OVER "
                    "(PARTITION BY cnpj, product, collected ORDER BY idx) = 1"
                )
            report.duplicates_in_file = valid - distinct
            if progress:
                progress(part.name, report.rows)
            self._merge(con, report, scratch)
        finally:
            con.close()
        return report

    def _load(self, con: duckdb.DuckDBPyConnection, part: CsvInput) -> None:
        columns = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in LAKE_COLUMNS) + "}"
        con.execute(
            f"CREATE TEMP TABLE raw AS SELECT * FROM read_csv({_sql_str(str(part.path))}, "
            f"delim = ';', quote = '\"', escape = '\"', header = true, auto_detect = false, "
            f"columns = {columns}, encoding = {_sql_str(part.encoding)}, store_rejects = true)"
        )
        products = ", ".join(f"({_sql_str(k)}, {_sql_str(v)})" for k, v in PRODUCTS.items())
        units = ", ".join(f"({_sql_str(k)}, {_sql_str(v)})" for k, v in UNITS.items())
        fuel_units = ", ".join(
            f"({_sql_str(k)}, {_sql_str(v)}, {PRICE_BOUNDS[v][0]}, {PRICE_BOUNDS[v][1]})"
            for k, v in FUEL_UNITS.items()
        )
        con.execute(
            f"CREATE TEMP TABLE products(label VARCHAR, fuel VARCHAR); "
            f"INSERT INTO products VALUES {products}"
        )
        con.execute(
            f"CREATE TEMP TABLE units(label VARCHAR, unit VARCHAR); "
            f"INSERT INTO units VALUES {units}"
        )
        con.execute(
            "CREATE TEMP TABLE fuel_units(fuel VARCHAR, unit VARCHAR, lo DOUBLE, hi DOUBLE); "
            f"INSERT INTO fuel_units VALUES {fuel_units}"
        )
        source = _sql_str(part.name)
        parsed_sql = f"""
            SELECT r.rowid AS idx,
                   trim(r.region) AS region, trim(r.state) AS state,
                   trim(r.municipality) AS municipality, trim(r.station) AS station,
                   trim(r.cnpj) AS cnpj, trim(r.street) AS street, trim(r.number) AS number,
                   trim(r.complement) AS complement, trim(r.neighbourhood) AS neighbourhood,
                   trim(r.cep) AS cep, r.product_label, r.collected AS collected_text,
                   r.price AS price_text, r.purchase_price AS purchase_text, r.unit_label,
                   coalesce(trim(r.brand), 'BRANCA') AS brand,
                   try_strptime(trim(r.collected), '%d/%m/%Y')::DATE AS collected,
                   TRY_CAST(replace(trim(r.price), ',', '.') AS DOUBLE) AS price,
                   TRY_CAST(replace(trim(r.purchase_price), ',', '.') AS DOUBLE) AS purchase_price,
                   p.fuel AS product, u.unit AS unit, f.unit AS fuel_unit, f.lo, f.hi,
                   {source} AS source_file
            FROM raw r
            LEFT JOIN products p ON upper(trim(r.product_label)) = p.label
            LEFT JOIN units u ON upper(trim(r.unit_label)) = u.label
            LEFT JOIN fuel_units f ON p.fuel = f.fuel
            """
        con.execute(
            f"""
            CREATE TEMP TABLE checked AS
            SELECT *,
                   CAST(collected - CAST(dayofweek(collected) AS INTEGER) AS DATE) AS week,
                   strftime(collected, '%Y-%m') AS month,
                   CASE
                     WHEN cnpj IS NULL OR cnpj = '' THEN 'no CNPJ'
                     WHEN collected IS NULL
                       THEN 'bad collection date '
                            || coalesce('''' || collected_text || '''', '(empty)')
                     WHEN price IS NULL
                       THEN 'sale price is not a number: '
                            || coalesce('''' || price_text || '''', '(empty)')
                     WHEN trim(purchase_text) <> '' AND purchase_price IS NULL
                       THEN 'purchase price is not a number: ''' || purchase_text || ''''
                     WHEN product IS NULL
                       THEN 'unknown product ' || coalesce('''' || product_label || '''', '(empty)')
                     WHEN unit IS NULL
                       THEN 'unknown unit ' || coalesce('''' || unit_label || '''', '(empty)')
                     WHEN unit <> fuel_unit
                       THEN 'unit ''' || unit_label || ''' does not fit ' || product
                     WHEN price < lo OR price > hi
                       THEN 'sale price ' || price_text || ' is outside '
                            || lo || '..' || hi || ' ' || unit
                   END AS reason
            FROM ({parsed_sql})
            """
        )
        con.execute("DROP TABLE raw")  # checked holds every column now; free the memory

    def _bad_rows(self, con: duckdb.DuckDBPyConnection, name: str) -> list[BadRow]:
        structural = con.execute(
            "SELECT line, string_agg(DISTINCT error_type || ': ' || error_message, '; ') "
            "FROM reject_errors GROUP BY line ORDER BY line"
        ).fetchall()
        invalid = con.execute(
            "SELECT idx, reason FROM checked WHERE reason IS NOT NULL ORDER BY idx"
        ).fetchall()
        lines = lines_of_accepted([i for i, _ in invalid], [int(ln) for ln, _ in structural])
        bad = [BadRow(name, int(ln), f"malformed record ({msg})") for ln, msg in structural]
        bad += [BadRow(name, lines[int(i)], str(reason)) for i, reason in invalid]
        return sorted(bad, key=lambda b: b.line)

    def _merge(self, con: duckdb.DuckDBPyConnection, report: FileReport, scratch: Path) -> None:
        cols = ", ".join(FILE_COLUMNS)
        counts = con.execute(
            "SELECT product, month, count(*) FROM good GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        existing: dict[tuple[str, str], Path] = {}
        for product, month, _ in counts:
            found = self.storage.fetch_partition(product, month, scratch)
            if found is not None:
                existing[(product, month)] = found
        fresh = [(p, m, int(n)) for p, m, n in counts if (p, m) not in existing]
        if fresh:
            # Partitions the lake does not have yet: one partitioned write for all of them.
            out = scratch / "new"
            keys = ", ".join(f"({_sql_str(p)}, {_sql_str(m)})" for p, m, _ in fresh)
            con.execute(
                f"COPY (SELECT {cols}, product, month FROM good WHERE (product, month) IN "
                f"({keys})) TO {_sql_str(str(out))} "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000, "
                "PARTITION_BY (product, month), FILENAME_PATTERN 'part-{i}')"
            )
            for product, month, n in fresh:
                folder = out / f"product={product}" / f"month={month}"
                files = sorted(folder.glob("*.parquet"))
                if [f.name for f in files] != [PART_FILE]:
                    raise RuntimeError(f"expected one {PART_FILE} in {folder}, got {files}")
                self.storage.put_partition(product, month, files[0])
                report.written += n
                report.partitions.append(f"{product}/{month}")
        for (product, month), path in existing.items():
            where = f"product = {_sql_str(product)} AND month = {_sql_str(month)}"
            con.execute(
                "CREATE OR REPLACE TEMP TABLE part AS SELECT * FROM "
                f"read_parquet({_sql_str(str(path))})"
            )
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE fresh AS SELECT {cols} FROM good g WHERE "
                f"{where} AND NOT EXISTS (SELECT 1 FROM part p WHERE p.cnpj = g.cnpj "
                "AND p.collected = g.collected)"
            )
            added = _one(con, "SELECT count(*) FROM fresh")
            total = next(int(n) for p, m, n in counts if (p, m) == (product, month))
            report.already_in_lake += total - added
            if added == 0:
                continue  # nothing new: the partition file is not rewritten
            merged = scratch / f"{product}-{month}.parquet"
            con.execute(
                f"COPY (SELECT {cols} FROM part UNION ALL SELECT {cols} FROM fresh "
                f"ORDER BY {_SORT}) TO {_sql_str(str(merged))} "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
            )
            self.storage.put_partition(product, month, merged)
            report.written += added
            report.partitions.append(f"{product}/{month}")
        report.partitions.sort()

    # --- read ----------------------------------------------------------------------------
    def _root(self) -> Path:
        """The local directory DuckDB reads: the lake itself, or a mirror of the S3 lake kept
        for the lake object's life (files are fetched again only when their ETag changed)."""
        if self._mirror is None:
            self._mirror = Path(tempfile.mkdtemp(prefix="fuelpipe-lake-read-", dir=self.workdir))
        return self.storage.query_root(self._mirror)

    def _files(
        self, root: Path, product: str | None, month_from: str | None, month_to: str | None
    ) -> list[Path]:
        """The partition files a query can need: its product's, in its month range (the
        pruning Athena does with partition projection), so DuckDB never lists the rest."""
        products = [root / f"product={product}"] if product else sorted(root.glob("product=*"))
        files = []
        for folder in products:
            if not folder.is_dir():
                continue
            for month_dir in sorted(folder.glob("month=*")):
                month = month_dir.name.removeprefix("month=")
                if (month_from and month < month_from) or (month_to and month > month_to):
                    continue
                part = month_dir / PART_FILE
                if part.exists():
                    files.append(part)
        return files

    def _database(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            self._db = connect(self.threads, self.memory_limit)
        return self._db

    @contextmanager
    def reader(
        self,
        product: str | None = None,
        month_from: str | None = None,
        month_to: str | None = None,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor with the view ``stations`` over the partition files (all of them, or one
        product's in a month range). Cursors are separate connections to one in-memory
        database, so threads may each hold one."""
        files = self._files(self._root(), product, month_from, month_to)
        with self._lock:
            cur = self._database().cursor()
        try:
            if files:
                listing = "[" + ", ".join(_sql_str(str(f)) for f in files) + "]"
                cur.execute(
                    f"CREATE TEMP VIEW stations AS SELECT * FROM read_parquet({listing}, "
                    "hive_partitioning = true, "
                    "hive_types = {'product': VARCHAR, 'month': VARCHAR})"
                )
            else:
                cur.execute(_EMPTY_VIEW)
            yield cur
        finally:
            cur.close()

    def query(self, name: str, params: dict[str, Any]) -> QueryResult:
        """Run one of the named queries (queries.QUERIES) with its parameters."""
        q = QUERIES[name]
        with self.reader(
            params.get("product") if "product" in q.params else None,
            params.get("month_from"),
            params.get("month_to"),
        ) as con:
            cur = con.execute(q.sql, [params[p] for p in q.params])
            columns = [d[0] for d in cur.description or ()]
            return QueryResult(columns, [tuple(r) for r in cur.fetchall()])

    def close(self) -> None:
        """Close the read database and drop the S3 mirror, if any."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._mirror is not None and self._mirror.exists():
            shutil.rmtree(self._mirror, ignore_errors=True)
            self._mirror = None

    def status(self) -> dict[str, Any]:
        """Files ingested (from the manifest) and rows per partition."""
        manifest = self.storage.read_manifest()
        coverage = self.query("coverage", {})
        return {
            "lake": self.storage.describe(),
            "files": manifest["files"],
            "partitions": [dict(zip(coverage.columns, r, strict=True)) for r in coverage.rows],
        }

    def window(self) -> tuple[date, date] | None:
        """First and last collection day in the lake (reads only the first and last month's
        partitions: every page view asks)."""
        months = sorted(
            {
                f.parent.name.removeprefix("month=")
                for f in self._files(self._root(), None, None, None)
            }
        )
        if not months:
            return None
        with self.reader(None, months[0], months[0]) as con:
            first = con.execute("SELECT min(collected) FROM stations").fetchone()
        with self.reader(None, months[-1], months[-1]) as con:
            last = con.execute("SELECT max(collected) FROM stations").fetchone()
        if not first or not last or first[0] is None:
            return None
        return first[0], last[0]


_EMPTY_VIEW = (
    "CREATE TEMP VIEW stations AS SELECT * FROM (SELECT NULL::VARCHAR AS region, "
    "NULL::VARCHAR AS state, NULL::VARCHAR AS municipality, NULL::VARCHAR AS station, "
    "NULL::VARCHAR AS cnpj, NULL::VARCHAR AS street, NULL::VARCHAR AS number, "
    "NULL::VARCHAR AS complement, NULL::VARCHAR AS neighbourhood, NULL::VARCHAR AS cep, "
    "NULL::DATE AS collected, NULL::DATE AS week, NULL::DOUBLE AS price, "
    "NULL::DOUBLE AS purchase_price, NULL::VARCHAR AS unit, NULL::VARCHAR AS brand, "
    "NULL::VARCHAR AS source_file, NULL::VARCHAR AS product, NULL::VARCHAR AS month) WHERE false"
)


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of one query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def _pair(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, int]:
    row = con.execute(sql).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
