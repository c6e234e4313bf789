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
for light in raremesh-ontology raremesh-bridge; do
  for heavy in sled tantivy axum; do
    if cargo tree --locked -p "$light" -e normal --prefix none | grep -q "^$heavy v"; then
      echo "$light must not depend on $heavy" >&2
      exit 1
    fi
  done
done

echo "== tests"
cargo test --workspace --locked
