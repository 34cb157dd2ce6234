"""Composition root of the station-level lake: local directory or S3, and ANP's file source.

Imports are lazy: the dashboard Lambda builds only the Athena side, and ships without DuckDB,
Polars or the HTTP client of ANP's source.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuelpipe.homes.aws import CallBounds
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.lake import LakeStorage

if TYPE_CHECKING:
    from fuelpipe.adapters.lake.athena import AthenaQueries, AthenaStations
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.adapters.sources.shpc import StationFiles

DASHBOARD_ATHENA_TIMEOUT_S = 12.0
"""How long the dashboard waits for a station query, from its start to its last results page:
no Athena API attempt starts past it (AthenaQueries), so a query answers, or fails with a clear
error, by then plus one attempt in flight and the stop of a query still running (attempts of
at most 6 s each, DASHBOARD_CALLS; the stop's start within STOP_GRACE_S). A request may run
two (the lake's ``window`` after an ingest changed its end months, then its own query): two
slow queries (Athena queued them) end in 2 x 12 s and change, under the dashboard_api
function's 29 s timeout (infra/template.yaml), so a slow query is stopped and answered with a
clear error, not cut off by Lambda."""

DASHBOARD_CALLS = CallBounds(attempts=3, connect_timeout_s=2.0, read_timeout_s=4.0)
"""The dashboard's S3 and Athena calls: each attempt at most 2 + 4 s (the other clients' six
attempts of up to 20 s of reading, 2 minutes, outlast the function's 29 s on one API call that
stops answering), three attempts with botocore's jittered backoff (throttling's: under 1 s,
then under 2 s)."""


def build_storage(cfg: Settings) -> LakeStorage:
    """S3 when the AWS home has a lake bucket; the ``FUELPIPE_LAKE`` directory otherwise."""
    from fuelpipe.adapters.lake.storage import LocalLakeStorage, S3LakeStorage

    if cfg.backend == "aws" and cfg.lake_bucket:
        from fuelpipe.homes.aws import make_client

        return S3LakeStorage(make_client("s3", cfg), cfg.lake_bucket)
    return LocalLakeStorage(Path(cfg.lake))


def build_lake(cfg: Settings, clock: Clock | None = None) -> StationLake:
    """The lake with DuckDB as its engine (two threads, under 1 GiB)."""
    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.adapters.lake.engine import StationLake
    from fuelpipe.failpoints import Failpoints

    return StationLake(
        build_storage(cfg), clock or SystemClock(), failpoints=Failpoints(cfg.failpoints)
    )


def build_station_source(cfg: Settings) -> StationFiles:
    """ANP's station files over HTTP, with the configured timeout, retries and attempt
    deadline (unset, a download has none: only each read is bounded, as a semiannual file of
    ~150 MB needs more than the sources' derived 3 read timeouts)."""
    from fuelpipe.adapters.sources._http import make_client as make_http_client
    from fuelpipe.adapters.sources.shpc import StationFiles

    return StationFiles(
        cfg.source_url("shpc"),
        make_http_client(cfg.http_timeout_s),
        attempts=cfg.http_attempts,
        backoff_s=cfg.http_backoff_s,
        attempt_deadline_s=cfg.http_attempt_deadline_s,
    )


def build_athena(
    cfg: Settings,
    *,
    athena_client: Any = None,
    timeout_s: float = 120.0,
    bounds: CallBounds | None = None,
) -> AthenaQueries:
    """The AWS home's engine: the same named queries, run by Athena in the stack's workgroup
    (each query within ``timeout_s``, each API call within ``bounds``)."""
    from fuelpipe.adapters.lake.athena import AthenaQueries
    from fuelpipe.homes.aws import make_client

    client = athena_client or make_client("athena", cfg, bounds)
    return AthenaQueries(client, cfg.athena_workgroup, cfg.glue_database, timeout_s=timeout_s)


def build_athena_stations(
    cfg: Settings, *, athena_client: Any = None, s3_client: Any = None, clock: Clock | None = None
) -> AthenaStations | None:
    """The dashboard's station queries in the AWS home (Athena over the lake bucket), or None
    when no lake bucket is configured (the Stations page then says there is no lake).

    Athena may answer with a result up to ``FUELPIPE_ATHENA_REUSE_MINUTES`` old that is younger
    than the lake's last write. ``clock`` is the system's (never ``FUELPIPE_NOW``): the age is
    measured against S3's and Athena's clocks."""
    if not cfg.lake_bucket:
        return None
    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.adapters.lake.athena import AthenaStations
    from fuelpipe.adapters.lake.storage import S3LakeStorage
    from fuelpipe.homes.aws import make_client

    athena = build_athena(
        cfg,
        athena_client=athena_client,
        timeout_s=DASHBOARD_ATHENA_TIMEOUT_S,
        bounds=DASHBOARD_CALLS,
    )
    return AthenaStations(
        athena,
        S3LakeStorage(s3_client or make_client("s3", cfg, DASHBOARD_CALLS), cfg.lake_bucket),
        clock=clock or SystemClock(),
        reuse_limit=cfg.athena_reuse_minutes,
    )
