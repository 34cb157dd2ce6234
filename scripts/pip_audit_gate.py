"""pip-audit on the hashed lock files, with an allowlist whose entries expire.

    python scripts/pip_audit_gate.py [LOCK ...] [--allowlist security/pip-audit-allowlist.toml]

Exit codes: 0 audited and clean (or only allowed findings); 1 a vulnerability not allowed, or an
allowlist entry that is expired or incomplete; 3 NOT AUDITED: the vulnerability service did not
answer for some dependency. pip-audit reports such a dependency as skipped and would still say
"No known vulnerabilities found"; this gate never counts it as clean.

When pip-audit's per-version lookup (``/pypi/<name>/<version>/json``) gives no answer, the gate
asks the registry's project record (``/pypi/<name>/json``). That record carries the same
vulnerability data (PyPI's copy of the OSV advisories), but only for the latest release, so it
audits a dependency only when the lock pins exactly that release. Anything else stays unaudited.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import stamina
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAIL, EXIT_UNAUDITED = 0, 1, 3

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]
PYPI = "https://pypi.org/pypi"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def read_pins(text: str) -> dict[str, str]:
    """name -> version for every ``name==version`` line of a lock file."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        found = PIN.match(line.strip())
        if found:
            pins[canonicalize_name(found.group(1))] = found.group(2)
    return pins


@dataclass(frozen=True)
class LatestRelease:
    """A project's latest release and the vulnerabilities the registry lists for it."""

    version: str
    vulns: tuple[dict[str, Any], ...] = ()


def latest_from_project_json(data: dict[str, Any]) -> LatestRelease:
    """The registry's project record, reduced to its latest version and that version's vulns.

    Each vuln is put in pip-audit's report shape (id, aliases, fix_versions); withdrawn
    advisories are left out, as pip-audit leaves them out.
    """
    vulns = tuple(
        {
            "id": v["id"],
            "aliases": list(v.get("aliases") or []),
            "fix_versions": list(v.get("fixed_in") or []),
        }
        for v in data.get("vulnerabilities") or []
        if not v.get("withdrawn")
    )
    return LatestRelease(version=str(data["info"]["version"]), vulns=vulns)


class RegistryUnavailable(Exception):
    """The registry answered with a server error (worth another try)."""


def fetch_latest(
    client: httpx.Client, name: str, registry: str = PYPI, wait_initial: float = 0.5
) -> LatestRelease | None:
    """The latest release of one project from the registry; None when it has no such project.

    Transport errors and 5xx answers are tried three times in all, with backoff, then raised.
    """
    for attempt in stamina.retry_context(
        on=(httpx.TransportError, RegistryUnavailable), attempts=3, wait_initial=wait_initial
    ):
        with attempt:
            response = client.get(f"{registry.rstrip('/')}/{name}/json")
            if response.status_code >= 500:
                raise RegistryUnavailable(f"{response.status_code} for {name}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return latest_from_project_json(response.json())


def fetch_all_latest(
    names: Sequence[str], client: httpx.Client, registry: str = PYPI
) -> dict[str, LatestRelease]:
    """Latest releases for many projects, 16 lookups at a time; failed lookups are left out."""

    def one(name: str) -> tuple[str, LatestRelease | None]:
        try:
            return name, fetch_latest(client, name, registry)
        except (httpx.HTTPError, RegistryUnavailable, KeyError, ValueError) as exc:
            print(f"registry lookup for {name} failed: {exc}", file=sys.stderr)
            return name, None

    with ThreadPoolExecutor(max_workers=16) as pool:
        return {name: got for name, got in pool.map(one, names) if got is not None}


@dataclass(frozen=True)
class AllowEntry:
    """One accepted vulnerability: its id (or alias), why, and until when."""

    id: str
    reason: str
    expires: date
    package: str | None = None

    def matches(self, package: str, ids: set[str]) -> bool:
        """True when this entry covers one of a finding's ids (for its package, if named)."""
        same_package = self.package is None or self.package.lower() == package.lower()
        return same_package and self.id in ids


@dataclass
class GateResult:
    """What the gate found in one or more pip-audit reports."""

    findings: list[str] = field(default_factory=list)  # vulnerabilities not allowed
    allowed: list[str] = field(default_factory=list)
    allowlist_errors: list[str] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)
    audited: int = 0
    audited_by_latest: int = 0  # of audited: from the latest-release record

    @property
    def exit_code(self) -> int:
        """1 for findings or a bad allowlist, else 3 if anything went unaudited, else 0."""
        if self.findings or self.allowlist_errors:
            return EXIT_FAIL
        return EXIT_UNAUDITED if self.unaudited else EXIT_OK


def load_allowlist(text: str, today: date) -> tuple[list[AllowEntry], list[str]]:
    """Valid, unexpired entries, and one error line per expired or incomplete entry."""
    entries: list[AllowEntry] = []
    errors: list[str] = []
    for n, raw in enumerate(tomllib.loads(text).get("allow", []), start=1):
        ident, reason, expires = raw.get("id"), raw.get("reason"), raw.get("expires")
        label = f"allowlist entry {n} ({ident or 'no id'})"
        if not isinstance(ident, str) or not ident.strip():
            errors.append(f"{label}: no id")
        elif not isinstance(reason, str) or not reason.strip():
            errors.append(f"{label}: no reason")
        elif not isinstance(expires, date):
            errors.append(f"{label}: no expires date (write it as a TOML date, 2027-01-31)")
        elif expires < today:
            errors.append(f"{label}: expired on {expires.isoformat()}")
        else:
            entries.append(AllowEntry(ident.strip(), reason.strip(), expires, raw.get("package")))
    return entries, errors


def evaluate(
    reports: Sequence[dict[str, Any]],
    allow: Sequence[AllowEntry],
    pins: Sequence[dict[str, str]] = (),
    latest: dict[str, LatestRelease] | None = None,
) -> GateResult:
    """Sort every dependency of pip-audit's JSON reports into findings, allowed and unaudited.

    A dependency pip-audit skipped is audited from ``latest`` (the registry's latest-release
    records) only when ``pins`` (one dict per report: its lock's name -> version) shows the lock
    pins that very release.
    """
    latest = latest or {}
    result = GateResult()

    def check(name: str, version: str, vulns: Sequence[dict[str, Any]]) -> None:
        for vuln in vulns:
            ids = {vuln["id"], *vuln.get("aliases", [])}
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            line = f"{name} {version}: {vuln['id']} (fixed in: {fixes})"
            covered = [e for e in allow if e.matches(name, ids)]
            (result.allowed if covered else result.findings).append(line)

    for n, report in enumerate(reports):
        lock_pins = pins[n] if n < len(pins) else {}
        for dep in report.get("dependencies", []):
            name, version = dep.get("name", "?"), dep.get("version", "?")
            if "skip_reason" not in dep:
                result.audited += 1
                check(name, version, dep.get("vulns", []))
                continue
            key = canonicalize_name(name)
            pinned, record = lock_pins.get(key), latest.get(key)
            if pinned is None or record is None:
                result.unaudited.append(f"{name}: {dep['skip_reason']}")
            elif record.version == pinned:
                result.audited += 1
                result.audited_by_latest += 1
                check(name, pinned, record.vulns)
            else:
                result.unaudited.append(
                    f"{name} {pinned}: the registry lists vulnerabilities for its latest release "
                    f"({record.version}) only, and pip-audit skipped this one "
                    f"({dep['skip_reason']})"
                )
    return result


def run_pip_audit(lock: Path, runner: Runner | None = None) -> dict[str, Any]:
    """pip-audit's JSON report for one hashed lock file; raises if pip-audit produced none."""
    with tempfile.TemporaryDirectory(prefix="pip-audit-") as tmp:
        out = Path(tmp) / "report.json"
        command = [
            sys.executable, "-m", "pip_audit", "-r", str(lock), "--require-hashes",
            "--disable-pip", "--format", "json", "--progress-spinner", "off", "-o", str(out),
            # a cache per run: the runs go in parallel and must not write one cache at once
            "--cache-dir", str(Path(tmp) / "cache"),
        ]  # fmt: skip
        done = (runner or _run)(command)
        # pip-audit exits 1 both for "vulnerabilities found" and for errors: the report decides.
        if not out.is_file() or not out.read_text().strip():
            raise RuntimeError(f"pip-audit wrote no report for {lock}:\n{done.stderr.strip()}")
        report: dict[str, Any] = json.loads(out.read_text())
        return report


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def print_result(result: GateResult) -> None:
    """Say what was found; never 'clean' when something went unaudited."""
    for line in result.allowlist_errors:
        print(f"ALLOWLIST  {line}")
    for line in result.findings:
        print(f"VULNERABLE {line}")
    for line in result.allowed:
        print(f"allowed    {line}")
    for line in dict.fromkeys(result.unaudited):  # a pin shared by several locks, once
        print(f"NOT AUDITED {line}")
    verdict = {EXIT_OK: "clean", EXIT_FAIL: "FAILED", EXIT_UNAUDITED: "NOT AUDITED"}
    print(
        f"pip-audit gate: {verdict[result.exit_code]} ({result.audited} audited, "
        f"{result.audited_by_latest} of them from the latest-release record; "
        f"{len(result.findings)} vulnerable, {len(result.allowed)} allowed, "
        f"{len(result.unaudited)} unaudited; a pin in several locks counts once per lock)"
    )


def main(
    argv: list[str] | None = None,
    runner: Runner | None = None,
    client: httpx.Client | None = None,
) -> int:
    """Audit the locks, apply the allowlist, print, and return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("locks", nargs="*", type=Path, help="default: requirements/*.txt")
    parser.add_argument(
        "--allowlist", type=Path, default=ROOT / "security" / "pip-audit-allowlist.toml"
    )
    parser.add_argument(
        "--today", type=date.fromisoformat, default=datetime.now(UTC).date(), help="YYYY-MM-DD"
    )
    parser.add_argument(
        "--registry", default=PYPI, help=f"the registry's JSON API root (default {PYPI})"
    )
    parser.add_argument(
        "--no-registry",
        action="store_true",
        help="do not ask the registry's project records for what pip-audit skipped",
    )
    args = parser.parse_args(argv)

    text = args.allowlist.read_text(encoding="utf-8") if args.allowlist.is_file() else ""
    allow, errors = load_allowlist(text, args.today)
    locks = args.locks or sorted((ROOT / "requirements").glob("*.txt"))
    if not locks:
        print("pip-audit gate: no lock files to audit")
        return EXIT_FAIL
    # One run per lock (pip-audit refuses two pins of one package across files), three at once.
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda lock: run_pip_audit(lock, runner), locks))
    skipped = sorted(
        {
            canonicalize_name(d["name"])
            for r in reports
            for d in r.get("dependencies", [])
            if "skip_reason" in d
        }
    )
    latest: dict[str, LatestRelease] = {}
    if skipped and not args.no_registry:
        print(
            f"pip-audit skipped {len(skipped)} dependencies; asking the registry's project records"
        )
        http = client or httpx.Client(timeout=httpx.Timeout(20.0, connect=10.0))
        try:
            latest = fetch_all_latest(skipped, http, args.registry)
        finally:
            if client is None:
                http.close()
    pins = [read_pins(lock.read_text(encoding="utf-8")) if lock.is_file() else {} for lock in locks]
    result = evaluate(reports, allow, pins, latest)
    result.allowlist_errors = errors
    print_result(result)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
