#!/usr/bin/env bash
# The benchmark, from one command on a fresh machine: installs wrk, builds the release
# binary, runs bench.py and writes bench/results.md. Extra arguments go to bench.py
# (e.g. --seconds 10 --rounds 5).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keyplane-target}"
cargo build --release --locked
python3 bench/bench.py --bin "$CARGO_TARGET_DIR/release/keyplane" --out bench/results.md "$@"
