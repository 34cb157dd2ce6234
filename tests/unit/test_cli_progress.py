"""The progress bars of `run`, `revise`, `stations ingest`, `outlook backtest` and `demo`
(cli/display.py's ``bar``) when the output is piped or redirected: rich prints the final frame
only, and there each phase is one plain line, not a bar."""

from __future__ import annotations

import io
from contextlib import nullcontext

import pytest

from fuelpipe.cli.display import PipeConsole, bar

BAR_GLYPHS = "━╸╺"


def _shown(*, terminal: bool, interrupted: bool = False) -> str:
    out = io.StringIO()
    console = PipeConsole(file=out, width=150, force_terminal=terminal)
    with pytest.raises(KeyboardInterrupt) if interrupted else nullcontext(), bar(console) as update:
        update("rows", 13_310, 13_310)
        update("orchestrate", 3, 10)  # stopped part-way
        update("scrape", 5, 0)  # total not known
        update("file_bytes", 1000, 1000)
        if interrupted:
            raise KeyboardInterrupt
    return out.getvalue()


@pytest.mark.parametrize("interrupted", [False, True])
def test_a_redirected_log_gets_one_plain_line_per_phase(interrupted: bool) -> None:
    """Piped (`fuelpipe run 2>&1 | cat`), the final frame was a bar per phase: one stopped
    part-way (an interrupted run, a scan of 10 keys at 3) read as half-drawn
    (``━━━━━━━━━━━━          3/10``). Each phase is one line: its name, how far it got, and
    how long it took; no bar glyph, no control code."""
    shown = _shown(terminal=False, interrupted=interrupted)
    lines = shown.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "station records read",
        "scanning keys for gaps",
        "downloading streams",
        "file being downloaded",
    ], shown
    # counts with thousands separators, as the summaries below them (13,310 rows read)
    assert " ".join(lines[0].split()) == "station records read: 13,310/13,310 in 0:00:00"
    assert " ".join(lines[1].split()) == "scanning keys for gaps: 3/10 in 0:00:00"
    assert " ".join(lines[2].split()) == "downloading streams: 5/5 in 0:00:00"
    assert " ".join(lines[3].split()) == "file being downloaded: 1.0/1.0 kB in 0:00:00"
    assert not any(glyph in shown for glyph in BAR_GLYPHS), shown
    assert "\x1b" not in shown


def test_a_terminal_still_draws_the_bars() -> None:
    shown = _shown(terminal=True)
    assert "━" in shown and "scanning keys for gaps" in shown


@pytest.mark.parametrize("disable", [False, True])
def test_no_phase_no_line(disable: bool) -> None:
    """A `revise` with nothing to re-read (no phase ran) began its piped output with a blank
    line, rich's empty final frame; nothing is printed now, and nothing with --json either
    (``disable``)."""
    out = io.StringIO()
    with bar(PipeConsole(file=out, width=150, force_terminal=False), disable=disable) as update:
        if disable:
            update("scrape", 1, 1)
    assert out.getvalue() == ""
