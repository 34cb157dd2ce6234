"""Lake storage adapters: a local directory and an S3 bucket (see ports/lake.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

PART_FILE = "part-0.parquet"
MANIFEST = "_manifest.json"
_PARTITION = re.compile(r"product=([A-Z0-9_]+)/month=(\d{4}-\d{2})/" + re.escape(PART_FILE) + "$")


def partition_path(product: str, month: str) -> str:
    """The partition file's path below the lake root (Hive style, as Athena reads it)."""
    return f"product={product}/month={month}/{PART_FILE}"


def empty_manifest() -> dict[str, Any]:
    return {"files": {}, "http": {}}


class LocalLakeStorage:
    """A directory (``FUELPIPE_LAKE``); files are replaced by atomic rename."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

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

    def query_root(self, workdir: Path) -> Path:
        return self.root


LAKE_PREFIX = "stations"
"""The lake's folder in its bucket: infra/template.yaml's Glue table and S3 policies name it
(tests/deploy checks they agree), so it is not a setting."""


class S3LakeStorage:
    """An S3 bucket and prefix: partition files, the manifest and reports as objects.

    DuckDB reads a local mirror of the partition files (kept in step by ETag), so no DuckDB
    extension has to be downloaded; Athena reads the bucket itself through the Glue table.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = LAKE_PREFIX) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

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
        found = {}
        for obj in self._objects():
            m = _PARTITION.search(obj["Key"])
            if m:
                found[(m.group(1), m.group(2))] = str(obj["ETag"])
        return found

    def fetch_partition(self, product: str, month: str, workdir: Path) -> Path | None:
        target = workdir / f"existing-{product}-{month}.parquet"
        try:
            self.client.download_file(
                self.bucket, self._key(partition_path(product, month)), str(target)
            )
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise
        return target

    def put_partition(self, product: str, month: str, local: Path) -> None:
        self.client.upload_file(str(local), self.bucket, self._key(partition_path(product, month)))

    def read_manifest(self) -> dict[str, Any]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(MANIFEST))["Body"]
        except self.client.exceptions.NoSuchKey:
            return empty_manifest()
        loaded: dict[str, Any] = json.loads(body.read())
        return loaded

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False)
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(MANIFEST), Body=text.encode("utf-8")
        )

    def put_text(self, name: str, text: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(f"_reports/{name}"), Body=text.encode("utf-8")
        )

    def get_text(self, name: str) -> str | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(f"_reports/{name}"))
        except self.client.exceptions.NoSuchKey:
            return None
        return str(body["Body"].read().decode("utf-8"))

    def query_root(self, workdir: Path) -> Path:
        root = workdir / "s3-mirror"
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
