"""Station-level ingest: list ANP's station files, download what changed, ingest into the lake.

Uses only the two objects it is given (the file source and the lake) through the small
protocols below. The lake's manifest records, per file (its path below the listing's root, see
``validators_key``), the validators of the last download, so an unchanged file is answered with
a 304 and not downloaded again, from a moved host too; a file whose content was already
ingested under another URL is not ingested twice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from fuelpipe.ports.lake import LakeBusy, LakeLockLost, LakeStorage
from fuelpipe.ports.source import SourceError

Progress = Callable[[str, int, int], None]


class DownloadResult(Protocol):
    @property
    def unchanged(self) -> bool: ...
    @property
    def path(self) -> Path | None: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def last_modified(self) -> str | None: ...


class ListingResult(Protocol):
    """The files a listing links to, and the links to one it could not read (``skipped``:
    one line each, naming the link and its page)."""

    @property
    def urls(self) -> list[str]: ...
    @property
    def skipped(self) -> list[str]: ...
    @property
    def root(self) -> str:
        """The listing's configured URL, which its files are known below."""
        ...


class FileSource(Protocol):
    def listing(self) -> ListingResult: ...

    def download(
        self,
        url: str,
        target: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        on_bytes: Callable[[int, int], None] | None = None,
    ) -> DownloadResult: ...


class FileReportLike(Protocol):
    rows: int
    written: int
    rejected: int
    refused: bool
    unreadable: bool
    already_ingested: str | None

    def as_dict(self) -> dict[str, Any]: ...


class Lake(Protocol):
    storage: LakeStorage

    def ingest_path(
        self,
        path: Path,
        name: str | None = None,
        *,
        source: str | None = None,
        force: bool = False,
        progress: Callable[[str, int], None] | None = None,
        kind: str | None = None,
        migrating: Callable[[int, int], None] | None = None,
    ) -> Sequence[FileReportLike]: ...


@dataclass
class IngestSummary:
    """What one ``stations ingest`` did, file by file."""

    files: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unchanged: int = 0
    """Files skipped as already ingested: answered 304 (not downloaded), or downloaded again
    (or given again) with a content the lake already holds."""
    listing_unread: bool = False
    """ANP's listing could not be read (the first error says why): nothing was listed, so
    nothing was downloaded."""

    @property
    def rows(self) -> int:
        return sum(p["rows"] for f in self.files for p in f.get("parts", []))

    @property
    def written(self) -> int:
        return sum(p["written"] for f in self.files for p in f.get("parts", []))

    @property
    def replaced(self) -> int:
        """Records of the lake a newer version's corrected (each listed in its revised report)."""
        return sum(p.get("replaced", 0) for f in self.files for p in f.get("parts", []))

    @property
    def rejected(self) -> int:
        return sum(p["rejected"] for f in self.files for p in f.get("parts", []))

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "errors": self.errors,
            "unchanged": self.unchanged,
            "rows": self.rows,
            "written": self.written,
            "replaced": self.replaced,
            "rejected": self.rejected,
        }


class _RowCount:
    """Records read so far over every file of one ingest, as the ``rows`` progress phase
    (the lake reports each CSV's running count a batch at a time)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0  # records of the CSVs already finished
        self.current: dict[str, int] = {}

    def __call__(self, name: str, rows: int) -> None:
        self.current[name] = rows
        if self.progress:
            self.progress("rows", self.done + sum(self.current.values()), 0)

    def next_file(self) -> None:
        self.done += sum(self.current.values())
        self.current.clear()


def _file_bytes(progress: Progress | None) -> Callable[[int, int], None] | None:
    """The ``file_bytes`` progress phase: the file being downloaded, its bytes received and
    the size the server declared (0: none declared); it starts again at each file."""
    if progress is None:
        return None
    return lambda done, total: progress("file_bytes", done, total)


def _migrating(progress: Progress | None) -> Callable[[int, int], None] | None:
    """The ``migrate`` progress phase: the partitions of a lake of an older layout read so far
    and their number, as the lake migrates them before its first file is ingested (the bar
    `stations migrate` draws)."""
    if progress is None:
        return None
    return lambda done, total: progress("migrate", done, total)


def _already_ingested(reports: Sequence[FileReportLike]) -> int:
    """1 when the lake skipped the whole file as content it already holds, else 0."""
    return int(bool(reports) and all(r.already_ingested for r in reports))


def file_name(url: str) -> str:
    """A file's name for display (its URL's last segment). Not its identity: ANP's monthly
    files share names across year folders, so the lake keys its manifest by the URL's path."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def validators_key(url: str, root: str) -> str:
    """What the manifest keeps a file's validators by: its URL's path below the listing's
    ``root`` (with its query), so that the same file on another host or port is still known
    (each `make demo` run's replay listens on a new port; ANP has moved hosts before), while
    two files of one name in two folders stay two. A URL not below the root is kept by its
    whole path (it starts with ``/``, as no path below the root does)."""
    parts = urlsplit(url)
    below = urlsplit(root).path.rstrip("/") + "/"
    path = parts.path.removeprefix(below) if parts.path.startswith(below) else parts.path
    return path + (f"?{parts.query}" if parts.query else "")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


_FULL_URL = ("http://", "https://")


def _older_keys(http: dict[str, Any], key: str, root: str) -> list[str]:
    """The entries an older version recorded for the file of ``key``: by its full URL, on
    whichever host it was fetched from then."""
    return [k for k in http if k.startswith(_FULL_URL) and validators_key(k, root) == key]


def _validators(http: dict[str, Any], url: str, root: str) -> dict[str, Any]:
    """The validators to send for ``url``: those recorded for its file (``validators_key``;
    an older version's, by a full URL, too). Recorded from another host (or port), only the
    ETag: it names one representation, which that host answers 304 for only if it serves the
    same; a Last-Modified is a date on the old host's clock, and another host's file of that
    name could be older and still not the one ingested."""
    key = validators_key(url, root)
    seen: dict[str, Any] | None = http.get(key)
    fetched = seen.get("url") if seen else None
    if seen is None:
        older = _older_keys(http, key, root)
        if not older:
            return {}
        fetched = next((k for k in older if _origin(k) == _origin(url)), older[-1])
        seen = http[fetched]
    if fetched is None or _origin(fetched) != _origin(url):
        return {"etag": seen.get("etag")}
    return seen


_ASKED_AGAIN = "not ingested: the next `fuelpipe stations ingest` asks for it again"
"""What a file's failed download ends with: what to do, as the listing's error says."""

_NOT_THIS_FILES = (LakeBusy, LakeLockLost)
"""Another ingest writes the lake: no file's fault, so the whole ingest stops."""


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl+C (or SIGTERM) stopped an ingest while it downloaded or ingested one file:
    ``name``, from ``source`` (its path or URL), after ``done`` files of the batch. Still a
    KeyboardInterrupt: the command line ends as for any interrupt (exit 130), saying which
    file was left incomplete first."""

    def __init__(self, name: str, source: str, done: int) -> None:
        super().__init__(f"interrupted while ingesting {name}")
        self.name, self.source, self.done = name, source, done


def _failed(name: str | Path, exc: Exception) -> str:
    """One file's unexpected failure as its error line: the run goes on to the next file,
    and the command still exits non-zero (it has errors)."""
    return f"{name}: could not be ingested ({type(exc).__name__}: {exc})"


def ingest_local(
    lake: Lake,
    paths: Sequence[Path],
    *,
    force: bool = False,
    progress: Progress | None = None,
    kind: str | None = None,
) -> IngestSummary:
    """Ingest files already on disk; a bad file gets one error line, the rest go on.
    ``kind``: each file's (rolling or consolidated), instead of what the lake decides."""
    summary = IngestSummary()
    rows = _RowCount(progress)
    for n, path in enumerate(paths, 1):
        rows.next_file()
        source = str(path.resolve())  # the file's identity in the lake (its name is not)
        try:
            reports = lake.ingest_path(
                path,
                path.name,
                source=source,
                force=force,
                progress=rows,
                kind=kind,
                migrating=_migrating(progress),
            )
        except KeyboardInterrupt as stop:
            raise IngestInterrupted(path.name, source, n - 1) from stop
        except _NOT_THIS_FILES:
            raise
        except OSError as exc:
            summary.errors.append(f"{path}: {exc}")
        except Exception as exc:  # a fault in this file's reading; the others go on
            summary.errors.append(_failed(path, exc))
        else:
            summary.files.append(
                {"name": path.name, "source": source, "parts": [r.as_dict() for r in reports]}
            )
            summary.unchanged += _already_ingested(reports)
        if progress:
            progress("ingest", n, len(paths))
    return summary


def ingest_remote(
    lake: Lake,
    source: FileSource,
    *,
    only: Sequence[str] = (),
    force: bool = False,
    progress: Progress | None = None,
    workdir: Path | None = None,
    kind: str | None = None,
) -> IngestSummary:
    """List the files, download each one that changed, ingest it; record its validators.
    ``kind``: each file's (rolling or consolidated), instead of what the lake decides."""
    summary = IngestSummary()
    try:
        listing = source.listing()
    except SourceError as exc:
        summary.errors.append(f"listing: {exc}")
        summary.listing_unread = True
        return summary
    # A malformed link is that one file's error; the others are still ingested.
    summary.errors.extend(f"listing: {problem}" for problem in listing.skipped)
    urls, root = listing.urls, listing.root
    if only:
        listed = urls
        urls = [u for u in urls if any(o.lower() in file_name(u).lower() for o in only)]
        if not urls:  # a typo would otherwise ingest nothing and say nothing
            names = ", ".join(file_name(u) for u in listed[:6]) + (", …" if len(listed) > 6 else "")
            summary.errors.append(
                f"--only {' '.join(only)}: no file on the listing has that in its name "
                f"({len(listed)} listed{': ' + names if listed else ''})"
            )
    rows = _RowCount(progress)
    for n, url in enumerate(urls, 1):
        try:
            manifest = lake.storage.read_manifest()
            seen = {} if force else _validators(manifest.get("http", {}), url, root)
            with tempfile.TemporaryDirectory(prefix="fuelpipe-shpc-", dir=workdir) as tmp:
                try:
                    got = source.download(
                        url,
                        Path(tmp) / file_name(url),
                        etag=seen.get("etag"),
                        last_modified=seen.get("last_modified"),
                        on_bytes=_file_bytes(progress),
                    )
                except SourceError as exc:  # no validators recorded: the next run asks again
                    summary.errors.append(f"{file_name(url)}: {exc}; {_ASKED_AGAIN}")
                    continue
                except Exception as exc:  # not a source error; still this file's alone
                    summary.errors.append(_failed(file_name(url), exc))
                    continue
                finally:
                    if progress:
                        progress("download", n, len(urls))
                if got.unchanged or got.path is None:
                    summary.unchanged += 1
                    summary.files.append({"name": file_name(url), "url": url, "unchanged": True})
                else:
                    rows.next_file()
                    _ingest_download(
                        lake,
                        url,
                        got,
                        got.path,
                        summary,
                        root=root,
                        force=force,
                        progress=rows,
                        kind=kind,
                        migrating=_migrating(progress),
                    )
            if progress:
                progress("ingest", n, len(urls))
        except KeyboardInterrupt as stop:  # stopped downloading or ingesting this file
            raise IngestInterrupted(file_name(url), url, n - 1) from stop
    return summary


def _ingest_download(
    lake: Lake,
    url: str,
    got: DownloadResult,
    path: Path,
    summary: IngestSummary,
    *,
    root: str,
    force: bool,
    progress: Callable[[str, int], None],
    kind: str | None = None,
    migrating: Callable[[int, int], None] | None = None,
) -> None:
    """Ingest one downloaded file into ``summary`` and record its validators (by
    ``validators_key``, with the URL they came from; an older version's entries for the file,
    by its full URL, go). A failure is the file's error line and records none, so the next run
    downloads it again."""
    name = file_name(url)
    try:
        reports = lake.ingest_path(
            path,
            name,
            source=url,
            force=force,
            progress=progress,
            kind=kind,
            migrating=migrating,
        )
    except _NOT_THIS_FILES:
        raise
    except Exception as exc:  # this file's fault; the other files go on
        summary.errors.append(_failed(name, exc))
        return
    summary.files.append({"name": name, "url": url, "parts": [r.as_dict() for r in reports]})
    summary.unchanged += _already_ingested(reports)
    if reports and all(r.refused for r in reports):
        return  # not station data: no validators, so the next run asks again
    if any(r.unreadable for r in reports):
        return  # a ZIP member could not be read: no validators, the next run tries again
    manifest = lake.storage.read_manifest()
    http = manifest.setdefault("http", {})
    key = validators_key(url, root)
    for older in _older_keys(http, key, root):
        del http[older]
    http[key] = {"etag": got.etag, "last_modified": got.last_modified, "url": url}
    lake.storage.write_manifest(manifest)
