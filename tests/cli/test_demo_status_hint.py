"""The demo's last line: the `fuelpipe status` that shows every series' row on the store the
demo filled, naming the settings a new shell needs (the store's path when it is not the
default; the table for the AWS home)."""

from __future__ import annotations

from pathlib import Path

from fuelpipe.cli.demo import status_command
from fuelpipe.homes.settings import Settings


def test_the_default_store_needs_no_setting() -> None:
    assert status_command(Settings(db=Path("data/fuelpipe.sqlite"))) == "fuelpipe status"


def test_another_store_is_named_quoted_for_the_shell() -> None:
    cfg = Settings(db=Path("/tmp/my demo/d.sqlite"))

    assert status_command(cfg) == "FUELPIPE_DB='/tmp/my demo/d.sqlite' fuelpipe status"


def test_the_aws_home_names_its_table() -> None:
    assert status_command(Settings(backend="aws", table_name="fuelpipe")) == (
        "FUELPIPE_BACKEND=aws fuelpipe status"
    )
    assert status_command(Settings(backend="aws", table_name="demo")) == (
        "FUELPIPE_BACKEND=aws FUELPIPE_TABLE_NAME=demo fuelpipe status"
    )
