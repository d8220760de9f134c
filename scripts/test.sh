#!/usr/bin/env bash
# Runs every Trolley test: unit, property and integration tests, the integration ones
# against a real SQLite file AND a real PostgreSQL with Redis, and the scale-out tests
# (two `trolley serve` processes, one PostgreSQL, one Redis). Starts PostgreSQL and Redis when they
# are installed but not running; if PostgreSQL cannot be reached the suite fails (it never
# falls back to SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_HOST=127.0.0.1
PG_PORT=5432
export TROLLEY_TEST_PG_URL="${TROLLEY_TEST_PG_URL:-postgres://postgres@${PG_HOST}:${PG_PORT}/postgres}"

log() { printf '==> %s\n' "$*" >&2; }

# Plugins (order types) are built for this target.
if command -v rustup >/dev/null 2>&1; then
  rustup target add wasm32-wasip2 >/dev/null 2>&1 || log "warning: could not add the wasm32-wasip2 target"
fi

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
fi
pg_up || log "PostgreSQL is not reachable at $PG_HOST:$PG_PORT: the PostgreSQL tests will fail"

# The scale-out tests start Redis servers of their own (to stop one mid-test); the
# PostgreSQL runs use the one on 6379.
if ! command -v redis-server >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  log "installing redis-server"
  (apt-get install -y -qq redis-server >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq redis-server >/dev/null 2>&1; }) ||
    log "warning: could not install redis-server: the Redis tests will fail"
fi
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /tmp/trolley-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp/trolley-redis --logfile /tmp/trolley-redis/redis.log || true
  fi
fi

# Installs Debian packages (refreshing the index once if needed).
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}
# The events tests (platform/events/tests, platform/server/tests/events.rs) publish to NATS
# JetStream on 127.0.0.1:4222 (TROLLEY_TEST_NATS_URL overrides); they fail when it is away.
nats_up() { (exec 3<>"/dev/tcp/127.0.0.1/4222") 2>/dev/null; }
if [ -z "${TROLLEY_TEST_NATS_URL:-}" ] && ! nats_up; then
  if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
    log "installing nats-server"
    apt_install nats-server || log "warning: could not install nats-server: the JetStream tests will fail"
  fi
  nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  if [ -x "$nats_bin" ]; then
    log "starting NATS with JetStream"
    mkdir -p /tmp/trolley-nats
    "$nats_bin" -a 127.0.0.1 -p 4222 -js -sd /tmp/trolley-nats -l /tmp/trolley-nats/nats.log &
    for _ in $(seq 1 30); do nats_up && break; sleep 0.2; done
  fi
fi
nats_up || [ -n "${TROLLEY_TEST_NATS_URL:-}" ] || log "NATS is not reachable at 127.0.0.1:4222: the JetStream tests will fail"

# The storefront kit's tests (platform/server/tests/storefront_kit.rs) run the TypeScript
# client's own tests with Node.js and drive headless Chromium; the OpenAPI document they are
# generated from must be valid OpenAPI 3.1.
if ! command -v npm >/dev/null 2>&1; then
  log "installing Node.js"
  apt_install nodejs npm || log "warning: could not install Node.js: the storefront client tests will fail"
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  log "installing chromium"
  apt_install chromium || log "warning: could not install chromium: the browser test will fail"
fi
if command -v npm >/dev/null 2>&1; then
  log "npm ci (clients/typescript)"
  npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error
  # The console's browser tests (platform/server/tests/console.rs) drive Chromium with
  # playwright-core, pointed at the Chromium above (no browser download).
  log "npm ci (platform/console/e2e)"
  npm ci --prefix platform/console/e2e --no-audit --no-fund --loglevel=error
fi
log "validating openapi/openapi.json (OpenAPI 3.1)"
scripts/validate-openapi.sh

# Every test makes databases of its own, named after this run (TROLLEY_TEST_RUN), and this
# run drops only those when it ends: another run sharing the PostgreSQL server keeps its own.
export TROLLEY_TEST_RUN="r$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')_"
drop_run_databases() {
  if pg_up && command -v psql >/dev/null 2>&1; then
    psql "$TROLLEY_TEST_PG_URL" -Atqc \
      "select datname from pg_database where datname like 'trolley_test_${TROLLEY_TEST_RUN}%' or datname like 'test_store_${TROLLEY_TEST_RUN}%'" 2>/dev/null |
      while read -r db; do
        psql "$TROLLEY_TEST_PG_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
      done
  fi
}
trap drop_run_databases EXIT

log "cargo test --workspace"
cargo test --workspace "$@"

# Schema-driven fuzzing of the served API (schemathesis from PyPI, bounded in time).
if [ "$#" -eq 0 ]; then
  scripts/fuzz.sh
fi
