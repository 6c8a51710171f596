#!/usr/bin/env bash
# Starts and stops the local services the tests and the demo use, on 127.0.0.1 only:
#   * moto server (DynamoDB + SQS emulator) from the project virtualenv;
#   * a private MariaDB instance (the target database for Spirit's sentinel table), serving TLS
#     with a test certificate (.local/tls, made once with the openssl CLI) next to plain connections.
# Usage: scripts/services.sh start|stop|status|running|env
# `start` writes .local/services.env (source it) and records every PID it started in .local/pids/.
# `stop` stops exactly those PIDs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.local"
pids="$state/pids"
envfile="$state/services.env"
tls="$state/tls"
mkdir -p "$pids"

log() { printf '[services] %s\n' "$*" >&2; }

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

alive() { [ -f "$pids/$1" ] && kill -0 "$(cat "$pids/$1")" 2>/dev/null; }

wait_for_port() {
  local port=$1 what=$2
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  log "$what did not open port $port"
  return 1
}

start_moto() {
  if alive moto; then return 0; fi
  local port; port=$(free_port)
  # DynamoDB writes one at a time, so conditional writes are atomic as in DynamoDB.
  "$root/.venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 &
  echo $! >"$pids/moto"
  echo "$port" >"$state/moto.port"
  wait_for_port "$port" "moto"
  log "moto on 127.0.0.1:$port (pid $(cat "$pids/moto"))"
}

# A test CA and a server certificate for localhost and 127.0.0.1 (EC P-256). Kept while valid for
# another day and signed by the CA beside it; otherwise made anew.
ensure_tls() {
  local dir="$tls"
  if [ -f "$dir/ca.pem" ] && [ -f "$dir/server.pem" ] && [ -f "$dir/server.key" ] \
    && openssl x509 -checkend 86400 -noout -in "$dir/ca.pem" >/dev/null 2>&1 \
    && openssl x509 -checkend 86400 -noout -in "$dir/server.pem" >/dev/null 2>&1 \
    && openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null 2>&1; then
    return 0
  fi
  command -v openssl >/dev/null 2>&1 || { log "openssl is missing (scripts/install.sh installs it)"; return 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = SchemaBot local test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
  cat >"$dir/server.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
  (
    umask 077
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 -config "$dir/ca.cnf"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=localhost"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$dir/server.ext" -out "$dir/server.pem"
  ) >"$state/tls.log" 2>&1 || { log "making the test certificates failed: see $state/tls.log"; return 1; }
  chmod 644 "$dir/ca.pem" "$dir/server.pem"
  log "test CA and MariaDB server certificate in $dir"
}

# Which certificate the running MariaDB was started with.
tls_stamp() { sha256sum "$tls/server.pem" | cut -c1-16; }

start_mariadb() {
  ensure_tls
  local datadir="$state/mariadb" port
  if alive mariadb; then
    if [ "$(cat "$state/mariadb.tls" 2>/dev/null)" = "$(tls_stamp)" ]; then return 0; fi
    # Started without this certificate (an older script, or the certificate was renewed):
    # restarted on the same port, so .local/services.env stays valid.
    log "restarting mariadb to load the TLS certificate"
    port=$(cat "$state/mariadb.port")
    stop_one mariadb
  else
    port=$(free_port)
  fi
  local mariadbd; mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  if [ ! -d "$datadir/mysql" ]; then
    mkdir -p "$datadir"
    mariadb-install-db --user="$(id -un)" --datadir="$datadir" --auth-root-authentication-method=normal \
      --skip-test-db >"$state/mariadb-install.log" 2>&1
  fi
  "$mariadbd" --no-defaults --user="$(id -un)" --datadir="$datadir" --bind-address=127.0.0.1 --port="$port" \
    --socket="$state/mariadb.sock" --pid-file="$state/mariadb.pid" --skip-name-resolve \
    --log-error="$state/mariadb.err" \
    --ssl-ca="$tls/ca.pem" --ssl-cert="$tls/server.pem" --ssl-key="$tls/server.key" >/dev/null 2>&1 &
  echo $! >"$pids/mariadb"
  tls_stamp >"$state/mariadb.tls"
  echo "$port" >"$state/mariadb.port"
  wait_for_port "$port" "mariadb"
  # The root account authenticates by password over TCP on loopback only.
  for _ in $(seq 1 100); do
    if mariadb --socket="$state/mariadb.sock" -uroot -e "SELECT 1" >/dev/null 2>&1; then break; fi
    sleep 0.05
  done
  local sql="ALTER USER 'root'@'localhost' IDENTIFIED BY 'schemabot'; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY 'schemabot'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  mariadb --socket="$state/mariadb.sock" -uroot -pschemabot -e "SELECT 1" >/dev/null 2>&1 \
    || mariadb --socket="$state/mariadb.sock" -uroot -e "$sql"
  log "mariadb on 127.0.0.1:$port (pid $(cat "$pids/mariadb"))"
}

write_env() {
  cat >"$envfile" <<ENV
export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$state/moto.port")
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
export SCHEMABOT_TEST_MYSQL_DSN=mysql://root:schemabot@127.0.0.1:$(cat "$state/mariadb.port")
export SCHEMABOT_TEST_MYSQL_CA=$tls/ca.pem
ENV
}

stop_one() {
  local name=$1
  if [ -f "$pids/$name" ]; then
    local pid; pid=$(cat "$pids/$name")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
      log "stopped $name (pid $pid)"
    fi
    rm -f "$pids/$name"
  fi
}

case "${1:-}" in
  start) start_moto; start_mariadb; write_env; cat "$envfile" ;;
  stop) stop_one moto; stop_one mariadb ;;
  # Exit status only: 0 when both services this script manages are running.
  running) alive moto && alive mariadb ;;
  status) for s in moto mariadb; do if alive $s; then echo "$s: running (pid $(cat "$pids/$s"))"; else echo "$s: stopped"; fi; done ;;
  env) cat "$envfile" ;;
  *) echo "usage: $0 start|stop|status|running|env" >&2; exit 2 ;;
esac
