#!/usr/bin/env bash
# What the connection limits cost: the same requests, in the same run, against this
# tree's release binary and a binary built from before the limits (or any other), with
# wrk on loopback; rounds alternate between the two so that a busy moment of the machine
# falls on both. Prints requests per second of each and the ratio.
# Usage: [THIS=BINARY] scripts/bench-limits.sh OTHER_BINARY [seconds] [connections] [rounds]
#   (THIS: compare that binary instead of this tree's release build)
#   e.g. git worktree add /tmp/before 1c6648a^ &&
#        (cd /tmp/before && CARGO_TARGET_DIR=/tmp/before-target cargo build --release --bin raremesh) &&
#        scripts/bench-limits.sh /tmp/before-target/release/raremesh
set -euo pipefail
cd "$(dirname "$0")/.."
other=${1:?the binary to compare with}
secs=${2:-10}
conns=${3:-32}
rounds=${4:-3}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
command -v bc >/dev/null || { echo "bc is needed: apt-get install bc" >&2; exit 1; }
if [ -n "${THIS:-}" ]; then
  this=$THIS
else
  cargo build --release --locked -q --bin raremesh
  this=target/release/raremesh
fi

lua=$(mktemp --suffix=.lua)
cat >"$lua" <<'LUA'
local qs = {"seizure", "seiz", "siezure", "large%20head", "hypotonia", "short%20stat", "scoliosis", "deaf", "ataxia", "microceph"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/terms?limit=10&q=" .. qs[(i % #qs) + 1])
end
LUA
dirs=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "${dirs[@]}" "$lua"
}
trap cleanup EXIT

start() { # binary port
  local data
  data=$(mktemp -d)
  dirs+=("$data")
  RAREMESH_DATA_DIR="$data" RAREMESH_SERVER__BIND="127.0.0.1:$2" RAREMESH_LOG__LEVEL=warn "$1" serve &
  pids+=($!)
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.1; done
  echo "$1 did not start" >&2
  exit 1
}
start "$this" 18301
start "$other" 18302

rps() { # url [script]
  local args=(-t2 -c"$conns" -d"${secs}s")
  [ -n "${2:-}" ] && args+=(-s "$2")
  wrk "${args[@]}" "$1" | awk '/Requests\/sec/ {print $2}'
}
declare -A sum
for r in $(seq 1 "$rounds"); do
  for which in this other; do
    port=18301; [ "$which" = other ] && port=18302
    h=$(rps "http://127.0.0.1:$port/healthz")
    t=$(rps "http://127.0.0.1:$port/" "$lua")
    echo "round $r $which: /healthz $h req/s, /api/v1/terms $t req/s"
    sum[$which-h]=$(echo "${sum[$which-h]:-0} + $h" | bc -l)
    sum[$which-t]=$(echo "${sum[$which-t]:-0} + $t" | bc -l)
  done
done
for k in h t; do
  name=/healthz; [ $k = t ] && name=/api/v1/terms
  a=$(echo "${sum[this-$k]} / $rounds" | bc -l)
  b=$(echo "${sum[other-$k]} / $rounds" | bc -l)
  printf '%s: this %.0f req/s, other %.0f req/s, this/other %.3f\n' "$name" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
