"""The run summary prints what sources said as it is: a source's last error can quote the
payload it refused (a JSON field's name, a page's text), and rich would read ``[/x]`` in it as
markup, stopping `fuelpipe run` with a MarkupError after its work was done, or would swallow
a ``[bold]``."""

from __future__ import annotations

from rich.console import Console

from fuelpipe.cli.display import print_sources
from fuelpipe.ports.source import SourceStats


def test_a_source_s_last_error_is_printed_as_it_is() -> None:
    console = Console(record=True, width=200, color_system=None)
    words = 'bad payload: {"[/x]": 1}: [/x]: Extra inputs are not permitted; [bold]here'

    print_sources(console, {"bcb": SourceStats(requests=3, failures=1, last_error=words)})

    text = console.export_text()
    assert "[/x]: Extra inputs are not permitted" in text
    assert "[bold]here" in text
