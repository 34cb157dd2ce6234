"""The dashboard_api Lambda serves the Stations page from Athena (moto_server): the same JSON and
CSV the DuckDB engine gives for the same rows, typed by Athena's ColumnInfo, the lake's window
asked once per change of its end months, and a failed query answered with a clear 502.

moto runs no SQL: each query's result is seeded through moto's API
(``/moto-api/static/athena/query-results``, handed out in start order). The seeded rows are the
ones DuckDB computed over the real ANP sample, written as the text Athena answers.
"""

from __future__ import annotations

import itertools
import json
import lzma
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.stub import Stubber
from devtools.aws.lambda_events import FakeLambdaContext, function_url_event, load_handler
from devtools.aws.servers import LocalServer
from tests.aws.conftest import AwsHome

from fuelpipe.adapters.clock import FixedClock, ManualClock
from fuelpipe.homes.lake import build_athena_stations
from fuelpipe.homes.settings import Settings
from fuelpipe.replay.snapshot_data import SNAPSHOT_DIR
from fuelpipe.stages.context import StageContext

duckdb = pytest.importorskip("duckdb")

from fuelpipe.adapters.lake.athena import (  # noqa: E402
    AthenaQueries,
    AthenaQueryFailed,
    athena_literal,
)
from fuelpipe.adapters.lake.engine import QueryResult, StationLake  # noqa: E402
from fuelpipe.adapters.lake.queries import QUERIES, window_params  # noqa: E402
from fuelpipe.adapters.lake.storage import LocalLakeStorage, S3LakeStorage  # noqa: E402

pytestmark = pytest.mark.aws

NOW = datetime(2025, 4, 22, 12, 0, tzinfo=UTC)
QUS = SNAPSHOT_DIR / "shpc" / "qus"
# DuckDB's result types -> the type names Athena's ColumnInfo gives for the same columns.
ATHENA_TYPE = {
    "BIGINT": "bigint",
    "HUGEINT": "bigint",  # DuckDB widens sum(bigint); Trino keeps bigint
    "DOUBLE": "double",
    "DATE": "date",
    "VARCHAR": "varchar",
}
REQUESTS = (
    ("/api/stations/meta", ""),
    ("/api/stations/ranking", "fuel=LPG"),
    ("/api/stations/ranking", "fuel=GASOLINE&state=sp"),
    ("/api/stations/municipality", "state=SP&municipality=SAO%20PAULO&fuel=ETHANOL"),
    ("/api/stations/brands", "fuel=gasoline"),  # case-insensitive, as on DuckDB
    ("/api/stations/dispersion", "fuel=ETHANOL&start=2025-03-30&end=2025-04-12"),
    ("/api/stations/search", "q=posto"),
    ("/api/stations/dispersion", "fuel=LPG&format=csv"),
    ("/api/stations/search", "q=shell&format=csv"),
)


def java_double(value: float) -> str:
    """A double as Athena (Trino, Java's Double.toString) writes it: 5.79, 1.0E-4, NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = exponent + len(digits) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def athena_text(value: Any) -> dict[str, str]:
    """One cell as GetQueryResults gives it (NULL: no VarCharValue)."""
    if value is None:
        return {}
    if isinstance(value, float):
        return {"VarCharValue": java_double(value)}
    if isinstance(value, date):
        return {"VarCharValue": value.isoformat()}
    return {"VarCharValue": str(value)}


def athena_result(columns: list[str], types: list[str], rows: list[tuple[Any, ...]]) -> Any:
    """A seeded Athena result: ColumnInfo typed as Athena types, the header row first."""
    header = {"Data": [{"VarCharValue": c} for c in columns]}
    return {
        "rows": [header, *({"Data": [athena_text(v) for v in row]} for row in rows)],
        "column_info": [
            {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c, "Label": c,
             "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
             "CaseSensitive": t == "varchar"}
            for c, t in zip(columns, types, strict=True)
        ],
    }  # fmt: skip


def seed(moto: LocalServer, region: str, results: list[Any]) -> None:
    """Queue results for the next queries started in ``region``."""
    body = {"region": region, "results": results}
    url = f"{moto.url}/moto-api/static/athena/query-results"
    assert httpx.post(url, json=body, timeout=10).status_code == 201


@dataclass
class Recorded:
    """DuckDB's answer to one named query, with its result's column types."""

    name: str
    params: dict[str, Any]
    types: list[str]
    result: QueryResult


@dataclass
class Recording:
    """The embedded lake as the router's engine, recording each named query it runs."""

    lake: StationLake
    calls: list[Recorded] = field(default_factory=list)

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        return self.lake.fuel_windows()

    def old_layout(self) -> int | None:
        return self.lake.old_layout()

    def query(self, name: str, params: dict[str, Any]) -> QueryResult:
        result = self.lake.query(name, params)
        self.calls.append(Recorded(name, params, duck_types(self.lake, name, params), result))
        return result


def duck_types(lake: StationLake, name: str, params: dict[str, Any]) -> list[str]:
    """The Athena type names of the named query's result columns, from DuckDB's own types."""
    q = QUERIES[name]
    with lake.reader() as con:
        cursor = con.execute(q.sql, [params[p] for p in q.params])
        return [ATHENA_TYPE[str(d[1])] for d in cursor.description or ()]


def window_recorded(lake: StationLake) -> Recorded:
    """DuckDB's answer to the ``window`` query over each fuel's first and last month."""
    params = window_params(lake.storage.partitions())
    return Recorded("window", params, duck_types(lake, "window", params),
                    lake.query("window", params))  # fmt: skip


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StationLake]:
    """The real 4-week samples of gasoline/ethanol and LPG in a local lake (DuckDB)."""
    root = tmp_path_factory.mktemp("stations")
    lake = StationLake(LocalLakeStorage(root / "lake"), FixedClock(NOW))
    for group in ("gasolina-etanol", "glp"):
        path = root / f"ultimas-4-semanas-{group}.csv"
        path.write_bytes(lzma.decompress((QUS / f"ultimas-4-semanas-{group}.csv.xz").read_bytes()))
        lake.ingest_path(path)
    yield lake
    lake.close()


@dataclass
class AthenaLake:
    """A lake bucket holding the local lake's partition files, and a workgroup in a region of
    its own (moto's seeded results are per region, so no other test takes them)."""

    moto: LocalServer
    region: str
    bucket: str
    workgroup: str
    s3: Any
    athena: Any

    def settings(self) -> Settings:
        return Settings(backend="aws", lake_bucket=self.bucket,
                        athena_workgroup=self.workgroup, glue_database="fuelpipe")  # fmt: skip

    def stations(self, athena_client: Any = None) -> Any:
        """The AWS composition root's station queries on these clients."""
        return build_athena_stations(
            self.settings(), athena_client=athena_client or self.athena, s3_client=self.s3
        )

    def executions(self) -> list[dict[str, Any]]:
        ids = self.athena.list_query_executions(WorkGroup=self.workgroup)["QueryExecutionIds"]
        return [self.athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


REGIONS = itertools.cycle(
    ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "ap-south-1", "ca-central-1"]
)


@pytest.fixture
def athena_lake(moto_server: LocalServer, local_lake: StationLake) -> AthenaLake:
    region = next(REGIONS)
    s3 = moto_server.client("s3")
    bucket = f"fuelpipe-lake-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    storage = S3LakeStorage(s3, bucket)
    assert isinstance(local_lake.storage, LocalLakeStorage)
    for product, month in local_lake.storage.partitions():
        found = local_lake.storage.fetch_partition(product, month, Path("."))
        assert found is not None
        storage.put_partition(product, month, found)
    athena = moto_server.client("athena", region_name=region)
    workgroup = f"fuelpipe-stations-{uuid.uuid4().hex[:6]}"
    athena.create_work_group(
        Name=workgroup,
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena-results/"}},
    )
    return AthenaLake(moto_server, region, bucket, workgroup, s3, athena)


Invoke = Callable[[str, str], dict[str, Any]]


def invoker(context: StageContext, stations: Callable[[], Any]) -> Invoke:
    """The real dashboard_api handler on ``context``, with ``stations`` as its lake engine."""
    handler = load_handler("dashboard_api").make_handler(lambda: context, stations)

    def call(path: str, query: str) -> dict[str, Any]:
        response: dict[str, Any] = handler(
            function_url_event(path, query, {"accept": "application/json"}),
            FakeLambdaContext("dashboard_api"),
        )
        return response

    return call


def answer(response: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    """Status, body (JSON parsed, CSV as text) and the headers a download depends on."""
    body = response["body"]
    kind = response["headers"].get("content-type", "")
    shown = {k: v for k, v in response["headers"].items()
             if k in ("content-type", "content-disposition", "x-truncated",
                      "x-lake-old-layout")}  # fmt: skip
    return response["statusCode"], json.loads(body) if "json" in kind else body, shown


def test_the_handler_answers_the_stations_api_from_athena_as_duckdb_does(
    aws_home: AwsHome, local_lake: StationLake, athena_lake: AthenaLake
) -> None:
    context = aws_home.app(FixedClock(NOW))
    recording = Recording(local_lake)
    duck = invoker(context, lambda: recording)
    want = [answer(duck(path, query)) for path, query in REQUESTS]
    assert [status for status, *_ in want] == [200] * len(REQUESTS), want
    assert want[0][1] == {"available": True, "first": "2025-03-24", "last": "2025-04-19",
                          "fuels": want[0][1]["fuels"], "old_layout": None}  # fmt: skip
    assert all(body["rows"] for _, body, _ in want[1:7]), "every view has rows"
    assert want[6][1]["truncated"] is True  # 151 stations: the search's cut is exercised
    assert len(recording.calls) == len(REQUESTS) - 1  # meta asks only the window

    # Athena gets DuckDB's rows as text, the window first (the first request asks for it).
    window = window_recorded(local_lake)
    seeded = [window, *recording.calls]
    seed(athena_lake.moto, athena_lake.region,
         [athena_result(r.result.columns, r.types, r.result.rows) for r in seeded])  # fmt: skip
    athena = invoker(context, athena_lake.stations)
    got = [answer(athena(path, query)) for path, query in REQUESTS]

    for (path, query), have, expected in zip(REQUESTS, got, want, strict=True):
        assert have == expected, f"{path}?{query}"
    # One Athena query per view and one window query in all (the end months did not change),
    # each the named query's SQL text with the same parameters, in the stack's workgroup.
    executions = athena_lake.executions()
    assert sorted((e["Query"], tuple(e.get("ExecutionParameters", ()))) for e in executions) == (
        sorted(
            (
                QUERIES[r.name].sql,
                tuple(athena_literal(r.params[p]) for p in QUERIES[r.name].params),
            )
            for r in seeded
        )
    )
    assert {e["WorkGroup"] for e in executions} == {athena_lake.workgroup}
    assert {e["QueryExecutionContext"]["Database"] for e in executions} == {"fuelpipe"}


def test_without_a_lake_bucket_the_handler_says_to_set_one(aws_home: AwsHome) -> None:
    """The Lambda has no lake only when FUELPIPE_LAKE_BUCKET is unset: its 404 advised the lake
    extra or a local ingest, neither of which the AWS home can use."""
    status, body, _ = answer(
        invoker(aws_home.app(FixedClock(NOW)), lambda: None)("/api/stations/meta", "")
    )
    assert status == 404
    assert body["detail"].startswith("no station lake here: set FUELPIPE_LAKE_BUCKET")


def test_an_old_layout_lake_in_s3_is_named_by_the_handler(
    aws_home: AwsHome, local_lake: StationLake, athena_lake: AthenaLake
) -> None:
    """Athena reads the bucket's partitions as they are: a manifest of files in layout 1 (no
    layout recorded) makes the handler's answers say so, as the local lake's do. Each answer
    asks with one GET of the manifest, which S3 answers 304 (no body) while it is unchanged;
    the manifest an ingest writes is read in full by the next answer."""
    manifest = local_lake.storage.read_manifest()
    del manifest["layout"]
    S3LakeStorage(athena_lake.s3, athena_lake.bucket).write_manifest(manifest)
    gets: list[int] = []  # each GET's HTTP status (the manifest is the only object got)
    athena_lake.s3.meta.events.register(
        "after-call.s3.GetObject", lambda http_response, **_: gets.append(http_response.status_code)
    )
    call = invoker(aws_home.app(FixedClock(NOW)), athena_lake.stations)
    # distinct query strings, of the one parameter the route takes (an undeclared one, or one
    # given twice, is a 422): the response cache answers a repeat of one by itself
    distinct = ["", "format=json", "format=json&", "&format=json"]
    for query in distinct[:3]:
        response = call("/api/stations/meta", query)
        assert response["statusCode"] == 200, response
        assert response["headers"]["x-lake-old-layout"] == "1"
        old = json.loads(response["body"])["old_layout"]
        assert old["layout"] == 1
        assert "run `fuelpipe stations migrate`" in old["detail"]
    assert gets == [200, 304, 304]
    S3LakeStorage(athena_lake.s3, athena_lake.bucket).write_manifest(
        {**manifest, "layout": 2}
    )  # an ingest migrated the lake
    status, body, headers = answer(call("/api/stations/meta", distinct[3]))
    assert status == 200 and body["old_layout"] is None and "x-lake-old-layout" not in headers
    assert gets == [200, 304, 304, 200]


def test_an_unknown_state_is_a_422_before_athena_is_asked(
    aws_home: AwsHome, athena_lake: AthenaLake
) -> None:
    call = invoker(aws_home.app(FixedClock(NOW)), athena_lake.stations)
    for path, query in (
        ("/api/stations/ranking", "state=XX"),
        ("/api/stations/municipality", "state=XX&municipality=FOO"),
        ("/api/stations/ranking", "fuel=KEROSENE"),
    ):
        status, body, _ = answer(call(path, query))
        assert status == 422, (path, query, body)
        name = query.split("=", 1)[0]
        assert body["detail"].startswith(f"{name}: unknown {name} "), body
    assert athena_lake.executions() == []


def test_the_window_is_asked_again_only_when_an_end_month_changes(
    local_lake: StationLake, athena_lake: AthenaLake
) -> None:
    window = window_recorded(local_lake)
    seed(athena_lake.moto, athena_lake.region,
         [athena_result(window.result.columns, window.types, window.result.rows)] * 2)  # fmt: skip
    stations = athena_lake.stations()
    assert stations.window() == stations.window() == (date(2025, 3, 24), date(2025, 4, 19))
    assert len(athena_lake.executions()) == 1
    # A re-ingest rewrites the last month's file (a new ETag): the window may have moved.
    product, month = max(local_lake.storage.partitions(), key=lambda p: p[1])
    found = local_lake.storage.fetch_partition(product, month, Path("."))
    assert found is not None
    athena_lake.s3.put_object(Bucket=athena_lake.bucket,
                              Key=f"stations/product={product}/month={month}/part-0.parquet",
                              Body=found.read_bytes())  # fmt: skip
    athena_lake.s3.put_object(Bucket=athena_lake.bucket, Key="stations/_manifest.json", Body=b"{}")
    assert stations.window() == (date(2025, 3, 24), date(2025, 4, 19))
    assert len(athena_lake.executions()) == 1, "neither the bytes nor the end months changed"
    S3LakeStorage(athena_lake.s3, athena_lake.bucket).put_partition(
        "CNG", "2025-05", found
    )  # a later month: the last month is another file
    assert stations.window() == (date(2025, 3, 24), date(2025, 4, 19))
    (latest, *_) = sorted(athena_lake.executions(), key=lambda e: e["Status"]["SubmissionDateTime"],
                          reverse=True)  # fmt: skip
    assert len(athena_lake.executions()) == 2
    asked = dict(zip(QUERIES["window"].params, latest["ExecutionParameters"], strict=True))
    assert asked["first_month_CNG"] == asked["last_month_CNG"] == "'2025-05'"
    assert (asked["first_month_LPG"], asked["last_month_LPG"]) == ("'2025-03'", "'2025-04'")
    assert asked["first_month_DIESEL"] == "''"  # a fuel the lake lacks: no month


def test_athena_text_is_typed_by_column_info(athena_lake: AthenaLake) -> None:
    columns = ["product", "month", "observations", "stations", "first_day", "last_day", "ratio"]
    types = ["varchar", "varchar", "bigint", "bigint", "date", "date", "double"]
    info = athena_result(columns, types, [])["column_info"]
    header = {"Data": [{"VarCharValue": c} for c in columns]}
    row = {"Data": [{"VarCharValue": "LPG"}, {"VarCharValue": "2025-03"},
                    {"VarCharValue": "5802"}, {"VarCharValue": "4213"},
                    {"VarCharValue": "2025-03-24"}, {}, {"VarCharValue": "1.0E-4"}]}  # fmt: skip
    nan = {"Data": [*row["Data"][:6], {"VarCharValue": "NaN"}]}
    bad = {"Data": [*row["Data"][:6], {"VarCharValue": "n/a"}]}
    odd = [{**info[0], "Type": "array(varchar)"}, *info[1:]]
    seed(athena_lake.moto, athena_lake.region, [
        {"rows": [header, row, nan], "column_info": info},
        {"rows": [header, bad], "column_info": info},
        {"rows": [header, row], "column_info": odd},
    ])  # fmt: skip
    runner = AthenaQueries(athena_lake.athena, athena_lake.workgroup, "fuelpipe", poll_s=0.01)

    result = runner.query("coverage", {})
    assert result.columns == columns
    first, second = result.rows
    assert first == ("LPG", "2025-03", 5802, 4213, date(2025, 3, 24), None, 0.0001)
    assert math.isnan(second[-1])
    with pytest.raises(AthenaQueryFailed, match=r"column 'ratio': 'n/a' is not a float value"):
        runner.query("coverage", {})
    with pytest.raises(AthenaQueryFailed, match=r"'product' has type 'array\(varchar\)'"):
        runner.query("coverage", {})


def test_a_failed_athena_query_is_a_clear_502(
    aws_home: AwsHome, athena_lake: AthenaLake, caplog: pytest.LogCaptureFixture
) -> None:
    # moto never ends a query in FAILED: botocore's Stubber answers Athena's calls on a real
    # client, in the shapes of Athena's API; the lake's S3 listing is moto's.
    client = athena_lake.moto.client("athena", region_name=athena_lake.region)
    reason = "COLUMN_NOT_FOUND: line 1:12: Column 'collected' cannot be resolved"
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-failed"})
        stub.add_response("get_query_execution", {"QueryExecution": {
            "QueryExecutionId": "q-failed",
            "Status": {"State": "FAILED", "StateChangeReason": reason,
                       "AthenaError": {"ErrorCategory": 2, "ErrorType": 1006,
                                       "Retryable": False, "ErrorMessage": reason}},
        }})  # fmt: skip
        call = invoker(aws_home.app(FixedClock(NOW)), lambda: athena_lake.stations(client))
        status, body, _ = answer(call("/api/stations/ranking", "fuel=LPG"))
        stub.assert_no_pending_responses()
    assert status == 502
    # the public page names the query and its state; Athena's reason (which may name the
    # bucket, keys, account or role) goes to the log only
    assert body == {"detail": "the station query failed: athena q-failed: FAILED"}
    assert reason in caplog.text


def test_a_refused_athena_call_is_a_clear_502(aws_home: AwsHome, athena_lake: AthenaLake) -> None:
    # The workgroup is missing (say, the stack was renamed): moto refuses the call itself.
    missing = Settings(backend="aws", lake_bucket=athena_lake.bucket,
                       athena_workgroup="no-such-workgroup")  # fmt: skip
    stations = build_athena_stations(missing, athena_client=athena_lake.athena,
                                      s3_client=athena_lake.s3)  # fmt: skip
    call = invoker(aws_home.app(FixedClock(NOW)), lambda: stations)
    status, body, _ = answer(call("/api/stations/meta", ""))
    assert status == 502
    assert body["detail"].startswith("the station query failed: athena query window: ")
    assert "WorkGroup does not exist" not in body["detail"]  # the service's words: logged
    assert "Traceback" not in json.dumps(body)


@dataclass
class Ticking:
    """A monotonic clock that moves only when the code under test sleeps."""

    now: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now = round(self.now + seconds, 6)


def test_a_query_past_its_timeout_is_stopped(athena_lake: AthenaLake) -> None:
    # Queries stay QUEUED (moto's state manager): the runner stops the query at its deadline.
    transition = f"{athena_lake.moto.url}/moto-api/state-manager"
    model = {"model_name": "athena::execution"}
    manual = {**model, "transition": {"progression": "manual", "times": 1000}}
    assert httpx.post(f"{transition}/set-transition", json=manual, timeout=10).is_success
    clock = Ticking()  # polls every 0.4 s of a clock only the runner's sleeps move
    runner = AthenaQueries(athena_lake.athena, athena_lake.workgroup, "fuelpipe",
                           timeout_s=1.0, poll_s=0.4, sleep=clock.sleep,
                           monotonic=clock.monotonic)  # fmt: skip
    polls: list[float] = []
    athena_lake.athena.meta.events.register(
        "before-send.athena.GetQueryExecution", lambda **_: polls.append(clock.now)
    )
    try:
        with pytest.raises(AthenaQueryFailed, match=r"still QUEUED after 1 s, stopped$"):
            runner.query("coverage", {})
    finally:
        assert httpx.post(f"{transition}/unset-transition", json=model, timeout=10).is_success
    assert polls == [0.0, 0.4, 0.8]  # no sleep past the deadline: stopped at 0.8 s
    (execution,) = athena_lake.executions()
    assert execution["Status"]["State"] == "CANCELLED"


def test_the_dashboard_lets_athena_reuse_a_result_up_to_a_day_old_by_default(
    athena_lake: AthenaLake,
) -> None:
    client = athena_lake.moto.client("athena", region_name=athena_lake.region)
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.athena.StartQueryExecution",
        lambda params, **_: sent.append(dict(params["ResultReuseConfiguration"])),
    )
    written = S3LakeStorage(athena_lake.s3, athena_lake.bucket).listing().last_write
    assert written is not None
    clock = ManualClock(written + timedelta(days=2))
    for minutes in (None, 90, 0):
        cfg = athena_lake.settings()
        if minutes is not None:
            cfg = cfg.model_copy(update={"athena_reuse_minutes": minutes})
        stations = build_athena_stations(cfg, athena_client=client, s3_client=athena_lake.s3,
                                         clock=clock)  # fmt: skip
        stations.query("coverage", {})
    assert [r["ResultReuseByAgeConfiguration"] for r in sent] == [
        {"Enabled": True, "MaxAgeInMinutes": 1440},  # FUELPIPE_ATHENA_REUSE_MINUTES' default
        {"Enabled": True, "MaxAgeInMinutes": 90},
        {"Enabled": False},
    ]
    assert len(athena_lake.executions()) == 3  # moto took the parameter


FUEL_NAMES = {  # ANP's product names and units, one per fuel the lake keeps
    "GASOLINA": "R$ / litro", "GASOLINA ADITIVADA": "R$ / litro", "ETANOL": "R$ / litro",
    "DIESEL": "R$ / litro", "DIESEL S10": "R$ / litro", "GNV": "R$ / m³", "GLP": "R$ / 13 kg",
}  # fmt: skip


def synthetic_busy_town(path: Path, stations: int) -> Path:
    """SYNTHETIC, an edge case the real 4-week sample lacks (its widest answer is 403 rows):
    ``stations`` stations in one town (accents in its name and theirs) each selling all seven
    fuels in one survey week, so a search for them answers 151 x 7 rows, two pages of Athena's
    results. ANP's columns and formats, valid CNPJs."""
    from fuelpipe.domain.stations import cnpj_check_digit

    head = ("Regiao - Sigla;Estado - Sigla;Municipio;Revenda;CNPJ da Revenda;Nome da Rua;"
            "Numero Rua;Complemento;Bairro;Cep;Produto;Data da Coleta;Valor de Venda;"
            "Valor de Compra;Unidade de Medida;Bandeira")  # fmt: skip
    lines = [head]
    for i in range(stations):
        digits = f"{11_222_333 + i:08d}0001"
        digits += str(cnpj_check_digit(digits))
        digits += str(cnpj_check_digit(digits))
        cnpj = f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"
        for k, (fuel, unit) in enumerate(FUEL_NAMES.items()):
            price = f"{(100 if fuel == 'GLP' else 4 + k / 2) + i / 1000:.3f}".replace(".", ",")
            lines.append(f"SE;SP;SÃO JOSÉ DOS CAMPOS;AUTO POSTO SINTÉTICO {i:03d} LTDA;{cnpj};"
                         f"RUA A;{i};;CENTRO;12200-000;{fuel};{24 + k % 5:02d}/03/2025;{price};;"
                         f"{unit};{'BRANCA' if i % 3 else 'IPIRANGA'}")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def athena_pages(execution_id: str, recorded: Recorded, size: int = 1000) -> list[Any]:
    """GetQueryResults' pages for DuckDB's rows as Athena gives them: ``size`` rows a page,
    the header row (the column names) first on the first page only, a NextToken on all but
    the last."""
    seeded = athena_result(recorded.result.columns, recorded.types, recorded.result.rows)
    rows = seeded["rows"]
    chunks = [rows[at : at + size] for at in range(0, len(rows), size)]
    return [
        {
            "ResultSet": {"Rows": chunk,
                          "ResultSetMetadata": {"ColumnInfo": seeded["column_info"]}},
            "UpdateCount": 0,
            **({"NextToken": f"{execution_id}-{n + 1}"} if n + 1 < len(chunks) else {}),
        }
        for n, chunk in enumerate(chunks)
    ]  # fmt: skip


def test_results_of_no_rows_and_of_two_pages_come_back_whole_as_duckdb_gives_them(
    moto_server: LocalServer, tmp_path: Path
) -> None:
    # moto answers every result in one page: botocore's Stubber answers GetQueryResults as
    # Athena pages it (NextToken, 1,000 rows a page) on a real client.
    from fuelpipe.domain.stations import query_params

    lake = StationLake(LocalLakeStorage(tmp_path / "lake"), FixedClock(NOW))
    (report,) = lake.ingest_path(synthetic_busy_town(tmp_path / "synthetic-town.csv", 160))
    assert (report.written, report.rejected) == (160 * 7, 0)
    asked = {
        text: query_params("LPG", date(2025, 3, 24), date(2025, 3, 30), None, None, text)
        for text in ("posto sintetico", "no such station")
    }
    recorded = [
        Recorded("station_search", p, duck_types(lake, "station_search", p),
                 lake.query("station_search", p))
        for p in asked.values()
    ]  # fmt: skip
    lake.close()
    assert [len(r.result.rows) for r in recorded] == [151 * 7, 0]
    client = moto_server.client("athena")
    pages_sent: list[int] = []
    with Stubber(client) as stub:
        for n, r in enumerate(recorded):
            execution_id = f"q-{n}"
            stub.add_response("start_query_execution", {"QueryExecutionId": execution_id})
            stub.add_response("get_query_execution", {"QueryExecution": {
                "QueryExecutionId": execution_id, "Status": {"State": "SUCCEEDED"}}})  # fmt: skip
            token: dict[str, str] = {}
            pages = athena_pages(execution_id, r)
            pages_sent.append(len(pages))
            for page in pages:
                stub.add_response("get_query_results", page,
                                  {"QueryExecutionId": execution_id, **token})  # fmt: skip
                token = {"NextToken": page.get("NextToken", "")}
        runner = AthenaQueries(client, "fuelpipe-stations", "fuelpipe", poll_s=0.01)
        got = [runner.query("station_search", p) for p in asked.values()]
        stub.assert_no_pending_responses()
    assert pages_sent == [2, 1]  # 1,058 rows with the header; the header alone
    assert got == [r.result for r in recorded]


def failed_execution(execution_id: str, *, retryable: bool) -> dict[str, Any]:
    """GetQueryExecution of a query Athena ended FAILED, in its API's shape."""
    reason = "GENERIC_INTERNAL_ERROR: Athena experienced an internal error"
    return {"QueryExecution": {
        "QueryExecutionId": execution_id,
        "Status": {"State": "FAILED", "StateChangeReason": reason,
                   "AthenaError": {"ErrorCategory": 1, "ErrorType": 401,
                                   "Retryable": retryable, "ErrorMessage": reason}},
    }}  # fmt: skip


def test_a_query_athena_failed_as_retryable_is_submitted_once_more(
    local_lake: StationLake, athena_lake: AthenaLake
) -> None:
    # Athena's AthenaError.Retryable: the query might succeed if submitted again. It is, once
    # (stamina), within the query's deadline; a second such failure is the error.
    window = window_recorded(local_lake)
    client = athena_lake.moto.client("athena", region_name=athena_lake.region)
    runner = AthenaQueries(client, athena_lake.workgroup, "fuelpipe", poll_s=0.01)
    params = window.params
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
        stub.add_response("get_query_execution", failed_execution("q-1", retryable=True))
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-2"})
        stub.add_response("get_query_execution", {"QueryExecution": {
            "QueryExecutionId": "q-2", "Status": {"State": "SUCCEEDED"}}})  # fmt: skip
        for page in athena_pages("q-2", window):
            stub.add_response("get_query_results", page, {"QueryExecutionId": "q-2"})
        assert runner.query("window", params) == window.result
        stub.assert_no_pending_responses()

        for n in (3, 4):
            stub.add_response("start_query_execution", {"QueryExecutionId": f"q-{n}"})
            stub.add_response("get_query_execution", failed_execution(f"q-{n}", retryable=True))
        with pytest.raises(AthenaQueryFailed, match=r"^athena q-4: FAILED: GENERIC_INTERNAL"):
            runner.query("window", params)
        stub.assert_no_pending_responses()


def test_a_cancelled_query_is_the_error_with_athenas_reason(athena_lake: AthenaLake) -> None:
    # The workgroup's BytesScannedCutoffPerQuery (infra/template.yaml) cancels a query that
    # reads more: CANCELLED, with the reason, and not submitted again.
    reason = "Query cancelled! : Bytes scanned limit was exceeded"
    client = athena_lake.moto.client("athena", region_name=athena_lake.region)
    runner = AthenaQueries(client, athena_lake.workgroup, "fuelpipe", poll_s=0.01)
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-big"})
        stub.add_response("get_query_execution", {"QueryExecution": {
            "QueryExecutionId": "q-big",
            "Status": {"State": "CANCELLED", "StateChangeReason": reason}}})  # fmt: skip
        with pytest.raises(AthenaQueryFailed) as failed:
            runner.query("coverage", {})
        stub.assert_no_pending_responses()
    assert str(failed.value) == f"athena q-big: CANCELLED: {reason}"
    assert failed.value.public == "athena q-big: CANCELLED"
