#!/usr/bin/env bash
# Cold start and peak memory of the release webhook binary, run as Lambda runs it: a local Lambda
# Runtime API (tests/src/lambda_api.rs) serves one event to a freshly spawned process; the tool
# (tests/src/bin/coldstart.rs) times process spawn -> first response received and reads VmHWM.
# Scenarios: a signed `ping` (no I/O) and a signed cutover issue_comment (DynamoDB + SQS on a fresh,
# private moto).
# Then a Node baseline for context: process start -> Probot loaded, with peak RSS (wait4 ru_maxrss).
#
# Usage: scripts/bench-coldstart.sh            (RUNS=20 by default; JSON lands in target/coldstart/)
# Needs moto in .venv (scripts/install.sh) and node + npm. It does not use the shared local
# services: the tool starts a moto of its own and stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${RUNS:-20}"

# What the tool and the function need for moto: a region and test credentials, nothing else.
unset AWS_ENDPOINT_URL AWS_PROFILE AWS_SESSION_TOKEN
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true

target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
out="$target_dir/coldstart"
mkdir -p "$out"

echo "== build: release webhook (LTO, codegen-units=1, strip) and the measuring tool" >&2
cargo build --release -p webhook --bin webhook
# The tool only spawns and times the function; a debug build of it is enough.
cargo build -p schemabot-tests --bin coldstart

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== webhook (release) cold start through the Runtime API, $runs runs per scenario"
# A fresh moto of its own (stopped by the tool): the shared one slows as test suites fill it.
"$target_dir/debug/coldstart" --binary "$target_dir/release/webhook" --runs "$runs" --json "$out/webhook.json" --private-moto

echo "== Node baseline (node $(node --version)): process start -> exit, $runs runs each"
if [ ! -d bench/node/node_modules/probot ]; then
  (cd bench/node && npm install --no-audit --no-fund --silent)
fi
(cd bench/node && python3 - "$runs" "$out/node.json" <<'PY'
import json, os, statistics, subprocess, sys, time

runs, out = int(sys.argv[1]), sys.argv[2]
cases = [
    ("node -e 0 (bare runtime)", ["node", "-e", "0"]),
    ("node -e \"require('probot')\"", ["node", "-e", "require('probot')"]),
    ("node --input-type=module -e \"await import('probot')\"",
     ["node", "--input-type=module", "-e", "await import('probot')"]),
]

def one(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = (time.perf_counter() - t0) * 1e3
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        sys.exit(f"{argv} failed ({p.returncode}): {err}")
    return elapsed, usage.ru_maxrss / 1024.0  # ru_maxrss is KiB on Linux

def summary(values):
    v = sorted(values)
    p90 = v[max(1, -(-len(v) * 9 // 10)) - 1]
    return {"median": round(statistics.median(v), 3), "p90": round(p90, 3),
            "min": round(v[0], 3), "max": round(v[-1], 3)}

report = {"node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
          "measure": "spawn -> exit (wall clock); peak RSS = ru_maxrss from wait4", "runs": runs,
          "loadavg_at_start": open("/proc/loadavg").read().strip(), "cases": {}}
print("| command | start→exit median (ms) | p90 (ms) | peak RSS median (MiB) | p90 (MiB) |")
print("|---|---|---|---|---|")
for name, argv in cases:
    one(argv)  # warm-up: page cache
    samples = [one(argv) for _ in range(runs)]
    t = summary([s[0] for s in samples])
    m = summary([s[1] for s in samples])
    report["cases"][name] = {"start_to_exit_ms": t, "peak_rss_mib": m}
    print(f"| `{name}` | {t['median']:.1f} | {t['p90']:.1f} | {m['median']:.1f} | {m['p90']:.1f} |")
with open(out, "w") as f:
    json.dump(report, f, indent=2)
print(f"wrote {out}")
PY
)
