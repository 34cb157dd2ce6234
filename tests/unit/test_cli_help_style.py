"""`--help` shows a flag as a flag and an argument by its name: the pinned typer rendered
`--json <bool>` (as if the flag took a value, and `--json true` then fails) and a usage line
`{key} {DATE}`."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from fuelpipe.cli.main import cli


def _help(*words: str, columns: int = 100) -> str:
    done = CliRunner().invoke(
        cli, [*words, "--help"], prog_name="fuelpipe", env={"COLUMNS": str(columns)}
    )
    assert done.exit_code == 0, done.output
    return done.output


@pytest.mark.parametrize(
    "words",
    [(), ("status",), ("quarantine", "release"), ("stations", "query"), ("outlook", "show")],
)
def test_no_flag_shows_a_type_as_if_it_took_a_value(words: tuple[str, ...]) -> None:
    text = _help(*words)
    assert "<bool>" not in text
    assert re.search(r"--help +-h +Show this message and exit", text), text


def test_flags_and_options_of_status() -> None:
    text = _help("status")
    assert re.search(r"--json +Print a JSON array", text), text
    assert re.search(r"--all +Include keys with no record yet", text), text
    # it takes one; --from, its alias (as `outlook backtest` spells a window), shown second
    assert re.search(r"--since,--from +<str> +Count expected dates", text), text


def test_arguments_read_as_click_writes_them() -> None:
    assert "Usage: fuelpipe quarantine release [OPTIONS] KEY [DATE]" in _help(
        "quarantine", "release"
    )
    assert "Usage: fuelpipe export [OPTIONS] [KEY]" in _help("export")
    assert "Usage: fuelpipe stations query [OPTIONS] NAME" in _help("stations", "query")
    assert "Usage: fuelpipe stations ingest [OPTIONS] [PATHS]..." in _help("stations", "ingest")
    assert "{" not in _help("quarantine", "release").split("\n\n")[0]


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the CLI, by the words that reach it (typer's groups are
    not click's: ``isinstance(command, click.Group)`` gave the top alone)."""
    import typer.main
    from typer.core import TyperGroup

    paths: list[tuple[str, ...]] = []

    def walk(command: Any, words: tuple[str, ...]) -> None:
        paths.append(words)
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                walk(sub, (*words, name))

    walk(typer.main.get_command(cli), ())
    return paths


def test_an_install_hint_keeps_its_extra_in_brackets() -> None:
    """Rich reads `[frames]` as markup and drops it: `pip install 'fuelpipe'` would install
    the package without the extra the command needs."""

    def words_of(text: str) -> str:  # the help's words, wrapped lines and box borders undone
        return " ".join(text.replace("│", " ").split())

    assert "pip install '.[frames]' in fuelpipe's checkout" in words_of(_help("export"))
    for words in _command_paths():
        assert "pip install 'fuelpipe'" not in words_of(_help(*words)), words


def test_outlook_backtest_help_names_the_fuels_and_area_it_scores_by_default() -> None:
    """Its --fuel help listed every fuel (CNG and GASOLINE_PREMIUM too) with no word that
    a bare backtest scores five of them, nor that --area defaults to BR."""
    from fuelpipe.cli.outlook import DEFAULT_FUELS

    text = " ".join(_help("outlook", "backtest").replace("│", " ").split())
    assert f"(default: {', '.join(DEFAULT_FUELS)})" in text, text
    assert "or a UF (default: BR)" in text, text


def test_quarantine_release_help_says_what_its_arguments_are() -> None:
    text = " ".join(_help("quarantine", "release").replace("│", " ").split())
    assert "KEY <str> The quarantined record's key, e.g. CURRENCY#USD, any case" in text, text
    assert "DATE <str> Its date (YYYY-MM-DD)" in text, text


def test_the_walk_reaches_every_command() -> None:
    paths = _command_paths()
    assert ("watch",) in paths and ("stations", "query") in paths, paths


def test_no_help_at_80_columns_cuts_a_word_short() -> None:
    """`watch --help` at 80 columns read `[env var: FUELPIPE_ALERT_WEBHOO…`, and `replay
    --help` an example value `COMMODITY#BRENT@2022-03-08=128…`: a word longer than the help
    column is cut with an ellipsis, and `--ticks <int range> [x>=1]` had widened the type
    column. Every option's env var is named whole."""
    import typer.main

    root = typer.main.get_command(cli)
    for words in _command_paths():
        text = _help(*words, columns=80)
        assert not re.search(r"\S… *│", text), (words, text)
        command = root
        for word in words:
            command = command.commands[word]  # type: ignore[attr-defined]
        for param in command.params:
            if getattr(param, "show_envvar", False) and param.envvar:
                assert f"{param.envvar}]" in text, (words, text)


@pytest.mark.parametrize("module", ["fuelpipe.cli.watch", "fuelpipe.cli.repair"])
def test_a_command_module_imported_first_still_shows_plain_help(module: str) -> None:
    """A process that imported ``fuelpipe.cli.watch`` before ``fuelpipe.cli.main`` (a test
    module does) had main style its commands before `watch` was registered: `watch --help`
    then read `--json <bool>`-style types (and cut a word at 80 columns)."""
    code = (
        f"import {module}\n"
        "from typer.testing import CliRunner\n"
        "from fuelpipe.cli.main import cli\n"
        f"done = CliRunner().invoke(cli, ['{module.rsplit('.', 1)[1]}', '--help'],"
        " prog_name='fuelpipe', env={'COLUMNS': '100'})\n"
        "print(done.output)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "<bool>" not in done.stdout, done.stdout
    assert re.search(r"--help +-h +Show this message and exit", done.stdout), done.stdout
