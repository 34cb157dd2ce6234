"""URL builders for the real request shapes the adapters send."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

PTAX_PATH = (
    "/CotacaoMoedaPeriodo(moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)"
)


def ptax_params(currency: str, start: date, end: date, **extra: str) -> dict[str, str]:
    """Query parameters of a PTAX period request, dates as MM-DD-YYYY in quotes."""
    return {
        "@moeda": f"'{currency}'",
        "@dataInicial": f"'{start:%m-%d-%Y}'",
        "@dataFinalCotacao": f"'{end:%m-%d-%Y}'",
        "$format": "json",
        **extra,
    }


def unix(day: date) -> int:
    """Midnight UTC of a date, as Unix seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def chart_params(start: date, end: date) -> dict[str, str]:
    """period1/period2 covering [start, end] in UTC days."""
    return {"period1": str(unix(start)), "period2": str(unix(end) + 86400), "interval": "1d"}


@contextmanager
def child(args: list[str]) -> Iterator[subprocess.Popen[str]]:
    """A child process with its output piped as text; killed if the test leaves it running."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def interrupt(proc: subprocess.Popen[str]) -> int:
    """Ctrl-C the child, as a person stops `fuelpipe replay`; its exit code."""
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=60)  # a hang guard: its shutdown on a loaded host


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`fuelpipe ARGS` to its end in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "fuelpipe.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
