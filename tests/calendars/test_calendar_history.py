"""Every calendar against the full real history of its source in datasets/.

Prints, per source, the days with a published value the calendar does not expect and the
expected days without one, and checks that what remains is exactly what docs/CALENDARS.md
lists (with its reason) and that its measured table is the report's. Rerun
`python -m scripts.calendar_report` to regenerate the table.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from devtools.calendar_history import DATASETS, HISTORIES, ROOT, Mismatch, compare
from scripts.calendar_report import table

DOC = ROOT / "docs" / "CALENDARS.md"
_ROW = re.compile(
    r"^\| (?P<source>[^|]+?) \| (?P<day>\d{4}-\d{2}-\d{2}) \| (?P<kind>unexpected|unpublished) \| (?P<reason>[^|]*?) \|$"
)


def documented() -> dict[tuple[str, str], set[date]]:
    """(source, kind) -> days listed in the remaining-mismatch table of docs/CALENDARS.md."""
    out: dict[tuple[str, str], set[date]] = {}
    for line in DOC.read_text().splitlines():
        m = _ROW.match(line.strip())
        if m:
            assert m["reason"].strip(), f"no reason given in docs/CALENDARS.md: {line}"
            out.setdefault((m["source"], m["kind"]), set()).add(date.fromisoformat(m["day"]))
    return out


@pytest.fixture(scope="module")
def results() -> list[Mismatch]:
    return [compare(make()) for make in HISTORIES]


def test_every_calendar_matches_its_sources_history_except_the_documented_days(
    results: list[Mismatch],
) -> None:
    docs = documented()
    found: dict[tuple[str, str], set[date]] = {}
    for m in results:
        h = m.history
        print(
            f"{h.source:<22} {h.calendar:<11} {h.first}..{h.last} published {len(h.published):>5}"
            f"  unexpected {len(m.unexpected):>3} {[d.isoformat() for d in m.unexpected]}"
            f"  unpublished {len(m.unpublished):>3} {[d.isoformat() for d in m.unpublished]}"
        )
        for kind, days in (("unexpected", m.unexpected), ("unpublished", m.unpublished)):
            if days:
                found.setdefault((h.source, kind), set()).update(days)
    assert found == docs


def test_the_measured_table_in_the_docs_is_the_reports(results: list[Mismatch]) -> None:
    lines = DOC.read_text().splitlines()
    start = lines.index(table(results)[0])
    assert lines[start : start + len(results) + 2] == table(results)


def test_every_history_is_long_and_read_from_datasets(results: list[Mismatch]) -> None:
    for m in results:
        assert (DATASETS / m.history.file).is_file()
        # a daily or weekly history holds hundreds of days; the monthly one, 136 months
        least = 100 if m.history.calendar == "MONTHLY" else 200
        assert len(m.history.published) > least, m.history.source
    spans = {m.history.source: (m.history.first, m.history.last) for m in results}
    assert spans["FRED Brent"][1] >= date(2020, 1, 2)
    assert min(m.history.first for m in results if m.history.calendar == "FRED_BRENT") == date(
        1987, 5, 20
    )


def test_the_issue_examples_hold() -> None:
    from fuelpipe.domain.calendars import get_calendar

    fred, b3 = get_calendar("FRED_BRENT"), get_calendar("B3")
    assert fred.is_expected(date(2022, 1, 3))  # substitute New Year holiday, 78.25 published
    assert not fred.is_expected(date(2022, 4, 18))  # Easter Monday 2022, empty
    assert not fred.is_expected(date(2013, 11, 28))  # Thanksgiving in the US-holiday era
    for day in ("2018-07-09", "2018-11-20", "2019-01-25", "2020-11-20", "2021-07-09"):
        assert not b3.is_expected(date.fromisoformat(day)), day
    assert b3.is_expected(date(2022, 1, 25))  # B3 has traded on city holidays since 2022
    assert b3.is_expected(date(2020, 7, 9))
    monthly = get_calendar("MONTHLY")  # no survey 2020-08-18..10-17: no September 2020
    assert not monthly.is_expected(date(2020, 9, 1))
    assert monthly.next_expected(date(2020, 8, 1)) == date(2020, 10, 1)


def test_yahoos_stale_bars_fall_only_on_days_b3_was_closed() -> None:
    """Why the Yahoo adapter drops them: they are not sessions, so not published values."""
    import csv

    from devtools.calendar_history import is_stale_bar

    from fuelpipe.domain.calendars import get_calendar

    b3 = get_calendar("B3")
    stale: list[date] = []
    for name in ("henriquebrnetto__PETR4.SA.csv", "rowrias__PETR3.SA.csv", "rowrias__PRIO3.SA.csv"):
        with (DATASETS / "stocks" / name).open(newline="") as fh:
            stale += [date.fromisoformat(r["Date"]) for r in csv.DictReader(fh) if is_stale_bar(r)]
    closed = [
        date.fromisoformat(d)
        for d in ("2017-11-15", "2017-11-20", "2017-12-25", "2017-12-29", "2018-01-25")
    ]
    # PRIO3's one stale bar repeats Friday's close on a Monday PETR4 traded: still no trade
    # behind it, so it stays out and the day is the documented mismatch in docs/CALENDARS.md.
    assert sorted(stale) == [*closed, date(2022, 9, 26)]
    assert not any(b3.is_expected(d) for d in closed)
