#!/usr/bin/env bash
# Webhook hot-path benchmark, side by side with the Node stack Probot uses, in one run:
#   * Rust: criterion medians of verify + parse + validate + job build (functions/webhook/benches);
#   * Node: @octokit/webhooks verify + JSON.parse on the same payloads (bench/node).
# Prints both medians and the ratio. Needs node and npm.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fixtures=functions/webhook/tests/fixtures

if [ ! -d bench/node/node_modules/@octokit/webhooks ]; then
  (cd bench/node && npm install --no-audit --no-fund --silent)
fi

cargo bench -p webhook --bench webhook -- --noplot >/tmp/schemabot-bench.log 2>&1 || { cat /tmp/schemabot-bench.log; exit 1; }
criterion="${CARGO_TARGET_DIR:-target}/criterion"
median() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['median']['point_estimate']/1000, 2))" "$criterion/$1/new/estimates.json"; }
hmac=$(median hmac_sha256_11k)
rust_comment=$(median admit_issue_comment_11k)
rust_pull=$(median admit_pull_request_23k)

node_out=$(node bench/node/bench.mjs "$fixtures/issue_comment_cutover.json" "$fixtures/pull_request_synchronize.json")
node_comment=$(echo "$node_out" | python3 -c "import json,sys; print([json.loads(l) for l in sys.stdin][0]['median_us'])")
node_pull=$(echo "$node_out" | python3 -c "import json,sys; print([json.loads(l) for l in sys.stdin][1]['median_us'])")

python3 - "$hmac" "$rust_comment" "$rust_pull" "$node_comment" "$node_pull" <<'PY'
import sys
hmac, rc, rp, nc, np_ = map(float, sys.argv[1:])
print(f"| payload | Rust median (µs) | Node median (µs) | Node / Rust |")
print(f"|---|---|---|---|")
print(f"| issue_comment 11 KB | {rc:.2f} | {nc:.2f} | {nc/rc:.2f}× |")
print(f"| pull_request 23 KB | {rp:.2f} | {np_:.2f} | {np_/rp:.2f}× |")
print(f"HMAC-SHA256 alone over 11 KB: {hmac:.2f} µs (Rust admit = {rc/hmac:.2f}× the HMAC floor)")
PY
