"""Settings passed to a child process as ``FUELPIPE_*`` text read back as the same settings.

devtools/chaos/concurrent_runs.py hands its settings to the pipeline processes it starts as
``str(value)`` of each field; ``str(time(23, 0))`` is ``23:00:00``, which the revise time once
refused, so every process of the concurrency test exited at start.
"""

from __future__ import annotations

from fuelpipe.homes.settings import Settings, _environ_values


def test_every_default_printed_as_text_reads_back_as_itself():
    defaults = Settings()
    as_text = {
        f"FUELPIPE_{name.upper()}": str(value)
        for name, value in defaults.model_dump().items()
        if value is not None
    }
    assert as_text["FUELPIPE_REVISE_AT"] == "23:00:00"
    assert Settings(**_environ_values(as_text)) == defaults
