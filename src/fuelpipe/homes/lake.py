"""Composition root of the station-level lake: local directory or S3, and ANP's file source."""

from __future__ import annotations

from pathlib import Path

from fuelpipe.adapters.lake.athena import AthenaQueries
from fuelpipe.adapters.lake.engine import StationLake
from fuelpipe.adapters.lake.storage import LocalLakeStorage, S3LakeStorage
from fuelpipe.adapters.sources._http import make_client as make_http_client
from fuelpipe.adapters.sources.shpc import StationFiles
from fuelpipe.homes.settings import Settings
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.lake import LakeStorage


def build_storage(cfg: Settings) -> LakeStorage:
    """S3 when the AWS home has a lake bucket; the ``FUELPIPE_LAKE`` directory otherwise."""
    if cfg.backend == "aws" and cfg.lake_bucket:
        from fuelpipe.homes.aws import make_client

        return S3LakeStorage(make_client("s3", cfg), cfg.lake_bucket)
    return LocalLakeStorage(Path(cfg.lake))


def build_lake(cfg: Settings, clock: Clock | None = None) -> StationLake:
    """The lake with DuckDB as its engine (two threads, under 1 GiB)."""
    from fuelpipe.adapters.clock import SystemClock

    return StationLake(build_storage(cfg), clock or SystemClock())


def build_station_source(cfg: Settings) -> StationFiles:
    """ANP's station files over HTTP, with the configured timeout and retries."""
    return StationFiles(
        cfg.source_url("shpc"),
        make_http_client(cfg.http_timeout_s),
        attempts=cfg.http_attempts,
        backoff_s=cfg.http_backoff_s,
    )


def build_athena(cfg: Settings) -> AthenaQueries:
    """The AWS home's engine: the same named queries, run by Athena in the stack's workgroup."""
    from fuelpipe.homes.aws import make_client

    return AthenaQueries(make_client("athena", cfg), cfg.athena_workgroup, cfg.glue_database)
