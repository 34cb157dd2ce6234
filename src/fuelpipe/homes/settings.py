"""Settings read from the environment (``FUELPIPE_*``), validated once at start-up."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.retry import RetryPolicy

DEFAULT_SOURCE_URLS = {
    "bcb": "https://olinda.bcb.gov.br/olinda/servico/PTAX/versao/v1/odata",
    "yahoo": "https://query1.finance.yahoo.com",
    "fred": "https://fred.stlouisfed.org",
    "anp": (
        "https://www.gov.br/anp/pt-br/assuntos/precos-e-defesa-da-concorrencia/precos/"
        "precos-revenda-e-de-distribuicao-combustiveis/shlp"
    ),
    # ANP open data: the station-level survey's listing page and files (arquivos/shpc/...)
    "shpc": "https://www.gov.br/anp/pt-br/centrais-de-conteudo/dados-abertos",
}


def queue_file(db: Path) -> Path:
    """The embedded home's queue, a SQLite file beside its store ``db``."""
    return db.with_name(db.stem + "-queue.sqlite")


def parse_now(value: str) -> datetime:
    """ISO 8601; without an offset the time is in America/Sao_Paulo; a bare date is midnight."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--now/FUELPIPE_NOW {value!r} is not an ISO 8601 date or datetime"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SAO_PAULO)


REVISE_OFF = "off"
DEFAULT_REVISE_AT = time(23, 0)
"""`watch`'s daily revise, São Paulo time: infra/template.yaml's ReviseSchedule,
``cron(0 23 * * ? *)`` in America/Sao_Paulo (stages/daily_revise.py)."""


def parse_revise_at(value: str) -> time | None:
    """``HH:MM`` (24-hour, São Paulo time), ``HH:MM:SS`` (how a ``time`` prints, so a dumped
    setting reads back) or ``off`` (any case): None."""
    text = value.strip()
    if text.lower() == REVISE_OFF:
        return None
    hours, *rest = text.split(":")
    digits = hours + "".join(rest)
    well_formed = len(hours) in (1, 2) and len(rest) in (1, 2) and all(len(p) == 2 for p in rest)
    if well_formed and digits.isascii() and digits.isdigit():
        h, m, s = int(hours), int(rest[0]), int(rest[1]) if len(rest) == 2 else 0
        if h < 24 and m < 60 and s < 60:
            return time(h, m, s)
    raise ValueError(f"{value!r} is not a São Paulo time HH:MM (e.g. 23:00) or {REVISE_OFF!r}")


ENV_PREFIX = "FUELPIPE_"
_HOUR_S, _DAY_S, _WEEK_S, _YEAR_S = 3600, 86_400, 7 * 86_400, 366 * 86_400
"""Upper bounds of the time knobs: far past any sensible value, short of the overflow of a
timestamp or a timer (1e300 s passed validation and failed later, naming no variable)."""

# fuelpipe uses no pydantic plugins. Unless told so, pydantic's first model (Settings, below)
# reads the entry points of every installed package to look for some: ~60 ms of each cold
# start. A value set outside (a plugin wanted) is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def _environ_values(environ: dict[str, str] | None = None) -> dict[str, str]:
    """``FUELPIPE_<NAME>`` variables (the name in any case) as field name -> raw text."""
    env = os.environ if environ is None else environ
    n = len(ENV_PREFIX)
    return {k[n:].lower(): v for k, v in env.items() if k[:n].upper() == ENV_PREFIX}


def environ_setting(name: str) -> str | None:
    """The text of the setting ``FUELPIPE_<NAME>`` as :class:`Settings` reads it: the
    variable's name in any case (``fuelpipe_now`` too); None when unset."""
    return _environ_values().get(name.lower())


class Settings(BaseModel):
    """Every knob fuelpipe has; each one is an environment variable ``FUELPIPE_<NAME>``.

    A plain pydantic model that reads ``os.environ`` when built, not pydantic-settings: that
    library's import (its CLI, dotenv and cloud-secret sources) doubled the Lambda handlers'
    cold start over a bare ``import boto3``. Values passed in override the environment.
    """

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)  # inf: never a valid knob

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_environ_values(), **values})

    backend: Literal["embedded", "aws"] = "embedded"
    db: Path = Path("data/fuelpipe.sqlite")
    now: datetime | None = None

    # retry policy
    max_retries: int = Field(5, ge=0, le=50)
    retry_base_delay_s: float = Field(3600.0, gt=0, le=_WEEK_S)
    retry_factor: float = Field(2.0, ge=1, le=100)

    # gap scans: each key is read in full (and its watermark checked) this often
    gap_audit_interval_s: float = Field(86400.0, gt=0, le=_YEAR_S)

    # scraper: observations checked and stored together. Memory per message is bounded by
    # this, not by the history a source returns (an ANP workbook: ~190,000 rows in 20 years).
    store_batch: int = Field(5_000, ge=1, le=1_000_000)

    # scraper processes `fuelpipe run` drains the queue with on the embedded home (1: this one
    # alone); the AWS home runs scraper Lambdas side by side instead
    workers: int = Field(1, ge=1, le=64)

    # queue
    # Longer than one message's work: one fetch can take ~380 s when every attempt runs to its
    # deadline (adapters/sources/_http.py longest_fetch_s); the AWS template sets 6x the
    # Lambda's limit.
    visibility_timeout_s: float = Field(450.0, gt=0, le=43_200)  # SQS: 12 h at most
    max_receives: int = Field(5, ge=1, le=1000)  # SQS's maxReceiveCount is 1 to 1000

    # HTTP sources
    source_bcb_url: str = DEFAULT_SOURCE_URLS["bcb"]
    source_yahoo_url: str = DEFAULT_SOURCE_URLS["yahoo"]
    source_fred_url: str = DEFAULT_SOURCE_URLS["fred"]
    source_anp_url: str = DEFAULT_SOURCE_URLS["anp"]
    source_shpc_url: str = DEFAULT_SOURCE_URLS["shpc"]
    http_timeout_s: float = Field(20.0, gt=0, le=_HOUR_S)
    http_attempts: int = Field(4, ge=1, le=10)
    http_backoff_s: float = Field(0.5, ge=0, le=_HOUR_S)
    # One attempt's overall deadline, connecting to the body's last byte: the timeout bounds
    # each read only, and a trickling server could stretch one attempt for minutes. None: 3x
    # the timeout (adapters/sources/_http.py ATTEMPT_DEADLINE_FACTOR), and no deadline for a
    # station file download (homes/lake.py).
    http_attempt_deadline_s: float | None = Field(None, gt=0, le=_DAY_S)
    yahoo_min_interval_s: float = Field(0.5, ge=0, le=_HOUR_S)
    # How far back `fuelpipe revise` re-reads a source, in days, over the defaults of
    # stages/revise.py (35 for daily sources, 56 for ANP), e.g.
    # FUELPIPE_REVISION_WINDOW_DAYS='{"anp": 84}'.
    revision_window_days: dict[str, Annotated[int, Field(ge=1, le=3650)]] = Field(
        default_factory=dict
    )
    # When `fuelpipe watch` runs that revise each day, São Paulo time (HH:MM), as the AWS
    # home's daily schedule does; "off": never (`fuelpipe revise` by hand instead).
    revise_at: time | None = DEFAULT_REVISE_AT

    # station-level lake (Parquet by product and month; the AWS home uses lake_bucket)
    lake: Path = Path("data/lake")
    lake_bucket: str = ""  # its layout (the stations/ folder) is the template's: LAKE_PREFIX
    athena_workgroup: str = "fuelpipe-stations"
    glue_database: str = "fuelpipe"
    # How old a result of the same station query Athena may reuse instead of scanning again,
    # in minutes (0: never; 7 days at most, Athena's limit). Never a result from before the
    # lake's last write (adapters/lake/athena.py reuse_minutes), so this bounds only how long
    # a repeated query goes unscanned between ingests: ANP publishes the survey weekly and the
    # lake changes only on `stations ingest`, so a day.
    athena_reuse_minutes: int = Field(1440, ge=0, le=10_080)
    # alerts: a webhook for the embedded home, an SNS topic for the AWS home
    alert_webhook_url: str | None = None
    alert_topic_arn: str | None = None
    # the one-line text's language (console line, SNS subject); the JSON bodies carry both
    alert_language: Literal["en", "pt-BR"] = "en"

    # crash testing only: e.g. "scrape.after_write:3" (see fuelpipe.failpoints)
    failpoints: str = ""

    # AWS home
    table_name: str = "fuelpipe"
    queue_name: str = "fuelpipe-downloads"
    dlq_name: str = "fuelpipe-downloads-dlq"
    pending_shards: int = Field(8, ge=1, le=64)

    @field_validator("revision_window_days", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        if isinstance(value, str):  # from the environment: JSON, e.g. '{"anp": 84}'
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(value, dict):  # a bare number was "a valid dictionary" to pydantic
            from fuelpipe.domain.catalog import DEFAULT_CATALOG

            known = ", ".join(sorted({s.source for s in DEFAULT_CATALOG}))
            raise ValueError(
                f"days by source as a JSON object, e.g. '{{\"anp\": 84}}' (sources {known}), "
                f"not {json.dumps(value)}"
            )
        return value

    @field_validator("revise_at", mode="before")
    @classmethod
    def _parse_revise_at(cls, value: object) -> object:
        return parse_revise_at(value) if isinstance(value, str) else value

    @field_validator("revision_window_days")
    @classmethod
    def _known_sources(cls, value: dict[str, int]) -> dict[str, int]:
        """Source names in any case; one no series comes from (a typo) is refused, not left
        to apply to nothing."""
        from fuelpipe.domain.catalog import DEFAULT_CATALOG

        known = sorted({s.source for s in DEFAULT_CATALOG})
        windows = {name.lower(): days for name, days in value.items()}
        unknown = sorted(set(windows) - set(known))
        if unknown:
            raise ValueError(f"unknown source {', '.join(unknown)}; the sources are {known}")
        return windows

    @field_validator(*(f"source_{name}_url" for name in DEFAULT_SOURCE_URLS))
    @classmethod
    def _http_url(cls, value: str) -> str:
        """A source's URL is an http(s) address with a host: a typo (``notaurl``, a scheme
        left out) is refused at start-up, not reported later as a source unreachable."""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value.strip())
        except ValueError as exc:
            raise ValueError(f"not a URL ({exc})") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
        return value.strip()

    @field_validator("db", "lake", mode="before")
    @classmethod
    def _not_blank(cls, value: object, info: ValidationInfo) -> object:
        """A blank path (``FUELPIPE_LAKE=$LAKE`` with LAKE unset) is refused: as a path it is
        the current folder, where an ingest would write its lake. So is one with spaces
        around it (``FUELPIPE_DB=' /srv/fp.sqlite'``, a stray space in an env file): a
        relative path under a folder named " " in the current one, where `run` would make a
        new store, and refused by a reading command as a store that is not there, the space
        unseen in its error."""
        name = f"{ENV_PREFIX}{str(info.field_name).upper()}"
        if isinstance(value, str) and not value.strip():
            default = cls.model_fields[str(info.field_name)].default
            raise ValueError(f"blank: give a path, or leave {name} unset for the default {default}")
        if isinstance(value, str) and value != value.strip():
            raise ValueError(f"spaces around the path: give {name} without them")
        return value

    @field_validator("db", "lake")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        """``~`` and ``~user`` are the home folder, as in a shell (the value comes quoted from
        the environment, so no shell expanded it): never a folder literally named ``~``."""
        try:
            return value.expanduser()
        except RuntimeError:  # no home folder to expand to: keep the path as given
            return value

    @field_validator("now", mode="before")
    @classmethod
    def _parse_now(cls, value: object) -> object:
        if isinstance(value, str) and value:
            return parse_now(value)
        return value or None

    def source_url(self, name: str) -> str:
        """The base URL of one source (``FUELPIPE_SOURCE_<NAME>_URL``)."""
        return str(getattr(self, f"source_{name}_url")).rstrip("/")

    @property
    def retry_delay(self) -> timedelta:
        return timedelta(seconds=self.retry_base_delay_s)


def settings_problems(exc: ValidationError, given: Mapping[str, object]) -> str:
    """Each refused setting as ``FUELPIPE_<NAME>=<value as given>: <why>``, ``; `` between:
    the value as typed (``given`` for those passed in, else the environment's text), so a
    stray space, a wrong case or a typo shows in the message, not only the variable's name;
    a value inside one (a source's revise window) is named after it."""
    problems = []
    for error in exc.errors():
        name, *inside = (str(part) for part in error["loc"])
        value = given[name] if name in given else environ_setting(name)
        where = "".join(f"{part}: " for part in inside)
        why = error["msg"].removeprefix("Value error, ")  # pydantic's, for a ValueError
        problems.append(f"{ENV_PREFIX}{name.upper()}={value!r}: {where}{why}")
    return "; ".join(problems)


def policy_from(settings: Settings) -> RetryPolicy:
    """The retry policy the settings describe."""
    return RetryPolicy(
        max_retries=settings.max_retries,
        base_delay=settings.retry_delay,
        factor=settings.retry_factor,
    )
