#!/usr/bin/env bash
# The benchmark, from one command on a fresh machine: installs wrk, nginx, HAProxy and psql,
# builds keyplane and the bare axum baseline (bench/baseline) in release, runs bench.py and
# writes bench/results.md: the workloads, the intake gate and the scaling table (~25 minutes on
# 2 cores). Extra arguments go to bench.py (e.g. --rounds 5, --only gate_nginx, --only scaling
# --scale 10000,100000, --out /tmp/trial.md). The scaling table's nodes need a PostgreSQL
# (--pg-url, default postgres://postgres@127.0.0.1:5432/postgres); without one they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v psql >/dev/null || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# Debian's packages start their own nginx/HAProxy services; bench.py runs its own instances
# on free ports, so those are left alone.
export PATH="$PATH:/usr/sbin"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keyplane-target}"
cargo build --release --locked
# Standalone package (its own [workspace]), same target directory: axum, hyper and tokio are
# the versions of keyplane's Cargo.lock, which it starts from.
cargo build --release --locked --manifest-path bench/baseline/Cargo.toml
python3 bench/bench.py --bin "$CARGO_TARGET_DIR/release/keyplane" \
  --baseline-bin "$CARGO_TARGET_DIR/release/keyplane-bench-baseline" \
  --out bench/results.md "$@"
