"""``fuelpipe replay``: run the replay server in the foreground and print the env lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from fuelpipe.replay.faults import FaultPlan
from fuelpipe.replay.revisions import Dividends, Revisions, Splits
from fuelpipe.replay.server import ReplayServer


def run_replay(
    host: str = "127.0.0.1",
    port: int = 8765,
    snapshot_dir: Path | str | None = None,
    faults_spec: str | None = None,
    seed: int | None = None,
    *,
    out: TextIO | None = None,
    quiet: bool = False,
    revisions: Revisions | None = None,
    dividends: Dividends | None = None,
    splits: Splits | None = None,
) -> int:
    """Serve until Ctrl-C; ``faults_spec`` is a spec string or a .toml/.json plan file.

    ``seed`` None: a plan file's own seed, else 0.
    """
    stream = out or sys.stdout
    plan = FaultPlan.from_arg(faults_spec or "", seed)  # no spec: no faults, stats show the seed
    server = ReplayServer(
        snapshot_dir,
        host,
        port,
        plan,
        quiet=quiet,
        revisions=revisions,
        dividends=dividends,
        splits=splits,
    )
    changed = _changes(revisions or {}, dividends or {}, splits or {})
    print(f"# fuelpipe replay on {server.url} ({server.faults.describe()}{changed})", file=stream)
    for name, value in server.env().items():
        print(f"export {name}={value}", file=stream)
    stream.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _changes(revisions: Revisions, dividends: Dividends, splits: Splits) -> str:
    """The header's words for the served data's changes, as the options gave them ("" for
    none): "no faults" alone read as if the data were served unchanged."""
    words = [f"--revise {k}@{d}={v}" for (k, d), v in sorted(revisions.items())]
    words += [f"--dividend {k}@{d}={v}" for (k, d), v in sorted(dividends.items())]
    words += [f"--split {k}@{d}={n}:{m}" for (k, d), (n, m) in sorted(splits.items())]
    return f"; serving {', '.join(words)}" if words else ""
