#!/usr/bin/env bash
# End-to-end benchmark of `procura clear` on a 10⁶-provider instance file.
#
#   bash bench/clear_e2e.sh [N_PROVIDERS] [RUNS]
#
# Builds in release mode, writes the synthetic market (seed 2026) to a
# temporary file, and times `procura clear` with Q-MIA and with the volume
# baseline, reading and parsing the file, clearing and printing the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-1000000}
runs=${2:-5}
cargo build --release --locked --quiet --bin procura --example generate_market
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
./target/release/examples/generate_market "$n" 2026 > "$dir/market.json"
echo "instance: $n providers, $(du -m "$dir/market.json" | cut -f1) MB"

for mechanism in qmia volume; do
  best=
  for _ in $(seq "$runs"); do
    start=${EPOCHREALTIME/./}
    ./target/release/procura clear "$dir/market.json" --mechanism "$mechanism" > "$dir/outcome.json"
    end=${EPOCHREALTIME/./}
    t=$((end - start))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  winners=$(grep -c '"id"' "$dir/outcome.json" || true)
  printf '%-7s best of %s: %d.%03d s  (%s winners, output %s MB)\n' \
    "$mechanism" "$runs" $((best / 1000000)) $((best / 1000 % 1000)) "$winners" \
    "$(du -m "$dir/outcome.json" | cut -f1)"
done
