"""pip-audit on the hashed lock files, with an allowlist whose entries expire.

    python scripts/pip_audit_gate.py [LOCK ...] [--allowlist security/pip-audit-allowlist.toml]

Exit codes: 0 audited and clean (or only allowed findings); 1 a vulnerability not allowed, or an
allowlist entry that is expired or incomplete; 3 NOT AUDITED: the vulnerability service did not
answer for some dependency. pip-audit reports such a dependency as skipped and would still say
"No known vulnerabilities found"; this gate never counts it as clean.
"""

from __future__ import annotations

import argparse
import json
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

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAIL, EXIT_UNAUDITED = 0, 1, 3

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


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


def evaluate(reports: Sequence[dict[str, Any]], allow: Sequence[AllowEntry]) -> GateResult:
    """Sort every dependency of pip-audit's JSON reports into findings, allowed and unaudited."""
    result = GateResult()
    for report in reports:
        for dep in report.get("dependencies", []):
            name, version = dep.get("name", "?"), dep.get("version", "?")
            if "skip_reason" in dep:
                result.unaudited.append(f"{name}: {dep['skip_reason']}")
                continue
            result.audited += 1
            for vuln in dep.get("vulns", []):
                ids = {vuln["id"], *vuln.get("aliases", [])}
                fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
                line = f"{name} {version}: {vuln['id']} (fixed in: {fixes})"
                covered = [e for e in allow if e.matches(name, ids)]
                (result.allowed if covered else result.findings).append(line)
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
    if result.unaudited:
        print(f"NOT AUDITED: the vulnerability service gave no answer for {len(result.unaudited)}")
        print(f"dependencies (first: {result.unaudited[0]}).")
    verdict = {EXIT_OK: "clean", EXIT_FAIL: "FAILED", EXIT_UNAUDITED: "NOT AUDITED"}
    print(
        f"pip-audit gate: {verdict[result.exit_code]} ({result.audited} audited, "
        f"{len(result.findings)} vulnerable, {len(result.allowed)} allowed, "
        f"{len(result.unaudited)} unaudited)"
    )


def main(argv: list[str] | None = None, runner: Runner | None = None) -> int:
    """Audit the locks, apply the allowlist, print, and return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("locks", nargs="*", type=Path, help="default: requirements/*.txt")
    parser.add_argument(
        "--allowlist", type=Path, default=ROOT / "security" / "pip-audit-allowlist.toml"
    )
    parser.add_argument(
        "--today", type=date.fromisoformat, default=datetime.now(UTC).date(), help="YYYY-MM-DD"
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
    result = evaluate(reports, allow)
    result.allowlist_errors = errors
    print_result(result)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
