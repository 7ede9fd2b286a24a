#!/usr/bin/env bash
# Refactoring guard: runs a fixed list of seeded simulation runs and prints one sha256 per run of its
# history and node logs. A behaviour-preserving change keeps every line identical:
#   bash scripts/golden-histories.sh > /tmp/before; …change…; bash scripts/golden-histories.sh | diff /tmp/before -
set -uo pipefail
cd "$(dirname "$0")/.."
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
runs=(
  "cart 7 --nemesis partition,crash,pause"
  "cart 19 --n 3 --r 1 --w 1 --nemesis partition,crash,pause"
  "register 3 --strict --nemesis partition,clock"
  "register 11 --nemesis partition,crash,pause,membership"
  "cart-kv 5 --nemesis partition,crash"
  "pbs 2 --r 1 --w 1 --nemesis none"
  "cart 49 --strict --n 3 --r 1 --w 1 --nemesis partition"
  "register 23 --conflicts lww --nemesis clock,partition"
  "cart 31 --nemesis membership,crash"
)
for spec in "${runs[@]}"; do
  read -r wl seed rest <<<"$spec"
  # shellcheck disable=SC2086
  node --import=tsx bin/quorumlab.js run --runtime sim --workload "$wl" --seed "$seed" --time-limit 12 \
    --store "$store" --name "g-$wl-$seed" $rest >/dev/null 2>&1
  dir=$(ls -d "$store/g-$wl-$seed"/*/ | head -1)
  h=$(cat "$dir/history.jsonl" | sha256sum | cut -c1-16)
  l=$(cat "$dir"/nodes/*/node.log 2>/dev/null | sha256sum | cut -c1-16)
  v=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).valid)' "$dir/results.json")
  echo "$spec  history=$h logs=$l valid=$v"
done
