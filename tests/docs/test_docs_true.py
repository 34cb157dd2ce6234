"""The README and docs/ name only settings, commands, options and make targets that exist.

The settings read are collected from the code: every field of ``Settings`` (each one a
``FUELPIPE_<NAME>`` variable) and every variable read by name in src/fuelpipe, lambdas/ and
the test tooling (devtools/, the tests' conftest.py fixtures, the Makefile); the deploy
tooling's own (scripts/, the GitHub workflows' ``vars.``) against docs/DEPLOY.md. Each must be documented, and each documented
one read; a default the configuration table gives as a literal must be the code's (a knob's
default given in words only where PROSE_DEFAULTS says, a variable read by name falling back to
the table's), and the time knobs' bounds it names the Settings fields'; docs/CONFIGURATION.md
names every setting, with the bounds of each one that counts (`0 to 50`); each one
infra/template.yaml gives the functions must be read. Each ``fuelpipe …`` in the docs' code
must name a command and options that exist (a fuel or area it gives, one they take), and each
command and option the CLI has is in README's Commands table and a section of docs/CLI.md; each
``scripts/deploy.py …`` a subcommand and options of its parser, and each ``make X`` a Makefile
target. README's
architecture picture names every Lambda and every port ABC, and only ports and adapters that
exist; each repository file, fuelpipe module and schedule (``cron(...)``, ``…Schedule``) the
docs name exists, and each dashboard route they name (`/api/lags`, `/stations`) is served.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
from typer.testing import CliRunner

from fuelpipe.adapters.sources._http import attempt_deadline
from fuelpipe.cli.main import cli
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.homes.settings import (
    DEFAULT_SOURCE_URLS,
    ENV_PREFIX,
    Settings,
    parse_revise_at,
)

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEPLOY = ROOT / "docs" / "DEPLOY.md"
CONFIGURATION = ROOT / "docs" / "CONFIGURATION.md"
GENERATED = {"BENCHMARKS.md", "RELIABILITY.md"}  # written by make bench / make chaos
DOCS = [README, *(p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in GENERATED)]

# Read by boto3 itself, not by fuelpipe's code; the table documents them for the local servers.
BOTO3_OWN = {"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"}

_PY_READ = re.compile(
    r"""(?:os\.environ\.get\(|os\.getenv\(|os\.environ\[)\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""(?!\s*\]\s*=[^=])"""  # os.environ["X"] = ... sets it
)
_SETTING_READ = re.compile(r"""environ_setting\(\s*["']([a-z0-9_]+)["']""")
_SHELL_READ = re.compile(r"\$\$?\{?(FUELPIPE_[A-Z0-9_]+)")
_WORKFLOW_VAR = re.compile(r"\bvars\.([A-Z][A-Z0-9_]*)")
_DOC_VAR = re.compile(r"\b(?:FUELPIPE|AWS)_[A-Z0-9_]*[A-Z0-9]\b")


def _files(*patterns: str) -> Iterator[Path]:
    for pattern in patterns:
        yield from sorted(ROOT.glob(pattern))


def _reads(paths: Iterator[Path]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        names |= set(_PY_READ.findall(text)) | set(_SHELL_READ.findall(text))
        names |= {ENV_PREFIX + n.upper() for n in _SETTING_READ.findall(text)}
    return names


# Where fuelpipe and its test tooling read variables by name: the conftest.py fixtures too
# (a knob a developer sets for a test run, FUELPIPE_TEST_CPU_THROTTLE), not the test modules.
CODE_READING = (
    "src/fuelpipe/**/*.py",
    "lambdas/**/*.py",
    "devtools/**/*.py",
    "tests/**/conftest.py",
)


def settings_read() -> set[str]:
    """Every environment variable fuelpipe and its test tooling read."""
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    code = _reads(_files(*CODE_READING))
    return fields | code | _reads(iter([ROOT / "Makefile"]))


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _names(cell: str) -> list[str]:
    """The variables one cell names; ``FUELPIPE_SOURCE_<BCB\\|YAHOO>_URL`` is one per source."""
    names = []
    for code in re.findall(r"`([^`]+)`", cell):
        alternatives = re.fullmatch(r"(\w+)<([\w\\|]+)>(\w*)", code)
        if alternatives:
            head, options, tail = alternatives.groups()
            names += [head + o + tail for o in options.replace("\\", "").split("|")]
        else:
            names.append(code)
    return names


def configuration_section() -> str:
    """README's "## Configuration" section, up to the next one."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    return section.split("\n## ", 1)[0]


def configuration_intro() -> str:
    """docs/CONFIGURATION.md's opening, before its first section: what the README's table
    leaves to it (the settings read outside Settings, the time knobs' bounds)."""
    return CONFIGURATION.read_text(encoding="utf-8").split("\n## ", 1)[0]


def configuration_rows() -> dict[str, str]:
    """README's configuration table: variable -> its default cell as written."""
    rows: dict[str, str] = {}
    for row in (line for line in configuration_section().splitlines() if line.startswith("| `")):
        variables, default, _meaning = _cells(row)
        rows.update(dict.fromkeys(_names(variables), default))
    return rows


def configuration_table() -> dict[str, str | None]:
    """README's configuration table: variable -> its default as a literal (`5`, none), or
    None when the cell is prose ("the real APIs") or gives no literal for each variable."""
    table: dict[str, str | None] = {}
    for row in (line for line in configuration_section().splitlines() if line.startswith("| `")):
        variables, default, _meaning = _cells(row)
        names = _names(variables)
        literals: list[str | None] = [*re.findall(r"`([^`]+)`", default)]
        if default.lower() in ("none", "unset"):
            literals = ["none"] * len(names)
        elif len(literals) != len(names):
            literals = [None] * len(names)
        table.update(zip(names, literals, strict=True))
    return table


def test_every_setting_read_is_in_the_configuration_table() -> None:
    documented = set(configuration_table())
    missing = settings_read() - documented
    assert not missing, f"read but not in README's configuration table: {sorted(missing)}"


def test_every_setting_in_the_configuration_table_is_read() -> None:
    documented = set(configuration_table()) - BOTO3_OWN
    unread = documented - settings_read()
    assert not unread, f"in README's configuration table but read nowhere: {sorted(unread)}"


def _default_of(field: str) -> Any:
    """The default a user gets (None for an empty text); the attempt deadline's derives from
    the timeout."""
    settings = Settings.model_construct()  # the declared defaults, not this environment
    if field == "http_attempt_deadline_s":
        return attempt_deadline(settings.http_timeout_s, settings.http_attempt_deadline_s)
    value = getattr(settings, field)
    return None if value == "" else value


def _read_as(text: str, default: Any) -> Any:
    """A documented literal read as the default's type."""
    if text == "none":
        return None
    if isinstance(default, Path):
        return Path(text)
    if isinstance(default, time):
        return parse_revise_at(text)
    if isinstance(default, dict):
        return json.loads(text)
    return type(default)(text) if default is not None else text


def test_documented_defaults_are_the_code_defaults() -> None:
    """Each literal default in the table (`5`, `./data/lake`, none) is the code's."""
    wrong = []
    checked = 0
    for name, literal in configuration_table().items():
        field = name.removeprefix(ENV_PREFIX).lower()
        if literal is None or literal == "…" or field not in Settings.model_fields:
            continue  # prose, or not a Settings knob (its default is the reading code's own)
        default = _default_of(field)
        checked += 1
        if _read_as(literal, default) != default:
            wrong.append(f"{name}: README says {literal!r}, the code has {default!r}")
    assert checked > 20, checked
    assert not wrong, "\n".join(wrong)


# The defaults the table gives in words: the clock is the machine's, and the sources' URLs are
# too long for a cell (DEFAULT_SOURCE_URLS holds them). Every other knob's default is a literal
# test_documented_defaults_are_the_code_defaults compares with the code.
PROSE_DEFAULTS = {
    "FUELPIPE_NOW": "real time",
    **{f"FUELPIPE_SOURCE_{name}_URL": "the real APIs" for name in ("BCB", "YAHOO", "FRED", "ANP")},
    "FUELPIPE_SOURCE_SHPC_URL": "ANP open data",
}


def test_every_setting_default_is_checked() -> None:
    """A knob whose default cell is prose, or gives fewer literals than the row has variables,
    escapes the defaults check: only the ones above may, and their words must hold."""
    rows, table = configuration_rows(), configuration_table()
    unchecked = []
    for field in Settings.model_fields:
        name = ENV_PREFIX + field.upper()
        if name in PROSE_DEFAULTS:
            assert rows.get(name) == PROSE_DEFAULTS[name], (name, rows.get(name))
        elif table.get(name) is None:
            unchecked.append(f"{name}: {rows.get(name)!r}")
    assert not unchecked, f"give these defaults as literals (`5`, none): {unchecked}"
    assert Settings.model_construct().now is None  # "real time": no clock unless one is given
    for name in DEFAULT_SOURCE_URLS:
        parts = urlsplit(Settings.model_construct().source_url(name))
        assert parts.scheme == "https", name  # the real service, not a local replay
        assert parts.hostname and not parts.hostname.startswith(("127.", "localhost")), name


_FALLBACK = r"""os\.environ\.get\(\s*["']{name}["']\s*(?:,\s*["']([^"']*)["']\s*\)|\)\s*or\s*["']([^"']*)["'])"""


def test_defaults_of_variables_read_outside_settings() -> None:
    """A variable read by name (FUELPIPE_CHROMIUM, AWS_REGION, FUELPIPE_DEBUG) falls back to
    the table's literal default, or to nothing when the table says none."""
    code = "\n".join(path.read_text(encoding="utf-8") for path in _files(*CODE_READING))
    wrong, checked = [], 0
    for name, literal in configuration_table().items():
        field = name.removeprefix(ENV_PREFIX).lower()
        if literal is None or field in Settings.model_fields or name in BOTO3_OWN:
            continue
        fallbacks = {a or b for a, b in re.findall(_FALLBACK.format(name=name), code)}
        expected = set() if literal == "none" else {literal}
        checked += 1
        if fallbacks != expected:
            wrong.append(f"{name}: README says {literal!r}, the code falls back to {fallbacks}")
    assert checked >= 3, checked
    assert not wrong, "\n".join(wrong)


# The bounds docs/CONFIGURATION.md gives the time knobs in words.
_SPANS_S = {"an hour": 3600, "12 hours": 43_200, "a day": 86_400, "a week": 604_800}
_SPANS_S["a year"] = 366 * 86_400  # a leap year's


def test_the_time_knobs_bounds_are_the_codes() -> None:
    """docs/CONFIGURATION.md: "the time knobs take finite values up to an hour (HTTP), a day
    (…)…": each bound named is one a ``*_s`` knob has, and each such knob has one of the bounds
    named."""
    text = " ".join(configuration_intro().split())
    listed = re.search(r"the time knobs take finite values up to (.+?):", text)
    assert listed, "docs/CONFIGURATION.md names the time knobs' bounds"
    spans = re.findall(r"(?:^|, | or )(.+?) \(", listed.group(1))
    assert spans and set(spans) <= set(_SPANS_S), spans
    documented = {_SPANS_S[span] for span in spans}
    bounds = {}
    for field, info in Settings.model_fields.items():
        if field.endswith("_s"):
            bounds[field] = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    assert bounds and None not in bounds.values(), f"a time knob with no upper bound: {bounds}"
    assert set(bounds.values()) == documented, (bounds, spans)
    assert Settings.model_config.get("allow_inf_nan") is False  # "finite"


def test_every_setting_is_in_configuration_md_with_its_bounds() -> None:
    """docs/CONFIGURATION.md is "every setting in detail: its limits": each Settings field is
    named there (`FUELPIPE_SOURCE_<BCB|…|SHPC>_URL` names one per source), and a paragraph
    naming each knob that counts (not a ``*_s`` time knob, whose bounds the opening gives)
    gives both its bounds (`0 to 50`, `1 to 1,000,000`, `at most 10080`)."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    named = set(_DOC_VAR.findall(text))
    for head, options, tail in re.findall(r"`(\w+)<([\w|]+)>(\w*)`", text):
        named |= {head + option + tail for option in options.split("|")}
    paragraphs = text.split("\n\n")
    wrong, checked = [], 0
    for field, info in Settings.model_fields.items():
        name = ENV_PREFIX + field.upper()
        if name not in named:
            wrong.append(f"{name} is not in docs/CONFIGURATION.md")
            continue
        low = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
        if field.endswith("_s") or low is None or high is None:
            continue
        checked += 1
        bounds = [int(b) if float(b).is_integer() else b for b in (low, high)]
        spelled = [{f"{b}", f"{b:,}"} for b in bounds]
        if not any(
            name in p
            and all(
                re.search(rf"(?<![\d.])(?<!\d,)(?:{'|'.join(map(re.escape, s))})(?!\d|,\d)", p)
                for s in spelled
            )
            for p in paragraphs
        ):
            wrong.append(f"{name}: no paragraph gives its bounds {bounds[0]} and {bounds[1]}")
    assert checked >= 6, checked
    assert not wrong, "\n".join(wrong)


def test_defaults_the_docs_give_are_the_tables() -> None:
    """docs/*.md's "`FUELPIPE_LAKE` (default `./data/lake`)" or "`FUELPIPE_X`, default 86400"
    is the configuration table's literal, so a changed default cannot linger there."""
    table = configuration_table()
    wrong, checked = [], 0
    for path in DOCS[1:]:
        text = " ".join(path.read_text(encoding="utf-8").split())
        for name, value in re.findall(r"`(FUELPIPE_\w+)`,? \(?default `?([^`,;)\s]+)", text):
            if name in table:  # the deploy tooling's own are DEPLOY.md's alone
                checked += 1
                if table[name] != value:
                    wrong.append(f"{path.name}: {name} default {value}, README {table[name]}")
    assert checked, "docs/ give some settings' defaults"
    assert not wrong, "\n".join(wrong)


def test_the_settings_read_outside_settings_are_the_ones_named() -> None:
    """docs/CONFIGURATION.md: "Every setting is … read once by the composition root, but for
    three: …": the variables named are exactly those the code reads that are no ``Settings``
    field."""
    text = " ".join(configuration_intro().split())
    sentence = re.search(r"Every setting is an environment variable (.+?)\(the deploy", text)
    assert sentence, "docs/CONFIGURATION.md says which settings Settings does not read"
    named = set(re.findall(r"`((?:FUELPIPE|AWS)_[A-Z0-9_]+)`", sentence.group(1)))
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    outside = settings_read() - fields - BOTO3_OWN
    assert named == outside, f"named: {sorted(named)}, read outside Settings: {sorted(outside)}"
    counts = {2: "two", 3: "three", 4: "four", 5: "five"}
    assert f"but for {counts.get(len(named), len(named))}:" in sentence.group(1)


def test_the_template_sets_only_settings_that_are_read() -> None:
    """A variable infra/template.yaml gives the functions that no code reads is a typo the
    Lambdas would ignore (Settings ignores unknown FUELPIPE_* names)."""
    template = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    given = set(re.findall(r"\b(FUELPIPE_[A-Z0-9_]*[A-Z0-9])\s*:", template))
    assert given, "the template sets the functions' settings"
    assert not given - settings_read(), sorted(given - settings_read())


def deploy_settings_read() -> set[str]:
    """The deploy and gate tooling's variables: read by scripts/ or set as GitHub variables."""
    scripts = _reads(_files("scripts/*.py", "scripts/*.sh"))
    workflows = set()
    for path in _files(".github/workflows/*.yml"):
        workflows |= set(_WORKFLOW_VAR.findall(path.read_text(encoding="utf-8")))
    return {n for n in scripts | workflows if n.startswith(ENV_PREFIX)}


def test_the_deploy_tooling_settings_are_in_deploy_md() -> None:
    documented = set(_DOC_VAR.findall(DEPLOY.read_text(encoding="utf-8")))
    missing = deploy_settings_read() - documented
    assert not missing, f"read by scripts/ or the workflows, not in DEPLOY.md: {sorted(missing)}"


def test_every_fuelpipe_setting_the_docs_name_is_read() -> None:
    named = set()
    for path in DOCS:
        named |= set(_DOC_VAR.findall(path.read_text(encoding="utf-8")))
    unread = {n for n in named if n.startswith(ENV_PREFIX)} - settings_read()
    unread -= deploy_settings_read()
    assert not unread, f"the docs name settings nothing reads: {sorted(unread)}"


# --- commands ------------------------------------------------------------------------------

_ROOT_COMMAND = typer.main.get_command(cli)
_INVOCATION = re.compile(r"(?:^|(?<=[\s(;&|]))(?:python -m )?fuelpipe((?: +[^\s]+)+)")


def _code_spans(path: Path) -> Iterator[str]:
    """Inline code and the lines of fenced blocks."""
    text = path.read_text(encoding="utf-8")
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        yield from block.splitlines()
    yield from re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def documented_invocations() -> list[tuple[str, list[str]]]:
    """Each distinct ``fuelpipe …`` in the docs' code, as (where, its words after fuelpipe)."""
    found: dict[tuple[str, ...], str] = {}
    for path in DOCS:
        for span in _code_spans(path):
            for match in _INVOCATION.finditer(re.sub(r"\s#\s.*", "", span)):  # no comment
                words = tuple(match.group(1).split())
                if words and re.fullmatch(r"[a-z][a-z-]*|--?[a-z][\w-]*", words[0].strip("[")):
                    found.setdefault(words, path.name)
    return [(where, list(words)) for words, where in found.items()]


def _options(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}


def resolve(words: list[str]) -> tuple[list[str], Any, list[str]]:
    """The command path the words name, that command (typer's vendored click, hence Any), and
    the options they give it."""
    command: Any = _ROOT_COMMAND
    path: list[str] = []
    rest = list(words)
    while rest and rest[0] in getattr(command, "commands", {}):
        path.append(rest.pop(0))
        command = command.commands[path[-1]]
    if getattr(command, "commands", None) and rest and re.fullmatch(r"[a-z][a-z-]*", rest[0]):
        raise LookupError(f"`fuelpipe {' '.join(path)}` has no command {rest[0]!r}")
    options = []
    for word in rest:
        for part in word.strip("[]").split("/"):
            option = re.match(r"--?[a-z][a-z-]*", part)
            if option and part.startswith("-"):
                options.append(option.group(0))
    return path, command, options


_INVOCATIONS = documented_invocations()


@pytest.mark.parametrize(
    ("where", "words"), _INVOCATIONS, ids=[" ".join(words) for _, words in _INVOCATIONS]
)
def test_each_documented_invocation_exists(where: str, words: list[str]) -> None:
    try:
        path, command, options = resolve(words)
    except LookupError as exc:
        pytest.fail(f"{where}: {exc}")
    allowed = _options(command) | _options(_ROOT_COMMAND) | {"--help"}
    unknown = [o for o in options if o not in allowed]
    assert not unknown, f"{where}: `fuelpipe {' '.join(words)}`: no option {unknown}"
    shown = CliRunner().invoke(cli, [*path, "--help"], prog_name="fuelpipe")
    assert shown.exit_code == 0, shown.output
    assert f"fuelpipe {' '.join(path)}".strip() in shown.output


def _leaf_commands(
    command: Any = _ROOT_COMMAND, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) of each command that runs (`run`, `quarantine release`), not a group."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield path, command
        return
    for name, sub in subcommands.items():
        yield from _leaf_commands(sub, (*path, name))


def _spans_commands(spans: list[str]) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """The command path and options each span names: `fuelpipe quarantine list [--json]`, and a
    span after it naming a sibling alone (`release KEY DATE`, `redrive`); a group's path
    (`fuelpipe dlq`) stands for each of its commands."""
    group: list[str] = []
    for span in spans:
        words = span.split()
        if words[:1] == ["fuelpipe"]:
            path, command, options = resolve(words[1:])
            group = path if getattr(command, "commands", None) else path[:-1]
        elif group and words and words[0] in _ROOT_COMMAND.commands[group[0]].commands:
            path, _command, options = resolve([*group, *words])
        else:
            continue
        yield tuple(path), options


def _unnamed_options(command: Any, text: str) -> list[str]:
    """The options ``command`` takes that ``text`` names in none of their spellings (`--from`
    or `--since`, `-y` or `--yes`), each by its first."""
    unnamed = []
    for param in command.params:
        spellings = [o for o in (*param.opts, *param.secondary_opts) if o.startswith("-")]
        named = (re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text) for o in spellings)
        if spellings and not any(named):
            unnamed.append(spellings[0])
    return unnamed


def _readme_synopses() -> dict[tuple[str, ...], str]:
    """README's Commands table: command path -> the options its synopses give (the first
    cells naming it, e.g. `fuelpipe run [--series KEY…] … [--json]`)."""
    section = README.read_text(encoding="utf-8").split("\n## Commands\n", 1)[1]
    synopses: dict[tuple[str, ...], str] = {}
    for row in (line for line in section.split("\n## ", 1)[0].splitlines()):
        if row.startswith("| `fuelpipe "):
            cell = _cells(row)[0].replace("\\|", "|")
            for path, options in _spans_commands(re.findall(r"`([^`]+)`", cell)):
                synopses[path] = f"{synopses.get(path, '')} {' '.join(options)}"
    return synopses


def _cli_md_sections() -> dict[tuple[str, ...], str]:
    """docs/CLI.md: command path (or group: `fuelpipe dlq`) -> the text of its sections."""
    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    sections: dict[tuple[str, ...], str] = {}
    for heading, body in re.findall(r"^### ([^\n]+)\n(.*?)(?=^##)", text, re.M | re.S):
        for path, _options in _spans_commands(re.findall(r"`([^`]+)`", heading)):
            sections[path] = sections.get(path, "") + body
    return sections


def _documented(
    docs: dict[tuple[str, ...], str], path: tuple[str, ...], command: Any, where: str
) -> list[str]:
    """What ``where`` lacks of the command at ``path``: all of it, or the options unnamed."""
    texts = [text for p, text in docs.items() if path[: len(p)] == p]
    if not texts:
        return [f"{where} has nothing on `fuelpipe {' '.join(path)}`"]
    unnamed = _unnamed_options(command, "\n".join(texts))
    return [f"{where}: `fuelpipe {' '.join(path)}` omits {unnamed}"] if unnamed else []


def test_every_command_and_option_is_in_the_readme_table_and_cli_md() -> None:
    """The other way round from test_each_documented_invocation_exists: each command
    `fuelpipe --help` lists has a row in README's Commands table whose synopsis (its first
    cell, e.g. `fuelpipe run [--series KEY…] … [--json]`) names every option it takes (any
    spelling: `--from` or `--since`), and a section of docs/CLI.md that names each of them; the
    options of fuelpipe itself (`--now`, `--simulate-future`, …) are named below the table and
    in CLI.md's "Options every command shares"."""
    synopses, sections = _readme_synopses(), _cli_md_sections()
    leaves = list(_leaf_commands())
    assert len(leaves) > 20, leaves
    wrong = []
    for path, command in leaves:
        wrong += _documented(synopses, path, command, "README's Commands table")
        wrong += _documented(sections, path, command, "docs/CLI.md")
    commands = README.read_text(encoding="utf-8").split("\n## Commands\n", 1)[1]
    below_table = [line for line in commands.split("\n## ", 1)[0].splitlines() if line[:1] != "|"]
    cli_md = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    shared = cli_md.split("\n## Options every command shares\n", 1)[1].split("\n## ", 1)[0]
    for where, text in (("README's Commands", "\n".join(below_table)), ("CLI.md", shared)):
        unnamed = _unnamed_options(_ROOT_COMMAND, text)
        if unnamed:
            wrong.append(f"{where} omits fuelpipe's own {unnamed}")
    assert not wrong, "\n".join(wrong)


def test_documented_fuels_and_areas_exist() -> None:
    """A fuel, area or state an invocation gives as such (`--area SP`; not a placeholder in
    brackets, `[--area A]`) is one the commands take, so the example runs as written."""
    from fuelpipe.domain.catalog import FUEL_PRODUCTS, REGIONS, STATES

    choices = {"--fuel": set(FUEL_PRODUCTS), "--area": {"BR", *REGIONS, *STATES}}
    choices["--state"] = set(STATES)
    wrong, checked = [], 0
    for where, words in _INVOCATIONS:
        depth = 0  # inside brackets: a placeholder's syntax
        for option, value in itertools.pairwise(words):
            depth += option.count("[") - option.count("]")
            given = not depth and not re.search(r"[][]", value) and not value.startswith("-")
            if option in choices and given:
                checked += 1
                if value.strip("'\"").upper() not in choices[option]:
                    wrong.append(f"{where}: `fuelpipe {' '.join(words)}`: {option} {value}")
    assert checked, "the docs show a command with a fuel or area"
    assert not wrong, "\n".join(wrong)


def test_documented_deploy_script_calls_exist() -> None:
    """Each ``scripts/deploy.py SUBCOMMAND --option`` in the docs' code (DEPLOY.md's by-hand
    steps) names a subcommand and options of its parser."""
    from scripts.deploy import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    top = {o for a in parser._actions for o in a.option_strings}
    wrong, checked = [], 0
    for path in DOCS:
        for span in _code_spans(path):
            for call in re.findall(r"scripts/deploy\.py((?: +[^\s`#\\]+)+)", span):
                command, *words = call.split()
                checked += 1
                if command not in commands.choices:
                    wrong.append(f"{path.name}: scripts/deploy.py {command}: no such subcommand")
                    continue
                options = top | {
                    o for a in commands.choices[command]._actions for o in a.option_strings
                }
                unknown = [w for w in words if w.startswith("-") and w not in options]
                if unknown:
                    wrong.append(f"{path.name}: scripts/deploy.py {command}: no option {unknown}")
    assert checked, "DEPLOY.md shows scripts/deploy.py's steps"
    assert not wrong, "\n".join(wrong)


def test_documented_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))
    named = set()
    for path in DOCS:
        for span in _code_spans(path):
            named |= set(re.findall(r"(?:^|(?<=[\s;&(]))make ([a-z][\w-]*)", span))
    assert named, "the quickstart names make targets"
    assert not named - targets, f"documented but not in the Makefile: {sorted(named - targets)}"


_NUMBERS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11}


def test_the_lock_count_deploy_md_gives_is_todays() -> None:
    """DEPLOY.md's pip-audit note, "the eight locks of today pin 367": as many locks as the gate
    audits (every ``requirements/*.txt``) and as many pins as it reads from them, a pin in
    several locks once per lock (scripts/pip_audit_gate.py's ``read_pins``)."""
    from scripts.pip_audit_gate import read_pins

    text = " ".join(DEPLOY.read_text(encoding="utf-8").split())
    [(count, pins)] = re.findall(r"the (\w+) locks of today pin ([\d,]+)", text)
    locks = sorted((ROOT / "requirements").glob("*.txt"))
    pinned = sum(len(read_pins(lock.read_text(encoding="utf-8"))) for lock in locks)
    assert (_NUMBERS.get(count), int(pins.replace(",", ""))) == (len(locks), pinned)


def test_the_help_names_the_page_with_each_commands_exit_codes() -> None:
    """`fuelpipe --help` ends naming the page that says which cases of each command exit with
    each code (the README's Commands section gives only what each code means); that page
    exists and lists every code the help names."""
    from fuelpipe.cli import main

    shown = CliRunner().invoke(cli, ["--help"], prog_name="fuelpipe", env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.replace("│", " ").split())
    named = re.search(r"([\w/]+\.md) has each command's\.", text)
    assert named, text[-400:]
    page = (ROOT / named.group(1)).read_text(encoding="utf-8")
    section = page.split("\n## Errors and exit codes\n", 1)[1].split("\n## ", 1)[0]
    codes = {getattr(main, n) for n in dir(main) if n.startswith("EXIT_")}
    assert len(codes) >= 7, codes
    listed = {int(c) for c in re.findall(r"(?:^- |, and )(\d+)(?::| \()", section, re.M)}
    assert codes | {0} == listed, (sorted(codes), sorted(listed))


# --- names: the architecture picture, files, modules, schedules ----------------------------


def architecture_picture() -> str:
    """The fenced block under README's "## Architecture"."""
    section = README.read_text(encoding="utf-8").split("\n## Architecture\n", 1)[1]
    return section.split("```", 2)[1]


def _picture_row(label: str) -> list[str]:
    """The words of the picture's ``label:`` row and the indented lines under it."""
    lines = architecture_picture().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"{label}:"))
    row = [lines[start].split(":", 1)[1]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 11) or ":" in line:
            break
        row.append(line)
    return re.findall(r"[\w/{},]+", " ".join(row))


def test_the_architecture_picture_names_every_lambda() -> None:
    """Each lambdas/<name>/ is named in the picture, in brackets beside what it runs."""
    lambdas = {p.parent.name for p in (ROOT / "lambdas").glob("*/handler.py")}
    bracketed = re.findall(r"\(([^()]*)\)", architecture_picture())
    named = {word for text in bracketed for word in re.findall(r"\w+", text)}
    assert lambdas, "lambdas/<name>/handler.py"
    assert not lambdas - named, f"Lambdas the picture does not name: {sorted(lambdas - named)}"


def test_the_architecture_picture_names_real_ports_and_adapters() -> None:
    ports_dir = ROOT / "src" / "fuelpipe" / "ports"
    ports_text = "\n".join(p.read_text(encoding="utf-8") for p in ports_dir.glob("*.py"))
    classes = set(re.findall(r"^class (\w+)", ports_text, re.M))
    ports = [w for word in _picture_row("ports") for w in word.split("/") if w[:1].isupper()]
    assert ports, "the picture's ports row"
    assert not set(ports) - classes, f"not a port: {sorted(set(ports) - classes)}"
    abstract = set(re.findall(r"^class (\w+)\(abc\.ABC\)", ports_text, re.M))
    assert abstract, "the ports' ABCs"
    assert not abstract - set(ports), (
        f"ports the picture leaves out: {sorted(abstract - set(ports))}"
    )
    adapters_dir = ROOT / "src" / "fuelpipe" / "adapters"
    missing = []
    for word in (w.strip(",") for w in _picture_row("adapters")):
        if word in ("console", "SNS"):  # the alert sinks adapters/alerts.py holds
            continue
        head, _, options = word.partition("{")
        for name in options.rstrip("}").split(",") if options else [""]:
            path = adapters_dir / (head + name)
            if not (path.with_suffix(".py").is_file() or path.is_dir()):
                missing.append(head + name)
    assert not missing, f"the picture names adapters that do not exist: {missing}"


_TOP = (
    "src/",
    "tests/",
    "lambdas/",
    "infra/",
    "scripts/",
    "devtools/",
    "docs/",
    "datasets/",
    "bench/",
    "security/",
    "requirements/",
    ".github/",
)
_PACKAGE = (
    "domain/",
    "stages/",
    "homes/",
    "adapters/",
    "outlook/",
    "ports/",
    "dashboard/",
    "cli/",
    "replay/",
    "deploy/",
)


def test_the_files_the_docs_name_exist() -> None:
    """A repository path in the docs' code (`domain/keys.py`, `infra/template.yaml`) exists;
    one under a package is read from src/fuelpipe, a dataset's from datasets/."""
    missing = []
    for path in DOCS:
        for span in set(_code_spans(path)):
            name = span.strip().rstrip(".,:;")
            if not re.fullmatch(r"[\w./=-]+", name) or "/" not in name:
                continue
            if name.startswith(_TOP):
                where = [ROOT / name]
            elif name.startswith(_PACKAGE):
                where = [ROOT / "src" / "fuelpipe" / name]
            elif name.startswith(("fx/", "brent/", "anp/", "stocks/", "intraday/")):
                where = [ROOT / "datasets" / name]
            else:
                continue
            if not any(p.exists() for p in where):
                missing.append(f"{path.name}: {name}")
    assert not missing, "\n".join(missing)


def test_the_modules_the_docs_name_exist() -> None:
    """A dotted name in the docs (`fuelpipe.homes.open_home`, `domain.planning.request_start`)
    is a module of fuelpipe, or an attribute of one; a port's method (`Store.latest_meta`) is
    the port's."""
    import importlib

    packages = {p.rstrip("/") for p in _PACKAGE}
    wrong = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for dotted in set(re.findall(r"`([a-z_]+(?:\.\w+)+)(?:\([^`]*\))?`", text)):
            first, *_rest = dotted.split(".")
            if first != "fuelpipe" and first not in packages:
                continue
            if re.search(r"\.(js|py|md|yml|yaml|json|csv)$", dotted):
                continue  # a file's name
            parts = (dotted if first == "fuelpipe" else f"fuelpipe.{dotted}").split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    obj: Any = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attr in parts[cut:]:
                    obj = getattr(obj, attr, None)
                break
            else:
                obj = None
            if obj is None:
                wrong.append(f"{path.name}: {dotted}")
        for port, method in set(re.findall(r"`(Store|Queue|Source)\.(\w+)", text)):
            module = importlib.import_module(f"fuelpipe.ports.{port.lower()}")
            if not hasattr(getattr(module, port), method):
                wrong.append(f"{path.name}: {port}.{method}")
    assert not wrong, "\n".join(wrong)


def test_the_schedules_the_docs_name_are_the_templates() -> None:
    """Each `cron(...)` and each `...Schedule` the docs name is one of infra/template.yaml's."""
    template = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    crons = set(re.findall(r"ScheduleExpression: (cron\([^)]*\))", template))
    names = set(re.findall(r"^  (\w+):\n    Type: AWS::Scheduler::Schedule", template, re.M))
    assert crons and names
    wrong = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        wrong += [f"{path.name}: {c}" for c in re.findall(r"cron\([^)]*\)", text) if c not in crons]
        wrong += [
            f"{path.name}: {n}" for n in re.findall(r"`(\w+Schedule)`", text) if n not in names
        ]
    assert not wrong, "\n".join(wrong)


# A dashboard path the docs name (`/api/lags`, `/api/stations/...`, `/stations`, `/docs`): not one
# inside a file path (`dashboard/stations.py`) or an S3 URL (`s3://<bucket>/stations/`).
_ROUTE = re.compile(
    r"(?<![\w./>-])/(?:api/[\w/{}.%…-]*|static/[\w.-]+|stations\b/?|docs\b|redoc\b|openapi\.json)"
)


def test_the_routes_the_docs_name_are_the_dashboards(tmp_path: Path) -> None:
    """Each route the docs name is one the dashboard app serves; one ending in `...` (a family,
    `/api/stations/...`) begins at least one path of its API reference."""
    from starlette.routing import Match

    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.dashboard.app import create_app

    store = SqliteStore(tmp_path / "store.sqlite")
    try:
        app = create_app(store, DEFAULT_CATALOG, precompute=False, store_views=False)
        documented = list(app.openapi()["paths"])
    finally:
        store.close()

    def served(path: str) -> bool:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
        return any(route.matches(scope)[0] is not Match.NONE for route in app.routes)

    wrong, checked = [], 0
    for path in DOCS:
        for named in set(_ROUTE.findall(path.read_text(encoding="utf-8"))):
            bare = named.rstrip(".…")
            checked += 1
            if named != bare:
                known = any(p.startswith(bare) for p in documented)
            else:
                known = served(bare.rstrip("/") or "/")
            if not known:
                wrong.append(f"{path.name}: {named}")
    assert checked > 10, checked
    assert not wrong, "the docs name routes the dashboard does not serve:\n" + "\n".join(wrong)
