#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, on Debian: headless Chromium and its
# WebDriver for the web UI tests, an SMTP server (Python's aiosmtpd) for the mail tests, and
# the Synapse Matrix homeserver and matrix-nio client for the federation tests (both in
# .venv-test), axe-core for the accessibility checks (in .venv-test too), openssl for
# the homeservers' test certificates, Prometheus, and docker-compose and Caddy to check
# the deployment files. Idempotent: installs only
# what is missing.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# A real Prometheus server scrapes the node's /metrics in the tests.
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
# The deployment in docker/ is checked by the programs that read it: docker-compose (only
# its `config` check: there is no container engine in the tests) and Caddy.
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
# The homeserver harness stops servers with kill(1); the browser harness makes sure no
# headless Chromium outlives a test with pgrep(1) and pkill(1).
{ [ -x /bin/kill ] || [ -x /usr/bin/kill ]; } && command -v pkill >/dev/null 2>&1 \
  && command -v pgrep >/dev/null 2>&1 || need+=(procps)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

apt_install() {
  echo "installing: $*"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: $*" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi

# A real SMTP server for the mail tests: aiosmtpd, in a virtual environment of the project.
cd "$(dirname "$0")/.."
if ! .venv-test/bin/python -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "installing aiosmtpd into .venv-test"
  python3 -m venv .venv-test
  .venv-test/bin/pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6
fi
# Real Matrix homeservers for the federation tests, and a third-party client.
if ! .venv-test/bin/python -c 'import synapse, nio, vodozemac, peewee' >/dev/null 2>&1; then
  echo "installing matrix-synapse and matrix-nio (with end-to-end encryption) into .venv-test"
  [ -x .venv-test/bin/pip ] || python3 -m venv .venv-test
  # matrix-nio's e2e extra brings vodozemac (prebuilt wheels), peewee, cachetools, atomicwrites.
  .venv-test/bin/pip install --quiet --disable-pip-version-check matrix-synapse==1.163.2 \
    "matrix-nio[e2e]==0.26.0"
  .venv-test/bin/python -c 'import synapse, nio, vodozemac, peewee; from nio.crypto import ENCRYPTION_ENABLED; assert ENCRYPTION_ENABLED' \
    || { echo "the Matrix test tools did not install (see above)" >&2; exit 1; }
fi

# A JSON Schema validator for the Beacon tests (scripts/beacon-validate.py); Synapse
# brings it, this makes sure.
if ! .venv-test/bin/python -c 'import jsonschema, referencing' >/dev/null 2>&1; then
  echo "installing jsonschema into .venv-test"
  .venv-test/bin/pip install --quiet --disable-pip-version-check "jsonschema>=4.18,<5"
fi

# An OpenAPI 3.1 validator for the JSON API's description (scripts/openapi-validate.py).
if ! .venv-test/bin/python -c 'import openapi_spec_validator' >/dev/null 2>&1; then
  echo "installing openapi-spec-validator into .venv-test"
  .venv-test/bin/pip install --quiet --disable-pip-version-check "openapi-spec-validator>=0.7,<0.8"
fi

# axe-core, the accessibility checker the browser tests run on every page (from the npm
# registry; only its browser script is needed, so no Node.js).
axe_version=4.10.3
axe_sha256=0f2b4d7dcdf7d1219df8d1959ad68e565f51d14c3f0d88bb71cd59abeb956292
if [ ! -f ".venv-test/axe-core-$axe_version/axe.min.js" ]; then
  echo "installing axe-core $axe_version into .venv-test"
  mkdir -p .venv-test
  tmp=$(mktemp -d)
  curl -sSfL -o "$tmp/axe.tgz" "https://registry.npmjs.org/axe-core/-/axe-core-$axe_version.tgz"
  echo "$axe_sha256  $tmp/axe.tgz" | sha256sum -c --quiet -
  tar -xzf "$tmp/axe.tgz" -C "$tmp" package/axe.min.js
  mkdir -p ".venv-test/axe-core-$axe_version"
  mv "$tmp/package/axe.min.js" ".venv-test/axe-core-$axe_version/axe.min.js"
  rm -rf "$tmp"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is not installed. Install it with rustup (https://rustup.rs), then run this again:" >&2
  echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2
  exit 1
fi

# The suite also checks formatting and lints.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  command -v rustup >/dev/null 2>&1 || { echo "cargo fmt and cargo clippy are needed (rustup component add rustfmt clippy)" >&2; exit 1; }
  rustup component add rustfmt clippy
fi
