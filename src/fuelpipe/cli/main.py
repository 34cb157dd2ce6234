"""`fuelpipe`: run the pipeline, inspect it, replay sources offline, serve the dashboard."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fuelpipe.cli import _progress
from fuelpipe.cli.extras import dashboard_hint
from fuelpipe.cli.revise import revise_command
from fuelpipe.domain.keys import parse_date_key
from fuelpipe.domain.models import Record
from fuelpipe.homes.app import App
from fuelpipe.homes.settings import Settings, parse_now

app = typer.Typer(
    help=(
        "fuelpipe keeps a complete history of Brazilian pump prices (ANP), exchange rates "
        "(BCB PTAX), oil shares (Yahoo) and Brent (FRED), and shows how they move together.\n\n"
        "Settings come from FUELPIPE_* environment variables (see README); the store is "
        "./data/fuelpipe.sqlite unless FUELPIPE_DB says otherwise."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
quarantine_app = typer.Typer(help="Records whose retries are spent, waiting for a person.")
dlq_app = typer.Typer(help="Queue messages that could not be processed (dead letters).")
aws_app = typer.Typer(help="The AWS home: DynamoDB, SQS and Lambda.")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(dlq_app, name="dlq")
app.add_typer(aws_app, name="aws")

# Piped output (CI logs, `make demo | tee`) gets a wide table rather than rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 300)


class CliState:
    """Options given before the command, shared by every command."""

    overrides: dict[str, Any] = {}  # noqa: RUF012 - one CLI invocation per process


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear line and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def settings(**extra: Any) -> Settings:
    """Settings from the environment plus the global options; one clear line when invalid."""
    try:
        return Settings(**{**CliState.overrides, **extra})
    except ValidationError as exc:
        problems = "; ".join(
            f"FUELPIPE_{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise fail(f"invalid configuration: {problems}") from None


def build(cfg: Settings) -> App:
    """The composition root of the configured home."""
    try:
        if cfg.backend == "aws":
            from fuelpipe.homes.aws import build_app as build_aws

            return build_aws(cfg)
        from fuelpipe.homes.local import build_app as build_local

        return build_local(cfg)
    except Exception as exc:  # a bad path, missing endpoint: say it in one line
        raise fail(f"cannot start the {cfg.backend} home: {exc}") from None


def _select(app_: App, series: list[str] | None) -> list[Any] | None:
    if not series:
        return None
    try:
        return app_.catalog.select(series)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_date_key(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


@app.callback()
def main(
    now: Annotated[
        str | None,
        typer.Option(
            help="Pretend it is this instant (ISO 8601; no offset = America/Sao_Paulo). "
            "Also FUELPIPE_NOW. Makes backfills, retries and tests reproducible.",
            envvar="FUELPIPE_NOW",
        ),
    ] = None,
) -> None:
    """fuelpipe command line."""
    if now:
        try:
            CliState.overrides["now"] = parse_now(now)
        except ValueError as exc:
            raise fail(str(exc)) from None


@app.command()
def run(
    series: Annotated[
        list[str] | None,
        typer.Option(
            "--series", "-s", help="Keys or prefixes, e.g. CURRENCY#USD or FUEL#GASOLINE."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Ignore dates before this (YYYY-MM-DD).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """One full cycle: orchestrate, scrape until the queue is drained, recheck; then a summary."""
    from fuelpipe.stages.cycle import run_cycle

    cfg = settings()
    a = build(cfg)
    try:
        chosen = _select(a, series)
        with _progress.bar(console, disable=as_json) as progress:
            report = run_cycle(a, series=chosen, since=_date(since, "--since"), progress=progress)
    finally:
        a.close()
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _progress.print_cycle(console, report.as_dict())


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    series: Annotated[
        list[str] | None, typer.Option("--series", "-s", help="Keys or prefixes.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Count expected dates from here.")] = None,
    all_keys: Annotated[
        bool, typer.Option("--all", help="Include keys with no record yet.")
    ] = False,
) -> None:
    """Per key: expected, present, missing, pending and quarantined counts, first and last date."""
    from fuelpipe.stages.status import status as compute

    cfg = settings()
    a = build(cfg)
    try:
        rows = compute(a, _select(a, series), _date(since, "--since"), stored_only=not all_keys)
    finally:
        a.close()
    if as_json:
        keys = (
            "key",
            "expected",
            "present",
            "missing",
            "pending",
            "quarantined",
            "absent",
            "unexpected",
            "revised",
            "first",
            "last",
        )
        print(json.dumps([{k: r.as_dict()[k] for k in keys} for r in rows], indent=2))
        return
    _progress.print_status(console, rows)


def _record_json(r: Record) -> dict[str, Any]:
    out: dict[str, Any] = {
        "date": r.date.isoformat(),
        "value": None if r.value is None else str(r.value),
        "status": r.status.value,
        "retry_count": r.retry_count,
    }
    if r.reason:
        out["reason"] = r.reason
    if r.next_attempt_at:
        out["next_attempt_at"] = r.next_attempt_at.isoformat()
    for k, v in r.attrs.items():
        out.setdefault(k, str(v) if isinstance(v, Decimal) else v)
    if r.revisions:
        # Every earlier value with when and by which request it was replaced (oldest first).
        out["revisions"] = [
            {
                "previous": str(rev.previous),
                "new": str(rev.new),
                "seen_at": rev.seen_at.isoformat(),
                "request": rev.request,
            }
            for rev in r.revisions
        ]
    return out


@app.command()
def export(
    key: Annotated[str | None, typer.Argument(help="A partition key, e.g. CURRENCY#USD.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, json or parquet.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout).")
    ] = None,
    series: Annotated[
        list[str] | None,
        typer.Option("--series", "-s", help="parquet: keys or globs, e.g. 'FUEL#GASOLINE#*'."),
    ] = None,
) -> None:
    """Every record of one key: date, value, status, retry_count and the series' attributes.

    With --format parquet, every key the KEY and --series patterns match, into one file."""
    if fmt == "parquet":
        _export_parquet([*([key] if key else []), *(series or [])], output)
        return
    if fmt not in ("csv", "json"):
        raise fail(f"--format must be csv, json or parquet, not {fmt!r}")
    if key is None or series:
        raise fail("csv and json export one KEY; --series is for --format parquet")
    cfg = settings()
    a = build(cfg)
    try:
        if key not in a.catalog:
            raise fail(f"{key!r} is not in the series catalog (try `fuelpipe status --all`)")
        rows = [_record_json(r) for r in a.store.query(key)]
    finally:
        a.close()
    if fmt == "json":
        text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    else:
        cols = ["date", "value", "status", "retry_count"]
        cols += sorted({c for r in rows for c in r} - set(cols))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        writer.writeheader()
        # A revision history is one JSON cell in CSV.
        writer.writerows(
            {**r, "revisions": json.dumps(r["revisions"])} if "revisions" in r else r for r in rows
        )
        text = buf.getvalue()
    if output:
        output.write_text(text)
    else:
        sys.stdout.write(text)


def _export_parquet(patterns: list[str], output: Path | None) -> None:
    from fuelpipe.cli.export_parquet import ExportError, check_request, export_parquet

    try:
        check_request(patterns, output)
    except ExportError as exc:
        raise fail(escape(str(exc))) from None
    a = build(settings())
    try:
        keys, rows = export_parquet(a, patterns, output)
    except ExportError as exc:
        raise fail(escape(str(exc))) from None
    finally:
        a.close()
    err.print(f"wrote {rows} records of {keys} series to {output}", highlight=False)


@quarantine_app.command("list")
def quarantine_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every quarantined record with its reason."""
    a = build(settings())
    try:
        rows = a.store.quarantined()
    finally:
        a.close()
    if as_json:
        print(json.dumps([{"key": r.key, **_record_json(r)} for r in rows], indent=2))
        return
    table = Table("key", "date", "retries", "reason", title=f"{len(rows)} quarantined")
    for r in rows:
        table.add_row(r.key, r.date.isoformat(), str(r.retry_count), r.reason or "")
    console.print(table)


@quarantine_app.command("release")
def quarantine_release(
    key: Annotated[str, typer.Argument(help="Partition key.")],
    day: Annotated[str, typer.Argument(metavar="DATE", help="YYYY-MM-DD.")],
) -> None:
    """Give a quarantined record a fresh retry budget; the next recheck re-downloads it."""
    when = _date(day, "DATE")
    assert when is not None
    a = build(settings())
    try:
        ok = a.store.release(key, when, a.clock.now())
    finally:
        a.close()
    if not ok:
        raise fail(f"{key} {day} is not quarantined", code=1)
    console.print(f"released {key} {day}: it will be re-downloaded by the next recheck")


@dlq_app.command("list")
def dlq_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Dead-lettered messages with the reason each was set aside."""
    a = build(settings())
    try:
        rows = a.queue.dead_letters()
    finally:
        a.close()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": d.message_id,
                        "reason": d.reason,
                        "receive_count": d.receive_count,
                        "body": d.body,
                    }
                    for d in rows
                ],
                indent=2,
            )
        )
        return
    table = Table("id", "receives", "reason", "body", title=f"{len(rows)} dead letters")
    for d in rows:
        table.add_row(d.message_id[:12], str(d.receive_count), d.reason, d.body[:80])
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive() -> None:
    """Move every dead letter back to the main queue."""
    a = build(settings())
    try:
        moved = a.queue.redrive()
    finally:
        a.close()
    console.print(f"moved {moved} message(s) back to the queue")


app.command(name="revise")(revise_command)


@app.command()
def replay(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = any free port).")] = 8765,
    faults: Annotated[
        str | None,
        typer.Option(help="Fault spec, e.g. 'all:0.3' or 'bcb:5xx=0.1;yahoo:429=0.2', or a file."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the faults, so a run repeats.")] = 0,
    revise: Annotated[
        list[str] | None,
        typer.Option(
            "--revise",
            help="Serve a revised value: KEY@YYYY-MM-DD=VALUE, e.g. "
            "COMMODITY#BRENT@2022-03-08=128.1 (repeatable; PTAX, Yahoo and FRED series).",
        ),
    ] = None,
) -> None:
    """Serve every source's real wire format from the bundled real data, offline."""
    from fuelpipe.replay import run_replay
    from fuelpipe.replay.revisions import parse_revision

    try:
        revisions = dict(parse_revision(spec) for spec in revise or [])
        run_replay(
            host=host,
            port=port,
            snapshot_dir=None,
            faults_spec=faults,
            seed=seed,
            revisions=revisions,
        )
    except (ValueError, KeyError) as exc:
        raise fail(str(exc.args[0])) from None


@app.command()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="End by serving the dashboard.")
    ] = True,
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8050,
) -> None:
    """Replay the bundled real data, run the whole pipeline over it, print the status."""
    from fuelpipe.cli.demo import run_demo

    # Without the dashboard extra the demo still runs the whole pipeline, then says how.
    hint = dashboard_hint("the panel") if serve else None
    run_demo(console, CliState.overrides, serve=serve and hint is None, port=port, fail=fail)
    if hint:
        console.print(f"\n{hint}, then `fuelpipe dashboard` serves this store", markup=False)


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8050,
) -> None:
    """Serve the analysis dashboard and its API on this machine."""
    if hint := dashboard_hint("`fuelpipe dashboard`"):
        raise fail(escape(hint))
    from fuelpipe.cli.stations import optional_lake
    from fuelpipe.dashboard.server import serve as serve_dashboard

    cfg = settings()
    a = build(cfg)
    console.print(f"dashboard on [bold]http://{host}:{port}/[/] (Ctrl+C to stop)")
    try:
        serve_dashboard(
            a.store,
            a.catalog,
            a.queue,
            host=host,
            port=port,
            clock=a.clock,
            stations=optional_lake(cfg),
        )
    finally:
        a.close()


@aws_app.command("create-resources")
def aws_create_resources() -> None:
    """Create the table, its GSI, the queue and its DLQ as the template declares them."""
    from fuelpipe.homes.aws import create_resources

    cfg = settings(backend="aws")
    try:
        created = create_resources(cfg)
    except Exception as exc:
        raise fail(f"could not create resources: {exc}") from None
    console.print(f"ready: {created}")


from fuelpipe.cli.outlook import outlook_app  # noqa: E402 - registered last: it uses main's helpers

app.add_typer(outlook_app, name="outlook")


from fuelpipe.cli.stations import stations_app  # noqa: E402 - registered after main's helpers

app.add_typer(stations_app, name="stations")
