#!/usr/bin/env bash
# Benchmarks of `procura audit` (issue: the mechanism auditor).
#
#   bash bench/audit.sh [RUNS]
#
# 1. A single 100-provider instance (synthetic market, seed 7), coalitions
#    of 2, every mechanism: goal under 2 s.
# 2. A population audit of 10,000 instances of 50 providers
#    (examples/populations/heavy-tails.toml, seed 1), qmia and trust:
#    goal under 60 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
cargo build --release --locked --quiet --bin procura --example generate_market
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
./target/release/examples/generate_market 100 7 > "$dir/market-100.json"

best_of() {
  local best=
  for _ in $(seq "$runs"); do
    local start=${EPOCHREALTIME/./}
    "$@" > "$dir/out.json"
    local end=${EPOCHREALTIME/./}
    local t=$((end - start))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  printf '%d.%03d s' $((best / 1000000)) $((best / 1000 % 1000))
}

echo "single instance, 100 providers, coalitions of 2 (best of $runs):"
for mechanism in qmia mixed mut volume trust; do
  t=$(best_of ./target/release/procura audit "$dir/market-100.json" --mechanism "$mechanism")
  evaluations=$(grep -m1 '"evaluations"' "$dir/out.json" | tr -dc '0-9')
  printf '  %-7s %s  (%s evaluations)\n' "$mechanism" "$t" "$evaluations"
done

echo "population, 10,000 instances of 50 providers (one run each):"
runs=1
for mechanism in qmia trust; do
  t=$(best_of ./target/release/procura audit --population examples/populations/heavy-tails.toml \
    --mechanism "$mechanism" --instances 10000 --seed 1 --worst "$dir/worst.json")
  share=$(grep -m1 '"share_with_deviation"' "$dir/out.json" | sed 's/.*: //; s/,//')
  printf '  %-7s %s  (share with a profitable deviation: %s)\n' "$mechanism" "$t" "$share"
done
