#!/usr/bin/env bash
# The fast inner loop: unit, property and snapshot tests that need no local services (no moto,
# no MariaDB, no stand-ins). Seconds once built. The full suite is scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Make sure nothing reaches for a service by accident.
unset AWS_ENDPOINT_URL SCHEMABOT_TEST_MYSQL_DSN SCHEMABOT_TEST_MYSQL_CA
export INSTA_UPDATE="${INSTA_UPDATE:-no}"
export PROPTEST_CASES="${PROPTEST_CASES:-500}"
python3 scripts/module-cycles.py
# Every crate's own unit tests, then the pure integration-test targets.
cargo test --workspace --lib --bins "$@"
cargo test -p schemabot-domain -p schemabot-render --tests "$@"
cargo test -p webhook --test intake_properties "$@"
