#!/usr/bin/env bash
# HTTP throughput on loopback, with wrk, against a release build: the term search API and a
# signed-in member's pages (account, patients, people like me) on a node filled with
# simulated validated patients. The reference in the same run is /healthz (the cheapest
# endpoint the router has).
# Usage: scripts/bench-http.sh [seconds] [connections] [patients]
# BIN=path/to/raremesh runs another build (e.g. an earlier release) instead of building
# this tree; compare two builds by their ratios to /healthz.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
patients=${3:-2000}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
bin=${BIN:-target/release/raremesh}
[ -n "${BIN:-}" ] || cargo build --release --locked -q
data=$(mktemp -d)
port=18199
# Simulated validated patients and a member who signs in, added before the node starts (the
# database has one user at a time).
seeded=$(echo "a long benchmark password" | RAREMESH_DATA_DIR="$data" "$bin" admin demo-data \
  --patients "$patients" --email bench@example.org --password-stdin)
echo "$seeded"
similar=$(echo "$seeded" | grep -o '/patients/[0-9a-f]*/similar')
RAREMESH_DATA_DIR="$data" RAREMESH_SERVER__BIND="127.0.0.1:$port" RAREMESH_LOG__LEVEL=warn \
  "$bin" serve &
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
# Sign in as that member: the CSRF cookie from the form, then the session cookie.
jar=$(mktemp)
curl -s -c "$jar" "http://127.0.0.1:$port/signin" >/dev/null
csrf=$(awk '$6 == "raremesh_csrf" {print $7}' "$jar")
curl -s -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&email=bench%40example.org&password=a+long+benchmark+password" "http://127.0.0.1:$port/signin"
session=$(awk '$6 == "raremesh_session" {print $7}' "$jar")
# A browser sends both cookies; the CSRF one is the one the session was bound to at sign-in.
csrf=$(awk '$6 == "raremesh_csrf" {print $7}' "$jar")
rm -f "$jar"
[ -n "$session" ] || { echo "could not sign in" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: raremesh_session=$session; raremesh_csrf=$csrf" "http://127.0.0.1:$port/account")
[ "$code" = 200 ] || { echo "the account page answered $code, not 200" >&2; exit 1; }
matches=$(curl -s -H "Cookie: raremesh_session=$session; raremesh_csrf=$csrf" "http://127.0.0.1:$port$similar" | grep -c 'class="score"' || true)
[ "$matches" -gt 0 ] || { echo "people like me shows no match" >&2; exit 1; }

echo "== reference: GET /healthz ($secs s, $conns connections, 2 threads)"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/healthz"
echo "== GET /api/v1/terms over 20 rotating queries ($secs s, $conns connections, 2 threads)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$lua" "http://127.0.0.1:$port/"
echo "== GET /account, signed in (a member's profile page: session, account and member records, HTML) ($secs s, $conns connections, 2 threads)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Cookie: raremesh_session=$session; raremesh_csrf=$csrf" "http://127.0.0.1:$port/account"
echo "== GET /patients, signed in (the member's patients with validation status, and the form) ($secs s, $conns connections, 2 threads)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Cookie: raremesh_session=$session; raremesh_csrf=$csrf" "http://127.0.0.1:$port/patients"
echo "== GET $similar, signed in (people like me: ranks $patients validated patients, explains the top 10) ($secs s, $conns connections, 2 threads)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Cookie: raremesh_session=$session; raremesh_csrf=$csrf" "http://127.0.0.1:$port$similar"
rm -f "$lua"
