#!/bin/sh
# The messaging benchmark: a node whose members talk with a partner's member through the
# Matrix accounts the node manages for them, on two real Synapses (installed by
# install-test-deps.sh). Prints the figures; see docs/performance.md.
#
#   scripts/bench-messaging.sh                    1,000 members, 50 busy, 10 messages each
#   RAREMESH_BENCH_MEMBERS=200 scripts/bench-messaging.sh
set -eu
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh >/dev/null
RUST_LOG="${RUST_LOG:-error}" CI=true cargo test --release --locked -p raremesh --test it \
    -- --ignored --exact bench_messaging::messages_through_managed_accounts --nocapture
