#!/usr/bin/env bash
# The README's demo command: installs what is missing, starts the local services (moto and
# MariaDB on 127.0.0.1), plays a whole PR conversation through the real webhook and worker code
# with the Tern and GitHub stand-ins, prints the comments as a reader sees them (also written to
# .local/demo/pr-conversation.md), then stops everything it started.
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

RUST_LOG="${RUST_LOG:-warn}" cargo run --quiet -p schemabot-tests --bin demo
