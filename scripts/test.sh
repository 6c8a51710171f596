#!/usr/bin/env bash
# The project's test command (README): installs what is missing, starts the local services,
# runs formatting, lints, every test against the real services, and the IaC checks; then stops
# the services it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install.sh

started_here=0
# (No `status | grep -q` here: with pipefail, grep closing the pipe early can read as "not running".)
if ! scripts/services.sh running; then
  scripts/services.sh start >/dev/null
  started_here=1
fi
cleanup() { if [ "$started_here" = 1 ]; then scripts/services.sh stop; fi; }
trap cleanup EXIT
# shellcheck disable=SC1091
source .local/services.env

export INSTA_UPDATE=no
export CARGO_TERM_COLOR=never
# A one-off build (CI) gains nothing from incremental artefacts and they double the target size.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
# Bounded property/fuzz runs: thousands of cases, seconds of time.
export PROPTEST_CASES="${PROPTEST_CASES:-2000}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== import cycles"
python3 scripts/module-cycles.py
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace --no-fail-fast

if [ -f infra/template.yaml ]; then
  echo "== cfn-lint"
  .venv/bin/cfn-lint infra/template.yaml
  echo "== checkov"
  .venv/bin/checkov --quiet --compact --skip-download --config-file .checkov.yaml -f infra/template.yaml
  if [ -x .venv-sam/bin/sam ]; then
    echo "== sam validate (plain and --lint)"
    export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
    .venv-sam/bin/sam validate -t infra/template.yaml
    .venv-sam/bin/sam validate --lint -t infra/template.yaml
  fi
fi
echo "== all checks passed"
