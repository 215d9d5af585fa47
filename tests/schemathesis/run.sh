#!/usr/bin/env bash
# Schema-driven fuzzing: starts keyplane on a free port with a fresh data dir and runs
# schemathesis against the OpenAPI document it serves, with the initial admin's keys.
# Fails on any server error or response outside the document (status code, content type,
# body schema), and if the run locked itself out.
#
#   tests/schemathesis/run.sh [KEYPLANE_BINARY]
#
# The binary defaults to the release build, then the debug build, under $CARGO_TARGET_DIR
# (or target/). schemathesis, pinned in requirements.txt, lives in a venv under
# $HOME/.cache/keyplane-venv, made on first use. Knobs: SCHEMATHESIS_MAX_EXAMPLES (cases per
# operation and phase), SCHEMATHESIS_SEED, SCHEMATHESIS_WORKERS, SCHEMATHESIS_CHECKS,
# SCHEMATHESIS_TIMEOUT (seconds), KEYPLANE_FUZZ_KEEP=1 (keep the work dir with the server log
# and the report).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$here/../../target}"
bin="${1:-}"
if [ -z "$bin" ]; then
  for candidate in "$target/release/keyplane" "$target/debug/keyplane"; do
    if [ -x "$candidate" ]; then bin="$candidate"; break; fi
  done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "schemathesis: no keyplane binary; build one (cargo build) or pass its path" >&2
  exit 2
fi

checks="${SCHEMATHESIS_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-40}"
seed="${SCHEMATHESIS_SEED:-20260101}"
# One worker: hypothesis's lambda descriptions race in CPython 3.11's parser with more.
workers="${SCHEMATHESIS_WORKERS:-1}"

# ---- schemathesis in its own venv, reinstalled only when requirements.txt changes ----
venv="${KEYPLANE_VENV:-$HOME/.cache/keyplane-venv}"
requirements="$here/requirements.txt"
stamp="$venv/.keyplane-requirements"
if ! command -v python3 >/dev/null; then
  echo "schemathesis: python3 is missing" >&2
  exit 3
fi
if [ ! -x "$venv/bin/schemathesis" ] || ! cmp -s "$requirements" "$stamp"; then
  echo "schemathesis: installing $(grep '^schemathesis==' "$requirements") into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
python="$venv/bin/python"

# ---- a fresh keyplane ----
work="$(mktemp -d "${TMPDIR:-/tmp}/keyplane-fuzz.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "${KEYPLANE_FUZZ_KEEP:-0}" = 1 ]; then
    echo "schemathesis: work dir kept at $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

started=$(date +%s)
# Room for many keys, so creates reach 201 and not only the limit's 400.
RUST_LOG=info "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
  --max-api-keys-per-org 1000 >"$work/keyplane.out" 2>"$work/keyplane.log" &
pid=$!
base=""
for _ in $(seq 1 300); do
  base="$(grep -o 'keyplane listening on http://[0-9.:]*' "$work/keyplane.log" | head -n1 | sed 's/.* on //')" || true
  [ -n "$base" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "schemathesis: keyplane exited before listening:" >&2
    cat "$work/keyplane.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "schemathesis: keyplane did not start in 30 s" >&2
  exit 1
fi
echo "schemathesis: keyplane at $base ($bin)"

"$python" "$here/seed.py" "$base" "$work/data" "$work"

# ---- the run ----
status=0
# From the work dir, so schemathesis's own cache is removed with it and never lands in the repo.
(cd "$work" && KEYPLANE_FUZZ_PROTECTED="$work/protected" SCHEMATHESIS_HOOKS="$here/hooks.py" SCHEMATHESIS_SEED="$seed" \
  timeout --kill-after=10 "${SCHEMATHESIS_TIMEOUT:-900}" \
  "$venv/bin/schemathesis" --no-color --config-file "$work/schemathesis.toml" \
  run "$base/api/openapi.yaml" \
  --checks "$checks" \
  --max-examples "$max_examples" --seed "$seed" --workers "$workers" \
  --request-timeout 20 \
  --report json --report-json-path "$work/report.json" \
  >"$work/schemathesis.log" 2>&1) || status=$?

if [ "$status" -ne 0 ]; then
  cat "$work/schemathesis.log"
else
  sed -n '/=== SUMMARY ===/,$p' "$work/schemathesis.log"
fi

# The run must end with its credentials intact: the hooks keep the fuzzer off them.
if ! "$python" - "$base" "$work/data/initial-credentials" <<'EOF'
import sys, requests
creds = dict(l.split("=", 1) for l in open(sys.argv[2]).read().splitlines() if "=" in l)
r = requests.get(sys.argv[1] + "/api/v2/validate_keys", timeout=10,
                 headers={"DD-API-KEY": creds["DD_API_KEY"], "DD-APPLICATION-KEY": creds["DD_APP_KEY"]})
sys.exit(0 if r.status_code == 200 else f"the fuzzer's own keys stopped working: {r.status_code} {r.text}")
EOF
then
  status=1
fi
if ! kill -0 "$pid" 2>/dev/null; then
  echo "schemathesis: keyplane died during the run:" >&2
  tail -n 50 "$work/keyplane.log" >&2
  status=1
fi

elapsed=$(( $(date +%s) - started ))
if [ -f "$work/report.json" ]; then
  "$python" - "$work/report.json" "$elapsed" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print("schemathesis summary: {} operations, {} test cases, {} failures, {} errors, {} s".format(
    r["operations"]["tested"], r["test_cases"]["generated"], r["test_cases"]["unique_failures"],
    sum(e.get("count", 1) for e in r["errors"]), sys.argv[2]))
EOF
else
  echo "schemathesis summary: no report (exit $status), $elapsed s"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
