#!/usr/bin/env bash
# Trolley's load benchmark, in one command (BENCHMARKS.md has the figures and how to read
# them).
#
#   scripts/bench.sh            HTTP scenarios with wrk, on PostgreSQL (+ Redis) then SQLite
#   scripts/bench.sh --micro    criterion microbenchmarks (cart assembly, plugin round)
#   scripts/bench.sh --ceilings the backing services' own ceilings: pgbench (one-row INSERT
#                               per transaction, and select-only) on a scratch database,
#                               redis-benchmark (GET, SET, a bucket-sized EVAL)
#
# What the HTTP run does: builds release (`trolley`, `trolley-bench`), installs wrk if it is
# missing, and for each backend starts a release `trolley serve` on a fresh database,
# seeds it over HTTP (`trolley-bench seed`: one tenant with the grocery/food/medicine
# plugins active, 10,000 stock-tracked skus, 10,000 carts of 1-20 lines, extra carts for
# checkout), runs ANALYZE on the fresh tables, drives each scenario with wrk +
# bench/lua/*.lua over loopback after a short warm-up, and prints one table (req/s,
# p50/p99/p99.9, errors, ratio to GET /health, and from the server's /metrics the cache hit
# ratio and mean plugin call time). The database is dropped and the server stopped at the
# end. The tenant's and the operator's rate limits are raised so the limiter runs on every
# request but never refuses the load.
#
# Settings (environment):
#   BENCH_DURATION=20        seconds per scenario (BENCH_DURATION=3 for a quick check)
#   BENCH_WARMUP=3           seconds of discarded load before each scenario (not checkout)
#   BENCH_THREADS=2 BENCH_CONNECTIONS=64 BENCH_TIMEOUT=10s   wrk -t / -c / --timeout
#   BENCH_BACKENDS="postgres sqlite"
#   BENCH_SCENARIOS="1 2 3 4 5 6"
#   BENCH_SKUS=10000 BENCH_CARTS=10000 BENCH_MAX_LINES=20   data set (seeding is bound by the
#                            server's add-line rate: ~105,000 adds for the default set)
#   BENCH_CHECKOUT_CARTS     carts kept for scenario 5 (default: enough for the duration)
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432   server; a fresh database is made on it
#   BENCH_PG_PARAMS=sslmode=disable   query string of the server's DATABASE_URL: loopback
#                            needs no TLS, which cost ~11% of a read's CPU (BENCHMARKS.md);
#                            set it empty to measure with the driver's default (prefer TLS)
#   BENCH_REDIS_URL=redis://127.0.0.1:6379            passed as REDIS_URL (PostgreSQL run)
#   BENCH_WORKERS            TROLLEY_WORKERS of the server (default: one per core)
#   BENCH_RUST_LOG           RUST_LOG of the server (default: the server's own, info)
#   BENCH_PERF=1             record a `perf` CPU profile of the server per scenario
#   BENCH_CPU=1              print per scenario where the CPU went, by process (server,
#                            postgres, redis-server, wrk …: scripts/cpu-split.py), also kept
#                            in cpu-N.txt
#   BENCH_DEBUG=1            the Lua scripts log the first non-2xx answer of a scenario
#   BENCH_OUT                where logs, seed data and profiles go (default: a temp dir)
#   BENCH_NO_BUILD=1         use the release binaries already built
#   BENCH_WEBHOOK=1          a webhook endpoint (scripts/webhook-receiver.py) gets every event of
#                            the tenant during the scenarios; each result line gains the delivery
#                            latency (event occurred_at → receiver) at p50/p90/p99
#   CARGO_TARGET_DIR         as for cargo (default: ./target)
#   BENCH_NODES=1            BENCH_NODES=2: two `trolley serve` processes (distinct ports, own
#                            --data-dir) on the same PostgreSQL database and the same Redis,
#                            PostgreSQL backend only (the default BENCH_BACKENDS becomes
#                            postgres). Seeding goes through node 1. Each scenario runs one wrk
#                            per node at the same time with half the threads and connections
#                            each (BENCH_THREADS and BENCH_CONNECTIONS stay the totals; the
#                            carts are sliced across both so no two writers share one); the
#                            table sums requests and req/s, takes the worse node's p50, p99 and
#                            p99.9, and the /metrics counters of both. Then three checks, printed
#                            under the table, and the exit status is 1 if one fails:
#                            - fresh reads under load: during every measured scenario a probe
#                              adds a line on one node and at once reads the cart on the other,
#                              which must answer the ETag the write answered (both directions);
#                            - versions agree: after the load, a sample of 100 seeded carts read
#                              on every node answers the version the database holds;
#                            - one shared tenant limit: a tenant of its own with a low limit
#                              (BENCH_LIMIT_RATE=10 /s, BENCH_LIMIT_BURST=50) is driven from both
#                              nodes for BENCH_LIMIT_SECONDS=3 s; the accepted requests must fit
#                              one bucket (burst + rate × (seconds + 1)), where a bucket per node
#                              would accept about twice that.
#                            2 nodes on one machine share its cores: the figures are context for
#                            the checks, not a throughput claim.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

# --- microbenchmarks -------------------------------------------------------------------
if [[ "${1:-}" == "--micro" ]]; then
  shift
  args=("$@")
  if [[ ${#args[@]} -eq 0 ]]; then
    args=(--warm-up-time 1 --measurement-time "${BENCH_MEASURE:-3}")
  fi
  log "cargo bench -p trolley-core --bench cart_assembly"
  cargo bench -p trolley-core --bench cart_assembly -- "${args[@]}"
  log "cargo bench -p trolley-plugin-host --bench plugin_round"
  cargo bench -p trolley-plugin-host --bench plugin_round -- "${args[@]}"
  exit 0
fi

# --- the backing services' ceilings ------------------------------------------------------
# BENCH_PG_URL, BENCH_REDIS_URL as below; BENCH_CEILING_CLIENTS=8 BENCH_CEILING_JOBS=2
# BENCH_CEILING_SECONDS=20 (pgbench -c / -j / -T); BENCH_CEILING_REQUESTS=200000
# (redis-benchmark -n). The scratch database is dropped at the end.
if [[ "${1:-}" == "--ceilings" ]]; then
  pg_url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
  clients=${BENCH_CEILING_CLIENTS:-8}
  jobs=${BENCH_CEILING_JOBS:-2}
  seconds=${BENCH_CEILING_SECONDS:-20}
  pgbench=$(command -v pgbench || true)
  if [[ -z "$pgbench" ]]; then
    for candidate in /usr/lib/postgresql/*/bin/pgbench; do [[ -x "$candidate" ]] && pgbench=$candidate; done
  fi
  [[ -n "$pgbench" ]] || die "pgbench not found (it ships with PostgreSQL)"
  db="trolley_ceiling_$(date +%s)_$$"
  work=$(mktemp -d "${TMPDIR:-/tmp}/trolley-ceiling.XXXXXX")
  trap 'psql "$pg_url/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1; rm -rf "$work"' EXIT
  psql "$pg_url/postgres" -qc "CREATE DATABASE \"$db\"" >/dev/null
  psql "$pg_url/$db" -qc "CREATE TABLE commit_probe (id bigserial PRIMARY KEY,
    tenant_id int NOT NULL, v int NOT NULL, at timestamptz NOT NULL DEFAULT now())" >/dev/null
  printf '%s\n' '\set t random(1, 100)' '\set v random(1, 1000000)' \
    'INSERT INTO commit_probe (tenant_id, v) VALUES (:t, :v);' >"$work/insert.sql"
  echo "PostgreSQL $(psql "$pg_url/postgres" -Atc 'SHOW server_version'), synchronous_commit=$(psql "$pg_url/postgres" -Atc 'SHOW synchronous_commit'), fsync=$(psql "$pg_url/postgres" -Atc 'SHOW fsync'); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## commit ceiling: $pgbench -n -f insert.sql -c $clients -j $jobs -T $seconds (one-row INSERT per transaction)"
  "$pgbench" -n -f "$work/insert.sql" -c "$clients" -j "$jobs" -T "$seconds" "$pg_url/$db" 2>&1 |
    grep -E '^(number of transactions actually processed|number of failed|latency average|tps)'
  echo "## select-only: $pgbench -i -s 10, then $pgbench -n -S -c $clients -j $jobs -T $seconds"
  "$pgbench" -i -q -s 10 "$pg_url/$db" >/dev/null 2>&1
  "$pgbench" -n -S -c "$clients" -j "$jobs" -T "$seconds" "$pg_url/$db" 2>&1 |
    grep -E '^(number of transactions actually processed|number of failed|latency average|tps)'
  if command -v redis-benchmark >/dev/null 2>&1; then
    redis=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
    hostport=${redis#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
    rhost=${hostport%%:*}; rport=${hostport##*:}; [[ "$rport" != "$hostport" ]] || rport=6379
    n=${BENCH_CEILING_REQUESTS:-200000}
    # A script about the size of the rate limiter's (read a bucket hash, write it back,
    # set its expiry), on one key of its own.
    bucket="local b = redis.call('HMGET', KEYS[1], 't', 'ts') redis.call('HSET', KEYS[1], 't', 1, 'ts', 2) redis.call('PEXPIRE', KEYS[1], 60000) return 1"
    echo "## redis-benchmark -h $rhost -p $rport -q -n $n -t get,set; then EVAL of a bucket-sized script (50 clients, no pipelining)"
    redis-benchmark -h "$rhost" -p "$rport" -q -n "$n" -t get,set 2>&1 | tr '\r' '\n' | grep -E '^(GET|SET):.*requests per second'
    redis-benchmark -h "$rhost" -p "$rport" -q -n "$n" EVAL "$bucket" 1 trolley-ceiling:bucket 2>&1 |
      tr '\r' '\n' | grep -E 'requests per second' | tail -n 1 |
      sed -E 's/.*: ([0-9.]+ requests per second)/EVAL (bucket script): \1/'
    redis-cli -h "$rhost" -p "$rport" DEL trolley-ceiling:bucket key:__rand_int__ key:000000000000 >/dev/null 2>&1 || true
  fi
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: scripts/bench.sh [--micro [criterion args…] | --ceilings]"

DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
TIMEOUT=${BENCH_TIMEOUT:-10s}
NODES=${BENCH_NODES:-1}
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "BENCH_NODES must be a positive number"
if ((NODES > 1)); then
  BACKENDS=${BENCH_BACKENDS:-postgres}
  [[ " $BACKENDS " != *" sqlite "* ]] ||
    die "BENCH_NODES=$NODES needs BENCH_BACKENDS=postgres: SQLite's cache and rate limits are in-process"
else
  BACKENDS=${BENCH_BACKENDS:-postgres sqlite}
fi
SCENARIOS=${BENCH_SCENARIOS:-1 2 3 4 5 6}
SKUS=${BENCH_SKUS:-10000}
CARTS=${BENCH_CARTS:-10000}
MAX_LINES=${BENCH_MAX_LINES:-20}
# With several nodes, each node's wrk gets its share of the threads and connections.
NODE_THREADS=$((THREADS / NODES > 0 ? THREADS / NODES : 1))
NODE_CONNECTIONS=$((CONNECTIONS / NODES > NODE_THREADS ? CONNECTIONS / NODES : NODE_THREADS))
LIMIT_RATE=${BENCH_LIMIT_RATE:-10}
LIMIT_BURST=${BENCH_LIMIT_BURST:-50}
LIMIT_SECONDS=${BENCH_LIMIT_SECONDS:-3}
# Scenario 5 uses one cart per checkout, and wrk starts checkouts on every connection before
# the completes come back, so it needs more carts than checkouts it completes: ~520 req/s
# ran out of 6,500 carts in 20 s. 700 per second leaves headroom.
CHECKOUT_CARTS=${BENCH_CHECKOUT_CARTS:-$((700 * DURATION + 1000))}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_PARAMS=${BENCH_PG_PARAMS-sslmode=disable}
REDIS_URL_FOR_BENCH=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
OUT=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/trolley-bench.XXXXXX")}
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: >"$RESULTS"
CHECKS="$OUT/checks.txt"
: >"$CHECKS"

declare -A TITLE=(
  [1]="cart read, cache hit, 5 lines"
  [2]="cart read, ${CARTS} carts"
  [3]="add line (plugin validate + fees)"
  [4]="read:write 100:1"
  [5]="checkout start + complete"
  [6]="GET /health"
)
declare -A SCRIPT=([1]=read_hot [2]=read_many [3]=add_line [4]=mix [5]=checkout [6]=health)

# --- prerequisites -----------------------------------------------------------------------
if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
  log "cargo build --release -p trolley -p trolley-bench"
  cargo build --release -p trolley -p trolley-bench
fi
TROLLEY="$TARGET_DIR/release/trolley"
SEEDER="$TARGET_DIR/release/trolley-bench"
[[ -x "$TROLLEY" && -x "$SEEDER" ]] || die "release binaries missing under $TARGET_DIR/release"

if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  command -v wrk >/dev/null 2>&1 || die "wrk is not installed and could not be installed"
fi

pg_host_port() { # host and port of $PG_URL
  local rest=${PG_URL#*://}
  rest=${rest#*@}
  rest=${rest%%/*}
  PG_HOST=${rest%%:*}
  PG_PORT=${rest##*:}
  [[ "$PG_PORT" != "$rest" ]] || PG_PORT=5432
}

start_backing_services() {
  pg_host_port
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
      local version
      version=$(ls /etc/postgresql | sort -V | tail -n 1)
      log "starting PostgreSQL $version"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      for _ in $(seq 1 30); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 1; done
    fi
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL is not reachable at $PG_HOST:$PG_PORT"
  fi
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    if ! redis-cli -u "$REDIS_URL_FOR_BENCH" ping >/dev/null 2>&1; then
      log "starting Redis"
      mkdir -p /tmp/trolley-redis
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp/trolley-redis --logfile /tmp/trolley-redis/redis.log || true
      sleep 1
    fi
  fi
}

# --- the server (one process per node) --------------------------------------------------
SERVER_PIDS=() # every node
PORTS=()       # every node's port; PORT is node 1's
PG_DB=""
PERF_PID=""
PROBE_PID=""

RECEIVER_PID=""

stop_server() {
  if [[ -n "$RECEIVER_PID" ]]; then kill "$RECEIVER_PID" 2>/dev/null || true; wait "$RECEIVER_PID" 2>/dev/null || true; RECEIVER_PID=""; fi
  if [[ -n "$PERF_PID" ]]; then kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""; fi
  if [[ -n "$PROBE_PID" ]]; then kill "$PROBE_PID" 2>/dev/null || true; wait "$PROBE_PID" 2>/dev/null || true; PROBE_PID=""; fi
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PIDS=()
  PORTS=()
  if [[ -n "$PG_DB" ]]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
      log "warning: could not drop database $PG_DB"
    PG_DB=""
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# Starts `trolley serve` for backend $1 in directory $2; sets PORT and TOKEN. With
# BENCH_NODES > 1 it then starts the other nodes, one after the other (node 1 has migrated
# the database by then), on the same database and Redis, node k in $2/node<k>; PORTS and
# SERVER_PIDS list every node.
start_server() {
  local backend=$1 dir=$2
  TOKEN="top_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  local env=(TROLLEY_OPERATOR_TOKEN="$TOKEN")
  case "$backend" in
    postgres)
      PG_DB="trolley_bench_$(date +%s)_$$"
      psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
      env+=(DATABASE_URL="$PG_URL/$PG_DB${PG_PARAMS:+?$PG_PARAMS}" REDIS_URL="$REDIS_URL_FOR_BENCH")
      ;;
    sqlite) ;; # the embedded default: SQLite under --data-dir, in-process cache
    *) die "unknown backend $backend" ;;
  esac
  # Raise the operator's rate-limit maxima so the load (one address, one hot cart) is
  # measured, not refused; the seeder raises the tenant's limits to match. The limiter
  # still runs on every request.
  env+=(TROLLEY_MAX_TENANT_RATE=10000000 TROLLEY_MAX_TENANT_BURST=10000000
    TROLLEY_MAX_SHOPPER_RATE=10000000 TROLLEY_MAX_SHOPPER_BURST=10000000)
  [[ -z "${BENCH_WORKERS:-}" ]] || env+=(TROLLEY_WORKERS="$BENCH_WORKERS")
  [[ -z "${BENCH_WEBHOOK:-}" ]] || env+=(TROLLEY_WEBHOOK_ALLOW_PRIVATE=1)
  [[ -z "${BENCH_RUST_LOG:-}" ]] || env+=(RUST_LOG="$BENCH_RUST_LOG")
  local k node_dir
  for ((k = 1; k <= NODES; k++)); do
    node_dir=$dir
    if ((k > 1)); then node_dir="$dir/node$k" && mkdir -p "$node_dir"; fi
    start_node "$node_dir" "${env[@]}"
  done
  PORT=${PORTS[0]}
}

# Starts one `trolley serve` in directory $1 with the environment $2…; appends its pid and
# port to SERVER_PIDS and PORTS once it answers /health.
start_node() {
  local dir=$1
  shift
  env -u DATABASE_URL -u REDIS_URL -u TROLLEY_WORKERS -u TROLLEY_LISTEN -u TROLLEY_DATA_DIR \
    "$@" "$TROLLEY" serve --listen 127.0.0.1:0 --data-dir "$dir/data" \
    >"$dir/server.out" 2>"$dir/server.log" &
  local pid=$! port=""
  SERVER_PIDS+=("$pid")
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/server.log" >&2; die "trolley serve exited"; }
    port=$(sed -n 's/^Trolley listening on port \([0-9]*\).*/\1/p' "$dir/server.out" | head -n 1)
    [[ -n "$port" ]] && curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    port=""
    sleep 0.1
  done
  [[ -n "$port" ]] || die "trolley serve did not answer /health within 60 s (see $dir/server.log)"
  PORTS+=("$port")
}

# Counters from the server's /metrics, summed over the nodes (if it has them): cache hits, misses, fallbacks, and
# the plugin calls' total seconds and count. "- - - - -" when absent.
metrics_snapshot() {
  local port
  for port in "${PORTS[@]}"; do curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null; done | awk '
    /^trolley_cache_requests_total\{result="hit"\}/ { hit += $2; seen = 1 }
    /^trolley_cache_requests_total\{result="miss"\}/ { miss += $2; seen = 1 }
    /^trolley_cache_requests_total\{result="fallback"\}/ { fb += $2; seen = 1 }
    /^trolley_plugin_call_duration_seconds_sum/ { psum += $2; seen = 1 }
    /^trolley_plugin_call_duration_seconds_count/ { pcount += $2; seen = 1 }
    END { if (seen) printf "%d %d %d %f %d\n", hit, miss, fb, psum, pcount; else print "- - - - -" }'
}

# "cache_hit=…% cache_fallback=… plugin_ms=…" between two snapshots.
metrics_delta() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    if (x[1] == "-" || y[1] == "-" || x[1] == "") { print "cache_hit=- cache_fallback=- plugin_ms=-"; exit }
    h = y[1] - x[1]; m = y[2] - x[2]; f = y[3] - x[3]; ps = y[4] - x[4]; pc = y[5] - x[5]
    printf "cache_hit=%s cache_fallback=%d plugin_ms=%s\n", (h + m > 0) ? sprintf("%.0f%%", 100 * h / (h + m)) : "-", f, (pc > 0) ? sprintf("%.2f", 1000 * ps / pc) : "-"
  }'
}

# Runs scenario $1 for $2 seconds; prints wrk's output.
wrk_run() {
  local n=$1 seconds=$2
  if ((NODES > 1)); then
    wrk_nodes "$n" "$seconds" "$DATA" "${SCRIPT[$n]}" "$NODE_THREADS" "$NODE_CONNECTIONS"
    return
  fi
  BENCH_SCENARIO="$n" BENCH_DATA="$DATA" BENCH_THREADS="$THREADS" BENCH_LUA_DIR="$ROOT/bench/lua" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout "$TIMEOUT" \
    -s "$ROOT/bench/lua/${SCRIPT[$n]}.lua" "http://127.0.0.1:$PORT"
}

# One wrk per node at the same time: scenario $1 for $2 seconds, data $3, script $4, $5
# threads and $6 connections each. Prints each node's output (its result line as
# `BENCH-NODE node=<k> …`), then one `BENCH …` line: requests, req/s and error counts summed,
# the worse node's latency percentiles. No `BENCH` line if a node gave no result.
wrk_nodes() {
  local n=$1 seconds=$2 data=$3 script=$4 threads=$5 connections=$6
  local k pids=() outs=()
  for ((k = 0; k < NODES; k++)); do
    outs+=("$(mktemp "$OUT/wrk-node.XXXXXX")")
    BENCH_SCENARIO="$n" BENCH_DATA="$data" BENCH_THREADS="$threads" BENCH_NODES="$NODES" \
      BENCH_NODE="$k" BENCH_LUA_DIR="$ROOT/bench/lua" \
      wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout "$TIMEOUT" \
      -s "$ROOT/bench/lua/$script.lua" "http://127.0.0.1:${PORTS[$k]}" >"${outs[$k]}" &
    pids+=("$!")
  done
  for k in "${!pids[@]}"; do wait "${pids[$k]}" || true; done
  for k in "${!outs[@]}"; do
    echo "--- node $((k + 1)) (127.0.0.1:${PORTS[$k]})"
    sed "s/^BENCH /BENCH-NODE node=$((k + 1)) /" "${outs[$k]}"
  done
  cat "${outs[@]}" | awk -v want="$NODES" '
    /^BENCH / {
      got++
      for (i = 2; i <= NF; i++) {
        split($i, kv, "="); f = kv[1]; v = kv[2]
        if (f == "scenario") scenario = v
        else if (f ~ /^(requests|rps|errors|non2xx|socket|exhausted)$/) sum[f] += v
        else if (!(f in worst) || v + 0 > worst[f] + 0) worst[f] = v
      }
    }
    END {
      if (got < want) exit
      printf "BENCH scenario=%s requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d p999_us=%d " \
        "errors=%d non2xx=%d socket=%d exhausted=%d nodes=%d\n", scenario, sum["requests"],
        worst["seconds"], sum["rps"], worst["p50_us"], worst["p99_us"], worst["p999_us"],
        sum["errors"], sum["non2xx"], sum["socket"], sum["exhausted"], got
    }'
  rm -f "${outs[@]}"
}

# --- checks across nodes (BENCH_NODES > 1) -----------------------------------------------
# "<PostgreSQL transactions> <Redis script calls> <Redis commands>": transactions of the
# benchmark database (every autocommit query is one), script calls (EVAL/EVALSHA) and
# commands (script-internal ones included) of the whole Redis server, so anything else using
# it counts too. PostgreSQL publishes a backend's counts within about a second of its last
# query, so the caller waits before reading them.
backend_counters() {
  local xact scripts commands
  xact=$(psql "$PG_URL/$PG_DB" -Atc "SELECT xact_commit + xact_rollback FROM pg_stat_database
    WHERE datname = current_database()" 2>/dev/null || true)
  scripts=$(redis-cli -u "$REDIS_URL_FOR_BENCH" info commandstats 2>/dev/null | tr -d '\r' |
    awk -F'[:,=]' '/^cmdstat_eval(sha)?:/ { s += $3; seen = 1 } END { if (seen) print s }' || true)
  commands=$(redis-cli -u "$REDIS_URL_FOR_BENCH" info stats 2>/dev/null | tr -d '\r' |
    sed -n 's/^total_commands_processed://p' || true)
  echo "${xact:--} ${scripts:--} ${commands:--}"
}

# "pg_xact_per_req=… redis_scripts_per_req=… redis_cmds_per_req=…" between two
# backend_counters for $3 requests.
backend_delta() {
  awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    split("pg_xact redis_scripts redis_cmds", name, " ")
    for (i = 1; i <= 3; i++)
      out = out sprintf("%s%s_per_req=%s", (i > 1 ? " " : ""), name[i],
        (x[i] == "-" || y[i] == "-" || n <= 0) ? "-" : sprintf("%.2f", (y[i] - x[i]) / n))
    print out
  }'
}

# "value" of "field" in a one-line JSON object (ids, keys and tokens are plain strings).
json_field() {
  local re="\"$1\":\"([^\"]*)\""
  if [[ "$2" =~ $re ]]; then echo "${BASH_REMATCH[1]}"; fi
}

# "<status> <etag>" of a request: curl arguments $@.
status_etag() {
  { curl -sS -o /dev/null -D - "$@" 2>/dev/null || true; } | tr -d '\r' | awk '
    NR == 1 { status = $2 }
    tolower($1) == "etag:" { etag = $2 }
    END { printf "%s %s\n", (status == "" ? "000" : status), (etag == "" ? "-" : etag) }'
}

# Fresh reads across nodes while scenario $2 runs, until file $3 exists: a cart of the
# probe's own gets one line added on node k, and node k+1 must at once answer the ETag the
# write answered; the next round writes on k+1 and reads on k+2, and so on. Appends
# "scenario=… rounds=… stale=… failed=… first=…" to $1, and every stale or failed round,
# with the time to match the servers' logs, to fresh-events.txt beside it.
fresh_probe() {
  local tally=$1 n=$2 stop=$3
  local events
  events="$(dirname "$tally")/fresh-events.txt"
  local rounds=0 stale=0 failed=0 first="" created id token
  local key grocery
  key=$(sed -n 's/^  storefront_key = "\(.*\)",$/\1/p' "$DATA")
  grocery=$(sed -n 's/.*layout = {grocery = \([0-9]*\),.*/\1/p' "$DATA")
  created=$(curl -fsS -X POST -H "X-Api-Key: $key" "http://127.0.0.1:${PORTS[0]}/v1/carts" 2>&1) || {
    echo "scenario=$n rounds=0 stale=0 failed=1 first=create-cart:${created// /_}" >>"$tally"
    return
  }
  id=$(json_field cart_id "$created")
  token=$(json_field cart_token "$created")
  local writer reader sku wrote read
  while [[ ! -e "$stop" ]]; do
    writer=$((rounds % NODES))
    reader=$(((rounds + 1) % NODES))
    # Grocery skus ending in 0: never cold-chain; at most a few units per line.
    sku=$(printf 'G%05d' $(((rounds % (grocery / 10)) * 10)))
    rounds=$((rounds + 1))
    wrote=$(status_etag -X POST -H "X-Api-Key: $key" -H "X-Cart-Token: $token" \
      -H 'Content-Type: application/json' -d "{\"sku\":\"$sku\",\"quantity\":1}" \
      "http://127.0.0.1:${PORTS[$writer]}/v1/carts/$id/lines")
    if [[ "${wrote%% *}" != 2* ]]; then
      echo "$(date -u +%T.%N) scenario=$n round=$rounds failed: add on node $((writer + 1)) answered $wrote" >>"$events"
      failed=$((failed + 1))
      [[ -n "$first" ]] || first="add-on-node-$((writer + 1)):${wrote// /:}"
      continue
    fi
    read=$(status_etag -H "X-Api-Key: $key" -H "X-Cart-Token: $token" \
      "http://127.0.0.1:${PORTS[$reader]}/v1/carts/$id")
    if [[ "${read%% *}" != 2* || "${read#* }" != "${wrote#* }" ]]; then
      echo "$(date -u +%T.%N) scenario=$n round=$rounds add on node $((writer + 1)) answered $wrote, read on node $((reader + 1)) answered $read" >>"$events"
    fi
    if [[ "${read%% *}" != 2* ]]; then
      failed=$((failed + 1))
      [[ -n "$first" ]] || first="read-on-node-$((reader + 1)):${read// /:}"
    elif [[ "${read#* }" != "${wrote#* }" ]]; then
      stale=$((stale + 1))
      [[ -n "$first" ]] || first="node-$((writer + 1))-wrote-${wrote#* }-node-$((reader + 1))-read-${read#* }"
    fi
    sleep 0.2
  done
  echo "scenario=$n rounds=$rounds stale=$stale failed=$failed first=${first:--}" >>"$tally"
}

# After the load: 100 seeded carts spread over the data set (scenarios 3 and 4 wrote some of
# them), read on every node, must answer the version the database holds.
versions_agree() {
  local dir=$1 key sample total step ids
  key=$(sed -n 's/^  storefront_key = "\(.*\)",$/\1/p' "$DATA")
  sample="$dir/versions-sample.txt"
  sed -n '/^  carts = {/,/^  },/ s/^    {"\([^"]*\)", "\([^"]*\)".*/\1 \2/p' "$DATA" >"$sample.all"
  total=$(wc -l <"$sample.all")
  step=$((total / 100 > 0 ? total / 100 : 1))
  awk -v step="$step" 'NR % step == 0' "$sample.all" | head -n 100 >"$sample"
  ids=$(awk '{ printf "%s\x27%s\x27", (NR > 1 ? "," : ""), $1 }' "$sample")
  psql "$PG_URL/$PG_DB" -AtF' ' -c "SELECT id, version FROM carts WHERE id IN ($ids)" \
    >"$dir/versions-db.txt" || true
  local carts=0 differ=0 first="" id token db k got
  while read -r id token; do
    carts=$((carts + 1))
    db=$(awk -v id="$id" '$1 == id { print $2 }' "$dir/versions-db.txt")
    for k in "${!PORTS[@]}"; do
      got=$(status_etag -H "X-Api-Key: $key" -H "X-Cart-Token: $token" "http://127.0.0.1:${PORTS[$k]}/v1/carts/$id")
      if [[ "$got" != "200 \"$db\"" ]]; then
        differ=$((differ + 1))
        [[ -n "$first" ]] || first=" (first: cart $id, database version ${db:-none}, node $((k + 1)) answered $got)"
      fi
    done
  done <"$sample"
  local verdict=PASS
  ((differ == 0 && carts > 0)) || verdict=FAIL
  echo "$verdict versions agree after the load: $carts carts read on each of $NODES nodes, $differ answers differ from the database$first" >>"$CHECKS"
}

# One tenant limit across the nodes: a tenant of its own (so the benchmark tenant's raised
# limits do not apply) with a low tenant limit and a high shopper limit, one guest cart read
# over and over from every node at once. The accepted reads must fit one shared bucket.
shared_limit() {
  local dir=$1 tenant sf admin created
  tenant=$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"Limit probe","currency":"USD"}' "http://127.0.0.1:${PORTS[0]}/v1/platform/tenants") ||
    { echo "FAIL one tenant limit: could not create the probe tenant" >>"$CHECKS"; return; }
  sf=$(json_field storefront_key "$tenant")
  admin=$(json_field admin_key "$tenant")
  curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"rate_limit\":{\"per_second\":$LIMIT_RATE,\"burst\":$LIMIT_BURST},\"shopper_rate_limit\":{\"per_second\":1000000,\"burst\":1000000}}" \
    "http://127.0.0.1:${PORTS[0]}/v1/admin/config" ||
    { echo "FAIL one tenant limit: could not set the probe tenant's limits" >>"$CHECKS"; return; }
  created=$(curl -fsS -X POST -H "X-Api-Key: $sf" "http://127.0.0.1:${PORTS[0]}/v1/carts") ||
    { echo "FAIL one tenant limit: could not create the probe cart" >>"$CHECKS"; return; }
  cat >"$dir/limit-data.lua" <<LUA
-- Written by scripts/bench.sh for the shared-limit check: read_hot.lua reads this cart.
return {
  storefront_key = "$sf",
  layout = {grocery = 0, food_sellers = 0, food_per_seller = 0, medicine = 0},
  hot = {{"$(json_field cart_id "$created")", "$(json_field cart_token "$created")", "g", 0}},
  carts = {},
  checkout = {},
}
LUA
  sleep 1.5 # the bucket refills to its burst; no node has the tenant cached yet
  BENCH_DEBUG=1 wrk_nodes limit "$LIMIT_SECONDS" "$dir/limit-data.lua" read_hot 1 4 \
    >"$dir/limit.txt" 2>"$dir/limit.err" || true
  local accepted refused per_node bound apart first verdict=PASS
  read -r accepted refused per_node < <(awk '
    /^BENCH-NODE / {
      delete f
      for (i = 2; i <= NF; i++) if (split($i, kv, "=") == 2) f[kv[1]] = kv[2]
      ok = f["requests"] - f["errors"]; accepted += ok; refused += f["non2xx"]
      nodes = nodes (nodes == "" ? "" : ",") "node" f["node"] ":" ok
    }
    END { printf "%d %d %s\n", accepted, refused, (nodes == "" ? "-" : nodes) }' "$dir/limit.txt")
  bound=$((LIMIT_BURST + LIMIT_RATE * (LIMIT_SECONDS + 1)))
  apart=$((NODES * (LIMIT_BURST + LIMIT_RATE * LIMIT_SECONDS)))
  first=$(sed -n 's/^BENCH-ERROR scenario=limit first non-2xx: \([0-9]*\).*/\1/p' "$dir/limit.err" | sort -u | tr '\n' ' ')
  ((accepted > 0 && accepted <= bound && refused > 0)) || verdict=FAIL
  [[ -z "$first" || "$first" == "429 " ]] || verdict=FAIL
  echo "$verdict one tenant limit ($LIMIT_RATE/s, burst $LIMIT_BURST) driven from $NODES nodes for $LIMIT_SECONDS s: $accepted accepted ($per_node), $refused refused (status ${first:-none}); one shared bucket allows <= $bound, a bucket per node would allow ~$apart" >>"$CHECKS"
}

# Sums the fresh-read probe's tallies into the checks.
fresh_verdict() {
  local tally=$1
  [[ -s "$tally" ]] || { echo "FAIL fresh reads under load: the probe did not run" >>"$CHECKS"; return; }
  awk -v nodes="$NODES" '
    {
      delete f
      for (i = 1; i <= NF; i++) if (split($i, kv, "=") >= 2) f[kv[1]] = substr($i, length(kv[1]) + 2)
      rounds += f["rounds"]; stale += f["stale"]; failed += f["failed"]
      if (first == "" && f["first"] != "-") first = "scenario " f["scenario"] ": " f["first"]
      scenarios = scenarios (scenarios == "" ? "" : ", ") f["scenario"]
    }
    END {
      printf "%s fresh reads under load (scenarios %s): %d writes, each read back at once on the next of %d nodes: %d stale, %d failed%s\n",
        (stale == 0 && failed == 0 && rounds > 0) ? "PASS" : "FAIL", scenarios, rounds, nodes, stale, failed,
        (first == "") ? "" : " (first: " first ")"
    }' "$tally" >>"$CHECKS"
}

run_backend() {
  local backend=$1
  local dir="$OUT/$backend"
  mkdir -p "$dir"
  log "[$backend] starting trolley serve"
  start_server "$backend" "$dir"
  log "[$backend] listening on 127.0.0.1:$PORT; seeding ($SKUS skus, $CARTS carts, $CHECKOUT_CARTS checkout carts)"
  local t0=$SECONDS
  # Planner statistics after the bulk load (see BENCHMARKS.md: without them PostgreSQL
  # scans the tenant's whole catalog on every cart read until autovacuum gets to it).
  local analyze=""
  case "$backend" in
    postgres) analyze="psql '$PG_URL/$PG_DB' -qc ANALYZE" ;;
    sqlite) command -v sqlite3 >/dev/null 2>&1 && analyze="sqlite3 -cmd '.timeout 10000' '$dir/data/trolley.db' ANALYZE" ;;
  esac
  local webhook=""
  if [[ -n "${BENCH_WEBHOOK:-}" ]]; then
    local hook_port
    hook_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    python3 "$ROOT/scripts/webhook-receiver.py" "$hook_port" "$dir/webhooks.log" &
    RECEIVER_PID=$!
    webhook="http://127.0.0.1:$hook_port/hooks"
  fi
  "$SEEDER" seed --url "http://127.0.0.1:$PORT" --operator-token "$TOKEN" --out "$dir" \
    --skus "$SKUS" --carts "$CARTS" --max-lines "$MAX_LINES" --checkout-carts "$CHECKOUT_CARTS" \
    ${analyze:+--analyze-cmd "$analyze"} ${webhook:+--webhook-url "$webhook"} 2> >(tee "$dir/seed.log" >&2)
  log "[$backend] seeded in $((SECONDS - t0)) s"
  DATA="$dir/data.lua"
  for n in $SCENARIOS; do
    [[ -n "${SCRIPT[$n]:-}" ]] || die "no scenario $n"
    if [[ "$n" != 5 && "$WARMUP" != 0 ]]; then
      wrk_run "$n" "$WARMUP" >"$dir/warmup-$n.txt" 2>&1 || true
    fi
    if [[ -n "${BENCH_PERF:-}" ]] && command -v perf >/dev/null 2>&1; then
      perf record -F 999 -g -p "$(IFS=,; echo "${SERVER_PIDS[*]}")" -o "$dir/perf-$n.data" >/dev/null 2>&1 &
      PERF_PID=$!
    fi
    local shape="-t$THREADS -c$CONNECTIONS"
    ((NODES == 1)) || shape="$NODES × -t$NODE_THREADS -c$NODE_CONNECTIONS"
    log "[$backend] scenario $n: ${TITLE[$n]} (${DURATION} s, $shape)"
    local before after
    before=$(metrics_snapshot)
    local counted=""
    if ((NODES > 1)); then
      sleep 1.5
      counted=$(backend_counters)
      rm -f "$dir/fresh.stop"
      fresh_probe "$dir/fresh.txt" "$n" "$dir/fresh.stop" &
      PROBE_PID=$!
    fi
    [[ -z "$webhook" ]] || : >"$dir/webhooks.log"
    [[ -z "${BENCH_CPU:-}" ]] || python3 "$ROOT/scripts/cpu-split.py" snap >"$dir/cpu-before-$n.json"
    wrk_run "$n" "$DURATION" >"$dir/wrk-$n.txt" 2>"$dir/wrk-$n.err" || true
    if [[ -n "${BENCH_CPU:-}" ]]; then
      python3 "$ROOT/scripts/cpu-split.py" diff "$dir/cpu-before-$n.json" >"$dir/cpu-$n.txt"
      log "[$backend] scenario $n $(cat "$dir/cpu-$n.txt")"
    fi
    if [[ -n "$PROBE_PID" ]]; then
      touch "$dir/fresh.stop"
      wait "$PROBE_PID" || true
      PROBE_PID=""
    fi
    after=$(metrics_snapshot)
    if [[ -n "$PERF_PID" ]]; then
      kill -INT "$PERF_PID" 2>/dev/null || true
      wait "$PERF_PID" 2>/dev/null || true
      PERF_PID=""
    fi
    cat "$dir/wrk-$n.err" >&2
    local line
    line=$(grep '^BENCH ' "$dir/wrk-$n.txt" | tail -n 1 || true)
    if [[ -z "$line" ]]; then
      log "[$backend] scenario $n produced no result:"
      cat "$dir/wrk-$n.txt" >&2
      line="BENCH scenario=$n requests=0 seconds=0 rps=0 p50_us=0 p99_us=0 p999_us=0 errors=-1 non2xx=0 socket=0 exhausted=0"
    fi
    line="$line $(metrics_delta "$before" "$after")"
    if [[ -n "$webhook" ]]; then
      sleep 2 # deliveries of the last requests
      line="$line webhooks: $(python3 "$ROOT/scripts/webhook-receiver.py" --report "$dir/webhooks.log")"
    fi
    if [[ -n "$counted" ]]; then
      sleep 1.5
      line="$line $(backend_delta "$counted" "$(backend_counters)" "$(sed -n 's/.* requests=\([0-9]*\) .*/\1/p' <<<"$line")")"
    fi
    echo "backend=$backend $line" >>"$RESULTS"
    echo "  $line" >&2
  done
  if ((NODES > 1)); then
    log "[$backend] checks across $NODES nodes"
    fresh_verdict "$dir/fresh.txt"
    versions_agree "$dir"
    shared_limit "$dir"
    sed 's/^/  /' "$CHECKS" >&2
  fi
  stop_server
}

start_backing_services
for backend in $BACKENDS; do
  run_backend "$backend"
done

# --- the table ---------------------------------------------------------------------------
titles=""
for n in 1 2 3 4 5 6; do titles+="$n=${TITLE[$n]};"; done
echo
if ((NODES > 1)); then
  echo "Trolley HTTP benchmark: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "$NODES nodes on one PostgreSQL database and one Redis, one wrk per node (-t$NODE_THREADS" \
    "-c$NODE_CONNECTIONS each; req/s summed, latencies the worse node's), ${DURATION} s per scenario" \
    "after ${WARMUP} s warm-up (results in $OUT)"
else
  echo "Trolley HTTP benchmark: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "wrk -t$THREADS -c$CONNECTIONS, ${DURATION} s per scenario after ${WARMUP} s warm-up (results in $OUT)"
fi
echo
awk -v titles="$titles" '
  BEGIN {
    n = split(titles, parts, ";")
    for (i = 1; i <= n; i++) if (parts[i] != "") { split(parts[i], kv, "="); title[kv[1]] = kv[2] }
    print "| backend | # | scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors | vs /health | cache hits | plugin ms |"
    print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  }
  {
    delete f
    for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) f[kv[1]] = kv[2]
    k = ++rows; backend[k] = f["backend"]; sc[k] = f["scenario"]; rps[k] = f["rps"]
    p50[k] = f["p50_us"]; p99[k] = f["p99_us"]; p999[k] = f["p999_us"]; err[k] = f["errors"]
    hits[k] = f["cache_hit"]; if (hits[k] == "") hits[k] = "-"
    if (f["cache_fallback"] > 0) hits[k] = hits[k] sprintf(" (%d fallbacks)", f["cache_fallback"])
    plugin[k] = f["plugin_ms"]; if (plugin[k] == "") plugin[k] = "-"
    detail[k] = ""
    if (f["errors"] > 0) detail[k] = sprintf(" (%d non-2xx, %d socket%s)", f["non2xx"], f["socket"], f["exhausted"] > 0 ? sprintf(", %d out of carts", f["exhausted"]) : "")
    if (f["scenario"] == 6) health[f["backend"]] = f["rps"]
  }
  END {
    for (k = 1; k <= rows; k++) {
      h = health[backend[k]]
      ratio = (h > 0) ? sprintf("%.1f%%", 100 * rps[k] / h) : "-"
      printf "| %s | %s | %s | %.0f | %.2f | %.2f | %.2f | %d%s | %s | %s | %s |\n", backend[k], sc[k], title[sc[k]], rps[k], p50[k] / 1000, p99[k] / 1000, p999[k] / 1000, err[k], detail[k], ratio, hits[k], plugin[k]
    }
  }' "$RESULTS"
if ((NODES > 1)); then
  echo
  echo "Backing-service calls per request (all nodes; Redis counts are the whole server's):"
  echo
  awk -v titles="$titles" '
    BEGIN {
      n = split(titles, parts, ";")
      for (i = 1; i <= n; i++) if (parts[i] != "") { split(parts[i], kv, "="); title[kv[1]] = kv[2] }
      print "| backend | # | scenario | PostgreSQL transactions | Redis script calls | Redis commands |"
      print "|---|---|---|---:|---:|---:|"
    }
    {
      delete f
      for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) f[kv[1]] = kv[2]
      printf "| %s | %s | %s | %s | %s | %s |\n", f["backend"], f["scenario"], title[f["scenario"]],
        f["pg_xact_per_req"], f["redis_scripts_per_req"], f["redis_cmds_per_req"]
    }' "$RESULTS"
fi
if [[ -s "$CHECKS" ]]; then
  echo
  echo "Checks across $NODES nodes:"
  sed 's/^/- /' "$CHECKS"
  ! grep -q '^FAIL' "$CHECKS" || exit 1
fi
