"""The one line that says how to add an optional extra to *this* installation of fuelpipe.

fuelpipe is installed from its checkout (README: ``pipx install .``), not from PyPI, so the usual
``pip install 'fuelpipe[lake]'`` would ask PyPI for whatever package of that name it holds, not
this one. The hint names where this copy was installed from, as pip recorded it (PEP 610's
``direct_url.json``): a checkout or a wheel by its path, a VCS or archive URL as ``name @ url``,
an index install (no record) by name. Read only when a hint is shown, never at import.
"""

from __future__ import annotations

import json
import shlex
import sys
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

CHECKOUT = "'.[{extra}]' in fuelpipe's checkout"
"""Without any record of the install (run from the source tree): the README's way."""


def requirement(extra: str, direct_url: str | None, *, installed: bool = True) -> str:
    """The pip requirement for ``fuelpipe[extra]``, quoted for a shell, from where
    ``direct_url`` (the text of the installed distribution's ``direct_url.json``, None when it
    has none) says it came; ``-e`` first for an editable install, as ``make setup`` makes."""
    if not installed:
        return CHECKOUT.format(extra=extra)
    try:
        record = json.loads(direct_url) if direct_url else {}
        url = record.get("url")
        editable = bool(record.get("dir_info", {}).get("editable"))
        vcs = record.get("vcs_info", {}).get("vcs")
    except (ValueError, AttributeError):  # a damaged record: say what is always true
        return CHECKOUT.format(extra=extra)
    if not isinstance(url, str) or not url:
        return shlex.quote(f"fuelpipe[{extra}]")  # from an index: the name is the package
    parts = urlsplit(url)
    if parts.scheme == "file":
        from urllib.request import url2pathname  # loads http.client: only here

        path = shlex.quote(f"{url2pathname(parts.path)}[{extra}]")  # it unquotes
        return f"-e {path}" if editable else path
    return shlex.quote(f"fuelpipe[{extra}] @ {f'{vcs}+' if vcs else ''}{url}")


def hint(extra: str, direct_url: str | None, *, installed: bool = True, pipx: bool = False) -> str:
    """The command: ``pip install …``, or pipx's when this copy lives in a pipx virtualenv."""
    what = requirement(extra, direct_url, installed=installed)
    return f"pipx install --force {what}" if pipx else f"pip install {what}"


@cache
def install_hint(extra: str) -> str:
    """:func:`hint` for this process's own installation of fuelpipe."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("fuelpipe")
    except PackageNotFoundError:
        return hint(extra, None, installed=False)
    in_pipx = "pipx" in Path(sys.prefix).parts and "venvs" in Path(sys.prefix).parts
    return hint(extra, dist.read_text("direct_url.json"), pipx=in_pipx)
