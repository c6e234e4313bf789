#!/usr/bin/env bash
# HTTP throughput of the term search API on loopback, with wrk, against a release build.
# The reference in the same run is /healthz (the cheapest endpoint the router has).
# Usage: scripts/bench-http.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -q
data=$(mktemp -d)
port=18199
RAREMESH_DATA_DIR="$data" RAREMESH_SERVER__BIND="127.0.0.1:$port" RAREMESH_LOG__LEVEL=warn \
  target/release/raremesh serve &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

lua=$(mktemp --suffix=.lua)
cat >"$lua" <<'LUA'
-- Rotates over realistic queries: names, unfinished words, typos, lay phrases.
local qs = {"seizure", "seiz", "siezure", "large%20head", "big%20head", "hypotonia", "low%20muscle%20tone",
  "short%20stat", "intellectual%20disability", "intelectual", "scoliosis", "curved%20spine", "macrocefaly",
  "hearing%20loss", "deaf", "ataxia", "autism", "cafe%20au%20lait", "microceph", "abnormal%20heart"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/terms?limit=10&q=" .. qs[(i % #qs) + 1])
end
LUA
echo "== reference: GET /healthz ($secs s, $conns connections, 2 threads)"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/healthz"
echo "== GET /api/v1/terms over 20 rotating queries ($secs s, $conns connections, 2 threads)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$lua" "http://127.0.0.1:$port/"
rm -f "$lua"
