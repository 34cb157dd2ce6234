"""The command a hint gives to add an extra names this installation, never PyPI's "fuelpipe".

fuelpipe is installed from its checkout (README: ``pipx install .``); the hints said
``pip install 'fuelpipe[lake]'``, which asks PyPI for a package of that name: not this one, or
none. The cases are the ``direct_url.json`` texts pip writes (PEP 610) for each way to install;
`make wheel-check` installs the dashboard extra with the command a bare wheel install's hint gives.
"""

from __future__ import annotations

import json

import pytest

from fuelpipe.install_hint import hint


def _direct(url: str, **info: object) -> str:
    return json.dumps({"url": url, **info})


@pytest.mark.parametrize(
    ("direct_url", "pipx", "said"),
    [
        # make setup: an editable install of the checkout
        (
            _direct("file:///work/main", dir_info={"editable": True}),
            False,
            "pip install -e '/work/main[lake]'",
        ),
        # pipx install . : the checkout's path, pipx's own command
        (
            _direct("file:///home/ana/fuelpipe", dir_info={}),
            True,
            "pipx install --force '/home/ana/fuelpipe[lake]'",
        ),
        # a wheel file with a space in its folder (percent-encoded in the URL)
        (
            _direct("file:///tmp/my%20wheels/fuelpipe-0.1.0-py3-none-any.whl", archive_info={}),
            False,
            "pip install '/tmp/my wheels/fuelpipe-0.1.0-py3-none-any.whl[lake]'",
        ),
        # from a Git repository
        (
            _direct("https://github.com/ana/fuelpipe.git", vcs_info={"vcs": "git"}),
            False,
            "pip install 'fuelpipe[lake] @ git+https://github.com/ana/fuelpipe.git'",
        ),
        # from an index: pip records no direct URL, and the name is the package
        (None, False, "pip install 'fuelpipe[lake]'"),
        # a damaged record: what is always true
        ("{not json", False, "pip install '.[lake]' in fuelpipe's checkout"),
        ("[1, 2]", False, "pip install '.[lake]' in fuelpipe's checkout"),
    ],
)
def test_the_hint_names_where_this_copy_was_installed_from(
    direct_url: str | None, pipx: bool, said: str
) -> None:
    assert hint("lake", direct_url, pipx=pipx) == said


def test_without_an_installed_distribution_the_hint_names_the_checkout() -> None:
    assert hint("frames", None, installed=False) == "pip install '.[frames]' in fuelpipe's checkout"


def test_a_folder_named_with_a_percent_sign_keeps_it() -> None:
    """A folder literally named ``100%20off`` is ``100%2520off`` in pip's URL: read back once
    it is ``100%20off`` (read twice, as the hint did, it became ``100 off``, no such folder)."""
    url = "file:///tmp/100%2520off/fuelpipe"
    said = hint("lake", _direct(url, dir_info={"editable": True}))
    assert said == "pip install -e '/tmp/100%20off/fuelpipe[lake]'"
