#!/usr/bin/env bash
# Release deploy zips of the Lambda functions, built with cargo-lambda from the project venv
# (release profile: LTO, codegen-units=1, strip, panic=unwind), and their sizes against the
# targets (webhook <= 3 MB, worker <= 5 MB; MB = 1,000,000 bytes).
# arm64 (what infra/ deploys) when the aarch64-unknown-linux-gnu target is installed, otherwise
# the host's x86_64.
#
# Usage: scripts/lambda-zips.sh [webhook] [worker]      (default: both)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
command -v cargo-lambda >/dev/null || { echo "cargo-lambda is not in .venv (run scripts/install.sh)" >&2; exit 1; }

arch=(--x86-64)
arch_name=x86_64
if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  arch=(--arm64)
  arch_name=arm64
fi

target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(webhook worker)

status=0
rows=()
for bin in "${bins[@]}"; do
  case "$bin" in
    webhook) limit=3000000 ;;
    worker) limit=5000000 ;;
    *) echo "unknown function $bin" >&2; exit 2 ;;
  esac
  echo "== cargo lambda build --release --output-format zip ${arch[*]} --bin $bin" >&2
  cargo lambda build --release --output-format zip "${arch[@]}" --bin "$bin" >&2
  zip="$target_dir/lambda/$bin/bootstrap.zip"
  zip_bytes=$(stat -c %s "$zip")
  raw_bytes=$(python3 -c 'import sys,zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$zip")
  verdict="within target"
  if [ "$zip_bytes" -gt "$limit" ]; then verdict="OVER target"; status=1; fi
  rows+=("$(python3 -c 'import sys; b, a, z, r, l, v = sys.argv[1:]; print(f"| {b} | {a} | {int(z):,} | {int(z)/1e6:.2f} MB | {int(r)/1e6:.2f} MB | {int(l)/1e6:g} MB | {v} |")' \
    "$bin" "$arch_name" "$zip_bytes" "$raw_bytes" "$limit" "$verdict")")
done
echo "| function | arch | zip bytes | zip | unzipped bootstrap | target | verdict |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$status"
