"""`make demo-aws`: the offline demo on dynalite + moto_server, run through the Lambda handlers.

What the AWS services would do is played here: EventBridge Scheduler sends the data_clustering
and retry_recheck handlers a scheduled event; the SQS event source mapping receives as many
messages as the template's BatchSize (1), hands them to the scraper handler as one event, and
deletes every message not listed in ``batchItemFailures``. The handlers build nothing
themselves: the AWS composition root builds the boto3 clients, pointed at the local servers by
``AWS_ENDPOINT_URL_DYNAMODB/_SQS``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # devtools: the local servers and Lambda event shapes

from devtools.aws.lambda_events import (  # noqa: E402
    FakeLambdaContext,
    emf_blobs,
    failed_ids,
    load_handler,
    map_event_source,
    scheduled_event,
    sqs_event,
)
from devtools.aws.servers import (  # noqa: E402
    DUMMY_CREDENTIALS,
    REGION,
    LocalServer,
    start_dynalite,
    start_moto,
)
from rich.console import Console  # noqa: E402

from fuelpipe.adapters.clock import FixedClock  # noqa: E402
from fuelpipe.cli import display  # noqa: E402
from fuelpipe.cli.demo_parts import has_records, plan_phases, requests_line, snapshot_dir  # noqa: E402
from fuelpipe.homes.settings import Settings  # noqa: E402
from fuelpipe.stages.context import StageContext  # noqa: E402
from fuelpipe.stages.status import KeyStatus, status  # noqa: E402

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
TEMPLATE = ROOT / "infra" / "template.yaml"


def scraper_batch_size(template: Path = TEMPLATE) -> int:
    """The messages one scraper invocation gets: the BatchSize of the template's event source
    mapping (ScraperDownloads), so the demo hands the handler what AWS would."""
    text = template.read_text(encoding="utf-8")
    block = re.search(r"^  ScraperDownloads:\n((?:    .*\n|\n)+)", text, re.M)
    size = block and re.search(r"^      BatchSize: (\d+)", block.group(1), re.M)
    if not size:
        raise LookupError(f"{template}: no BatchSize in ScraperDownloads")
    return int(size.group(1))


class Invoker:
    """Calls handlers like the Lambda service does, keeping their EMF metrics and quiet logs."""

    def __init__(self) -> None:
        self.metrics: Counter[str] = Counter()
        self.invocations: Counter[str] = Counter()

    def __call__(self, name: str, handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):  # EMF goes to stdout, as in CloudWatch Logs
            result = handler(event, FakeLambdaContext(name))
        self.invocations[name] += 1
        for blob in emf_blobs(out.getvalue()):
            for spec in blob["_aws"]["CloudWatchMetrics"]:
                for m in spec["Metrics"]:
                    value = blob[m["Name"]]
                    self.metrics[m["Name"]] += sum(value) if isinstance(value, list) else value
        return result


def drain(
    app: StageContext,
    scraper: Handler,
    invoke: Invoker,
    queue_name: str,
    poll_s: float = 0.25,
    batch_size: int | None = None,
) -> int:
    """The event source mapping: receive a batch (the template's BatchSize unless given),
    invoke, delete the successes; until empty."""
    batch = scraper_batch_size() if batch_size is None else batch_size
    return map_event_source(
        app.queue,
        lambda messages: failed_ids(invoke("scraper", scraper, sqs_event(messages, queue_name))),
        batch,
        poll_s=poll_s,
    )


def compare_with_embedded(
    console: Console, rows: list[KeyStatus], phases: list[Any], db: Path
) -> int:
    """Differences between these rows and the embedded demo's store, series for series."""
    from fuelpipe.homes.embedded import build_context as build_embedded

    ours = {r.key: r.as_dict() for r in rows}
    differences = 0
    for phase in phases:
        embedded = build_embedded(Settings(db=db), clock=FixedClock(phase.now), sources={})
        try:
            for row in status(embedded, phase.series, phase.since):
                if ours.get(row.key) != row.as_dict():
                    differences += 1
                    console.print(f"  [red]differs[/] {row.key}: aws {ours.get(row.key)}")
                    console.print(f"  {' ' * (len(row.key) + 9)}embedded {row.as_dict()}")
        finally:
            embedded.close()
    console.print(
        f"compared with the embedded demo's store {db}: "
        + ("[green]identical status on every series[/]" if not differences
           else f"[red]{differences} series differ[/] (an older store? run `make demo` again)")
    )  # fmt: skip
    return differences


def main(
    argv: list[str] | None = None,
    servers: tuple[Callable[[], LocalServer], ...] = (start_dynalite, start_moto),
) -> int:
    """Start the servers and the replay, run every demo phase through the handlers, report.

    Every server started is stopped on the way out, whether the demo succeeds, fails or is
    interrupted (Ctrl+C, or SIGTERM when run as a script) while a later one is still starting.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json",
        action="store_true",
        help="print every series' status row as JSON (default: a one-screen summary)",
    )
    args = parser.parse_args(argv)
    console = Console()
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as running:
            dynalite, moto = (running.enter_context(_stopped_on_exit(start())) for start in servers)
            # This process is the "Lambda environment": boto3 reads the endpoints itself.
            os.environ.update(
                AWS_ENDPOINT_URL_DYNAMODB=dynalite.url,
                AWS_ENDPOINT_URL_SQS=moto.url,
                AWS_ACCESS_KEY_ID=DUMMY_CREDENTIALS["aws_access_key_id"],
                AWS_SECRET_ACCESS_KEY=DUMMY_CREDENTIALS["aws_secret_access_key"],
                AWS_DEFAULT_REGION=REGION,
                AWS_EC2_METADATA_DISABLED="true",
                POWERTOOLS_LOG_LEVEL="WARNING",
            )
            code = run(console, dynalite.url, moto.url, started, as_json=args.json)
        console.print(
            "dynalite and moto_server stopped; the demo's table and queues went with them"
        )
        return code
    except KeyboardInterrupt:
        console.print("interrupted: the local servers are stopped; run `make demo-aws` again")
        return 130


@contextlib.contextmanager
def _stopped_on_exit(server: LocalServer) -> Iterator[LocalServer]:
    try:
        yield server
    finally:
        server.stop()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # SystemExit unwinds like Ctrl+C does, so main's cleanup stops the servers (the default
    # SIGTERM action would end the process at once and leave them running).
    raise SystemExit(128 + signum)


def run(
    console: Console, dynalite_url: str, moto_url: str, started: float, *, as_json: bool
) -> int:
    """The demo proper, once the servers are up."""
    from fuelpipe.homes.aws import build_context, create_resources
    from fuelpipe.replay.server import ReplayServer

    coverage = json.loads((snapshot_dir() / "coverage.json").read_text())
    phases = plan_phases(coverage)
    handlers = {n: load_handler(n) for n in ("data_clustering", "scraper", "retry_recheck")}
    invoke = Invoker()
    rows: list[KeyStatus] = []
    with ReplayServer(quiet=True) as replay:
        urls = {f"source_{name}_url": url for name, url in replay.source_urls().items()}
        cfg = Settings(
            backend="aws",
            table_name="fuelpipe-demo",
            queue_name="fuelpipe-demo-downloads",
            dlq_name="fuelpipe-demo-downloads-dlq",
            visibility_timeout_s=5,  # a failed message comes back in seconds, not minutes
            now=None,
            **urls,
        )
        created = create_resources(cfg, poll_s=0.05)
        console.print(
            f"[bold]fuelpipe demo-aws[/]: DynamoDB on dynalite {dynalite_url}, SQS on "
            f"moto_server {moto_url}, sources replayed on {replay.url}\n"
            f"created table {created['table']}, queue {created['queue_url']} and its "
            f"dead-letter queue {created['dlq_url']}",
            highlight=False,
        )
        for phase in phases:
            app = build_context(cfg, clock=FixedClock(phase.now))
            try:
                run_phase(console, app, phase, handlers, invoke, cfg.queue_name)
                rows.extend(status(app, phase.series, phase.since))
                dead = app.queue.dead_letters()
            finally:
                app.close()
        requests = replay.request_counts
    # As the embedded demo: a series with nothing published by its clock is left out.
    idle = [r.key for r in rows if not (r.expected or has_records(r))]
    counted = [r for r in rows if r.key not in idle]
    if as_json:
        print(json.dumps([r.as_dict() for r in counted], indent=1))
    else:  # one screen, as the embedded demo ends (--json gives every series)
        display.print_status_summary(console, counted)
    missing = sum(r.missing for r in counted)
    console.print(summary(counted, idle, requests, invoke, len(dead)), highlight=False)
    console.print(f"done in {time.perf_counter() - started:.1f} s", highlight=False)
    db = Settings().db
    if db.exists():
        compare_with_embedded(console, rows, phases, db)
    else:
        console.print(f"(no embedded store at {db}: run `make demo` to compare the two homes)")
    if missing:
        console.print(f"[bold red]error:[/] {missing} expected dates are still missing")
        return 1
    console.print(
        "next: docs/DEPLOY.md deploys the same handlers to AWS; docs/AWS.md says what runs where"
    )
    return 0


def summary(
    rows: list[KeyStatus],
    idle: list[str],
    requests: dict[str, int],
    invoke: Invoker,
    dead_letters: int,
) -> str:
    """The closing lines: the store's counts (as the embedded demo counts them), what was
    invoked and the EMF metrics the handlers logged."""
    records = sum(r.present + r.unexpected for r in rows)
    lines = [
        f"\n{len(rows)} series, {records:,} records, {sum(r.missing for r in rows)} missing, "
        f"{sum(r.pending for r in rows)} pending, {sum(r.quarantined for r in rows)} "
        f"quarantined, {sum(r.absent for r in rows)} absent (the source has no value), "
        f"{sum(r.unexpected for r in rows)} on days their calendar skips, {dead_letters} dead "
        f"letters; source requests: {requests_line(requests)}",
        "Lambda invocations: " + _counts(invoke.invocations),
        "EMF metrics the handlers logged (CloudWatch would chart these): "
        + _counts(invoke.metrics),
    ]
    if idle:
        lines.append(f"not counted (no value published by their demo clock): {', '.join(idle)}")
    return "\n".join(lines)


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {value:,.0f}" for name, value in counts.items()) or "none"


def stage_line(name: str, counters: dict[str, int]) -> str:
    """``name: keys scanned 179; messages sent 1``: one stage's non-zero counters, in words,
    name then value as `make demo`'s lines (cli/display.py ``print_cycle_lines``)."""
    said = [f"{key.replace('_', ' ')} {value:,}" for key, value in counters.items() if value]
    return f"  {name}: {'; '.join(said) or 'nothing to do'}"


def run_phase(
    console: Console,
    app: StageContext,
    phase: Any,
    handlers: dict[str, Any],
    invoke: Invoker,
    queue_name: str,
) -> None:
    """Scheduled orchestrator → drain → scheduled recheck → drain, all through the handlers."""
    detail = {"series": [s.key for s in phase.series], "since": phase.since.isoformat()}
    orchestrated = invoke(
        "data_clustering",
        handlers["data_clustering"].make_handler(lambda: app),
        scheduled_event(detail, scheduler=True),
    )
    scraper = handlers["scraper"].make_handler(lambda: app)
    scraped = drain(app, scraper, invoke, queue_name)
    rechecked = invoke(
        "retry_recheck",
        handlers["retry_recheck"].make_handler(lambda: app),
        scheduled_event({"series": detail["series"]}),
    )
    if rechecked["messages_sent"]:
        scraped += drain(app, scraper, invoke, queue_name)
    console.print(
        f"\n[bold]{phase.name}[/]: {len(phase.series)} series from {phase.since}, now = "
        f"{phase.now.isoformat()}",
        highlight=False,
    )
    for name, counters in (
        ("data_clustering", orchestrated),
        ("scraper", {"messages_handled": scraped}),
        ("retry_recheck", rechecked),
    ):
        console.print(stage_line(name, counters), highlight=False)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    raise SystemExit(main())
