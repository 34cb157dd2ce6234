"""The AWS home: DynamoDB store and SQS queue; the only place that builds boto3 clients.

boto3 reads the region and credentials the usual way, and honours ``AWS_ENDPOINT_URL_DYNAMODB``
and ``AWS_ENDPOINT_URL_SQS``, which is how `make demo-aws` points it at local servers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from fuelpipe.aws_region import session_region
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import InvalidKeyError, parse_date_key
from fuelpipe.homes.settings import Settings, policy_from
from fuelpipe.ports.alerts import AlertReader
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.intraday import IntradayStore
from fuelpipe.ports.source import Source
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.source_rest import Rests

ContextProvider = Callable[[], StageContext]

_T = TypeVar("_T")


@dataclass(frozen=True)
class CallBounds:
    """How long one AWS API call may take: its attempts (botocore's standard retries, with
    jittered backoff, throttling included) and each attempt's connect and read timeouts."""

    attempts: int = 6  # botocore's max_attempts 5: five retries
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0

    def botocore(self) -> dict[str, Any]:
        """These bounds as botocore ``Config`` arguments."""
        return {
            "retries": {"mode": "standard", "total_max_attempts": self.attempts},
            "connect_timeout": self.connect_timeout_s,
            "read_timeout": self.read_timeout_s,
        }


def make_client(service: str, settings: Settings, bounds: CallBounds | None = None) -> Any:
    """A low-level boto3 client with bounded, jittered retries and explicit timeouts."""
    import boto3
    from botocore.config import Config

    from fuelpipe.adapters.dynamodb_store import ADD_THREADS

    config = Config(
        **(bounds or CallBounds()).botocore(),
        # The pending index is read one shard per thread; add_records keeps ADD_THREADS
        # PutItem calls in flight.
        max_pool_connections=max(ADD_THREADS, settings.pending_shards),
    )
    session = boto3.session.Session()
    return session.client(service, config=config, region_name=session_region(session))


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sources: Mapping[str, Source] | None = None,
    dynamodb_client: Any = None,
    sqs_client: Any = None,
    catalog: Catalog | None = None,
    clock_meta: str | None = None,
    rests: Rests | None = None,
) -> StageContext:
    """Wire the AWS home; tests and the demo pass clients for local servers, a clock, sources.

    ``clock_meta``: a table keeping an instant under this meta entry runs on it when no
    clock and no --now is given (see :func:`fuelpipe.homes.build_home`). ``rests``: the
    sources' Retry-After kept on the context (the scraper's: :func:`lazy_scraper_context`)."""
    from fuelpipe.adapters.clock import FixedClock, SystemClock
    from fuelpipe.adapters.dynamodb_store import DynamoDbStore
    from fuelpipe.adapters.sqs_queue import SqsQueue
    from fuelpipe.failpoints import Failpoints
    from fuelpipe.homes import stored_clock

    dynamodb = _naming_missing_tables(dynamodb_client or make_client("dynamodb", settings))
    sqs = sqs_client or make_client("sqs", settings)
    business_clock: Clock = clock or (FixedClock(settings.now) if settings.now else SystemClock())
    # updated_at is stamped by the business clock the stages see, as in the embedded home.
    store = DynamoDbStore(
        dynamodb, settings.table_name, settings.pending_shards, clock=business_clock
    )
    if clock_meta and clock is None and settings.now is None:
        business_clock = store.clock = stored_clock(store, clock_meta) or business_clock
    queue = SqsQueue(
        sqs,
        _queue_url(sqs, "queue_name", settings.queue_name),
        _queue_url(sqs, "dlq_name", settings.dlq_name),
        settings.visibility_timeout_s,
        settings.max_receives,
    )
    if sources is None:
        from fuelpipe.homes.sources import build_sources

        sources = build_sources(settings)
    return StageContext(
        catalog=catalog or DEFAULT_CATALOG,
        store=store,
        queue=queue,
        sources=sources,
        clock=business_clock,
        policy=policy_from(settings),
        gap_audit_interval_s=settings.gap_audit_interval_s,
        store_batch=settings.store_batch,
        poll_in_flight_s=settings.visibility_timeout_s,
        gap_sent_hold_s=settings.visibility_timeout_s,
        revision_window_days=settings.revision_window_days,
        rests=rests,
        failpoints=Failpoints(settings.failpoints),  # FUELPIPE_FAILPOINTS: crash tests only
    )


_NO_QUEUE = frozenset(["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"])
"""SQS's codes for "no queue of that name" (its query protocol's, its JSON protocol's)."""


def _queue_url(sqs: Any, setting: str, name: str) -> str:
    """The URL of the queue the setting names; a ValueError naming the variable when there is
    no such queue (SQS says only "The specified queue does not exist.", and a Lambda with a
    wrong name fails every invocation with that)."""
    from botocore.exceptions import ClientError

    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _NO_QUEUE:
            raise
        variable = f"FUELPIPE_{setting.upper()}"
        raise ValueError(
            f"{variable} {name!r}: no such SQS queue in this account and region ({exc})"
        ) from exc


_NO_TABLE = "ResourceNotFoundException"
"""DynamoDB's code for "no table of that name" (its message: "Requested resource not found")."""
_TABLES_SEEN = "fuelpipe.tables"
"""Where a request's context keeps the tables it names, for its answer's error."""


def _naming_missing_tables(dynamodb: Any) -> Any:
    """The client, its "no such table" errors completed with the table, the variable that
    names it, the region and the endpoint (DynamoDB says only "Requested resource not found",
    and a Lambda with a wrong FUELPIPE_TABLE_NAME fails every invocation with that).

    The error is the same ResourceNotFoundException, its message longer: it is completed as
    botocore parses the answer, so it costs no request (no DescribeTable at each cold start)
    and covers every call the adapters make, paginated ones included."""
    meta = dynamodb.meta

    def name_missing_table(
        http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        error = parsed.get("Error", {})
        tables = context.get(_TABLES_SEEN)
        if error.get("Code") != _NO_TABLE or not tables:
            return
        # The URL answered (DynamoDB may resolve an account's own endpoint), less its path.
        url = urlsplit(getattr(http_response, "url", None) or meta.endpoint_url)
        error["Message"] = (
            f"{error.get('Message') or _NO_TABLE}: FUELPIPE_TABLE_NAME"
            f" {' or '.join(repr(t) for t in tables)}: no such DynamoDB table (or not active yet)"
            f" in region {meta.region_name} at {url.scheme}://{url.netloc}"
        )

    meta.events.register(
        "before-parameter-build.dynamodb", _note_tables, unique_id="fuelpipe-note-tables"
    )
    meta.events.register("after-call.dynamodb", name_missing_table, unique_id="fuelpipe-no-table")
    return dynamodb


def _note_tables(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Keep the tables a request names: its ``TableName``, or a batch's or transaction's."""
    tables = (
        [params["TableName"]] if "TableName" in params else list(params.get("RequestItems", {}))
    )
    for action in params.get("TransactItems", []):
        tables += [op["TableName"] for op in action.values() if "TableName" in op]
    context[_TABLES_SEEN] = list(dict.fromkeys(tables))


def build_intraday_store(settings: Settings, *, dynamodb_client: Any = None) -> IntradayStore:
    """The intraday points in the single table (``INTRADAY#`` partitions, TTL)."""
    from fuelpipe.adapters.intraday_store import DynamoIntradayStore

    dynamodb = _naming_missing_tables(dynamodb_client or make_client("dynamodb", settings))
    return DynamoIntradayStore(dynamodb, settings.table_name)


def create_resources(
    settings: Settings,
    *,
    dynamodb_client: Any = None,
    sqs_client: Any = None,
    poll_s: float = 1.0,
) -> dict[str, str]:
    """Create the table with its two indexes (pending-index, status-index), and the queue with
    its DLQ, as the template does."""
    from fuelpipe.adapters.dynamodb_store import create_table
    from fuelpipe.adapters.sqs_queue import create_queues

    dynamodb = dynamodb_client or make_client("dynamodb", settings)
    sqs = sqs_client or make_client("sqs", settings)
    create_table(dynamodb, settings.table_name, delay_s=poll_s)
    queue_url, dlq_url = create_queues(
        sqs,
        settings.queue_name,
        settings.dlq_name,
        settings.visibility_timeout_s,
        settings.max_receives,
    )
    return {"table": settings.table_name, "queue_url": queue_url, "dlq_url": dlq_url}


def _once(build: Callable[[], _T]) -> Callable[[], _T]:
    """``build()``, called on first use only and kept for the life of the Lambda environment
    (a lock: the dashboard's threads may ask at once)."""
    # Not functools.cache: it holds no lock over the call, so two threads could each build one.
    built: list[_T] = []
    lock = threading.Lock()

    def provide() -> _T:
        with lock:
            if not built:
                built.append(build())
            return built[0]

    return provide


def lazy_context(
    settings: Settings,
    *,
    shares_rests: bool = False,
    rest_wall: Clock | None = None,
    **kwargs: Any,
) -> ContextProvider:
    """Build the context on first use and keep it for the life of the Lambda environment.

    ``shares_rests``: the context keeps the sources' rests in the table (:func:`share_rests`),
    as the scraper, the retry recheck and the orchestrator do, timed on ``rest_wall`` (the
    system clock by default)."""

    def build() -> StageContext:
        context = build_context(settings, **kwargs)
        return share_rests(context, rest_wall) if shares_rests else context

    return _once(build)


def share_rests(context: StageContext, wall: Clock | None = None) -> StageContext:
    """``context`` keeping the sources' rests (stages/source_rest.py, each cut to
    ``MAX_REST``) in its table's meta entries, timed on this machine's wall clock (never the
    business clock): a source that answered 429 or 503 with a Retry-After to one scraper
    environment is asked nothing more by any until it ends (stages/scrape.py:
    ``defer_if_resting``), the retry recheck claims none of its retries meanwhile, and the
    orchestrator's window polls hold its due series for a later poll of their window that
    comes after the rest, or once a poll of the rest has sent them (stages/due.py:
    ``hold_resting``). ``wall``: the wall clock the rests are timed on (the system clock by
    default; tests give one they move, so a rest spans their steps however slow the host)."""
    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.stages.source_rest import SharedRests

    context.rests = SharedRests(context.store, wall or SystemClock())
    return context


def lazy_scraper_context(settings: Settings, **kwargs: Any) -> ContextProvider:
    """The scraper Lambda's context, kept as :func:`lazy_context` keeps one, sharing the
    sources' rests through the table (:func:`share_rests`)."""
    return lazy_context(settings, shares_rests=True, **kwargs)


@dataclass(frozen=True)
class ScheduleOptions:
    """What a scheduled event asks for (everything, no switch set, when empty)."""

    series: list[Series] | None = None
    since: date | None = None
    mode: Literal["revise"] | None = None
    """The orchestrator's revision re-reads instead of its gap scan."""
    due_only: bool = False
    """The orchestrator scans only the series whose publication is out and not stored."""
    last_poll: time | None = None
    """A window schedule's last poll of the day, São Paulo time (the schedules' time zone):
    a ``due_only`` poll holds a resting source's due series for it when that poll comes after
    the rest (stages/due.py ``hold_resting``). None: no later poll is known, and a resting
    source's due series is held only once a poll of its rest has sent it."""
    force: bool = False
    """The outlook refreshes even when the data version has not moved (its daily run)."""

    def last_poll_at(self, now: datetime) -> datetime | None:
        """The instant of :attr:`last_poll` on ``now``'s São Paulo day (None without one)."""
        if self.last_poll is None:
            return None
        return datetime.combine(now.astimezone(SAO_PAULO).date(), self.last_poll, SAO_PAULO)


def _event_models() -> Any:
    """Powertools' EventBridge model, loosened where EventBridge Scheduler's Input differs.

    A rule's scheduled event carries the whole envelope; the Scheduler Input in
    infra/template.yaml carries only id, detail-type, source, a time placeholder and detail.
    """
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
    from pydantic import BaseModel, ConfigDict, Field, StrictBool

    class ScheduleDetail(BaseModel):
        model_config = ConfigDict(extra="ignore")

        series: list[str] | None = Field(default=None, min_length=1)
        """Series keys or prefixes; every series when absent. An empty list is refused: it
        names no series, and read as "every series" it scanned the whole catalog."""
        since: str | None = None
        """Ignore dates before this (YYYY-MM-DD)."""
        # The switches are JSON booleans (and one mode), checked like the rest: read by their
        # truth, ``"false"`` set them, and a mode misspelt ran the full gap scan.
        mode: Literal["revise"] | None = None
        due_only: StrictBool = False
        force: StrictBool = False
        last_poll: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
        """A window schedule's last poll of the day, ``HH:MM`` São Paulo time."""

    class ScheduledEvent(EventBridgeModel):
        # Only a schedule's event: another rule's (an S3 or EC2 notification routed here by
        # mistake) had its detail's own fields ignored and ran as a scan of every series.
        source: Literal["aws.scheduler", "aws.events"]
        detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
        version: str = "0"
        account: str = ""
        region: str = ""
        resources: list[str] = Field(default_factory=list)
        time: datetime | str  # type: ignore[assignment]  # "<aws.scheduler.scheduled-time>"
        detail: ScheduleDetail = Field(default_factory=ScheduleDetail)

    return ScheduledEvent


_JSON_KINDS = {type(None): "null", list: "a JSON array", str: "a JSON string", int: "a JSON number",
               float: "a JSON number", bool: "a JSON boolean"}  # fmt: skip


def json_kind(value: object) -> str:
    """What JSON ``value`` was decoded from, for an error about an event: ``a JSON array``."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


def schedule_options(event: Mapping[str, Any], catalog: Catalog) -> ScheduleOptions:
    """Read ``detail.series`` (keys or prefixes), ``detail.since``, the switches
    (``detail.mode``, ``detail.due_only``, ``detail.force``) and a window's
    ``detail.last_poll`` from a scheduled event; a ValueError naming each field that is wrong."""
    from aws_lambda_powertools.utilities.parser import parse
    from pydantic import ValidationError

    if not isinstance(event, Mapping):  # a payload of `null`, an array or a string
        raise ValueError(
            "not a scheduled event fuelpipe understands: the event is "
            f"{json_kind(event)}, not a JSON object"
        )
    try:
        detail = parse(event=dict(event), model=_event_models()).detail
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"not a scheduled event fuelpipe understands: {problems}") from None
    return ScheduleOptions(
        series=None if detail.series is None else catalog.select(detail.series),
        since=_since(detail.since) if detail.since else None,
        mode=detail.mode,
        due_only=detail.due_only,
        force=detail.force,
        last_poll=time.fromisoformat(detail.last_poll) if detail.last_poll else None,
    )


def _since(value: str) -> date:
    """``detail.since`` as a date; a ValueError naming the field, the form and the value
    (the key design's own error speaks of a "sort key", which the event has none of)."""
    try:
        return parse_date_key(value)
    except InvalidKeyError:
        raise ValueError(
            f"not a scheduled event fuelpipe understands: detail.since {value!r}"
            " is not a date in the ISO form YYYY-MM-DD"
        ) from None


def build_alerting(
    settings: Settings,
    *,
    dynamodb_client: Any = None,
    sns_client: Any = None,
    clock: Clock | None = None,
) -> tuple[Any, list[Any]]:
    """The AWS home's alert state (an item of the table) and sink (the SNS topic), or no sink
    when ``FUELPIPE_ALERT_TOPIC_ARN`` is not set."""
    from fuelpipe.adapters.alerts import DynamoAlertState, SnsSink
    from fuelpipe.adapters.clock import SystemClock

    state = DynamoAlertState(
        _naming_missing_tables(dynamodb_client or make_client("dynamodb", settings)),
        settings.table_name,
        # leases and the retention are wall-clock time, even when FUELPIPE_NOW pins the data's
        clock=clock or SystemClock(),
    )
    if not settings.alert_topic_arn:
        return state, []
    sns = sns_client or make_client("sns", settings)
    return state, [SnsSink(sns, settings.alert_topic_arn, settings.alert_language)]


def build_alert_reader(settings: Settings, *, dynamodb_client: Any = None) -> AlertReader:
    """The alert state's item, read by the dashboard for the active alerts (GetItem only)."""
    from fuelpipe.adapters.alerts import DynamoAlertState
    from fuelpipe.adapters.clock import SystemClock

    return DynamoAlertState(
        _naming_missing_tables(dynamodb_client or make_client("dynamodb", settings)),
        settings.table_name,
        clock=SystemClock(),  # never read by load(): leases and retention are the writers'
    )


# --- the intraday Lambda's home -------------------------------------------------------------


@dataclass(frozen=True)
class IntradayHome:
    """What intraday collection needs: the points' store, the intraday sources, a clock."""

    store: IntradayStore
    sources: Mapping[str, Source]
    catalog: Catalog
    clock: Clock


IntradayProvider = Callable[[], IntradayHome]


def build_intraday(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sources: Mapping[str, Source] | None = None,
    dynamodb_client: Any = None,
    catalog: Catalog | None = None,
) -> IntradayHome:
    """Wire intraday collection on the table: no queue (so no SQS call or right), and only the
    sources the intraday series come from (BCB and Yahoo)."""
    from fuelpipe.adapters.clock import FixedClock, SystemClock
    from fuelpipe.domain.intraday import INTRADAY_SERIES

    chosen = catalog or DEFAULT_CATALOG
    if sources is None:
        from fuelpipe.homes.sources import build_sources

        names = {chosen[k].source for k in INTRADAY_SERIES if k in chosen}
        sources = build_sources(settings, names)
    return IntradayHome(
        store=build_intraday_store(settings, dynamodb_client=dynamodb_client),
        sources=sources,
        catalog=chosen,
        clock=clock or (FixedClock(settings.now) if settings.now else SystemClock()),
    )


def lazy_intraday(settings: Settings, **kwargs: Any) -> IntradayProvider:
    """Build the intraday home on first use and keep it for the life of the Lambda environment."""
    return _once(lambda: build_intraday(settings, **kwargs))
