#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine.
# Idempotent: each step is skipped when its result is already present.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

log() { printf '[install] %s\n' "$*" >&2; }

# MariaDB (target database for the sentinel checks). The package's own service start is
# refused in containers; scripts/services.sh starts a private instance instead.
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  log "installing mariadb-server from Debian"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # policy-rc.d stops the package from trying to start its own service.
  printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
  $sudo_cmd chmod +x /usr/sbin/policy-rc.d
  $sudo_cmd apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
  $sudo_cmd rm -f /usr/sbin/policy-rc.d
fi

# The openssl CLI makes the local MariaDB's test certificate (scripts/services.sh).
if ! command -v openssl >/dev/null 2>&1; then
  log "installing openssl from Debian"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi

# Python tools in a project-local virtualenv: the AWS emulator, the Lambda build/runtime tool
# and the IaC linters (pinned: cfn-lint 1.54+ silently passes broken SAM templates).
if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv"
fi
want_pkgs=("moto[server]==5.2.5" "cargo-lambda==1.9.2" "cfn-lint==1.53.3" "checkov==3.3.30")
stamp="$venv/.installed-$(printf '%s ' "${want_pkgs[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  log "installing ${want_pkgs[*]}"
  "$venv/bin/pip" install -q --disable-pip-version-check "${want_pkgs[@]}"
  touch "$stamp"
fi

# The SAM CLI in its own virtualenv (its dependencies conflict with moto's): `sam validate` runs
# in the test command; `sam build` works offline with cargo-lambda on PATH.
sam_venv="$root/.venv-sam"
if [ ! -x "$sam_venv/bin/sam" ]; then
  log "installing aws-sam-cli into $sam_venv"
  python3 -m venv "$sam_venv"
  "$sam_venv/bin/pip" install -q --disable-pip-version-check "aws-sam-cli==1.170.0"
fi

# Rust components used by the test command.
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
fi
log "done"
