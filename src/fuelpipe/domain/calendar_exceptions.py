"""Days learned from each source's real history: data, not rules (docs/CALENDARS.md).

A holiday library cannot know that FRED published a Brent price on one England bank holiday
and not on another, or that Yahoo's BZ=F history has no bar on a day NYMEX traded. These sets
say so, each with the file it was learned from; ``scripts/calendar_report.py --learn``
recomputes them from datasets/ and the calendar test fails when they drift from the files.
"""

from __future__ import annotations

from datetime import date


def _days(*iso: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in iso)


# --- PTAX (learned from datasets/fx/lucagpgirardi__ptax_sgs1.csv) ------------------------------
PTAX_NO_VALUE = _days(
    # General election days before ANBIMA.cal starts (2000): no PTAX bulletin.
    "1994-10-03",
    "1996-10-03",
)

# --- FRED Brent spot (learned from datasets/brent/FRED_DCOILBRENTEU_1987-05-20_2020-12-07.csv
# and datasets/brent/jackthompsondb__DCOILBRENTEU.csv) ---------------------------------------
# Bank holidays (England and Wales; from 2007 to January 2015 US exchange holidays too) on which
# FRED still has a value: Easter Mondays, May and August bank holidays, substitute days, ...
FRED_BRENT_PUBLISHED = _days(
    "1987-05-25",
    "1987-08-31",
    "1987-12-28",
    "1988-05-02",
    "1988-05-30",
    "1988-08-29",
    "1988-12-27",
    "1989-05-29",
    "1989-08-28",
    "1990-05-07",
    "1990-08-27",
    "1990-12-26",
    "1991-04-01",
    "1991-05-06",
    "1991-08-26",
    "1991-12-26",
    "1992-04-20",
    "1992-05-04",
    "1992-08-31",
    "1995-05-08",
    "1997-03-28",
    "1997-03-31",
    "1997-05-05",
    "1997-08-25",
    "2000-08-28",
    "2001-04-13",
    "2001-04-16",
    "2001-05-07",
    "2001-08-27",
    "2002-03-29",
    "2002-04-01",
    "2002-08-26",
    "2003-04-18",
    "2003-04-21",
    "2003-05-05",
    "2003-05-26",
    "2003-08-25",
    "2004-04-09",
    "2004-04-12",
    "2004-05-03",
    "2004-05-31",
    "2004-08-30",
    "2004-12-27",
    "2004-12-28",
    "2005-03-28",
    "2005-05-02",
    "2005-05-30",
    "2005-08-29",
    "2005-12-26",
    "2006-05-01",
    "2006-05-29",
    "2006-08-28",
    "2007-01-02",
    "2007-05-07",
    "2007-08-27",
    "2008-03-24",
    "2008-05-05",
    "2008-08-25",
    "2008-12-26",
    "2009-04-13",
    "2009-05-04",
    "2009-08-31",
    "2009-12-28",
    "2010-04-05",
    "2010-05-03",
    "2010-08-30",
    "2010-12-27",
    "2010-12-28",
    "2011-01-03",
    "2011-05-02",
    "2012-06-04",
    "2012-06-05",
    "2012-08-27",
    "2012-10-29",
    "2012-10-30",
    "2012-12-26",
    "2013-04-01",
    "2013-05-06",
    "2013-08-26",
    "2013-12-26",
    "2014-01-20",
    "2014-04-21",
    "2014-05-05",
    "2014-05-26",
    "2014-08-25",
    "2014-12-26",
    "2015-04-06",
    "2015-05-04",
    "2015-12-28",
    "2016-03-28",
    "2016-05-02",
    "2016-08-29",
    "2017-04-17",
    "2017-05-01",
    "2017-05-29",
    "2017-08-28",
    "2018-08-27",
    "2019-04-22",
    "2019-05-06",
    "2019-08-26",
    "2019-12-26",
    "2020-12-28",
    "2022-01-03",
    "2022-06-03",
)
# Weekdays that are no holiday of the rule, yet FRED's value is empty ("." or ""): US holidays
# outside the 2007-2015 era (1997, 1999, 2016), 24 and 31 December 2018, and isolated days.
FRED_BRENT_NO_VALUE = _days(
    "1987-06-15",
    "1988-01-07",
    "1988-01-26",
    "1993-02-03",
    "1997-01-14",
    "1997-02-07",
    "1997-03-07",
    "1997-07-01",
    "1997-07-04",
    "1997-07-08",
    "1997-08-22",
    "1997-09-01",
    "1997-11-11",
    "1999-02-15",
    "1999-07-05",
    "1999-12-24",
    "2012-04-03",
    "2016-02-15",
    "2018-12-24",
    "2018-12-31",
)

# --- Brent futures BZ=F on Yahoo (learned from datasets/stocks/henriquebrnetto__BZ=F.csv) -----
# No days the NYSE is closed are expected: the futures trade on some of them, but Yahoo's bars
# for them come and go between downloads (the 2022 download has Thanksgiving 2021 and Juneteenth
# 2022, the 2026 one, stocks/strongylis__yahoo.csv, has neither), so expecting one would leave it
# PENDING and then QUARANTINED. A bar Yahoo does return on such a day is still stored, marked
# ``calendar: unexpected`` (docs/CALENDARS.md).
# NYSE sessions with no BZ=F bar in Yahoo's history.
NYMEX_BRENT_NO_VALUE = _days(
    "2018-04-03",
    "2020-09-01",
    "2020-12-31",
    "2021-05-04",
)
