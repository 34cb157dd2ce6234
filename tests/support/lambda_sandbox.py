"""Run one Lambda handler in a fresh interpreter, as the Lambda Python runtime would.

tests/aws/test_handler_permissions.py starts it as a script, never imports it::

    python -I tests/support/lambda_sandbox.py JOB.json

``JOB.json`` holds ``handler`` (the path of ``lambdas/<name>/handler.py``), ``block`` (true: only
the standard library, ``fuelpipe`` and the top-level modules in ``allowed`` can be imported, as in
a package built from the function's lock file), ``lock_file`` (named in the ImportError) and
``invocations``: each an ``event`` and the ``context`` attributes to hand the handler, and
``partition_key``: the table's partition key attribute, whose values each DynamoDB write names
are reported (IAM's ``dynamodb:LeadingKeys``, which client-side monitoring does not carry). The
handler is loaded by file path as the module ``handler`` (``Handler: handler.lambda_handler``)
and called once per invocation in this one process, like warm invocations of one environment.

Output: one ``LAMBDA-RESULT <json>`` line per outcome on stdout (``phase`` "init" or "invoke",
``ok``, then ``result`` or ``error`` and ``traceback``), and one ``LAMBDA-BLOCKED <module>`` line
on stderr per module the lock file lacks, and one ``LAMBDA-WRITE <json>`` line on stderr per
DynamoDB write action (``action``, as IAM names it, and the sorted ``keys`` it writes under),
one ``LAMBDA-READ <json>`` line per DynamoDB read by key (GetItem, BatchGetItem: its ``action``
and ``keys``), and one ``LAMBDA-INDEX <json>`` line per Query or Scan of a table's index (``action`` and
``index``: IAM authorizes it by the index's ARN, not the table's). Exit status 1 when the init or any invocation failed.
Only the standard library is imported here before the import blocker is installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

RESULT = "LAMBDA-RESULT "
BLOCKED = "LAMBDA-BLOCKED "
ALWAYS_ALLOWED = frozenset({"fuelpipe"})
"""Top-level modules every function package ships besides its lock file (`make package`)."""
WRITE = "LAMBDA-WRITE "
INDEX = "LAMBDA-INDEX "
READ = "LAMBDA-READ "
QUIET_PROBES = frozenset({"org"})
"""Modules the standard library tries and does without (copy.py's Jython probe): not reported."""
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
"""IAM authorizes each item of a TransactWriteItems call by its own action."""


def is_stdlib(top: str) -> bool:
    """True for the standard library's modules, the build's ``_sysconfigdata_*`` included."""
    return top in sys.stdlib_module_names or top.startswith("_sysconfigdata_")


class LockFileFinder(importlib.abc.MetaPathFinder):
    """Fails the import of any top-level module a package built from the lock file lacks."""

    def __init__(self, allowed: set[str], lock_file: str) -> None:
        self.allowed = allowed | ALWAYS_ALLOWED
        self.lock_file = lock_file
        self.blocked: set[str] = set()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """None (let the other finders look) for allowed modules; else ModuleNotFoundError."""
        top = fullname.partition(".")[0]
        if top in self.allowed or is_stdlib(top):
            return None
        if top not in self.blocked and top not in QUIET_PROBES:
            self.blocked.add(top)
            print(BLOCKED + top, file=sys.stderr, flush=True)
        raise ModuleNotFoundError(f"No module named {top!r} (not in {self.lock_file})", name=top)


class LambdaContext:
    """The context object the runtime passes, from the attributes the test sent."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields["function_version"]
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = fields["memory_limit_in_mb"]
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields["log_stream_name"]
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + fields["timeout_ms"] / 1000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def written_keys(operation: str, params: dict[str, Any], attr: str) -> list[tuple[str, list[str]]]:
    """(IAM action, partition keys) of one DynamoDB call's writes; [] for a read."""

    def key_of(item: dict[str, Any]) -> str:
        return str(item[attr]["S"])

    if operation == "PutItem":
        return [("dynamodb:PutItem", [key_of(params["Item"])])]
    if operation in {"UpdateItem", "DeleteItem"}:
        return [(f"dynamodb:{operation}", [key_of(params["Key"])])]
    if operation == "BatchWriteItem":
        keys = [
            key_of(r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"])
            for requests in params["RequestItems"].values()
            for r in requests
        ]
        return [("dynamodb:BatchWriteItem", keys)]
    if operation == "TransactWriteItems":
        by_action: dict[str, list[str]] = {}
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            item = body["Item"] if kind == "Put" else body["Key"]
            by_action.setdefault(f"dynamodb:{TRANSACT_ACTIONS[kind]}", []).append(key_of(item))
        return list(by_action.items())
    return []


def read_keys(operation: str, params: dict[str, Any], attr: str) -> list[tuple[str, list[str]]]:
    """(IAM action, partition keys) of one DynamoDB read by key (GetItem, BatchGetItem); [] for
    any other call (a Query names its partition inside its key condition)."""
    if operation == "GetItem":
        return [("dynamodb:GetItem", [str(params["Key"][attr]["S"])])]
    if operation == "BatchGetItem":
        keys = [str(key[attr]["S"]) for table in params["RequestItems"].values()
                for key in table["Keys"]]  # fmt: skip
        return [("dynamodb:BatchGetItem", keys)]
    return []


def record_writes(attr: str) -> None:
    """Report the partition keys of every DynamoDB write any botocore client makes (LAMBDA-WRITE
    lines) and of every read by key (LAMBDA-READ lines), and the index of every Query or Scan
    of one (LAMBDA-INDEX lines), before the call is sent: a refused or failing call still
    needed the permission."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            for action, keys in written_keys(operation, params, attr):
                line = json.dumps({"action": action, "keys": sorted(set(keys))})
                print(WRITE + line, file=sys.stderr, flush=True)
            for action, keys in read_keys(operation, params, attr):
                line = json.dumps({"action": action, "keys": sorted(set(keys))})
                print(READ + line, file=sys.stderr, flush=True)
            if operation in {"Query", "Scan"} and "IndexName" in params:
                line = json.dumps({"action": f"dynamodb:{operation}", "index": params["IndexName"]})
                print(INDEX + line, file=sys.stderr, flush=True)
        return original(self, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]


def emit(outcome: dict[str, Any]) -> None:
    """One outcome line on stdout (between the handler's own log and metric lines)."""
    print(RESULT + json.dumps(outcome, default=str), flush=True)


def failure(phase: str, exc: BaseException, **extra: Any) -> dict[str, Any]:
    """An outcome for an exception: its type and message, and the traceback."""
    return {
        "phase": phase,
        "ok": False,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
        **extra,
    }


def load_handler(path: Path) -> ModuleType:
    """Import ``path`` as the module ``handler``, with its folder first on sys.path (/var/task)."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["handler"] = module
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str]) -> int:
    """Run the job; 0 when the init and every invocation succeeded."""
    job = json.loads(Path(argv[1]).read_text())
    # This checkout's fuelpipe, as the zip ships it, not whatever the environment installed
    # (an editable install of another checkout shares the virtualenv).
    sys.path.insert(0, job["src"])
    if job["block"]:
        sys.meta_path.insert(0, LockFileFinder(set(job["allowed"]), job["lock_file"]))
    try:
        if job.get("partition_key"):  # botocore is in every function's lock file
            record_writes(job["partition_key"])
        handler = load_handler(Path(job["handler"])).lambda_handler
    except Exception as exc:  # Runtime.ImportModuleError: the init fails, nothing runs
        emit(failure("init", exc))
        return 1
    failed = False
    for index, invocation in enumerate(job["invocations"]):
        try:
            result = handler(invocation["event"], LambdaContext(invocation["context"]))
        except Exception as exc:  # an unhandled error: this invocation fails, the next runs
            emit(failure("invoke", exc, index=index))
            failed = True
        else:
            emit({"phase": "invoke", "ok": True, "index": index, "result": result})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
