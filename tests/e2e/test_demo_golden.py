"""The demo's status table and exports are byte-identical to those recorded before issue 13.

tests/e2e/golden/demo.json was recorded by ``python -m devtools.demo_golden --write`` from main at
fcca0fe (with issues 12, 14c, 15 and 17), which this branch's architecture changes (stage context, dev
tooling out of src, boto3 serializers/paginators/conditions, stamina, cachetools, shared
completeness) were merged with; earlier recordings of 9bbcfac and 52afcb1 matched the branch
before those merges. Re-recorded when the snapshot's PTAX and FRED Brent ran on past the window
and every real state week was bundled (for the states' outlook): exactly the 56 exports of
CURRENCY#USD, COMMODITY#BRENT and the 54 weekly state series changed, and the status table; the
other 384 exports were byte-identical. The status table then lost its all-zero
FUEL_MONTHLY#CNG#MA row (287 series, the count of `status` and /api/health); no export changed.
Re-recorded in session 22 for two calendar fixes: Brent futures no longer expect 2021-11-25 (its
bar is kept, marked ``calendar: unexpected``: the status row and BZ=F's two exports) and PTAX on
Ash Wednesday is published at 15:40 (the ``published_at`` of 2022-03-02, 2023-02-22 and
2024-02-14 in USD's two exports); the other 438 keys' exports were byte-identical.
Re-recorded in session 23 when both stores began writing numbers in one canonical form
(``domain.numbers``: trailing zeros after the point trimmed): the status table and 716 exports
were byte-identical; the 164 exports of 82 keys that changed differ only in 7,600 numbers
written with fewer trailing zeros (``1.0`` -> ``1``, ``68.80`` -> ``68.8``), each the same
Decimal, checked field by field by a script.
Re-recorded again in session 23 when `status`'s present came to mean what the health view's does
(expected dates stored OK): BZ=F's row reads 245 present of 245 (its 2021-11-25 bar stays in
unexpected), the only change; every export byte-identical.
Re-recorded in session 24 when the demo began asking each series from the start of its calendar
period holding the window start (cli/demo.py plan_phases): the ANP week of Sunday 2021-05-16 (42
Brazil and region series) and the month of 2021-05-01 (179 state monthly series), bundled and
published long before the demo's clock, had never been stored. Exactly the 442 exports of those
221 keys changed (one more record each, checked value by value against the store of the demo
before); the other 219 keys' exports were byte-identical. Their 221 status rows gained that date
(expected and present +1, first 2021-05-16 or 2021-05-01), and the rows now come in the order of
the demo's phases (the monthly series, then the weekly, then the daily ones).
Re-recorded in session 25 when the replay began stamping the closing PTAX bulletin after the
13:00 window's bulletin it averages (13:05-13:10; 15:35-15:40 on Ash Wednesday): only
CURRENCY#USD's two exports changed, and in them only ``bulletin_at`` (on 856 dates, checked
field by field against the store of the demo before); the status table and the other 439
keys' exports were byte-identical.

Re-recorded in session 25 when the ANP adapter began storing the COEF DE VARIAÇÃO REVENDA and
the distribution DESVIO PADRÃO, MÍNIMO, MÁXIMO and COEF DE VARIAÇÃO columns (attributes `cv`,
`dist_std`, `dist_min`, `dist_max`, `dist_cv`): exactly the 552 exports of the 276 ANP keys
with records changed, and in each record only by those five attributes added (checked record
by record against main's demo store; `cv` against the snapshot's workbooks, the `dist_*` are
all '-' there, so null); the status table and the other 164 keys' exports were byte-identical.
Re-recorded in session 37 when the demo began ending with a summary of the table (one row per
family of series): the table checked is `fuelpipe status`'s on the demo's store, whose rows come
in the catalog's order, not the demo's phases'; its 292 lines are the recorded ones, reordered
(sorted, the two tables are identical). No export changed.
In session 38 `status`'s default table came to fit 100 columns (the counts that are not 0 named
in one column); the recorded table is the one `status --wide` prints, byte-identical, not
re-recorded.
Re-recorded in session 40 when the snapshot began bundling ANP's weekly Brazil prices past the
window, to the real workbook's last week (2026-03-08): exactly the 14 exports of the 7
FUEL#*#BR keys changed, each from 51 records to 252 (FUEL#LPG#BR one of them ABSENT, the week
of 2022-09-18, which the real file lacks), their 51 earlier records byte-identical (checked
record by record against the demo store before), and their 7 status rows (252 expected, last
2026-03-08); the other 433 keys' exports were byte-identical.
Re-recorded in session 40 when the snapshot began bundling FRED's Brent spot to 2026-05-01
(kianezimmermann94/Barril-de-Incertezas) and PETR4 from one source to 2025-09-29
(sheep-farm/assets-data): exactly the 4 exports of COMMODITY#BRENT and STOCK#PETR4 changed
(Brent 916 → 1,253 records, its earlier values the same in both files; PETR4 241 → 1,091, the
window's Open/High/Low/Close/Volume equal, `adj_close` now adjusted to 2025-08-22) and their 2
status rows; the other 438 keys' exports were byte-identical.
Re-recorded in session 44 when FRED's Brent came to be published in weekly batches (through a
Monday, out the Friday after at 00:00 Chicago: domain/publication.py): exactly the 2 exports
of COMMODITY#BRENT changed (the golden keeps their digests only, so the change, expected in
each record's ``published_at``, was not compared field by field); the status table and the
other 438 keys' exports were byte-identical.
The fast test
checks the status table and one key of each kind; the slow one, and
``python -m devtools.demo_golden --check``, every export.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from devtools.demo_golden import exports, status_table
from tests.e2e.conftest import fuelpipe

GOLDEN = json.loads((Path(__file__).parent / "golden" / "demo.json").read_text())
ONE_OF_EACH_KIND = [
    "CURRENCY#USD",
    "STOCK#PETR4",
    "STOCK#XOM",
    "COMMODITY#BRENT",
    "COMMODITY#BRENT_FUTURES",
    "FUEL#GASOLINE#BR",
    "FUEL#DIESEL_S10#REGION_SE",
    "FUEL#ETHANOL#SP",
    "FUEL_MONTHLY#GASOLINE#SP",
]


def test_the_status_table_is_byte_identical(demo_store):
    env, _, _ = demo_store
    assert status_table(fuelpipe("status", "--wide", env=env).stdout) == GOLDEN["status_table"]


@pytest.mark.parametrize("key", ONE_OF_EACH_KIND)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_of_each_kind_is_byte_identical(demo_store, key, fmt):
    env, _, _ = demo_store
    assert key in GOLDEN["exports"]
    out = fuelpipe("export", key, "--format", fmt, env=env).stdout
    assert hashlib.sha256(out.encode()).hexdigest() == GOLDEN["exports"][key][fmt]


@pytest.mark.slow
def test_every_export_is_byte_identical(demo_store):
    env, _, _ = demo_store
    assert exports(Path(env["FUELPIPE_DB"])) == GOLDEN["exports"]
