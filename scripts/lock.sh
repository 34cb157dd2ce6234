#!/usr/bin/env bash
# Regenerate the hashed lock files (needs uv and PyPI):
#   requirements/dev.txt            every dev dependency from pyproject.toml, Python 3.11;
#   requirements/lambda-core.txt    the core dependencies, for a function without its own list;
#   requirements/lambda-<name>.txt  lambdas/<name>/requirements.txt, resolved and hashed.
# The Lambda locks target the template's Runtime and Architectures.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-$(command -v .venv/bin/uv || command -v uv)}
runtime=$(sed -n 's/^ *Runtime: *python\([0-9.]*\) *$/\1/p' infra/template.yaml 2>/dev/null | head -1)
arch=$(sed -n 's/^ *Architectures: *\[\{0,1\} *\(arm64\|x86_64\).*/\1/p' infra/template.yaml 2>/dev/null | head -1)
[ "${arch:-x86_64}" = arm64 ] && machine=aarch64 || machine=x86_64
common=(--generate-hashes --no-emit-package fuelpipe --quiet)
lambda=(--python-version "${runtime:-3.11}" --python-platform "$machine-manylinux_2_28"
        --excludes requirements/lambda-excludes.in)

"$UV" pip compile pyproject.toml --extra dev --python-version 3.11 "${common[@]}" \
  -c requirements/dev-constraints.in -o requirements/dev.txt
"$UV" pip compile pyproject.toml "${common[@]}" "${lambda[@]}" -o requirements/lambda-core.txt
for wanted in lambdas/*/requirements.txt; do
  [ -e "$wanted" ] || continue
  name=$(basename "$(dirname "$wanted")")
  "$UV" pip compile "$wanted" "${common[@]}" "${lambda[@]}" -o "requirements/lambda-$name.txt"
done
echo "locked for python${runtime:-3.11} on $machine: $(ls requirements/*.txt | tr '\n' ' ')"
