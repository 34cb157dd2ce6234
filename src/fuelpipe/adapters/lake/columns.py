"""Read an ANP station CSV into a Polars frame and validate it column-wise.

The rules are the domain's (``fuelpipe.domain.stations``: ``parse_day``, ``parse_price``,
``product_of``, ``unit_of``, ``reject_reason``). They are applied once per *distinct* value of
a column, not once per row: a 4-week file of ~80,000 records has about 30 collection days,
1,000 prices, 7 product and 3 unit labels, so the per-row work is hash lookups Polars does in
native code. The reason text is built, row by row, only for the records that fail.

Two readers give the same records (the 16 ANP columns as text, the record index ``idx`` and
the file ``line``):

- ``batches_fast``: Polars' streaming CSV reader, a batch at a time. It vouches for a file
  only when every record has exactly 16 fields, which it proves from the batches themselves (a
  17th sentinel column stays empty, the last column is never missing); any doubt raises
  ``Malformed``. Its line numbers are ``idx + 2``, true when every record sits on one line:
  the file's newline count (``LineCount``, taken while the file is hashed) proves that.
- ``read_exact``: DuckDB's CSV reader with ``store_rejects``, which rejects a record with the
  wrong number of fields and says which line it was on. Slower; used for the files the fast
  reader declines.

Neither reader can see two stray quotes in the same column of two lines: the text between
them reads as one field and the fields around it add up to 16 again. When records span
lines, ``lines_merged`` looks for such a field, and ``read_lines`` then reads the file a line
at a time.
"""

# ruff: noqa: S608 - SQL is composed from our own constants and a quoted path

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuelpipe.adapters.lake.formats import CsvInput, LineCount
from fuelpipe.domain.catalog import STATES
from fuelpipe.domain.stations import (
    ANP_COLUMNS,
    CNPJ_DIGITS,
    CNPJ_WEIGHTS,
    FUEL_UNITS,
    FUELS,
    LAKE_COLUMNS,
    PRICE_BOUNDS,
    UNBRANDED,
    UNITS,
    brand_of,
    collection_days,
    cut_short,
    is_header,
    lines_of_accepted,
    month_of,
    parse_day,
    parse_price,
    product_of,
    reject_reason,
    trimmed,
    unit_of,
    week_start,
)

if TYPE_CHECKING:
    import duckdb
    import polars as pl

# Text columns stored as they are, without surrounding spaces.
TEXT_COLUMNS = LAKE_COLUMNS[: LAKE_COLUMNS.index("cep") + 1]  # region .. cep
_SENTINEL = "_extra_field"
_NEWLINE_CHUNK = 1 << 22


class LakeUnavailable(RuntimeError):
    """DuckDB or Polars (the ``lake`` extra) is not installed."""


def polars() -> Any:
    """The polars module, or one clear error without the extra."""
    try:
        import polars as pl
    except ImportError:
        from fuelpipe.install_hint import install_hint

        hint = install_hint("lake")
        raise LakeUnavailable(f"the station lake needs Polars and DuckDB: {hint}") from None
    return pl


class Malformed(Exception):
    """The fast reader met a record it cannot vouch for; read the file with ``read_exact``."""


@dataclass
class Parsed:
    """One CSV's records as text (``idx`` in file order, ``line`` in the file) and the lines
    of the records the reader itself rejected, with why. ``file_lines``: the lines are the
    file's own already (read a line at a time), not record numbers to map."""

    frame: pl.DataFrame
    structural: list[tuple[int, str]]
    file_lines: bool = False


@dataclass
class Collected:
    """One CSV, validated: how many records it had, the rejected ones, the valid ones per
    (product, month) partition, in file order, and its distinct collection days."""

    rows: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    parts: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict)
    days: set[date] = field(default_factory=set)
    """Every collection day a record carries that is a day ANP could have surveyed
    (``collection_days``), from the distinct values the validation parses anyway: what tells
    a rolling file from a consolidated one (``domain/station_files.py``)."""


def count_lines(path: Path) -> LineCount:
    """The file's line breaks, one pass over its bytes."""
    lines = LineCount()
    with path.open("rb") as fh:
        while chunk := fh.read(_NEWLINE_CHUNK):
            lines = lines.add(chunk)
    return lines


_ANP: dict[str, Any] = {"delimiter": ";", "quotechar": '"'}
_TAIL_BYTES = 1 << 16
"""The bytes read back from a file's end for its last record (ANP's are a few hundred)."""


def unended_tail(path: Path, encoding: str) -> str | None:
    """A CSV's last bytes as text (its last :data:`_TAIL_BYTES`, enough for its last record)
    when the file does not end with a line end, else None (nor when it is empty). A ``\r``
    ends a line too: a CRLF file cut between the two still ends its last record."""
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - _TAIL_BYTES))
        block = fh.read()
    if not block or block.endswith((b"\n", b"\r")):
        return None
    return block.decode(encoding, errors="replace")


def cut_last_record(
    found: Collected,
    bad: list[tuple[int, str]],
    tail: str,
    last: int,
    lines_of: Callable[[Iterable[int]], dict[int, int]],
) -> int | None:
    """For a CSV that ends without a line end (``tail``: its last bytes, ``unended_tail``;
    ``last``: its last line, from 1), the line of its last record when that record cannot be
    proven whole (``cut_short``), else None. Such a record is taken out of ``found``'s
    partitions and added to ``bad`` (line, reason); one rejected already for too few fields,
    or a quoted field the file ends inside, gets that reason instead. ``lines_of`` maps
    readers' record numbers to their file lines. Vectorised: a maximum per partition, and the
    flags counted once."""
    pl = polars()
    maxima = {key: part.get_column("line").max() for key, part in found.parts.items()}
    tops = {key: int(top) for key, top in maxima.items() if top is not None}  # type: ignore[arg-type]
    key = max(tops, key=tops.__getitem__, default=None)
    start = lines_of([tops[key]])[tops[key]] if key is not None else 0
    at = max((line for line, _ in bad), default=0)
    if max(start, at) == 0:
        return None
    first = max(start, at)  # where the file's last record starts
    lines = tail.split("\n")
    if first > last or not lines[-1].strip():  # (a blank last line holds no record)
        return None
    fields, unclosed = _last_record("\n".join(lines[first - last - 1 :]))
    if at > start:  # the last record was rejected: a cut is why, if it is short of fields
        short = unclosed or len(fields) < len(ANP_COLUMNS)
        reason = cut_short(fields, {}, unclosed=unclosed) if short else None
        if reason is None:
            return None
        bad[:] = [(line, reason if line == at else why) for line, why in bad]
        return at
    brands = pl.concat([p.select("brand") for p in found.parts.values()], rechunk=False)
    flags = dict(brands.get_column("brand").value_counts().iter_rows())
    reason = cut_short(fields, flags)
    if reason is None:
        return None
    assert key is not None  # (start > 0)
    kept = found.parts[key].filter(pl.col("line") != tops[key])
    if kept.height:
        found.parts[key] = kept
    else:
        del found.parts[key]
    bad.append((start, reason))
    return start


def _last_record(text: str) -> tuple[list[str], bool]:
    """The fields of the last record ``text`` holds (read leniently, as the readers do), and
    whether the text ends inside a quoted field (Python's csv module, strict, says so)."""
    try:
        records = list(csv.reader(io.StringIO(text), **_ANP))
    except csv.Error:  # a field past csv's limit: no record of ANP's
        return [], False
    fields = records[-1] if records else []
    try:
        list(csv.reader(io.StringIO(text), strict=True, **_ANP))
    except csv.Error as exc:  # (or a stray quote, '"A"B': "';' expected after '"'")
        return fields, "unexpected end of data" in str(exc)
    return fields, False


def _utf8(path: Path, encoding: str, scratch: Path) -> Path:
    """The file itself when it is UTF-8, else a UTF-8 copy in ``scratch`` (Polars reads only
    UTF-8; older ANP files are Latin-1)."""
    if encoding == "utf-8":
        return path
    target = scratch / f"{path.name}.utf8"
    with (
        path.open(encoding=encoding, newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        while chunk := src.read(_NEWLINE_CHUNK):
            dst.write(chunk)
    return target


def without_trailing_fields(part: CsvInput, extra: int, scratch: Path) -> CsvInput:
    """A CSV whose header ends with ``extra`` empty cells (a trailing ``;``) as a UTF-8 copy
    without them, and without its records' last ``extra`` fields where those are empty: the
    16 columns every reader expects. A record with more fields keeps them (it is rejected as
    malformed, with its line). One pass with Python's csv module, which keeps each record's
    line breaks (quoted ones too), so the copy's lines are the file's; only for such files."""
    target = scratch / f"{part.path.name}.16"
    width = len(LAKE_COLUMNS)
    try:
        with (
            part.path.open(encoding=part.encoding, newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            writer = csv.writer(dst, delimiter=";", quotechar='"', lineterminator="\n")
            for row in csv.reader(src, delimiter=";", quotechar='"'):
                if width < len(row) <= width + extra and not any(row[width:]):
                    del row[width:]
                writer.writerow(row)
    except csv.Error:  # a field past csv's limit (stray quotes): read as it is, rows rejected
        return part
    return replace(part, path=target, encoding="utf-8", lines=None)


def batches_fast(path: Path, encoding: str, scratch: Path, size: int) -> Iterator[pl.DataFrame]:
    """The file's records, ``size`` at a time, via Polars' streaming CSV reader (memory stays
    that of a batch). Raises Malformed, possibly after some batches, when a record has the
    wrong number of fields: the caller then starts over with ``read_exact``. A record across
    lines (a quoted line break) is read whole, but shifts later ``line`` numbers: see
    ``LineCount.spans_lines``."""
    pl = polars()
    names = [*LAKE_COLUMNS, _SENTINEL]
    source = _utf8(path, encoding, scratch)
    scan = pl.scan_csv(
        source,
        separator=";",
        quote_char='"',
        has_header=False,
        skip_rows=1,
        schema=dict.fromkeys(names, pl.String),
        missing_columns="insert",  # the sentinel: only a record with a 17th field fills it
        truncate_ragged_lines=True,
        row_index_name="idx",
    )
    try:
        for batch in scan.collect_batches(chunk_size=size):
            if (
                batch.get_column(_SENTINEL).null_count() != batch.height
                or batch.get_column("brand").null_count()
            ):
                # Too many fields, or the last one missing (too few fields, or an empty flag
                # Polars cannot tell from a missing one): DuckDB's reader says which line.
                raise Malformed  # (a blank line reads as a record of nulls: this too)
            yield batch.drop(_SENTINEL).with_columns(
                line=pl.col("idx").cast(pl.Int64) + 2, idx=pl.col("idx").cast(pl.Int64)
            )
    except pl.exceptions.PolarsError as exc:
        raise Malformed from exc


_MERGED_SEPARATORS = len(LAKE_COLUMNS) - 1
"""Separators a field holds when it runs from a stray quote to one closing it in the same
column of a later line: the rest of the first line's fields and the start of the last's, a
whole record's worth (15)."""


def lines_merged(path: Path, encoding: str) -> bool:
    """True when a record has a field holding a line break and a whole record's separators:
    lines read as one record between two stray quotes in one column. A quoted line break
    in a text (an address over two lines, even with a ``;`` in it) is not one. One pass with
    Python's csv module: asked only of a file whose records span lines. A field the csv module
    will not hold (over its 131,072-character limit, no station text) is such a run too: two
    stray quotes in one column many lines apart."""
    try:
        with path.open(encoding=encoding, newline="") as fh:
            for row in csv.reader(fh, delimiter=";", quotechar='"'):
                if any("\n" in cell and cell.count(";") >= _MERGED_SEPARATORS for cell in row):
                    return True
    except csv.Error:
        return True
    return False


def file_lines(path: Path, encoding: str, numbers: Iterable[int]) -> dict[int, int]:
    """The file line each of the readers' record ``numbers`` starts on, for a file whose
    records are not one a line. Both readers number records ``2, 3, …`` in file order (DuckDB
    counts a blank line as one too); Python's csv module follows quoted line breaks the same
    way and says on which line each record ends."""
    wanted = set(numbers)
    out: dict[int, int] = {}
    with path.open(encoding=encoding, newline="") as fh:
        rows = csv.reader(fh, delimiter=";", quotechar='"')
        next(rows, None)  # the header
        ended = rows.line_num
        for number, _ in enumerate(rows, start=2):
            if number in wanted:
                out[number] = ended + 1
            ended = rows.line_num
    return out


def collect(
    batches: Iterable[pl.DataFrame],
    source: str,
    today: date,
    on_batch: Callable[[int], None] | None = None,
) -> Collected:
    """Validate every batch (as ingested on ``today``, the ingest clock's date) and keep its
    valid records by (product, month), in file order; ``on_batch(records so far)`` after each
    batch."""
    pl = polars()
    out = Collected()
    goods = []
    for batch in batches:
        out.rows += batch.height
        good, bad, days = validate(batch, today)
        out.bad += bad
        out.days |= days
        goods.append(good)
        if on_batch:
            on_batch(out.rows)
    if not goods:
        return out
    everything = pl.concat(goods, rechunk=False)
    goods.clear()
    parts = everything.partition_by(["fuel", "month_key"], as_dict=True, include_key=False)
    del everything
    for (code, key), part in parts.items():
        fuel = FUELS[int(code)]
        month = month_of(date(int(key) // 100, int(key) % 100, 1))
        out.parts[(fuel, month)] = part.with_columns(
            unit=pl.lit(FUEL_UNITS[fuel], dtype=pl.String),  # what the validation checked
            source_file=pl.lit(source, dtype=pl.String),
        )
    return out


def read_exact(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    encoding: str,
    scratch: Path,
    *,
    by_line_if_unreadable: bool = True,
) -> Parsed:
    """The file's records via DuckDB's CSV reader: a record with the wrong number of fields
    is rejected with its line, the others are kept with theirs. A file DuckDB's reader gives
    up on (a short line ending in a bare LF among CRLF lines puts its state machine in an
    invalid state) is read a line at a time instead."""
    import duckdb

    pl = polars()
    quoted = sql_text(str(path))
    columns = "{" + ", ".join(f"{sql_text(c)}: 'VARCHAR'" for c in LAKE_COLUMNS) + "}"
    for table in ("reject_errors", "reject_scans"):  # this file's rejects only
        con.execute(f"DROP TABLE IF EXISTS {table}")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv({quoted}, "
            f"delim = ';', quote = '\"', escape = '\"', header = true, auto_detect = false, "
            f"columns = {columns}, encoding = {sql_text(encoding)}, store_rejects = true)"
        )
    except duckdb.InvalidInputException:
        if not by_line_if_unreadable:
            raise
        return read_lines(con, path, encoding, scratch)
    target = scratch / "exact.parquet"
    con.execute(
        f"COPY (SELECT rowid AS idx, * FROM raw ORDER BY rowid) TO {sql_text(str(target))} "
        "(FORMAT parquet, COMPRESSION uncompressed)"
    )
    con.execute("DROP TABLE raw")
    (swallowed,) = con.execute(
        "SELECT count(*) FROM reject_errors "
        # (trimmed both ends: DuckDB starts the line of an invalid UTF-8 byte with the LF
        # that ended the CRLF line before it)
        "WHERE contains(trim(csv_line, chr(13) || chr(10)), chr(10))"
    ).fetchone() or (0,)
    if swallowed:
        # A malformed record over several lines: a quote opened and not closed on its line
        # took the lines after it (good records among them) into one bad record, or made a
        # record of the lines between two such quotes. Read a line at a time instead.
        return read_lines(con, path, encoding, scratch)
    # DuckDB rejects a short record once per missing column, each saying it found as many
    # fields as that column's index ("Found: 1", "Found: 2", ... for a line of one field): of
    # each kind of error on a line, the first column's says what the line holds.
    structural = [
        (int(line), f"malformed record ({_plain_encoding_error(message, encoding)})")
        for line, message in con.execute(
            "SELECT line, string_agg(message, '; ' ORDER BY first) FROM ("
            "  SELECT line, min(coalesce(column_idx, 0)) AS first, "
            "  arg_min(error_type || ': ' || error_message, coalesce(column_idx, 0)) AS message "
            "  FROM reject_errors GROUP BY line, error_type"
            ") GROUP BY line ORDER BY line"
        ).fetchall()
    ]
    frame = pl.read_parquet(target).with_columns(pl.col("idx").cast(pl.Int64))
    skipped = [ln for ln, _ in structural]
    if count_lines(path).spans_lines(frame.height + len(structural)):
        # DuckDB numbers a blank line as a record (its rejected lines count them) but keeps
        # no row for it: the accepted records after one sit a line further on.
        try:
            skipped += blank_records(path, encoding)
        except csv.Error:  # a field past csv's limit: stray quotes many lines apart
            if not by_line_if_unreadable:
                raise
            return read_lines(con, path, encoding, scratch)
    lines = lines_of_accepted(range(frame.height), skipped)
    frame = frame.with_columns(
        line=pl.Series("line", [lines[i] for i in range(frame.height)], dtype=pl.Int64)
    )
    return Parsed(frame, structural)


def _plain_encoding_error(message: str, encoding: str) -> str:
    """DuckDB's reject message, but for an invalid byte: that line's fault, not the file's
    (DuckDB's says the file "is not utf-8 encoded")."""
    if message.startswith("INVALID ENCODING"):
        return f"INVALID ENCODING: a byte that is not {encoding}"
    return message


def blank_records(path: Path, encoding: str) -> list[int]:
    """The record numbers (as the readers count: the header is 1) of the blank lines."""
    with path.open(encoding=encoding, newline="") as fh:
        rows = csv.reader(fh, delimiter=";", quotechar='"')
        return [number for number, row in enumerate(rows, start=1) if not row]


def _line_fields(text: str) -> list[str] | str:
    """The fields of one line read as one record, or why it is not one."""
    try:
        (fields,) = csv.reader([text], delimiter=";", quotechar='"', strict=True)
    except csv.Error as exc:
        return f"UNQUOTED VALUE: {exc}"
    if len(fields) != len(LAKE_COLUMNS):
        kind = "TOO MANY COLUMNS" if len(fields) > len(LAKE_COLUMNS) else "MISSING COLUMNS"
        return f"{kind}: expected {len(LAKE_COLUMNS)} fields, found {len(fields)}"
    return fields


def read_lines(con: duckdb.DuckDBPyConnection, path: Path, encoding: str, scratch: Path) -> Parsed:
    """The file read a line at a time, each line one record (no quote runs past its line):
    a line that is no record of 16 fields is rejected with its line, and the others are kept
    with theirs. For files whose quoting is broken; a record across lines is rejected too."""
    pl = polars()
    clean = scratch / "lines.csv"
    kept: list[int] = []
    structural: list[tuple[int, str]] = []
    with (
        # (a byte that is not UTF-8 is kept as a lone surrogate: its line is rejected)
        path.open(encoding=encoding, errors="surrogateescape", newline="\n") as src,
        clean.open("w", encoding="utf-8", newline="") as dst,
    ):
        writer = csv.writer(dst, delimiter=";", quotechar='"', lineterminator="\n")
        writer.writerow(LAKE_COLUMNS)
        for number, raw in enumerate(src, start=1):
            text = raw.rstrip("\r\n")
            if number == 1 or not text:
                continue  # the header; a blank line is no record
            fields = _line_fields(text)
            if not isinstance(fields, str) and not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    fields = f"INVALID ENCODING: a byte that is not {encoding}"
            if isinstance(fields, str):
                structural.append((number, f"malformed record ({fields})"))
                continue
            writer.writerow(fields)
            kept.append(number)
    parsed = read_exact(con, clean, "utf-8", scratch, by_line_if_unreadable=False)
    if parsed.structural or parsed.frame.height != len(kept):  # cannot be: we wrote it
        raise RuntimeError(f"{path}: records rewritten a line at a time do not read back")
    lines = pl.Series("line", kept, dtype=pl.Int64).gather(parsed.frame.get_column("idx"))
    frame = parsed.frame.with_columns(lines)
    return Parsed(frame, structural, file_lines=True)


def sql_text(text: str) -> str:
    """``text`` as a DuckDB string literal, the lake's one quoting of text into its SQL. Not a
    prepared parameter: a view's body cannot hold one (DuckDB: "Unexpected prepared parameter.
    This type of statement can't be prepared"), read_csv's ``columns`` struct is SQL text, and
    the ingest's statements stay as bench/bench_stations.py measures them."""
    return "'" + text.replace("'", "''") + "'"


_DISTINCT = ("collected", "price", "purchase_price", "product_label", "unit_label", "brand")
_FUEL_CODE = {fuel: code for code, fuel in enumerate(FUELS)}
_UNIT_NAMES = tuple(sorted(set(FUEL_UNITS.values()) | set(UNITS.values())))
_UNIT_CODE = {unit: code for code, unit in enumerate(_UNIT_NAMES)}


def _mapped(values: list[Any], column: str, parse: Callable[[Any], Any], dtype: Any) -> Any:
    """``column`` mapped through ``parse``, which ran once per distinct value (no pass over
    the rows at all when every value maps to nothing, or to itself)."""
    pl = polars()
    mapping = {v: parse(v) for v in values if v is not None}
    if all(v is None for v in mapping.values()):
        return pl.lit(None, dtype=dtype)
    if dtype == pl.String and all(k == v for k, v in mapping.items()):
        return pl.col(column)
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=dtype)


def _week_of(text: str) -> date | None:
    """The survey week (its Sunday) of a collection-day field, by the domain's rule."""
    day = parse_day(text)
    return None if day is None else week_start(day)


def plausible_cnpjs(values: pl.Series) -> pl.Series:
    """Which of ``values`` are plausible CNPJs: 14 ASCII digits, ``cnpj_plausible`` (not all
    zeros, both check digits right), vectorised over a column's few distinct values, in native
    code: a Python call per value (four batches of ~4,700 CNPJs per 1 M rows) held the main
    thread, and the GIL, for ~0.1 s per 1 M rows (up to 0.35 s on a busy host)."""
    pl = polars()
    text = pl.col("v")
    number = pl.when(text.str.contains(f"^[0-9]{{{CNPJ_DIGITS}}}$")).then(
        text.str.to_integer(strict=False)
    )
    frame = values.cast(pl.String).to_frame("v").select(number.alias("n"))
    digits = frame.select(
        *(
            (pl.col("n") // 10 ** (CNPJ_DIGITS - 1 - i) % 10).alias(f"d{i}")
            for i in range(CNPJ_DIGITS)
        )
    )

    def check_digit(count: int) -> Any:  # ``cnpj_check_digit`` of the first ``count`` digits
        weights = CNPJ_WEIGHTS[len(CNPJ_WEIGHTS) - count :]
        rest = pl.sum_horizontal(pl.col(f"d{i}") * w for i, w in enumerate(weights)) % 11
        return pl.when(rest < 2).then(0).otherwise(11 - rest)

    ok = (
        (frame.get_column("n") != 0)
        .to_frame("nonzero")
        .hstack(digits)
        .select(
            pl.col("nonzero")
            & (check_digit(CNPJ_DIGITS - 2) == pl.col(f"d{CNPJ_DIGITS - 2}"))
            & (check_digit(CNPJ_DIGITS - 1) == pl.col(f"d{CNPJ_DIGITS - 1}"))
        )
        .to_series()
    )
    return ok.fill_null(False).rename(values.name)


def cnpj_digits(column: str = "cnpj", *, checked: bool = True) -> Any:
    """``column``'s CNPJs as the lake keeps them (``cnpj_key`` in the domain, vectorised): the
    digits without ANP's punctuation and spaces, zero-padded to 14; null when what is left is
    not 1 to 14 digits or, when ``checked``, not a plausible CNPJ (``cnpj_plausible``: all
    zeros, or wrong check digits). One Polars expression, no Python per value: the text work
    runs on the column's distinct values (a station has many rows) and each row is looked up
    in them."""
    pl = polars()
    text = pl.col(column).cast(pl.String)
    distinct = text.unique(maintain_order=True)
    key = distinct.str.replace_all("[./ -]", "")
    padded = key.str.zfill(CNPJ_DIGITS)
    ok = key.str.contains(f"^[0-9]{{1,{CNPJ_DIGITS}}}$")
    if checked:
        # On the distinct values only, materialised (``plausible_cnpjs``): written as Polars
        # sub-expressions of this expression, the check recomputed the column's unique values
        # for each (eager with_columns eliminates no common subexpression), 1.1 s per 1 M rows.
        ok = ok & padded.map_batches(plausible_cnpjs, return_dtype=pl.Boolean)
    return text.replace_strict(distinct, pl.when(ok).then(padded), default=None,
                               return_dtype=pl.String)  # fmt: skip


def _by_fuel(values: dict[str, Any], dtype: Any) -> Any:
    """A per-fuel constant, looked up from each row's fuel code (a small integer)."""
    pl = polars()
    table = {_FUEL_CODE[fuel]: value for fuel, value in values.items()}
    return pl.col("fuel").replace_strict(table, default=None, return_dtype=dtype)


def validate(
    frame: pl.DataFrame, today: date
) -> tuple[pl.DataFrame, list[tuple[int, str]], set[date]]:
    """The records ingested on ``today`` that can be stored (the lake's text columns, ``idx``,
    ``line``, the reader's record number (``file_lines`` maps it), ``collected``, ``week``,
    ``price``, ``purchase_price``, ``brand``, and the partition's ``fuel`` code and
    ``month_key`` ``yyyymm``), ``(line, reason)`` for each that cannot, and
    the distinct collection days in ``collection_days(today)`` (parsed once per distinct
    value, as the column is: no pass over the rows)."""
    pl = polars()
    col = pl.col
    # One parallel pass: the distinct values of the few-valued columns, and whether any text
    # field is padded with spaces (most are not, and are then left as they are).
    found = frame.select(
        *(col(c).unique().implode().alias(c) for c in _DISTINCT),
        *(
            (col(c).str.starts_with(" ") | col(c).str.ends_with(" ")).any().alias(f"pad:{c}")
            for c in TEXT_COLUMNS
            if c != "cnpj"  # (reduced to its digits below)
        ),
    ).row(0, named=True)
    purchases = found["purchase_price"]
    units = FUEL_UNITS.items()
    first, last = collection_days(today)
    parsed = {v: parse_day(v) for v in found["collected"] if v is not None}
    days = {d for d in parsed.values() if d is not None and first <= d <= last}
    typed = frame.with_columns(
        *(
            # Categorical: each row holds a 4-byte code, not a 16-byte string view, so the
            # batches held until their partitions are written take about half the memory, and
            # the Parquet writer gets its dictionary for free. It stays text in the files.
            (col(c).str.strip_chars(" ") if found[f"pad:{c}"] else col(c)).cast(pl.Categorical)
            for c in TEXT_COLUMNS
            if c != "cnpj"
        ),
        # One CNPJ, one key: written with or without its punctuation, it dedupes and counts
        # as one station (null, a bad row, when it is not a CNPJ's digits).
        cnpj=cnpj_digits().cast(pl.Categorical),
        collected=_mapped(found["collected"], "collected", parsed.get, pl.Date),
        week=_mapped(found["collected"], "collected", _week_of, pl.Date),
        price=_mapped(found["price"], "price", parse_price, pl.Float64),
        purchase=_mapped(purchases, "purchase_price", parse_price, pl.Float64),
        purchase_bad=_mapped(
            purchases,
            "purchase_price",
            lambda v: (bool(trimmed(v)) and parse_price(v) is None) or None,
            pl.Boolean,
        ).fill_null(False),
        fuel=_mapped(
            found["product_label"], "product_label",
            lambda v: _FUEL_CODE.get(product_of(v) or ""), pl.UInt8,
        ),
        unit=_mapped(
            found["unit_label"], "unit_label", lambda v: _UNIT_CODE.get(unit_of(v) or ""),
            pl.UInt8,
        ),
        # upper case, as the queries' unbranded baseline is: a row maps to its distinct value's
        brand=_mapped(found["brand"], "brand", brand_of, pl.String).fill_null(UNBRANDED),
    )  # fmt: skip
    ok = (
        col("cnpj").is_not_null()
        & col("collected").is_between(*collection_days(today))
        & col("price").is_not_null()
        & ~col("purchase_bad")
        & col("fuel").is_not_null()
        & col("unit").is_not_null()
        & (col("unit") == _by_fuel({f: _UNIT_CODE[u] for f, u in units}, pl.UInt8))
        & (col("price") >= _by_fuel({f: PRICE_BOUNDS[u][0] for f, u in units}, pl.Float64))
        & (col("price") <= _by_fuel({f: PRICE_BOUNDS[u][1] for f, u in units}, pl.Float64))
        # (on the categorical codes, trimmed above: 5 ms per million rows; cast to text, 190)
        & col("state").is_in(list(STATES))
        & (col("municipality") != "")
    ).fill_null(False)
    verdict = typed.select(ok).to_series()
    failing = frame.filter(~verdict)
    fields = ("cnpj", "collected", "price", "purchase_price", "product_label", "unit_label")
    bad = [
        (
            int(r["line"]),
            # (the header again reads as a record whose every field fails: say what it is)
            "the header line again, not a record"
            if is_header([r[c] for c in LAKE_COLUMNS])
            else reject_reason(
                *(r[f] for f in fields),
                state=r["state"],
                municipality=r["municipality"],
                today=today,
            )
            or "failed validation",
        )
        for r in failing.iter_rows(named=True)
    ]
    good = typed.filter(verdict) if failing.height else typed
    good = good.select(
        "idx",
        "line",
        *TEXT_COLUMNS,
        "collected",
        "week",
        price="price",
        purchase_price="purchase",
        brand="brand",
        fuel="fuel",
        month_key=col("collected").dt.year() * 100 + col("collected").dt.month(),
    )
    return good, bad, days
