"""The AWS home's query engine: Athena runs the lake's named queries, the same SQL text DuckDB
runs locally, over the Glue table ``stations`` (infra/template.yaml), in one workgroup.

Athena answers every value as text; each column is converted by the type its
``ResultSetMetadata.ColumnInfo`` names, so a result holds the same Python values DuckDB gives
for the same rows (``date``, ``float``, ``int``, ``str``, None for NULL).

The station views ask Athena to reuse a previous result of the same query (Athena engine
version 3's query result reuse: same workgroup, same query text and parameters) when that
result is younger than the lake's last write: see ``reuse_minutes``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import stamina

from fuelpipe.adapters.lake.engine import QueryResult
from fuelpipe.adapters.lake.queries import (
    QUERIES,
    fuel_windows,
    window_months,
    window_params,
)
from fuelpipe.adapters.lake.storage import LakeListing, S3LakeStorage
from fuelpipe.domain.stations import lake_window
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.lake import LakeQueryFailed

_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}

REUSE_AFTER_WRITE = timedelta(minutes=5)
"""How long after the lake's last write no result is reused at all, and by how much every
reused result must be younger than that write: a query submitted just before the write may
end after it (the dashboard stops its queries after 12 s, the CLI after 120 s), and S3's,
Athena's and Lambda's clocks may differ by moments."""

MAX_REUSE_MINUTES = 10_080
"""The oldest result Athena reuses at all (``MaxAgeInMinutes``: 7 days)."""


def reuse_minutes(limit: int, last_write: datetime | None, now: datetime) -> int:
    """How old, in whole minutes, a reused result may be: at most ``limit``, and never old
    enough to predate the lake's ``last_write`` (by ``REUSE_AFTER_WRITE``), so a result
    computed before an ingest is never served after it. 0: run the query afresh."""
    if limit <= 0 or last_write is None:
        return 0
    since_write = (now - last_write - REUSE_AFTER_WRITE) // timedelta(minutes=1)
    return max(0, min(limit, MAX_REUSE_MINUTES, since_write))


def reuse_configuration(minutes: int) -> dict[str, Any]:
    """StartQueryExecution's ``ResultReuseConfiguration``: reuse a result up to ``minutes``
    old, or (0) reuse none."""
    if minutes <= 0:
        return {"ResultReuseByAgeConfiguration": {"Enabled": False}}
    return {"ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": minutes}}


class AthenaQueryFailed(LakeQueryFailed):
    """Athena ended a query in FAILED or CANCELLED, ran it past the timeout, refused a call,
    or answered a value its column type does not parse. ``retryable``: Athena said the query
    might succeed if submitted again (its ``AthenaError.Retryable``)."""

    def __init__(self, message: str, public: str | None = None, *, retryable: bool = False):
        super().__init__(message, public)
        self.retryable = retryable


def _resubmit(exc: Exception) -> bool:
    """stamina's hook: a query Athena failed saying it might succeed if submitted again."""
    return isinstance(exc, AthenaQueryFailed) and exc.retryable


@contextmanager
def athena_errors(what: str, public_what: str | None = None) -> Iterator[None]:
    """An error botocore did not retry away (access denied, a bad request, throttling past
    its retries) as one AthenaQueryFailed naming ``what`` was called and the service's own
    message; its public text names ``public_what`` and the error code only."""
    from botocore.exceptions import BotoCoreError, ClientError

    shown = public_what or what
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "error"), error.get("Message", str(exc))
        raise AthenaQueryFailed(f"{what}: {code}: {message}", f"{shown}: {code}") from None
    except BotoCoreError as exc:
        raise AthenaQueryFailed(f"{what}: {exc}", f"{shown}: {type(exc).__name__}") from None


def athena_literal(value: object) -> str:
    """A parameter as Athena's execution parameters want it: a SQL literal."""
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _boolean(text: str) -> bool:
    if text not in ("true", "false"):
        raise ValueError(text)
    return text == "true"


# Athena (Trino) type names as ColumnInfo gives them -> the Python type DuckDB returns.
_CONVERT: dict[str, Callable[[str], Any]] = {
    "varchar": str,
    "char": str,
    "string": str,
    "tinyint": int,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "double": float,  # also Trino's NaN, Infinity and 1.0E-4 forms
    "real": float,
    "float": float,
    "decimal": Decimal,
    "boolean": _boolean,
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
}


def converters(column_info: list[dict[str, Any]]) -> list[Callable[[str], Any]]:
    """One text-to-value function per column, by its ColumnInfo type."""
    out: list[Callable[[str], Any]] = []
    for column in column_info:
        kind = str(column.get("Type", "")).lower()
        if kind not in _CONVERT:
            raise AthenaQueryFailed(
                f"athena column {column.get('Name')!r} has type {kind!r}, which fuelpipe does "
                f"not read (it reads {', '.join(sorted(_CONVERT))})"
            )
        out.append(_CONVERT[kind])
    return out


def typed_row(
    values: list[str | None], convert: list[Callable[[str], Any]], names: list[str]
) -> tuple[Any, ...]:
    """One row of Athena text as typed values (a missing VarCharValue is NULL)."""
    out: list[Any] = []
    for value, to_value, name in zip(values, convert, names, strict=True):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(to_value(value))
        except (ValueError, ArithmeticError):
            raise AthenaQueryFailed(
                f"athena column {name!r}: {value[:40]!r} is not a {to_value.__name__} value"
            ) from None
    return tuple(out)


class _PastDeadline(Exception):
    """Raised in botocore's ``before-send`` hook: an attempt (a first try, a retry after a
    throttling backoff, a poll or a results page) would start past the query's deadline. Not a
    botocore error, so its retry handler gives up at once."""


class _Deadline(threading.local):
    """The deadline of the query this thread runs (``time.monotonic`` seconds), or None."""

    until: float | None = None


STOP_GRACE_S = 1.0
"""How long after a query's deadline its StopQueryExecution may still start an attempt: one
try (and a quick retry of a transient error), never a throttling backoff's seconds."""


class AthenaQueries:
    """Start, wait for and read one named query in the workgroup.

    ``timeout_s`` bounds the whole query (start, every poll, every results page): no API
    attempt, first try or botocore's retry after a backoff, starts past it (a ``before-send``
    hook on the client), so a query ends by then plus the one attempt in flight (the client's
    connect and read timeouts) and its stop. A query still running then is stopped. A query
    Athena ends FAILED saying it might succeed if submitted again (``AthenaError.Retryable``)
    is submitted once more within the same deadline.
    """

    def __init__(
        self,
        client: Any,
        workgroup: str,
        database: str,
        *,
        poll_s: float = 0.5,
        timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.workgroup = workgroup
        self.database = database
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._deadline = _Deadline()
        client.meta.events.register("before-send.athena", self._guard)

    def _guard(self, **_: Any) -> None:
        """botocore's ``before-send``: refuse an attempt past this thread's query deadline."""
        until = self._deadline.until
        if until is not None and self._monotonic() > until:
            raise _PastDeadline

    @contextmanager
    def _until(self, until: float, *, alone: bool = False) -> Iterator[None]:
        """Bound this thread's Athena calls by ``until``: and by the deadline already set,
        unless ``alone`` (the stop after that deadline)."""
        outer = self._deadline.until
        self._deadline.until = until if outer is None or alone else min(outer, until)
        try:
            yield
        finally:
            self._deadline.until = outer

    def start(self, name: str, params: dict[str, Any], reuse: int | None = None) -> str:
        """Submit the query; its execution id. ``reuse``: the age in minutes of a previous
        result Athena may answer with instead (0: none); None leaves it to Athena (none)."""
        q = QUERIES[name]
        kwargs: dict[str, Any] = {
            "QueryString": q.sql,
            "WorkGroup": self.workgroup,
            "QueryExecutionContext": {"Database": self.database},
        }
        if q.params:
            kwargs["ExecutionParameters"] = [athena_literal(params[p]) for p in q.params]
        if reuse is not None:
            kwargs["ResultReuseConfiguration"] = reuse_configuration(reuse)
        try:
            with athena_errors(f"athena query {name}"):
                return str(self.client.start_query_execution(**kwargs)["QueryExecutionId"])
        except _PastDeadline:
            raise AthenaQueryFailed(
                f"athena query {name}: not started within {self.timeout_s:g} s"
            ) from None

    def wait(self, execution_id: str) -> dict[str, Any]:
        """Poll until the query ends; its QueryExecution, or AthenaQueryFailed (a query still
        running at the deadline is stopped)."""
        # Our own loop: botocore has no Athena waiter (its athena data has no waiters-2.json).
        state = "QUEUED"
        try:
            with self._until(self._monotonic() + self.timeout_s):
                deadline = self._deadline.until or 0.0  # (query's, when it is sooner)
                while True:
                    with athena_errors(f"athena {execution_id}"):
                        execution: dict[str, Any] = self.client.get_query_execution(
                            QueryExecutionId=execution_id
                        )["QueryExecution"]
                    state = execution["Status"]["State"]
                    if state == "SUCCEEDED":
                        return execution
                    if state in _DONE:
                        raise _ended(execution_id, state, execution["Status"])
                    if self._monotonic() + self.poll_s > deadline:
                        break
                    self._sleep(self.poll_s)
        except _PastDeadline:
            pass
        raise AthenaQueryFailed(
            f"athena {execution_id}: still {state} after {self.timeout_s:g} s, "
            + self._stop(execution_id)
        )

    def _stop(self, execution_id: str) -> str:
        """Stop a query past its deadline, best effort: what became of it, for the message
        (the timeout is the error either way)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            with self._until(self._monotonic() + STOP_GRACE_S, alone=True):
                self.client.stop_query_execution(QueryExecutionId=execution_id)
        except _PastDeadline:
            return "not stopped (no answer in time)"
        except ClientError as exc:
            return f"not stopped ({exc.response.get('Error', {}).get('Code', 'error')})"
        except BotoCoreError as exc:
            return f"not stopped ({type(exc).__name__})"
        return "stopped"

    def results(self, execution_id: str) -> QueryResult:
        """A succeeded query's rows, every page (1,000 rows each; the header row, a SELECT's
        column names, only on the first), typed by their columns' Athena types."""
        rows: list[tuple[Any, ...]] = []
        columns: list[str] = []
        convert: list[Callable[[str], Any]] = []
        first = True
        with athena_errors(f"athena {execution_id}"):
            paginator = self.client.get_paginator("get_query_results")
            for page in paginator.paginate(QueryExecutionId=execution_id):
                info = page["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", [])
                if info and not columns:
                    columns = [c["Name"] for c in info]
                    convert = converters(info)
                for row in page["ResultSet"].get("Rows", []):
                    values = [d.get("VarCharValue") for d in row.get("Data", [])]
                    header, first = first and values == columns, False
                    if not header:  # a SELECT's first row repeats the column names
                        rows.append(typed_row(values, convert, columns))
        return QueryResult(columns, rows)

    def query(self, name: str, params: dict[str, Any], reuse: int | None = None) -> QueryResult:
        """Run the named query within ``timeout_s``; its rows typed by their columns' Athena
        types. ``reuse`` as for ``start``."""
        with self._until(self._monotonic() + self.timeout_s):
            # A query Athena failed as retryable (an internal error, say) is submitted once more
            # if its deadline allows (a start past it is refused, and that is not retried).
            for attempt in stamina.retry_context(
                on=_resubmit, attempts=2, timeout=None, wait_initial=0.2, wait_jitter=0.3
            ):
                with attempt:
                    execution_id = self.start(name, params, reuse)
                    self.wait(execution_id)
            try:
                return self.results(execution_id)
            except _PastDeadline:
                raise AthenaQueryFailed(
                    f"athena {execution_id}: results not read within {self.timeout_s:g} s"
                ) from None


def _ended(execution_id: str, state: str, status: dict[str, Any]) -> AthenaQueryFailed:
    """A query Athena ended FAILED or CANCELLED, with its reason (public: the state only)."""
    reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get(
        "ErrorMessage", "no reason given"
    )
    return AthenaQueryFailed(
        f"athena {execution_id}: {state}: {reason}",
        f"athena {execution_id}: {state}",
        retryable=state == "FAILED" and bool(status.get("AthenaError", {}).get("Retryable")),
    )


class AthenaStations:
    """The station views' queries (the dashboard's ``StationQueries``) on Athena: the named
    queries typed as DuckDB types them, and each fuel's window found as StationLake finds it
    (the named query ``window`` over each fuel's first and last month with partition files).

    Each query lets Athena reuse a result up to ``reuse_limit`` minutes old that is younger
    than the lake's last write (``reuse_minutes``; 0: never reuse). The last write comes from
    the same S3 listing the window needs, so it holds across Lambda instances, whoever wrote.
    """

    def __init__(
        self,
        queries: AthenaQueries,
        storage: S3LakeStorage,
        *,
        clock: Clock,
        reuse_limit: int = 0,
    ) -> None:
        self.queries = queries
        self.storage = storage
        self.clock = clock
        self.reuse_limit = reuse_limit
        self._window: tuple[tuple[tuple[str, str, str], ...], dict[str, tuple[date, date]]] | None
        self._window = None
        self._lock = threading.Lock()

    def _listing(self) -> LakeListing:
        with athena_errors(f"listing {self.storage.describe()}", "listing the lake"):
            return self.storage.listing()

    def _reuse(self, listing: LakeListing) -> int:
        return reuse_minutes(self.reuse_limit, listing.last_write, self.clock.now())

    def query(self, name: str, params: dict[str, Any]) -> QueryResult:
        """Run one of the named queries on Athena (a result younger than the lake's last
        write may answer it)."""
        return self.queries.query(name, params, self._reuse(self._listing()))

    def old_layout(self) -> int | None:
        """The lake's layout when it is older than today's, else None (``storage.old_layout``:
        one GET of the manifest, answered 304 without a body while it is unchanged). Athena
        reads the partitions as they are, so an old lake's answers may count one station twice
        until it is migrated."""
        with athena_errors(f"reading {self.storage.describe()}", "reading the lake's manifest"):
            return self.storage.old_layout()

    def fuel_windows(self) -> dict[str, tuple[date, date]]:
        """Each fuel's first and last collection day, for the fuels the lake holds."""
        # Every view asks, and an Athena query takes seconds where an S3 listing takes
        # milliseconds: the query runs again only when a fuel's end months' files change (ETag).
        listing = self._listing()
        tags = listing.etags
        if not tags:
            return {}
        ends = window_months(tags)
        key = tuple(sorted((p, m, tag) for (p, m), tag in tags.items() if (p, m) in ends))
        with self._lock:
            if self._window is not None and self._window[0] == key:
                return self._window[1]
        result = self.queries.query("window", window_params(tags), self._reuse(listing))
        found = fuel_windows(result.rows)
        with self._lock:
            self._window = (key, found)
        return found

    def window(self) -> tuple[date, date] | None:
        """First and last collection day in the lake, or None when it has no partition."""
        return lake_window(self.fuel_windows())
