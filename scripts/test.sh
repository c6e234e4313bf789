#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then checks formatting, lints,
# the dependency rules, and runs every test of every crate (real Chromium included).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== crates others depend on stay light"
# The ontology and the Matrix layer: no database, no index, no web. The core and the
# domain: no web framework, no templates (the web crate calls them, never the reverse).
check_light() {
  local light=$1; shift
  for heavy in "$@"; do
    if cargo tree --locked -p "$light" -e normal --prefix none | grep -q "^$heavy v"; then
      echo "$light must not depend on $heavy" >&2
      exit 1
    fi
  done
}
check_light raremesh-ontology sled tantivy axum minijinja
check_light raremesh-bridge sled tantivy axum minijinja
check_light raremesh-core tantivy axum minijinja tower-http matrix-sdk
check_light raremesh-domain axum minijinja raremesh-web

echo "== tests"
cargo test --workspace --locked
