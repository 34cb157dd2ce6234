"""Detect an ANP station file's real format from its bytes, not its name, and hand back CSV.

ANP has served, under ``.csv`` and ``.zip`` names: UTF-8 with a BOM (recent files), Latin-1
(older ones), ZIP archives of either (from 2022), and since 2026 XLSX workbooks under ``.csv``
names whose rows are split across cells at commas.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from fuelpipe.domain.numbers import positional

BOM = b"\xef\xbb\xbf"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP = b"PK\x05\x06"
"""An archive with no member starts with its end of central directory record."""
_CHUNK = 1 << 20
_MAX_MEMBERS = 64
MAX_UNPACKED = 8 << 30
"""Bytes unpacked from one file, all its archives and nesting levels together: ANP's largest
CSV (a semiannual one) is about 150 MB, so this is room for some fifty of them in one archive,
and a bound on the scratch disk one file can fill."""
_MAX_RATIO = 200
"""Unpacked bytes per compressed byte above which a member is a ZIP bomb, not a CSV (ANP's CSVs
deflate 3 to 7:1, the bundled real ones at level 9; one repeated byte deflates 1000:1)."""
_RATIO_FROM = 4 << 20
"""The ratio is checked on members larger than this: a small text file of repeated lines can
compress better than any real CSV, and a few MiB cost nothing to unpack."""


class FileFormat(StrEnum):
    """What a station file really is."""

    CSV_UTF8_BOM = "csv-utf8-bom"
    CSV_UTF8 = "csv-utf8"
    CSV_LATIN1 = "csv-latin1"
    CSV_MIXED = "csv-mixed"
    """Lines in UTF-8 and lines in Latin-1, with a BOM or without: each line read in its own
    encoding (:func:`utf8_lines`)."""
    ZIP = "zip"
    XLSX = "xlsx"


class UnreadableFile(ValueError):
    """The bytes are none of the formats ANP has used."""


_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)
"""What reading one ZIP member raises when that member is broken: a bad CRC or deflate stream,
a truncated member, a password, a compression method Python lacks."""


@dataclass(frozen=True, slots=True)
class CsvInput:
    """One CSV to read: its name (``file.zip!member.csv`` for a ZIP member), its format, the
    path of a file on disk, and the encoding to read it with (DuckDB skips a UTF-8 BOM).
    ``problem``: why a ZIP member cannot be read as a CSV (it is then reported, not read).
    ``lines``: the member's line breaks, counted as it was unpacked (None: not counted).
    ``unreadable``: the member's bytes could not be read (a bad CRC, a password, a truncated
    member): unlike a member that is not station data, what it holds is unknown."""

    name: str
    fmt: FileFormat
    path: Path
    encoding: str
    problem: str | None = None
    lines: LineCount | None = None
    unreadable: bool = False


@dataclass(frozen=True, slots=True)
class LineCount:
    """How many ``\n`` bytes a file holds and whether it ends with one: with the records a
    reader found, whether every record is one line (see ``spans_lines``)."""

    newlines: int = 0
    ends_with_newline: bool = False

    def add(self, chunk: bytes) -> LineCount:
        """The count after ``chunk``, the file's next bytes (an empty chunk changes nothing)."""
        if not chunk:
            return self
        return LineCount(self.newlines + chunk.count(b"\n"), chunk.endswith(b"\n"))

    def spans_lines(self, records: int) -> bool:
        """True when the file's lines are not its header and ``records`` records, one a line:
        a record reads across lines (a quoted line break), or a line is blank."""
        return self.newlines + (0 if self.ends_with_newline else 1) != records + 1


def _is_xlsx(archive: zipfile.ZipFile) -> bool:
    names = set(archive.namelist())
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


_VALID_PER_INVALID = 20
"""A file is UTF-8 when it has at least this many valid multi-byte UTF-8 characters for each
byte that is not UTF-8: a few invalid bytes among many accented characters are a damaged UTF-8
file, whose damaged lines the readers reject with their lines."""


def _text_format(path: Path) -> FileFormat:
    """A BOM-less text file's encoding: UTF-8 when every byte is, or overwhelmingly
    (:data:`_VALID_PER_INVALID`); Latin-1 when no valid multi-byte UTF-8 character is in it
    (an accented Latin-1 letter is one byte, which UTF-8 does not accept alone); else mixed:
    read whole as Latin-1, its UTF-8 lines were garbled without a word (Latin-1 decodes any
    byte), so each line is read in its own (:func:`utf8_lines`). Read in chunks: files can be
    large."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    valid = invalid = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            text = decoder.decode(chunk, final=not chunk)
            bad = text.count("\ufffd")  # (one per invalid byte or cut sequence)
            invalid += bad
            valid += len(text) - len(text.encode("ascii", "ignore")) - bad
            if not chunk:
                break
    if invalid == 0 or valid >= _VALID_PER_INVALID * invalid:
        return FileFormat.CSV_UTF8
    return FileFormat.CSV_MIXED if valid else FileFormat.CSV_LATIN1


def _in_latin1(line: bytes) -> bytes:
    """A line that is not UTF-8, in UTF-8: decoded as Latin-1 when it holds no valid
    multi-byte UTF-8 character (a BOM aside), as is when it does (damaged UTF-8, not Latin-1:
    decoded as Latin-1 its accents would be garbled without a word; as is, the readers reject
    it with its line)."""
    bom = BOM if line.startswith(BOM) else b""
    text = line[len(bom) :].decode("utf-8", errors="replace")
    if any(ch > "\x7f" and ch != "\ufffd" for ch in text):
        return line
    return bom + line[len(bom) :].decode("latin-1").encode("utf-8")


def utf8_lines(source: Path, target: Path) -> None:
    """``source``'s lines written to ``target`` in UTF-8, each decoded as UTF-8 when it is and
    as Latin-1 when it is not (:func:`_in_latin1`): the same lines, so every line keeps its
    number, and a BOM stays."""
    with source.open("rb") as src, target.open("wb") as out:
        for line in src:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                out.write(_in_latin1(line))
            else:
                out.write(line)


def _all_utf8(path: Path) -> bool:
    """True when every byte of the file is UTF-8 (read in chunks: files can be large)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


_NOT_CSV = (
    (b"\x1f\x8b", "gzip-compressed, not CSV text: unpack it first (gunzip)"),
    # the bundled sample's own form (src/fuelpipe/replay/snapshot/shpc/qus/*.csv.xz): it was
    # "binary content, not CSV text"
    (b"\xfd7zXZ\x00", "xz-compressed, not CSV text: unpack it first (xz -dk)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed, not CSV text: unpack it first (unzstd)"),
    *(
        (b"BZh" + bytes([d]), "bzip2-compressed, not CSV text: unpack it first (bunzip2 -k)")
        for d in b"123456789"
    ),
    (b"\xff\xfe", "UTF-16 text, not UTF-8 or Latin-1 as ANP's: save it as UTF-8 CSV"),
    (b"\xfe\xff", "UTF-16 text, not UTF-8 or Latin-1 as ANP's: save it as UTF-8 CSV"),
    # (these three were "binary content, not CSV text": the repository's datasets/ hold the
    # 2025 station sample as Parquet, and ANP's other series are workbooks and PDFs)
    (b"PAR1", "a Parquet file, not CSV text: give ANP's station file as published (CSV or ZIP)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) workbook, not CSV: save it as CSV (UTF-8)"),
    (b"%PDF-", "a PDF document, not CSV text: give ANP's station file (CSV or ZIP)"),
)
"""Formats told by their first bytes that no reader here takes, and what to do instead
(before, each was "binary content, not CSV text")."""


_LOCAL_HEADER = 30
"""Bytes of a ZIP member's local header before its name (the name's length at offset 26)."""


def _cut_short(path: Path) -> str | None:
    """Why a file that starts with a whole ZIP member header yet does not open is most likely
    a download cut short (its end, the central directory, is missing), or None when it is not
    that. Said so, "download it again" is the fix: before, only "is not one" was."""
    with path.open("rb") as fh:
        header = fh.read(_LOCAL_HEADER)
        if len(header) < _LOCAL_HEADER:
            return None
        name = fh.read(int.from_bytes(header[26:28], "little"))
        if len(name) < int.from_bytes(header[26:28], "little") or not name:
            return None
        size = fh.seek(0, 2)
        fh.seek(max(0, size - (1 << 16) - 22))  # the end record and a comment of at most 64 KiB
        if EMPTY_ZIP in fh.read():
            return None
    return ": its end (the central directory) is missing, as when a download is cut short"


def detect(path: Path) -> FileFormat:
    """The format of the file at ``path``, from its content (UnreadableFile: one that is
    known not to be CSV, see _NOT_CSV)."""
    with path.open("rb") as fh:
        head = fh.read(6)
    for magic, what in _NOT_CSV:
        if head.startswith(magic):
            raise UnreadableFile(what)
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP)):
        try:
            with zipfile.ZipFile(path) as archive:
                return FileFormat.XLSX if _is_xlsx(archive) else FileFormat.ZIP
        except zipfile.BadZipFile as exc:
            why = _cut_short(path) or ""
            raise UnreadableFile(f"starts like a ZIP archive but is not one{why}: {exc}") from None
    if head.startswith(BOM):
        # A BOM says UTF-8, but a file put together from pieces can hold Latin-1 lines too:
        # read whole as UTF-8 they were rejected, values the source published.
        return FileFormat.CSV_UTF8_BOM if _all_utf8(path) else FileFormat.CSV_MIXED
    return _text_format(path)


def _cell_text(value: object) -> str:
    """A typed workbook cell as the text ANP's CSV holds: a date (an Excel date cell in "Data
    da Coleta") as dd/mm/yyyy, the only form the collection day is read in; a whole number
    without a float's ``.0`` (a numeric CEP or street number); any other number in full
    decimals with a decimal comma, as ANP writes prices, never in exponent form."""
    if value is None:
        return ""
    if isinstance(value, date):  # a datetime too: the day is what is kept
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return positional(value).replace(".", ",")
    return str(value)


def _sheet_rows(sheet: Any) -> Iterator[list[str]]:
    """A worksheet's rows as CSV cells."""
    # The <dimension> tag is not trusted: a writer that leaves it wrong (A1, say) would cut
    # the rows at it, and the file would be recorded as ingested whole.
    sheet.reset_dimensions()
    for row in sheet.iter_rows(values_only=True):
        yield [v if type(v) is str else _cell_text(v) for v in row]


def _trim(row: list[str]) -> list[str]:
    while row and row[-1] == "":
        row.pop()
    return row


def _write_sheet(rows: Iterator[list[str]], target: Path) -> bool:
    """The sheet's ``rows`` written as ANP CSV text (UTF-8) to ``target``; False when no
    cell of the sheet holds anything (nothing is written then).

    A sheet with one cell per ANP column is written out cell by cell. ANP's 2026 workbooks
    instead hold each CSV line split at its commas (decimal commas included), so the cells of
    such a row are joined back with ``,`` to give the original ``;``-separated line.
    """
    header = _trim(next(rows, []))
    filled = any(cell.strip() for cell in header)
    with target.open("w", encoding="utf-8", newline="") as out:
        if len(header) >= 16 and all(";" not in cell for cell in header):
            writer = csv.writer(out, delimiter=";", lineterminator="\n")
            writer.writerow(header)
            for row in rows:
                if any(cell.strip() for cell in row):
                    writer.writerow(row)
                    filled = True
                else:  # an empty row is no record: a blank line, as in ANP's CSVs
                    out.write("\n")
        else:
            out.write(",".join(header) + "\n")
            for row in rows:
                line = ",".join(_trim(row))
                filled = filled or bool(line.strip(", "))
                out.write(line + "\n")
    if not filled:
        target.unlink()
    return filled


def xlsx_to_csv(path: Path, workdir: Path) -> list[tuple[str, Path]]:
    """Each sheet of the workbook that holds anything, as ``(title, CSV file in workdir)``,
    in the workbook's order (``_write_sheet``). Every sheet is read: before, only the first
    was, so records in a second sheet were dropped without a word and an empty first sheet
    refused the file. A sheet with a row numbered at or below one before it (which openpyxl's
    read-only reader skips without a word) raises RowsOutOfOrder naming the row, before any
    of its rows is read: the file is then refused, not recorded as ingested."""
    from openpyxl import load_workbook

    from fuelpipe.adapters.sources._xlsx_stream import check_sheet_row_order

    sheets: list[tuple[str, Path]] = []
    # A file object, not the path: openpyxl refuses a path that does not end in .xlsx. The
    # row-order check opens the ZIP once for every sheet (before, once per sheet: its
    # directory read again each time); it holds only the directory, not the members.
    with path.open("rb") as fh, path.open("rb") as raw, zipfile.ZipFile(raw) as archive:
        book = load_workbook(fh, read_only=True, data_only=True)
        try:
            for n, sheet in enumerate(book.worksheets):
                check_sheet_row_order(archive, sheet=sheet.title)
                target = workdir / f"{path.name}.sheet{n}.csv"
                if _write_sheet(_sheet_rows(sheet), target):
                    sheets.append((sheet.title, target))
        finally:
            book.close()
    return sheets


_MAX_DEPTH = 3
"""Archives inside archives read this deep (ANP's own ZIPs hold their CSVs at the top)."""


@dataclass(slots=True)
class _Budget:
    """The bytes one file's archives may still unpack (shared by every nesting level), of
    ``limit`` in all."""

    limit: int
    left: int


def csv_inputs(
    path: Path,
    name: str,
    workdir: Path,
    depth: int = 0,
    budget: _Budget | None = None,
    *,
    max_unpacked: int = MAX_UNPACKED,
) -> list[CsvInput]:
    """Every CSV the file at ``path`` holds; ZIP members (archives inside, too) and workbooks
    are unpacked into ``workdir``, at most ``max_unpacked`` bytes in all. Raises UnreadableFile
    when there is none."""
    budget = budget if budget is not None else _Budget(max_unpacked, max_unpacked)
    fmt = detect(path)
    if fmt is FileFormat.XLSX:
        try:
            sheets = xlsx_to_csv(path, workdir)
        except Exception as exc:  # openpyxl raises many kinds on a broken workbook
            raise UnreadableFile(f"an XLSX workbook openpyxl cannot read: {exc}") from None
        if not sheets:
            raise UnreadableFile("a workbook with no row in any sheet")
        # The first sheet with rows keeps the file's name (a one-sheet workbook's records are
        # named as before); a later one is named as a ZIP's member is.
        return [
            CsvInput(name if n == 0 else f"{name}!{title}", FileFormat.XLSX, target, "utf-8")
            for n, (title, target) in enumerate(sheets)
        ]
    if fmt is FileFormat.ZIP:
        parts = _members(path, name, workdir, depth, budget)
        if not parts:
            raise UnreadableFile("a ZIP archive with no file in it")
        return parts
    if fmt is FileFormat.CSV_MIXED:
        target = workdir / f"{path.name}.utf8.csv"
        utf8_lines(path, target)
        return [CsvInput(name, fmt, target, "utf-8")]
    return [CsvInput(name, fmt, path, "latin-1" if fmt is FileFormat.CSV_LATIN1 else "utf-8")]


def _overlapping(members: list[zipfile.ZipInfo]) -> set[int]:
    """The indexes of members whose bytes start inside another member's: a ZIP bomb lists one
    compressed stream many times (zipfile reads each entry again). A member's bytes take at
    least its 30-byte local header and its compressed size, so a real archive never trips this;
    the first member at each place is kept, the others are not read."""
    bad: set[int] = set()
    end = -1
    for n in sorted(range(len(members)), key=lambda i: members[i].header_offset):
        info = members[n]
        if info.header_offset < end:
            bad.add(n)
            continue
        end = info.header_offset + 30 + info.compress_size
    return bad


def _not_unpacked(
    n: int, info: zipfile.ZipInfo, overlapping: set[int], budget: _Budget
) -> str | None:
    """Why the archive's ``n``-th member is not unpacked (None: it is): past _MAX_MEMBERS,
    its bytes inside another member's, or its declared sizes past the limits."""
    if n >= _MAX_MEMBERS:  # reported, not dropped without a word
        return f"not read: the archive has more than {_MAX_MEMBERS} files"
    if n in overlapping:
        return "not read: its bytes overlap another member's (a ZIP bomb)"
    return _too_big(info, budget)


def _too_big(info: zipfile.ZipInfo, budget: _Budget) -> str | None:
    """Why a member is not unpacked, from its declared sizes (None: it may be)."""
    if info.file_size > budget.left:
        return (
            f"not read: {info.file_size} bytes unpacked, past the limit of {budget.limit} "
            "bytes for one file"
        )
    if info.file_size > _RATIO_FROM and info.file_size > _MAX_RATIO * info.compress_size:
        return (
            f"not read: {info.compress_size} bytes that unpack to {info.file_size}, "
            f"more than {_MAX_RATIO} to 1 (a ZIP bomb)"
        )
    return None


def _unpack(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: _Budget
) -> LineCount | str:
    """The member unpacked to ``target``: its line breaks, or why it could not be read (its
    bytes broken, or more of them than ``budget`` has left: its partial copy is removed)."""
    lines = LineCount()
    try:
        with archive.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                budget.left -= len(chunk)
                if budget.left < 0:
                    break
                dst.write(chunk)
                lines = lines.add(chunk)
    except _MEMBER_ERRORS as exc:  # bad CRC, encrypted, unknown compression
        return f"unreadable ZIP member ({type(exc).__name__}: {exc})"
    if budget.left < 0:  # more bytes than it declared: what it holds is unknown
        target.unlink()
        return f"not read: past the limit of {budget.limit} bytes unpacked for one file"
    return lines


def _members(path: Path, name: str, workdir: Path, depth: int, budget: _Budget) -> list[CsvInput]:
    """The CSVs of a ZIP's members. A member that cannot be read, or is not read (past
    _MAX_MEMBERS, an archive past _MAX_DEPTH, a workbook openpyxl cannot open, past the
    MAX_UNPACKED bytes left in ``budget`` or the _MAX_RATIO ratio, its bytes inside another
    member's), is marked ``unreadable``: what it holds is unknown, so the file is reported and
    not recorded, never taken as ingested whole. A member that is readable but not a CSV is
    only reported. The sizes a member declares can lie: unpacking also stops once the bytes
    actually written pass what the budget has left."""
    parts: list[CsvInput] = []

    def unread(inner: str, at: Path, why: str) -> None:
        parts.append(CsvInput(inner, FileFormat.ZIP, at, "utf-8", why, unreadable=True))

    with zipfile.ZipFile(path) as archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        overlapping = _overlapping(members)
        for n, info in enumerate(members):
            inner = f"{name}!{info.filename}"
            if why := _not_unpacked(n, info, overlapping, budget):
                unread(inner, path, why)
                continue
            target = workdir / f"{path.name}.m{n}"  # unique: members of inner archives too
            lines = _unpack(archive, info, target, budget)
            if isinstance(lines, str):
                unread(inner, path, lines)
                continue
            try:
                fmt = detect(target)
            except UnreadableFile as exc:  # this member; the others are still read
                parts.append(CsvInput(inner, FileFormat.ZIP, target, "utf-8", str(exc)))
                continue
            if fmt is FileFormat.ZIP:
                if depth + 1 >= _MAX_DEPTH:
                    unread(inner, target, f"not read: an archive {depth + 2} archives deep")
                    continue
                inside = _members(target, inner, workdir, depth + 1, budget)
                why = "an archive with no file in it"  # nothing in it to lose
                parts.extend(inside or [CsvInput(inner, fmt, target, "utf-8", why)])
            elif fmt is FileFormat.XLSX:
                try:
                    parts.extend(csv_inputs(target, inner, workdir, depth + 1, budget))
                except UnreadableFile as exc:  # a broken workbook
                    unread(inner, target, str(exc))
            elif fmt is FileFormat.CSV_MIXED:
                utf8_lines(target, mixed := target.with_name(f"{target.name}.utf8"))
                parts.append(CsvInput(inner, fmt, mixed, "utf-8", lines=lines))
            else:
                encoding = "latin-1" if fmt is FileFormat.CSV_LATIN1 else "utf-8"
                parts.append(CsvInput(inner, fmt, target, encoding, lines=lines))
    return parts
