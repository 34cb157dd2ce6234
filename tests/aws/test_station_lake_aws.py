"""The station lake's AWS home on moto_server: partition files and the manifest in S3 (same
layout the Glue table reads), idempotent re-ingest, DuckDB over the S3 copy, and Athena given the
same SQL text in the template's workgroup; the template's Glue table matches the files."""

from __future__ import annotations

import gc
import lzma
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from devtools.aws.servers import LocalServer

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.domain.stations import FUELS, query_params
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR

duckdb = pytest.importorskip("duckdb")

from fuelpipe.adapters.lake.athena import (  # noqa: E402
    AthenaQueries,
    AthenaStations,
    athena_literal,
    reuse_minutes,
)
from fuelpipe.adapters.lake.engine import FILE_COLUMNS, StationLake  # noqa: E402
from fuelpipe.adapters.lake.queries import QUERIES, window_params  # noqa: E402
from fuelpipe.adapters.lake.storage import (  # noqa: E402
    LAKE_PREFIX,
    WRITE_LOCK,
    LocalLakeStorage,
    S3LakeStorage,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def s3(moto_server: LocalServer) -> Any:
    return moto_server.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"fuelpipe-lake-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def glp(tmp_path: Path) -> Path:
    """The real LPG "últimas 4 semanas" file."""
    path = tmp_path / "ultimas-4-semanas-glp.csv"
    path.write_bytes(
        lzma.decompress((SNAPSHOT_DIR / "shpc/qus/ultimas-4-semanas-glp.csv.xz").read_bytes())
    )
    return path


def new_workgroup(athena: Any, bucket: str) -> str:
    """A workgroup of its own in moto's Athena, its results under the lake bucket."""
    workgroup = f"fuelpipe-stations-{uuid.uuid4().hex[:6]}"
    athena.create_work_group(
        Name=workgroup,
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena-results/"}},
    )
    return workgroup


def _rounded(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with floats to 9 places: sums in parallel may differ in the last bits."""
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]


def test_ingest_writes_hive_partitions_to_s3_and_reingest_changes_nothing(
    s3: Any, bucket: str, glp: Path, tmp_path: Path
) -> None:
    lake = StationLake(S3LakeStorage(s3, bucket, "stations"), FixedClock(NOW))
    (report,) = lake.ingest_path(glp)
    assert (report.rows, report.written, report.rejected) == (13_310, 13_310, 0)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="stations/")["Contents"]
    keys = {o["Key"]: o["ETag"] for o in listed}
    assert {k for k in keys if k.endswith(".parquet")} == {
        "stations/product=LPG/month=2025-03/part-0.parquet",
        "stations/product=LPG/month=2025-04/part-0.parquet",
    }
    assert "stations/_manifest.json" in keys

    (again,) = lake.ingest_path(glp, "same-file-again.csv", force=True)
    assert (again.written, again.already_in_lake) == (0, 13_310)
    after = {
        o["Key"]: o["ETag"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="stations/")["Contents"]
    }
    assert {k: v for k, v in after.items() if k.endswith(".parquet")} == {
        k: v for k, v in keys.items() if k.endswith(".parquet")
    }

    # DuckDB over the S3 copy gives what a local lake of the same file gives
    local = StationLake(LocalLakeStorage(tmp_path / "local"), FixedClock(NOW))
    local.ingest_path(glp)
    params = query_params("LPG", date(2025, 3, 24), date(2025, 4, 19), "SP", "SAO PAULO", "")
    for name in ("state_weekly", "brand_premium", "municipality_weekly"):
        assert _rounded(lake.query(name, params).rows) == _rounded(local.query(name, params).rows)


def test_partition_files_match_the_glue_table() -> None:
    parsed, problems = decode(str(ROOT / "infra" / "template.yaml"))
    assert not problems and parsed is not None
    table = parsed["Resources"]["StationsTable"]["Properties"]["TableInput"]
    assert table["Name"] == "stations"
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == list(FILE_COLUMNS)
    assert [k["Name"] for k in table["PartitionKeys"]] == ["product", "month"]
    assert table["Parameters"]["projection.product.values"].split(",") == list(FUELS)
    workgroup = parsed["Resources"]["StationsWorkGroup"]["Properties"]
    assert workgroup["WorkGroupConfiguration"]["EnforceWorkGroupConfiguration"] is True
    # query result reuse (AthenaStations) needs engine version 3
    assert workgroup["WorkGroupConfiguration"]["EngineVersion"] == {
        "SelectedEngineVersion": "Athena engine version 3"
    }
    assert workgroup["RecursiveDeleteOption"] is True  # else a used workgroup blocks delete-stack
    for name in ("StationLakeWritePolicy", "StationLakeQueryPolicy"):
        for statement in parsed["Resources"][name]["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert all("*" not in a for a in actions), (name, actions)
            assert statement["Resource"] != "*"
    # The writer deletes only the ingest lock (S3LakeStorage's, below its prefix), never data.
    (delete,) = [
        s
        for s in parsed["Resources"]["StationLakeWritePolicy"]["Properties"]["PolicyDocument"][
            "Statement"
        ]
        if "s3:DeleteObject" in s["Action"]
    ]
    assert delete["Action"] == "s3:DeleteObject"
    assert delete["Resource"] == {
        "Fn::Sub": f"${{StationLakeBucket.Arn}}/{LAKE_PREFIX}/{WRITE_LOCK}"
    }


# Glue (Hive) column types -> the Parquet physical and logical types Athena reads them from.
GLUE_PARQUET = {
    "string": ("BYTE_ARRAY", "StringType()"),
    "date": ("INT32", "DateType()"),
    "double": ("DOUBLE", None),
}


def test_partition_files_have_the_glue_tables_types_and_months(
    s3: Any, bucket: str, glp: Path, tmp_path: Path
) -> None:
    """Athena reads each Parquet column as the Glue table's type says and fails a query over a
    file whose type differs (HIVE_BAD_DATA): the files an ingest writes have those types; and
    the table's month projection starts at the first collection day an ingest accepts, so no
    month the lake can hold is outside what Athena projects."""
    from fuelpipe.domain.stations import FIRST_COLLECTION_DAY

    parsed, problems = decode(str(ROOT / "infra" / "template.yaml"))
    assert not problems and parsed is not None
    table = parsed["Resources"]["StationsTable"]["Properties"]["TableInput"]
    glue = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    StationLake(S3LakeStorage(s3, bucket), FixedClock(NOW)).ingest_path(glp)
    local = tmp_path / "part.parquet"
    s3.download_file(bucket, "stations/product=LPG/month=2025-04/part-0.parquet", str(local))
    schema = duckdb.sql(f"SELECT name, type, logical_type FROM parquet_schema('{local}')")
    # (the root element has no type)
    written = {name: (kind, logic) for name, kind, logic in schema.fetchall() if kind is not None}
    assert written == {name: GLUE_PARQUET[kind] for name, kind in glue.items()}
    first, _ = table["Parameters"]["projection.month.range"].split(",")
    assert first == FIRST_COLLECTION_DAY.strftime("%Y-%m")


def _projected_last_month(range_end: str, now: datetime) -> str:
    """The last month Athena projects from a date range's end (``NOW``, or ``NOW`` plus or
    minus whole days: Athena evaluates it in UTC at the query's time)."""
    import re

    found = re.fullmatch(r"NOW(?:([+-])(\d+)DAYS?)?", range_end)
    assert found, f"a range end this test cannot evaluate: {range_end!r}"
    sign, count = found.groups()
    at = now.astimezone(UTC) + timedelta(days=int(count or 0)) * (-1 if sign == "-" else 1)
    return f"{at.year:04d}-{at.month:02d}"


def test_every_month_an_ingest_writes_is_inside_the_projected_range(
    s3: Any, bucket: str, glp: Path
) -> None:
    """Athena evaluates the month projection's ``NOW`` in UTC when the query runs, and a month
    outside the range is never read. An ingest accepts a collection day up to the day after its
    clock's (UTC) date, so on a month's last day (UTC) it writes the next month's partition
    (synthetic: real LPG records, one collected the next day). With ``2004-01,NOW`` that
    partition was invisible to Athena until the month turned, and the lake's window (listed
    from S3) asked for a month Athena did not read."""
    parsed, problems = decode(str(ROOT / "infra" / "template.yaml"))
    assert not problems and parsed is not None
    params = parsed["Resources"]["StationsTable"]["Properties"]["TableInput"]["Parameters"]
    _, end = params["projection.month.range"].split(",")
    clock = datetime(2025, 3, 31, 23, 30, tzinfo=UTC)
    header, *records = glp.read_bytes().split(b"\r\n")
    lines = [header, *(r for r in records if b";24/03/2025;" in r)][:50]
    lines[2] = lines[2].replace(b";24/03/2025;", b";01/04/2025;")  # the day after the clock's
    glp.write_bytes(b"\r\n".join(lines) + b"\r\n")
    (report,) = StationLake(S3LakeStorage(s3, bucket), FixedClock(clock)).ingest_path(glp)
    assert report.written > 0 and report.rejected == 0
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="stations/product=LPG/")["Contents"]
    months = {k["Key"].split("month=")[1].split("/")[0] for k in listed if "month=" in k["Key"]}
    assert "2025-04" in months
    assert max(months) <= _projected_last_month(end, clock), (end, sorted(months))


def test_a_reused_result_is_never_one_the_bucket_expired() -> None:
    """Athena answers a reused query with the earlier result's object under athena-results/,
    which the bucket expires: never before the oldest result a query may reuse."""
    from fuelpipe.adapters.lake.athena import MAX_REUSE_MINUTES
    from fuelpipe.homes.settings import Settings

    parsed, problems = decode(str(ROOT / "infra" / "template.yaml"))
    assert not problems and parsed is not None
    bucket = parsed["Resources"]["StationLakeBucket"]["Properties"]
    (rule,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r["Id"] == "athena-results"]
    assert rule["Prefix"] == "athena-results/"
    limit = Settings.model_fields["athena_reuse_minutes"].metadata
    assert max(m.le for m in limit if hasattr(m, "le")) <= MAX_REUSE_MINUTES
    assert rule["ExpirationInDays"] * 24 * 60 >= MAX_REUSE_MINUTES


def test_the_lake_folder_is_the_one_the_template_names() -> None:
    # The Glue table's location and the policies' resources name the folder S3LakeStorage
    # writes; the text is read raw, as !Sub strings stay unresolved.
    text = (ROOT / "infra" / "template.yaml").read_text()
    assert S3LakeStorage(None, "b").describe() == f"s3://b/{LAKE_PREFIX}"
    assert f'"s3://${{StationLakeBucket}}/{LAKE_PREFIX}/"' in text
    assert f"/{LAKE_PREFIX}/product=${{!product}}/month=${{!month}}" in text
    assert text.count(f'"${{StationLakeBucket.Arn}}/{LAKE_PREFIX}/*"') == 2


def test_athena_gets_the_same_sql_text_in_the_workgroup(
    moto_server: LocalServer, bucket: str
) -> None:
    athena = moto_server.client("athena")
    workgroup = new_workgroup(athena, bucket)
    runner = AthenaQueries(athena, workgroup, "fuelpipe", poll_s=0.01)
    params = query_params("GASOLINE", date(2025, 3, 24), date(2025, 4, 19), "SP", "SAO PAULO", "x")
    params |= window_params([("GASOLINE", "2025-03"), ("GASOLINE", "2025-04"), ("LPG", "2025-04")])
    for name, q in QUERIES.items():
        execution_id = runner.start(name, params)
        execution = runner.wait(execution_id)
        assert execution["Query"] == q.sql  # byte for byte the text DuckDB runs
        assert execution["WorkGroup"] == workgroup
        runner.query(name, params)  # results page through without error


def test_athena_literals() -> None:
    assert athena_literal(date(2025, 3, 23)) == "DATE '2025-03-23'"
    assert athena_literal("SANTA BARBARA D'OESTE") == "'SANTA BARBARA D''OESTE'"
    assert athena_literal(7) == "7"


def test_reuse_is_younger_than_the_last_write_and_at_most_the_limit() -> None:
    written = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
    assert reuse_minutes(60, written, written + timedelta(hours=3)) == 60
    assert reuse_minutes(60, written, written + timedelta(minutes=30, seconds=59)) == 25
    # within 5 minutes of a write nothing is reused (a query started just before it may end
    # after it); nor with reuse off, nor over an empty lake
    assert reuse_minutes(60, written, written + timedelta(minutes=5, seconds=59)) == 0
    assert reuse_minutes(60, written, written) == 0
    assert reuse_minutes(0, written, written + timedelta(days=1)) == 0
    assert reuse_minutes(60, None, written) == 0
    assert reuse_minutes(99_999, written, written + timedelta(days=30)) == 10_080  # Athena's cap


def reuse_sent(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ResultReuseByAgeConfiguration of each StartQueryExecution call sent."""
    return [p["ResultReuseConfiguration"]["ResultReuseByAgeConfiguration"] for p in params]


def test_no_result_from_before_an_ingest_is_reused_after_it(
    moto_server: LocalServer, s3: Any, bucket: str, glp: Path, tmp_path: Path
) -> None:
    # moto accepts ResultReuseConfiguration but never reuses: what the adapter asks of Athena
    # is captured on the client's own event hook, and checked against moto's execution times.
    athena = moto_server.client("athena")
    workgroup = new_workgroup(athena, bucket)
    sent: list[dict[str, Any]] = []
    athena.meta.events.register(
        "provide-client-params.athena.StartQueryExecution",
        lambda params, **_: sent.append(dict(params)),
    )
    storage = S3LakeStorage(s3, bucket)
    lake = StationLake(storage, FixedClock(NOW))
    first_weeks = tmp_path / "first-lines.csv"
    first_weeks.write_bytes(b"".join(glp.read_bytes().splitlines(keepends=True)[:3_000]))
    lake.ingest_path(first_weeks)
    first_write = storage.listing().last_write
    assert first_write is not None
    clock = ManualClock(first_write + timedelta(hours=3))
    runner = AthenaQueries(athena, workgroup, "fuelpipe", poll_s=0.01)
    stations = AthenaStations(runner, storage, clock=clock, reuse_limit=60)

    stations.query("coverage", {})
    assert reuse_sent(sent) == [{"Enabled": True, "MaxAgeInMinutes": 60}]
    (before,) = athena.list_query_executions(WorkGroup=workgroup)["QueryExecutionIds"]
    computed = athena.get_query_execution(QueryExecutionId=before)["QueryExecution"]["Status"][
        "CompletionDateTime"
    ]

    (report,) = lake.ingest_path(glp)  # the whole file: rows the lake did not have
    assert report.written > 0
    ingested = storage.listing().last_write
    assert ingested is not None and ingested >= first_write
    clock.set(ingested + timedelta(minutes=1))
    stations.query("coverage", {})
    assert reuse_sent(sent)[-1] == {"Enabled": False}  # just after the ingest: scan afresh
    clock.set(ingested + timedelta(minutes=30))
    stations.query("coverage", {})
    assert reuse_sent(sent)[-1] == {"Enabled": True, "MaxAgeInMinutes": 25}
    # the result computed before the ingest is older than that: Athena cannot answer with it
    assert clock.now() - computed > timedelta(minutes=25)
    # the window query is bounded by the same last write
    stations.window()
    assert reuse_sent(sent)[-1] == {"Enabled": True, "MaxAgeInMinutes": 25}
    assert [p["QueryString"] for p in sent[-1:]] == [QUERIES["window"].sql]


def test_cli_query_runs_on_athena_in_the_aws_home(moto_server: LocalServer, bucket: str) -> None:
    from typer.testing import CliRunner

    from fuelpipe.cli.main import cli

    athena = moto_server.client("athena")
    workgroup = new_workgroup(athena, bucket)
    env = {
        "FUELPIPE_BACKEND": "aws",
        "FUELPIPE_LAKE_BUCKET": bucket,
        "FUELPIPE_ATHENA_WORKGROUP": workgroup,
        "AWS_ENDPOINT_URL": moto_server.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    args = ["stations", "query", "brand_premium", "--athena", "--since", "2025-03-24"]
    result = CliRunner().invoke(cli, [*args, "--until", "2025-04-19", "-f", "json"], env=env)
    assert result.exit_code == 0, result.output
    ids = athena.list_query_executions(WorkGroup=workgroup)["QueryExecutionIds"]
    assert len(ids) == 1
    execution = athena.get_query_execution(QueryExecutionId=ids[0])["QueryExecution"]
    assert execution["Query"] == QUERIES["brand_premium"].sql
    needs = CliRunner().invoke(cli, ["stations", "query", "brand_premium", "--athena"], env=env)
    assert needs.exit_code == 2
    assert "--athena needs --since and --until" in needs.output


def test_cli_query_on_athena_warns_of_an_old_layout_lake(
    moto_server: LocalServer, s3: Any, bucket: str
) -> None:
    """Athena reads the lake's partitions as they are: a lake whose manifest records files and
    no layout (written before layout 2) is named on stderr, with the command that migrates it,
    as the local query names it; the result stays on stdout. Today's layout: no warning."""
    import json

    from typer.testing import CliRunner

    from fuelpipe.adapters.lake.storage import LAKE_LAYOUT
    from fuelpipe.cli.main import cli

    athena = moto_server.client("athena")
    env = {
        "FUELPIPE_BACKEND": "aws",
        "FUELPIPE_LAKE_BUCKET": bucket,
        "FUELPIPE_ATHENA_WORKGROUP": new_workgroup(athena, bucket),
        "AWS_ENDPOINT_URL": moto_server.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    manifest = {"files": {"ultimas-4-semanas-glp.csv": {"ingested_at": "2025-04-22"}}, "http": {}}
    args = ["stations", "query", "coverage", "--athena", "-f", "json"]

    def put(manifest: dict[str, Any]) -> None:
        body = json.dumps(manifest).encode()
        s3.put_object(Bucket=bucket, Key="stations/_manifest.json", Body=body)

    put(manifest)  # as the code before layout 2 left it: no "layout"
    old = CliRunner().invoke(cli, args, env=env)
    assert old.exit_code == 0, old.output
    assert old.stdout.strip() == "[]"  # moto runs no SQL: the result is empty JSON
    assert "warning: old layout: the lake's partitions are in layout 1, not 2" in old.stderr
    assert "run `fuelpipe stations migrate`" in old.stderr

    put({**manifest, "layout": LAKE_LAYOUT})
    today = CliRunner().invoke(cli, args, env=env)
    assert (today.exit_code, today.stderr) == (0, "")


def test_an_old_s3_lake_is_migrated_in_place(
    s3: Any, bucket: str, glp: Path, tmp_path: Path
) -> None:
    """The real LPG file's two partitions in S3 as the old code wrote them (CNPJs punctuated,
    a manifest without a layout): `migrate` rewrites both objects with the 14 digits, writes
    the manifest's layout last, and a second migration writes nothing."""
    import json

    import polars as pl

    from fuelpipe.adapters.lake.storage import LAKE_LAYOUT, partition_path

    storage = S3LakeStorage(s3, bucket, "stations")
    StationLake(storage, FixedClock(NOW)).ingest_path(glp)
    digits: dict[str, pl.DataFrame] = {}
    for month in ("2025-03", "2025-04"):
        key = f"stations/{partition_path('LPG', month)}"
        local = tmp_path / f"{month}.parquet"
        s3.download_file(bucket, key, str(local))
        digits[key] = pl.read_parquet(local).with_columns(pl.col(pl.Categorical).cast(pl.String))
        c = pl.col("cnpj")
        old = digits[key].with_columns(
            cnpj=pl.concat_str(c.str.slice(0, 2), pl.lit("."), c.str.slice(2, 3), pl.lit("."),
                               c.str.slice(5, 3), pl.lit("/"), c.str.slice(8, 4), pl.lit("-"),
                               c.str.slice(12, 2))
        )  # fmt: skip
        old.write_parquet(local)
        s3.upload_file(str(local), bucket, key)
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key="stations/_manifest.json")["Body"].read()
    )
    del manifest["layout"]
    s3.put_object(Bucket=bucket, Key="stations/_manifest.json", Body=json.dumps(manifest).encode())

    done = StationLake(S3LakeStorage(s3, bucket, "stations"), FixedClock(NOW)).migrate()
    assert (done.layout_before, done.rewritten) == (1, ["LPG/2025-03", "LPG/2025-04"])
    for key, frame in digits.items():
        local = tmp_path / "after.parquet"
        s3.download_file(bucket, key, str(local))
        assert pl.read_parquet(local).equals(frame), key
    got = s3.get_object(Bucket=bucket, Key="stations/_manifest.json")["Body"].read()
    assert json.loads(got)["layout"] == LAKE_LAYOUT
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="stations/")["Contents"]
    again = StationLake(S3LakeStorage(s3, bucket, "stations"), FixedClock(NOW)).migrate()
    assert (again.layout_before, again.rewritten) == (LAKE_LAYOUT, [])
    assert s3.list_objects_v2(Bucket=bucket, Prefix="stations/")["Contents"] == listed


def test_s3_keys_files_by_source_and_keeps_each_version_s_reports(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Two files of one name in two folders, then a corrected version of one (synthetic edits
    of real LPG records): both recorded under their paths, each version's reports its own
    object under ``_reports/``, and the correction replaces the lake's value."""
    lake = StationLake(S3LakeStorage(s3, bucket, "stations"), FixedClock(NOW))
    text = lzma.decompress((SNAPSHOT_DIR / "shpc/qus/ultimas-4-semanas-glp.csv.xz").read_bytes())
    lines = text.decode("utf-8-sig").split("\r\n")[:41]
    bad = lines[5].split(";")
    bad[14] = "R$ / galao"  # a bad unit at line 6 of the first file
    paths = []
    for n, rows in enumerate(([*lines[1:5], ";".join(bad), *lines[6:21]], lines[21:41])):
        path = tmp_path / f"{2024 + n}" / "precos-glp-01.csv"
        path.parent.mkdir()
        path.write_text("\r\n".join([lines[0], *rows]) + "\r\n", encoding="utf-8-sig")
        paths.append(path)
        lake.ingest_path(path)
    files = lake.storage.read_manifest()["files"]
    assert sorted(files) == sorted(str(p.resolve()) for p in paths)
    (rejected,) = files[str(paths[0].resolve())]["reports"]
    assert (
        (lake.storage.get_text(rejected) or "").splitlines()[1].startswith("precos-glp-01.csv:6: ")
    )
    corrected = paths[1].read_bytes().decode("utf-8-sig").split("\r\n")
    cells = corrected[1].split(";")
    cells[12] = "123,45"  # the corrected version's one change
    corrected[1] = ";".join(cells)
    paths[1].write_text("\r\n".join(corrected), encoding="utf-8-sig")
    (report,) = lake.ingest_path(paths[1])
    assert (report.written, report.replaced, report.already_in_lake) == (0, 1, 19)
    (revised,) = report.reports
    assert "replaced by 123.45" in (lake.storage.get_text(revised) or "")
    listed = {
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="stations/_reports/")["Contents"]
    }
    assert listed == {f"stations/_reports/{rejected}", f"stations/_reports/{revised}"}
    with lake.reader() as con:
        assert con.execute("SELECT count(*) FROM stations WHERE price = 123.45").fetchone() == (1,)


def test_reading_leaves_no_scratch_directory_behind(
    s3: Any, bucket: str, glp: Path, tmp_path: Path
) -> None:
    """A local lake reads its own files, so it makes no scratch directory; an S3 lake's mirror
    goes with close() or, for one never closed (a dashboard process's), with the lake itself.
    Before, every lake that was queried left an empty or full `fuelpipe-lake-read-*` behind."""
    work = tmp_path / "work"
    work.mkdir()
    params = query_params("LPG", date(2025, 3, 24), date(2025, 4, 19), "SP", "SAO PAULO", "")

    local = StationLake(LocalLakeStorage(tmp_path / "local"), FixedClock(NOW), workdir=work)
    local.ingest_path(glp)
    assert local.query("state_weekly", params).rows
    assert list(work.iterdir()) == []
    local.close()

    remote = StationLake(S3LakeStorage(s3, bucket, "stations"), FixedClock(NOW), workdir=work)
    remote.ingest_path(glp)
    assert remote.query("state_weekly", params).rows
    (mirror,) = work.iterdir()
    assert list(mirror.rglob("*.parquet"))
    remote.close()
    assert list(work.iterdir()) == []

    unclosed = StationLake(S3LakeStorage(s3, bucket, "stations"), FixedClock(NOW), workdir=work)
    assert unclosed.query("state_weekly", params).rows
    assert len(list(work.iterdir())) == 1
    del unclosed
    gc.collect()
    assert list(work.iterdir()) == []
