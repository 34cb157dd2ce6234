"""Reading the command line's rich tables as a user sees them: their width and cells by header."""

from __future__ import annotations

TERMINAL = 100
"""The terminal width a default table must fit (the CLI prints 150 wide when piped, so a wider
table would show in a test's captured output)."""

BOX = tuple("┏┃┡│└")
"""The first character of a table's box lines (header, rows, borders)."""


def box_lines(stdout: str) -> list[str]:
    """The lines of the tables in ``stdout``: their boxes, not the prose around them."""
    return [ln for ln in stdout.splitlines() if ln.startswith(BOX)]


def box_tables(stdout: str) -> list[list[str]]:
    """Each table's box lines in ``stdout``, in order: from its top edge to its bottom edge."""
    found: list[list[str]] = []
    for ln in box_lines(stdout):
        if ln.startswith("┏"):
            found.append([])
        found[-1].append(ln)
    return found


def widest(lines: list[str]) -> int:
    """How many columns the widest of ``lines`` takes (trailing blanks not counted)."""
    return max(len(ln.rstrip()) for ln in lines)


def cells(table: list[str], *first: str) -> dict[str, str]:
    """The one row whose first cells are ``first``, by column header (a header of two lines
    joined by a space; of a row wrapped over lines, its first line only)."""
    heads = [[c.strip() for c in ln.split("┃")[1:-1]] for ln in table if ln.startswith("┃")]
    names = [" ".join(p).strip() for p in zip(*heads, strict=True)]
    rows = [[c.strip() for c in ln.split("│")[1:-1]] for ln in table if ln.startswith("│")]
    (row,) = [r for r in rows if tuple(r[: len(first)]) == first]
    return dict(zip(names, row, strict=True))
