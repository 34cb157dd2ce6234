"""The pip-audit gate: findings fail, allowlisted ones pass until they expire, unaudited is loud."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pip_audit_gate.py"
_spec = importlib.util.spec_from_file_location("pip_audit_gate", SCRIPT)
assert _spec
assert _spec.loader
gate = importlib.util.module_from_spec(_spec)
sys.modules["pip_audit_gate"] = gate  # dataclasses look their module up by name
_spec.loader.exec_module(gate)

TODAY = date(2026, 11, 25)
VULN = {
    "id": "PYSEC-2026-1",
    "aliases": ["CVE-2026-0001", "GHSA-aaaa-bbbb-cccc"],
    "fix_versions": ["3.1.7"],
    "description": "template sandbox escape",
}


def report(*deps: dict) -> dict:
    return {"dependencies": list(deps), "fixes": []}


def test_a_clean_report_passes() -> None:
    result = gate.evaluate([report({"name": "httpx", "version": "0.28.1", "vulns": []})], [])

    assert result.exit_code == gate.EXIT_OK
    assert result.audited == 1


def test_a_vulnerability_fails() -> None:
    result = gate.evaluate([report({"name": "jinja2", "version": "3.1.6", "vulns": [VULN]})], [])

    assert result.exit_code == gate.EXIT_FAIL
    assert result.findings == ["jinja2 3.1.6: PYSEC-2026-1 (fixed in: 3.1.7)"]


@pytest.mark.parametrize("listed", ["PYSEC-2026-1", "GHSA-aaaa-bbbb-cccc"])
def test_an_allowlisted_vulnerability_passes_by_id_or_alias(listed) -> None:
    allow, errors = gate.load_allowlist(
        f'[[allow]]\nid = "{listed}"\nreason = "not reachable: no user templates"\n'
        "expires = 2026-12-31\n",
        TODAY,
    )

    result = gate.evaluate([report({"name": "jinja2", "version": "3.1.6", "vulns": [VULN]})], allow)

    assert errors == []
    assert result.exit_code == gate.EXIT_OK
    assert result.allowed
    assert not result.findings


def test_an_entry_for_another_package_does_not_cover_the_finding() -> None:
    allow, _ = gate.load_allowlist(
        '[[allow]]\nid = "PYSEC-2026-1"\npackage = "mako"\nreason = "r"\nexpires = 2027-01-01\n',
        TODAY,
    )

    result = gate.evaluate([report({"name": "jinja2", "version": "3.1.6", "vulns": [VULN]})], allow)

    assert result.exit_code == gate.EXIT_FAIL


def test_an_expired_entry_fails_even_when_nothing_needs_it() -> None:
    allow, errors = gate.load_allowlist(
        '[[allow]]\nid = "PYSEC-2026-1"\nreason = "waiting for 3.1.7"\nexpires = 2026-11-24\n',
        TODAY,
    )

    result = gate.evaluate([report({"name": "httpx", "version": "0.28.1", "vulns": []})], allow)
    result.allowlist_errors = errors

    assert allow == []
    assert errors == ["allowlist entry 1 (PYSEC-2026-1): expired on 2026-11-24"]
    assert result.exit_code == gate.EXIT_FAIL


def test_an_entry_expiring_today_still_holds() -> None:
    allow, errors = gate.load_allowlist(
        '[[allow]]\nid = "X-1"\nreason = "r"\nexpires = 2026-11-25\n', TODAY
    )

    assert [e.id for e in allow] == ["X-1"]
    assert errors == []


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ('reason = "r"\nexpires = 2027-01-01', "no id"),
        ('id = "X-1"\nexpires = 2027-01-01', "no reason"),
        ('id = "X-1"\nreason = "  "\nexpires = 2027-01-01', "no reason"),
        ('id = "X-1"\nreason = "r"', "no expires date"),
        ('id = "X-1"\nreason = "r"\nexpires = "2027-01-01"', "no expires date"),
    ],
)
def test_an_incomplete_entry_is_an_error(entry, error) -> None:
    allow, errors = gate.load_allowlist(f"[[allow]]\n{entry}\n", TODAY)

    assert allow == []
    assert len(errors) == 1
    assert error in errors[0]


def test_a_dependency_the_service_could_not_answer_for_is_never_clean() -> None:
    skipped = {"name": "bizdays", "skip_reason": "Dependency not found on PyPI and could not be"}

    result = gate.evaluate(
        [report(skipped, {"name": "httpx", "version": "0.28.1", "vulns": []})], []
    )

    assert result.exit_code == gate.EXIT_UNAUDITED
    assert result.unaudited == [f"bizdays: {skipped['skip_reason']}"]


def test_findings_outrank_unaudited() -> None:
    result = gate.evaluate(
        [report({"name": "a", "skip_reason": "x"}, {"name": "b", "version": "1", "vulns": [VULN]})],
        [],
    )

    assert result.exit_code == gate.EXIT_FAIL


def test_the_repository_allowlist_is_valid() -> None:
    text = (SCRIPT.parents[1] / "security" / "pip-audit-allowlist.toml").read_text()

    _, errors = gate.load_allowlist(text, date.today())

    assert errors == []


class FakePipAudit:
    """Stands in for the pip-audit process: writes the given report where -o points."""

    def __init__(self, body: str | None, stderr: str = "") -> None:
        self.body, self.stderr = body, stderr
        self.commands: list[list[str]] = []

    def __call__(self, command):
        self.commands.append(list(command))
        if self.body is not None:
            Path(command[command.index("-o") + 1]).write_text(self.body)
        return subprocess.CompletedProcess(command, 1, "", self.stderr)


def test_main_audits_each_lock_with_hashes_and_reports(tmp_path, capsys) -> None:
    body = json.dumps(report({"name": "jinja2", "version": "3.1.6", "vulns": [VULN]}))
    fake = FakePipAudit(body)
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text("allow = []\n")
    locks = [tmp_path / "dev.txt", tmp_path / "lambda-core.txt"]

    code = gate.main(
        [*map(str, locks), "--allowlist", str(allowlist), "--today", "2026-11-25"], runner=fake
    )

    assert code == gate.EXIT_FAIL
    assert [c[c.index("-r") + 1] for c in fake.commands] == [str(p) for p in locks]
    assert all({"--require-hashes", "--disable-pip"} <= set(c) for c in fake.commands)
    assert "VULNERABLE jinja2 3.1.6: PYSEC-2026-1" in capsys.readouterr().out


def test_main_fails_loudly_when_pip_audit_writes_no_report(tmp_path) -> None:
    fake = FakePipAudit(None, stderr="ConnectionError: vulnerability service unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        gate.main([str(tmp_path / "dev.txt"), "--allowlist", str(tmp_path / "none")], runner=fake)
