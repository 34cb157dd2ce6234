"""FUELPIPE_DB and FUELPIPE_LAKE as a shell user writes them: ``~`` is the home folder (the
value arrives quoted, so no shell expanded it), never a folder literally named ``~``."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuelpipe.homes.settings import Settings


def test_a_tilde_in_the_environment_is_the_home_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FUELPIPE_DB", "~/fp.sqlite")
    monkeypatch.setenv("FUELPIPE_LAKE", "~/stations/lake")
    cfg = Settings()
    assert cfg.db == tmp_path / "fp.sqlite"
    assert cfg.lake == tmp_path / "stations" / "lake"


def test_a_tilde_given_in_code_is_expanded_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings(db="~/x.sqlite").db == tmp_path / "x.sqlite"
    assert Settings(db=Path("~/y.sqlite")).db == tmp_path / "y.sqlite"


def test_other_paths_are_kept_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUELPIPE_DB", raising=False)
    monkeypatch.delenv("FUELPIPE_LAKE", raising=False)
    cfg = Settings()
    assert (cfg.db, cfg.lake) == (Path("data/fuelpipe.sqlite"), Path("data/lake"))
    assert Settings(db="/srv/a~b/fp.sqlite").db == Path("/srv/a~b/fp.sqlite")


def test_the_default_visibility_timeout_outlasts_the_slowest_fetch() -> None:
    """A message must not come back (and count towards the DLQ) while one worker still fetches
    it: the default visibility outlasts a fetch whose every attempt times out, with a minute
    for its writes."""
    from fuelpipe.adapters.sources._http import longest_fetch_s
    from fuelpipe.homes.settings import Settings

    cfg = Settings()
    slowest = longest_fetch_s(
        cfg.http_timeout_s,
        cfg.http_attempts,
        cfg.http_backoff_s,
        deadline_s=cfg.http_attempt_deadline_s,
    )
    assert cfg.visibility_timeout_s >= slowest + 60


def test_revision_windows_name_sources_in_any_case_and_refuse_unknown_ones() -> None:
    """FUELPIPE_REVISION_WINDOW_DAYS='{"ANP": 84}' (or a typo) was taken and applied to no
    source at all: `revise` kept re-reading 56 days, silently."""
    from pydantic import ValidationError

    assert Settings(revision_window_days='{"ANP": 84, "bcb": 7}').revision_window_days == {
        "anp": 84,
        "bcb": 7,
    }
    with pytest.raises(ValidationError, match=r"unknown source ancine; the sources are \['anp'"):
        Settings(revision_window_days='{"ancine": 30}')
