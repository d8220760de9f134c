#!/usr/bin/env bash
# Schema-driven fuzzing: schemathesis (PyPI) against the served /openapi.json of a real
# `trolley serve` on SQLite, with operator, tenant-admin and storefront (customer)
# credentials, bounded in time. Fails on any server error, any response that violates the
# documented schema, status code, content type or headers. Run by scripts/test.sh after the
# Rust tests; on its own: `scripts/fuzz.sh` (after a debug build).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

SCHEMATHESIS_VERSION=4.32.5
BUDGET_SECS="${TROLLEY_FUZZ_SECS:-40}"      # per credential set
SEED="${TROLLEY_FUZZ_SEED:-20261202}"
VENV="${TROLLEY_FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/trolley/schemathesis-$SCHEMATHESIS_VERSION}"
BIN="${CARGO_TARGET_DIR:-target}/debug/trolley"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
if [ ! -x "$BIN" ]; then
  log "building the trolley binary"
  cargo build --workspace --bins
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
operator="fuzz-operator-$RANDOM$RANDOM"
TROLLEY_OPERATOR_TOKEN="$operator" TROLLEY_SWEEP_INTERVAL_SECS=0 RUST_LOG=warn \
  TROLLEY_MAX_SHOPPER_RATE=100000 TROLLEY_MAX_SHOPPER_BURST=100000 \
  "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fs "$base/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$base/health" >/dev/null || { cat "$work/server.log" >&2; log "the server did not start"; exit 1; }

tenant=$(curl -fs -X POST "$base/v1/platform/tenants" -H "Authorization: Bearer $operator" \
  -H 'Content-Type: application/json' -d '{"name":"Fuzz","currency":"USD"}')
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$tenant" "$1"; }
admin=$(field admin_key)
storefront=$(field storefront_key)
secret=$(field customer_token_secret)
# The fuzzer sends thousands of requests a second: lift the tenant's limits (429s would only
# hide the operations behind them).
curl -fs -X PUT "$base/v1/admin/config" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d '{"shopper_rate_limit":{"per_second":100000,"burst":100000},"rate_limit":{"per_second":50000,"burst":100000}}' >/dev/null
customer=$(python3 - "$secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "fuzzer", "exp": int(time.time()) + 86400}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
PY
)

checks=not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance
run() {
  local name=$1; shift
  log "schemathesis: $name (${BUDGET_SECS}s, seed $SEED)"
  # From the scratch dir: schemathesis keeps a cache (.schemathesis/) where it runs.
  # Unbuffered, so its report reaches a log file whole (its exit code is the verdict).
  (cd "$work" && PYTHONUNBUFFERED=1 "$VENV/bin/schemathesis" run "$base/openapi.json" --checks "$checks" \
    --max-time "$BUDGET_SECS" --max-examples 20 --seed "$SEED" --no-color "$@")
}
status=0
# A live cart stream stays open for as long as the client reads it: it has tests of its own
# (tests/integration/storefront.rs, platform/server/tests/scale_out.rs).
run "storefront (customer)" --include-path-regex '^/v1/(carts|checkouts|customers|orders|catalog)' \
  --exclude-name 'GET /v1/carts/{cart_id}/stream' \
  -H "X-Api-Key: $storefront" -H "Authorization: Bearer $customer" || status=1
# Plugin uploads are `application/wasm`, which schemathesis cannot generate; they have
# tests of their own (tests/integration/plugins.rs, bad_input.rs).
run "tenant admin" --include-path-regex '^/v1/admin' --exclude-name 'POST /v1/admin/plugins' \
  -H "Authorization: Bearer $admin" || status=1
run "operator" --include-path-regex '^/v1/platform' -H "Authorization: Bearer $operator" || status=1
# Trolley's own errors only: actix logs the malformed requests it refuses (400) as errors of
# its HTTP parser, which is the fuzzer doing its job.
errors=$(grep '"level":"ERROR"' "$work/server.log" | grep -v '"target":"actix_http::' || true)
if [ -n "$errors" ]; then
  log "the server logged errors while fuzzed:"
  printf '%s\n' "$errors" | head -20 >&2
  status=1
fi
exit $status
