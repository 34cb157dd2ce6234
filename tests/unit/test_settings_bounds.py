"""Time knobs out of range are refused when settings are read, naming the variable: ``inf``,
``nan`` and 1e300 used to pass, then failed later as an overflow naming nothing (or were
taken as "never")."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fuelpipe.homes.settings import Settings

TIME_KNOBS = (
    "retry_base_delay_s",
    "retry_factor",
    "gap_audit_interval_s",
    "visibility_timeout_s",
    "http_timeout_s",
    "http_backoff_s",
    "http_attempt_deadline_s",
    "yahoo_min_interval_s",
)


@pytest.mark.parametrize("name", TIME_KNOBS)
@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e300"])
def test_an_endless_or_overflowing_value_is_refused(
    name: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"FUELPIPE_{name.upper()}", text)
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert [e["loc"] for e in raised.value.errors()] == [(name,)]


def test_the_defaults_and_the_templates_values_are_within_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Settings()
    monkeypatch.setenv("FUELPIPE_VISIBILITY_TIMEOUT_S", "5400")  # infra/template.yaml's
    monkeypatch.setenv("FUELPIPE_HTTP_TIMEOUT_S", "300")  # the load bench's
    assert Settings().visibility_timeout_s == 5400


def test_athena_reuse_is_read_in_minutes_within_athenas_seven_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().athena_reuse_minutes == 1440
    monkeypatch.setenv("FUELPIPE_ATHENA_REUSE_MINUTES", "90")
    assert Settings().athena_reuse_minutes == 90
    for text in ("10081", "-1"):  # Athena reuses a result at most 7 days old
        monkeypatch.setenv("FUELPIPE_ATHENA_REUSE_MINUTES", text)
        with pytest.raises(ValidationError) as raised:
            Settings()
        assert [e["loc"] for e in raised.value.errors()] == [("athena_reuse_minutes",)]


@pytest.mark.parametrize("name", ["bcb", "yahoo", "fred", "anp", "shpc"])
@pytest.mark.parametrize(
    "url", ["notaurl", "olinda.bcb.gov.br/olinda", "ftp://example.org", "http://", "file:///x"]
)
def test_a_source_url_that_is_not_http_is_refused(name: str, url: str) -> None:
    """It passed start-up and failed as a dropped connection ("could not reach bcb")."""
    with pytest.raises(ValidationError) as raised:
        Settings(**{f"source_{name}_url": url})
    assert [e["loc"] for e in raised.value.errors()] == [(f"source_{name}_url",)]


def test_an_http_source_url_is_kept() -> None:
    url = "http://127.0.0.1:8765/bcb/olinda"
    assert (
        Settings(source_bcb_url=url, source_fred_url="HTTPS://fred.example").source_url("bcb")
        == url
    )
