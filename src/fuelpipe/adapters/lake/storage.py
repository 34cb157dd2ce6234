"""Lake storage adapters: a local directory and an S3 bucket (see ports/lake.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from fuelpipe.adapters.process_lock import LockHeld, ProcessLock
from fuelpipe.domain.instants import sao_paulo_iso
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.lake import LakeBusy, LakeLockLost, LakeWriteLock

PART_FILE = "part-0.parquet"
MANIFEST = "_manifest.json"
INCOMPLETE = "incomplete"
"""The manifest's files whose ingest began writing partitions and did not end: written before
a file's first partition, removed in the manifest write that records the file."""
WRITE_LOCK = "_ingest.lock"
"""The write lock beside the manifest: a flock'd file locally, an object with an expiry in S3."""
_PARTITION = re.compile(r"product=([A-Z0-9_]+)/month=(\d{4}-\d{2})/" + re.escape(PART_FILE) + "$")


def partition_path(product: str, month: str) -> str:
    """The partition file's path below the lake root (Hive style, as Athena reads it)."""
    return f"product={product}/month={month}/{PART_FILE}"


LAYOUT = "layout"
"""The manifest's version of the partitions' layout: absent in a lake written before there was
one (1). 2: every CNPJ is its 14 digits, one row per (CNPJ, product, day) (``fuelpipe stations
migrate``, or the next ingest, rewrites a lake of 1). An ingest writes it with its first
manifest write, once the lake's partitions are in it."""
LAKE_LAYOUT = 2


def layout_of(manifest: dict[str, Any]) -> int:
    """The layout a manifest says its lake's partitions have (1 when it says none)."""
    return int(manifest.get(LAYOUT, 1))


def _old_layout(manifest: dict[str, Any]) -> int | None:
    """The layout of a lake whose manifest records files in an older layout than today's
    (its answers may count one station twice until it is migrated), else None: the check
    behind both storages' ``old_layout``."""
    layout = layout_of(manifest)
    return layout if manifest["files"] and layout < LAKE_LAYOUT else None


def old_layout_notice(layout: int) -> str:
    """What a lake of an older ``layout`` means and what to run, in one sentence."""
    return (
        f"old layout: the lake's partitions are in layout {layout}, not {LAKE_LAYOUT} (CNPJs as "
        "ANP punctuates them, so a station's older rows count apart): run `fuelpipe stations "
        "migrate` (the next ingest also does it first)"
    )


def empty_manifest() -> dict[str, Any]:
    """A new lake's manifest (no layout: an ingest's first write records today's)."""
    return {"files": {}, "http": {}}


class LocalLakeStorage:
    """A directory (``FUELPIPE_LAKE``); files are replaced by atomic rename."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._layout: tuple[tuple[int, int, int], int | None] | None = None
        """The manifest file's (inode, size, mtime) when ``old_layout`` last read it, and its
        answer then."""

    def describe(self) -> str:
        return str(self.root)

    def partitions(self) -> list[tuple[str, str]]:
        found = []
        for path in self.root.glob(f"product=*/month=*/{PART_FILE}"):
            m = _PARTITION.search(path.relative_to(self.root).as_posix())
            if m:
                found.append((m.group(1), m.group(2)))
        return sorted(found)

    def fetch_partition(self, product: str, month: str, workdir: Path) -> Path | None:
        path = self.root / partition_path(product, month)
        return path if path.exists() else None

    def _replace(self, target: Path, write: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        try:
            write(Path(tmp))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_partition(self, product: str, month: str, local: Path) -> None:
        self._replace(
            self.root / partition_path(product, month), lambda tmp: shutil.copyfile(local, tmp)
        )

    def read_manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.exists():
            return empty_manifest()
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def old_layout(self) -> int | None:
        """The manifest read again only when its file changed (a stat tells): every manifest
        write replaces the file (a new inode, size and mtime), so the next call sees it."""
        path = self.root / MANIFEST
        try:
            seen = self._layout
            if seen is not None and seen[0] == _file_version(path.stat()):
                return seen[1]
            with path.open("rb") as file:  # the version of the very file read
                version = _file_version(os.fstat(file.fileno()))
                layout = _old_layout(json.loads(file.read()))
        except FileNotFoundError:
            return None  # a new lake: no files, no layout to migrate
        self._layout = (version, layout)
        return layout

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False)
        self._replace(self.root / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def put_text(self, name: str, text: str) -> None:
        self._replace(
            self.root / "_reports" / name, lambda tmp: tmp.write_text(text, encoding="utf-8")
        )

    def get_text(self, name: str) -> str | None:
        path = self.root / "_reports" / name
        return path.read_text(encoding="utf-8") if path.exists() else None

    def query_root(self, workdir: Callable[[], Path]) -> Path:
        return self.root

    def write_lock(self, clock: Clock, command: str) -> LakeWriteLock:
        return _LocalWriteLock(ProcessLock(self.root / WRITE_LOCK, clock, command))


def _file_version(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


class _LocalWriteLock:
    """The process lock on ``<lake>/_ingest.lock``: the kernel lets it go when the holder
    ends, however it ends, so it never expires."""

    def __init__(self, lock: ProcessLock) -> None:
        self._lock = lock

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except LockHeld as held:
            h = held.holder
            raise LakeBusy(str(held.path), pid=h.pid, since=h.since, command=h.command) from None

    def refresh(self) -> None:
        """Nothing to extend: a flock is held until released."""

    def release(self) -> None:
        self._lock.release()


LAKE_PREFIX = "stations"
"""The lake's folder in its bucket: infra/template.yaml's Glue table and S3 policies name it
(tests/deploy checks they agree), so it is not a setting."""


class LakeListing(NamedTuple):
    """One listing of the S3 lake."""

    etags: dict[tuple[str, str], str]
    """Each (product, month) partition file's ETag."""
    last_write: datetime | None
    """When any object under the prefix (a partition file, the manifest, a report, the write
    lock) was last written, by S3's clock; None when the prefix is empty."""


class S3LakeStorage:
    """An S3 bucket and prefix: partition files, the manifest and reports as objects.

    DuckDB reads a local mirror of the partition files (kept in step by ETag), so no DuckDB
    extension has to be downloaded; Athena reads the bucket itself through the Glue table.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = LAKE_PREFIX,
        *,
        lock_ttl: timedelta = timedelta(minutes=30),
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.lock_ttl = lock_ttl
        """How long the write lock holds without a refresh (the lake refreshes it per file)."""
        self._manifest_seen = False
        self._manifest_etag: str | None = None
        """The manifest version last read or written here (None: there was none); a write
        replaces only that version, so a stale manifest is never written over another's."""
        self._layout: tuple[str, int | None] | None = None
        """The manifest's ETag when ``old_layout`` last read it, and its answer then (apart
        from the version above: asking the layout never changes what a write replaces)."""

    def _absent(self, exc: Any, key: str) -> bool:
        return _absent(self.client, self.bucket, exc, key)

    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _objects(self) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        out: list[dict[str, Any]] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(page.get("Contents", []))
        return out

    def partitions(self) -> list[tuple[str, str]]:
        return sorted(self.partition_etags())

    def partition_etags(self) -> dict[tuple[str, str], str]:
        """Each (product, month) partition file's ETag, from one listing."""
        return self.listing().etags

    def listing(self) -> LakeListing:
        """The partition files' ETags and the lake's last write, from one listing."""
        found = {}
        last: datetime | None = None
        for obj in self._objects():
            m = _PARTITION.search(obj["Key"])
            if m:
                found[(m.group(1), m.group(2))] = str(obj["ETag"])
            modified = obj["LastModified"]
            last = modified if last is None or modified > last else last
        return LakeListing(found, last)

    def fetch_partition(self, product: str, month: str, workdir: Path) -> Path | None:
        target = workdir / f"existing-{product}-{month}.parquet"
        try:
            self.client.download_file(
                self.bucket, self._key(partition_path(product, month)), str(target)
            )
        except self.client.exceptions.ClientError as exc:
            if self._absent(exc, self._key(partition_path(product, month))):
                return None
            raise
        return target

    def put_partition(self, product: str, month: str, local: Path) -> None:
        self.client.upload_file(str(local), self.bucket, self._key(partition_path(product, month)))

    def _get_manifest(self, **condition: str) -> tuple[dict[str, Any], str | None]:
        """The manifest and its ETag (an empty one and None when there is none); a ClientError
        of code 304 when ``condition`` (If-None-Match) says it is the version already held."""
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self._key(MANIFEST), **condition)
        except self.client.exceptions.ClientError as exc:
            if not self._absent(exc, self._key(MANIFEST)):
                raise
            return empty_manifest(), None
        loaded: dict[str, Any] = json.loads(got["Body"].read())
        return loaded, str(got["ETag"])

    def read_manifest(self) -> dict[str, Any]:
        manifest, self._manifest_etag = self._get_manifest()
        self._manifest_seen = True
        return manifest

    def old_layout(self) -> int | None:
        """One GET of the manifest, conditional once it was read here (If-None-Match: its
        ETag): S3 answers an unchanged manifest 304, without the body to transfer and parse,
        and a replaced one (a new ingest's) in full, in the same request. A HEAD is priced as a
        GET and would need a GET after it when the manifest changed; a listing of the manifest's
        key is priced as 12.5 GETs (LIST), and the listing a dashboard request already makes is
        the caller's, as old as the caller kept it."""
        seen = self._layout
        try:
            manifest, etag = self._get_manifest(
                **({} if seen is None else {"IfNoneMatch": seen[0]})
            )
        except self.client.exceptions.ClientError as exc:
            if seen is not None and _code(exc) in _NOT_MODIFIED:
                return seen[1]
            raise
        layout = _old_layout(manifest)
        self._layout = None if etag is None else (etag, layout)
        return layout

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest this storage last read or wrote (conditional write: one
        another writer replaced since is not overwritten, ManifestChanged says so)."""
        text = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False)
        condition: dict[str, str] = {}  # (unconditional when it was never read here)
        if self._manifest_seen:
            etag = self._manifest_etag
            condition = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": etag}
        try:
            put = self.client.put_object(
                Bucket=self.bucket, Key=self._key(MANIFEST), Body=text.encode("utf-8"), **condition
            )
        except self.client.exceptions.ClientError as exc:
            if _code(exc) in _CONFLICT:
                raise ManifestChanged(
                    f"{self.describe()}/{MANIFEST} changed since this ingest read it (another "
                    "writer): not overwritten; run the ingest again"
                ) from None
            raise
        self._manifest_seen, self._manifest_etag = True, str(put["ETag"])

    def put_text(self, name: str, text: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(f"_reports/{name}"), Body=text.encode("utf-8")
        )

    def get_text(self, name: str) -> str | None:
        key = self._key(f"_reports/{name}")
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if self._absent(exc, key):
                return None
            raise
        return str(body["Body"].read().decode("utf-8"))

    def query_root(self, workdir: Callable[[], Path]) -> Path:
        root = workdir() / "s3-mirror"
        for obj in self._objects():
            m = _PARTITION.search(obj["Key"])
            if not m:
                continue
            target = root / partition_path(m.group(1), m.group(2))
            tag = target.with_suffix(".etag")
            if target.exists() and tag.exists() and tag.read_text() == obj["ETag"]:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(self.bucket, obj["Key"], str(target))
            tag.write_text(obj["ETag"])
        return root

    def write_lock(self, clock: Clock, command: str) -> LakeWriteLock:
        return _S3WriteLock(self.client, self.bucket, self._key(WRITE_LOCK), self.lock_ttl,
                            clock, command)  # fmt: skip


_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
"""S3's answers to a conditional write whose condition failed, or raced another write."""
_GONE = frozenset({"NoSuchKey", "404"})
_NOT_MODIFIED = frozenset({"304", "NotModified"})
"""S3's answer to a GET whose If-None-Match names the object's ETag (no body)."""
_DENIED = frozenset({"AccessDenied", "403"})


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _absent(client: Any, bucket: str, exc: Any, key: str) -> bool:
    """Whether a failed read of ``key`` means there is no such object. S3 answers a missing
    key with 404 only to a caller allowed to list the bucket; the app roles may list only
    under the lake's prefix (an ``s3:prefix`` condition), and S3 may answer them 403: a
    listing of that one key, which they may make, tells a missing object from a denial."""
    code = _code(exc)
    if code in _GONE:
        return True
    if code not in _DENIED:
        return False
    found = client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return not any(obj["Key"] == key for obj in found.get("Contents", []))


class ManifestChanged(RuntimeError):
    """The S3 manifest was replaced by another writer since it was read."""


class _S3WriteLock:
    """An object ``<prefix>/_ingest.lock`` created only where none is (``IfNoneMatch``),
    holding its holder and an expiry: a lock past its expiry (its holder crashed, or stopped
    refreshing) is taken over by replacing exactly that version (``IfMatch``), so two
    contenders cannot both take it. Released by deleting the version written here."""

    _ATTEMPTS = 3

    def __init__(
        self, client: Any, bucket: str, key: str, ttl: timedelta, clock: Clock, command: str
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._ttl = ttl
        self._clock = clock
        self._command = command
        self._token = uuid.uuid4().hex  # makes this holder's ETag its own
        self._since = ""
        self._etag: str | None = None

    def _where(self) -> str:
        return f"s3://{self._bucket}/{self._key}"

    def _put(self, **condition: str) -> bool:
        """Write this holder's note under ``condition``; False when the condition failed."""
        now = self._clock.now()
        since = self._since or sao_paulo_iso(now, "seconds")
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": since,
            "expires": sao_paulo_iso(now + self._ttl, "seconds"),
            "command": self._command,
            "token": self._token,
        }
        client = self._client
        try:
            put = client.put_object(
                Bucket=self._bucket, Key=self._key, Body=json.dumps(note).encode(), **condition
            )
        except client.exceptions.ClientError as exc:
            if _code(exc) in _CONFLICT | _GONE:
                return False
            raise
        self._since, self._etag = since, str(put["ETag"])
        return True

    def _current(self) -> tuple[dict[str, Any], str] | None:
        """The lock's note and ETag, or None when there is no lock."""
        client = self._client
        try:
            got = client.get_object(Bucket=self._bucket, Key=self._key)
        except client.exceptions.ClientError as exc:
            if _absent(client, self._bucket, exc, self._key):
                return None  # released meanwhile (S3 may say so with a 403: see _absent)
            raise
        try:
            note = json.loads(got["Body"].read())
        except ValueError:
            note = {}
        return (note if isinstance(note, dict) else {}), str(got["ETag"])

    def acquire(self) -> None:
        if self._etag is not None:
            return
        note: dict[str, Any] = {}
        for _ in range(self._ATTEMPTS):
            if self._put(IfNoneMatch="*"):
                return
            current = self._current()
            if current is None:
                continue  # released meanwhile: try again
            note, etag = current
            if not _expired(note, self._clock.now()):
                break
            if self._put(IfMatch=etag):  # expired: take over exactly that version
                return
        pid = note.get("pid")
        raise LakeBusy(
            self._where(),
            pid=pid if isinstance(pid, int) else None,
            since=_text(note.get("since")),
            command=_text(note.get("command")),
            host=_text(note.get("host")),
            expires=_text(note.get("expires")),
        )

    def refresh(self) -> None:
        if self._etag is None:
            return
        if not self._put(IfMatch=self._etag):
            self._etag, self._since = None, ""
            raise LakeLockLost(
                f"{self._where()} expired (held past {self._ttl} without a refresh) and "
                "another ingest took it over: this one stopped writing; run it again"
            )

    def release(self) -> None:
        etag, self._etag, self._since = self._etag, None, ""
        if etag is None:
            return
        client = self._client
        try:
            client.delete_object(Bucket=self._bucket, Key=self._key, IfMatch=etag)
        except client.exceptions.ClientError as exc:
            if _code(exc) not in _CONFLICT | _GONE:
                raise  # taken over (or gone): another holder's lock is left alone


def _expired(note: dict[str, Any], now: datetime) -> bool:
    """Past the note's expiry; a note without a readable one counts as expired."""
    try:
        return now >= datetime.fromisoformat(str(note["expires"]))
    except (KeyError, ValueError, TypeError):
        return True


def _text(value: object) -> str | None:
    return None if value is None else str(value)
