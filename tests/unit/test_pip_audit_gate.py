"""The pip-audit gate: findings fail, allowlisted ones pass until they expire, unaudited is loud."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
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
    # Locks are audited concurrently, so the runner sees them in any order.
    assert sorted(c[c.index("-r") + 1] for c in fake.commands) == sorted(map(str, locks))
    assert all({"--require-hashes", "--disable-pip"} <= set(c) for c in fake.commands)
    assert "VULNERABLE jinja2 3.1.6: PYSEC-2026-1" in capsys.readouterr().out


def test_main_fails_loudly_when_pip_audit_writes_no_report(tmp_path) -> None:
    fake = FakePipAudit(None, stderr="ConnectionError: vulnerability service unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        gate.main([str(tmp_path / "dev.txt"), "--allowlist", str(tmp_path / "none")], runner=fake)


# --- the registry's latest-release record, for what pip-audit skipped -----------------------

SKIPPED_JINJA = {
    "name": "Jinja2",
    "skip_reason": "Dependency not found on PyPI and could not be audited: jinja2 (3.1.6)",
}
REGISTRY_VULN = {
    "id": "GHSA-aaaa-bbbb-cccc",
    "aliases": ["CVE-2026-0001"],
    "fixed_in": ["3.1.7"],
    "withdrawn": None,
}


def project_json(version: str, *vulns: dict) -> dict:
    """The shape of https://pypi.org/pypi/<name>/json, cut to what the gate reads."""
    return {"info": {"name": "Jinja2", "version": version}, "vulnerabilities": list(vulns)}


def test_read_pins_takes_each_pinned_line_of_a_hashed_lock() -> None:
    lock = (
        "# autogenerated\n"
        "Jinja2==3.1.6 \\\n    --hash=sha256:abc\n    # via fastapi\n"
        "python_dateutil==2.9.0.post0 ; python_version >= '3.8' \\\n    --hash=sha256:def\n"
        "-e ./local\n"
    )

    assert gate.read_pins(lock) == {"jinja2": "3.1.6", "python-dateutil": "2.9.0.post0"}


def test_a_skipped_pin_at_the_latest_release_is_audited_from_its_record() -> None:
    latest = {"jinja2": gate.latest_from_project_json(project_json("3.1.6"))}

    result = gate.evaluate([report(SKIPPED_JINJA)], [], [{"jinja2": "3.1.6"}], latest)

    assert result.exit_code == gate.EXIT_OK
    assert (result.audited, result.audited_by_latest, result.unaudited) == (1, 1, [])


def test_a_vulnerability_in_the_latest_record_fails_and_can_be_allowlisted() -> None:
    latest = {"jinja2": gate.latest_from_project_json(project_json("3.1.6", REGISTRY_VULN))}
    allow, _ = gate.load_allowlist(
        '[[allow]]\nid = "CVE-2026-0001"\nreason = "r"\nexpires = 2027-01-01\n', TODAY
    )

    failed = gate.evaluate([report(SKIPPED_JINJA)], [], [{"jinja2": "3.1.6"}], latest)
    allowed = gate.evaluate([report(SKIPPED_JINJA)], allow, [{"jinja2": "3.1.6"}], latest)

    assert failed.exit_code == gate.EXIT_FAIL
    assert failed.findings == ["Jinja2 3.1.6: GHSA-aaaa-bbbb-cccc (fixed in: 3.1.7)"]
    assert allowed.exit_code == gate.EXIT_OK
    assert allowed.allowed == failed.findings


def test_a_withdrawn_advisory_is_not_a_finding() -> None:
    withdrawn = dict(REGISTRY_VULN, withdrawn="2026-10-01T00:00:00Z")

    record = gate.latest_from_project_json(project_json("3.1.6", withdrawn))

    assert record.vulns == ()


def test_a_pin_behind_the_latest_release_stays_unaudited() -> None:
    # The record lists no vulnerability for 3.1.7; that says nothing about 3.1.6.
    latest = {"jinja2": gate.latest_from_project_json(project_json("3.1.7"))}

    result = gate.evaluate([report(SKIPPED_JINJA)], [], [{"jinja2": "3.1.6"}], latest)

    assert result.exit_code == gate.EXIT_UNAUDITED
    assert result.audited == 0
    assert result.unaudited[0].startswith("Jinja2 3.1.6: the registry lists vulnerabilities")
    assert "(3.1.7) only" in result.unaudited[0]


def test_pins_are_read_per_lock() -> None:
    # Two locks pin different releases; only the one at the latest release is audited.
    latest = {"jinja2": gate.latest_from_project_json(project_json("3.1.6"))}

    result = gate.evaluate(
        [report(SKIPPED_JINJA), report(SKIPPED_JINJA)],
        [],
        [{"jinja2": "3.1.6"}, {"jinja2": "3.1.5"}],
        latest,
    )

    assert (result.audited, len(result.unaudited)) == (1, 1)
    assert result.unaudited[0].startswith("Jinja2 3.1.5")


def test_fetch_latest_reads_the_project_record_over_http(httpserver) -> None:
    httpserver.expect_request("/pypi/jinja2/json").respond_with_json(
        project_json("3.1.6", REGISTRY_VULN)
    )
    httpserver.expect_request("/pypi/nosuch/json").respond_with_data("", status=404)

    with httpx.Client(timeout=5) as client:
        found = gate.fetch_latest(client, "jinja2", httpserver.url_for("/pypi"))
        missing = gate.fetch_latest(client, "nosuch", httpserver.url_for("/pypi"))

    assert found == gate.LatestRelease(
        "3.1.6",
        ({"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2026-0001"], "fix_versions": ["3.1.7"]},),
    )
    assert missing is None


def test_fetch_latest_retries_a_server_error_then_gives_up(httpserver) -> None:
    httpserver.expect_ordered_request("/pypi/jinja2/json").respond_with_data("", status=503)
    httpserver.expect_ordered_request("/pypi/jinja2/json").respond_with_json(project_json("3.1.6"))
    httpserver.expect_request("/pypi/down/json").respond_with_data("", status=503)

    with httpx.Client(timeout=5) as client:
        found = gate.fetch_latest(client, "jinja2", httpserver.url_for("/pypi"), wait_initial=0.01)
        with pytest.raises(gate.RegistryUnavailable):
            gate.fetch_latest(client, "down", httpserver.url_for("/pypi"), wait_initial=0.01)
        # fetch_all_latest leaves a failed lookup out instead of stopping the gate
        many = gate.fetch_all_latest(["down"], client, httpserver.url_for("/pypi"))

    assert found is not None
    assert found.version == "3.1.6"
    assert many == {}


def test_main_audits_skipped_pins_from_the_registry(tmp_path, httpserver, capsys) -> None:
    httpserver.expect_request("/pypi/jinja2/json").respond_with_json(project_json("3.1.6"))
    lock = tmp_path / "dev.txt"
    lock.write_text("jinja2==3.1.6 \\\n    --hash=sha256:abc\n")
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text("allow = []\n")
    fake = FakePipAudit(json.dumps(report(SKIPPED_JINJA)))

    code = gate.main(
        [str(lock), "--allowlist", str(allowlist), "--registry", httpserver.url_for("/pypi")],
        runner=fake,
    )

    assert code == gate.EXIT_OK
    assert "clean (1 audited, 1 of them from the latest-release record" in capsys.readouterr().out
