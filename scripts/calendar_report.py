"""Run every calendar against its source's real history in datasets/ and print the result.

    python -m scripts.calendar_report          # the table and mismatch list of docs/CALENDARS.md
    python -m scripts.calendar_report --learn  # every remaining mismatch as Python date sets

The test tests/calendars/test_calendar_history.py runs the same comparison in `make test`.
"""

from __future__ import annotations

import sys

from devtools.calendar_history import HISTORIES, Mismatch, compare


def table(results: list[Mismatch]) -> list[str]:
    """The "After: measured" table of docs/CALENDARS.md, one line per history."""
    lines = [
        "| source | file | calendar | span | published | unexpected | unpublished |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in results:
        h = m.history
        lines.append(
            f"| {h.source} | `datasets/{h.file}` | {h.calendar} | {h.first} … {h.last} | "
            f"{len(h.published):,} | {len(m.unexpected)} | {len(m.unpublished)} |"
        )
    return lines


def main(argv: list[str]) -> int:
    results = [compare(make()) for make in HISTORIES]
    if "--learn" in argv:
        for m in results:
            for kind, days in (("unexpected", m.unexpected), ("unpublished", m.unpublished)):
                if days:
                    print(f"# {m.history.source} ({m.history.file}) {kind}: {len(days)}")
                    print("    " + "\n    ".join(f'"{d.isoformat()}",' for d in days))
        return 0
    print("\n".join(table(results)))
    print()
    for m in results:
        for kind, days in (("unexpected", m.unexpected), ("unpublished", m.unpublished)):
            for d in days:
                print(f"| {m.history.source} | {d.isoformat()} | {kind} |  |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
