"""Settings at a cold start: pydantic is told fuelpipe uses no plugins (so its first model does
not read every installed package's entry points), unless the environment says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import os; from fuelpipe.homes.settings import Settings; Settings(); "
    "from pydantic.plugin import _loader; "
    "print(repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')), _loader._plugins is None)"
)


def _probe(extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    env.update(extra)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_settings_tell_pydantic_to_skip_the_plugin_scan() -> None:
    # None: no scan was made (get_plugins returned early, nothing cached)
    assert _probe({}) == "'__all__' True"


@pytest.mark.parametrize("given", ["", "some_plugin"])
def test_a_value_set_outside_is_kept(given: str) -> None:
    assert _probe({"PYDANTIC_DISABLE_PLUGINS": given}) == f"{given!r} False"
