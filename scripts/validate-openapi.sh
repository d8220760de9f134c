#!/usr/bin/env bash
# Validates the committed OpenAPI document against the OpenAPI 3.1 specification
# (openapi-spec-validator from PyPI, in a venv of its own). Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.9.0
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/trolley/openapi-spec-validator-$VERSION"
if [ ! -x "$VENV/bin/openapi-spec-validator" ]; then
  printf '==> installing openapi-spec-validator %s into %s\n' "$VERSION" "$VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "openapi-spec-validator==$VERSION"
fi
"$VENV/bin/openapi-spec-validator" openapi/openapi.json
