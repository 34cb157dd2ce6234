"""`fuelpipe watch --webhook "$URL"` with URL unset (`--webhook ''`) ran without a webhook, as
if the option had been left out: the alerts a script meant for a chat or a pager went to the
console alone, without a word. A blank --webhook is now refused before the store is made, as a
blank --now, -o or --host is. Synthetic store path; no source is reached (closed local ports)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fuelpipe.cli.main import cli

CLOSED = "http://127.0.0.1:9"


@pytest.mark.parametrize(("args", "blank"), [(["--webhook", ""], ""), (["--webhook= "], " ")])
def test_a_blank_webhook_is_refused_before_the_store_is_made(
    args: list[str], blank: str, tmp_path: Path
) -> None:
    env = {
        "FUELPIPE_DB": str(tmp_path / "s.sqlite"),
        "FUELPIPE_HTTP_ATTEMPTS": "1",
        **{f"FUELPIPE_SOURCE_{name}_URL": CLOSED for name in ("BCB", "YAHOO", "FRED", "ANP")},
    }
    done = CliRunner().invoke(
        cli,
        ["--now", "2022-05-07T23:59", "watch", *args, "--ticks", "1", "--no-intraday",
         "-s", "CURRENCY#USD"],
        env=env,
    )  # fmt: skip
    assert done.exit_code == 2, done.output
    assert " ".join(done.stderr.split()) == (
        f"error: --webhook is blank ({blank!r}): give the URL to POST alerts to, or leave "
        "--webhook out for alerts on the console alone"
    ), done.stderr
    assert list(tmp_path.iterdir()) == []  # no store, queue or watch lock
