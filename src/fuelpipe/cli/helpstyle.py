"""How `--help` shows parameters: a flag as a flag, an argument by its name.

The pinned typer renders every parameter with its Python type, so a flag read `--json <bool>`
(as if it took a value: `fuelpipe status --json true` then fails) and the usage line read
`{key} {DATE}`. These command classes show a flag without a type, and an argument as click
does: `KEY` when required, `[KEY]` when not. In rich markup mode typer also keeps every line
break of a docstring, so help text wrapped at 100 columns in the source broke mid-sentence on
a wide terminal: these classes reflow each paragraph (:func:`reflow`). :func:`use_plain_help`
gives them to every command and group of an app, its sub-apps included. Every `--series` is
described (:data:`SERIES_HELP`) and read (:func:`split_series`) here, the same everywhere.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

SERIES_HELP = (
    "Keys, prefixes or globs (repeatable, or comma-separated), e.g. CURRENCY#USD, "
    "FUEL#GASOLINE or 'FUEL#*#SP'."
)
"""Every `--series`'s help: the same three forms, with an example of each."""

_COMMA = re.compile(r",(?![^\[\]]*\])")
"""A comma between patterns: not one inside a glob's ``[...]`` (``'FUEL#*#[S,R]J'``)."""


def split_series(values: list[str] | None) -> list[str] | None:
    """Every `--series`'s values, each comma-separated one split (``-s CURRENCY#USD,EUR`` as
    ``-s CURRENCY#USD -s EUR``, as `stations reconcile --state SP,RJ` reads its UFs); an empty
    piece beside others is dropped (a trailing comma), and a value of none (``-s ,``) is blank,
    for the command to refuse."""
    if values is None:
        return None
    out: list[str] = []
    for value in values:
        out.extend([p for p in _COMMA.split(value) if p.strip()] or [""])
    return out


def series_help(lead: str) -> str:
    """:data:`SERIES_HELP` after ``lead`` ("Series to keep fresh:"), its first word in lower
    case as the middle of a sentence."""
    return f"{lead} {SERIES_HELP[0].lower()}{SERIES_HELP[1:]}"


def _plain(params: list[Any]) -> list[Any]:
    for p in params:
        if isinstance(p, TyperOption) and p.is_flag and p.metavar is None:
            p.metavar = ""  # shown as the option's type: nothing, a flag takes no value
        elif isinstance(p, TyperOption) and p.metavar is None and p.type_descriptor.is_ranged:
            # `<int>`, not `<int range>`: the range follows it (`[x>=1]`), and the longer label
            # widened the type column enough that an 80-column help cut an env var's name
            p.metavar = f"<{p.type_descriptor.ranged_type_name}>"
        elif isinstance(p, TyperArgument) and p.metavar is None and p.name:
            p.metavar = p.name.upper()
    return params


def _usage(ctx: Any, command: TyperCommand | TyperGroup) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for p in command.get_params(ctx):
        if isinstance(p, TyperArgument):
            name = p.display_name_raw if p.required else f"[{p.display_name_raw}]"
            pieces.append(name + ("..." if p.nargs != 1 else ""))
        else:
            pieces.extend(p.get_usage_pieces(ctx))
    return pieces


def reflow(text: str | None) -> str | None:
    """Help text whose paragraphs are joined into one line each, for the terminal to wrap: a
    docstring's line breaks are the source's wrapping. A paragraph that starts with ``\b`` (as
    in click) keeps its lines, for a literal layout such as a list; the marker is dropped."""
    if not text:
        return text
    return "\n\n".join(
        p.removeprefix("\b").strip("\n") if p.startswith("\b") else " ".join(p.split())
        for p in text.split("\n\n")
    )


class PlainHelpCommand(TyperCommand):
    """A command whose help shows flags without a type and arguments by name, and its
    paragraphs reflowed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage(ctx, self)


class PlainHelpGroup(TyperGroup):
    """A group whose help shows flags without a type and its paragraphs reflowed (its
    commands are PlainHelpCommand)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage(ctx, self), self.subcommand_metavar]


def use_plain_help(app: typer.Typer) -> None:
    """Every command and group registered on ``app`` (and its sub-apps) renders its help
    with the classes above, unless it chose a class of its own; call it once every command
    is registered."""
    if app.info.cls in (None, TyperGroup) or not isinstance(app.info.cls, type):
        app.info.cls = PlainHelpGroup
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = PlainHelpCommand
    for group in app.registered_groups:
        if group.cls in (None, TyperGroup) or not isinstance(group.cls, type):
            group.cls = PlainHelpGroup
        if group.typer_instance is not None:
            use_plain_help(group.typer_instance)
