"""The AWS home's query engine: Athena runs the lake's named queries, the same SQL text DuckDB
runs locally, over the Glue table ``stations`` (infra/template.yaml), in one workgroup."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from fuelpipe.adapters.lake.engine import QueryResult
from fuelpipe.adapters.lake.queries import QUERIES

_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


class AthenaQueryFailed(RuntimeError):
    """Athena ended a query in FAILED or CANCELLED (or it ran past the timeout)."""


def athena_literal(value: object) -> str:
    """A parameter as Athena's execution parameters want it: a SQL literal."""
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class AthenaQueries:
    """Start, wait for and read one named query in the workgroup."""

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

    def start(self, name: str, params: dict[str, Any]) -> str:
        """Submit the query; its execution id."""
        q = QUERIES[name]
        kwargs: dict[str, Any] = {
            "QueryString": q.sql,
            "WorkGroup": self.workgroup,
            "QueryExecutionContext": {"Database": self.database},
        }
        if q.params:
            kwargs["ExecutionParameters"] = [athena_literal(params[p]) for p in q.params]
        return str(self.client.start_query_execution(**kwargs)["QueryExecutionId"])

    def wait(self, execution_id: str) -> dict[str, Any]:
        """Poll until the query ends; its QueryExecution, or AthenaQueryFailed."""
        deadline = self._monotonic() + self.timeout_s
        while True:
            execution: dict[str, Any] = self.client.get_query_execution(
                QueryExecutionId=execution_id
            )["QueryExecution"]
            state = execution["Status"]["State"]
            if state == "SUCCEEDED":
                return execution
            if state in _DONE:
                reason = execution["Status"].get("StateChangeReason", "")
                raise AthenaQueryFailed(f"athena {execution_id}: {state} {reason}".strip())
            if self._monotonic() > deadline:
                self.client.stop_query_execution(QueryExecutionId=execution_id)
                raise AthenaQueryFailed(f"athena {execution_id}: still {state} after timeout")
            self._sleep(self.poll_s)

    def query(self, name: str, params: dict[str, Any]) -> QueryResult:
        """Run the named query; the header row becomes the column names (values are text)."""
        execution_id = self.start(name, params)
        self.wait(execution_id)
        rows: list[tuple[Any, ...]] = []
        columns: list[str] = []
        paginator = self.client.get_paginator("get_query_results")
        for page in paginator.paginate(QueryExecutionId=execution_id):
            info = page["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", [])
            if info and not columns:
                columns = [c["Name"] for c in info]
            for row in page["ResultSet"].get("Rows", []):
                values = tuple(d.get("VarCharValue") for d in row.get("Data", []))
                if columns and list(values) == columns:
                    continue  # Athena repeats the header as the first row
                rows.append(values)
        return QueryResult(columns, rows)
