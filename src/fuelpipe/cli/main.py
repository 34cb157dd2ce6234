"""`fuelpipe`: run the pipeline, inspect it, replay sources offline, serve the dashboard."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, redirect_stdout, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO, cast

import typer
from pydantic import ValidationError
from rich.markup import escape as rich_escape
from rich.table import Table

from fuelpipe.api import history_json, select_keys
from fuelpipe.cli import display
from fuelpipe.cli.demo import DEMO_CLOCK, demo_series_clocks
from fuelpipe.cli.extras import dashboard_hint, outlook_model_missing
from fuelpipe.cli.helpstyle import SERIES_HELP, PlainHelpGroup, series_help, split_series
from fuelpipe.cli.precompute_hook import health_reads
from fuelpipe.cli.revise import revise_command
from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog, Series, closest_hint
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.domain.keys import parse_date_key
from fuelpipe.domain.models import Record, Status
from fuelpipe.homes import (
    damage_message,
    damage_namer,
    empty_store_message,
    open_home,
    uncreatable_message,
)
from fuelpipe.homes.settings import (
    Settings,
    environ_setting,
    parse_now,
    queue_file,
    settings_problems,
)
from fuelpipe.ports.alerts import AlertDelivery
from fuelpipe.ports.queue import DeadLetter, DeadLettersIncomplete, DeadLettersRemain
from fuelpipe.ports.source import SourceStats
from fuelpipe.ports.store import Store
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.dead_letter_settled import (
    SETTLE_READS,
    SettleCheck,
    Settled,
    Waiting,
    log_removal,
    never_settled,
    waits_on_text,
)
from fuelpipe.stages.set_aside import SetAside

if TYPE_CHECKING:
    from fuelpipe.stages.lacking import GivenUp
    from fuelpipe.stages.quarantine import KeySummary, Release

EXIT_INCOMPLETE = 1
"""The command ran but could not do all it was asked (e.g. `dlq list` could not read every
dead letter the DLQ counts)."""
EXIT_FAILED = 1
"""An unexpected error (one `failed:` line): not 2, which tells a script its input was wrong;
1 is what Python exits with on an error it did not expect."""
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3
EXIT_ALREADY_WATCHING = 4
"""`watch` refused: another `watch` runs on the same store."""
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for `cat` whose reader went away (`| head`)."""
EXIT_TERMINATED = 143


class GuardedTyper(typer.Typer):
    """A Typer app whose every failure is one line on stderr and an honest exit code.

    Usage errors (a bad option value, an unknown command) exit 2; any unexpected exception
    prints one line naming the command and exits 1 (EXIT_FAILED), unless ``--debug`` asks for
    the traceback. Commands raise ``typer.Exit`` with their own code (3: a source could not be
    reached or used).
    ``--debug`` is read wherever it is typed (see :func:`debug_first`).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = kwargs.pop("args", None) or (args[0] if args else None)
        argv = debug_first(list(sys.argv[1:] if given is None else given))
        args, kwargs["args"] = args[1:], argv
        kwargs.setdefault("standalone_mode", False)
        terminated: list[int] = []
        try:
            with sigterm_interrupts(terminated):
                code = super().__call__(*args, **kwargs)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except (typer.Abort, KeyboardInterrupt):
            code = EXIT_INTERRUPTED
        except typer.exceptions.TyperException as exc:  # click's usage errors, vendored by typer
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]
                sys.exit(exc.exit_code)
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            message += (
                _where_commands_are(exc, message) + _what_it_takes(exc) + _try_help(exc, message)
            )
            command = _command_of(self, argv)
            if moved := _global_option_after(exc, self, argv, command):
                _one_line(moved)  # (it names the command)
                sys.exit(EXIT_BAD_INPUT)
            _one_line(f"{command + ': ' if command else ''}{message}")
            sys.exit(getattr(exc, "exit_code", EXIT_BAD_INPUT))
        except Exception as exc:
            # --debug is a global option, so it is read from the arguments: the command's
            # typer context is gone by the time its exception arrives here.
            if "--debug" in argv or os.environ.get("FUELPIPE_DEBUG"):
                raise
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _one_line(
                f"`{' '.join(['fuelpipe', _command_of(self, argv)]).strip()}` failed: "
                f"{type(exc).__name__}"
                + (f": {detail}" if detail else "")
                + " (rerun with --debug for the traceback)"
            )
            sys.exit(EXIT_FAILED)
        if code == EXIT_INTERRUPTED:  # typer turns Ctrl+C into this code, silently
            _one_line("stopped by SIGTERM" if terminated else "interrupted")
            sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def _where_commands_are(exc: Exception, message: str) -> str:
    """For a command typed that is none and like none (`fuelpipe help`, `fuelpipe stations
    list`): where the group's commands are listed; click names a close one itself."""
    ctx = getattr(exc, "ctx", None)
    if not message.startswith("No such command") or "Did you mean" in message or ctx is None:
        return ""
    return f" `{ctx.command_path} --help` lists the commands."


def _try_help(exc: Exception, message: str) -> str:
    """For an option the command does not have (`fuelpipe status --bogus`): where its options
    are listed, as click's own usage error ends."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ != "NoSuchOption" or ctx is None:
        return ""
    return f"{'' if message.endswith('.') else '.'} Try '{ctx.command_path} --help' for help."


def _what_it_takes(exc: Exception) -> str:
    """For an argument left out (`fuelpipe stations query`, `fuelpipe quarantine release KEY`):
    where the command says what it takes (the queries there are, a key's and a date's form);
    click's "Missing argument 'NAME'." alone names only the placeholder."""
    ctx, param = getattr(exc, "ctx", None), getattr(exc, "param", None)
    if ctx is None or getattr(param, "param_type_name", None) != "argument":
        return ""
    return f" `{ctx.command_path} --help` says what it takes."


def _global_option_after(
    exc: Exception, typer_app: typer.Typer, argv: list[str], command: str
) -> str | None:
    """For an option of fuelpipe itself typed after the command (`fuelpipe run --now
    2022-05-07`): the error, with the command line that gives it before the command. click
    said only "No such option: --now", as if there were none, and at times offered an
    unrelated one ("Possible options: --json, --since" for `status --version`)."""
    name = getattr(exc, "option_name", None)
    root: Any = typer.main.get_command(typer_app)
    option = next((p for p in root.params if name in p.opts), None)
    if not command or option is None:
        return None
    end = argv.index("--") if "--" in argv else len(argv)
    at = next((i for i, a in enumerate(argv[:end]) if a == name or a.startswith(f"{name}=")), None)
    if at is None:  # (click named it, so it is there; never a traceback in an error line)
        return None
    taken = 1 if option.is_flag or "=" in argv[at] else 2
    # --version prints the version and exits, whatever follows it
    moved = [name] if option.is_eager else [*argv[at : at + taken], *argv[:at], *argv[at + taken :]]
    return (
        f"{name} is an option of fuelpipe itself, not of `{command}`: give it before the "
        f"command, `{shlex.join(['fuelpipe', *moved])}`"
    )


_TYPED: ContextVar[tuple[Any, tuple[str, ...]]] = ContextVar("fuelpipe_typed", default=(None, ()))
"""The root command and the words of the command line it runs (click keeps no option's
spelling, and typer's context of the command is its own: :func:`_typed` reads these)."""


def _typed(option: str) -> str:
    """``option`` as it was typed: ``--from`` for ``--since`` when the user wrote its alias
    (the last of the option's spellings after the command, as click takes the last value);
    every spelling (``--since/--from``) when none was typed; ``option`` itself outside a
    command line or for an option of one spelling."""
    command, words = _TYPED.get()
    rest: tuple[str, ...] = words
    for i, word in enumerate(words):  # down to the command run (past the root's options)
        if word in (getattr(command, "commands", None) or {}):
            command, rest = command.commands[word], words[i + 1 :]
    params = getattr(command, "params", ())
    opts = next((p.opts for p in params if option in p.opts), [option])
    if len(opts) < 2:
        return option
    used = [w for w in (w.split("=", 1)[0] for w in rest) if w in opts]
    return used[-1] if used else "/".join(opts)


class QuietPipeGroup(PlainHelpGroup):
    """The root command: when the reader of its output goes away (`fuelpipe status | head -1`)
    the command stops quietly with 141, as SIGPIPE stops `cat`, no traceback and no error
    line (click would exit 1). Its output so far is flushed here, so a short one that was still
    buffered fails here too, rather than at exit."""

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        """Run the command line ``args`` (``sys.argv``'s when None), its words kept for
        :func:`_typed` while it runs."""
        words = tuple(sys.argv[1:] if args is None else args)
        token = _TYPED.set((self, words))
        try:
            return super().main(args, *rest, **kwargs)
        finally:
            _TYPED.reset(token)

    def invoke(self, ctx: Any) -> Any:
        with _output_unwritable_exits_2(), _reader_gone_exits_141():
            result = super().invoke(ctx)
            sys.stdout.flush()
        return result

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """`fuelpipe --help | head -1`: the root's help is printed while its options are
        parsed, before :meth:`invoke`; a reader gone then exits 141 too."""
        with _output_unwritable_exits_2(), _reader_gone_exits_141():
            try:
                return super().parse_args(ctx, args)
            finally:
                sys.stdout.flush()


@contextmanager
def _reader_gone_exits_141() -> Iterator[None]:
    """A reader gone (BrokenPipeError) is exit 141. typer prints help with a rich console
    of its own, whose reader going away is ``SystemExit(1)`` raised while handling the
    BrokenPipeError (rich's default ``on_broken_pipe``): that is exit 141 too."""
    try:
        yield
    except BrokenPipeError:
        pass
    except SystemExit as exc:
        if exc.code != 1 or not isinstance(exc.__context__, BrokenPipeError):
            raise
    else:
        return
    # As the Python docs' note on SIGPIPE says: what is still buffered goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise typer.Exit(EXIT_BROKEN_PIPE) from None


class OutputUnwritable(OSError):
    """A write to the standard output failed, other than by its reader going away (that is
    BrokenPipeError): a full disk, `> /dev/full`, an I/O error."""


class _StdoutWrites:
    """The standard output whose failed writes raise :class:`OutputUnwritable`, for the
    command line to name the output, not to report a fault of fuelpipe's own."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        with self._unwritable():
            return self._stream.write(text)

    def flush(self) -> None:
        with self._unwritable():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    @contextmanager
    def _unwritable(self) -> Iterator[None]:
        try:
            yield
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputUnwritable(exc.errno, exc.strerror) from exc


@contextmanager
def _output_unwritable_exits_2() -> Iterator[None]:
    """The standard output cannot be written (a full disk, `> /dev/full`): one `error:` line
    naming it and the system's reason, exit 2, as an `-o` file that cannot be written; so is
    one that is closed (`>&-`, where Python has no sys.stdout)."""
    if sys.stdout is None:
        raise fail("cannot write the standard output: it is closed")
    try:
        with redirect_stdout(cast(TextIO, _StdoutWrites(sys.stdout))):
            yield
    except OutputUnwritable as exc:
        with suppress(OSError, ValueError):  # what is still buffered goes nowhere (see 141)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise fail(f"cannot write the standard output: {exc.strerror or exc}") from None


def sigterm_interrupts(seen: list[int]) -> AbstractContextManager[None]:
    """SIGTERM (`kill`, a service manager stopping the command) stops it as Ctrl+C does: the
    work in hand is given back and the store closed, rather than the process dying at once.
    ``seen`` notes it, for the exit code (143) and the message."""
    return _interrupting(signal.SIGTERM, seen)


@contextmanager
def _interrupting(signum: signal.Signals, seen: list[int]) -> Iterator[None]:
    """While inside: ``signum`` raises KeyboardInterrupt and is noted in ``seen``."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def on_signal(number: int, frame: FrameType | None) -> None:
        seen.append(number)
        raise KeyboardInterrupt

    previous = signal.signal(signum, on_signal)
    try:
        yield
    finally:
        signal.signal(signum, previous)


def debug_first(argv: list[str]) -> list[str]:
    """``argv`` with ``--debug`` typed after the command (`fuelpipe outlook backtest --debug`,
    as a user adds it to the line that failed) moved before it, where the global option is
    parsed; words after ``--`` are left as they are."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" not in argv[1:end]:
        return argv
    return ["--debug", *(a for a in argv[:end] if a != "--debug"), *argv[end:]]


def _command_of(typer_app: typer.Typer, argv: list[str]) -> str:
    """The command words in ``argv`` (``dlq purge``), for error lines."""
    group: Any = typer.main.get_command(typer_app)
    words: list[str] = []
    for arg in argv:
        commands = getattr(group, "commands", None)
        if not commands:
            break
        if arg in commands:
            words.append(arg)
            group = commands[arg]
    return " ".join(words)


def _one_line(message: str) -> None:
    fail(message)


cli = GuardedTyper(
    help=(
        "fuelpipe keeps a complete history of Brazilian pump prices (ANP), exchange rates "
        "(BCB PTAX), oil shares (Yahoo) and Brent (FRED), and shows how they move together.\n\n"
        "Settings come from FUELPIPE_* environment variables (docs/CONFIGURATION.md); the store "
        "is ./data/fuelpipe.sqlite unless FUELPIPE_DB says otherwise."
    ),
    epilog=(
        f"Exit codes: 0 done; {EXIT_INCOMPLETE} the command could not do all it was asked (a "
        "warning or error line says what), or an unexpected error (`fuelpipe … failed:`); "
        f"{EXIT_BAD_INPUT} bad input (an option, date, path or setting); {EXIT_UNREACHABLE} a "
        f"source could not be used at all (run, revise); {EXIT_ALREADY_WATCHING} another watch "
        f"or station ingest holds the store or lake; {EXIT_INTERRUPTED} Ctrl+C; "
        f"{EXIT_TERMINATED} SIGTERM; {EXIT_BROKEN_PIPE} the reader of the output went away "
        "(`| head`). docs/CLI.md has each command's."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    cls=QuietPipeGroup,
    # every command's and group's context inherits it (none has an option -h)
    context_settings={"help_option_names": ["-h", "--help"]},
)
# A group typed without its command shows its help (as `fuelpipe` alone does).
quarantine_app = typer.Typer(
    help="Records whose retries are spent, waiting for a person.", no_args_is_help=True
)
dlq_app = typer.Typer(
    help="Queue messages that could not be processed (dead letters).", no_args_is_help=True
)
aws_app = typer.Typer(help="The AWS home: DynamoDB, SQS and Lambda.", no_args_is_help=True)
cli.add_typer(quarantine_app, name="quarantine")
cli.add_typer(dlq_app, name="dlq")
cli.add_typer(aws_app, name="aws")

console, err = display.consoles()


@dataclass(frozen=True)
class GlobalOptions:
    """Options given before the command; the callback stores them on typer's context."""

    now: datetime | None = None
    debug: bool = False
    simulate_future: bool = False

    def overrides(self) -> dict[str, Any]:
        """The settings these options override."""
        return {"now": self.now} if self.now else {}


def global_options(ctx: typer.Context) -> GlobalOptions:
    """The options of this invocation, which the callback put on typer's context."""
    return ctx.find_object(GlobalOptions) or GlobalOptions()


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one clear line and return the exit to raise."""
    flat = " ".join(message.split())
    err.print(f"[bold red]error:[/] {rich_escape(flat)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def refuse_wide(wide: bool, output: str | None, gives: str) -> None:
    """``--wide`` with an output that is not the table (``output``: "--json", "-f csv"; None:
    the table) is refused, not ignored: that output ``gives`` everything the wide table has."""
    if wide and output is not None:
        raise fail(f"--wide is for the table, and {output} gives {gives} already: give one")


def take_lock(
    acquire: Callable[[], object],
    where: object,
    held: type[Exception],
    refusal: Callable[[Any], str],
    code: int,
) -> None:
    """Run ``acquire``: a lock another process holds (``held`` raised) is one line
    (``refusal`` of it) and exit ``code``; a lock that cannot be taken at all (an OSError)
    is one line naming ``where``."""
    try:
        acquire()
    except held as exc:
        raise fail(refusal(exc), code=code) from None
    except OSError as exc:
        raise fail(f"cannot lock {where}: {exc.strerror or exc}") from None


def note(message: str) -> None:
    """One informative line on stderr (stdout stays clean for --json)."""
    err.print(f"[dim]note:[/] {rich_escape(message)}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """One warning line on stderr: the command did what it could, and this is what it could
    not (stdout stays clean for --json)."""
    flat = " ".join(message.split())
    err.print(f"[bold yellow]warning:[/] {rich_escape(flat)}", highlight=False, soft_wrap=True)


SQS_SHORT = (
    "SQS answers each receive from a sample of its servers, and another reader (a second "
    "`dlq` command, the recheck's alert rule) may hold some for a moment"
)


def settings(ctx: typer.Context, **extra: Any) -> Settings:
    """Settings from the environment plus the global options; one clear line when invalid."""
    given = {**global_options(ctx).overrides(), **extra}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise fail(f"invalid configuration: {settings_problems(exc, given)}") from None


AWS_CONFIG_HINT = (
    " (set AWS_REGION or AWS_DEFAULT_REGION and boto3's usual credentials, or "
    "AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS for local servers)"
)
"""What to set when boto3 finds no region or no credentials for the AWS home."""


def _aws_hint(cfg: Settings, exc: Exception) -> str:
    """:data:`AWS_CONFIG_HINT` when the AWS home could not start for want of a region or
    credentials, else nothing."""
    if cfg.backend != "aws":
        return ""
    from botocore.exceptions import NoCredentialsError, NoRegionError

    return AWS_CONFIG_HINT if isinstance(exc, NoRegionError | NoCredentialsError) else ""


@contextmanager
def wired(
    ctx: typer.Context,
    *,
    writes: bool = False,
    creates: bool = False,
    uses_queue: bool = False,
    keeps_rests: bool = False,
    absent_reads_empty: bool = False,
    series_clocks: bool = False,
    reads_no_clock: bool = False,
    **extra: Any,
) -> Iterator[StageContext]:
    """The configured home's context for one command, closed when the command ends.

    ``writes``: the command changes the store, so a read-only store, or one in a folder it
    cannot write to (SQLite creates its -wal and -shm beside the file), is refused up front
    (before anything is queued). ``creates``: the command fills a store (`run`, `revise`,
    `watch`), so a missing one is created. Any other command (one that only reads, or
    maintenance such as `dlq purge` or `repair --apply`) refuses a store that does not exist
    or is an empty file (a mistyped FUELPIPE_DB) and creates and writes nothing: no queue
    file, no schema; one that only reads reads a store in a read-only folder too.
    ``uses_queue``: the command uses the queue, so its file is opened (and a damaged one
    refused) up front; otherwise it is opened only if something asks for it, and a command
    that never does runs whatever state the queue file is in. ``keeps_rests``: the command
    keeps the sources' Retry-After across requests (`run`, `watch`; see ``build_home``). A store
    `fuelpipe demo` filled runs on the demo's clock unless --now/FUELPIPE_NOW says otherwise.
    ``absent_reads_empty``: a command that only reads takes an embedded store that is not there
    (no file) as an empty one, creating nothing (`status --all` lists the catalog).
    ``series_clocks``: the command reads a demo store's series each at its own clock (`status`,
    `dashboard`), so its note names the later ones too; the others run at the window's alone.
    ``reads_no_clock``: what the command prints does not depend on the clock (`export`, the
    quarantine's lists, `dlq list`, whose check reads it only for which dates are more than
    a year ahead, as the dead-letter rule does), so a demo store's is not noted: "using its
    clock 2022-05-07" above the dollar exported to 2026 read as a cut at that day.
    """
    from fuelpipe.adapters.clock import FixedClock

    cfg = settings(ctx, **extra)
    if cfg.backend == "embedded":
        absent = absent_reads_empty and not writes and not cfg.db.exists()
        _check_store_path(cfg.db, writes=writes, creates=(writes and creates) or absent)
    with ExitStack() as stack:
        try:
            # The home decides the clock once, for the stages and the store's own stamps: a
            # store `fuelpipe demo` filled runs on the demo's clock unless --now is given.
            context = stack.enter_context(
                open_home(
                    cfg,
                    read_only=not writes,
                    queue_on_demand=not uses_queue,
                    clock_meta=DEMO_CLOCK,
                    keeps_rests=keeps_rests,
                )
            )
        except Exception as exc:  # a bad path, missing endpoint: say it in one line
            damaged = damage_message(cfg, exc) or uncreatable_message(cfg, exc)
            started = f"cannot start the {cfg.backend} home: {exc}{_aws_hint(cfg, exc)}"
            raise fail(damaged or started) from None
        stored = cfg.now is None and isinstance(context.clock, FixedClock)  # only a stored one is
        if stored and not reads_no_clock:
            window = context.clock.now()
            later = [t for t in demo_series_clocks(context.store).values() if t > window]
            beyond = (
                f", and later ones for the {len(later)} series whose bundled files run past "
                f"its window (up to {max(later).date()})"
                if later and series_clocks
                else ""
            )
            note(
                "this store was filled by `fuelpipe demo`: using its clock "
                f"{window.isoformat()}{beyond} (give --now to use another)"
            )
        try:
            yield context
        except Exception as exc:  # a damaged file is found by the read that meets it
            damaged = damage_message(cfg, exc)
            if damaged is None:
                raise
            raise fail(damaged) from None


def _where(db: Path) -> str:
    """The store's path as an error names it: a relative one with the folder it is in."""
    return str(db) if db.is_absolute() else f"{db} (in {Path.cwd()})"


def _check_store_path(db: Path, *, writes: bool, creates: bool = False) -> None:
    if db.is_dir():
        raise fail(f"FUELPIPE_DB {db} is a directory, not a SQLite file")
    folder = next(p for p in db.absolute().parents if p.exists())  # made if missing
    if not folder.is_dir():
        raise fail(f"FUELPIPE_DB {db}: {folder} is a file, not a folder")
    if not creates and not db.exists():
        raise fail(
            f"no fuelpipe store at {_where(db)}: run `fuelpipe run` or `fuelpipe demo` first to "
            "create one, or check FUELPIPE_DB"
        )
    if not creates and db.stat().st_size == 0:
        raise fail(empty_store_message(db))
    refused = _unwritable(db, folder) if writes else None
    if refused is not None:
        raise fail(refused)


def _unwritable(db: Path, folder: Path) -> str | None:
    """Why a command cannot write the store ``db`` (in ``folder``, its first existing
    one), or None when it can."""
    for f in [db, queue_file(db)]:
        if f.exists() and not os.access(f, os.W_OK):
            return f"the store {f} is read-only; this command writes to it"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"the store's folder {folder} is read-only; this command writes to the store, "
            f"and SQLite writes {db.name}-wal and {db.name}-shm beside it (commands that "
            "only read, such as `fuelpipe status`, still work)"
        )
    return None


def store_writable(ctx: typer.Context) -> bool:
    """Whether the configured store can be written: the AWS home's always is; an embedded
    one that exists when neither it, its queue file nor its folder is read-only. What a
    reading command that keeps what it computed (`outlook show`'s accuracy) opens it
    writable on; read-only, it computes the same and keeps nothing."""
    cfg = settings(ctx)
    if cfg.backend != "embedded":
        return True
    db = cfg.db
    return db.is_file() and _unwritable(db, db.absolute().parent) is None


def _series_clocks(ctx: typer.Context, context: StageContext) -> dict[str, datetime]:
    """A demo store's clock per series (its bundled files end in different years), as the
    demo's own table counted them; none when --now/FUELPIPE_NOW puts every series at one."""
    return demo_series_clocks(context.store) if settings(ctx).now is None else {}


@contextmanager
def ctrl_c_exits_130() -> Iterator[None]:
    """Ctrl+C while serving exits 130 (`interrupted`), as it does for every other command.

    uvicorn takes SIGINT to shut down gracefully, raises it again once done, and then
    swallows the KeyboardInterrupt that gives, returning as if the server had simply ended
    (exit 0). The SIGINT is noted here and raised again once the server has returned.
    """
    seen: list[int] = []
    with _interrupting(signal.SIGINT, seen):
        yield
    if seen:
        raise KeyboardInterrupt


def _listen_host(host: str) -> str:
    """--host without the spaces around it (as a series key's are dropped); a blank one is
    refused: bound as given, "" is every interface, and a server meant for this machine
    would be on the network because a shell variable was empty."""
    if not host.strip():
        raise fail(
            f"--host is blank ({host!r}): give the address to listen on, e.g. 127.0.0.1 "
            "(this machine only, the default) or 0.0.0.0 (every interface)"
        )
    return host.strip()


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken, or an address this machine cannot listen on, in one
    line, before starting a server on it (port 0, any free port, still checks the address)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # As uvicorn binds: a port held only by connections closing (TIME_WAIT) is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _select(series: list[str] | None, catalog: Catalog = DEFAULT_CATALOG) -> list[Series] | None:
    """The series --series names (None: every one), checked against the catalog alone, so a
    command refuses a pattern before it opens (or creates) a store, a queue or a lock."""
    if not series:
        return None
    if any(not s.strip() for s in series):
        raise fail(
            "--series/-s is blank: give a key or prefix, e.g. CURRENCY#USD or FUEL#GASOLINE "
            "(`fuelpipe status --all` lists them), or leave the option out for every series"
        )
    try:
        return catalog.select(series)
    except KeyError as exc:  # a guess at a key's name: the closest names, and where they are
        raise fail(
            f"{exc.args[0]}{closest_hint(catalog, series)} (`fuelpipe status --all` lists "
            "every key; a prefix such as FUEL#GASOLINE or CURRENCY picks a group, a glob "
            "such as 'FUEL#GASOLINE#S?' those it matches)"
        ) from None


def _known_key(key: str, catalog: Catalog = DEFAULT_CATALOG) -> str:
    """``key`` as the catalog spells it (keys are case-insensitive), refused before any store
    is opened when the catalog does not know it."""
    key = key.strip().upper()
    if key not in catalog:
        near = closest_hint(catalog, [key], prefixes=False)
        raise fail(f"{key!r} is not in the series catalog{near} (try `fuelpipe status --all`)")
    return key


def _clock_before_opening(cfg: Settings) -> datetime | None:
    """The instant the home will run at, when it is known without opening the store: --now
    (FUELPIPE_NOW), or this machine's clock for an embedded store that is not there yet (or
    is an empty file), which keeps no demo clock. None when the store may keep one (`fuelpipe
    demo`'s): what is checked against the clock is checked again once it is open."""
    if cfg.now is not None:
        return cfg.now
    if cfg.backend == "embedded" and (not cfg.db.is_file() or cfg.db.stat().st_size == 0):
        from fuelpipe.adapters.clock import SystemClock

        return SystemClock().now()
    return None


def _date_before_opening(value: str | None, option: str, cfg: Settings) -> date | None:
    """A YYYY-MM-DD option read, and checked before the store is opened: as :func:`_date`
    does when the clock is known (:func:`_clock_before_opening`), else its form and the
    domain's range (the bound by the clock waits for the store's clock)."""
    if value is None:
        return None
    return _day_before_opening(_day(value, option), option, cfg)


def _day_before_opening(day: date, option: str, cfg: Settings) -> date:
    """:func:`_date_before_opening` for a date read already."""
    from fuelpipe.domain.calendars import check_in_range

    now = _clock_before_opening(cfg)
    if now is not None:
        return _checked(day, option, now)
    try:
        return check_in_range(day, _typed(option))
    except ValueError as exc:
        raise fail(str(exc)) from None


def _since_before_opening(since: date | None, cfg: Settings, what: str, verb: str) -> None:
    """``--since`` (read already) refused before the store is opened (or created) when it can
    be: as :func:`_since_by_clock` when the clock is known without the store, else as
    :func:`_day_before_opening`; the caller checks it again by the store's clock once open."""
    if since is None:
        return
    now = _clock_before_opening(cfg)
    if now is None:
        _day_before_opening(since, "--since", cfg)
    else:
        _since_by_clock(since, now, what, verb)


def _since_by_clock(
    since: date | None, now: datetime, what: str, verb: str, whose: str = ""
) -> date | None:
    """``--since`` (read already) refused when it is after the clock: ``what`` runs from it up
    to now, so there would be nothing to ``verb`` (a typo, or a --now forgotten). ``whose``:
    which clock ``now`` is and why, when it is not the store's one (a demo store's series')."""
    if since is None:
        return None
    option = _typed("--since")  # the error names the spelling typed (--from is its alias)
    if since > now.date():  # this, before "more than a year after"
        why = (
            f"{now.date()}, {whose}"
            if whose
            else f"the clock ({now.date()}): {what} from {option} up to now, so there is "
            f"nothing to {verb}"
        )
        raise fail(
            f"{option} {since} is after {why}; give {option} {now.date()} or earlier, or "
            "--now to look from a later instant"
        )
    return _checked(since, option, now)


def _day(value: str, option: str) -> date:
    """The one reading of every date option: YYYY-MM-DD, the spaces around it dropped (as a
    series key's are), else refused naming the option as typed, the text and the form."""
    try:
        return parse_date_key(value.strip())
    except ValueError:
        raise fail(f"{_typed(option)} {value!r} is not a date (YYYY-MM-DD)") from None


def _typed_day(value: str) -> str:
    """``value`` as a hint's example repeats it: the date typed when it is one, else DATE."""
    try:
        return parse_date_key(value.strip()).isoformat()
    except ValueError:
        return "DATE"


def _date(value: str | None, option: str, clock_now: datetime | None = None) -> date | None:
    """A YYYY-MM-DD option, inside the domain's range and at most a year after the clock."""
    if value is None:
        return None
    return _checked(_day(value, option), option, clock_now)


def _checked(day: date, option: str, clock_now: datetime | None = None) -> date:
    """``day`` (an option read already) refused outside the domain's range or more than a
    year after the clock (this machine's when ``clock_now`` is None)."""
    from fuelpipe.domain.clock_bounds import check_input_date

    if clock_now is None:
        from fuelpipe.adapters.clock import SystemClock

        clock_now = SystemClock().now()
    try:
        return check_input_date(day, clock_now, _typed(option))
    except ValueError as exc:
        raise fail(str(exc)) from None


PortOption = Annotated[int, typer.Option(min=0, max=65535, help="Port (0 = any free port).")]


def _show_version(asked: bool) -> None:
    """``--version``: this fuelpipe's version, then exit before any setting is read."""
    if asked:
        from fuelpipe import __version__

        typer.echo(f"fuelpipe {__version__}")
        raise typer.Exit


@cli.callback()
def main(
    ctx: typer.Context,
    now: Annotated[
        str | None,
        typer.Option(
            help="Pretend it is this instant (ISO 8601; no offset = America/Sao_Paulo). "
            "Also FUELPIPE_NOW. Makes backfills, retries and tests reproducible. At most a "
            "day ahead of this machine's clock unless --simulate-future.",
            envvar="FUELPIPE_NOW",
        ),
    ] = None,
    simulate_future: Annotated[
        bool,
        typer.Option(
            "--simulate-future",
            help="Allow --now up to a year ahead of this machine's clock, on purpose.",
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error.")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show fuelpipe's version and exit.",
        ),
    ] = False,
) -> None:
    """fuelpipe command line."""
    import stamina

    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.adapters.sources._http import log_retry
    from fuelpipe.domain.clock_bounds import check_now

    stamina.instrumentation.set_on_retry_hooks([log_retry])
    if now is not None and not now.strip():  # `--now "$AS_OF"` with AS_OF unset
        source = ctx.get_parameter_source("now")  # (typer's own click: its enum, by name)
        given = "--now" if getattr(source, "name", "") == "COMMANDLINE" else "FUELPIPE_NOW"
        raise fail(
            f"{given} is blank ({now!r}): give an instant (ISO 8601, e.g. 2022-05-07T23:59), "
            f"or leave {given} out (this machine's clock, or a demo store's own)"
        )
    if not now:
        # Settings read FUELPIPE_NOW in any case of its name (typer's envvar, only as
        # written): bounded here too, or `fuelpipe_now=2099-01-01` ran unchecked.
        now = environ_setting("now")
    parsed = None
    if now:
        try:
            earliest = min(s.default_start for s in DEFAULT_CATALOG)
            # The one place the CLI reads the machine's clock: to bound the business clock.
            parsed = check_now(
                parse_now(now.strip()),
                SystemClock().now(),
                earliest,
                simulate_future=simulate_future,
            )
        except (ValueError, OverflowError) as exc:
            raise fail(str(exc)) from None
    ctx.obj = GlobalOptions(now=parsed, debug=debug, simulate_future=simulate_future)


@cli.command()
def run(
    ctx: typer.Context,
    series: Annotated[
        list[str] | None,
        typer.Option(
            "--series",
            "-s",
            help=SERIES_HELP,
            callback=split_series,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            "--from",
            help="Look for gaps only from this date (YYYY-MM-DD); retries already due are "
            "still sent, whatever their date. Default: each series' catalog start (Brent "
            "1987-05-20, exchange rates and stocks 2000-01-03, ANP fuels 2013), so a bare "
            "`fuelpipe run` on a new store backfills decades (later runs fetch only what is "
            "missing); give --since and --series for less.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    all_counters: Annotated[
        bool,
        typer.Option(
            "--all-counters",
            help="Show every counter in the cycle summary: by default those at 0 are left "
            "out but keys scanned, gaps found, messages sent, records written, source "
            "requests and due (--json always gives every counter).",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Scraper processes draining the queue together (embedded home; default "
            "FUELPIPE_WORKERS or 1). More use more cores and wait on sources together: for "
            "long backfills.",
        ),
    ] = None,
) -> None:
    """One full cycle: orchestrate, scrape until the queue is drained, recheck; then a summary.

    Exits 3 when a source could not be used at all (every request to it failed), 1 when the
    only ones not used asked us to wait (a Retry-After that rests them past the run's end).
    """
    from fuelpipe.cli.precompute_hook import view_refresher
    from fuelpipe.stages.cycle import run_cycle

    if all_counters and as_json:
        raise fail("--all-counters is for the table: --json always gives every counter")
    cfg = settings(ctx)
    count = cfg.workers if workers is None else workers
    if count > 1 and cfg.backend != "embedded":
        raise fail(
            "--workers is for the embedded home: the AWS home runs scraper Lambdas side by side"
        )
    looks = ("run looks for gaps", "look for")
    chosen = _select(series)  # refused before a store, or its queue, is created
    day = None if since is None else _day(since, "--since")  # read once, checked twice
    _since_before_opening(day, cfg, *looks)
    # a source's Retry-After is kept for the run: its further messages are not fetched
    with wired(ctx, writes=True, creates=True, uses_queue=True, keeps_rests=True) as context:
        start = _since_by_clock(day, context.clock.now(), *looks)  # a demo store's clock
        helpers = None
        if count > 1:
            from fuelpipe.homes.embedded import ProcessHelpers

            helpers = ProcessHelpers(cfg, count - 1, context.clock)
            # one rest a source for the run's processes: a Retry-After one hears rests it
            # for all, as for one process, and the end below is read of everyone's
            context.rests = helpers.rests
            # and one breaker a source: an unreachable one costs the run one process's requests
            helpers.share_breakers(context.sources)
        say_held(context)
        try:
            with display.bar(console, disable=as_json) as progress:
                report = run_cycle(
                    context,
                    series=chosen,
                    since=start,
                    progress=progress,
                    on_change=view_refresher(context, health_reads(cfg, context.store)),
                    helpers=helpers,
                )
        except KeyboardInterrupt:  # Ctrl+C or SIGTERM: "interrupted" alone said nothing more
            note(
                "run stopped part-way: what it stored is kept, and the messages it had not "
                "finished are back in the queue; the same `fuelpipe run` again goes on from there"
            )
            raise
        stats = {name: s.stats() for name, s in context.sources.items()}
        ended = context.clock.now()
        resting = context.rests.resting(ended) if context.rests is not None else {}
        retry_at = context.policy.first_attempt_due(ended)  # a failed date's first retry
    if helpers is not None:
        from fuelpipe.homes.embedded import merge_stats

        for name, theirs in helpers.stats.items():
            stats[name] = merge_stats(stats.get(name), theirs)
    used = _used(stats)
    if as_json:
        out: dict[str, Any] = dict(report.as_dict())
        out["sources"] = sources_json(used)
        out["rests"] = {name: _when(until) for name, until in sorted(resting.items())}
        print(json.dumps(out, indent=2))
    else:
        display.print_cycle(console, report.as_dict(), every=all_counters)
        if used:
            display.print_sources(console, used)
    say_rests(resting, report.scrape.rest_held)
    refuse_unreachable(
        used, "the dates stay PENDING and are retried later", rests=resting, retry_at=retry_at
    )


def _when(at: datetime) -> str:
    """An instant as `run` tells it: São Paulo time, to the second, with its offset."""
    return sao_paulo_iso(at, "seconds")


def say_rests(resting: Mapping[str, datetime], held: int) -> None:
    """After `run`: each source resting after a long Retry-After (not asked again in the run
    once it said so) and when its rest ends, and how many dates of its further messages were
    not fetched (``held``: they stay PENDING, due when the rest ends)."""
    if not resting and not held:
        return
    dates = (
        f"; {held:,} date(s) of further messages were not fetched and stay PENDING, due when "
        "the rest ends: a run after then fetches them"
        if held
        else ""
    )
    if not resting:  # a short Retry-After, over before the run ended
        note(f"a source asked for a pause (its Retry-After){dates}")
        return
    ends = ", ".join(f"{name} until {_when(until)}" for name, until in sorted(resting.items()))
    note(f"not asked again in this run (its Retry-After): {ends}{dates}")


def used_sources(context: StageContext) -> dict[str, SourceStats]:
    """This process's request counts of each source it sent a request to."""
    return _used({name: s.stats() for name, s in context.sources.items()})


def _used(stats: Mapping[str, SourceStats | None]) -> dict[str, SourceStats]:
    """The counts of the sources that were sent a request, or refused one unsent."""
    return {
        name: st for name, st in stats.items() if st is not None and (st.requests or st.not_sent)
    }


def sources_json(used: dict[str, SourceStats]) -> dict[str, dict[str, Any]]:
    """``--json``'s ``sources``: each source's requests, failures and last error, and the
    requests its breaker refused unsent (``not_sent``, not among ``requests``)."""
    return {
        name: {
            "requests": st.requests,
            "failures": st.failures,
            "last_error": st.last_error,
            "not_sent": st.not_sent,
        }
        for name, st in used.items()
    }


SLOWED = {"HTTP 429": "asked us to slow down", "HTTP 503": "is unavailable"}
"""A source's last error that is its own answer about its load, in words: no network to check."""


def refuse_unreachable(
    used: dict[str, SourceStats],
    then: str,
    *,
    rests: Mapping[str, datetime] | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Exit 3 naming each source every request to which failed, its last error, and ``then``
    (what becomes of what was asked). One whose last answer was a 429 or a 503 is said to
    have asked us to slow down or to be unavailable, with when to try again: the end of its
    rest (``rests``: its Retry-After), else ``retry_at`` (when its dates are first retried);
    for the others, the network and the source's URL setting are what to check.

    A source that only asked us to wait (its last answer a 429 or a 503 whose Retry-After
    rests it past the end: ``rests``, `run`'s) failed nothing: when every source not used is
    one such, the same words end in a `warning:` line, exit 1 (the command could not do all
    it was asked: its dates stay PENDING, due when the rest ends), not 3."""
    unreachable = sorted(name for name, st in used.items() if st.unreachable)
    if not unreachable:
        return
    rests = rests or {}
    why = "; ".join(f"{n}: {used[n].last_error or used[n].refusal}" for n in unreachable)
    said = []
    network = [n for n in unreachable if used[n].last_error not in SLOWED]
    for n in unreachable:
        if (words := SLOWED.get(used[n].last_error or "")) is None:
            continue
        until = rests.get(n)
        if until is not None:
            said.append(f"{n} {words}: its Retry-After says try again after {_when(until)}")
        elif retry_at is not None:
            # no Retry-After, or one waited out within the fetch and over by now
            said.append(
                f"{n} {words}: try again after {_when(retry_at)}, when its dates are first retried"
            )
        else:
            said.append(f"{n} {words}: try again later")
    if network:
        urls = " and ".join(f"FUELPIPE_SOURCE_{n.upper()}_URL" for n in network)
        said.append(f"check the network and {urls}")
    if all(n in rests and used[n].last_error in SLOWED for n in unreachable):
        they = "it" if len(unreachable) == 1 else "each"
        warn(
            f"could not use {', '.join(unreachable)} in this run: {they} asked us to wait "
            f"({why}); {then} ({'; '.join(said)})"
        )
        raise typer.Exit(EXIT_INCOMPLETE)
    raise fail(
        f"could not use {', '.join(unreachable)}: every request failed ({why}); {then} "
        f"({'; '.join(said)})",
        code=EXIT_UNREACHABLE,
    )


def say_held(context: StageContext, command: str = "run") -> None:
    """Before a drain, a line for each kind of message it finds received and not deleted:
    those a stopped (killed) fuelpipe process held, which ``command`` takes back at once;
    those another process holds, back when (and ``command`` waits for them); those deferred
    until a source's rest ends (a Retry-After), back when (waited for too). On SQS the last
    two are one count (it cannot tell them apart), and a killed process's are in it."""
    held = context.queue.held()
    if held.orphaned:
        pids = ", ".join(str(p) for p in held.orphaned_pids)
        several = len(held.orphaned_pids) > 1
        who = "stopped fuelpipe processes" if several else "a stopped fuelpipe process"
        which = f" (pid{'s' if several else ''} {pids})" if pids else ""
        note(
            f"this {command} takes back at once {held.orphaned:,} message(s) {who} held"
            f"{which}, not after their visibility timeout"
        )
    if held.count and held.deferred_apart:
        note(
            f"{held.count:,} message(s) are held by another fuelpipe process, alive as far as "
            f"the queue knows; they come back{_back(held.back_by)} unless it finishes them "
            f"first, and this {command} waits for them"
        )
    elif held.count:
        note(
            f"{held.count:,} message(s) are held by another fuelpipe process or one that was "
            "stopped, or wait for a source's rest to end (its Retry-After); those held come "
            f"back{_back(held.back_by)} unless it finishes them first, and this {command} "
            "waits for them"
        )
    if held.deferred:
        note(
            f"{held.deferred:,} message(s) wait for a source's rest to end (its Retry-After), "
            f"held by no process; they come back{_back(held.deferred_until)}, and this "
            f"{command} waits for them"
        )


def _back(at: datetime | None) -> str:
    """`` at HH:MM:SS (in N s)`` (local time), when messages come back; empty when unknown."""
    if at is None:
        return ""
    from fuelpipe.adapters.clock import SystemClock

    wait = max(0.0, (at - SystemClock().now()).total_seconds())
    return f" at {at.astimezone().strftime('%H:%M:%S')} (in {wait:.0f} s)"


@cli.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    series: Annotated[
        list[str] | None,
        typer.Option("--series", "-s", help=SERIES_HELP, callback=split_series),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            "--from",
            help="Count expected dates from this date (YYYY-MM-DD), not from each key's first "
            "stored date; not after the clock (on a demo store: the chosen series' own clocks).",
        ),
    ] = None,
    all_keys: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Include keys with no record yet; with no store yet, the catalog's keys "
            "(nothing is created).",
        ),
    ] = False,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="One row per family of series (currencies, shares, Brent, fuels by survey "
            "and level) with their counts summed, then every series with anything to look at "
            "by name: the table `fuelpipe demo` ends with.",
        ),
    ] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="The table with every count in its own column (about 150 wide); by default "
            "the counts that are not 0 are named in one column, to fit 100 columns.",
        ),
    ] = False,
) -> None:
    """Per key, counted from its first stored date (or --since) to what is published now.

    \b
    key: the series
    expected: dates its calendar expects
    present: expected dates stored OK (a value on a day the calendar skips counts in unexpected)
    missing: expected dates with no record at all (not even a pending one)
    pending: dates waiting for a retry
    quarantined: retries spent, waiting for a person (`fuelpipe quarantine list`)
    absent: dates the source says it has no value for (not retried)
    unexpected: values published on a day the calendar does not expect (kept)
    revised: values the source corrected after they were stored (history kept)
    first, last: the dates of the first and last stored value

    The table has a column per count with --wide; by default, to fit 100 columns, it shows
    expected and present and names the other counts that are not 0 in "to look at"
    ("-": all 0). --json always gives every count.

    An adjustment (Yahoo re-basing adj_close after a dividend) is kept but not counted as
    revised. Values dated after the clock (--now before the data) are counted apart, below
    the table; they still mark the first stored date, so a key whose values all lie after the
    clock expects nothing yet (a key with no record at all, listed by --all, counts from its
    catalog start). --json adds age, published_at and stored_at (how fresh the last value is),
    after_clock, and split_owed (stock splits whose whole-history re-read failed and is
    tried again by the key's next message; also named below the table).

    Below the table: how many series were never collected (pending dates only, none the
    source answered: not late unless their requests fail or a date due since they were
    first asked for is past its window); how many values sources
    published were set aside where no record keeps them (a date stored already), and the
    newest few; --json gives set_aside (the key's count) and set_aside_newest (the key's
    among the store's newest few).
    `fuelpipe quarantine set-aside` lists them all.
    """
    from fuelpipe.stages.set_aside import newest_set_aside, set_aside_counts
    from fuelpipe.stages.status import status as compute

    if summary and as_json:
        raise fail("--summary is the table's; --json gives every series")
    if summary and wide:
        raise fail("--summary and --wide are two tables: give one")
    refuse_wide(wide, "--json" if as_json else None, "every count")
    chosen = _select(series)
    cfg = settings(ctx)
    day = _date_before_opening(since, "--since", cfg)  # read once, checked twice
    if all_keys and cfg.backend == "embedded" and not cfg.db.exists():
        # --all lists the catalog: a fresh clone's first look needs no store, and none is made
        note(
            f"no fuelpipe store at {_where(cfg.db)} yet: every series of the catalog, none "
            "collected (`fuelpipe run` or `fuelpipe demo` creates the store)"
        )
    with wired(ctx, absent_reads_empty=all_keys, series_clocks=True) as context:
        clocks = _series_clocks(ctx, context)
        # A demo store's series run on their own clocks (USD up to 2026, the demo's 2022):
        # --since is after the clock only when it is after every chosen series' clock.
        own = {s.key: clocks.get(s.key, context.clock.now()) for s in chosen or context.catalog}
        key, latest = max(own.items(), key=lambda kv: kv[1], default=("", context.clock.now()))
        # the demo's note names the store's clock: say which clock this refusal meant
        whose = (
            f"the latest of {'the chosen' if chosen else 'the'} series' own clocks ({key}'s): "
            "on this demo store status counts each series up to the end of its bundled file, "
            f"not up to the store's clock {context.clock.now().date()} named above"
            if clocks and latest != context.clock.now()
            else ""
        )
        start = _since_by_clock(day, latest, "status counts", "count", whose)
        # Each key's count from one read of their names, for the rows and the total; only
        # the newest few entries are read whole (the full list is `quarantine set-aside`).
        counts = set_aside_counts(context.store)
        rows = compute(
            context, chosen, start, stored_only=not all_keys, now_of=clocks, set_aside=counts
        )
        aside = sum(counts.values())
        newest = newest_set_aside(context.store, STATUS_SET_ASIDE_SHOWN) if aside else []
    if not rows:  # not one key of the catalog (or of --series) has a record
        _nothing_to_show(as_json, _nothing_stored(series))
        if not as_json:
            display.print_alert_delivery(console, _alert_delivery(settings(ctx)))
        return
    if as_json:
        keys = (
            *display.STATUS_COLUMNS,
            *("age", "published_at", "stored_at", "after_clock", "split_owed", "set_aside"),
        )
        out = [
            {
                **{k: r.as_dict()[k] for k in keys},
                "set_aside_newest": [_set_aside_json(e) for e in newest if e.key == r.key],
            }
            for r in rows
        ]
        print(json.dumps(out, indent=2))
        return
    if summary:
        display.print_status_summary(console, rows)
    else:
        display.print_status(console, rows, wide=wide)
    display.print_set_aside(console, aside, newest)
    display.print_alert_delivery(console, _alert_delivery(settings(ctx)))


def _alert_delivery(cfg: Settings) -> AlertDelivery | str:
    """What waits for each alert sink and the latest drops, or why they could not be read
    (`status` goes on without them)."""
    from fuelpipe.homes import alert_reader

    try:
        return alert_reader(cfg).delivery()
    except Exception as exc:  # a store without alerts reads as none; this is another fault
        return f"{type(exc).__name__}: {exc}"


STATUS_SET_ASIDE_SHOWN = 5
"""`status` shows the newest this many values set aside (`quarantine set-aside`: all)."""


def _set_aside_json(e: SetAside) -> dict[str, str]:
    """A value set aside as `status --json` and `quarantine set-aside --json` give it (the
    latter with its key first): its instants in UTC, as `status --json`'s published_at and
    stored_at (the entry keeps them in the zone of the clock that wrote it)."""
    return {
        "date": e.date.isoformat(),
        "value": e.value,
        "reason": e.reason,
        "seen_by": e.seen_by,
        "first_seen": e.first_seen.astimezone(UTC).isoformat(),
        "last_seen": e.last_seen.astimezone(UTC).isoformat(),
    }


def _utc_text(at: datetime | None) -> str | None:
    """An instant in UTC as `--json` output gives instants (None stays None)."""
    return None if at is None else at.astimezone(UTC).isoformat()


def _nothing_to_show(as_json: bool, why: str) -> None:
    """A list with nothing in it: ``why`` in one sentence, not an empty table; with --json
    stdout stays JSON (``[]``) and the sentence goes to stderr, as `status --json` says it."""
    if as_json:
        print("[]")
    (err if as_json else console).print(why, highlight=False, markup=False)


def _nothing_stored(series: list[str] | None) -> str:
    """What `status` says when no key it was asked about has a record (instead of an empty
    table): what to run, and that --all lists the keys anyway."""
    if series:
        names = [s.strip().upper() for s in series]  # keys are case-insensitive
        # a glob quoted, as typed at the prompt: unquoted, zsh refuses it (no matching file)
        chosen = " ".join(f"-s '{n}'" if any(c in n for c in "*?[") else f"-s {n}" for n in names)
        return (
            f"no record of {', '.join(names)} in this store yet: "
            f"`fuelpipe run {chosen}` fetches them; `fuelpipe status {chosen} --all` lists "
            "them anyway"
        )
    return (
        "this store has no records yet: `fuelpipe run` fills it from the sources (every "
        "series from its catalog start: decades of data; `--series` and `--since` narrow it), "
        "`fuelpipe demo` from the bundled data; `fuelpipe status --all` lists every series of "
        "the catalog"
    )


def record_json(r: Record) -> dict[str, Any]:
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
    # Attributes sorted by name: each home hands them back in its own order (a DynamoDB map
    # has none), and an export is the same text whichever home it was read from.
    for k, v in sorted(r.attrs.items()):
        out.setdefault(k, str(v) if isinstance(v, Decimal) else v)
    if r.revisions:
        # Every earlier value with when and by which request it was replaced (oldest first),
        # the attributes it replaced, and whether it was a revision or an adjustment.
        out["revisions"] = [history_json(rev) for rev in r.revisions]
    return out


@cli.command()
def export(
    ctx: typer.Context,
    key: Annotated[
        str | None,
        typer.Argument(help="A series key (e.g. CURRENCY#USD, FUEL#GASOLINE#SP)."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, json or parquet (any case). Default: the --output file's extension "
            "(.csv, .json, .parquet), else csv. parquet writes a file, so it needs --output, "
            "and the frames extra (pip install '.\\[frames]' in fuelpipe's checkout).",
        ),
    ] = None,
    output_given: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="<path>",
            help="File (default or -: stdout); its extension must match --format (export writes "
            "no .gz or .xlsx: pipe it to gzip).",
        ),
    ] = None,
    series: Annotated[
        list[str] | None,
        typer.Option(
            "--series", "-s", help=series_help("With --format parquet:"), callback=split_series
        ),
    ] = None,
    other_figures: Annotated[
        bool,
        typer.Option(
            "--other-figures",
            help="csv and json: after each record, a row for each other figure the source "
            "published for its date (PTAX's earlier closing bulletins, other_closings; ANP's "
            "other rows of a state, fuel and month, other_rows); the figure column says which "
            "row is the stored value.",
        ),
    ] = False,
) -> None:
    """Every record of one key: date, value, status, retry_count, the series' attributes and
    each value's revision history (the values it replaced, when and by which request).

    With --format parquet, every key the KEY and --series patterns match, into one file."""
    from fuelpipe.cli.output_file import is_stream

    output = _given_output(output_given)
    fmt = _export_format(fmt, output)
    if output is not None and str(output) == "-":  # `-o -`: stdout, as for most tools
        if fmt == "parquet":
            raise fail("--format parquet writes a file, not stdout: give --output FILE.parquet")
        output = None
    if fmt == "parquet" and output is not None and is_stream(output):
        # A Parquet writer seeks back over what it wrote; a pipe or device cannot.
        raise fail(
            f"--format parquet writes a file, not a pipe or device ({output}): give --output "
            "FILE.parquet"
        )
    if fmt == "parquet" and other_figures:
        raise fail(
            "--other-figures writes csv or json (its rows are not records); the parquet "
            "export keeps other_closings and other_rows in its attributes column"
        )
    if fmt == "parquet":
        _export_parquet(ctx, [*([key] if key else []), *(series or [])], output)
        return
    if series:
        raise fail("csv and json export one KEY; --series is for --format parquet")
    if key is None:
        raise fail(
            "missing KEY: give the key to export, e.g. `fuelpipe export CURRENCY#USD` "
            "(`fuelpipe status --all` lists them)"
        )
    key = _one_export_key(key)  # keys are case-insensitive, as in `status --series`
    if output is not None:
        _check_output(ctx, output)
    with wired(ctx, reads_no_clock=True) as context:
        rows = [record_json(r) for r in context.store.query(key)]
    records = len(rows)
    text, others = _export_text(key, rows, fmt, other_figures=other_figures)
    if not rows:  # a bare header (or []) alone reads as a failed export
        _note_no_record([key])
    if output:
        _write_output(output, lambda temp: temp.write_text(text))
        also = "" if others is None else f" and {others:,} other figures"
        err.print(
            f"wrote {records:,} records{also} of {key} to {output}", highlight=False, markup=False
        )
    else:
        sys.stdout.write(text)


def _export_text(
    key: str, rows: list[dict[str, Any]], fmt: str, *, other_figures: bool
) -> tuple[str, int | None]:
    """The csv or json text of ``rows`` (record_json's) and, with ``other_figures``, how many
    other figures' rows it holds besides them (None without)."""
    others = None
    if other_figures:
        from fuelpipe.cli.other_figures import FIGURE, with_other_figures

        try:
            rows, others = with_other_figures(key, rows)
        except ValueError as exc:
            raise fail(
                f"--other-figures: {exc} (export without it writes the text as stored)"
            ) from None
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n", others
    cols = ["date", "value", "status", "retry_count", *([FIGURE] if other_figures else [])]
    cols += sorted({c for r in rows for c in r} - set(cols))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    # A revision history is one JSON cell in CSV.
    writer.writerows(
        {**r, "revisions": json.dumps(r["revisions"])} if "revisions" in r else r for r in rows
    )
    return buf.getvalue(), others


def _note_no_record(keys: Sequence[str]) -> None:
    """The note of an export whose series have no record in the store, and what fetches one."""
    if len(keys) == 1:
        key = keys[0]
        note(f"{key} has no record in this store (`fuelpipe run --series {key}` fetches it)")
    else:
        note(f"none of the {len(keys)} series has a record in this store (`fuelpipe run "
             f"--series {keys[0]}` fetches one)")  # fmt: skip


def _one_export_key(key: str) -> str:
    """``key`` for a CSV or JSON export (:func:`_one_key`); a pattern naming several series is
    refused naming the Parquet export, which takes it."""
    return _one_key(
        key,
        lambda one, pattern: (
            f"csv and json export one key, e.g. `fuelpipe export {one}`; --format parquet "
            f"exports many: `fuelpipe export --format parquet --series '{pattern}' -o FILE.parquet`"
        ),
    )


def _one_key(key: str, instead: Callable[[str, str], str]) -> str:
    """``key`` for a command taking one key (:func:`_known_key`). A glob or prefix naming
    several series was refused as "not in the series catalog", though it names them: it is
    refused saying how many, then ``instead(first key, pattern)`` (what the command offers
    for them); one naming a single series is that key. A key's last part alone (a state:
    ``SP``; a fuel: ``GASOLINE``) was told two of its keys (the LPG and CNG ones), or
    nothing: it is refused the same way, naming the pattern of them all (``FUEL#*#SP``,
    ``FUEL#GASOLINE``)."""
    if key.strip().upper() not in DEFAULT_CATALOG:
        pattern = key
        try:
            named = select_keys(DEFAULT_CATALOG, key)
        except KeyError:  # no prefix nor glob: a part alone is pointed to what holds it
            near = DEFAULT_CATALOG.closest(key) if "#" not in key else []
            named = select_keys(DEFAULT_CATALOG, near[0]) if len(near) == 1 else []
            pattern = near[0] if len(named) > 1 else key  # (one key named: did you mean it?)
            named = named if len(named) > 1 else []
        if len(named) == 1:  # a glob or prefix typed that names one key
            return named[0]
        if named:
            shown = ", ".join(named[:2]) + (", …" if len(named) > 2 else "")
            which = f"{key!r} names" if pattern == key else f"{key!r} is no key; {pattern!r} names"
            raise fail(f"{which} {len(named)} series ({shown}): {instead(named[0], pattern)}")
    return _known_key(key)


EXPORT_FORMATS = ("csv", "json", "parquet")
COMPRESSED = ("gz", "bz2", "xz", "zst", "zip", "7z")
"""Extensions of a compressed file: export writes none (its output can be piped to one)."""
COMPRESSORS = {"gz": "gzip", "bz2": "bzip2", "xz": "xz", "zst": "zstd"}
"""The tool whose output each compressed extension names (zip and 7z are archives, which no
tool makes of a pipe with a plain `| tool > file`: gzip's .gz is offered for them)."""
NOT_WRITTEN = ("xlsx", "xls", "ods", "tsv")
"""Extensions of formats a user may expect, which export does not write."""


def _given_output(text: str | None) -> Path | None:
    """`export`'s --output as a path; a blank one (`-o "$OUT"`, OUT unset) is refused as
    blank: read as a Path it was ".", refused as "--output . is a directory"."""
    if text is not None and not text.strip():
        raise fail("--output is blank: give a file name, or - for stdout")
    return None if text is None else Path(text)


def _export_format(fmt: str | None, output: Path | None) -> str:
    """The format `export` writes: --format in any case, else the --output file's extension,
    else csv; an extension of another format than --format is refused (a .json file of CSV)."""
    chosen = None if fmt is None else fmt.strip().lower()
    if chosen is not None and chosen not in EXPORT_FORMATS:
        raise fail(f"--format must be csv, json or parquet, not {fmt!r}")
    extension = output.suffix.lower().lstrip(".") if output is not None else ""
    # plain text under a name that promises another format only fails later, in zcat or a
    # spreadsheet; any other name (none, .txt, a pipe) is csv unless --format says otherwise
    if output is not None and extension in COMPRESSED:
        tool = COMPRESSORS.get(extension)
        # gzip's output under a .xz or .zip name is the mismatch this refusal is for
        inner = Path(output.stem)
        text = chosen if chosen in ("csv", "json") else "csv"
        target = output.name if tool else f"{inner.stem if inner.suffix else inner}.{text}.gz"
        raise fail(
            f"--output {output} is named .{extension}, but export writes no compressed file: "
            f"pipe it, e.g. `fuelpipe export KEY | {tool or 'gzip'} > {target}`"
        )
    if extension in NOT_WRITTEN:
        raise fail(
            f"--output {output} is named .{extension}, but export writes csv, json or parquet, "
            f"not {extension}: give a file ending .csv (a spreadsheet opens it), .json or "
            ".parquet"
        )
    named = extension if extension in EXPORT_FORMATS else None
    if chosen is not None and named is not None and named != chosen:
        raise fail(
            f"--format {chosen} but --output {output} is named .{extension}: give a file "
            f"ending .{chosen}, or leave --format out to write {named}"
        )
    return chosen or named or "csv"


def _export_parquet(ctx: typer.Context, patterns: list[str], output: Path | None) -> None:
    from fuelpipe.cli.export_parquet import ExportError, check_request, export_keys, write_parquet

    try:
        output = check_request(patterns, output)
        keys = export_keys(DEFAULT_CATALOG, patterns)
    except ExportError as exc:
        raise fail(str(exc)) from None
    _check_output(ctx, output)  # before the store is read, as for csv and json
    with wired(ctx, reads_no_clock=True) as context:
        rows: list[int] = []  # the file is written one key at a time, as the store is read
        _write_output(output, lambda temp: rows.append(write_parquet(context.store, keys, temp)))
    if not rows[0]:  # as csv and json say: "wrote 0 records" alone reads as a failed export
        _note_no_record(keys)
    err.print(
        f"wrote {rows[0]:,} records of {len(keys):,} series to {output}",
        highlight=False,
        markup=False,
    )


def _write_output(output: Path, write: Callable[[Path], object]) -> None:
    """``write`` the export to a file beside ``output`` and swap it in: a failed write
    (a full disk, Ctrl+C) keeps the previous file and leaves no partial one; one line."""
    from fuelpipe.cli.output_file import write_atomically

    try:
        write_atomically(output, write)
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}; nothing written") from None


def _check_output(ctx: typer.Context, output: Path) -> None:
    """A file we can write and may overwrite (not the store, nor a file beside it that it
    needs, nor any SQLite database), checked before any work is done."""
    from fuelpipe.cli.output_file import OutputRefused, check_not_a_store, is_stream

    try:
        check_not_a_store(output, settings(ctx).db)
    except OutputRefused as exc:
        raise fail(str(exc)) from None
    if is_stream(output):  # a pipe or device is written to as it is, not beside its folder
        if not os.access(output, os.W_OK):
            raise fail(f"--output {output}: not writable")
        return
    if output.is_dir():
        raise fail(f"--output {output} is a directory; give a file name")
    parent = output.parent
    if not parent.is_dir():
        raise fail(f"--output {output}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise fail(f"--output {output}: not writable")


NOTHING_QUARANTINED = (
    "nothing is quarantined: no record has spent its retries and waits for a person"
)
NOTHING_RELEASED = "no date was released by hand: nothing to show (`fuelpipe quarantine release`)"
NOTHING_SET_ASIDE = (
    "nothing is set aside: no value a source published is kept apart from the records"
)
NO_DEAD_LETTERS = "no dead letters: no message has used up its deliveries"
"""What `quarantine list`, `quarantine set-aside` and `dlq list` say when they have nothing
to list (instead of a table titled "0 ...")."""


LIST_ROWS = 500
"""`quarantine list` shows a table of each date up to this many; above it, one row per key
(`--summary`) and a note on how to see each date (`--all`, or narrower --series, --from, --to):
a failed backfill quarantines ~100,000 dates, one screen each row of a table no one reads."""

FromOption = Annotated[
    str | None,
    typer.Option("--from", "--since", help="From this date (YYYY-MM-DD) on."),
]
ToOption = Annotated[
    str | None, typer.Option("--to", "--until", help="Up to this date (YYYY-MM-DD).")
]


def _date_range(
    start: str | None, end: str | None, cfg: Settings
) -> tuple[date | None, date | None]:
    """--from and --to read (before the store is opened), refused when --from is after --to."""
    first = _date_before_opening(start, "--from", cfg)
    last = _date_before_opening(end, "--to", cfg)
    if first and last and first > last:  # each named as typed (--since, --until: aliases)
        raise fail(f"{_typed('--from')} {first} is after {_typed('--to')} {last}")
    return first, last


def _span(first: date | None, last: date | None) -> str:
    """A date range as the lines about it say it: `from 2022-01-03`, `2022-01-03 to ...`."""
    if first and last:
        return f" from {first} to {last}"
    if first:
        return f" from {first} on"
    return f" up to {last}" if last else ""


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    series: Annotated[
        list[str] | None,
        typer.Option("--series", "-s", help=SERIES_HELP, callback=split_series),
    ] = None,
    start: FromOption = None,
    end: ToOption = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="One row per key: how many dates, the first and last, when the first was "
            "quarantined, and the most common reason (with --json: one object per key). The "
            f"table is this above {LIST_ROWS:,} dates.",
        ),
    ] = False,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help=f"Each date, however many (without it, above {LIST_ROWS:,}: one row per key).",
        ),
    ] = False,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Each date released by hand before, whatever it is now (PENDING again, "
            "quarantined again, stored, accepted): its status, retries and reason now, and "
            "each release (when, after how many re-downloads, why it was quarantined).",
        ),
    ] = False,
) -> None:
    """Every quarantined record with its reason (and, below the table, how many values were
    set aside where no record keeps them: `fuelpipe quarantine set-aside`).

    --series, --from and --to keep those of some keys and dates. Above 500 dates the table is
    one row per key (--summary), and a note says how to see each date: --all, or narrower
    filters; --json always gives each date unless --summary."""
    if summary and every:
        raise fail("--summary and --all: give one (--summary: a row per key; --all: each date)")
    if history and (summary or every):
        raise fail(
            f"--history and {'--summary' if summary else '--all'}: give one (--history: each "
            "date released before, whatever it is now)"
        )
    chosen = _select(series)
    keys = None if chosen is None else {s.key for s in chosen}
    first, last = _date_range(start, end, settings(ctx))
    if history:
        _release_history(ctx, keys, first, last, as_json)
        return
    from fuelpipe.stages.quarantine import earlier_releases, select, summarize
    from fuelpipe.stages.set_aside import count_set_aside

    if summary and first is None and last is None:  # the status index is enough
        _summary_from_index(ctx, keys, as_json)
        return
    with wired(ctx, reads_no_clock=True) as context:
        everything = context.store.quarantined()
        rows = select(everything, keys, first, last)
        summed = summary or (not as_json and not every and len(rows) > LIST_ROWS)
        aside = 0 if as_json else count_set_aside(context.store)
        released = earlier_releases(context.store) if rows and not summed else {}
        lacking = [] if as_json and summary else _given_up_in(context.store, keys, first, last)
    if not rows:
        filtered = keys is not None or first is not None or last is not None
        _no_quarantined(as_json, len(everything), filtered, lacking)
    elif summed:
        _quarantine_summary(summarize(rows), as_json)
        if not summary:
            note(
                f"{len(rows):,} quarantined dates, so one row per key: `--all` lists each "
                "date, or pick fewer with --series, --from and --to"
            )
    elif as_json:
        # Instants in UTC, as `status --json` gives them.
        print(
            json.dumps(
                [
                    {
                        "key": r.key,
                        **record_json(r),
                        "quarantined_at": _utc_text(r.updated_at),
                        "released_before": _releases_json(released.get((r.key, r.date), [])),
                    }
                    for r in rows
                ]
                + _given_up_json(lacking),
                indent=2,
            )
        )
    else:
        table = Table(title=f"{len(rows):,} quarantined")
        for name in ("key", "date", "quarantined at"):
            table.add_column(name, no_wrap=True)
        table.add_column("retries")
        table.add_column("reason")
        for r in rows:
            # A reason quotes the source's error: printed as it is, never read as markup.
            reason = rich_escape(r.reason or "")
            for e in released.get((r.key, r.date), []):  # it was quarantined before
                reason += f"\n({_release_words(e)})"
            at = "" if r.updated_at is None else sao_paulo_iso(r.updated_at, "minutes")
            table.add_row(r.key, r.date.isoformat(), at, f"{r.retry_count:,}", reason)
        console.print(table)
    _lacking_given_up(lacking, as_json)
    _set_aside_note(aside)


def _given_up_in(
    store: Store, keys: set[str] | None, first: date | None, last: date | None
) -> list[GivenUp]:
    """The dates of ``keys`` (None: all) in ``[first, last]`` stored OK whose lacking figures
    were re-downloaded as often as the retry policy allows (one read of the notes)."""
    from fuelpipe.stages.lacking import given_up_dates

    return [
        g
        for g in given_up_dates(store, keys)
        if (first is None or g.date >= first) and (last is None or g.date <= last)
    ]


def _given_up_json(found: Sequence[GivenUp]) -> list[dict[str, Any]]:
    """`quarantine list --json`'s entries after the quarantined records: each date stored OK
    given up lacking figures, its status ``OK`` (a quarantined record's is ``QUARANTINED``),
    ``lacking`` naming the figures as the record's attribute does, ``retry_count`` the
    re-downloads sent and ``reason`` as the table says it."""
    from fuelpipe.domain.lacking import given_up_text

    return [
        {
            "key": g.key,
            "date": g.date.isoformat(),
            "status": Status.OK.value,
            "retry_count": g.lacking.attempts,
            "reason": given_up_text(g.lacking.figures, g.lacking.attempts),
            "lacking": g.lacking.figures,
        }
        for g in found
    ]


def _lacking_given_up(rows: Sequence[GivenUp], as_json: bool) -> None:
    """Below `quarantine list`: the dates stored OK whose lacking figures were re-downloaded
    as often as the retry policy allows, for a person to inspect (their values stay stored;
    with --json they are in the array: :func:`_given_up_json`)."""
    if not rows or as_json:
        return
    from fuelpipe.domain.lacking import given_up_text

    table = Table(title=f"{len(rows):,} date(s) stored OK, lacking figures: re-downloads spent")
    for name in ("key", "date", "status"):
        table.add_column(name, no_wrap=True)
    for g in rows:
        text = given_up_text(g.lacking.figures, g.lacking.attempts)
        table.add_row(g.key, g.date.isoformat(), text)
    console.print(table)
    note(
        "`fuelpipe quarantine release KEY DATE` re-downloads such a date again "
        "(its value stays stored)"
    )


def _summary_from_index(ctx: typer.Context, keys: set[str] | None, as_json: bool) -> None:
    """`quarantine list --summary` without --from/--to: from the store's status summaries
    (:func:`fuelpipe.stages.quarantine.key_summaries`), no record read whole; below them, as
    below a list, the dates given up lacking figures (not in --json: it counts records)."""
    from fuelpipe.stages.quarantine import key_summaries
    from fuelpipe.stages.set_aside import count_set_aside

    with wired(ctx, reads_no_clock=True) as context:
        summaries = key_summaries(context.store, keys)
        total = 0
        if not summaries and keys is not None:
            total = context.store.count_status(Status.QUARANTINED)
        aside = 0 if as_json else count_set_aside(context.store)
        lacking = [] if as_json else _given_up_in(context.store, keys, None, None)
    if summaries:
        _quarantine_summary(summaries, as_json)
    else:
        _no_quarantined(as_json, total, keys is not None)
    _lacking_given_up(lacking, as_json)
    _set_aside_note(aside)


def _releases_json(releases: Sequence[Release]) -> list[dict[str, Any]]:
    """A date's releases by hand in `--json` (``released_before``), instants in UTC."""
    return [
        {"at": _utc_text(e.at), "retry_count": e.retry_count, "reason": e.reason} for e in releases
    ]


def _release_words(e: Release) -> str:
    """One release by hand as `quarantine list` says it."""
    when = sao_paulo_iso(e.at, "minutes")
    return f"released by hand at {when}, after {e.retry_count:,} re-downloads"


def _release_history(
    ctx: typer.Context,
    keys: set[str] | None,
    first: date | None,
    last: date | None,
    as_json: bool,
) -> None:
    """`quarantine list --history`: each date released by hand before, as it is now
    (:func:`fuelpipe.stages.quarantine.release_histories`)."""
    from fuelpipe.stages.quarantine import release_histories

    with wired(ctx, reads_no_clock=True) as context:
        found = release_histories(context.store, keys, first, last)
    if not found:
        _nothing_to_show(as_json, NOTHING_RELEASED)
        return
    if as_json:
        rows = []
        for h in found:
            r = h.record
            now = {
                "status": None if r is None else r.status.value,
                "retry_count": None if r is None else r.retry_count,
                "reason": None if r is None else r.reason,
            }
            row = {"key": h.key, "date": h.date.isoformat(), **now}
            rows.append(row | {"released_before": _releases_json(h.releases)})
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(found):,} date(s) released by hand before")
    for name in ("key", "date", "status now", "retries"):
        table.add_column(name, no_wrap=True)
    table.add_column("reason now, then each release")
    for h in found:
        r = h.record
        said = rich_escape("" if r is None or r.reason is None else r.reason)
        for e in h.releases:
            why = f": {rich_escape(e.reason)}" if e.reason else ""
            said += f"\n({_release_words(e)}{why})"
        status = "no record" if r is None else r.status.value
        retries = "" if r is None else f"{r.retry_count:,}"
        table.add_row(h.key, h.date.isoformat(), status, retries, said)
    console.print(table)


def _no_quarantined(
    as_json: bool, total: int, filtered: bool, given_up: Sequence[GivenUp] = ()
) -> None:
    """`quarantine list` with none to show: none at all, or none of the ``total`` of the
    keys and dates asked for (``filtered``). With --json, the dates ``given_up`` lacking
    figures are the array (the sentence on stderr all the same)."""
    if total and filtered:
        why = (
            f"none of the {total:,} quarantined records is of the keys and dates "
            "asked for (`fuelpipe quarantine list` lists them all)"
        )
    else:
        why = NOTHING_QUARANTINED
    if as_json and given_up:
        print(json.dumps(_given_up_json(given_up), indent=2))
        err.print(why, highlight=False, markup=False)
    else:
        _nothing_to_show(as_json, why)


def _set_aside_note(aside: int) -> None:
    """Below `quarantine list`: how many values were set aside on dates stored already."""
    if aside:
        console.print(
            f"{aside:,} value(s) published for a date stored already were set aside: "
            "`fuelpipe quarantine set-aside` lists them"
        )


def _quarantine_summary(summaries: Sequence[KeySummary], as_json: bool) -> None:
    """`quarantine list --summary`: one row (or JSON object) per key."""
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "key": s.key,
                        "quarantined": s.count,
                        "first": s.first.isoformat(),
                        "last": s.last.isoformat(),
                        "quarantined_since": _utc_text(s.since),
                        "reason": s.reason,
                        "reason_count": s.reason_count,
                    }
                    for s in summaries
                ],
                indent=2,
            )
        )
        return
    total = sum(s.count for s in summaries)
    table = Table(title=f"{total:,} quarantined, {len(summaries):,} key(s)")
    for name in ("key", "dates", "first", "last", "quarantined since"):
        table.add_column(name, no_wrap=True, justify="right" if name == "dates" else "left")
    table.add_column("most common reason")
    for s in summaries:
        since = "" if s.since is None else sao_paulo_iso(s.since, "minutes")
        reason = rich_escape(s.reason or "")
        if s.reason_count < s.count:
            reason += f" ({s.reason_count:,} of {s.count:,})"
        table.add_row(s.key, f"{s.count:,}", s.first.isoformat(), s.last.isoformat(), since, reason)
    console.print(table)


@quarantine_app.command("set-aside")
def quarantine_set_aside(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Values a source published that were set aside where no record keeps them, newest first.

    A value set aside (implausible: more than 5x from its neighbours; or one no store can
    keep: over 38 significant digits, out of DynamoDB's range) for a date that holds a value
    already (OK, or ABSENT), is quarantined, or was not asked for: the stored record stays as
    it was, and this is what the source said, its value exactly as published. Each goes away
    once a later answer carries a value for its date that is kept (stored, a revision, or
    the stored value published again). A date left without a value is PENDING or quarantined
    with the reason instead (`fuelpipe quarantine list`).
    """
    from fuelpipe.stages.set_aside import set_aside_entries

    with wired(ctx, reads_no_clock=True) as context:
        entries = set_aside_entries(context.store)
    if not entries:
        _nothing_to_show(as_json, NOTHING_SET_ASIDE)
        return
    if as_json:
        print(
            json.dumps(
                [{"key": e.key, **_set_aside_json(e)} for e in entries],
                indent=2,
            )
        )
        return
    table = Table(title=f"{len(entries):,} set aside")
    table.add_column("key", no_wrap=True)
    table.add_column("date", no_wrap=True)
    # Every digit, on one line: the value as published is what this list is for.
    table.add_column(
        "value", no_wrap=True, min_width=max((len(e.value) for e in entries), default=5)
    )
    table.add_column("reason", ratio=1)
    for name in ("last seen", "first seen"):
        table.add_column(name, no_wrap=True, min_width=25)
    for e in entries:
        table.add_row(
            e.key,
            e.date.isoformat(),
            e.value,
            rich_escape(e.reason),
            sao_paulo_iso(e.last_seen, "seconds"),  # --json: in UTC
            sao_paulo_iso(e.first_seen, "seconds"),
        )
    console.print(table)


_NOT_QUARANTINED: dict[Status | None, str] = {
    None: "the store has no record of that date (`fuelpipe quarantine list` lists those that are)",
    Status.OK: "its value is stored (OK)",
    Status.PENDING: "it is PENDING, its retries not spent: `fuelpipe run` retries it when due",
    Status.ABSENT: "it is ABSENT: the source answered that it has no value for that date, or a "
    "person accepted that it has none",
    Status.QUARANTINED: "it was quarantined meanwhile: run the command again",
}
"""Why `quarantine release` or `accept` did nothing, by the record's status (it said only "is
not quarantined", leaving what the record is to guess)."""

_QUARANTINED_KEY_HELP = (
    "The quarantined record's key, e.g. CURRENCY#USD, any case (`fuelpipe quarantine list` "
    "lists them)."
)


def _settle_quarantined(
    ctx: typer.Context, key: str, day: str, verb: Literal["release", "accept"]
) -> tuple[str, date]:
    """`quarantine release` or `accept` (``verb``) of one record
    (:func:`fuelpipe.stages.quarantine.settle`: a release is kept apart from the record, and
    the data version moves); an `error:` line saying what the record is instead when it is not
    quarantined."""
    key = _one_key(
        key,
        lambda one, _: (
            f"{verb} takes one key, e.g. `fuelpipe quarantine {verb} {one} {_typed_day(day)}`; "
            "`fuelpipe quarantine list` lists the quarantined records"
        ),
    )
    _date_before_opening(day, "DATE", settings(ctx))
    from fuelpipe.stages.quarantine import settle

    with wired(ctx, writes=True) as context:
        when = _date(day, "DATE", context.clock.now())  # a demo store's clock
        assert when is not None
        ok = settle(context.store, verb, key, when, context.clock.now())
        if not ok:
            found = context.store.query(key, when, when, consistent=True)
        if not ok and verb == "release" and found and found[0].status is Status.OK:
            # An OK date given up re-downloading the figures it lacks: a fresh budget too.
            from fuelpipe.stages.lacking import release

            ok = bool(release(context.store, key, [when], context.clock.now()))
    if not ok:
        why = _NOT_QUARANTINED.get(found[0].status if found else None, "")
        raise fail(f"{key} {when} is not quarantined: {why}", code=1)
    return key, when


def _settling_command(verb: Literal["release", "accept"], summary: str, done: str) -> None:
    """Add `quarantine VERB KEY [DATE]` (release, accept): one date
    (:func:`_settle_quarantined`, then ``done`` said, its ``{key}`` and ``{when}`` filled), or
    many (--from/--to, --all: :func:`_settle_range`); ``summary``: its help."""

    def command(
        ctx: typer.Context,
        key: Annotated[str, typer.Argument(help=_QUARANTINED_KEY_HELP)],
        day: Annotated[
            str | None,
            typer.Argument(
                metavar="DATE",
                help="Its date (YYYY-MM-DD); or, for many dates, --from/--to or --all.",
            ),
        ] = None,
        start: Annotated[
            str | None,
            typer.Option(
                "--from", "--since", help="The quarantined dates of KEY from this one (YYYY-MM-DD)."
            ),
        ] = None,
        end: Annotated[
            str | None,
            typer.Option(
                "--to", "--until", help="The quarantined dates of KEY up to this one (YYYY-MM-DD)."
            ),
        ] = None,
        every: Annotated[
            bool, typer.Option("--all", help="Every quarantined date of KEY.")
        ] = False,
        yes: Annotated[
            bool,
            typer.Option(
                "--yes", "-y", help="Do not ask: with --from/--to or --all, settle them at once."
            ),
        ] = False,
    ) -> None:
        many = start is not None or end is not None or every
        if day is not None and many:
            raise fail(
                f"{verb} takes one DATE or a range (--from, --to) or --all, not both: e.g. "
                f"`fuelpipe quarantine {verb} {key} --from {_typed_day(day)}`"
            )
        if day is not None:
            key, when = _settle_quarantined(ctx, key, day, verb)
            console.print(done.format(key=key, when=when))
            return
        if every and (start is not None or end is not None):
            raise fail("--all and --from/--to: give one (--all: every quarantined date of KEY)")
        if not many:
            raise fail(
                f"missing DATE: give one date, a range (--from, --to) or --all, e.g. "
                f"`fuelpipe quarantine {verb} {key.strip()} --all` "
                f"(`fuelpipe quarantine {verb} --help` says what it takes)"
            )
        key = _one_key(
            key,
            lambda one, _: (
                f"{verb} takes one key, e.g. `fuelpipe quarantine {verb} {one} --all`; "
                "`fuelpipe quarantine list --summary` counts the quarantined dates per key"
            ),
        )
        first, last = _date_range(start, end, settings(ctx))
        _settle_range(ctx, key, first, last, verb, yes)

    command.__doc__ = summary
    quarantine_app.command(verb)(command)


CANCELLED = "cancelled: nothing was changed"
"""Ctrl+C at a question before anything is written (exit 130, as any Ctrl+C)."""

_SETTLED_MANY = {
    "release": "released {n} date(s) of {key}{span}: the next recheck re-downloads them",
    "accept": "accepted {n} date(s) of {key}{span} as having no value: ABSENT, never retried",
}


def _settle_range(
    ctx: typer.Context,
    key: str,
    first: date | None,
    last: date | None,
    verb: Literal["release", "accept"],
    yes: bool,
) -> None:
    """`quarantine VERB KEY --from/--to` or `--all`: the quarantined dates of ``key`` in the
    range read once (:meth:`Store.quarantined`), asked about (unless ``yes``), then each
    settled as one date is (:func:`fuelpipe.stages.quarantine.settle_all`: the data version
    moved once), with a progress bar."""
    from fuelpipe.stages.quarantine import select, settle_all

    past = "released" if verb == "release" else "accepted"
    with wired(ctx, writes=True) as context:
        now = context.clock.now()  # a demo store's clock
        first = None if first is None else _checked(first, "--from", now)
        last = None if last is None else _checked(last, "--to", now)
        span = _span(first, last)
        records = select(context.store.quarantined(), {key}, first, last)
        if not records:
            raise fail(
                f"no date of {key}{span} is quarantined: nothing {past} "
                f"(`fuelpipe quarantine list --series {key}` lists those that are)",
                code=1,
            )
        n = len(records)
        if not yes:
            asked = (
                f"{verb.capitalize()} {n:,} quarantined date(s) of {key} "
                f"({records[0].date} to {records[-1].date})?"
            )
            try:
                agreed = typer.confirm(asked, default=False)
            except typer.Abort as stop:  # click's for Ctrl+C and for the input's end alike
                if isinstance(stop.__context__, KeyboardInterrupt):
                    fail(CANCELLED)  # its one line, not `interrupted` under it (an Exit's)
                    raise SystemExit(EXIT_INTERRUPTED) from None
                # no answer: the input ended (a script, a cron job)
                raise fail(
                    f"nothing {past}: no answer to the question (--yes skips it)", 1
                ) from None
            if not agreed:
                raise fail(f"nothing {past}", code=1)
        try:
            with display.bar(console) as progress:
                settled = settle_all(
                    context.store, verb, records, now, lambda d, total: progress(verb, d, total)
                )
        except KeyboardInterrupt:
            note(
                f"stopped part-way through the {n:,} dates (the bar shows where): those {past} "
                "stay so; the same command goes on with the rest"
            )
            raise
    console.print(_SETTLED_MANY[verb].format(n=f"{settled:,}", key=key, span=span))
    if settled < n:
        warn(
            f"{n - settled:,} of the {n:,} asked about were no longer quarantined (released, "
            "accepted or stored meanwhile): left as they are"
        )


_settling_command(
    "release",
    """Give a quarantined record a fresh retry budget; the next recheck re-downloads it.

    Many dates of KEY at once: --from and/or --to (a range), or --all (every quarantined date
    of KEY). It counts them and asks first (--yes: it does not ask), then settles each as one
    date is, with a progress bar; the data version moves once.
    """,
    "released {key} {when}: it will be re-downloaded by the next recheck",
)
_settling_command(
    "accept",
    """Accept that a quarantined record's date has no value: it becomes ABSENT, never retried.

    It leaves `quarantine list`, counts as absent (not quarantined) in `status` and the health
    view, keeps its retry count, and its reason says it was accepted, when, and why it was
    quarantined. A value the source publishes for it later is still stored (`revise` re-reads
    the dates of its window).

    Many dates of KEY at once: --from and/or --to (a range), or --all (every quarantined date
    of KEY). It counts them and asks first (--yes: it does not ask), then settles each as one
    date is, with a progress bar; the data version moves once.
    """,
    "accepted {key} {when} as having no value: it is ABSENT, never retried",
)


_NOT_CHECKED = {
    "malformed": "never (malformed)",
    "revise": "never (a revise)",
    "reads": f"not checked (past {SETTLE_READS:,} reads)",
}
"""`dlq list`'s settled cell for one never settled this way, or not reached (its reads spent)."""


def _settle_state(check: SettleCheck, letter: DeadLetter) -> tuple[bool, str, dict[str, Any]]:
    """Whether every date ``letter`` asked for is settled in the store now (as the dead-letter
    alert rule checks it, within ``check``'s reads), what `dlq list`'s cell says of it, and its
    JSON fields (``settled``: true, false, or null when not checked)."""
    told = check.check(letter)
    fields: dict[str, Any] = {
        "settled": None,
        "settled_statuses": None,
        "dropped_keys": None,
        "before_start": None,
        "ahead": None,
        "waits_on": None,
        "not_checked": None,
    }
    if isinstance(told, Settled):
        statuses = {s.value: told.statuses[s] for s in Status if told.statuses[s]}
        fields.update(
            settled=True,
            settled_statuses=statuses,
            dropped_keys=list(told.dropped) or None,
            before_start=told.before_start or None,
            ahead=told.ahead or None,
        )
        return True, f"yes ({told.words()})", fields
    if isinstance(told, Waiting):
        fields.update(settled=False, waits_on=waits_on_text(told))
        return False, f"waits on {waits_on_text(told)}", fields
    why = never_settled(letter) or "reads"
    fields.update(settled=False if why != "reads" else None, not_checked=why)
    return False, _NOT_CHECKED[why], fields


SETTLED_HINT = (
    "{n} settled dead letter(s): the dead-letter alert rule removes them at its next run "
    "(`fuelpipe watch`; on AWS within the hour), each logged whole first; `fuelpipe dlq purge "
    "--settled` removes them now"
)


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Dead-lettered messages with the reason each was set aside, and whether every date each
    asked for is settled in the store now (then the dead-letter alert rule removes it at its
    next run) or the first date it waits on.

    On the AWS home, when fewer come back than the DLQ counts (SQS samples its servers; another
    reader may hold some), it prints those it read, warns how many it read of how many, and
    exits 1: the list may be incomplete, run it again.
    """
    short: DeadLettersIncomplete | None = None
    with wired(ctx, uses_queue=True, reads_no_clock=True) as context:
        try:
            rows = context.queue.dead_letters()
        except DeadLettersIncomplete as exc:
            rows, short = exc.found, exc
        # the rule's budget of store reads
        check = SettleCheck(context.store, context.catalog, now=context.clock.now())
        states = [_settle_state(check, d) for d in rows]
    read = sum(d.copies for d in rows)  # SQS may hold one message twice: it is shown once
    if not rows and short is None:
        _nothing_to_show(as_json, NO_DEAD_LETTERS)
    elif as_json:
        print(
            json.dumps(
                [
                    {
                        "id": d.message_id,
                        "reason": d.reason,
                        "receive_count": d.receive_count,
                        "body": d.body,
                        **fields,
                    }
                    for d, (_, _, fields) in zip(rows, states, strict=True)
                ],
                indent=2,
            )
        )
    elif rows:  # none read of those counted: the warning below says so
        title = f"{len(rows):,} dead letters"
        if short is not None:
            title = f"{read:,} of {short.expected:,} dead letters (incomplete)"
        table = Table("id", "receives", "settled", "reason", "body", title=title)
        for d, (_, cell, _) in zip(rows, states, strict=True):
            # A body is whatever was queued and a reason quotes it: printed as they are (a
            # "[/x]" read as markup stopped the list), cut before escaping.
            table.add_row(
                rich_escape(d.message_id[:12]),
                f"{d.receive_count:,}",
                rich_escape(cell),
                rich_escape(d.reason),
                rich_escape(d.body[:80]),
            )
        console.print(table)
    settled = sum(done for done, _, _ in states)
    if settled:
        note(SETTLED_HINT.format(n=f"{settled:,}"))
    if short is not None:
        warn(
            f"this list may be incomplete: read {read:,} of the {short.expected:,} dead "
            f"letter(s) the DLQ counts ({SQS_SHORT}); run `fuelpipe dlq list` again"
        )
        raise typer.Exit(EXIT_INCOMPLETE)


def _remain(exc: DeadLettersRemain, command: str) -> typer.Exit:
    """The warning for a redrive or purge that came back short, or stopped part-way on an
    error (those done before it are done), and its exit."""
    of = "asked about" if exc.asked else "the DLQ counted"
    if exc.error is not None:
        warn(
            f"stopped part-way: {exc.error}; {exc.remaining:,} of the {exc.expected:,} dead "
            f"letter(s) {of} are still dead-lettered; run `fuelpipe dlq {command}` again"
        )
    elif exc.asked:
        warn(
            f"{exc.remaining:,} of the {exc.expected:,} dead letter(s) asked about were not "
            f"returned this time: still dead-lettered ({SQS_SHORT}), or gone already; run "
            f"`fuelpipe dlq {command}` again"
        )
    else:
        warn(
            f"{exc.remaining:,} of the {exc.expected:,} dead letter(s) the DLQ counted were not "
            f"returned this time and are still dead-lettered ({SQS_SHORT}); run "
            f"`fuelpipe dlq {command}` again"
        )
    return typer.Exit(EXIT_INCOMPLETE)


@dlq_app.command("redrive")
def dlq_redrive(ctx: typer.Context) -> None:
    """Move every dead letter back to the main queue.

    Each is sent to the queue before it leaves the DLQ. On the AWS home, when fewer come back
    than the DLQ counts, or a send fails part-way, it says how many it moved and how many
    remain, and exits 1: run it again.
    """
    with wired(ctx, writes=True, uses_queue=True) as context:
        try:
            moved = context.queue.redrive()
        except DeadLettersRemain as exc:
            console.print(f"moved {exc.done:,} message(s) back to the queue")
            raise _remain(exc, "redrive") from None
    # as purge says it ("moved 0 message(s)" read as if some had been there and failed)
    console.print(
        f"moved {moved:,} message(s) back to the queue"
        if moved
        else "no dead letters: nothing to redrive"
    )


cli.command(name="revise")(revise_command)


@cli.command()
def replay(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: PortOption = 8765,
    faults: Annotated[
        str | None,
        typer.Option(help="Fault spec, e.g. 'all:0.3' or 'bcb:5xx=0.1;yahoo:429=0.2', or a file."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed for the faults, so a run repeats (default: the plan file's seed, else 0)."
        ),
    ] = None,
    revise: Annotated[
        list[str] | None,
        typer.Option(
            "--revise",
            help="Serve a revised value: KEY@YYYY-MM-DD=VALUE, e.g. "
            "COMMODITY#BRENT@2022-03-08=128.1 (repeatable; PTAX, Yahoo and FRED series).",
        ),
    ] = None,
    dividend: Annotated[
        list[str] | None,
        typer.Option(
            "--dividend",
            help="Pay a dividend: KEY@EX-DATE=FACTOR re-bases the adjusted close of every "
            "earlier bar, e.g. STOCK#PETR4@2022-04-25=0.97 (repeatable; Yahoo series).",
        ),
    ] = None,
    split: Annotated[
        list[str] | None,
        typer.Option(
            "--split",
            help="Split a stock: KEY@EX-DATE=N:D divides every price of the earlier bars by "
            "N/D, the close too, and reports the split, e.g. STOCK#PETR4@2022-04-25=2:1 "
            "(synthetic; repeatable; Yahoo series).",
        ),
    ] = None,
) -> None:
    """Serve every source's real wire format from the bundled real data, offline."""
    from fuelpipe.replay import run_replay
    from fuelpipe.replay.faults import FaultPlan, FaultSpecError
    from fuelpipe.replay.revisions import parse_dividend, parse_revision, parse_split

    if faults is not None and not faults.strip():  # an unset shell variable, not "no faults"
        raise fail(
            "--faults is blank: give a spec such as 'all:0.3' or a plan file, or leave it out"
        )
    if faults:
        try:
            FaultPlan.from_arg(faults, seed)
        except (FaultSpecError, OSError) as exc:
            raise fail(f"--faults: {exc}") from None
    try:
        revisions = dict(parse_revision(spec) for spec in revise or [])
        dividends = dict(parse_dividend(spec) for spec in dividend or [])
        splits = dict(parse_split(spec) for spec in split or [])
    except (ValueError, KeyError) as exc:
        raise fail(str(exc.args[0])) from None
    host = _listen_host(host)
    _check_port(host, port)
    try:
        run_replay(
            host=host,
            port=port,
            snapshot_dir=None,
            faults_spec=faults,
            seed=seed,
            revisions=revisions,
            dividends=dividends,
            splits=splits,
        )
    except (ValueError, KeyError) as exc:
        raise fail(str(exc.args[0])) from None


@cli.command()
def demo(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="End by serving the dashboard.")
    ] = True,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Dashboard port (default 8050).")
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Replay the window's last two weeks as if live, values released "
            "at their real publication instants, `watch`'s loop polling them; its daily "
            "revise too, at FUELPIPE_REVISE_AT (default 23:00 São Paulo time; off: none) "
            "of each replayed day, and at the first look, the store having none since.",
        ),
    ] = False,
    speed: Annotated[
        float | None,
        typer.Option(min=1.0, help="With --live: how much faster than real time (default 600)."),
    ] = None,
    all_counters: Annotated[
        bool,
        typer.Option(
            "--all-counters",
            help="Print each window's full cycle summary, every counter (0 or not) in a "
            "table, rather than a line a stage with the counters that are not 0.",
        ),
    ] = False,
) -> None:
    """Replay the bundled real data, run the whole pipeline over it, print the status."""
    from fuelpipe.cli.demo import run_demo

    if speed is not None and not live:
        raise fail("--speed is for --live (the replay as if live); the demo alone has no clock")
    if all_counters and live:
        raise fail("--all-counters is for the demo's cycle summaries: --live prints none")
    if speed is not None and not math.isfinite(speed):
        raise fail(f"--speed must be a finite number of times real time (1 or more), not {speed}")
    if port is not None and not serve:
        raise fail("--port is for the dashboard, and --no-serve serves none")
    port = 8050 if port is None else port
    if global_options(ctx).now is not None:
        raise fail(
            "--now (or FUELPIPE_NOW) is not for `fuelpipe demo`: the demo runs each part of "
            "the bundled data at its own clock and the store remembers it; give --now to the "
            "commands you run on the demo's store afterwards"
        )

    # Without the dashboard extra the demo still runs the whole pipeline, then says how.
    hint = dashboard_hint("the panel") if serve else None
    if serve and hint is None:
        _check_port("127.0.0.1", port)
    with ctrl_c_exits_130():
        run_demo(
            console,
            global_options(ctx).overrides(),
            serve=serve and hint is None,
            port=port,
            fail=fail,
            live=live,
            speed=600.0 if speed is None else speed,
            all_counters=all_counters,
        )
    if hint:  # without NumPy the store has no outlook: the demo run again makes it
        then = (
            "`fuelpipe demo` again fills this store with its outlook too and serves it"
            if outlook_model_missing()
            else "`fuelpipe dashboard` serves this store"
        )
        console.print(f"\n{hint}, then {then}", markup=False, soft_wrap=True)


@cli.command()
def dashboard(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8050,
) -> None:
    """Serve the analysis dashboard and its API on this machine."""
    if hint := dashboard_hint("`fuelpipe dashboard`"):
        raise fail(hint)
    from fuelpipe.cli.stations import optional_lake
    from fuelpipe.dashboard.server import serve as serve_dashboard
    from fuelpipe.homes import open_intraday

    host = _listen_host(host)
    _check_port(host, port)
    with (
        ctrl_c_exits_130(),
        wired(ctx, uses_queue=True, series_clocks=True) as context,
        open_intraday(settings(ctx), read_only=True) as intraday,
    ):
        reads = health_reads(settings(ctx), context.store)  # as `run` stores health
        if reads.clock is not None:  # a demo store's: its header, Health and Today name it
            note(
                f"the dashboard runs at {reads.clock.now().isoformat()}, the newest of the "
                "demo's clocks (each series is read at its own), and follows them while "
                "`fuelpipe demo --live` moves them"
            )
        console.print(f"dashboard on [bold]http://{host}:{port}/[/] (Ctrl+C to stop)")
        serve_dashboard(
            context.store,
            context.catalog,
            context.queue,
            host=host,
            port=port,
            clock=reads.clock or context.clock,
            stations=optional_lake(settings(ctx)),
            series_clocks=reads.series_clocks,
            intraday=intraday,
            store_views=False,  # the store is opened read-only: recomputed views stay in memory
            alerts=reads.alerts,
            # a damaged store: a 503 naming it, as `error:`, and saying to restart the server
            faults=damage_namer(settings(ctx), reopen="restart `fuelpipe dashboard`"),
        )


@aws_app.command("create-resources")
def aws_create_resources(ctx: typer.Context) -> None:
    """Create the table, its two GSIs (pending-index, status-index), the queue and its DLQ as
    the template declares them."""
    from botocore.exceptions import NoCredentialsError, NoRegionError

    from fuelpipe.homes.aws import create_resources

    cfg = settings(ctx, backend="aws")
    try:
        created = create_resources(cfg)
    except ValueError as exc:  # the settings: bad input
        raise fail(f"could not create resources: {exc}") from None
    except (NoRegionError, NoCredentialsError) as exc:  # boto3's configuration: bad input too
        raise fail(f"could not create resources: {exc}{AWS_CONFIG_HINT}") from None
    except Exception as exc:  # AWS (or the local endpoint) refused or was not reached
        raise fail(f"could not create resources: {exc}", code=1) from None
    console.print(f"ready: {created}")


def _settled_letters(
    store: Store, catalog: Catalog, letters: Sequence[DeadLetter], now: datetime
) -> tuple[list[tuple[DeadLetter, Settled]], list[DeadLetter]]:
    """Those of ``letters`` every date of which is settled in ``store`` now (as `dlq list`
    and the dead-letter alert rule check them, within the rule's store reads), with their
    dates' statuses, and the others, which a note says are kept."""
    check = SettleCheck(store, catalog, now=now)
    checked = [(d, check.check(d)) for d in letters]
    found = [(d, told) for d, told in checked if isinstance(told, Settled)]
    kept = [d for d, told in checked if not isinstance(told, Settled)]
    if kept:
        note(
            f"{len(kept):,} dead letter(s) not settled are kept (`fuelpipe dlq list` says what "
            "each waits on)"
        )
    return found, kept


@dlq_app.command("purge")
def dlq_purge(
    ctx: typer.Context,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Do not ask: delete the dead letters it reads now (those dead-lettered after "
            "stay).",
        ),
    ] = False,
    settled_only: Annotated[
        bool,
        typer.Option(
            "--settled",
            help="Only those every date of which is settled in the store now (`dlq list`'s "
            "settled column: yes), each logged whole first, as the dead-letter alert rule "
            "removes them.",
        ),
    ] = False,
) -> None:
    """Delete the dead letters for good (see them first with `fuelpipe dlq list`).

    It reads them as `dlq list` does, asks about that many, and deletes those it read and
    asked about, by message id, and no other: one dead-lettered while the question was open
    stays, and a warning says how many more there are. With --yes it does not ask: it deletes
    those it read at that moment. One asked about that is no longer there (redriven or purged
    meanwhile) is not counted, and a warning says so. On the AWS home, when fewer come back
    than the DLQ counts, it asks about those it read and keeps the rest; when one asked about
    does not come back to the purge, it deletes the others; either way it says how many
    remain and exits 1: run it again.

    With --settled it deletes only those it finds settled now, as `dlq list` checks them (at
    most the alert rule's store reads), each logged whole (id, copies, reason, its dates'
    statuses, body) before; the others stay, not counted as arrived after.
    """
    short: DeadLettersIncomplete | None = None
    with wired(ctx, writes=True, uses_queue=True) as context:
        try:
            letters = context.queue.dead_letters()
        except DeadLettersIncomplete as exc:
            letters, short = exc.found, exc
        if short is not None:
            read = sum(d.copies for d in letters)
            warn(
                f"read {read:,} of the {short.expected:,} dead letter(s) the DLQ counts "
                f"({SQS_SHORT}): only those read can be purged now"
            )
        # --settled: those read and left alone (kept) are not counted as arrived after
        found, kept = (
            _settled_letters(context.store, context.catalog, letters, context.clock.now())
            if settled_only
            else ([], [])
        )
        letters = [d for d, _ in found] if settled_only else letters
        what = "settled dead letter(s)" if settled_only else "dead letter(s)"
        if not letters:
            if short is not None:
                raise typer.Exit(EXIT_INCOMPLETE)
            console.print(f"no {what.replace('(s)', 's')}: nothing to purge")
            return
        asked = len(letters)  # as `dlq list` counts them: a message SQS holds twice is one
        if not yes:
            if not sys.stdin.isatty():
                raise fail(f"{asked:,} {what} would be deleted for good; add --yes to confirm")
            if not typer.confirm(f"Delete {asked:,} {what} for good?", default=False):
                raise fail("nothing purged", code=1)
        command = "purge" + " --settled" * settled_only + " --yes" * yes
        for letter, settled in found:  # logged whole first, as the alert rule does: not lost
            log_removal(letter, settled)
        try:
            # Only those read and asked about: one nobody saw is not deleted.
            purged = context.queue.purge_dead_letters(ids={d.message_id for d in letters})
        except DeadLettersRemain as exc:
            console.print(f"purged {exc.done:,} {what}")
            raise _remain(exc, command) from None
        # Any left now, beyond those kept, arrived after the read; SQS's count is
        # approximate and may lag a moment behind its deletes.
        left = max(context.queue.dead_letter_count() - sum(d.copies for d in kept), 0)
    console.print(f"purged {purged:,} {what}")
    if purged < asked:
        warn(
            f"{asked - purged:,} of the {asked:,} asked about were no longer dead-lettered "
            "(redriven or purged meanwhile)"
        )
    if short is not None:
        warn(f"the dead letters not read are kept; run `fuelpipe dlq {command}` again")
        raise typer.Exit(EXIT_INCOMPLETE)
    if left:
        warn(
            f"{purged:,} purged; {left:,} more arrived after they were read: run "
            "`fuelpipe dlq list`"
        )


from fuelpipe.cli.outlook import outlook_app  # noqa: E402 - registered last: it uses main's helpers

cli.add_typer(outlook_app, name="outlook")

from fuelpipe.cli import repair as _repair  # noqa: E402, F401 - registers `fuelpipe repair`
from fuelpipe.cli.stations import stations_app  # noqa: E402 - registered after main's helpers

cli.add_typer(stations_app, name="stations")
from fuelpipe.cli import watch as _watch  # noqa: E402, F401 - registers `fuelpipe watch`
from fuelpipe.cli.helpstyle import use_plain_help  # noqa: E402 - once every command is in

use_plain_help(cli)  # --help shows flags as flags (`--json`, not `--json <bool>`)
