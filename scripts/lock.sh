#!/usr/bin/env bash
# Regenerate the hashed lock files from pyproject.toml (needs uv and PyPI).
# dev.txt: what `make setup` and CI install (Python 3.11, like the project).
# lambda-*.txt: what goes into the Lambda zips, for the template's Runtime and Architectures.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-$(command -v .venv/bin/uv || command -v uv)}
runtime=$(sed -n 's/^ *Runtime: *python\([0-9.]*\) *$/\1/p' infra/template.yaml 2>/dev/null | head -1)
arch=$(sed -n 's/^ *Architectures: *\[\{0,1\} *\(arm64\|x86_64\).*/\1/p' infra/template.yaml 2>/dev/null | head -1)
[ "${arch:-x86_64}" = arm64 ] && machine=aarch64 || machine=x86_64
common=(--generate-hashes --no-emit-package fuelpipe --quiet)
lambda=(--python-version "${runtime:-3.11}" --python-platform "$machine-manylinux_2_28"
        --excludes requirements/lambda-excludes.in)

"$UV" pip compile pyproject.toml --extra dev --python-version 3.11 "${common[@]}" -o requirements/dev.txt
"$UV" pip compile pyproject.toml "${common[@]}" "${lambda[@]}" -o requirements/lambda-core.txt
"$UV" pip compile pyproject.toml --extra dashboard "${common[@]}" "${lambda[@]}" \
  -o requirements/lambda-dashboard_api.txt
echo "locked for the Lambdas: python${runtime:-3.11} $machine; $(ls requirements/*.txt | tr '\n' ' ')"
