#!/usr/bin/env bash
# Writes the data folder of a node run by a given (older) raremesh binary, for the upgrade
# test (node/tests/it/upgrade.rs): demo members and patients, a member with a validated
# patient, symptoms, a document and a question. Usage:
#   scripts/make-upgrade-fixture.sh path/to/old/raremesh node/tests/fixtures/data-<release>.tar.gz
set -euo pipefail
BIN=$(realpath "$1")
OUT=$(realpath -m "$2")
WORK=$(mktemp -d)
trap 'if [ -n "${PID:-}" ]; then kill "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
export RAREMESH_DATA_DIR="$WORK/data" RAREMESH_SERVER__BIND=127.0.0.1:0 RAREMESH_LOG__LEVEL=info
unset RAREMESH_CONFIG
echo "fixture member's password" | "$BIN" admin demo-data --patients 12 --email fixture@example.org --password-stdin >/dev/null
echo "the validator's password" | "$BIN" admin create-user --email validator@example.org --role validator --password-stdin >/dev/null
"$BIN" serve >"$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 1 600); do
  BASE=$(grep -o 'listening on http://[0-9.:]*' "$WORK/log" | head -1 | sed 's/listening on //') || true
  [ -n "${BASE:-}" ] && break
  sleep 0.1
done
[ -n "${BASE:-}" ] || { cat "$WORK/log"; exit 1; }
TOKEN=$(curl -fsS -X POST "$BASE/api/v1/session" -H 'content-type: application/json' \
  -d '{"email":"fixture@example.org","password":"fixture member'"'"'s password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
api() { curl -fsS -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
ID=$(api -X POST "$BASE/api/v1/patients" -d '{"display_name":"Fixture child","birth_year":2016,"sex":"female","relation":"parent","diagnosis":"orpha","disease":"ORPHA:558"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -X PUT "$BASE/api/v1/patients/$ID/symptoms" -d '[{"term":"HP:0001250"},{"term":"HP:0001263","observed":false}]' >/dev/null
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%%%EOF\n' >"$WORK/doc.pdf"
curl -fsS -H "authorization: Bearer $TOKEN" --data-binary @"$WORK/doc.pdf" "$BASE/api/v1/patients/$ID/documents?kind=consent&name=consent.pdf" >/dev/null
api -X POST "$BASE/api/v1/questions" -d '{"title":"Does anyone else see seizures after a fever","body":"Since last spring, every fever brings a seizure. How do you cope?"}' >/dev/null
kill -TERM "$PID"; wait "$PID" || true
PID=
# What every start rebuilds is left out.
rm -rf "$WORK/data/cache" "$WORK/data/search"
mkdir -p "$(dirname "$OUT")"
tar -czf "$OUT" -C "$WORK" data
echo "wrote $OUT ($(du -h "$OUT" | cut -f1)) with $("$BIN" --version 2>/dev/null || echo "$BIN")"
